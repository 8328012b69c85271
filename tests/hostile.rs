//! Hostile input (issue 6): property tests of the round trips keyward relies on, and
//! damaged database files run through the real binary.
//!
//! - Seal then open gives the bytes back for any plaintext and associated data, and any
//!   tampering (a flipped bit, a cut, other associated data, another key) fails.
//! - The header and the sealed records (metadata, secrets) encode and decode to the
//!   same value, and a record opens only under its own id, kind and record version.
//! - Import, export, import again gives the same entries, for env, JSON and CSV files
//!   with arbitrary well-formed names and keys (real vaults on disk, tiny KDF).
//! - A vault whose sled files were truncated, had bytes flipped or lost a file gives,
//!   for `list`, `get` and `show`, either the right answer (sled may ignore a byte it
//!   never reads) or exit 7 with one line saying the vault is damaged and to restore it
//!   from a backup: never a panic, a hang, a secret or an entry name.
//!
//! Case counts are kept modest (48, 32 for the vault round trips) so the file stays
//! fast on two cores; nothing here times anything.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use keyward::crypto::{self, DataKey, KdfParams, Sealer, WrapKey};
use keyward::model::{Entry, EntryId, EntryMeta, Secret};
use keyward::store::header::{FORMAT_VERSION, Header};
use keyward::transfer::{self, Format, ImportItem, ImportOptions, ImportOutcome, Record};
use keyward::vault::records::{Codec, Kind};
use keyward::{Passphrase, Vault};
use proptest::prelude::*;
use proptest::test_runner::Config;
use tempfile::TempDir;

fn config(cases: u32) -> Config {
    Config {
        cases,
        // A failure prints its minimal case; nothing is written into the tree.
        failure_persistence: None,
        ..Config::default()
    }
}

// ---------------------------------------------------------------------------
// Seal and open
// ---------------------------------------------------------------------------

proptest! {
    #![proptest_config(config(48))]

    #[test]
    fn seal_then_open_gives_the_bytes_back_and_tampering_fails(
        key in any::<[u8; 32]>(),
        other_key in any::<[u8; 32]>(),
        plain in proptest::collection::vec(any::<u8>(), 0..2048),
        aad in proptest::collection::vec(any::<u8>(), 0..96),
        bit in any::<usize>(),
        cut in any::<usize>(),
    ) {
        let sealer = Sealer::new(&DataKey::from_bytes(key));
        let sealed = sealer.seal(&aad, &plain);
        prop_assert_eq!(sealed.len(), crypto::SEAL_NONCE_LEN + plain.len() + crypto::TAG_LEN);
        let opened = sealer.open(&aad, &sealed).unwrap();
        prop_assert_eq!(opened.as_slice(), plain.as_slice());
        // Fresh nonces: sealing the same bytes twice never gives the same record.
        prop_assert_ne!(&sealer.seal(&aad, &plain), &sealed);

        let mut flipped = sealed.clone();
        let bit = bit % (flipped.len() * 8);
        flipped[bit / 8] ^= 1 << (bit % 8);
        prop_assert!(sealer.open(&aad, &flipped).is_err(), "bit {} flipped", bit);

        let short = &sealed[..cut % sealed.len()];
        prop_assert!(sealer.open(&aad, short).is_err(), "cut to {}", short.len());

        let mut longer = aad.clone();
        longer.push(0);
        prop_assert!(sealer.open(&longer, &sealed).is_err());
        if !aad.is_empty() {
            let mut changed = aad.clone();
            changed[bit % aad.len()] ^= 0x20;
            prop_assert!(sealer.open(&changed, &sealed).is_err());
        }

        if other_key != key {
            let other = Sealer::new(&DataKey::from_bytes(other_key));
            prop_assert!(other.open(&aad, &sealed).is_err());
        }
    }

    #[test]
    fn the_data_key_wrap_round_trips_and_tampering_fails(
        wrap in any::<[u8; 32]>(),
        data in any::<[u8; 32]>(),
        aad in proptest::collection::vec(any::<u8>(), 0..160),
        bit in any::<usize>(),
    ) {
        let wrap_key = WrapKey::from_bytes(wrap);
        let (nonce, wrapped) = crypto::wrap_data_key(&wrap_key, &aad, &DataKey::from_bytes(data));
        let back = crypto::unwrap_data_key(&wrap_key, &aad, &nonce, &wrapped).unwrap();
        prop_assert_eq!(back.expose(), &data);
        let mut bad = wrapped.clone();
        let bit = bit % (bad.len() * 8);
        bad[bit / 8] ^= 1 << (bit % 8);
        prop_assert!(crypto::unwrap_data_key(&wrap_key, &aad, &nonce, &bad).is_err());
        let mut bad_nonce = nonce;
        bad_nonce[bit % nonce.len()] ^= 1;
        prop_assert!(crypto::unwrap_data_key(&wrap_key, &aad, &bad_nonce, &wrapped).is_err());
    }
}

