//! The key lifecycle through the library, on a real vault on disk (sled): rotation
//! with a grace period, history, rollback, revocation, live-check records, every
//! health finding, the hash-chained audit log and its tamper detection, and rekey.
//!
//! The vault reads the process clock (`KEYWARD_NOW` is never set here: changing the
//! environment of a multi-threaded test process is unsafe). Time-dependent rules are
//! checked by passing `now` to `health::findings`, or with a zero-day grace; the
//! binary's tests (`cli_lifecycle.rs`) move the clock with `KEYWARD_NOW`.

use std::path::{Path, PathBuf};

use keyward::clock::{DAY, date_of};
use keyward::crypto::KdfParams;
use keyward::model::health::{self, Finding, Kind, Policy};
use keyward::model::{
    Action, AuditEvent, Entry, EntryPatch, NewEntry, Secret, Source, VersionInfo, VersionStatus,
};
use keyward::store::{Batch, Tree};
use keyward::vault::{AuditCheck, CheckResult};
use keyward::{Error, Passphrase, Vault};
use tempfile::TempDir;

const TINY: KdfParams = KdfParams {
    memory_kib: 64,
    iterations: 1,
    parallelism: 1,
};

const PW: &str = "lifecycle passphrase";

fn pass(text: &str) -> Passphrase {
    Passphrase::new(text.into()).unwrap()
}

/// A new vault in its own temporary directory.
fn vault() -> (TempDir, PathBuf, Vault) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("v");
    let v = Vault::create(&dir, &pass(PW), TINY).unwrap();
    (tmp, dir, v)
}

fn reopen(dir: &Path) -> Vault {
    Vault::open(dir, &pass(PW)).unwrap()
}

/// OpenAI-shaped key number `n`: distinct last four characters, so distinct masks.
fn key(n: u32) -> String {
    format!("sk-proj-LIFEcanary{n:02}Qw8Er7Ty6Ui5Op4As{n:04}")
}

fn new_entry(name: &str, secret: &str) -> NewEntry {
    NewEntry {
        name: name.into(),
        provider: Some("openai".into()),
        secret: Secret::new(secret),
        ..Default::default()
    }
}

fn add(v: &mut Vault, name: &str, secret: &str) -> Entry {
    v.add(new_entry(name, secret)).unwrap().entry
}

fn rotate(v: &mut Vault, name: &str, secret: &str, grace: u32) -> Entry {
    v.rotate(name, Secret::new(secret), grace, "", false)
        .unwrap_or_else(|e| panic!("rotating {name} failed: {e}"))
}

fn current(v: &mut Vault, name: &str) -> String {
    v.use_secret(name).unwrap().1.value.clone()
}

fn read_version(v: &mut Vault, name: &str, n: u32) -> keyward::Result<String> {
    v.get_version(name, n).map(|(_, s)| s.value.clone())
}

/// The message of an `Error::Invalid`, or a panic naming what came instead.
#[track_caller]
fn invalid<T: std::fmt::Debug>(r: keyward::Result<T>) -> String {
    match r {
        Err(Error::Invalid(m)) => m,
        other => panic!("expected Error::Invalid, got {other:?}"),
    }
}

/// Version numbers and statuses, as `history` lists them.
fn statuses(h: &[VersionInfo]) -> Vec<(u32, VersionStatus)> {
    h.iter().map(|v| (v.version, v.status)).collect()
}

#[track_caller]
fn assert_masked_only(h: &[VersionInfo], keys: &[String]) {
    for v in h {
        assert!(v.masked.contains('…'), "not masked: {v:?}");
        for k in keys {
            assert!(
                !v.masked.contains(k.as_str()),
                "a full key in history: {v:?}"
            );
        }
        assert!(
            !v.masked.contains("canary"),
            "too much of a key shown: {v:?}"
        );
    }
}

fn actions(events: &[AuditEvent]) -> Vec<&'static str> {
    events.iter().map(|e| e.action.as_str()).collect()
}

// ---------------------------------------------------------------------------
// Rotation
// ---------------------------------------------------------------------------

#[test]
fn rotation_keeps_the_old_key_readable_within_its_grace() {
    let (_t, dir, mut v) = vault();
    let before = add(&mut v, "k", &key(1));
    assert_eq!(before.meta.version, 1);
    assert!(before.meta.rotated_at.is_none());
    let rotated = v
        .rotate("k", Secret::new(&key(2)), 7, "scheduled", false)
        .unwrap();
    assert_eq!(rotated.meta.version, 2);
    let at = rotated.meta.rotated_at.expect("rotated_at is set");
    assert_eq!(rotated.meta.masked, "sk-p…0002");

    assert_eq!(current(&mut v, "k"), key(2));
    assert_eq!(read_version(&mut v, "k", 1).unwrap(), key(1));
    assert_eq!(
        read_version(&mut v, "k", 2).unwrap(),
        key(2),
        "the current one"
    );
    let no = invalid(v.get_version("k", 3));
    assert!(no.contains("has no version 3"), "{no}");

    let h = v.history("k").unwrap();
    assert_eq!(
        statuses(&h),
        [(2, VersionStatus::Current), (1, VersionStatus::Retired)]
    );
    assert_eq!(h[0].masked, "sk-p…0002");
    assert_eq!(h[0].grace_until, None);
    assert_eq!(h[1].masked, "sk-p…0001");
    assert_eq!(h[1].retired_at, Some(at));
    assert_eq!(h[1].grace_until, Some(at + 7 * DAY));
    assert_eq!(h[1].reason, "scheduled");
    assert_eq!(h[1].source, "cli");
    assert_masked_only(&h, &[key(1), key(2)]);

    // It is all on disk: a reopened vault tells the same.
    drop(v);
    let mut v = reopen(&dir);
    assert_eq!(v.history("k").unwrap(), h);
    assert_eq!(read_version(&mut v, "k", 1).unwrap(), key(1));
    assert_eq!(v.entry("k").unwrap().meta.rotated_at, Some(at));
}

