//! The key lifecycle through the real `keyward` binary: rotate, history, rollback,
//! revoke, `get --version` and its grace period, health findings (exit 8), live checks
//! against a local HTTP server (exit 0 / 9 / 11), the audit log and `audit --verify`
//! (exit 10 on a tampered chain), and rekey.
//!
//! The clock is set per command with `KEYWARD_NOW` (Unix seconds), so grace periods,
//! expiry and rotation policies are provoked without waiting. Every vault uses the
//! tiny KDF; the user's own `KEYWARD_*` variables and config file never reach the
//! child. Servers listen on 127.0.0.1 only.

mod support {
    pub mod cli;
}

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::Command;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use keyward::store::{Batch, Tree};
use keyward::{Passphrase, Vault};
use serde_json::{Value, json};
use support::cli::{Out, PW};

const NEW_PW: &str = "another lifecycle passphrase";

/// 2025-06-15 12:00 UTC: the clock of most tests.
const T0: i64 = 1_749_988_800;
const HOUR: i64 = 3_600;
const DAY: i64 = 86_400;

/// OpenAI-shaped key number `n` (masked `sk-p…000n`).
fn key(n: u32) -> String {
    format!("sk-proj-CLIcanary{n:02}Zx7Cv6Bn5Mm4Ll3Kk{n:04}")
}

// ---------------------------------------------------------------------------
// Running the binary (tests/support/cli.rs)
// ---------------------------------------------------------------------------

impl Out {
    /// Exit `code` with a report on stdout and nothing on stderr (`health`).
    #[track_caller]
    fn reports(self, code: i32) -> Self {
        assert_eq!(self.code, code, "expected exit code {code}\n{self}");
        assert!(self.stderr.is_empty(), "expected an empty stderr\n{self}");
        self
    }
}

/// No key, whole, anywhere in a command's output (history, audit, errors…).
#[track_caller]
fn assert_no_key(out: &Out, keys: &[String]) {
    for k in keys {
        assert!(
            !out.stdout.contains(k.as_str()) && !out.stderr.contains(k.as_str()),
            "a key was printed\n{out}"
        );
    }
    for bad in ["canary", "panicked", "internal error"] {
        assert!(
            !out.stdout.contains(bad) && !out.stderr.contains(bad),
            "'{bad}' in the output\n{out}"
        );
    }
}

struct Kw {
    cmd: Command,
    input: Option<String>,
}

impl Kw {
    fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        self.cmd.args(args);
        self
    }

    fn env(mut self, k: &str, v: impl AsRef<std::ffi::OsStr>) -> Self {
        self.cmd.env(k, v);
        self
    }

    /// Sets the clock of this command.
    fn at(self, t: i64) -> Self {
        self.env("KEYWARD_NOW", t.to_string())
    }

    fn stdin(mut self, text: &str) -> Self {
        self.input = Some(text.to_string());
        self
    }

    fn run(self) -> Out {
        support::cli::run(self.cmd, self.input.as_deref())
    }
}

/// A [`support::cli::TestVault`]: its own temporary directory and config file
/// (empty unless written).
struct TestVault(support::cli::TestVault);

impl TestVault {
    fn new() -> Self {
        Self(support::cli::TestVault::new())
    }

    /// With this config file.
    fn with_config(text: &str) -> Self {
        let v = Self::new();
        std::fs::write(&v.0.config, text).unwrap();
        v
    }

    /// `keyward --vault DIR ARGS`, passphrase [`PW`], clock not set.
    fn kw<I, S>(&self, args: I) -> Kw
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        self.kw_with(PW, args)
    }

    fn kw_with<I, S>(&self, pw: &str, args: I) -> Kw
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let mut cmd = self.0.command(&[]);
        cmd.env("KEYWARD_PASSPHRASE", pw)
            .env("RUST_BACKTRACE", "1")
            .arg("--vault")
            .arg(self.0.dir());
        Kw { cmd, input: None }.args(args)
    }

    /// `add NAME --provider openai EXTRA…` at `t`, the key on stdin.
    #[track_caller]
    fn add(&self, name: &str, secret: &str, extra: &[&str], t: i64) {
        let out = self
            .kw(["add", name, "--provider", "openai"])
            .args(extra)
            .stdin(&format!("{secret}\n"))
            .at(t)
            .run();
        assert_eq!(out.code, 0, "add failed\n{out}");
    }

    /// `rotate NAME EXTRA…` at `t`, the new key on stdin (not yet run).
    fn rotate(&self, name: &str, secret: &str, extra: &[&str], t: i64) -> Kw {
        self.kw(["rotate", name])
            .args(extra)
            .stdin(&format!("{secret}\n"))
            .at(t)
    }

    #[track_caller]
    fn get(&self, name: &str, t: i64) -> String {
        self.kw(["get", name]).at(t).run().ok_quiet().stdout
    }

    #[track_caller]
    fn get_version(&self, name: &str, n: u32, t: i64) -> Out {
        self.kw(["get", name, "--version", &n.to_string()])
            .at(t)
            .run()
    }

    #[track_caller]
    fn history(&self, name: &str, t: i64) -> Vec<Value> {
        let out = self.kw(["history", name, "--json"]).at(t).run().ok_quiet();
        match out.json() {
            Value::Array(a) => a,
            other => panic!("history --json is not an array: {other}"),
        }
    }

    #[track_caller]
    fn show(&self, name: &str) -> Value {
        self.kw(["show", name, "--json"]).run().ok_quiet().json()
    }

    #[track_caller]
    fn audit_json(&self, args: &[&str]) -> Vec<Value> {
        let out = self.kw(["audit", "--json"]).args(args).run().ok_quiet();
        match out.json() {
            Value::Array(a) => a,
            other => panic!("audit --json is not an array: {other}"),
        }
    }

    fn verify(&self) -> Out {
        self.kw(["audit", "--verify"]).run()
    }

    /// The library's view of this vault (the binary must not be running).
    fn open(&self) -> Vault {
        Vault::open(self.0.dir(), &Passphrase::new(PW.into()).unwrap()).unwrap()
    }
}