// ---------------------------------------------------------------------------
// Encode and decode: the header and the sealed records
// ---------------------------------------------------------------------------

fn header() -> impl Strategy<Value = Header> {
    (
        any::<[u8; 16]>(),
        any::<(u32, u32, u32)>(),
        proptest::collection::vec(any::<u8>(), 16..=255),
        any::<u64>(),
        any::<[u8; 24]>(),
        proptest::collection::vec(any::<u8>(), 48),
    )
        .prop_map(
            |(
                vault_id,
                (memory_kib, iterations, parallelism),
                salt,
                key_epoch,
                wrap_nonce,
                wrapped_key,
            )| Header {
                version: FORMAT_VERSION,
                vault_id,
                kdf: KdfParams {
                    memory_kib,
                    iterations,
                    parallelism,
                },
                salt,
                key_epoch,
                wrap_nonce,
                wrapped_key,
            },
        )
}

/// Any text, control characters and non-ASCII included.
fn text() -> impl Strategy<Value = String> {
    any::<String>()
}

fn opt_text() -> impl Strategy<Value = Option<String>> {
    proptest::option::of(text())
}

fn entry_meta() -> impl Strategy<Value = EntryMeta> {
    // Grouped in tuples of at most 12 (what proptest implements Strategy for).
    (
        (
            text(),
            text(),
            text(),
            text(),
            opt_text(),
            opt_text(),
            opt_text(),
        ),
        (
            proptest::collection::vec(text(), 0..4),
            text(),
            any::<bool>(),
            any::<bool>(),
            opt_text(),
            any::<Option<u32>>(),
            any::<Option<i64>>(),
            any::<i64>(),
            any::<i64>(),
            any::<Option<i64>>(),
            any::<u64>(),
        ),
        (
            opt_text(),
            any::<u64>(),
            text(),
            proptest::collection::vec(text(), 0..3),
            any::<u32>(),
            text(),
            proptest::collection::vec(any::<u8>(), 0..33),
            any::<Option<i64>>(),
        ),
    )
        .prop_map(|(a, b, c)| EntryMeta {
            name: a.0,
            provider: a.1,
            environment: a.2,
            env_var: a.3,
            base_url: a.4,
            model: a.5,
            tier: a.6,
            tags: b.0,
            notes: b.1,
            active: b.2,
            primary: b.3,
            expires_at: b.4,
            rotate_every_days: b.5,
            rotated_at: b.6,
            created_at: b.7,
            updated_at: b.8,
            last_used_at: b.9,
            use_count: b.10,
            last_error: c.0,
            error_count: c.1,
            masked: c.2,
            field_names: c.3,
            version: c.4,
            version_source: c.5,
            fingerprint: c.6,
            last_checked_at: c.7,
        })
}

fn secret() -> impl Strategy<Value = Secret> {
    (text(), proptest::collection::vec((text(), text()), 0..4))
        .prop_map(|(value, fields)| Secret { value, fields })
}