#[test]
fn a_zero_day_grace_ends_at_once_but_the_version_can_be_rolled_back_to() {
    let (_t, _d, mut v) = vault();
    add(&mut v, "k", &key(1));
    rotate(&mut v, "k", &key(2), 0);
    let msg = invalid(v.get_version("k", 1));
    assert!(msg.contains("past its grace period"), "{msg}");
    assert!(msg.contains("keyward rollback k --to 1"), "{msg}");
    // Past its grace, a retired (not revoked) version can still become current.
    v.rollback("k", Some(1), 7).unwrap();
    assert_eq!(current(&mut v, "k"), key(1));
}

#[test]
fn rotation_refusals_change_nothing() {
    let (_t, _d, mut v) = vault();
    add(&mut v, "k", &key(1));
    rotate(&mut v, "k", &key(2), 7);
    rotate(&mut v, "k", &key(3), 7);
    v.revoke("k", 1).unwrap();
    let history = v.history("k").unwrap();
    let meta = v.entry("k").unwrap();
    let events = v.audit(None, None).unwrap();

    let same_as_current = invalid(v.rotate("k", Secret::new(&key(3)), 7, "", false));
    assert!(
        same_as_current.contains("is the current key of k"),
        "{same_as_current}"
    );
    // Pasted with whitespace around it, it is still the same key.
    let padded = format!("  {}\r\n", key(3));
    invalid(v.rotate("k", Secret::new(&padded), 7, "", false));
    let retired = invalid(v.rotate("k", Secret::new(&key(2)), 7, "", false));
    assert!(
        retired.contains("equals version 2 of k (retired)"),
        "{retired}"
    );
    let revoked = invalid(v.rotate("k", Secret::new(&key(1)), 7, "", false));
    assert!(
        revoked.contains("equals version 1 of k (revoked)"),
        "{revoked}"
    );
    // --force skips the format check, never the reuse check.
    invalid(v.rotate("k", Secret::new(&key(2)), 7, "", true));
    let format = v
        .rotate("k", Secret::new("not-an-openai-key-0099"), 7, "", false)
        .unwrap_err();
    assert!(matches!(format, Error::KeyFormat(_)), "{format:?}");
    let empty = v.rotate("k", Secret::new("  "), 7, "", true).unwrap_err();
    assert!(matches!(empty, Error::Invalid(_)), "{empty:?}");
    let missing = v
        .rotate("nope", Secret::new(&key(9)), 7, "", false)
        .unwrap_err();
    assert!(
        matches!(&missing, Error::EntryNotFound(n) if n == "nope"),
        "{missing:?}"
    );

    assert_eq!(v.history("k").unwrap(), history);
    assert_eq!(v.entry("k").unwrap(), meta);
    assert_eq!(v.audit(None, None).unwrap(), events, "a refusal was logged");
    assert!(matches!(
        v.verify_audit().unwrap(),
        AuditCheck::Intact { .. }
    ));

    // The wrong-format key goes in with force.
    let forced = v
        .rotate("k", Secret::new("not-an-openai-key-0099"), 7, "", true)
        .unwrap();
    assert_eq!(forced.meta.version, 4);
    assert_eq!(current(&mut v, "k"), "not-an-openai-key-0099");
}

#[test]
fn rotation_keeps_the_extra_fields_unless_new_ones_are_given() {
    let (_t, _d, mut v) = vault();
    let mut e = new_entry("k", &key(1));
    e.secret.fields = vec![("org".into(), "org-canary".into())];
    v.add(e).unwrap();
    rotate(&mut v, "k", &key(2), 7);
    let (_, s) = v.use_secret("k").unwrap();
    assert_eq!(s.field("org"), Some("org-canary"));
    let (_, old) = v.get_version("k", 1).unwrap();
    assert_eq!(old.field("org"), Some("org-canary"));
}

#[test]
fn rotation_clears_a_failed_check() {
    let (_t, _d, mut v) = vault();
    add(&mut v, "k", &key(1));
    v.record_check("k", &CheckResult::Rejected("rejected (401)".into()))
        .unwrap();
    let e = rotate(&mut v, "k", &key(2), 7);
    assert_eq!(e.meta.last_error, None);
    assert_eq!(e.meta.error_count, 0);
}

// ---------------------------------------------------------------------------
// Rollback and revocation
// ---------------------------------------------------------------------------

