//! End-to-end tests of `keyward backup` and `keyward restore`: the real binary, each
//! test in its own temporary vaults, checking what a user sees (stdout, stderr, the
//! exit code) and what is stored afterwards (`list --json`, `history --json`,
//! `audit --json`, the secrets through `get`).
//!
//! Vaults and bundles use a tiny KDF (1 MiB, 1 pass, 1 lane) so the file runs fast.
//! The user's own `KEYWARD_*` variables never reach the child processes.

mod support {
    pub mod cli;
}

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine;
use serde_json::Value;
use support::cli::{Out, PW, TINY_KDF};

/// The passphrase of the bundles.
const BUNDLE_PW: &str = "a separate passphrase for the bundle";
/// Not the bundle's passphrase.
const WRONG_PW: &str = "definitely not the bundle passphrase";

// Fake keys of each provider's shape, each with a "canary" to catch a leak.
const OPENAI_KEY: &str = "sk-proj-OAIcanary7Xw4Vb9Nm2Lk5Jh8Gf3Ds0Qp";
const OPENAI_KEY_2: &str = "sk-proj-OAIcanary2Zz9Yy8Xx7Ww6Vv5Uu4Tt3Ss";
const OPENAI_KEY_3: &str = "sk-proj-OAIcanary3Aa1Bb2Cc3Dd4Ee5Ff6Gg7Hh";
const ANTHROPIC_KEY: &str = "sk-ant-api03-ANTcanary9Qw8Er7Ty6Ui5Op4As3Df2Gh";
const AWS_SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYAWScanary1";
const AWS_ID: &str = "AKIAIOSFODNN7EXAMPLE";
const CUSTOM_KEY: &str = "plain-CUSTcanary-value-0042";
const CUSTOM_KEY_2: &str = "plain-CUSTcanary-other-9917";

/// Strings that must never appear on stderr.
const NEVER_ON_STDERR: &[&str] = &[
    PW,
    BUNDLE_PW,
    WRONG_PW,
    OPENAI_KEY,
    OPENAI_KEY_2,
    OPENAI_KEY_3,
    ANTHROPIC_KEY,
    AWS_SECRET,
    CUSTOM_KEY,
    CUSTOM_KEY_2,
    "canary",
];

/// Bundle layout (docs/FORMAT.md, section 9).
const HEADER_LEN: usize = 113;
const DIGEST_LEN: usize = 32;
const MEMORY_AT: usize = 13;
const ITERATIONS_AT: usize = 17;
const PARALLELISM_AT: usize = 21;
const CHECK_AT: usize = 81;

// ---------------------------------------------------------------------------------
// Running the binary (tests/support/cli.rs)

impl Out {
    /// Success; stderr may hold warnings, never a secret.
    #[track_caller]
    fn ok_with_stderr(self) -> Self {
        assert_eq!(self.code, 0, "expected success\n{self}");
        assert_clean_stderr(&self);
        self
    }

    /// [`Out::error`] with a clean stderr (no panic, no secret); returns the line.
    #[track_caller]
    fn fails_clean(self, code: i32) -> String {
        assert_clean_stderr(&self);
        self.error(code)
    }

    /// A failure with `code` after the weak-KDF warning line.
    #[track_caller]
    fn fails_after_warning(mut self, code: i32) -> String {
        let (warning, rest) = self.stderr.split_once('\n').unwrap_or(("", ""));
        assert!(warning.contains("OWASP"), "{self}");
        self.stderr = rest.to_string();
        self.fails_clean(code)
    }
}