proptest! {
    #![proptest_config(config(48))]

    #[test]
    fn a_header_encodes_and_decodes_to_itself(h in header(), cut in any::<usize>(), extra in any::<u8>()) {
        let bytes = h.encode();
        prop_assert_eq!(bytes.len(), 122 + h.salt.len());
        prop_assert_eq!(Header::decode(&bytes).unwrap(), h);
        // Cut short or with a byte after the wrapped key: refused, never misread.
        prop_assert!(Header::decode(&bytes[..cut % bytes.len()]).is_err());
        let mut longer = bytes.clone();
        longer.push(extra);
        prop_assert!(Header::decode(&longer).is_err());
    }

    #[test]
    fn metadata_and_secret_records_round_trip_under_their_own_context_only(
        key in any::<[u8; 32]>(),
        vault_id in any::<[u8; 16]>(),
        id in any::<[u8; 16]>(),
        other_id in any::<[u8; 16]>(),
        rev in any::<u64>(),
        meta in entry_meta(),
        secret in secret(),
        bit in any::<usize>(),
    ) {
        let codec = Codec::new(&DataKey::from_bytes(key), vault_id);
        let entry = Entry { id: EntryId(id), meta, rev };
        let meta_record = codec.seal_meta(&entry);
        let secret_record = codec.seal_secret(&entry.id, rev, &secret);
        prop_assert_eq!(&codec.open_meta(&entry.id, &meta_record).unwrap(), &entry);
        prop_assert!(codec.open_secret(&entry.id, &secret_record).unwrap() == secret);
        // The record version is stored in the clear, first, and authenticated.
        prop_assert_eq!(&meta_record[..8], &rev.to_be_bytes());
        prop_assert_eq!(codec.open(Kind::Meta, &entry.id, &meta_record).unwrap(), rev);
        prop_assert_eq!(codec.open(Kind::Secret, &entry.id, &secret_record).unwrap(), rev);

        // Under another entry id, as another kind, or with another record version: no.
        if other_id != id {
            prop_assert!(codec.open_meta(&EntryId(other_id), &meta_record).is_err());
            prop_assert!(codec.open_secret(&EntryId(other_id), &secret_record).is_err());
        }
        prop_assert!(codec.open_secret(&entry.id, &meta_record).is_err());
        prop_assert!(codec.open_meta(&entry.id, &secret_record).is_err());
        for kind in [Kind::Version, Kind::Audit, Kind::AuditHead] {
            prop_assert!(codec.open(kind, &entry.id, &meta_record).is_err());
        }
        let mut moved = meta_record.clone();
        moved[..8].copy_from_slice(&rev.wrapping_add(1).to_be_bytes());
        prop_assert!(codec.open_meta(&entry.id, &moved).is_err());
        let mut flipped = secret_record.clone();
        let bit = bit % (flipped.len() * 8);
        flipped[bit / 8] ^= 1 << (bit % 8);
        prop_assert!(codec.open_secret(&entry.id, &flipped).is_err());
        // Another vault (its id is in the associated data) opens none of them.
        let mut other_vault = vault_id;
        other_vault[0] ^= 1;
        let stranger = Codec::new(&DataKey::from_bytes(key), other_vault);
        prop_assert!(stranger.open_meta(&entry.id, &meta_record).is_err());

        // Whatever fails says so without the secret.
        let err = codec.open_secret(&entry.id, &flipped).unwrap_err().to_string();
        prop_assert!(secret.value.len() < 4 || !err.contains(&secret.value));
    }

    #[test]
    fn a_plaintext_of_a_newer_schema_is_named_not_misread(
        schema in 2u8..,
        body in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let codec = Codec::new(&DataKey::from_bytes([3; 32]), [4; 16]);
        let id = EntryId([5; 16]);
        let mut plain = vec![schema];
        plain.extend_from_slice(&body);
        for kind in Kind::ALL {
            let record = codec.seal_plain(kind, &id, 1, &plain);
            let err = codec.open(kind, &id, &record).unwrap_err().to_string();
            prop_assert!(err.contains(&format!("schema {schema}")), "{}", err);
        }
    }
}

// ---------------------------------------------------------------------------
// Import, export, import again
// ---------------------------------------------------------------------------

const TINY: KdfParams = KdfParams {
    memory_kib: 64,
    iterations: 1,
    parallelism: 1,
};

fn lib_vault() -> (TempDir, Vault) {
    let tmp = TempDir::new().unwrap();
    let v = Vault::create(
        &tmp.path().join("v"),
        &Passphrase::new("pw".into()).unwrap(),
        TINY,
    )
    .unwrap();
    (tmp, v)
}

/// Imports `text` into `vault`; every record must be imported.
fn import(vault: &mut Vault, text: &str, format: Format, expected: usize) {
    let parsed = transfer::parse(format, text, "prod").unwrap_or_else(|p| panic!("{p}"));
    assert!(parsed.problems.is_empty(), "{:?}", parsed.problems);
    assert!(parsed.left_out.is_empty(), "{:?}", parsed.left_out);
    let items: Vec<ImportItem> = parsed
        .items
        .into_iter()
        .map(|i| ImportItem {
            line: i.line,
            derived_name: i.derived_name,
            entry: i.record.into_new_entry(),
        })
        .collect();
    let report = vault
        .import_batch(
            items,
            ImportOptions {
                on_conflict: Default::default(),
                skip_invalid: false,
                dry_run: false,
                grace_days: 7,
            },
        )
        .unwrap();
    let failed: Vec<&ImportOutcome> = report
        .outcomes
        .iter()
        .filter(|o| !matches!(o, ImportOutcome::Imported))
        .collect();
    assert!(failed.is_empty(), "{failed:?}");
    assert_eq!(report.imported(), expected);
}

/// What `keyward export` writes: every entry's record, in `format`.
fn export(vault: &Vault, format: Format) -> String {
    let records: Vec<Record> = vault
        .list()
        .unwrap()
        .iter()
        .map(|e| Record::from_entry(&e.meta, vault.secret(e).unwrap()))
        .collect();
    transfer::write(format, &records).to_string()
}