#[test]
fn rollback_goes_to_the_newest_retired_version_or_the_one_named() {
    let (_t, dir, mut v) = vault();
    add(&mut v, "k", &key(1));
    rotate(&mut v, "k", &key(2), 7);
    rotate(&mut v, "k", &key(3), 7);

    let e = v.rollback("k", None, 7).unwrap();
    assert_eq!(e.meta.version, 2);
    assert_eq!(e.meta.masked, "sk-p…0002");
    assert_eq!(current(&mut v, "k"), key(2));
    // The key it replaced is retired, with its grace, and readable.
    let h = v.history("k").unwrap();
    assert_eq!(
        statuses(&h),
        [
            (2, VersionStatus::Current),
            (3, VersionStatus::Retired),
            (1, VersionStatus::Retired)
        ]
    );
    assert_eq!(h[1].reason, "rolled back to version 2");
    assert!(h[1].grace_until.is_some());
    assert_eq!(read_version(&mut v, "k", 3).unwrap(), key(3));

    let e = v.rollback("k", Some(1), 7).unwrap();
    assert_eq!(e.meta.version, 1);
    assert_eq!(current(&mut v, "k"), key(1));
    assert_eq!(read_version(&mut v, "k", 2).unwrap(), key(2));
    assert_eq!(read_version(&mut v, "k", 3).unwrap(), key(3));

    let already = invalid(v.rollback("k", Some(1), 7));
    assert!(already.contains("already current"), "{already}");
    let unknown = invalid(v.rollback("k", Some(9), 7));
    assert!(unknown.contains("no kept version 9"), "{unknown}");

    // Nothing was erased: every version is listed, and each rollback is an event.
    let h = v.history("k").unwrap();
    let mut numbers: Vec<u32> = h.iter().map(|v| v.version).collect();
    numbers.sort();
    assert_eq!(numbers, [1, 2, 3]);
    let rollbacks: Vec<_> = v
        .audit(Some("k"), None)
        .unwrap()
        .into_iter()
        .filter(|e| e.action == Action::Rollback)
        .map(|e| e.detail)
        .collect();
    assert_eq!(rollbacks, ["version 3 -> 2", "version 2 -> 1"]);

    // A later rotation takes a new number, and may not reuse a kept key.
    invalid(v.rotate("k", Secret::new(&key(3)), 7, "", false));
    assert_eq!(rotate(&mut v, "k", &key(4), 7).meta.version, 4);

    drop(v);
    let mut v = reopen(&dir);
    assert_eq!(current(&mut v, "k"), key(4));
    assert!(matches!(
        v.verify_audit().unwrap(),
        AuditCheck::Intact { .. }
    ));
}

#[test]
fn a_revoked_version_can_never_be_read_again() {
    let (_t, dir, mut v) = vault();
    // A long first key, so its absence from the revoked record is plain to see.
    let long = format!("sk-proj-LIFEcanary{}0001", "L".repeat(300));
    let e = add(&mut v, "k", &long);
    rotate(&mut v, "k", &key(2), 7);
    rotate(&mut v, "k", &key(3), 7);
    let record_key = |n: u32| {
        let mut k = e.id.0.to_vec();
        k.extend_from_slice(&n.to_be_bytes());
        k
    };
    let sealed_len = |v: &Vault, n: u32| {
        v.store_for_tests()
            .get(Tree::Versions, &record_key(n))
            .unwrap()
            .unwrap_or_else(|| panic!("no record of version {n}"))
            .len()
    };
    let kept = sealed_len(&v, 1);

    let current_one = invalid(v.revoke("k", 3));
    assert!(
        current_one.contains("rotate to a new key first, then revoke it"),
        "{current_one}"
    );
    let unknown = invalid(v.revoke("k", 7));
    assert!(unknown.contains("no kept version 7"), "{unknown}");

    let info = v.revoke("k", 1).unwrap();
    assert_eq!(info.version, 1);
    assert_eq!(info.status, VersionStatus::Revoked);
    assert!(info.revoked_at.is_some());
    assert_eq!(info.masked, "sk-p…0001", "still identifiable, masked");
    // Revoking again is harmless.
    assert_eq!(v.revoke("k", 1).unwrap(), info);

    let msg = invalid(v.get_version("k", 1));
    assert!(
        msg.contains("is revoked; it can never be read again"),
        "{msg}"
    );
    let msg = invalid(v.rollback("k", Some(1), 7));
    assert!(msg.contains("is revoked"), "{msg}");
    // The record no longer holds the secret: it shrank by the key's length, less the
    // few bytes of the revocation time it gained.
    let now_len = sealed_len(&v, 1);
    assert!(
        now_len + long.len() <= kept + 16,
        "the revoked version's record did not lose its secret ({kept} -> {now_len} bytes)"
    );

    // The default rollback skips it; with every earlier version revoked there is none.
    v.revoke("k", 2).unwrap();
    let none = invalid(v.rollback("k", None, 7));
    assert!(none.contains("no earlier version"), "{none}");
    // Listed still, as revoked.
    assert_eq!(
        statuses(&v.history("k").unwrap()),
        [
            (3, VersionStatus::Current),
            (2, VersionStatus::Revoked),
            (1, VersionStatus::Revoked)
        ]
    );

    // Closing, reopening and rekeying bring nothing back.
    drop(v);
    let mut v = reopen(&dir);
    v.rekey().unwrap();
    invalid(v.get_version("k", 1));
    invalid(v.rollback("k", Some(2), 7));
    assert!(sealed_len(&v, 1) + long.len() <= kept + 16);
    let revokes: Vec<_> = v
        .audit(Some("k"), None)
        .unwrap()
        .into_iter()
        .filter(|e| e.action == Action::Revoke)
        .map(|e| e.detail)
        .collect();
    assert_eq!(
        revokes,
        ["version 1", "version 2"],
        "a repeat is not logged"
    );
}