#[track_caller]
fn assert_clean_stderr(out: &Out) {
    for bad in ["panicked", "internal error", "backtrace"] {
        assert!(!out.stderr.contains(bad), "stderr has '{bad}'\n{out}");
    }
    for secret in NEVER_ON_STDERR {
        assert!(!out.stderr.contains(secret), "stderr leaks {secret}\n{out}");
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

    fn env(mut self, key: &str, value: &str) -> Self {
        self.cmd.env(key, value);
        self
    }

    fn arg_path(mut self, path: &Path) -> Self {
        self.cmd.arg(path);
        self
    }

    fn arg_path_flag(mut self, flag: &str, path: &Path) -> Self {
        self.cmd.arg(flag).arg(path);
        self
    }

    fn stdin(mut self, text: &str) -> Self {
        self.input = Some(text.to_string());
        self
    }

    fn run(self) -> Out {
        support::cli::run(self.cmd, self.input.as_deref())
    }
}

// ---------------------------------------------------------------------------------
// Test vaults

/// A [`support::cli::TestVault`] (tiny KDF, an empty config file).
struct TestVault(support::cli::TestVault);

impl TestVault {
    fn new() -> Self {
        Self(support::cli::TestVault::new())
    }

    /// `keyward --vault DIR ARGS` with the vault passphrase and the bundle passphrase.
    fn kw<I, S>(&self, args: I) -> Kw
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let mut cmd = self.0.command(&[]);
        cmd.env("RUST_BACKTRACE", "1")
            .arg("--vault")
            .arg(self.0.dir());
        Kw { cmd, input: None }
            .env("KEYWARD_BUNDLE_PASSPHRASE", BUNDLE_PW)
            .args(args)
    }

    /// A path beside the vault.
    fn path(&self, name: &str) -> PathBuf {
        self.0.path(name)
    }

    #[track_caller]
    fn add(&self, name: &str, secret: &str, extra: &[&str]) {
        self.kw(["add", name])
            .args(extra)
            .stdin(&format!("{secret}\n"))
            .run()
            .ok_quiet();
    }

    #[track_caller]
    fn get(&self, name: &str) -> String {
        self.kw(["get", name])
            .run()
            .ok_quiet()
            .stdout
            .trim_end()
            .to_string()
    }

    /// `backup FILE` with the tiny KDF; must succeed (the weak-KDF warning aside).
    #[track_caller]
    fn backup(&self, name: &str) -> PathBuf {
        let file = self.path(name);
        let out = self
            .kw(["backup"])
            .arg_path(&file)
            .args(TINY_KDF)
            .run()
            .ok_with_stderr();
        assert!(out.stdout.starts_with("Backed up "), "{out}");
        file
    }

    fn restore(&self, file: &Path, flags: &[&str]) -> Kw {
        self.kw(["restore"]).arg_path(file).args(flags)
    }

    /// `list --json` without the ids (a restore gives new ones).
    #[track_caller]
    fn content(&self) -> Vec<Value> {
        let Value::Array(entries) = self.kw(["list", "--json"]).run().ok_quiet().json() else {
            panic!("list --json is not an array");
        };
        entries
            .into_iter()
            .map(|mut e| {
                e.as_object_mut().unwrap().remove("id");
                e
            })
            .collect()
    }

    #[track_caller]
    fn names(&self) -> Vec<String> {
        self.content()
            .iter()
            .map(|e| e["name"].as_str().unwrap().to_string())
            .collect()
    }

    #[track_caller]
    fn history(&self, name: &str) -> Value {
        self.kw(["history", name, "--json"]).run().ok_quiet().json()
    }

    #[track_caller]
    fn audit(&self, name: Option<&str>) -> Vec<Value> {
        let out = self.kw(["audit", "--json"]).args(name).run().ok_quiet();
        match out.json() {
            Value::Array(a) => a,
            other => panic!("audit --json is not an array: {other}"),
        }
    }

    /// Everything a user can see without using a secret.
    #[track_caller]
    fn state(&self) -> (Vec<Value>, Vec<Value>, Vec<Value>) {
        let content = self.content();
        let histories = self
            .names()
            .iter()
            .map(|n| self.history(n))
            .collect::<Vec<_>>();
        (content, histories, self.audit(None))
    }
}

