//! The vault service's rules, on a real vault on disk.

use keyward::crypto::KdfParams;
use keyward::model::{EntryPatch, NewEntry, Secret};
use keyward::{Error, Passphrase, Vault};

const TINY: KdfParams = KdfParams {
    memory_kib: 64,
    iterations: 1,
    parallelism: 1,
};

fn vault() -> (tempfile::TempDir, Vault) {
    let tmp = tempfile::tempdir().unwrap();
    let v = Vault::create(
        &tmp.path().join("v"),
        &Passphrase::new("pw".into()).unwrap(),
        TINY,
    )
    .unwrap();
    (tmp, v)
}

fn entry(name: &str, key: &str, primary: bool) -> NewEntry {
    NewEntry {
        name: name.into(),
        secret: Secret::new(key),
        primary,
        ..Default::default()
    }
}

const OPENAI_A: &str = "sk-proj-AAAAAAAAAAAAAAAAAAAAAAAAAAAA";
const OPENAI_B: &str = "sk-proj-BBBBBBBBBBBBBBBBBBBBBBBBBBBB";

#[test]
fn add_many_is_all_or_nothing() {
    let (_t, mut v) = vault();
    let err = v
        .add_many(vec![
            entry("good-one", OPENAI_A, false),
            entry("bad-one", "not a key", false),
        ])
        .unwrap_err();
    assert!(matches!(err, Error::Invalid(_)), "{err:?}");
    assert!(
        v.list().unwrap().is_empty(),
        "a failed batch wrote something"
    );
    let err = v
        .add_many(vec![
            entry("twin", OPENAI_A, false),
            entry("twin", OPENAI_B, false),
        ])
        .unwrap_err();
    assert!(matches!(err, Error::NameTaken(n) if n == "twin"));
    assert!(v.list().unwrap().is_empty());
    let saved = v
        .add_many(vec![
            entry("a", OPENAI_A, false),
            entry("b", OPENAI_B, false),
        ])
        .unwrap();
    assert_eq!(saved.len(), 2);
    assert_eq!(v.list().unwrap().len(), 2);
}