#[test]
fn a_deleted_entry_takes_its_versions_with_it() {
    let (_t, _d, mut v) = vault();
    let e = add(&mut v, "k", &key(1));
    rotate(&mut v, "k", &key(2), 7);
    rotate(&mut v, "k", &key(3), 7);
    v.remove("k").unwrap();
    let mut left = 0;
    v.store_for_tests()
        .for_each(Tree::Versions, |k, _| {
            if k.starts_with(&e.id.0) {
                left += 1;
            }
            Ok(())
        })
        .unwrap();
    assert_eq!(left, 0, "versions of a deleted entry are still stored");
    // A new entry of that name starts afresh, and may use any key.
    add(&mut v, "k", &key(1));
    assert_eq!(
        statuses(&v.history("k").unwrap()),
        [(1, VersionStatus::Current)]
    );
}

#[test]
fn only_the_configured_number_of_versions_is_kept() {
    let (_t, _d, mut v) = vault();
    v.set_versions_kept(3);
    add(&mut v, "k", &key(1));
    for n in 2..=7 {
        rotate(&mut v, "k", &key(n), 7);
    }
    let h = v.history("k").unwrap();
    assert_eq!(
        h.iter().map(|v| v.version).collect::<Vec<_>>(),
        [7, 6, 5, 4],
        "current plus the last 3"
    );
    let gone = invalid(v.get_version("k", 3));
    assert!(gone.contains("has no version 3"), "{gone}");
    assert_eq!(read_version(&mut v, "k", 4).unwrap(), key(4));

    // The default keeps 10.
    let (_t2, _d2, mut w) = vault();
    add(&mut w, "k", &key(1));
    for n in 2..=13 {
        rotate(&mut w, "k", &key(n), 7);
    }
    let h = w.history("k").unwrap();
    assert_eq!(h.len(), 11);
    assert_eq!(h.last().unwrap().version, 3);
}

#[test]
fn versions_record_where_they_came_from() {
    let (_t, _d, mut v) = vault();
    add(&mut v, "k", &key(1));
    v.set_source(Source::Tui);
    rotate(&mut v, "k", &key(2), 7);
    let h = v.history("k").unwrap();
    assert_eq!(h[0].source, "tui");
    assert_eq!(h[1].source, "cli");
    let last = v.audit(None, None).unwrap().pop().unwrap();
    assert_eq!(last.action, Action::Rotate);
    assert_eq!(last.source, Source::Tui);
}

// ---------------------------------------------------------------------------
// Live-check records
// ---------------------------------------------------------------------------

#[test]
fn check_results_are_recorded_against_the_key_only_when_rejected() {
    let (_t, _d, mut v) = vault();
    add(&mut v, "k", &key(1));
    let e = v
        .record_check(
            "k",
            &CheckResult::Rejected("rejected (401): bad key".into()),
        )
        .unwrap();
    assert_eq!(
        e.meta.last_error.as_deref(),
        Some("rejected (401): bad key")
    );
    assert_eq!(e.meta.error_count, 1);
    assert!(e.meta.last_checked_at.is_some());
    let e = v
        .record_check("k", &CheckResult::Rejected("rejected (403)".into()))
        .unwrap();
    assert_eq!(e.meta.error_count, 2);
    let e = v
        .record_check("k", &CheckResult::Inconclusive("unreachable".into()))
        .unwrap();
    assert_eq!(
        e.meta.error_count, 2,
        "an unreachable provider says nothing"
    );
    assert_eq!(e.meta.last_error.as_deref(), Some("rejected (403)"));
    let e = v
        .record_check("k", &CheckResult::Valid("HTTP 200 OK".into()))
        .unwrap();
    assert_eq!(e.meta.error_count, 0);
    assert_eq!(e.meta.last_error, None);
    let details: Vec<_> = v
        .audit(Some("k"), None)
        .unwrap()
        .into_iter()
        .filter(|e| e.action == Action::Test)
        .map(|e| e.detail)
        .collect();
    assert_eq!(
        details,
        [
            // Each names its outcome once: summaries that start with it are kept as
            // they are, others get it in front.
            "rejected (401): bad key",
            "rejected (403)",
            "unreachable",
            "valid: HTTP 200 OK"
        ]
    );
    let missing = v
        .record_check("nope", &CheckResult::Valid(String::new()))
        .unwrap_err();
    assert!(matches!(missing, Error::EntryNotFound(_)));
}

// ---------------------------------------------------------------------------
// Health: every finding, with the clock passed in
// ---------------------------------------------------------------------------

fn findings_at(v: &Vault, policy: &Policy, now: i64) -> Vec<Finding> {
    health::findings(&v.list().unwrap(), policy, now)
}

fn kinds(f: &[Finding]) -> Vec<(&str, Kind)> {
    f.iter().map(|f| (f.entry.as_str(), f.kind)).collect()
}