/// A vault with a bit of everything: a primary with tags and notes, an expiry, an AWS
/// entry with fields, an inactive custom entry, uses, two rotations and a revocation.
fn rich_vault() -> TestVault {
    let v = TestVault::new();
    v.add(
        "openai-prod",
        OPENAI_KEY,
        &[
            "--provider",
            "openai",
            "--primary",
            "--tag",
            "billing",
            "--note",
            "team key",
        ],
    );
    v.add(
        "anthropic-dev",
        ANTHROPIC_KEY,
        &[
            "--provider",
            "anthropic",
            "--env",
            "dev",
            "--expires",
            "2099-01-31",
            "--model",
            "claude-x",
            "--rotate-every",
            "30",
        ],
    );
    v.add(
        "aws-prod",
        AWS_SECRET,
        &[
            "--provider",
            "aws",
            "--field",
            &format!("access_key_id={AWS_ID}"),
            "--field",
            "region=eu-west-1",
        ],
    );
    v.add(
        "custom.x_1",
        CUSTOM_KEY,
        &["--provider", "custom", "--inactive"],
    );
    assert_eq!(v.get("openai-prod"), OPENAI_KEY);
    assert_eq!(v.get("aws-prod"), AWS_SECRET);
    for (key, reason) in [(OPENAI_KEY_2, "scheduled"), (OPENAI_KEY_3, "departure")] {
        v.kw(["rotate", "openai-prod", "--reason", reason])
            .stdin(&format!("{key}\n"))
            .run()
            .ok_quiet();
    }
    v.kw(["revoke", "openai-prod", "--version", "1"])
        .run()
        .ok_quiet();
    v
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// Recomputes a bundle's trailing SHA-256, as someone altering it on purpose would.
fn redigest(bytes: &mut Vec<u8>) {
    let n = bytes.len() - DIGEST_LEN;
    let digest = keyward::crypto::sha256(&bytes[..n]);
    bytes.truncate(n);
    bytes.extend_from_slice(&digest);
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

// ---------------------------------------------------------------------------------
// Round trip

#[test]
fn backup_then_restore_into_a_new_vault_gives_equal_content() {
    let src = rich_vault();
    let (content, histories, audit) = src.state();
    let openai_events = src.audit(Some("openai-prod"));
    let file = src.backup("vault.kwb");

    // The backup is an audit event of the vault backed up (and only that changed).
    let after = src.audit(None);
    assert_eq!(after.len(), audit.len() + 1);
    assert_eq!(after[..audit.len()], audit[..]);
    let last = after.last().unwrap();
    assert_eq!(last["action"], "export");
    let detail = last["detail"].as_str().unwrap();
    assert!(detail.starts_with("backup to ") && detail.contains("vault.kwb"));
    assert!(detail.ends_with("(4 entries)"), "{detail}");
    assert_eq!(src.content(), content);

    let dst = TestVault::new();
    let out = dst.restore(&file, &["--replace"]).run().ok_quiet();
    assert!(
        out.stdout.starts_with("Restored 4 entries from ")
            && out.stdout.contains("replacing 0 entries")
            && out
                .stdout
                .contains(&format!("audit log ({} events) carried over", audit.len())),
        "{out}"
    );

    // Entries with all their metadata (dates, use counts, tags, status...), histories.
    assert_eq!(dst.content(), content);
    let (_, dst_histories, dst_audit) = dst.state();
    assert_eq!(dst_histories, histories);
    let openai = dst.history("openai-prod");
    assert_eq!(openai.as_array().unwrap().len(), 3, "{openai}");
    assert_eq!(openai, src.history("openai-prod"));

    // The audit log carried over, then one import event; the chain verifies.
    assert_eq!(dst_audit.len(), audit.len() + 1);
    assert_eq!(dst_audit[..audit.len()], audit[..]);
    let import = dst_audit.last().unwrap();
    assert_eq!(import["action"], "import");
    assert_eq!(import["seq"], audit.len() as u64 + 1);
    assert_eq!(
        import["detail"],
        format!(
            "restored 4 entries from a backup (replace: 0 removed; {} audit events carried over)",
            audit.len()
        )
    );
    dst.kw(["audit", "--verify"]).run().ok_quiet();
    // Events follow the restored entry (its new id).
    assert_eq!(dst.audit(Some("openai-prod")), openai_events);

    // Every secret, field and kept version.
    assert_eq!(dst.get("openai-prod"), OPENAI_KEY_3);
    assert_eq!(dst.get("anthropic-dev"), ANTHROPIC_KEY);
    assert_eq!(dst.get("aws-prod"), AWS_SECRET);
    assert_eq!(dst.get("custom.x_1"), CUSTOM_KEY);
    let field = dst
        .kw(["get", "aws-prod", "--field", "access_key_id"])
        .run()
        .ok_quiet();
    assert_eq!(field.stdout.trim_end(), AWS_ID);
    let region = dst
        .kw(["get", "aws-prod", "--field", "region"])
        .run()
        .ok_quiet();
    assert_eq!(region.stdout.trim_end(), "eu-west-1");
    let v2 = dst
        .kw(["get", "openai-prod", "--version", "2"])
        .run()
        .ok_quiet();
    assert_eq!(v2.stdout.trim_end(), OPENAI_KEY_2);
    let revoked = dst
        .kw(["get", "openai-prod", "--version", "1"])
        .run()
        .fails_clean(2);
    assert!(revoked.contains("revoked"), "{revoked}");

    // Fingerprints were recomputed with this vault's key: reuse is still refused.
    let reuse = dst
        .kw(["rotate", "openai-prod"])
        .stdin(&format!("{OPENAI_KEY_2}\n"))
        .run()
        .fails_clean(2);
    assert!(reuse.contains("equals version 2"), "{reuse}");
    let same = dst
        .kw(["rotate", "openai-prod"])
        .stdin(&format!("{OPENAI_KEY_3}\n"))
        .run()
        .fails_clean(2);
    assert!(same.contains("is the current key"), "{same}");
    // And the restored vault works as usual.
    dst.kw(["rollback", "openai-prod"]).run().ok_quiet();
    assert_eq!(dst.get("openai-prod"), OPENAI_KEY_2);
    dst.kw(["audit", "--verify"]).run().ok_quiet();
}

#[test]
fn the_bundle_passphrase_file_comes_before_the_environment() {
    let src = TestVault::new();
    src.add("k", CUSTOM_KEY, &["--provider", "custom"]);
    let pass_file = src.path("bundle-pass.txt");
    std::fs::write(&pass_file, "from the file\nsecond line ignored\n").unwrap();
    let file = src.path("b.kwb");
    src.kw(["backup"])
        .arg_path(&file)
        .args(TINY_KDF)
        .arg_path_flag("--bundle-passphrase-file", &pass_file)
        .run()
        .ok_with_stderr();

    let dst = TestVault::new();
    // The env holds BUNDLE_PW: not the bundle's passphrase.
    dst.restore(&file, &[]).run().fails_clean(3);
    dst.restore(&file, &[])
        .env("KEYWARD_BUNDLE_PASSPHRASE", "from the file")
        .run()
        .ok_quiet();
    assert_eq!(dst.get("k"), CUSTOM_KEY);

    // An empty passphrase is refused before anything is written.
    std::fs::write(&pass_file, "\n").unwrap();
    let before = src.audit(None);
    src.kw(["backup"])
        .arg_path(&src.path("c.kwb"))
        .args(TINY_KDF)
        .arg_path_flag("--bundle-passphrase-file", &pass_file)
        .run()
        .fails_clean(2);
    assert!(!src.path("c.kwb").exists());
    assert_eq!(src.audit(None), before);
}

// ---------------------------------------------------------------------------------
// Merge and replace

/// A bundle of alpha (OpenAI, primary), beta (Anthropic) and gamma (custom).
fn abc_bundle() -> (TestVault, PathBuf) {
    let a = TestVault::new();
    a.add("alpha", OPENAI_KEY, &["--provider", "openai", "--primary"]);
    a.add("beta", ANTHROPIC_KEY, &["--provider", "anthropic"]);
    a.add("gamma", CUSTOM_KEY, &["--provider", "custom", "--tag", "t"]);
    let file = a.backup("abc.kwb");
    (a, file)
}

#[test]
fn merge_adds_free_names_skips_equal_ones_and_reports_conflicts() {
    let (a, file) = abc_bundle();
    let b = TestVault::new();
    b.add("beta", ANTHROPIC_KEY, &["--provider", "anthropic"]);
    b.add("gamma", CUSTOM_KEY_2, &["--provider", "custom"]);
    b.add(
        "delta",
        OPENAI_KEY_2,
        &["--provider", "openai", "--primary"],
    );
    let beta_before = b.kw(["show", "beta", "--json"]).run().ok_quiet().json();
    let audit_before = b.audit(None);

    // Merge is the default.
    let out = b.restore(&file, &[]).run().ok_with_stderr();
    assert!(
        out.stdout.starts_with("Restored 1 entry from ")
            && out.stdout.contains("merged")
            && out
                .stdout
                .contains("skipped 1 already here with the same secret: beta"),
        "{out}"
    );
    let warnings: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(warnings.len(), 2, "{out}");
    assert!(
        warnings[0].starts_with("keyward: alpha was restored as not primary"),
        "{out}"
    );
    assert!(
        warnings[1]
            .starts_with("keyward: not restored, the name holds a different secret here: gamma"),
        "{out}"
    );

    assert_eq!(b.names(), ["alpha", "beta", "delta", "gamma"]);
    // alpha as in the bundle, but not primary (delta stays the primary).
    let alpha_here = b.kw(["show", "alpha", "--json"]).run().ok_quiet().json();
    let alpha_there = a.kw(["show", "alpha", "--json"]).run().ok_quiet().json();
    assert_eq!(alpha_here["primary"], false);
    assert_eq!(alpha_here["created_at"], alpha_there["created_at"]);
    assert_eq!(
        b.kw(["show", "delta", "--json"]).run().ok_quiet().json()["primary"],
        true
    );
    assert_eq!(b.get("alpha"), OPENAI_KEY);
    // beta and gamma untouched.
    assert_eq!(
        b.kw(["show", "beta", "--json"]).run().ok_quiet().json(),
        beta_before
    );
    assert_eq!(b.get("gamma"), CUSTOM_KEY_2);
    assert!(
        b.kw(["show", "gamma", "--json"]).run().ok_quiet().json()["tags"] == serde_json::json!([])
    );

    // The log kept, plus one import event (the bundle's log is not carried over).
    let audit = b.audit(None);
    assert_eq!(audit[..audit_before.len()], audit_before[..]);
    // (the gets and shows above added events after the import)
    let import = &audit[audit_before.len()];
    assert_eq!(import["action"], "import");
    assert_eq!(
        import["detail"],
        "restored 1 entry from a backup (merge: 1 already here, 1 conflict)"
    );

    // Again, explicitly: nothing left to add.
    let again = b.restore(&file, &["--merge"]).run().ok_with_stderr();
    assert!(again.stdout.starts_with("Restored 0 entries "), "{again}");
    assert!(again.stdout.contains("alpha, beta"), "{again}");
    assert_eq!(b.names(), ["alpha", "beta", "delta", "gamma"]);

    // Both flags at once: a usage error, nothing restored.
    let state = b.state();
    b.restore(&file, &["--merge", "--replace"])
        .run()
        .fails_clean(2);
    assert_eq!(b.state(), state);
}

#[test]
fn merge_into_a_new_vault_restores_entries_but_not_the_log() {
    let (a, file) = abc_bundle();
    let content = a.content();
    let b = TestVault::new();
    b.restore(&file, &[]).run().ok_quiet();
    assert_eq!(b.content(), content);
    let audit = b.audit(None);
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0]["seq"], 1);
    assert_eq!(
        audit[0]["detail"],
        "restored 3 entries from a backup (merge: 0 already here, 0 conflicts)"
    );
}