/// Every entry of `vault`, without what differs between two vaults holding it.
fn contents(vault: &Vault) -> Vec<(EntryMeta, Secret)> {
    vault
        .list()
        .unwrap()
        .into_iter()
        .map(|e| {
            let secret = vault.secret(&e).unwrap();
            let meta = EntryMeta {
                created_at: 0,
                updated_at: 0,
                rotated_at: None,
                fingerprint: Vec::new(),
                ..e.meta
            };
            (meta, secret)
        })
        .collect()
}

/// Imports `text` into a new vault, exports it, imports that into another new vault
/// and exports again: both vaults must hold the same entries and both exports be the
/// same text. Returns the first vault's entries.
fn round_trip(text: &str, format: Format, expected: usize) -> Vec<(EntryMeta, Secret)> {
    let (_ta, mut a) = lib_vault();
    import(&mut a, text, format, expected);
    let exported = export(&a, format);
    let (_tb, mut b) = lib_vault();
    import(&mut b, &exported, format, expected);
    assert_eq!(export(&b, format), exported, "the second export differs");
    let (ca, cb) = (contents(&a), contents(&b));
    assert!(ca == cb, "the vaults differ after import, export, import");
    ca
}

/// A key-like value: a letter, the index (keeps values unique), `|`, then any
/// printable characters but `:` and `|` (quotes, `#`, `$`, `\`, `=`, spaces, tabs,
/// newlines, non-ASCII), ending with a letter or digit. No `:` so it never reads as
/// a URL (a setting), and long enough never to read as a number or a date.
fn custom_value(i: usize) -> impl Strategy<Value = String> {
    ("[A-Za-z]", "[ -9;-{}~\t\néßü€日本]{8,40}", "[A-Za-z0-9]")
        .prop_map(move |(a, b, c)| format!("{a}{i}|{b}{c}"))
}

fn openai_key() -> impl Strategy<Value = String> {
    "[A-Za-z0-9]{24,40}".prop_map(|s| format!("sk-proj-{s}"))
}

fn github_key() -> impl Strategy<Value = String> {
    "[A-Za-z0-9]{36}".prop_map(|s| format!("ghp_{s}"))
}

/// An AWS secret, access key id and region.
fn aws() -> impl Strategy<Value = (String, String, String)> {
    (
        "[A-Za-z0-9/+]{40}",
        "A[KS]IA[A-Z0-9]{16}",
        prop_oneof!["us-east-1", "eu-west-3", "ap-south-1"],
    )
}

/// An env file: custom keys under variables named like secrets, and maybe an OpenAI
/// key, a GitHub token and an AWS key (three variables, one entry). Returns the text,
/// the number of entries and every (variable, value) of a key.
fn env_file() -> impl Strategy<Value = (String, usize, Vec<(String, String)>)> {
    let customs = proptest::collection::vec(
        (
            "[A-Z]{1,6}",
            prop_oneof!["API_KEY", "TOKEN", "SECRET", "PASSWORD"],
        ),
        1..6,
    )
    .prop_flat_map(|vars| {
        let values: Vec<_> = (0..vars.len()).map(custom_value).collect();
        (Just(vars), values)
    });
    (
        customs,
        proptest::option::of(openai_key()),
        proptest::option::of(github_key()),
        proptest::option::of(aws()),
        any::<bool>(),
    )
        .prop_map(|((vars, values), openai, github, aws, exported)| {
            let mut keys: Vec<(String, String)> = vars
                .iter()
                .zip(values)
                .enumerate()
                .map(|(i, ((stem, suffix), value))| (format!("{stem}{i}_{suffix}"), value))
                .collect();
            let mut entries = keys.len();
            if let Some(k) = openai {
                keys.push(("OPENAI_API_KEY".into(), k));
                entries += 1;
            }
            if let Some(k) = github {
                keys.push(("GITHUB_TOKEN".into(), k));
                entries += 1;
            }
            let mut text = String::from("# a comment, then a blank line\n\n");
            let prefix = if exported { "export " } else { "" };
            for (var, value) in &keys {
                text.push_str(&format!(
                    "{prefix}{var}={}\n",
                    transfer::env::quote(value).as_str()
                ));
            }
            if let Some((secret, id, region)) = aws {
                text.push_str(&format!(
                    "AWS_ACCESS_KEY_ID={id}\nAWS_SECRET_ACCESS_KEY={secret}\nAWS_REGION={region}\n"
                ));
                keys.push(("AWS_SECRET_ACCESS_KEY".into(), secret));
                entries += 1;
            }
            (text, entries, keys)
        })
}