#[test]
fn at_most_one_primary_per_provider_and_environment() {
    let (_t, mut v) = vault();
    v.add(entry("first", OPENAI_A, true)).unwrap();
    let mut dev = entry("dev", OPENAI_B, true);
    dev.environment = Some("dev".into());
    let saved = v.add(dev).unwrap();
    assert!(
        saved.demoted.is_empty(),
        "another environment is not a rival"
    );
    let saved = v.add(entry("second", OPENAI_B, true)).unwrap();
    assert_eq!(saved.demoted, vec!["first".to_string()]);
    assert!(!v.entry("first").unwrap().meta.primary);
    assert!(v.entry("second").unwrap().meta.primary);
    // Making it primary again through an edit demotes the other one back.
    let saved = v
        .update(
            "first",
            EntryPatch {
                primary: Some(true),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(saved.demoted, vec!["second".to_string()]);
    // Within one batch, the later one wins.
    let (_t2, mut w) = vault();
    let saved = w
        .add_many(vec![entry("x", OPENAI_A, true), entry("y", OPENAI_B, true)])
        .unwrap();
    assert!(!w.entry("x").unwrap().meta.primary);
    assert!(w.entry("y").unwrap().meta.primary);
    assert_eq!(saved[0].demoted, vec!["x".to_string()]);
}

#[test]
fn rename_keeps_the_index_consistent() {
    let (_t, mut v) = vault();
    v.add(entry("old", OPENAI_A, false)).unwrap();
    v.add(entry("other", OPENAI_B, false)).unwrap();
    let taken = v.update(
        "old",
        EntryPatch {
            name: Some("other".into()),
            ..Default::default()
        },
    );
    assert!(matches!(taken, Err(Error::NameTaken(_))));
    v.update(
        "old",
        EntryPatch {
            name: Some("new".into()),
            ..Default::default()
        },
    )
    .unwrap();
    assert!(matches!(v.entry("old"), Err(Error::EntryNotFound(_))));
    assert_eq!(v.use_secret("new").unwrap().1.value, OPENAI_A);
    // The old name is free again.
    v.add(entry("old", OPENAI_B, false)).unwrap();
}

#[test]
fn changing_provider_rechecks_the_stored_key() {
    let (_t, mut v) = vault();
    v.add(entry("k", OPENAI_A, false)).unwrap();
    let err = v
        .update(
            "k",
            EntryPatch {
                provider: Some("gemini".into()),
                ..Default::default()
            },
        )
        .unwrap_err();
    assert!(matches!(err, Error::KeyFormat(_)), "{err:?}");
    assert_eq!(v.entry("k").unwrap().meta.provider, "openai");
}

#[test]
fn removed_entries_are_gone_with_their_secret() {
    let (_t, mut v) = vault();
    v.add(entry("k", OPENAI_A, false)).unwrap();
    let id = v.entry("k").unwrap().id;
    v.remove("k").unwrap();
    assert!(matches!(v.entry("k"), Err(Error::EntryNotFound(_))));
    let store = v.store_for_tests();
    assert!(
        store
            .get(keyward::store::Tree::Secret, &id.0)
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .get(keyward::store::Tree::Meta, &id.0)
            .unwrap()
            .is_none()
    );
}

#[test]
fn replacing_only_the_secret_fields_is_saved() {
    let (_t, mut v) = vault();
    v.add(entry("k", OPENAI_A, false)).unwrap();
    let e = v.entry("k").unwrap();
    let mut s = v.secret(&e).unwrap();
    s.fields = vec![("region".into(), "eu-west-1".into())];
    v.update(
        "k",
        EntryPatch {
            secret: Some(s),
            ..Default::default()
        },
    )
    .unwrap();
    let e = v.entry("k").unwrap();
    assert_eq!(v.secret(&e).unwrap().field("region"), Some("eu-west-1"));
    assert_eq!(e.meta.field_names, vec!["region".to_string()]);
    assert!(e.meta.rotated_at.is_none(), "the key itself did not change");
    // A new key with the same mask is saved too, and marks the rotation.
    let same_mask = format!("{}{}", &OPENAI_A[..OPENAI_A.len() - 5], "XAAAA");
    v.update(
        "k",
        EntryPatch {
            secret: Some(Secret::new(&same_mask)),
            ..Default::default()
        },
    )
    .unwrap();
    let e = v.entry("k").unwrap();
    assert_eq!(v.secret(&e).unwrap().value, same_mask);
    assert!(e.meta.rotated_at.is_some());
}

fn reopen(dir: &std::path::Path) -> keyward::Result<Vault> {
    Vault::open(dir, &Passphrase::new("pw".into()).unwrap())
}

#[test]
fn a_torn_header_new_is_ignored_and_removed() {
    let (t, v) = vault();
    drop(v);
    let dir = t.path().join("v");
    std::fs::write(dir.join("header.new"), b"KEYWARD\0\x01\x00").unwrap();
    reopen(&dir).unwrap();
    assert!(!dir.join("header.new").exists());
}

#[test]
fn a_missing_database_or_a_foreign_epoch_is_damage_not_a_wrong_passphrase() {
    let (t, mut v) = vault();
    v.add(entry("k", OPENAI_A, false)).unwrap();
    drop(v);
    let dir = t.path().join("v");
    // A header from before a rekey (say, restored from an old copy) opens with the
    // passphrase but no longer matches the database's key epoch: damage, exit 7.
    let old_header = std::fs::read(dir.join("header")).unwrap();
    let mut v = reopen(&dir).unwrap();
    v.rekey().unwrap();
    drop(v);
    let good = std::fs::read(dir.join("header")).unwrap();
    std::fs::write(dir.join("header"), &old_header).unwrap();
    let err = reopen(&dir).unwrap_err();
    assert!(matches!(err, Error::Corrupt(_)), "{err:?}");
    std::fs::write(dir.join("header"), &good).unwrap();
    reopen(&dir).unwrap();
    // The database removed: the vault is damaged, not silently empty.
    std::fs::rename(dir.join("db"), t.path().join("db-moved")).unwrap();
    let err = reopen(&dir).unwrap_err();
    assert!(matches!(err, Error::Corrupt(_)), "{err:?}");
    assert_eq!(err.exit_code(), keyward::error::exit::DAMAGED);
    // init over a directory that still has a database refuses to reuse it.
    std::fs::remove_file(dir.join("header")).unwrap();
    std::fs::rename(t.path().join("db-moved"), dir.join("db")).unwrap();
    let err = Vault::create(&dir, &Passphrase::new("pw".into()).unwrap(), TINY).unwrap_err();
    assert!(err.to_string().contains("without a header"), "{err}");
}

/// The TUI locks (drops the vault) and unlocks (opens it again) in one process: the
/// lock must be free as soon as the vault is dropped.
#[test]
fn reopening_right_after_dropping_finds_the_vault_free() {
    let (t, mut v) = vault();
    v.add(entry("k", OPENAI_A, false)).unwrap();
    drop(v);
    let dir = t.path().join("v");
    for _ in 0..20 {
        let mut v = reopen(&dir).unwrap();
        v.use_secret("k").unwrap();
    }
}