#[test]
fn replace_removes_every_entry_and_keeps_a_non_empty_log() {
    let (a, file) = abc_bundle();
    let content = a.content();
    let b = TestVault::new();
    b.add("x", CUSTOM_KEY_2, &["--provider", "custom"]);
    b.add("beta", OPENAI_KEY_3, &["--provider", "openai"]);
    b.kw(["rotate", "beta"])
        .stdin(&format!("{OPENAI_KEY_2}\n"))
        .run()
        .ok_quiet();
    let audit_before = b.audit(None);

    let out = b.restore(&file, &["--replace"]).run().ok_quiet();
    assert!(
        out.stdout.starts_with("Restored 3 entries ")
            && out.stdout.contains("replacing 2 entries")
            && !out.stdout.contains("carried over"),
        "{out}"
    );
    assert_eq!(b.content(), content);
    assert!(
        b.kw(["get", "x"])
            .run()
            .fails_clean(4)
            .contains("no entry named 'x'")
    );
    assert_eq!(b.get("beta"), ANTHROPIC_KEY);
    // beta's versions are the bundle's: the replaced entry's are gone.
    assert_eq!(b.history("beta"), a.history("beta"));
    let rotate_back = b
        .kw(["rotate", "beta", "--force"])
        .stdin(&format!("{OPENAI_KEY_3}\n"))
        .run()
        .ok_quiet();
    assert!(
        rotate_back.stdout.contains("version 2 is current"),
        "{rotate_back}"
    );

    let audit = b.audit(None);
    assert_eq!(audit[..audit_before.len()], audit_before[..]);
    let import = &audit[audit_before.len()];
    assert_eq!(import["action"], "import");
    assert_eq!(
        import["detail"],
        "restored 3 entries from a backup (replace: 2 removed)"
    );
    b.kw(["audit", "--verify"]).run().ok_quiet();
}