/// Records as JSON and CSV files hold them: every field a user sets, with arbitrary
/// well-formed names, keys of several providers and free text in the free fields.
fn records() -> impl Strategy<Value = Vec<Record>> {
    let free = "[ -~éß€\n]{0,24}";
    let one = move |i: usize| {
        (
            (
                "[a-z][a-z0-9._-]{0,12}",
                prop_oneof![
                    custom_value(i).prop_map(|v| ("custom".to_string(), Secret::new(&v))),
                    openai_key().prop_map(|k| ("openai".to_string(), Secret::new(&k))),
                    github_key().prop_map(|k| ("github".to_string(), Secret::new(&k))),
                    aws().prop_map(|(secret, id, region)| (
                        "aws".to_string(),
                        Secret {
                            value: secret,
                            fields: vec![("access_key_id".into(), id), ("region".into(), region)],
                        }
                    )),
                ],
                prop_oneof![
                    Just("prod".to_string()),
                    Just("dev".to_string()),
                    "[a-z]{1,10}"
                ],
                prop_oneof![Just(String::new()), "[A-Z][A-Z0-9_]{0,15}"],
            ),
            (
                proptest::option::of("https://[a-z]{1,10}\\.example/v[0-9]"),
                proptest::option::of("[a-z0-9.-]{1,20}"),
                proptest::option::of(prop_oneof!["free", "paid"]),
                proptest::collection::vec("[!-~é]([ -~é]{0,10}[!-~])?", 0..3),
                free,
            ),
            (
                any::<bool>(),
                any::<bool>(),
                proptest::option::of("20[3-9][0-9]-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])"),
                proptest::option::of(1u32..3650),
            ),
        )
            .prop_map(move |(a, b, c)| Record {
                name: format!("{}-{i}", a.0),
                provider: a.1.0,
                environment: a.2,
                env_var: a.3,
                base_url: b.0,
                model: b.1,
                tier: b.2,
                tags: b.3,
                notes: b.4,
                active: c.0,
                primary: c.1,
                expires_at: c.2,
                rotate_every_days: c.3,
                secret: a.1.1,
            })
    };
    (1usize..6).prop_flat_map(move |n| (0..n).map(one).collect::<Vec<_>>())
}

/// The fields of `r` an import keeps as they are (primary may be given up to another
/// primary of the same provider and environment; an empty variable gets a default).
fn kept(r: &Record) -> impl PartialEq + std::fmt::Debug {
    (
        r.name.clone(),
        r.provider.clone(),
        r.environment.clone(),
        r.base_url.clone(),
        r.model.clone(),
        r.tier.clone(),
        r.tags.clone(),
        r.notes.clone(),
        r.active,
        r.expires_at.clone(),
        r.rotate_every_days,
    )
}

fn json_or_csv_round_trip(records: &[Record], format: Format) {
    let text = transfer::write(format, records);
    let stored = round_trip(&text, format, records.len());
    let mut expected: Vec<&Record> = records.iter().collect();
    expected.sort_by(|a, b| a.name.cmp(&b.name));
    assert_eq!(stored.len(), expected.len());
    for ((meta, secret), r) in stored.iter().zip(expected) {
        let back = Record::from_entry(meta, secret.clone());
        assert_eq!(kept(&back), kept(r), "{format:?}");
        assert!(back.secret == r.secret, "{format:?}: a secret changed");
        if !r.env_var.is_empty() {
            assert_eq!(back.env_var, r.env_var);
        }
    }
}

proptest! {
    #![proptest_config(config(32))]

    #[test]
    fn env_files_survive_import_export_import((text, entries, keys) in env_file()) {
        let stored = round_trip(&text, Format::Env, entries);
        // Every key of the file is stored, unchanged, under its variable.
        for (var, value) in &keys {
            let found = stored.iter().find(|(m, _)| &m.env_var == var);
            prop_assert!(found.is_some_and(|(_, s)| &s.value == value), "{} lost or changed", var);
        }
    }

    #[test]
    fn json_files_survive_import_export_import(records in records()) {
        json_or_csv_round_trip(&records, Format::Json);
    }

    #[test]
    fn csv_files_survive_import_export_import(records in records()) {
        json_or_csv_round_trip(&records, Format::Csv);
    }
}

// ---------------------------------------------------------------------------
// Damaged database files, through the binary
// ---------------------------------------------------------------------------

