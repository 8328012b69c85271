//! The progress callbacks of `Vault::import_batch_with_progress` and
//! `Vault::restore_with_progress`: every stage told from 0 to its total, in order,
//! with the right total. (Drawing the bar is the CLI's and is not tested.)

use keyward::crypto::KdfParams;
use keyward::model::{NewEntry, Secret};
use keyward::transfer::{ImportItem, ImportOptions, OnConflict};
use keyward::vault::Stage;
use keyward::{Passphrase, Vault};
use tempfile::TempDir;

const TINY: KdfParams = KdfParams {
    memory_kib: 64,
    iterations: 1,
    parallelism: 1,
};

fn vault(tmp: &TempDir, name: &str) -> Vault {
    Vault::create(
        &tmp.path().join(name),
        &Passphrase::new("pw".into()).unwrap(),
        TINY,
    )
    .unwrap()
}

fn items(n: usize) -> Vec<ImportItem> {
    (0..n)
        .map(|i| ImportItem {
            line: i + 1,
            derived_name: false,
            entry: NewEntry {
                name: format!("key-{i}"),
                provider: Some("custom".into()),
                secret: Secret::new(&format!("custom-secret-value-{i:04}")),
                ..Default::default()
            },
        })
        .collect()
}

fn opts(dry_run: bool) -> ImportOptions {
    ImportOptions {
        on_conflict: OnConflict::Skip,
        skip_invalid: false,
        dry_run,
        grace_days: 7,
    }
}

/// Checks that `calls` tell each of `stages`, in order, from 0 to `total` one by one.
fn assert_counts(calls: &[(Stage, usize, usize)], stages: &[Stage], total: usize) {
    let mut expected = Vec::new();
    for &s in stages {
        expected.extend((0..=total).map(|d| (s, d, total)));
    }
    assert_eq!(calls, expected.as_slice());
}

#[test]
fn import_tells_checking_then_sealing_with_the_item_count() {
    let tmp = TempDir::new().unwrap();
    let mut v = vault(&tmp, "v");
    let mut calls = Vec::new();
    let report = v
        .import_batch_with_progress(items(12), opts(false), &mut |s, d, t| calls.push((s, d, t)))
        .unwrap();
    assert!(report.written);
    assert_eq!(report.imported(), 12);
    assert_counts(&calls, &[Stage::Checking, Stage::Sealing], 12);
}

#[test]
fn a_dry_run_import_only_checks() {
    let tmp = TempDir::new().unwrap();
    let mut v = vault(&tmp, "v");
    let mut calls = Vec::new();
    let report = v
        .import_batch_with_progress(items(5), opts(true), &mut |s, d, t| calls.push((s, d, t)))
        .unwrap();
    assert!(!report.written);
    assert_counts(&calls, &[Stage::Checking], 5);
}

#[test]
fn restore_tells_sealing_with_the_bundle_entry_count() {
    let tmp = TempDir::new().unwrap();
    let mut from = vault(&tmp, "from");
    from.import_batch(items(9), opts(false)).unwrap();
    let pass = Passphrase::new("bundle pw".into()).unwrap();
    let path = tmp.path().join("b.kwb");
    from.backup(&path, &pass, TINY).unwrap();
    let bundle = Vault::read_bundle(&std::fs::read(&path).unwrap(), &pass).unwrap();
    assert_eq!(bundle.len(), 9);

    let mut to = vault(&tmp, "to");
    // Two names already here: they are skipped, and still counted as done.
    to.import_batch(items(2), opts(false)).unwrap();
    let mut calls = Vec::new();
    let report = to
        .restore_with_progress(bundle, false, &mut |s, d, t| calls.push((s, d, t)))
        .unwrap();
    assert_eq!(report.restored.len(), 7);
    assert_eq!(report.unchanged.len(), 2);
    assert_counts(&calls, &[Stage::Sealing], 9);
}