// ---------------------------------------------------------------------------------
// Refusals leave the vault as it was

/// A vault with entries, versions and events, to restore into.
fn target() -> TestVault {
    let b = TestVault::new();
    b.add("keep", CUSTOM_KEY_2, &["--provider", "custom"]);
    b.add("alpha", OPENAI_KEY_2, &["--provider", "openai"]);
    b.kw(["rotate", "alpha"])
        .stdin(&format!("{OPENAI_KEY_3}\n"))
        .run()
        .ok_quiet();
    b
}

#[test]
fn a_wrong_bundle_passphrase_restores_nothing() {
    let (_a, file) = abc_bundle();
    let b = target();
    let before = b.state();
    for flags in [&[][..], &["--replace"], &["--merge"]] {
        let line = b
            .restore(&file, flags)
            .env("KEYWARD_BUNDLE_PASSPHRASE", WRONG_PW)
            .run()
            .fails_clean(3);
        assert_eq!(
            line,
            format!(
                "keyward: wrong passphrase for the bundle {}; nothing was restored, try again",
                file.display()
            )
        );
    }
    let pass_file = b.path("wrong.txt");
    std::fs::write(&pass_file, format!("{WRONG_PW}\n")).unwrap();
    b.restore(&file, &["--replace"])
        .arg_path_flag("--bundle-passphrase-file", &pass_file)
        .run()
        .fails_clean(3);
    // The vault's own passphrase, wrong, is told apart from the bundle's.
    let vault_line = b
        .restore(&file, &["--replace"])
        .env("KEYWARD_PASSPHRASE", WRONG_PW)
        .run()
        .fails_clean(3);
    assert!(vault_line.contains("for the vault at"), "{vault_line}");
    assert_eq!(b.state(), before);
    assert_eq!(b.get("keep"), CUSTOM_KEY_2);
}