const PW: &str = "hostile input test passphrase";
const OPENAI_KEY: &str = "sk-proj-SECRETcanary7Xw4Vb9Nm2Lk5Jh8Gf3";
const CUSTOM_KEY: &str = "plain-SECRETcanary-value-0042";
const CUSTOM_KEY_2: &str = "plain-SECRETcanary-value-0043-rotated";
const AWS_SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiSECRETcanary";
const AWS_ID: &str = "AKIAIOSFODNN7EXAMPLE";
/// Every entry name holds "canary" too: neither may appear in an error.
const NAMES: [&str; 3] = ["canary-openai", "canary-custom", "canary-aws"];

/// The longest a command may take on a damaged vault before it counts as hung.
const HANG: std::time::Duration = std::time::Duration::from_secs(120);

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

impl std::fmt::Display for Out {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit code {}\n--- stdout ---\n{}--- stderr ---\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// Runs the binary on `vault`, with the passphrase in the environment.
fn keyward(vault: &Path, args: &[&str], stdin: &str) -> Out {
    let mut child = Command::new(env!("CARGO_BIN_EXE_keyward"))
        .arg("--vault")
        .arg(vault)
        .args(args)
        .env_remove("KEYWARD_VAULT")
        .env("KEYWARD_PASSPHRASE", PW)
        // Would make a default panic print a backtrace: the binary must not.
        .env("RUST_BACKTRACE", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot start the keyward binary");
    {
        use std::io::Write;
        let mut input = child.stdin.take().unwrap();
        let _ = input.write_all(stdin.as_bytes());
    }
    let drain = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = r.read_to_end(&mut buf);
            String::from_utf8_lossy(&buf).into_owned()
        })
    };
    let out = drain(Box::new(child.stdout.take().unwrap()));
    let err = drain(Box::new(child.stderr.take().unwrap()));
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > HANG {
            let _ = child.kill();
            let _ = child.wait();
            panic!("keyward {args:?} hung on {}", vault.display());
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    };
    Out {
        // A signal (no code) is a crash: reported as such by `check`.
        code: status.code().unwrap_or(-1),
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

/// A vault with three entries, a rotated key and some audit events, made once per test.
fn pristine() -> TempDir {
    let tmp = TempDir::new().unwrap();
    let v = tmp.path().join("v");
    let ok = |out: Out| assert_eq!(out.code, 0, "{out}");
    ok(keyward(
        &v,
        &[
            "init",
            "--kdf-memory-mib",
            "1",
            "--kdf-iterations",
            "1",
            "--kdf-parallelism",
            "1",
        ],
        "",
    ));
    ok(keyward(&v, &["add", NAMES[0]], OPENAI_KEY));
    ok(keyward(
        &v,
        &["add", NAMES[1], "--provider", "custom"],
        CUSTOM_KEY,
    ));
    ok(keyward(
        &v,
        &[
            "add",
            NAMES[2],
            "--provider",
            "aws",
            "--field",
            &format!("access_key_id={AWS_ID}"),
        ],
        AWS_SECRET,
    ));
    ok(keyward(&v, &["rotate", NAMES[1]], CUSTOM_KEY_2));
    ok(keyward(&v, &["get", NAMES[0]], ""));
    tmp
}

/// A way to damage one file of the vault (a path relative to the vault directory).
#[derive(Debug, Clone)]
enum Damage {
    Truncate(PathBuf, u64),
    Flip(PathBuf, u64, u8),
    Delete(PathBuf),
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Every file under the vault's `db/`, relative to the vault directory.
fn db_files(vault: &Path) -> Vec<PathBuf> {
    fn walk(dir: &Path, base: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, base, out);
            } else {
                out.push(path.strip_prefix(base).unwrap().to_path_buf());
            }
        }
    }
    let mut out = Vec::new();
    walk(&vault.join("db"), vault, &mut out);
    out.sort();
    out
}

/// The bytes of `file` up to its last non-zero one (sled's segments are mostly zeros).
fn used_len(path: &Path) -> u64 {
    let bytes = std::fs::read(path).unwrap();
    bytes
        .iter()
        .rposition(|&b| b != 0)
        .map_or(0, |i| i as u64 + 1)
}

/// A copy of `pristine` with `damage` done to it.
fn damaged(pristine: &Path, damage: &Damage) -> TempDir {
    let tmp = TempDir::new().unwrap();
    let v = tmp.path().join("v");
    copy_dir(pristine, &v);
    match damage {
        Damage::Truncate(f, len) => {
            let file = std::fs::OpenOptions::new()
                .write(true)
                .open(v.join(f))
                .unwrap();
            file.set_len(*len).unwrap();
        }
        Damage::Flip(f, at, mask) => {
            let mut bytes = std::fs::read(v.join(f)).unwrap();
            bytes[*at as usize] ^= mask;
            std::fs::write(v.join(f), bytes).unwrap();
        }
        Damage::Delete(f) => std::fs::remove_file(v.join(f)).unwrap(),
    }
    tmp
}

