//! Security properties of the vault on disk: real sled, real ciphers, real files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine;
use keyward::crypto::KdfParams;
use keyward::model::{NewEntry, Secret};
use keyward::store::header::Header;
use keyward::store::{Batch, Tree};
use keyward::{Error, Passphrase, Vault};

const TINY: KdfParams = KdfParams {
    memory_kib: 64,
    iterations: 1,
    parallelism: 1,
};

fn pass(p: &str) -> Passphrase {
    Passphrase::new(p.to_string()).unwrap()
}

fn new_vault() -> (tempfile::TempDir, PathBuf, Vault) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("vault");
    let vault = Vault::create(&dir, &pass("correct horse"), TINY).unwrap();
    (tmp, dir, vault)
}

fn add(vault: &mut Vault, name: &str, secret: &str) {
    vault
        .add(NewEntry {
            name: name.into(),
            provider: Some("custom".into()),
            environment: Some("prod".into()),
            notes: format!("notes for {name}"),
            tags: vec![format!("tag-{name}")],
            secret: Secret::new(secret),
            ..Default::default()
        })
        .unwrap();
}

fn files(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.insert(p.clone(), std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

fn random_token(len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut bytes = vec![0u8; len];
    getrandom::fill(&mut bytes).unwrap();
    bytes
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect()
}

#[test]
fn no_canary_secret_or_name_is_readable_on_disk() {
    let (_tmp, dir, mut vault) = new_vault();
    let mut canaries = Vec::new();
    for i in 0..200 {
        let name = format!("canaryname{}", random_token(12));
        let secret = format!("sk-canary-{}-{i}", random_token(32));
        add(&mut vault, &name, &secret);
        canaries.push((name, secret));
    }
    drop(vault);
    let on_disk = files(&dir);
    assert!(on_disk.len() >= 3, "expected the header and sled files");
    let b64 = base64::engine::general_purpose::STANDARD;
    let b64url = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    for (path, bytes) in &on_disk {
        let text = String::from_utf8_lossy(bytes);
        assert!(
            !text.contains("canary"),
            "{} holds a canary",
            path.display()
        );
        for (name, secret) in &canaries {
            for form in [
                secret.as_bytes().to_vec(),
                hex::encode(secret).into_bytes(),
                b64.encode(secret).trim_end_matches('=').into(),
                b64url.encode(secret).into_bytes(),
                name.as_bytes().to_vec(),
                // The random tail alone, in case a prefix were split off.
                secret.as_bytes()[10..30].to_vec(),
            ] {
                assert!(!contains(bytes, &form), "{} leaks {}", path.display(), name);
            }
        }
    }
    // And the vault still reads them all back.
    let mut vault = Vault::open(&dir, &pass("correct horse")).unwrap();
    for (name, secret) in canaries.iter().take(5) {
        assert_eq!(&vault.use_secret(name).unwrap().1.value, secret);
    }
}

fn raw(vault: &Vault, tree: Tree) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut out = Vec::new();
    vault
        .store_for_tests()
        .for_each(tree, |k, v| {
            out.push((k.to_vec(), v.to_vec()));
            Ok(())
        })
        .unwrap();
    out
}

fn put(vault: &Vault, tree: Tree, key: &[u8], value: &[u8]) {
    let mut b = Batch::default();
    b.put(tree, key.to_vec(), value.to_vec());
    vault.store_for_tests().apply(&b).unwrap();
}

#[test]
fn every_single_byte_flip_of_a_record_fails_authentication() {
    let (_tmp, _dir, mut vault) = new_vault();
    add(&mut vault, "alpha", "sk-flip-target-0123456789");
    for tree in [Tree::Meta, Tree::Secret] {
        let (key, value) = raw(&vault, tree).pop().unwrap();
        for i in 0..value.len() {
            for bit in [0x01u8, 0x80] {
                let mut bad = value.clone();
                bad[i] ^= bit;
                put(&vault, tree, &key, &bad);
                let result = match tree {
                    Tree::Meta => vault.entry("alpha").map(|_| ()),
                    _ => {
                        let e = vault.entry("alpha").unwrap();
                        vault.secret(&e).map(|_| ())
                    }
                };
                assert!(
                    matches!(result, Err(Error::Corrupt(_))),
                    "{tree:?} byte {i} bit {bit:#x}: {result:?}"
                );
            }
        }
        put(&vault, tree, &key, &value);
    }
    let e = vault.entry("alpha").unwrap();
    assert_eq!(vault.secret(&e).unwrap().value, "sk-flip-target-0123456789");
}

#[test]
fn sealed_bytes_moved_under_another_entry_fail_to_open() {
    let (_tmp, _dir, mut vault) = new_vault();
    add(&mut vault, "alpha", "sk-alpha-secret-0000000000");
    add(&mut vault, "bravo", "sk-bravo-secret-1111111111");
    let alpha = vault.entry("alpha").unwrap();
    let bravo = vault.entry("bravo").unwrap();
    let get = |tree, id: &[u8; 16]| vault.store_for_tests().get(tree, id).unwrap().unwrap();
    let alpha_secret = get(Tree::Secret, &alpha.id.0);
    let alpha_meta = get(Tree::Meta, &alpha.id.0);
    // alpha's secret under bravo's id: bravo's secret must not open (and never be alpha's).
    put(&vault, Tree::Secret, &bravo.id.0, &alpha_secret);
    assert!(matches!(vault.secret(&bravo), Err(Error::Corrupt(_))));
    // alpha's metadata under bravo's id.
    put(&vault, Tree::Meta, &bravo.id.0, &alpha_meta);
    assert!(matches!(vault.entry("bravo"), Err(Error::Corrupt(_))));
    assert!(matches!(vault.list(), Err(Error::Corrupt(_))));
    // A secret record swapped into the metadata field of the same entry fails too.
    put(&vault, Tree::Meta, &alpha.id.0, &alpha_secret);
    assert!(matches!(vault.entry("alpha"), Err(Error::Corrupt(_))));
}

#[test]
fn records_from_another_vault_do_not_open() {
    let (_t1, _d1, mut v1) = new_vault();
    let (_t2, _d2, mut v2) = new_vault();
    add(&mut v1, "alpha", "sk-one-secret-00000000000");
    add(&mut v2, "alpha", "sk-two-secret-00000000000");
    let e2 = v2.entry("alpha").unwrap();
    let (_, from_v1) = raw(&v1, Tree::Secret).pop().unwrap();
    put(&v2, Tree::Secret, &e2.id.0, &from_v1);
    assert!(matches!(v2.secret(&e2), Err(Error::Corrupt(_))));
}

#[test]
fn every_single_byte_flip_of_the_header_fails_to_open() {
    let (_tmp, dir, mut vault) = new_vault();
    add(&mut vault, "alpha", "sk-alpha-secret-0000000000");
    drop(vault);
    let path = Header::path(&dir);
    let good = std::fs::read(&path).unwrap();
    for i in 0..good.len() {
        let mut bad = good.clone();
        bad[i] ^= 0x01;
        std::fs::write(&path, &bad).unwrap();
        match Vault::open(&dir, &pass("correct horse")) {
            Ok(_) => panic!("header byte {i} flipped, yet the vault opened"),
            Err(
                Error::WrongPassphrase { .. }
                | Error::Corrupt(_)
                | Error::UnsupportedFormat(_)
                | Error::KdfRefused(_),
            ) => {}
            Err(other) => panic!("header byte {i}: unexpected {other:?}"),
        }
    }
    std::fs::write(&path, &good).unwrap();
    let vault = Vault::open(&dir, &pass("correct horse")).unwrap();
    assert_eq!(vault.list().unwrap().len(), 1);
}

#[test]
fn tampered_kdf_parameters_fail_to_open_and_absurd_ones_are_refused_early() {
    let (_tmp, dir, vault) = new_vault();
    drop(vault);
    let path = Header::path(&dir);
    let mut h = Header::read(&path).unwrap().unwrap();
    let good = h.clone();
    // Weaker parameters (an attacker's wish) fail: they are the wrap's associated data.
    h.kdf.iterations = 2;
    std::fs::write(&path, h.encode()).unwrap();
    assert!(matches!(
        Vault::open(&dir, &pass("correct horse")),
        Err(Error::WrongPassphrase { .. })
    ));
    // A salt change too.
    h = good.clone();
    h.salt[0] ^= 1;
    std::fs::write(&path, h.encode()).unwrap();
    assert!(Vault::open(&dir, &pass("correct horse")).is_err());
    // 64 GiB or 5000 passes are refused before any memory is allocated.
    for kdf in [
        KdfParams {
            memory_kib: 64 * 1024 * 1024,
            ..good.kdf
        },
        KdfParams {
            iterations: 5000,
            ..good.kdf
        },
    ] {
        h = good.clone();
        h.kdf = kdf;
        std::fs::write(&path, h.encode()).unwrap();
        let err = Vault::open(&dir, &pass("correct horse")).unwrap_err();
        assert!(matches!(err, Error::KdfRefused(_)), "{err:?}");
        assert!(err.to_string().contains("refuses"), "{err}");
    }
}

#[test]
fn wrong_passphrase_changes_no_file() {
    let (_tmp, dir, mut vault) = new_vault();
    add(&mut vault, "alpha", "sk-alpha-secret-0000000000");
    drop(vault);
    let before = files(&dir);
    let err = Vault::open(&dir, &pass("wrong horse")).unwrap_err();
    assert!(matches!(err, Error::WrongPassphrase { .. }));
    assert_eq!(err.exit_code(), keyward::error::exit::WRONG_PASSPHRASE);
    assert_eq!(files(&dir), before, "a wrong passphrase changed a file");
}

#[test]
fn debug_of_secret_bearing_types_shows_no_secret() {
    let (_tmp, dir, mut vault) = new_vault();
    let canary = "sk-debugcanary-0123456789abcdef";
    add(&mut vault, "alpha", canary);
    let (entry, secret) = vault.use_secret("alpha").unwrap();
    let pw = pass("passcanary-horse");
    let key = keyward::crypto::DataKey::from_bytes([0x5a; 32]);
    let wrap = keyward::crypto::WrapKey::from_bytes([0x5a; 32]);
    let sealer = keyward::crypto::Sealer::new(&key);
    let new = NewEntry {
        secret: secret.clone(),
        ..Default::default()
    };
    let dump = format!(
        "{vault:?} {secret:?} {secret:#?} {pw:?} {key:?} {wrap:?} {sealer:?} {new:?} {entry:?} {:?}",
        Vault::open(&dir, &pass("x"))
    );
    for needle in [canary, "debugcanary", "passcanary", "5a5a", "90, 90"] {
        assert!(!dump.contains(needle), "Debug shows {needle}: {dump}");
    }
}

#[test]
fn passwd_rewraps_only_and_keeps_every_entry_record() {
    let (_tmp, dir, mut vault) = new_vault();
    for i in 0..5 {
        add(
            &mut vault,
            &format!("e{i}"),
            &format!("sk-passwd-secret-{i:020}"),
        );
    }
    let meta_before = raw(&vault, Tree::Meta);
    let secret_before = raw(&vault, Tree::Secret);
    vault.change_passphrase(&pass("battery staple")).unwrap();
    drop(vault);
    assert!(matches!(
        Vault::open(&dir, &pass("correct horse")),
        Err(Error::WrongPassphrase { .. })
    ));
    let mut vault = Vault::open(&dir, &pass("battery staple")).unwrap();
    assert_eq!(raw(&vault, Tree::Meta), meta_before);
    assert_eq!(raw(&vault, Tree::Secret), secret_before);
    assert_eq!(
        vault.use_secret("e3").unwrap().1.value,
        format!("sk-passwd-secret-{:020}", 3)
    );
}

#[test]
fn rekey_reseals_everything_under_a_new_key() {
    let (_tmp, dir, mut vault) = new_vault();
    for i in 0..20 {
        add(
            &mut vault,
            &format!("e{i:02}"),
            &format!("sk-rekey-secret-{i:020}"),
        );
    }
    let list_before: Vec<_> = vault.list().unwrap().into_iter().map(|e| e.meta).collect();
    let secret_before = raw(&vault, Tree::Secret);
    let epoch_before = Header::read(&Header::path(&dir))
        .unwrap()
        .unwrap()
        .key_epoch;
    assert_eq!(vault.rekey().unwrap(), 20);
    let secret_after = raw(&vault, Tree::Secret);
    for ((_, a), (_, b)) in secret_before.iter().zip(&secret_after) {
        assert_ne!(a, b, "a secret record was not re-sealed");
    }
    drop(vault);
    let header = Header::read(&Header::path(&dir)).unwrap().unwrap();
    assert_eq!(header.key_epoch, epoch_before + 1);
    assert!(!Header::path_new(&dir).exists());
    let mut vault = Vault::open(&dir, &pass("correct horse")).unwrap();
    let list_after: Vec<_> = vault.list().unwrap().into_iter().map(|e| e.meta).collect();
    assert_eq!(list_before, list_after);
    // The counter restarted with the new key: it counts only the re-sealed records
    // (20 metadata, 20 secrets, the audit log) and the rekey's own event.
    assert!(
        (40..100).contains(&vault.seal_count()),
        "{}",
        vault.seal_count()
    );
    for i in [0, 7, 19] {
        assert_eq!(
            vault.use_secret(&format!("e{i:02}")).unwrap().1.value,
            format!("sk-rekey-secret-{i:020}")
        );
    }
}

#[test]
fn rekey_happens_by_itself_before_the_nonce_limit() {
    let (_tmp, dir, mut vault) = new_vault();
    add(&mut vault, "alpha", "sk-auto-rekey-0000000000000");
    vault.set_seal_count_for_tests(keyward::vault::REKEY_AFTER - 1);
    add(&mut vault, "bravo", "sk-auto-rekey-1111111111111");
    // The add crossed the threshold: a new data key, the counter restarted.
    assert!(vault.seal_count() < 10, "{}", vault.seal_count());
    drop(vault);
    assert_eq!(
        Header::read(&Header::path(&dir))
            .unwrap()
            .unwrap()
            .key_epoch,
        1
    );
    let mut vault = Vault::open(&dir, &pass("correct horse")).unwrap();
    assert_eq!(
        vault.use_secret("alpha").unwrap().1.value,
        "sk-auto-rekey-0000000000000"
    );
    assert_eq!(
        vault.use_secret("bravo").unwrap().1.value,
        "sk-auto-rekey-1111111111111"
    );
}

#[test]
fn an_interrupted_rekey_or_passwd_is_settled_on_open() {
    let (_tmp, dir, mut vault) = new_vault();
    add(&mut vault, "alpha", "sk-interrupt-000000000000000");
    drop(vault);
    // A header.new from a rekey whose transaction never happened (epoch ahead of sled's)
    // is discarded; the vault opens with its old header.
    let mut h = Header::read(&Header::path(&dir)).unwrap().unwrap();
    h.key_epoch += 1;
    h.write_new(&dir).unwrap();
    let vault = Vault::open(&dir, &pass("correct horse")).unwrap();
    assert!(!Header::path_new(&dir).exists());
    assert_eq!(vault.list().unwrap().len(), 1);
    drop(vault);
    // A passwd stopped after header.new was written but before the rename: the old
    // header is still in place and header.new holds the new wrap.
    let old_header = std::fs::read(Header::path(&dir)).unwrap();
    let mut vault = Vault::open(&dir, &pass("correct horse")).unwrap();
    vault.change_passphrase(&pass("new horse")).unwrap();
    drop(vault);
    let new_header = std::fs::read(Header::path(&dir)).unwrap();
    let interrupted = || {
        std::fs::write(Header::path(&dir), &old_header).unwrap();
        std::fs::write(Header::path_new(&dir), &new_header).unwrap();
    };
    // The new passphrase completes the change.
    interrupted();
    let vault = Vault::open(&dir, &pass("new horse")).unwrap();
    drop(vault);
    assert_eq!(std::fs::read(Header::path(&dir)).unwrap(), new_header);
    assert!(!Header::path_new(&dir).exists());
    // The old passphrase still opens it (the change never reported success) and
    // drops the unfinished header.
    interrupted();
    let vault = Vault::open(&dir, &pass("correct horse")).unwrap();
    assert_eq!(vault.list().unwrap().len(), 1);
    drop(vault);
    assert_eq!(std::fs::read(Header::path(&dir)).unwrap(), old_header);
    assert!(!Header::path_new(&dir).exists());
}

#[test]
fn a_second_open_gets_the_in_use_error() {
    let (_tmp, dir, vault) = new_vault();
    let err = Vault::open(&dir, &pass("correct horse")).unwrap_err();
    assert!(matches!(err, Error::VaultInUse { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains("is open in another keyward process")
    );
    drop(vault);
    Vault::open(&dir, &pass("correct horse")).unwrap();
}

/// The child half of the crash test: adds an entry, says so, then waits to be killed.
#[test]
#[ignore = "run by added_entries_survive_sigkill as a child process"]
fn crash_child() {
    let Ok(dir) = std::env::var("KEYWARD_CRASH_DIR") else {
        return;
    };
    let dir = PathBuf::from(dir);
    let mut vault = Vault::open(&dir, &pass("correct horse")).unwrap();
    for i in 0.. {
        add(
            &mut vault,
            &format!("crash{i}"),
            &format!("sk-crash-secret-{i:020}"),
        );
        println!("ADDED crash{i}");
    }
}

#[test]
fn added_entries_survive_sigkill() {
    use std::io::BufRead;
    let (_tmp, dir, vault) = new_vault();
    drop(vault);
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "crash_child",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("KEYWARD_CRASH_DIR", &dir)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut reported = Vec::new();
    for line in std::io::BufReader::new(stdout).lines() {
        let line = line.unwrap();
        if let Some(name) = line.strip_prefix("ADDED ") {
            reported.push(name.to_string());
            if reported.len() == 25 {
                child.kill().unwrap(); // SIGKILL on Unix
                break;
            }
        }
    }
    child.wait().unwrap();
    assert_eq!(reported.len(), 25, "the child did not report its adds");
    let mut vault = Vault::open(&dir, &pass("correct horse")).unwrap();
    for name in &reported {
        let i: usize = name.trim_start_matches("crash").parse().unwrap();
        assert_eq!(
            vault.use_secret(name).unwrap().1.value,
            format!("sk-crash-secret-{i:020}")
        );
    }
}

#[test]
fn unknown_format_version_touches_nothing() {
    let (_tmp, dir, vault) = new_vault();
    drop(vault);
    let path = Header::path(&dir);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[8..12].copy_from_slice(&7u32.to_le_bytes());
    std::fs::write(&path, &bytes).unwrap();
    let before = files(&dir);
    let err = Vault::open(&dir, &pass("correct horse")).unwrap_err();
    assert!(
        err.to_string().starts_with("unsupported vault format 7"),
        "{err}"
    );
    assert_eq!(files(&dir), before);
}