#[test]
fn a_tampered_or_truncated_bundle_restores_nothing() {
    let (_a, file) = abc_bundle();
    let good = read(&file);
    let n = good.len();
    let b = target();
    let before = b.state();
    let bad = b.path("bad.kwb");

    let mut variants: Vec<(String, Vec<u8>)> = Vec::new();
    // Every header field (magic, version, KDF id and parameters, salt, nonce, key
    // check), the ciphertext, the tag and the digest.
    for at in [
        0,
        7,
        8,
        11,
        12,
        MEMORY_AT,
        ITERATIONS_AT + 3,
        PARALLELISM_AT,
        25,
        56,
        57,
        80,
        CHECK_AT,
        HEADER_LEN - 1,
        HEADER_LEN,
        (HEADER_LEN + n) / 2,
        n - DIGEST_LEN - 16,
        n - DIGEST_LEN - 1,
        n - DIGEST_LEN,
        n - 1,
    ] {
        for mask in [0x01, 0x80] {
            let mut v = good.clone();
            v[at] ^= mask;
            variants.push((format!("byte {at} ^ {mask:#04x}"), v));
        }
    }
    for len in [
        0,
        5,
        8,
        40,
        HEADER_LEN,
        n - DIGEST_LEN - 1,
        n - DIGEST_LEN,
        n - 1,
    ] {
        variants.push((format!("cut to {len} bytes"), good[..len].to_vec()));
    }
    let mut longer = good.clone();
    longer.push(0);
    variants.push(("one byte appended".into(), longer));
    variants.push(("not a bundle".into(), b"KEYWARD_PASSPHRASE=x\n".to_vec()));

    for (what, bytes) in &variants {
        std::fs::write(&bad, bytes).unwrap();
        for flags in [&["--replace"][..], &[]] {
            let line = b.restore(&bad, flags).run().fails_clean(7);
            assert!(
                line.starts_with(&format!("keyward: the bundle {} ", bad.display()))
                    && line.ends_with("; nothing was restored"),
                "{what}: {line}"
            );
            assert!(line.contains("damaged"), "{what}: {line}");
        }
    }

    // Altered on purpose, with the checksum recomputed: the contents fail
    // authentication.
    let mut forged = good.clone();
    forged[HEADER_LEN + 3] ^= 0x01;
    redigest(&mut forged);
    std::fs::write(&bad, &forged).unwrap();
    let line = b.restore(&bad, &["--replace"]).run().fails_clean(7);
    assert!(line.contains("failed authentication"), "{line}");
    // A header field altered with the checksum recomputed changes the derived key:
    // it reads as a wrong passphrase (exit 3), and restores nothing either.
    for at in [25, CHECK_AT + 5] {
        let mut forged = good.clone();
        forged[at] ^= 0x01;
        redigest(&mut forged);
        std::fs::write(&bad, &forged).unwrap();
        b.restore(&bad, &["--replace"]).run().fails_clean(3);
    }
    // A newer format is named as such.
    let mut newer = good.clone();
    newer[8] = 2;
    redigest(&mut newer);
    std::fs::write(&bad, &newer).unwrap();
    let line = b.restore(&bad, &["--replace"]).run().fails_clean(7);
    assert!(
        line.contains("format 2") && line.contains("upgrade keyward"),
        "{line}"
    );

    assert_eq!(b.state(), before);
    assert_eq!(b.get("alpha"), OPENAI_KEY_3);
    // The good bundle still restores.
    b.restore(&file, &["--replace"]).run().ok_quiet();
    assert_eq!(b.names(), ["alpha", "beta", "gamma"]);
}