/// Whether a command's stdout is the right answer.
type Right = dyn Fn(&str) -> bool;

/// Runs `list`, `get` and `show` on a copy of `pristine` with `damage` done: each gives
/// the right answer or the one-line "damaged" error. Returns how many commands failed.
fn check(pristine: &Path, damage: &Damage) -> usize {
    let tmp = damaged(pristine, damage);
    let v = tmp.path().join("v");
    let mut failed = 0;
    let commands: [(&[&str], &Right); 3] = [
        (&["list"], &|out| NAMES.iter().all(|n| out.contains(n))),
        (&["get", NAMES[0]], &|out| out == format!("{OPENAI_KEY}\n")),
        (&["show", NAMES[2]], &|out| {
            out.contains(NAMES[2])
                && out.contains("access_key_id")
                && out.contains("…nary")
                && !out.contains(AWS_SECRET)
        }),
    ];
    for (args, right) in commands {
        let out = keyward(&v, args, "");
        let what = format!("{damage:?}, keyward {args:?}:\n{out}");
        for bad in ["panicked", "internal error", "backtrace", "RUST_BACKTRACE"] {
            assert!(!out.stderr.contains(bad), "a panic: {what}");
        }
        assert!(
            !out.stderr.contains("canary") && !out.stderr.contains("SECRET"),
            "stderr names an entry or a secret: {what}"
        );
        if out.code == 0 {
            // sled never read the damaged byte, or recovered: the answer must be right.
            assert!(right(&out.stdout), "a wrong answer: {what}");
            continue;
        }
        failed += 1;
        assert_eq!(out.code, 7, "expected exit 7 (damaged): {what}");
        assert!(out.stdout.is_empty(), "a failure printed on stdout: {what}");
        assert!(
            out.stderr.starts_with("keyward: ")
                && out.stderr.ends_with('\n')
                && out.stderr.lines().count() == 1,
            "expected one `keyward: ` line: {what}"
        );
        assert!(
            out.stderr.contains("damaged") && out.stderr.contains("restore it from a backup"),
            "the error does not say damaged / restore from a backup: {what}"
        );
    }
    failed
}

/// Runs every damage in `damages`; at least `min_failing` of them must be noticed
/// (so the test cannot pass by damaging nothing sled reads).
fn check_all(pristine: &Path, damages: &[Damage], min_failing: usize) {
    let failing = damages.iter().filter(|d| check(pristine, d) > 0).count();
    assert!(
        failing >= min_failing,
        "only {failing} of {} damages were noticed",
        damages.len()
    );
}

#[test]
fn truncated_database_files_are_reported_as_damage() {
    let p = pristine();
    let v = p.path().join("v");
    let mut damages = Vec::new();
    for f in db_files(&v) {
        let len = std::fs::metadata(v.join(&f)).unwrap().len();
        let used = used_len(&v.join(&f));
        let mut cuts = vec![0, 1, len / 2, len.saturating_sub(1)];
        // Inside what sled wrote: every eighth of it, and just short of its end.
        cuts.extend((1..8).map(|k| used * k / 8));
        cuts.push(used.saturating_sub(1));
        cuts.sort_unstable();
        cuts.dedup();
        damages.extend(
            cuts.into_iter()
                .filter(|&c| c < len)
                .map(|c| Damage::Truncate(f.clone(), c)),
        );
    }
    // The header is not sled's, but cut short it is damage too.
    damages.push(Damage::Truncate("header".into(), 100));
    check_all(&v, &damages, damages.len() / 2);
}

#[test]
fn flipped_bytes_in_the_log_are_reported_as_damage() {
    let p = pristine();
    let v = p.path().join("v");
    let log = PathBuf::from("db/db");
    let len = std::fs::metadata(v.join(&log)).unwrap().len();
    let used = used_len(&v.join(&log));
    assert!(used > 100, "sled wrote {used} bytes");
    // About 45 places in what sled wrote, and a few in the zeros after it.
    let step = (used / 45).max(1);
    let mut places: Vec<u64> = (0..used).step_by(step as usize).collect();
    places.extend([used, used + 1, (used + len) / 2, len - 1]);
    let masks = [0x01, 0x80, 0xff];
    let damages: Vec<Damage> = places
        .into_iter()
        .filter(|&at| at < len)
        .enumerate()
        .map(|(i, at)| Damage::Flip(log.clone(), at, masks[i % masks.len()]))
        .collect();
    check_all(&v, &damages, damages.len() / 2);
}