fn within(days: i64) -> Policy {
    Policy {
        within_days: days,
        ..Policy::default()
    }
}

#[test]
fn a_fresh_vault_is_healthy() {
    let (_t, _d, mut v) = vault();
    let e = add(&mut v, "a", &key(1));
    add(&mut v, "b", &key(2));
    assert_eq!(findings_at(&v, &Policy::default(), e.meta.created_at), []);
}

#[test]
fn health_finds_an_expired_key() {
    let (_t, _d, mut v) = vault();
    let mut n = new_entry("old", &key(1));
    n.expires_at = Some("2020-01-01".into());
    let t0 = v.add(n).unwrap().entry.meta.created_at;
    let f = findings_at(&v, &Policy::default(), t0);
    assert_eq!(kinds(&f), [("old", Kind::Expired)]);
    assert_eq!(f[0].detail, "expired on 2020-01-01");
    // A disabled entry is not reported.
    v.set_active("old", false).unwrap();
    assert_eq!(findings_at(&v, &Policy::default(), t0), []);
}

#[test]
fn health_finds_a_key_expiring_within_the_window() {
    let (_t, _d, mut v) = vault();
    let t0 = keyward::clock::now();
    let soon = date_of(t0 + 10 * DAY);
    let later = date_of(t0 + 20 * DAY);
    let mut a = new_entry("soon", &key(1));
    a.expires_at = Some(soon.clone());
    let mut b = new_entry("later", &key(2));
    b.expires_at = Some(later.clone());
    v.add_many(vec![a, b]).unwrap();

    let f = findings_at(&v, &Policy::default(), t0);
    assert_eq!(kinds(&f), [("soon", Kind::Expiring)], "default: 14 days");
    assert!(
        f[0].detail.starts_with(&format!("expires on {soon} (in ")),
        "{}",
        f[0].detail
    );
    assert_eq!(findings_at(&v, &within(5), t0), [], "a 5-day window");
    assert_eq!(
        kinds(&findings_at(&v, &within(30), t0)),
        [("later", Kind::Expiring), ("soon", Kind::Expiring)]
    );
    // Once the day has passed it is expired, not expiring.
    let f = findings_at(&v, &Policy::default(), t0 + 11 * DAY);
    assert_eq!(
        kinds(&f),
        [("later", Kind::Expiring), ("soon", Kind::Expired)]
    );
}

#[test]
fn health_finds_an_overdue_rotation_and_a_rotation_resets_it() {
    let (_t, _d, mut v) = vault();
    let mut n = new_entry("monthly", &key(1));
    n.rotate_every_days = Some(30);
    let t0 = v.add(n).unwrap().entry.meta.created_at;
    assert_eq!(findings_at(&v, &Policy::default(), t0 + 29 * DAY), []);
    let f = findings_at(&v, &Policy::default(), t0 + 31 * DAY);
    assert_eq!(kinds(&f), [("monthly", Kind::RotationOverdue)]);
    assert_eq!(
        f[0].detail,
        "last rotated 31 days ago (policy: every 30 days)"
    );

    let t1 = rotate(&mut v, "monthly", &key(2), 7)
        .meta
        .rotated_at
        .unwrap();
    assert_eq!(findings_at(&v, &Policy::default(), t1 + 29 * DAY), []);
    assert_eq!(
        kinds(&findings_at(&v, &Policy::default(), t1 + 31 * DAY)),
        [("monthly", Kind::RotationOverdue)]
    );
    // Without its own policy, an entry follows the configured one; 0 turns it off.
    let policy = Policy {
        rotate_every_days: 10,
        unused_days: 10_000,
        ..Policy::default()
    };
    let t2 = add(&mut v, "default", &key(3)).meta.created_at;
    let f = findings_at(&v, &policy, t2 + 11 * DAY);
    assert!(
        kinds(&f).contains(&("default", Kind::RotationOverdue)),
        "{f:?}"
    );
    v.update(
        "default",
        EntryPatch {
            rotate_every_days: Some(Some(0)),
            ..Default::default()
        },
    )
    .unwrap();
    let f = findings_at(&v, &policy, t2 + 11 * DAY);
    assert!(
        !kinds(&f).contains(&("default", Kind::RotationOverdue)),
        "{f:?}"
    );
}

#[test]
fn health_finds_an_unused_key() {
    let (_t, _d, mut v) = vault();
    let mut n = new_entry("idle", &key(1));
    n.rotate_every_days = Some(365);
    let mut m = new_entry("busy", &key(2));
    m.rotate_every_days = Some(365);
    v.add_many(vec![n, m]).unwrap();
    let t0 = v.entry("idle").unwrap().meta.created_at;
    let used = v.use_secret("busy").unwrap().0.meta.last_used_at.unwrap();

    assert_eq!(findings_at(&v, &Policy::default(), t0 + 89 * DAY), []);
    let f = findings_at(&v, &Policy::default(), used + 91 * DAY);
    assert_eq!(kinds(&f), [("busy", Kind::Unused), ("idle", Kind::Unused)]);
    assert_eq!(f[0].detail, "last used 91 days ago");
    assert_eq!(f[1].detail, "never used; added 91 days ago");
    // A later use is what counts.
    let mut entries = v.list().unwrap();
    for e in entries.iter_mut().filter(|e| e.meta.name == "busy") {
        e.meta.last_used_at = Some(t0 + 80 * DAY);
    }
    let f = health::findings(&entries, &Policy::default(), t0 + 91 * DAY);
    assert_eq!(kinds(&f), [("idle", Kind::Unused)]);
}

