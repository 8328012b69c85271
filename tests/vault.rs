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