#[test]
fn absurd_kdf_parameters_in_a_bundle_are_refused() {
    let (_a, file) = abc_bundle();
    let good = read(&file);
    let b = target();
    let before = b.state();
    let bad = b.path("absurd.kwb");
    for (at, value, says) in [
        (MEMORY_AT, u32::MAX, "MiB of memory"),
        (MEMORY_AT, 4 * 1024 * 1024 + 1, "MiB of memory"),
        (ITERATIONS_AT, 0, "passes"),
        (ITERATIONS_AT, 1_000_000, "passes"),
        (PARALLELISM_AT, 0, "lanes"),
        (PARALLELISM_AT, 65, "lanes"),
    ] {
        let mut v = good.clone();
        v[at..at + 4].copy_from_slice(&value.to_le_bytes());
        redigest(&mut v);
        std::fs::write(&bad, &v).unwrap();
        let line = b.restore(&bad, &["--replace"]).run().fails_clean(7);
        assert!(
            line.contains("which keyward refuses to run") && line.contains(says),
            "{at}={value}: {line}"
        );
    }
    assert_eq!(b.state(), before);

    // And backup refuses to make one.
    for flags in [
        ["--kdf-memory-mib", "0"],
        ["--kdf-memory-mib", "5000"],
        ["--kdf-iterations", "0"],
        ["--kdf-parallelism", "65"],
    ] {
        b.kw(["backup"])
            .arg_path(&b.path("never.kwb"))
            .args(flags)
            .run()
            .fails_clean(2);
    }
    assert!(!b.path("never.kwb").exists());
    assert_eq!(b.state(), before);
}