#[test]
fn health_finds_a_failed_check_until_a_check_passes() {
    let (_t, _d, mut v) = vault();
    let t0 = add(&mut v, "k", &key(1)).meta.created_at;
    v.record_check("k", &CheckResult::Inconclusive("unreachable".into()))
        .unwrap();
    assert_eq!(findings_at(&v, &Policy::default(), t0), []);
    v.record_check("k", &CheckResult::Rejected("rejected (401): nope".into()))
        .unwrap();
    let f = findings_at(&v, &Policy::default(), t0);
    assert_eq!(kinds(&f), [("k", Kind::CheckFailed)]);
    assert_eq!(f[0].detail, "last check: rejected (401): nope");
    v.record_check("k", &CheckResult::Valid("ok".into()))
        .unwrap();
    assert_eq!(findings_at(&v, &Policy::default(), t0), []);
}

#[test]
fn health_finds_the_same_secret_under_two_names() {
    let (_t, dir, mut v) = vault();
    let t0 = add(&mut v, "a", &key(1)).meta.created_at;
    add(&mut v, "b", &key(1));
    add(&mut v, "c", &key(2));
    let f = findings_at(&v, &Policy::default(), t0);
    assert_eq!(
        kinds(&f),
        [("a", Kind::DuplicateSecret), ("b", Kind::DuplicateSecret)]
    );
    assert_eq!(f[0].detail, "same secret as b");
    assert_eq!(f[1].detail, "same secret as a");
    // Still found after a rekey (fingerprints do not depend on the data key), and a
    // key added after it is recognised too.
    v.rekey().unwrap();
    drop(v);
    let mut v = reopen(&dir);
    add(&mut v, "d", &key(2));
    let f = findings_at(&v, &Policy::default(), t0);
    assert_eq!(
        kinds(&f),
        [
            ("a", Kind::DuplicateSecret),
            ("b", Kind::DuplicateSecret),
            ("c", Kind::DuplicateSecret),
            ("d", Kind::DuplicateSecret)
        ]
    );
    // Rotating one of them away ends it.
    rotate(&mut v, "d", &key(3), 7);
    let f = findings_at(&v, &Policy::default(), t0);
    assert!(!f.iter().any(|f| f.entry == "c" || f.entry == "d"), "{f:?}");
}

#[test]
fn health_finds_several_primaries_which_the_vault_itself_never_leaves() {
    let (_t, _d, mut v) = vault();
    let mut a = new_entry("a", &key(1));
    a.primary = true;
    let t0 = v.add(a).unwrap().entry.meta.created_at;
    let mut b = new_entry("b", &key(2));
    b.primary = true;
    assert_eq!(v.add(b).unwrap().demoted, ["a"]);
    let mut c = new_entry("c", &key(3));
    c.primary = true;
    c.environment = Some("dev".into());
    v.add(c).unwrap();
    assert_eq!(findings_at(&v, &Policy::default(), t0), []);

    // Two primaries for openai/prod can only come from outside the vault's rules
    // (an old vault, an import elsewhere): the rule still finds them.
    let mut entries = v.list().unwrap();
    for e in &mut entries {
        e.meta.primary = true;
    }
    let f = health::findings(&entries, &Policy::default(), t0);
    assert_eq!(
        kinds(&f),
        [("a", Kind::MultiplePrimary), ("b", Kind::MultiplePrimary)],
        "c is the only primary of dev"
    );
    assert_eq!(f[0].detail, "one of 2 primaries for openai/prod: a, b");
    // A disabled one does not count.
    entries[0].meta.active = false;
    assert_eq!(health::findings(&entries, &Policy::default(), t0), []);
}

// ---------------------------------------------------------------------------
// The audit log
// ---------------------------------------------------------------------------