fn versions(h: &[Value]) -> Vec<(u64, String)> {
    h.iter()
        .map(|v| {
            (
                v["version"].as_u64().unwrap(),
                v["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn strs<'a>(events: &'a [Value], field: &str) -> Vec<&'a str> {
    events
        .iter()
        .map(|e| e[field].as_str().unwrap_or("-"))
        .collect()
}

/// The whitespace-separated cells of the `history` row of version `n`.
#[track_caller]
fn history_row(text: &str, n: u32) -> Vec<String> {
    text.lines()
        .skip(1)
        .map(|l| l.split_whitespace().map(String::from).collect::<Vec<_>>())
        .find(|cells| cells.first().map(String::as_str) == Some(n.to_string().as_str()))
        .unwrap_or_else(|| panic!("no row for version {n} in\n{text}"))
}

// ---------------------------------------------------------------------------
// Rotation
// ---------------------------------------------------------------------------

#[test]
fn rotate_then_get_gives_the_new_key_and_history_keeps_the_old_one_masked() {
    let v = TestVault::new();
    v.add("k", &key(1), &[], T0);
    assert_eq!(v.show("k")["rotated_at"], Value::Null);

    let t1 = T0 + HOUR;
    let out = v
        .rotate("k", &key(2), &["--reason", "scheduled"], t1)
        .run()
        .ok_quiet();
    assert_eq!(
        out.stdout,
        "Rotated k: version 2 is current (sk-p…0002); version 1 stays readable for 7 days \
         (keyward get k --version 1)\n"
    );
    assert_no_key(&out, &[key(1), key(2)]);
    assert_eq!(v.get("k", t1), format!("{}\n", key(2)));
    assert_eq!(
        v.get_version("k", 1, t1).ok_quiet().stdout,
        format!("{}\n", key(1))
    );
    assert_eq!(
        v.get_version("k", 2, t1).ok_quiet().stdout,
        format!("{}\n", key(2))
    );
    assert_eq!(v.show("k")["rotated_at"], "2025-06-15 13:00 UTC");
    assert_eq!(v.show("k")["key"], "sk-p…0002");

    let h = v.history("k", t1);
    assert_eq!(
        Value::Array(h),
        json!([
            {
                "version": 2, "status": "current", "key": "sk-p…0002",
                "created_at": "2025-06-15 13:00 UTC", "retired_at": null,
                "grace_until": null, "revoked_at": null, "source": "cli", "reason": ""
            },
            {
                "version": 1, "status": "retired", "key": "sk-p…0001",
                "created_at": "2025-06-15 12:00 UTC", "retired_at": "2025-06-15 13:00 UTC",
                "grace_until": "2025-06-22 13:00 UTC", "revoked_at": null,
                "source": "cli", "reason": "scheduled"
            }
        ])
    );
    let out = v.kw(["history", "k"]).at(t1).run().ok_quiet();
    assert_no_key(&out, &[key(1), key(2)]);
    assert!(out.stdout.starts_with("VERSION  STATUS"), "{}", out.stdout);
    assert_eq!(
        history_row(&out.stdout, 2),
        [
            "2",
            "current",
            "sk-p…0002",
            "2025-06-15",
            "13:00",
            "-",
            "(current)",
            "cli"
        ]
    );
    assert_eq!(
        history_row(&out.stdout, 1),
        [
            "1",
            "retired",
            "sk-p…0001",
            "2025-06-15",
            "12:00",
            "2025-06-15",
            "13:00",
            "2025-06-22",
            "13:00",
            "cli",
            "scheduled"
        ]
    );
    let out = v.kw(["history", "k", "--json"]).at(t1).run().ok_quiet();
    assert_no_key(&out, &[key(1), key(2)]);
}

#[test]
fn rotation_refusals_change_nothing() {
    let v = TestVault::new();
    v.add("k", &key(1), &[], T0);
    v.rotate("k", &key(2), &[], T0 + HOUR).run().ok_quiet();
    v.rotate("k", &key(3), &[], T0 + 2 * HOUR).run().ok_quiet();
    v.kw(["revoke", "k", "--version", "1"]).run().ok_quiet();
    let history = v.history("k", T0);
    let shown = v.show("k");
    let events = v.audit_json(&[]);

    let msg = v.rotate("k", &key(3), &[], T0).run().error(2);
    assert!(msg.contains("is the current key of k"), "{msg}");
    let msg = v.rotate("k", &key(2), &[], T0).run().error(2);
    assert!(msg.contains("equals version 2 of k (retired)"), "{msg}");
    let msg = v.rotate("k", &key(1), &[], T0).run().error(2);
    assert!(msg.contains("equals version 1 of k (revoked)"), "{msg}");
    let msg = v.rotate("k", &key(2), &["--force"], T0).run().error(2);
    assert!(
        msg.contains("equals version 2"),
        "--force skips only the format check: {msg}"
    );
    let msg = v
        .rotate("k", "not-an-openai-key-0099", &[], T0)
        .run()
        .error(2);
    assert!(
        msg.contains("does not match the OpenAI format") && msg.contains("--force"),
        "{msg}"
    );
    let msg = v.rotate("k", "", &[], T0).run().error(2);
    assert!(msg.contains("empty"), "{msg}");
    let msg = v.rotate("nope", &key(9), &[], T0).run().error(4);
    assert!(msg.contains("no entry named 'nope'"), "{msg}");

    assert_eq!(v.history("k", T0), history);
    assert_eq!(v.show("k"), shown);
    assert_eq!(v.audit_json(&[]), events, "a refused rotation was logged");
    assert_eq!(v.get("k", T0), format!("{}\n", key(3)));

    // With --force, the wrong-format key is accepted.
    let out = v
        .rotate("k", "not-an-openai-key-0099", &["--force"], T0)
        .run()
        .ok_quiet();
    assert!(out.stdout.contains("version 4 is current"), "{out}");
    assert_eq!(v.get("k", T0), "not-an-openai-key-0099\n");
}

#[test]
fn lifecycle_commands_on_a_missing_entry_exit_4() {
    let v = TestVault::new();
    v.add("k", &key(1), &[], T0);
    for args in [
        vec!["history", "nope"],
        vec!["rollback", "nope"],
        vec!["revoke", "nope", "--version", "1"],
        vec!["get", "nope", "--version", "1"],
        vec!["test", "nope"],
    ] {
        let msg = v.kw(&args).run().error(4);
        assert!(msg.contains("no entry named 'nope'"), "{args:?}: {msg}");
    }
    let msg = v.get_version("k", 2, T0).error(2);
    assert!(msg.contains("k has no version 2"), "{msg}");
}

#[test]
fn the_grace_period_ends_with_the_clock() {
    let v = TestVault::new();
    v.add("k", &key(1), &[], T0);
    v.add("long", &key(3), &[], T0);
    v.rotate("k", &key(2), &[], T0).run().ok_quiet();
    v.rotate("long", &key(4), &["--grace", "30"], T0)
        .run()
        .ok_quiet();

    // Day 6: both old keys readable.
    assert_eq!(
        v.get_version("k", 1, T0 + 6 * DAY).ok_quiet().stdout,
        format!("{}\n", key(1))
    );
    // Day 8: the default 7 days are over; 30 are not.
    let msg = v.get_version("k", 1, T0 + 8 * DAY).error(2);
    assert_eq!(
        msg,
        "keyward: version 1 of k is past its grace period (ended 2025-06-22); \
         `keyward rollback k --to 1` can make it current again"
    );
    assert_eq!(
        v.get_version("long", 1, T0 + 8 * DAY).ok_quiet().stdout,
        format!("{}\n", key(3))
    );
    let out = v.kw(["history", "k"]).at(T0 + 8 * DAY).run().ok_quiet();
    let row = history_row(&out.stdout, 1);
    assert!(row.join(" ").contains("grace ended"), "{}", out.stdout);
    let out = v.kw(["history", "long"]).at(T0 + 8 * DAY).run().ok_quiet();
    assert!(
        history_row(&out.stdout, 1).contains(&"2025-07-15".to_string()),
        "{}",
        out.stdout
    );
    // Day 31: the 30 days are over too.
    let msg = v.get_version("long", 1, T0 + 31 * DAY).error(2);
    assert!(
        msg.contains("past its grace period (ended 2025-07-15)"),
        "{msg}"
    );
    // The current key is never subject to a grace.
    assert_eq!(
        v.get_version("k", 2, T0 + 400 * DAY).ok_quiet().stdout,
        format!("{}\n", key(2))
    );
    // Past its grace, a retired key can still be made current again.
    v.kw(["rollback", "k", "--to", "1"])
        .at(T0 + 8 * DAY)
        .run()
        .ok_quiet();
    assert_eq!(v.get("k", T0 + 8 * DAY), format!("{}\n", key(1)));
}

// ---------------------------------------------------------------------------
// Rollback and revoke
// ---------------------------------------------------------------------------

#[test]
fn rollback_to_the_newest_retired_or_a_named_version_erases_nothing() {
    let v = TestVault::new();
    v.add("k", &key(1), &[], T0);
    v.rotate("k", &key(2), &[], T0 + HOUR).run().ok_quiet();
    v.rotate("k", &key(3), &[], T0 + 2 * HOUR).run().ok_quiet();

    let out = v.kw(["rollback", "k"]).at(T0 + 3 * HOUR).run().ok_quiet();
    assert_eq!(
        out.stdout,
        "Rolled k back to version 2 (sk-p…0002); version 3 is retired\n"
    );
    assert_eq!(v.get("k", T0 + 3 * HOUR), format!("{}\n", key(2)));
    assert_eq!(
        v.get_version("k", 3, T0 + 3 * HOUR).ok_quiet().stdout,
        format!("{}\n", key(3)),
        "the replaced key is retired and readable"
    );
    let h = v.history("k", T0 + 3 * HOUR);
    assert_eq!(
        versions(&h),
        [
            (2, "current".into()),
            (3, "retired".into()),
            (1, "retired".into())
        ]
    );
    assert_eq!(h[1]["reason"], "rolled back to version 2");
    assert_eq!(h[1]["grace_until"], "2025-06-22 15:00 UTC");

    v.kw(["rollback", "k", "--to", "1"]).run().ok_quiet();
    assert_eq!(v.get("k", T0), format!("{}\n", key(1)));
    let msg = v.kw(["rollback", "k", "--to", "1"]).run().error(2);
    assert!(msg.contains("version 1 is already current"), "{msg}");
    let msg = v.kw(["rollback", "k", "--to", "9"]).run().error(2);
    assert!(msg.contains("k has no kept version 9"), "{msg}");

    // A revoked version is never made current again; the default skips it.
    v.kw(["revoke", "k", "--version", "3"]).run().ok_quiet();
    let msg = v.kw(["rollback", "k", "--to", "3"]).run().error(2);
    assert!(
        msg.contains("version 3 of k is revoked; it can never be current again"),
        "{msg}"
    );
    let out = v.kw(["rollback", "k"]).run().ok_quiet();
    assert!(
        out.stdout.starts_with("Rolled k back to version 2 "),
        "{out}"
    );

    // Every version is still listed, and each rollback is an audit event.
    let mut all = versions(&v.history("k", T0));
    all.sort();
    assert_eq!(
        all,
        [
            (1, "retired".into()),
            (2, "current".into()),
            (3, "revoked".into())
        ]
    );
    let rollbacks: Vec<_> = v
        .audit_json(&["k"])
        .into_iter()
        .filter(|e| e["action"] == "rollback")
        .map(|e| e["detail"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        rollbacks,
        ["version 3 -> 2", "version 2 -> 1", "version 1 -> 2"]
    );
}

#[test]
fn a_revoked_version_can_never_be_read_again() {
    let v = TestVault::new();
    v.add("k", &key(1), &[], T0);
    v.rotate("k", &key(2), &[], T0 + HOUR).run().ok_quiet();

    let msg = v.kw(["revoke", "k", "--version", "2"]).run().error(2);
    assert_eq!(
        msg,
        "keyward: version 2 is the current key of k; rotate to a new key first, then revoke it"
    );
    let msg = v.kw(["revoke", "k", "--version", "5"]).run().error(2);
    assert!(msg.contains("k has no kept version 5"), "{msg}");

    let out = v
        .kw(["revoke", "k", "--version", "1"])
        .at(T0 + 2 * HOUR)
        .run()
        .ok_quiet();
    assert_eq!(
        out.stdout,
        "Revoked version 1 of k (sk-p…0001): it can never be read again. \
         Revoke it at the provider too.\n"
    );
    // Within what was its grace period, it still cannot be read.
    let msg = v.get_version("k", 1, T0 + 3 * HOUR).error(2);
    assert_eq!(
        msg,
        "keyward: version 1 of k is revoked; it can never be read again"
    );
    v.kw(["rollback", "k", "--to", "1"]).run().error(2);
    let msg = v.kw(["rollback", "k"]).run().error(2);
    assert!(msg.contains("no earlier version"), "{msg}");
    let h = v.history("k", T0 + 3 * HOUR);
    assert_eq!(h[1]["status"], "revoked");
    assert_eq!(h[1]["revoked_at"], "2025-06-15 14:00 UTC");
    assert_eq!(h[1]["key"], "sk-p…0001");
    let out = v.kw(["history", "k"]).at(T0 + 3 * HOUR).run().ok_quiet();
    assert!(
        history_row(&out.stdout, 1).contains(&"never".to_string()),
        "{}",
        out.stdout
    );

    // The library agrees, and a rekey brings nothing back.
    {
        let mut vault = v.open();
        assert!(vault.get_version("k", 1).is_err());
    }
    v.kw(["rekey"]).run().ok_quiet();
    v.get_version("k", 1, T0 + 3 * HOUR).error(2);
    assert_eq!(v.history("k", T0 + 3 * HOUR)[1]["status"], "revoked");
}

#[test]
fn the_config_sets_how_many_versions_are_kept_and_the_default_grace() {
    let v = TestVault::with_config("versions_kept = 3\ngrace_days = 2\n");
    v.add("k", &key(1), &[], T0);
    let out = v.rotate("k", &key(2), &[], T0).run().ok_quiet();
    assert!(
        out.stdout.contains("version 1 stays readable for 2 days"),
        "{out}"
    );
    for n in 3..=7 {
        v.rotate("k", &key(n), &[], T0 + i64::from(n) * HOUR)
            .run()
            .ok_quiet();
    }
    let h = v.history("k", T0);
    assert_eq!(
        versions(&h),
        [
            (7, "current".into()),
            (6, "retired".into()),
            (5, "retired".into()),
            (4, "retired".into())
        ]
    );
    let msg = v.get_version("k", 3, T0 + 8 * HOUR).error(2);
    assert!(msg.contains("k has no version 3"), "{msg}");
    assert_eq!(
        v.get_version("k", 4, T0 + 8 * HOUR).ok_quiet().stdout,
        format!("{}\n", key(4))
    );
    // The config's grace: version 6 retired at T0+7h is readable for 2 days.
    v.get_version("k", 6, T0 + 2 * DAY + 8 * HOUR).error(2);
}

// ---------------------------------------------------------------------------
// Health
// ---------------------------------------------------------------------------

fn health(v: &TestVault, t: i64, extra: &[&str]) -> Out {
    v.kw(["health"]).args(extra).at(t).run()
}

#[track_caller]
fn health_json(v: &TestVault, t: i64, extra: &[&str], code: i32) -> Value {
    let out = v
        .kw(["health", "--json"])
        .args(extra)
        .at(t)
        .run()
        .reports(code);
    out.json()
}

#[test]
fn a_healthy_vault_exits_0() {
    let v = TestVault::new();
    v.add("a", &key(1), &[], T0);
    v.add("b", &key(2), &[], T0);
    let out = health(&v, T0 + DAY, &[]).reports(0);
    assert_eq!(out.stdout, "Healthy: 2 entries, no findings.\n");
    assert_eq!(health_json(&v, T0 + DAY, &[], 0), json!([]));
}

#[test]
fn health_finds_an_expired_key() {
    let v = TestVault::new();
    v.add("old", &key(1), &["--expires", "2025-06-01"], T0);
    v.add("fine", &key(2), &[], T0);
    let out = health(&v, T0, &[]).reports(8);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(
        lines[0].starts_with("old ")
            && lines[0].contains("expired")
            && lines[0].ends_with("expired on 2025-06-01"),
        "{out}"
    );
    assert_eq!(lines[1], "1 findings");
    assert_eq!(
        health_json(&v, T0, &[], 8),
        json!([{"kind": "expired", "entry": "old", "detail": "expired on 2025-06-01"}])
    );
    // Disabled, it is no longer a finding.
    v.kw(["disable", "old"]).run().ok_quiet();
    health(&v, T0, &[]).reports(0);
}

#[test]
fn health_finds_keys_expiring_within_the_window() {
    let v = TestVault::new();
    v.add("soon", &key(1), &["--expires", "2025-06-25"], T0);
    v.add("later", &key(2), &["--expires", "2025-07-05"], T0);
    assert_eq!(
        health_json(&v, T0, &[], 8),
        json!([{"kind": "expiring", "entry": "soon", "detail": "expires on 2025-06-25 (in 10 days)"}])
    );
    assert_eq!(health_json(&v, T0, &["--within", "5"], 0), json!([]));
    let both = health_json(&v, T0, &["--within", "30"], 8);
    assert_eq!(
        both.as_array()
            .unwrap()
            .iter()
            .map(|f| (f["kind"].as_str().unwrap(), f["entry"].as_str().unwrap()))
            .collect::<Vec<_>>(),
        [("expiring", "later"), ("expiring", "soon")]
    );
    let out = health(&v, T0, &["--within", "30"]).reports(8);
    assert!(out.stdout.ends_with("2 findings\n"), "{out}");
    // Once the date has passed: expired.
    assert_eq!(
        health_json(&v, T0 + 11 * DAY, &[], 8)[1],
        json!({"kind": "expired", "entry": "soon", "detail": "expired on 2025-06-25"})
    );
}

#[test]
fn health_finds_an_overdue_rotation() {
    let v = TestVault::new();
    v.add("monthly", &key(1), &["--rotate-every", "30"], T0);
    v.add("default", &key(2), &[], T0);
    health(&v, T0 + 29 * DAY, &[]).reports(0);
    assert_eq!(
        health_json(&v, T0 + 31 * DAY, &[], 8),
        json!([{
            "kind": "rotation_overdue", "entry": "monthly",
            "detail": "last rotated 31 days ago (policy: every 30 days)"
        }])
    );
    // Rotating it ends the finding.
    v.rotate("monthly", &key(3), &[], T0 + 31 * DAY)
        .run()
        .ok_quiet();
    health(&v, T0 + 31 * DAY, &[]).reports(0);
    // Both are used now and then, so neither is "unused" later on.
    v.get("default", T0 + 80 * DAY);
    v.get("monthly", T0 + 80 * DAY);
    // Without its own policy an entry is due after 90 days (the default).
    assert_eq!(
        health_json(&v, T0 + 91 * DAY, &[], 8),
        json!([
            {
                "kind": "rotation_overdue", "entry": "default",
                "detail": "last rotated 91 days ago (policy: every 90 days)"
            },
            {
                "kind": "rotation_overdue", "entry": "monthly",
                "detail": "last rotated 60 days ago (policy: every 30 days)"
            }
        ])
    );
}

#[test]
fn health_finds_an_unused_key() {
    let v = TestVault::new();
    v.add("idle", &key(1), &["--rotate-every", "365"], T0);
    v.add("busy", &key(2), &["--rotate-every", "365"], T0);
    v.get("busy", T0 + 2 * DAY);
    health(&v, T0 + 89 * DAY, &[]).reports(0);
    assert_eq!(
        health_json(&v, T0 + 91 * DAY, &[], 8),
        json!([{"kind": "unused", "entry": "idle", "detail": "never used; added 91 days ago"}])
    );
    assert_eq!(
        health_json(&v, T0 + 93 * DAY, &[], 8)[0],
        json!({"kind": "unused", "entry": "busy", "detail": "last used 91 days ago"})
    );
}

#[test]
fn health_finds_the_same_secret_under_two_names() {
    let v = TestVault::new();
    v.add("a", &key(1), &[], T0);
    v.add("b", &key(1), &[], T0);
    v.add("c", &key(2), &[], T0);
    let out = health(&v, T0, &[]).reports(8);
    assert_no_key(&out, &[key(1), key(2)]);
    assert_eq!(
        health_json(&v, T0, &[], 8),
        json!([
            {"kind": "duplicate_secret", "entry": "a", "detail": "same secret as b"},
            {"kind": "duplicate_secret", "entry": "b", "detail": "same secret as a"}
        ])
    );
    v.rotate("b", &key(3), &[], T0).run().ok_quiet();
    health(&v, T0, &[]).reports(0);
}

#[test]
fn the_cli_never_leaves_two_primaries_for_health_to_find() {
    // The finding itself is checked on constructed entries in tests/lifecycle.rs.
    let v = TestVault::new();
    v.add("a", &key(1), &["--primary"], T0);
    let out = v
        .kw(["add", "b", "--provider", "openai", "--primary"])
        .stdin(&format!("{}\n", key(2)))
        .at(T0)
        .run();
    assert_eq!(out.code, 0, "{out}");
    assert_eq!(out.stderr, "keyward: a is no longer primary\n");
    let out = v.kw(["edit", "a", "--primary"]).at(T0).run();
    assert_eq!(out.code, 0, "{out}");
    assert_eq!(out.stderr, "keyward: b is no longer primary\n");
    v.kw(["disable", "a"]).at(T0).run().ok_quiet();
    v.kw(["enable", "a"]).at(T0).run().ok_quiet();
    v.add("c", &key(3), &["--env", "dev", "--primary"], T0);
    health(&v, T0, &[]).reports(0);
    assert_eq!(v.show("a")["primary"], true);
    assert_eq!(v.show("b")["primary"], false);
}

#[test]
fn health_json_lists_every_finding_by_entry_then_kind() {
    let v = TestVault::new();
    v.add(
        "a",
        &key(1),
        &["--expires", "2025-06-01", "--rotate-every", "1"],
        T0 - 10 * DAY,
    );
    v.add("b", &key(1), &[], T0);
    let f = health_json(&v, T0, &[], 8);
    let f = f.as_array().unwrap();
    for finding in f {
        let mut keys: Vec<&str> = finding
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort();
        assert_eq!(keys, ["detail", "entry", "kind"], "{finding}");
        assert!(finding["detail"].as_str().is_some_and(|d| !d.is_empty()));
    }
    assert_eq!(
        f.iter()
            .map(|f| (f["entry"].as_str().unwrap(), f["kind"].as_str().unwrap()))
            .collect::<Vec<_>>(),
        [
            ("a", "expired"),
            ("a", "rotation_overdue"),
            ("a", "duplicate_secret"),
            ("b", "duplicate_secret")
        ]
    );
}

// ---------------------------------------------------------------------------
// Live checks against a local server
// ---------------------------------------------------------------------------

fn http(status: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    )
}

/// An HTTP server on 127.0.0.1 that answers one connection with each reply in turn
/// and passes on the head of each request it read.
fn serve(replies: Vec<String>) -> (u16, mpsc::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for reply in replies {
            let Ok((mut stream, _)) = listener.accept() else {
                return;
            };
            // A safety net only: the client sends its request at once.
            let _ = stream.set_read_timeout(Some(Duration::from_secs(20)));
            let mut head = Vec::new();
            let mut chunk = [0u8; 2048];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut chunk) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => head.extend_from_slice(&chunk[..n]),
                }
            }
            let _ = stream.write_all(reply.as_bytes());
            let _ = stream.flush();
            drop(stream);
            let _ = tx.send(String::from_utf8_lossy(&head).into_owned());
        }
    });
    (port, rx)
}