#[test]
fn flipped_bytes_in_the_snapshot_and_config_are_reported_as_damage() {
    let p = pristine();
    let v = p.path().join("v");
    let mut damages = Vec::new();
    for f in db_files(&v).into_iter().filter(|f| f != Path::new("db/db")) {
        let len = std::fs::metadata(v.join(&f)).unwrap().len();
        let step = (len / 16).max(1);
        for (i, at) in (0..len).step_by(step as usize).enumerate() {
            damages.push(Damage::Flip(f.clone(), at, [0x01, 0x80, 0xff][i % 3]));
        }
        damages.push(Damage::Flip(f.clone(), len - 1, 0x10));
    }
    assert!(!damages.is_empty());
    check_all(&v, &damages, 1);
}

#[test]
fn deleted_database_files_are_reported_as_damage() {
    let p = pristine();
    let v = p.path().join("v");
    let damages: Vec<Damage> = db_files(&v).into_iter().map(Damage::Delete).collect();
    // Without its log (`db/db`) the database cannot be read.
    assert!(
        damages
            .iter()
            .any(|d| matches!(d, Damage::Delete(f) if f == Path::new("db/db")))
    );
    check_all(&v, &damages, 1);
    // The whole database gone, the header left: damage, not an empty vault.
    let tmp = TempDir::new().unwrap();
    let copy = tmp.path().join("v");
    copy_dir(&v, &copy);
    std::fs::remove_dir_all(copy.join("db")).unwrap();
    let out = keyward(&copy, &["list"], "");
    assert_eq!(out.code, 7, "{out}");
    assert!(out.stderr.contains("restore it from a backup"), "{out}");
}

// ---------------------------------------------------------------------------
// The fuzz targets' committed seeds, as plain tests
// ---------------------------------------------------------------------------

/// The seeds of fuzz target `target` (fuzz/seeds/TARGET/), by file name.
fn seeds(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/seeds")
        .join(target);
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| {
            let path = e.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&path).unwrap())
        })
        .collect();
    out.sort();
    assert!(!out.is_empty(), "no seeds in {}", dir.display());
    out
}

/// Every seed is a valid input, so each target starts from inputs that reach past its
/// first checks; a format change that leaves them behind fails here.
#[test]
fn the_fuzz_seeds_are_valid_inputs() {
    let codec = Codec::new(&DataKey::from_bytes([0x42; 32]), [0x24; 16]);
    let id = EntryId([0x11; 16]);
    for (name, data) in seeds("sealed_record") {
        let (mode, plain) = data.split_first().unwrap();
        let kind = Kind::ALL[usize::from(mode & 0x7f) % Kind::ALL.len()];
        let record = codec.seal_plain(kind, &id, 3, plain);
        let opened = codec.open(kind, &id, &record);
        assert!(opened.is_ok(), "sealed_record/{name}: {opened:?}");
    }
    for (name, data) in seeds("vault_header") {
        let h = Header::decode(&data).unwrap_or_else(|e| panic!("vault_header/{name}: {e}"));
        assert_eq!(h.encode(), data);
    }
    for (name, data) in seeds("bundle_reader") {
        let (mode, rest) = data.split_first().unwrap();
        let pass = Passphrase::new("fuzz".into()).unwrap();
        if mode & 1 == 0 {
            let header = keyward::crypto::bundle::inspect(rest);
            assert!(header.is_ok(), "bundle_reader/{name}: {header:?}");
            let bundle = Vault::read_bundle(rest, &pass);
            assert!(bundle.is_ok_and(|b| !b.is_empty()), "bundle_reader/{name}");
        } else {
            let sealed = keyward::crypto::bundle::seal(b"fuzz", &TINY, rest).unwrap();
            let bundle = Vault::read_bundle(&sealed, &pass);
            assert!(
                bundle.as_ref().is_ok_and(|b| b.len() == 2),
                "bundle_reader/{name}: {:?}",
                bundle.err()
            );
        }
    }
    for (target, format) in [
        ("env_parser", Format::Env),
        ("json_import", Format::Json),
        ("csv_import", Format::Csv),
    ] {
        for (name, data) in seeds(target) {
            let text = String::from_utf8(data).unwrap();
            let parsed = transfer::parse(format, &text, "prod")
                .unwrap_or_else(|p| panic!("{target}/{name}: {p}"));
            assert!(
                parsed.problems.is_empty() && parsed.items.len() == 4,
                "{target}/{name}: {:?}",
                parsed.problems
            );
        }
    }
}