#[test]
fn every_use_and_change_is_an_audit_event() {
    let (_t, dir, mut v) = vault();
    add(&mut v, "k", &key(1));
    v.use_secret("k").unwrap();
    v.reveal("k").unwrap();
    v.record_use("k", Action::Copy, "").unwrap();
    v.update(
        "k",
        EntryPatch {
            notes: Some("n".into()),
            ..Default::default()
        },
    )
    .unwrap();
    v.set_active("k", false).unwrap();
    v.set_active("k", true).unwrap();
    rotate(&mut v, "k", &key(2), 7);
    v.get_version("k", 1).unwrap();
    v.rollback("k", None, 7).unwrap();
    v.revoke("k", 2).unwrap();
    v.record_check("k", &CheckResult::Valid("ok".into()))
        .unwrap();
    add(&mut v, "gone", &key(3));
    v.remove("gone").unwrap();
    v.change_passphrase(&pass("another passphrase")).unwrap();
    v.rekey().unwrap();

    let events = v.audit(None, None).unwrap();
    assert_eq!(
        actions(&events),
        [
            "add", "get", "reveal", "copy", "edit", "disable", "enable", "rotate", "get",
            "rollback", "revoke", "test", "add", "delete", "passwd", "rekey"
        ]
    );
    let seqs: Vec<u64> = events.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=16).collect::<Vec<_>>());
    let names: Vec<Option<&str>> = events.iter().map(|e| e.entry.as_deref()).collect();
    assert_eq!(names[..12], [Some("k"); 12]);
    assert_eq!(names[12..], [Some("gone"), Some("gone"), None, None]);
    assert!(events.iter().all(|e| e.source == Source::Cli));
    assert_eq!(events[7].detail, "version 1 -> 2");
    assert_eq!(events[8].detail, "version 1");
    assert_eq!(events[9].detail, "version 2 -> 1");
    assert_eq!(events[10].detail, "version 2");
    for e in &events {
        assert!(!e.detail.contains("canary"), "a secret in an event: {e:?}");
    }
    assert_eq!(v.verify_audit().unwrap(), AuditCheck::Intact { events: 16 });

    // Filters: by entry (by id, so a rename is followed; by name once deleted) and date.
    v.update(
        "k",
        EntryPatch {
            name: Some("renamed".into()),
            ..Default::default()
        },
    )
    .unwrap();
    let about = v.audit(Some("renamed"), None).unwrap();
    assert_eq!(about.len(), 13, "the 12 events as k, and the rename");
    assert_eq!(
        actions(&v.audit(Some("gone"), None).unwrap()),
        ["add", "delete"]
    );
    assert_eq!(v.audit(Some("nope"), None).unwrap(), []);
    let first = events[0].at;
    assert_eq!(v.audit(None, Some(first - DAY)).unwrap().len(), 17);
    assert_eq!(v.audit(None, Some(first + 2 * DAY)).unwrap(), []);

    // Closed and reopened (with the new passphrase), the chain goes on from its head.
    drop(v);
    let mut v = Vault::open(&dir, &pass("another passphrase")).unwrap();
    assert_eq!(v.verify_audit().unwrap(), AuditCheck::Intact { events: 17 });
    v.use_secret("renamed").unwrap();
    assert_eq!(v.audit(None, None).unwrap().last().unwrap().seq, 18);
    assert_eq!(v.verify_audit().unwrap(), AuditCheck::Intact { events: 18 });
}

/// A closed vault with six events: add a, add b, get a, rotate a, get a v1, test b.
fn logged_vault() -> (TempDir, PathBuf) {
    let (t, dir, mut v) = vault();
    add(&mut v, "a", &key(1));
    add(&mut v, "b", &key(2));
    v.use_secret("a").unwrap();
    rotate(&mut v, "a", &key(3), 7);
    v.get_version("a", 1).unwrap();
    v.record_check("b", &CheckResult::Rejected("rejected (401)".into()))
        .unwrap();
    assert_eq!(v.verify_audit().unwrap(), AuditCheck::Intact { events: 6 });
    (t, dir)
}

/// Opens the vault, lets `edit` change the raw audit log (given its records in key
/// order) and the state tree, closes it, and verifies the chain in a fresh open.
fn tamper(dir: &Path, edit: impl FnOnce(&[(Vec<u8>, Vec<u8>)], &mut Batch)) -> AuditCheck {
    let v = reopen(dir);
    let mut records = Vec::new();
    v.store_for_tests()
        .for_each(Tree::Audit, |k, val| {
            records.push((k.to_vec(), val.to_vec()));
            Ok(())
        })
        .unwrap();
    assert_eq!(records.len(), 6);
    assert_eq!(records[2].0, 3u64.to_be_bytes());
    let mut batch = Batch::default();
    edit(&records, &mut batch);
    v.store_for_tests().apply(&batch).unwrap();
    drop(v);
    reopen(dir).verify_audit().unwrap()
}

#[track_caller]
fn assert_broken(check: AuditCheck, at: u64, needle: &str) {
    match check {
        AuditCheck::Broken { at: a, reason } => {
            assert_eq!(a, at, "breaks at the wrong event: {reason}");
            assert!(reason.contains(needle), "{reason}");
            assert!(!reason.contains('\n'), "{reason}");
        }
        other => panic!("tampering not detected: {other:?}"),
    }
}

#[test]
fn an_altered_event_is_detected() {
    for position in ["first", "middle", "last"] {
        let (_t, dir) = logged_vault();
        let check = tamper(&dir, |r, b| {
            let mut value = r[2].1.clone();
            let i = match position {
                "first" => 0,
                "middle" => value.len() / 2,
                _ => value.len() - 1,
            };
            value[i] ^= 0x01;
            b.put(Tree::Audit, r[2].0.clone(), value);
        });
        assert_broken(check, 3, "altered");
    }
}

#[test]
fn a_removed_event_is_detected() {
    let (_t, dir) = logged_vault();
    let check = tamper(&dir, |r, b| b.remove(Tree::Audit, r[2].0.clone()));
    assert_broken(check, 3, "event 3 is missing");
    let (_t, dir) = logged_vault();
    let check = tamper(&dir, |r, b| b.remove(Tree::Audit, r[0].0.clone()));
    assert_broken(check, 1, "event 1 is missing");
}