// ---------------------------------------------------------------------------------
// The file

#[test]
fn the_bundle_is_private_and_holds_no_readable_secret_or_name() {
    let src = rich_vault();
    let file = src.path("private.kwb");
    // An existing, readable file is replaced; a stale temporary file that is a link
    // is removed, not followed.
    std::fs::write(&file, "old").unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let victim = src.path("victim.txt");
    std::fs::write(&victim, "untouched").unwrap();
    let tmp = src.path("private.kwb.tmp");
    std::os::unix::fs::symlink(&victim, &tmp).unwrap();

    src.backup("private.kwb");
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the bundle is {mode:o}");
    assert!(std::fs::symlink_metadata(&tmp).is_err(), "the .tmp is left");
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "untouched");

    let bytes = read(&file);
    assert_eq!(&bytes[..8], b"KWBUNDLE");
    let b64 = base64::engine::general_purpose::STANDARD;
    let b64url = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let needles = [
        OPENAI_KEY,
        OPENAI_KEY_2,
        OPENAI_KEY_3,
        ANTHROPIC_KEY,
        AWS_SECRET,
        AWS_ID,
        CUSTOM_KEY,
        "openai-prod",
        "anthropic-dev",
        "aws-prod",
        "custom.x_1",
        "canary",
        "team key",
        "billing",
        "eu-west-1",
    ];
    for needle in needles {
        let mut forms = vec![
            needle.as_bytes().to_vec(),
            hex::encode(needle).into_bytes(),
            hex::encode_upper(needle).into_bytes(),
        ];
        // base64 at each of the three alignments, without the partial last group.
        for skip in 0..3 {
            for engine in [&b64, &b64url] {
                let enc = engine.encode(&needle.as_bytes()[skip..]);
                let whole = enc.trim_end_matches('=');
                forms.push(whole.as_bytes()[..whole.len() - whole.len() % 4].to_vec());
            }
        }
        for form in forms {
            assert!(
                !contains(&bytes, &form),
                "the bundle holds {needle} as {}",
                String::from_utf8_lossy(&form)
            );
        }
    }
}

#[test]
fn a_failed_backup_writes_nothing_and_records_nothing() {
    let src = TestVault::new();
    src.add("k", CUSTOM_KEY, &["--provider", "custom"]);
    let before = src.state();
    let missing = src.path("no/such/dir/b.kwb");
    src.kw(["backup"])
        .arg_path(&missing)
        .args(TINY_KDF)
        .run()
        .fails_after_warning(1);
    assert!(!src.path("no").exists());
    assert_eq!(src.state(), before);
    // A bundle that is not there: nothing to read.
    src.restore(&src.path("absent.kwb"), &[])
        .run()
        .fails_clean(1);
    assert_eq!(src.state(), before);
}