/// A port on 127.0.0.1 with nothing listening.
fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

fn base(port: u16) -> String {
    format!("http://127.0.0.1:{port}/v1")
}

#[test]
fn test_sorts_answers_into_valid_rejected_and_inconclusive() {
    let k = key(1);
    let rejected = http(
        "401 Unauthorized",
        &format!(
            r#"{{"error":{{"message":"Incorrect API key provided: {k}.","type":"invalid_request_error"}}}}"#
        ),
    );
    let valid = http("200 OK", r#"{"data":[{"id":"m1"},{"id":"m2"}]}"#);
    let (port, seen) = serve(vec![rejected, valid]);
    let v = TestVault::new();
    v.add("k", &k, &["--base-url", &base(port)], T0);

    // 401: exit 9, recorded against the key.
    let out = v.kw(["test", "k"]).at(T0).run();
    assert_no_key(&out, std::slice::from_ref(&k));
    let msg = out.error(9);
    assert!(
        msg.starts_with("keyward: k: rejected (401): Incorrect API key provided: "),
        "{msg}"
    );
    assert!(msg.ends_with("; rotate it: keyward rotate k"), "{msg}");
    let head = seen.recv_timeout(Duration::from_secs(20)).unwrap();
    assert!(head.starts_with("GET /v1/models HTTP/1.1\r\n"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains(&format!("authorization: bearer {}", k.to_ascii_lowercase())),
        "the key is sent as a bearer token: {head}"
    );
    let s = v.show("k");
    assert!(
        s["last_error"]
            .as_str()
            .is_some_and(|e| e.starts_with("rejected (401)") && !e.contains(&k)),
        "{s}"
    );
    assert_eq!(s["error_count"], 1);

    // Nothing listening: exit 11, not held against the key.
    let closed = closed_port();
    v.kw(["edit", "k", "--base-url", &base(closed)])
        .run()
        .ok_quiet();
    let out = v.kw(["test", "k"]).at(T0).run();
    assert_no_key(&out, std::slice::from_ref(&k));
    let msg = out.error(11);
    assert!(msg.starts_with("keyward: k: unreachable: "), "{msg}");
    assert!(msg.contains("try again later"), "{msg}");
    let after = v.show("k");
    assert_eq!(after["error_count"], 1);
    assert_eq!(after["last_error"], s["last_error"]);

    // 200: exit 0, the error is cleared.
    v.kw(["edit", "k", "--base-url", &base(port)])
        .run()
        .ok_quiet();
    let out = v.kw(["test", "k"]).at(T0).run().ok_quiet();
    assert_no_key(&out, std::slice::from_ref(&k));
    assert_eq!(out.stdout, "k: valid: HTTP 200 OK; 2 models listed\n");
    seen.recv_timeout(Duration::from_secs(20)).unwrap();
    let s = v.show("k");
    assert_eq!(s["last_error"], Value::Null);
    assert_eq!(s["error_count"], 0);

    // Three checks, three events; the key is in none of them.
    let tests: Vec<Value> = v
        .audit_json(&["k"])
        .into_iter()
        .filter(|e| e["action"] == "test")
        .collect();
    assert_eq!(tests.len(), 3);
    assert!(!Value::Array(tests).to_string().contains("canary"));
}

#[test]
fn health_finds_a_key_whose_last_check_failed() {
    let (port, _seen) = serve(vec![http(
        "401 Unauthorized",
        r#"{"error":{"message":"invalid key"}}"#,
    )]);
    let v = TestVault::new();
    v.add("k", &key(1), &["--base-url", &base(port)], T0);
    v.kw(["test", "k"]).at(T0).run().error(9);
    assert_eq!(
        health_json(&v, T0, &[], 8),
        json!([{"kind": "check_failed", "entry": "k", "detail": "last check: rejected (401): invalid key"}])
    );
    // A rotation to a new key clears it.
    v.rotate("k", &key(2), &[], T0).run().ok_quiet();
    health(&v, T0, &[]).reports(0);
}

/// `record_check` prefixes the outcome ("valid: ", "rejected: ") to a summary that
/// already starts with it, so the audit log reads "valid: valid: HTTP 200 OK".
#[test]
fn test_events_name_the_outcome_once() {
    let (port, _seen) = serve(vec![
        http("401 Unauthorized", r#"{"error":{"message":"invalid key"}}"#),
        http("200 OK", r#"{"data":[]}"#),
    ]);
    let v = TestVault::new();
    v.add("k", &key(1), &["--base-url", &base(port)], T0);
    v.kw(["test", "k"]).run().error(9);
    v.kw(["test", "k"]).run().ok_quiet();
    let details: Vec<String> = v
        .audit_json(&["k"])
        .into_iter()
        .filter(|e| e["action"] == "test")
        .map(|e| e["detail"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(details.len(), 2);
    for d in &details {
        assert!(
            !d.starts_with("valid: valid") && !d.starts_with("rejected: rejected"),
            "{details:?}"
        );
    }
}

// ---------------------------------------------------------------------------
// The audit log
// ---------------------------------------------------------------------------

#[test]
fn every_action_appends_an_audit_event() {
    let v = TestVault::new();
    let t = T0;
    v.add("a", &key(1), &["--base-url", &base(closed_port())], t);
    v.get("a", t);
    v.kw(["edit", "a", "--note", "hello"])
        .at(t)
        .run()
        .ok_quiet();
    v.kw(["disable", "a"]).at(t).run().ok_quiet();
    v.kw(["enable", "a"]).at(t).run().ok_quiet();
    v.rotate("a", &key(2), &[], t).run().ok_quiet();
    v.get_version("a", 1, t).ok_quiet();
    v.kw(["rollback", "a"]).at(t).run().ok_quiet();
    v.kw(["revoke", "a", "--version", "2"])
        .at(t)
        .run()
        .ok_quiet();
    v.kw(["test", "a"]).at(t).run().error(11);
    v.add("b", &key(3), &[], t);
    v.kw(["rm", "b", "--yes"]).at(t).run().ok_quiet();
    let out = v
        .kw(["passwd"])
        .env("KEYWARD_NEW_PASSPHRASE", NEW_PW)
        .at(t)
        .run()
        .ok_quiet();
    assert_eq!(out.stdout, "Passphrase changed.\n");
    v.kw_with(NEW_PW, ["rekey"]).at(t).run().ok_quiet();
    // Reading the log, the history or the health changes nothing.
    v.kw_with(NEW_PW, ["history", "a"]).run().ok_quiet();
    v.kw_with(NEW_PW, ["health"]).at(t).run();

    let out = v.kw_with(NEW_PW, ["audit", "--json"]).run().ok_quiet();
    assert_no_key(&out, &[key(1), key(2), key(3)]);
    let events = match out.json() {
        Value::Array(a) => a,
        other => panic!("{other}"),
    };
    assert_eq!(
        strs(&events, "action"),
        [
            "add", "get", "edit", "disable", "enable", "rotate", "get", "rollback", "revoke",
            "test", "add", "delete", "passwd", "rekey"
        ]
    );
    assert_eq!(
        strs(&events, "entry"),
        [
            "a", "a", "a", "a", "a", "a", "a", "a", "a", "a", "b", "b", "-", "-"
        ]
    );
    let seqs: Vec<u64> = events.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, (1..=14).collect::<Vec<_>>());
    assert!(events.iter().all(|e| e["source"] == "cli"));
    assert!(events.iter().all(|e| e["at"] == "2025-06-15 12:00 UTC"));
    assert_eq!(events[5]["detail"], "version 1 -> 2");
    assert_eq!(events[6]["detail"], "version 1");
    assert_eq!(events[7]["detail"], "version 2 -> 1");
    assert_eq!(events[8]["detail"], "version 2");
    assert!(
        events[9]["detail"]
            .as_str()
            .unwrap()
            .starts_with("unreachable: "),
        "{}",
        events[9]
    );

    // The text listing: one line per event.
    let out = v.kw_with(NEW_PW, ["audit"]).run().ok_quiet();
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 14, "{out}");
    assert!(
        lines[5].contains("rotate") && lines[5].contains(" a "),
        "{out}"
    );
    assert!(lines[12].contains("passwd"), "{out}");

    let out = v.kw_with(NEW_PW, ["audit", "--verify"]).run().ok_quiet();
    assert_eq!(
        out.stdout,
        "The audit log is intact: 14 events, chain verified.\n"
    );
}

#[test]
fn audit_filters_by_entry_and_by_date() {
    // 2025-01-10, 2025-02-15 and 2025-03-01, 09:00 UTC.
    let (jan, feb, mar) = (1_736_499_600, 1_739_610_000, 1_740_819_600);
    let v = TestVault::new();
    v.add("a", &key(1), &[], jan);
    v.add("b", &key(2), &[], jan);
    v.get("a", feb);
    v.get("b", mar);

    let a = v.audit_json(&["a"]);
    assert_eq!(strs(&a, "action"), ["add", "get"]);
    assert_eq!(strs(&a, "entry"), ["a", "a"]);
    assert_eq!(
        strs(&a, "at"),
        ["2025-01-10 09:00 UTC", "2025-02-15 09:00 UTC"]
    );
    let since = v.audit_json(&["--since", "2025-02-01"]);
    assert_eq!(strs(&since, "entry"), ["a", "b"]);
    assert_eq!(strs(&since, "action"), ["get", "get"]);
    // The day named is included.
    assert_eq!(v.audit_json(&["--since", "2025-03-01"]).len(), 1);
    assert_eq!(v.audit_json(&["b", "--since", "2025-02-16"]).len(), 1);
    assert_eq!(
        v.audit_json(&["a", "--since", "2025-02-16"]),
        Vec::<Value>::new()
    );

    let out = v.kw(["audit", "a"]).run().ok_quiet();
    assert_eq!(out.stdout.lines().count(), 2, "{out}");
    assert!(out.stdout.contains("2025-02-15 09:00"), "{out}");
    let out = v.kw(["audit", "--since", "2025-03-02"]).run().ok_quiet();
    assert_eq!(out.stdout, "No events.\n");
    let out = v.kw(["audit", "nobody"]).run().ok_quiet();
    assert_eq!(out.stdout, "No events for this entry.\n");
    let msg = v.kw(["audit", "--since", "2025-02-30"]).run().error(2);
    assert!(msg.contains("invalid date '2025-02-30'"), "{msg}");
    let msg = v.kw(["audit", "--since", "yesterday"]).run().error(2);
    assert!(msg.contains("YYYY-MM-DD"), "{msg}");
}

/// A vault with six events: add a, add b, get a, rotate a, get a --version 1, get b.
fn logged_vault() -> TestVault {
    let v = TestVault::new();
    v.add("a", &key(1), &[], T0);
    v.add("b", &key(2), &[], T0);
    v.get("a", T0);
    v.rotate("a", &key(3), &[], T0).run().ok_quiet();
    v.get_version("a", 1, T0).ok_quiet();
    v.get("b", T0);
    let out = v.verify().ok_quiet();
    assert_eq!(
        out.stdout,
        "The audit log is intact: 6 events, chain verified.\n"
    );
    v
}

/// Changes the raw audit records through the library (vault closed afterwards).
fn tamper(v: &TestVault, edit: impl FnOnce(&[(Vec<u8>, Vec<u8>)], &mut Batch)) {
    let vault = v.open();
    let mut records = Vec::new();
    vault
        .store_for_tests()
        .for_each(Tree::Audit, |k, val| {
            records.push((k.to_vec(), val.to_vec()));
            Ok(())
        })
        .unwrap();
    assert_eq!(records.len(), 6);
    let mut batch = Batch::default();
    edit(&records, &mut batch);
    vault.store_for_tests().apply(&batch).unwrap();
}

/// `audit --verify` exits 10 with one line naming the problem; the keys stay usable.
#[track_caller]
fn assert_tamper_detected(v: &TestVault, needle: &str) {
    let msg = v.verify().error(10);
    assert!(
        msg.starts_with("keyward: the audit log was tampered with: "),
        "{msg}"
    );
    assert!(msg.contains(needle), "{msg}");
    assert!(msg.ends_with("restore the vault from a backup"), "{msg}");
    assert_eq!(v.get("b", T0), format!("{}\n", key(2)));
    // Still broken after more events.
    v.verify().error(10);
}

#[test]
fn an_altered_event_makes_verify_exit_10() {
    let v = logged_vault();
    tamper(&v, |r, b| {
        let mut value = r[2].1.clone();
        let mid = value.len() / 2;
        value[mid] ^= 0x01;
        b.put(Tree::Audit, r[2].0.clone(), value);
    });
    assert_tamper_detected(&v, "event 3 was altered");
}

#[test]
fn a_removed_event_makes_verify_exit_10() {
    let v = logged_vault();
    tamper(&v, |r, b| b.remove(Tree::Audit, r[2].0.clone()));
    assert_tamper_detected(&v, "event 3 is missing");
}

#[test]
fn swapped_events_make_verify_exit_10() {
    let v = logged_vault();
    tamper(&v, |r, b| {
        b.put(Tree::Audit, r[2].0.clone(), r[3].1.clone());
        b.put(Tree::Audit, r[3].0.clone(), r[2].1.clone());
    });
    assert_tamper_detected(&v, "event 3");
}

#[test]
fn a_removed_last_event_makes_verify_exit_10() {
    let v = logged_vault();
    tamper(&v, |r, b| b.remove(Tree::Audit, r[5].0.clone()));
    assert_tamper_detected(&v, "the log ends at event 5 but its head says 6");
}

/// The audit head is what detects a cut-off end; altering it should be reported the
/// same way (exit 10), not lock the user out of every key.
#[test]
fn an_altered_audit_head_makes_verify_exit_10() {
    let v = logged_vault();
    {
        let vault = v.open();
        let mut head = vault
            .store_for_tests()
            .get(Tree::State, b"audit_head")
            .unwrap()
            .unwrap();
        let last = head.len() - 1;
        head[last] ^= 0x01;
        let mut batch = Batch::default();
        batch.put(Tree::State, b"audit_head".to_vec(), head);
        vault.store_for_tests().apply(&batch).unwrap();
    }
    assert_tamper_detected(&v, "head");
}

// ---------------------------------------------------------------------------
// Rekey and passwd
// ---------------------------------------------------------------------------

#[test]
fn rekey_and_passwd_keep_history_versions_and_the_audit_chain() {
    let v = TestVault::new();
    v.add("k", &key(1), &[], T0);
    v.rotate("k", &key(2), &[], T0 + HOUR).run().ok_quiet();
    v.rotate("k", &key(3), &[], T0 + 2 * HOUR).run().ok_quiet();
    v.kw(["revoke", "k", "--version", "1"]).run().ok_quiet();
    let history = v.history("k", T0 + 3 * HOUR);
    let events = v.audit_json(&[]);
    let n = events.len();

    let out = v.kw(["rekey"]).run().ok_quiet();
    assert_eq!(out.stdout, "New data key; 1 entries re-sealed.\n");
    assert_eq!(v.history("k", T0 + 3 * HOUR), history);
    let after = v.audit_json(&[]);
    assert_eq!(after[..n], events[..]);
    assert_eq!(after[n]["action"], "rekey");
    assert_eq!(
        v.verify().ok_quiet().stdout,
        format!(
            "The audit log is intact: {} events, chain verified.\n",
            n + 1
        )
    );
    assert_eq!(
        v.get_version("k", 2, T0 + 3 * HOUR).ok_quiet().stdout,
        format!("{}\n", key(2))
    );
    v.get_version("k", 1, T0 + 3 * HOUR).error(2);
    assert_eq!(v.get("k", T0 + 3 * HOUR), format!("{}\n", key(3)));
    // Kept keys are still recognised after the new data key.
    let msg = v.rotate("k", &key(2), &[], T0 + 3 * HOUR).run().error(2);
    assert!(msg.contains("equals version 2"), "{msg}");

    v.kw(["passwd"])
        .env("KEYWARD_NEW_PASSPHRASE", NEW_PW)
        .run()
        .ok_quiet();
    let out = v.kw_with(NEW_PW, ["audit", "--verify"]).run().ok_quiet();
    assert!(out.stdout.starts_with("The audit log is intact: "), "{out}");
    let out = v
        .kw_with(NEW_PW, ["get", "k", "--version", "2"])
        .at(T0 + 3 * HOUR)
        .run()
        .ok_quiet();
    assert_eq!(out.stdout, format!("{}\n", key(2)));
    v.kw_with(NEW_PW, ["rollback", "k", "--to", "2"])
        .run()
        .ok_quiet();
    let out = v.kw_with(NEW_PW, ["get", "k"]).run().ok_quiet();
    assert_eq!(out.stdout, format!("{}\n", key(2)));
}