#[test]
fn swapped_events_are_detected() {
    let (_t, dir) = logged_vault();
    let check = tamper(&dir, |r, b| {
        b.put(Tree::Audit, r[2].0.clone(), r[3].1.clone());
        b.put(Tree::Audit, r[3].0.clone(), r[2].1.clone());
    });
    assert_broken(check, 3, "3");
    // A copy of another event in its place is caught as well.
    let (_t, dir) = logged_vault();
    let check = tamper(&dir, |r, b| {
        b.put(Tree::Audit, r[4].0.clone(), r[3].1.clone())
    });
    assert_broken(check, 5, "5");
}

#[test]
fn events_cut_off_the_end_are_detected() {
    let (_t, dir) = logged_vault();
    let check = tamper(&dir, |r, b| b.remove(Tree::Audit, r[5].0.clone()));
    assert_broken(check, 6, "head says 6");
    let (_t, dir) = logged_vault();
    let check = tamper(&dir, |r, b| {
        for (k, _) in r {
            b.remove(Tree::Audit, k.clone());
        }
    });
    assert_broken(check, 1, "head says 6");
}

#[test]
fn a_missing_head_is_detected() {
    let (_t, dir) = logged_vault();
    let check = tamper(&dir, |_, b| b.remove(Tree::State, b"audit_head".to_vec()));
    assert_broken(check, 6, "head");
}

/// An altered head should be reported by `verify_audit` (it has a branch for it:
/// "the log's head was altered"), with the keys still readable, like every other
/// tampering with the log. Instead `Vault::open` reads the head and fails on it, so
/// the vault cannot be opened at all: every command exits 7.
#[test]
fn an_altered_head_is_reported_and_leaves_the_keys_readable() {
    let (_t, dir) = logged_vault();
    let v = reopen(&dir);
    let mut head = v
        .store_for_tests()
        .get(Tree::State, b"audit_head")
        .unwrap()
        .expect("a log with events has a head");
    let last = head.len() - 1;
    head[last] ^= 0x80;
    let mut batch = Batch::default();
    batch.put(Tree::State, b"audit_head".to_vec(), head);
    v.store_for_tests().apply(&batch).unwrap();
    drop(v);
    let mut v = Vault::open(&dir, &pass(PW)).expect("the vault opens despite a bad audit head");
    assert_broken(v.verify_audit().unwrap(), 6, "head");
    assert_eq!(current(&mut v, "b"), key(2));
}

// ---------------------------------------------------------------------------
// Rekey and passphrase change keep the lifecycle
// ---------------------------------------------------------------------------

#[test]
fn rekey_keeps_versions_history_and_a_verifiable_audit_chain() {
    let (_t, dir, mut v) = vault();
    add(&mut v, "k", &key(1));
    rotate(&mut v, "k", &key(2), 7);
    rotate(&mut v, "k", &key(3), 7);
    v.revoke("k", 1).unwrap();
    v.record_check("k", &CheckResult::Rejected("rejected (401)".into()))
        .unwrap();
    let history = v.history("k").unwrap();
    let events = v.audit(None, None).unwrap();
    let n = events.len() as u64;
    let epoch_before = std::fs::read(dir.join("header")).unwrap();

    assert_eq!(v.rekey().unwrap(), 1);
    assert_ne!(std::fs::read(dir.join("header")).unwrap(), epoch_before);
    assert_eq!(
        v.verify_audit().unwrap(),
        AuditCheck::Intact { events: n + 1 }
    );
    drop(v);
    let mut v = reopen(&dir);
    assert_eq!(v.history("k").unwrap(), history);
    assert_eq!(v.audit(None, None).unwrap()[..events.len()], events[..]);
    assert_eq!(
        v.verify_audit().unwrap(),
        AuditCheck::Intact { events: n + 1 }
    );
    assert_eq!(read_version(&mut v, "k", 2).unwrap(), key(2));
    assert_eq!(current(&mut v, "k"), key(3));
    invalid(v.get_version("k", 1));
    // Kept keys are still recognised (fingerprints survive the new data key).
    let reused = invalid(v.rotate("k", Secret::new(&key(2)), 7, "", false));
    assert!(reused.contains("equals version 2"), "{reused}");
    invalid(v.rotate("k", Secret::new(&key(1)), 7, "", false));
    assert_eq!(v.entry("k").unwrap().meta.error_count, 1);
    // Rollback works on re-sealed versions.
    v.rollback("k", Some(2), 7).unwrap();
    assert_eq!(current(&mut v, "k"), key(2));
    assert!(matches!(
        v.verify_audit().unwrap(),
        AuditCheck::Intact { .. }
    ));
}

/// Expiring at the start of 2025-06-25, seen at the start of 2025-06-15: ten days
/// away, and said to be eleven (the "+ 1" rounds up a whole number of days too).
#[test]
fn an_expiring_key_is_said_to_expire_in_the_right_number_of_days() {
    let (_t, _d, mut v) = vault();
    let mut n = new_entry("k", &key(1));
    n.expires_at = Some("2025-06-25".into());
    v.add(n).unwrap();
    let midnight = keyward::clock::parse_date("2025-06-15").unwrap();
    let noon = midnight + DAY / 2;
    let at = |t| findings_at(&v, &Policy::default(), t)[0].detail.clone();
    assert_eq!(at(noon), "expires on 2025-06-25 (in 10 days)");
    assert_eq!(at(midnight), "expires on 2025-06-25 (in 10 days)");
}
