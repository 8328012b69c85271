//! End-to-end tests of the `keyward` binary: each test runs the real executable in its
//! own temporary vault and checks what a user sees or relies on: stdout, stderr, the
//! exit code, and what is stored afterwards.
//!
//! Every vault is created with a tiny KDF (1 MiB, 1 pass, 1 lane) so the whole file
//! runs fast. The user's own `KEYWARD_*` variables never reach the child process.

mod support {
    pub mod cli;
}

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use support::cli::{Out, PW, TINY_KDF};
use tempfile::TempDir;

/// The passphrase `passwd` tests change to.
const NEW_PW: &str = "a brand new passphrase for the vault";
/// A passphrase that is not the vault's.
const WRONG_PW: &str = "definitely not the passphrase";

// Fake keys of each provider's shape. Each holds a distinctive "canary" so a leak
// anywhere is easy to catch.
const OPENAI_KEY: &str = "sk-proj-OAIcanary7Xw4Vb9Nm2Lk5Jh8Gf3Ds0Qp";
const OPENAI_KEY_2: &str = "sk-proj-OAIcanary2Zz9Yy8Xx7Ww6Vv5Uu4Tt3Ss";
const ANTHROPIC_KEY: &str = "sk-ant-api03-ANTcanary9Qw8Er7Ty6Ui5Op4As3Df2Gh";
const GEMINI_KEY: &str = "AIzaSyGEMcanary1b2C3d4E5f6G7h8I9j0K1l2M";
const GITHUB_KEY: &str = "ghp_GHcanary0123456789abcdefghijklmnopqrst";
const DEEPSEEK_KEY: &str = "sk-557a1b2c3d4e5f60718293a4b5c67e46";
const AWS_SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYAWScanary1";
const CUSTOM_KEY: &str = "plain-CUSTcanary-value-0042";
/// Not a secret (it is printed by `get --field`), but an AWS entry needs it.
const AWS_ID: &str = "AKIAIOSFODNN7EXAMPLE";

/// Strings that must never appear on stderr, whatever fails.
const NEVER_ON_STDERR: &[&str] = &[
    PW,
    NEW_PW,
    WRONG_PW,
    OPENAI_KEY,
    OPENAI_KEY_2,
    ANTHROPIC_KEY,
    GEMINI_KEY,
    GITHUB_KEY,
    DEEPSEEK_KEY,
    AWS_SECRET,
    CUSTOM_KEY,
    "canary",
];

/// Every field `show --json` and `list --json` give for an entry.
const JSON_FIELDS: &[&str] = &[
    "id",
    "name",
    "provider",
    "environment",
    "env_var",
    "base_url",
    "model",
    "tier",
    "tags",
    "notes",
    "active",
    "primary",
    "status",
    "key",
    "fields",
    "expires_at",
    "rotate_every_days",
    "rotated_at",
    "created_at",
    "updated_at",
    "last_used_at",
    "use_count",
    "last_error",
    "error_count",
];

// ---------------------------------------------------------------------------
// Running the binary (tests/support/cli.rs)
// ---------------------------------------------------------------------------

impl Out {
    /// Asserts success; stderr may hold warnings (checked by the caller).
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

    /// Drops `init`'s weak-KDF warning line from stderr (printed before the vault is
    /// made, so a failing `init` with the tiny KDF prints it and then its error).
    fn without_kdf_warning(mut self) -> Self {
        self.stderr = self
            .stderr
            .lines()
            .filter(|l| !(l.starts_with("keyward: warning: ") && l.contains("OWASP")))
            .map(|l| format!("{l}\n"))
            .collect();
        self
    }
}

#[track_caller]
fn assert_clean_stderr(out: &Out) {
    for bad in ["panicked", "internal error", "backtrace", "RUST_BACKTRACE"] {
        assert!(!out.stderr.contains(bad), "stderr has '{bad}'\n{out}");
    }
    for secret in NEVER_ON_STDERR {
        assert!(
            !out.stderr.contains(secret),
            "stderr leaks a secret ({secret})\n{out}"
        );
    }
}

/// A command line for the binary ([`support::cli::command`]: the user's `KEYWARD_*`
/// variables removed).
struct Kw {
    cmd: Command,
    input: Option<String>,
}

fn keyward() -> Kw {
    let mut cmd = support::cli::command();
    // Would make a default panic print a backtrace: the binary must not.
    cmd.env("RUST_BACKTRACE", "1");
    Kw { cmd, input: None }
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

    fn env(mut self, key: &str, value: impl AsRef<std::ffi::OsStr>) -> Self {
        self.cmd.env(key, value);
        self
    }

    fn arg_path(mut self, path: &Path) -> Self {
        self.cmd.arg(path);
        self
    }

    fn env_remove(mut self, key: &str) -> Self {
        self.cmd.env_remove(key);
        self
    }

    /// Uses `pass` as the vault passphrase (KEYWARD_PASSPHRASE).
    fn pass(self, pass: &str) -> Self {
        self.env("KEYWARD_PASSPHRASE", pass)
    }

    /// Pipes `text` on stdin, then closes it. Without this, stdin is /dev/null.
    fn stdin(mut self, text: &str) -> Self {
        self.input = Some(text.to_string());
        self
    }

    fn run(self) -> Out {
        support::cli::run(self.cmd, self.input.as_deref())
    }
}

// ---------------------------------------------------------------------------
// Test vaults
// ---------------------------------------------------------------------------

/// A vault in its own temporary directory (`TMP/vault`), removed on drop: a
/// [`support::cli::TestVault`], whose `tmp` and `dir` it derefs to.
struct TestVault(support::cli::TestVault);

impl std::ops::Deref for TestVault {
    type Target = support::cli::TestVault;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl TestVault {
    /// A place for a vault; nothing is created yet.
    fn uninit() -> Self {
        Self(support::cli::TestVault::uninit())
    }

    /// A vault created with the tiny KDF and [`PW`].
    fn new() -> Self {
        let v = Self::uninit();
        v.init().run().ok_with_stderr();
        v
    }

    /// `init` with the tiny KDF (not yet run).
    fn init(&self) -> Kw {
        self.kw(["init"]).args(TINY_KDF)
    }

    /// `keyward --vault DIR ARGS` with KEYWARD_PASSPHRASE set to [`PW`].
    fn kw<I, S>(&self, args: I) -> Kw
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        keyward()
            .args([std::ffi::OsStr::new("--vault"), self.dir.as_os_str()])
            .pass(PW)
            .args(args)
    }

    /// A file in the temporary directory, beside the vault (not inside it).
    fn file(&self, name: &str, contents: &str) -> PathBuf {
        let path = self.tmp.path().join(name);
        std::fs::write(&path, contents).expect("cannot write a test file");
        path
    }

    /// `add NAME EXTRA…` with `secret` on stdin; must succeed quietly.
    #[track_caller]
    fn add(&self, name: &str, secret: &str, extra: &[&str]) -> Out {
        self.kw(["add", name])
            .args(extra)
            .stdin(&format!("{secret}\n"))
            .run()
            .ok_quiet()
    }

    /// `get NAME`'s stdout; must succeed.
    #[track_caller]
    fn get(&self, name: &str) -> String {
        self.kw(["get", name]).run().ok_quiet().stdout
    }

    /// `show NAME --json`, parsed; must succeed.
    #[track_caller]
    fn show(&self, name: &str) -> Value {
        self.kw(["show", name, "--json"]).run().ok_quiet().json()
    }

    /// `list --json`, parsed; must succeed.
    #[track_caller]
    fn list_json(&self) -> Vec<Value> {
        match self.kw(["list", "--json"]).run().ok_quiet().json() {
            Value::Array(a) => a,
            other => panic!("list --json is not an array: {other}"),
        }
    }

    /// What a user can see of the vault without using a secret: `list --json`.
    /// (sled rewrites its snapshot files whenever the vault is opened, so a command
    /// that opened the vault and then refused is checked with this, not bytes.)
    #[track_caller]
    fn state(&self) -> Value {
        self.kw(["list", "--json"]).run().ok_quiet().json()
    }

    fn header_path(&self) -> PathBuf {
        self.dir.join("header")
    }

    fn snapshot(&self) -> Snapshot {
        snapshot(&self.dir)
    }
}

/// Every directory (`None`) and file (its bytes) under a root, by relative path.
type Snapshot = BTreeMap<PathBuf, Option<Vec<u8>>>;

fn snapshot(root: &Path) -> Snapshot {
    fn walk(root: &Path, dir: &Path, out: &mut Snapshot) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
            .map(|e| e.expect("cannot read a directory entry").path())
            .collect();
        entries.sort();
        for path in entries {
            let rel = path.strip_prefix(root).unwrap().to_path_buf();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            if meta.is_dir() {
                out.insert(rel, None);
                walk(root, &path, out);
            } else {
                let bytes = std::fs::read(&path)
                    .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
                out.insert(rel, Some(bytes));
            }
        }
    }
    let mut out = Snapshot::new();
    walk(root, root, &mut out);
    assert!(!out.is_empty(), "{} is empty", root.display());
    out
}

/// Asserts two snapshots are identical, naming the paths that differ.
#[track_caller]
fn assert_unchanged(before: &Snapshot, after: &Snapshot, what: &str) {
    let mut diffs = Vec::new();
    for (path, old) in before {
        match after.get(path) {
            None => diffs.push(format!("removed: {}", path.display())),
            Some(new) if new != old => diffs.push(format!("changed: {}", path.display())),
            Some(_) => {}
        }
    }
    for path in after.keys().filter(|p| !before.contains_key(*p)) {
        diffs.push(format!("added: {}", path.display()));
    }
    assert!(
        diffs.is_empty(),
        "{what} changed the vault:\n{}",
        diffs.join("\n")
    );
}

/// Asserts `root` is 0700 and everything below it is 0700 (dirs) or 0600 (files).
#[track_caller]
fn assert_private(root: &Path) {
    fn walk(path: &Path, bad: &mut Vec<String>) {
        let meta = std::fs::symlink_metadata(path).unwrap();
        let mode = meta.permissions().mode() & 0o777;
        let want = if meta.is_dir() { 0o700 } else { 0o600 };
        if mode != want {
            bad.push(format!("{} is {mode:o}, want {want:o}", path.display()));
        }
        if meta.is_dir() {
            for e in std::fs::read_dir(path).unwrap() {
                walk(&e.unwrap().path(), bad);
            }
        }
    }
    let mut bad = Vec::new();
    walk(root, &mut bad);
    assert!(bad.is_empty(), "not private:\n{}", bad.join("\n"));
}

/// Asserts output meant for the screen holds no secret.
#[track_caller]
fn assert_no_secret(text: &str, what: &str) {
    for secret in NEVER_ON_STDERR {
        assert!(
            !text.contains(secret),
            "{what} shows a secret ({secret}):\n{text}"
        );
    }
}

// ---------------------------------------------------------------------------
// 1. init
// ---------------------------------------------------------------------------

#[test]
fn init_creates_a_private_vault_and_warns_about_a_weak_kdf() {
    let v = TestVault::uninit();
    let out = v.init().run().ok_with_stderr();
    assert_eq!(
        out.stdout,
        format!(
            "Created a vault at {} (Argon2id m=1 MiB, t=1, p=1)\n",
            v.dir.display()
        )
    );
    assert_eq!(
        out.stderr.matches("below OWASP's floor").count(),
        1,
        "expected one OWASP warning\n{out}"
    );
    assert_eq!(out.stderr.lines().count(), 1, "{out}");
    assert!(out.stderr.starts_with("keyward: warning: "), "{out}");
    assert!(v.header_path().is_file());
    assert_private(&v.dir);

    // Files sled makes later (writes, a rekey, a passphrase change) are private too.
    v.add("openai-prod", OPENAI_KEY, &[]);
    v.get("openai-prod");
    v.kw(["rekey"]).run().ok_quiet();
    v.kw(["passwd"])
        .env("KEYWARD_NEW_PASSPHRASE", NEW_PW)
        .run()
        .ok_quiet();
    assert_private(&v.dir);
}

#[test]
fn init_makes_an_existing_open_directory_private() {
    let v = TestVault::uninit();
    std::fs::create_dir(&v.dir).unwrap();
    std::fs::set_permissions(&v.dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    v.init().run().ok_with_stderr();
    assert_private(&v.dir);
}

#[test]
fn init_where_no_directory_can_be_made_exits_1() {
    let v = TestVault::uninit();
    let blocker = v.file("a-file", "not a directory");
    let err = keyward()
        .args(["--vault"])
        .arg_path(&blocker.join("vault"))
        .pass(PW)
        .args(["init"])
        .args(TINY_KDF)
        .run()
        .without_kdf_warning()
        .fails_clean(1);
    assert!(err.contains("cannot create"), "{err}");
}

#[test]
fn second_init_is_refused_and_changes_nothing() {
    let v = TestVault::new();
    v.add("openai-prod", OPENAI_KEY, &[]);
    let before = v.snapshot();

    let err = v.init().run().fails_clean(2);
    assert!(err.contains("already exists"), "{err}");
    assert!(err.contains(&v.dir.display().to_string()), "{err}");
    // With a different passphrase too: nothing is replaced.
    v.init().pass(NEW_PW).run().fails_clean(2);

    assert_unchanged(&before, &v.snapshot(), "a second init");
    assert_eq!(v.get("openai-prod"), format!("{OPENAI_KEY}\n"));
}

#[test]
fn init_refuses_out_of_range_kdf_flags_and_creates_nothing() {
    let v = TestVault::uninit();
    for flags in [
        ["--kdf-memory-mib", "0", "--kdf-iterations", "1"],
        ["--kdf-memory-mib", "4097", "--kdf-iterations", "1"],
        ["--kdf-memory-mib", "1", "--kdf-iterations", "0"],
        ["--kdf-memory-mib", "1", "--kdf-iterations", "1001"],
    ] {
        let err = v
            .kw(["init"])
            .args(flags)
            .args(["--kdf-parallelism", "1"])
            .run()
            .fails_clean(2);
        assert!(err.contains("--kdf"), "{err}");
        assert!(
            !v.dir.exists(),
            "a refused init created {}",
            v.dir.display()
        );
    }
    let err = v
        .kw(["init", "--kdf-memory-mib", "abc"])
        .run()
        .fails_clean(2);
    assert!(err.contains("--kdf-memory-mib"), "{err}");
    assert!(!v.dir.exists());
}

#[test]
fn init_kdf_flag_errors_do_not_blame_a_header() {
    let v = TestVault::uninit();
    let err = v
        .kw(["init", "--kdf-memory-mib", "1", "--kdf-iterations", "0"])
        .run()
        .fails_clean(2);
    assert!(!err.contains("header"), "{err}");
}

// ---------------------------------------------------------------------------
// 2. add and get
// ---------------------------------------------------------------------------

#[test]
fn add_from_stdin_then_get_prints_exactly_the_secret() {
    let v = TestVault::new();
    let out = v.add("claude", ANTHROPIC_KEY, &[]);
    assert_eq!(out.stdout, "Added claude (anthropic, prod, sk-a…f2Gh)\n");
    assert_no_secret(&out.stdout, "add");

    let out = v.kw(["get", "claude"]).run().ok_quiet();
    assert_eq!(out.stdout, format!("{ANTHROPIC_KEY}\n"));
}

#[test]
fn pasted_whitespace_and_crlf_are_stripped_and_only_the_first_line_is_read() {
    let v = TestVault::new();
    v.kw(["add", "pasted"])
        .stdin(&format!("  \t{OPENAI_KEY} \t\r\n"))
        .run()
        .ok_quiet();
    assert_eq!(v.get("pasted"), format!("{OPENAI_KEY}\n"));

    v.kw(["add", "two-lines"])
        .stdin(&format!("{GEMINI_KEY}\r\nsecond line is not part of it\n"))
        .run()
        .ok_quiet();
    assert_eq!(v.get("two-lines"), format!("{GEMINI_KEY}\n"));

    // No trailing newline at all works too.
    v.kw(["add", "no-newline"])
        .stdin(GITHUB_KEY)
        .run()
        .ok_quiet();
    assert_eq!(v.get("no-newline"), format!("{GITHUB_KEY}\n"));
}

#[test]
fn add_refuses_an_empty_secret() {
    let v = TestVault::new();
    for input in [None, Some(""), Some("   \r\n")] {
        let mut kw = v.kw(["add", "empty", "--provider", "custom"]);
        if let Some(text) = input {
            kw = kw.stdin(text);
        }
        let err = kw.run().fails_clean(2);
        assert!(err.contains("secret is empty"), "{err}");
    }
    v.kw(["get", "empty"]).run().fails_clean(4);
}

#[test]
fn add_refuses_an_invalid_name() {
    let v = TestVault::new();
    let before = v.snapshot();
    for name in ["has space", "é", "a/b"] {
        let err = v
            .kw(["add", name, "--provider", "custom"])
            .stdin(CUSTOM_KEY)
            .run()
            .fails_clean(2);
        assert!(err.contains("invalid entry name"), "{err}");
    }
    assert_unchanged(&before, &v.snapshot(), "a refused add");
}

#[test]
fn get_counts_as_a_use() {
    let v = TestVault::new();
    v.add("openai-prod", OPENAI_KEY, &[]);
    let s = v.show("openai-prod");
    assert_eq!(s["use_count"], 0);
    assert_eq!(s["last_used_at"], Value::Null);

    v.get("openai-prod");
    let s = v.show("openai-prod");
    assert_eq!(s["use_count"], 1);
    let used = s["last_used_at"].as_str().expect("last_used_at is set");
    assert!(used.ends_with(" UTC"), "{used}");

    v.get("openai-prod");
    assert_eq!(v.show("openai-prod")["use_count"], 2);
    // Listing and showing are not uses.
    v.kw(["list"]).run().ok_quiet();
    assert_eq!(v.show("openai-prod")["use_count"], 2);
}

#[test]
fn get_of_a_missing_entry_exits_4() {
    let v = TestVault::new();
    let err = v.kw(["get", "nothing-here"]).run().fails_clean(4);
    assert!(err.contains("nothing-here"), "{err}");
    v.kw(["show", "nothing-here"]).run().fails_clean(4);
    v.kw(["edit", "nothing-here", "--note", "x"])
        .run()
        .fails_clean(4);
    v.kw(["disable", "nothing-here"]).run().fails_clean(4);
    v.kw(["rm", "--yes", "nothing-here"]).run().fails_clean(4);
}

#[test]
fn failed_get_field_records_no_use() {
    let v = TestVault::new();
    v.add("openai-prod", OPENAI_KEY, &[]);
    v.kw(["get", "openai-prod", "--field", "nope"])
        .run()
        .fails_clean(2);
    assert_eq!(v.show("openai-prod")["use_count"], 0);
}

// ---------------------------------------------------------------------------
// 3. add refusals and provider inference
// ---------------------------------------------------------------------------

#[test]
fn add_refuses_a_taken_name() {
    let v = TestVault::new();
    v.add("openai-prod", OPENAI_KEY, &[]);
    let err = v
        .kw(["add", "openai-prod"])
        .stdin(OPENAI_KEY_2)
        .run()
        .fails_clean(2);
    assert!(err.contains("'openai-prod'"), "{err}");
    assert!(err.contains("already exists"), "{err}");
    assert_eq!(v.get("openai-prod"), format!("{OPENAI_KEY}\n"));
    assert_eq!(v.list_json().len(), 1);
}

#[test]
fn add_refuses_a_wrong_format_key_unless_forced() {
    let v = TestVault::new();
    let odd = "not-an-openai-CUSTcanary-at-all";
    let err = v
        .kw(["add", "odd", "--provider", "openai"])
        .stdin(odd)
        .run()
        .fails_clean(2);
    assert!(err.contains("OpenAI"), "{err}");
    assert!(err.contains("expected sk-"), "{err}");
    assert!(err.contains("--force"), "{err}");
    assert!(!err.contains(odd), "{err}");
    v.kw(["get", "odd"]).run().fails_clean(4);

    // An Anthropic key declared as Gemini is refused the same way.
    let err = v
        .kw(["add", "mixed", "--provider", "gemini"])
        .stdin(ANTHROPIC_KEY)
        .run()
        .fails_clean(2);
    assert!(err.contains("expected AIza"), "{err}");

    v.add("odd", odd, &["--provider", "openai", "--force"]);
    assert_eq!(v.get("odd"), format!("{odd}\n"));
    assert_eq!(v.show("odd")["provider"], "openai");
}

#[test]
fn add_refuses_an_unknown_provider() {
    let v = TestVault::new();
    let err = v
        .kw(["add", "x", "--provider", "nope"])
        .stdin(CUSTOM_KEY)
        .run()
        .fails_clean(2);
    assert!(err.contains("unknown provider 'nope'"), "{err}");
    assert!(err.contains("openai, anthropic"), "{err}");
}

#[test]
fn add_infers_the_provider_from_the_key_prefix() {
    let v = TestVault::new();
    for (name, key, provider, var) in [
        ("a", ANTHROPIC_KEY, "anthropic", "ANTHROPIC_API_KEY"),
        ("g", GEMINI_KEY, "gemini", "GEMINI_API_KEY"),
        ("o", OPENAI_KEY, "openai", "OPENAI_API_KEY"),
        ("h", GITHUB_KEY, "github", "GITHUB_TOKEN"),
        ("d", DEEPSEEK_KEY, "deepseek", "DEEPSEEK_API_KEY"),
    ] {
        let out = v.add(name, key, &[]);
        assert!(
            out.stdout
                .starts_with(&format!("Added {name} ({provider}, prod, ")),
            "{out}"
        );
        let s = v.show(name);
        assert_eq!(s["provider"], provider, "{key}");
        assert_eq!(s["env_var"], var, "{key}");
        assert_eq!(v.get(name), format!("{key}\n"));
    }
}

#[test]
fn add_without_provider_and_unknown_prefix_is_refused_with_advice() {
    let v = TestVault::new();
    let err = v
        .kw(["add", "mystery"])
        .stdin(CUSTOM_KEY)
        .run()
        .fails_clean(2);
    assert!(err.contains("cannot tell the provider"), "{err}");
    assert!(err.contains("--provider"), "{err}");
    assert_eq!(v.state(), serde_json::json!([]));

    v.add("mystery", CUSTOM_KEY, &["--provider", "custom"]);
    assert_eq!(v.get("mystery"), format!("{CUSTOM_KEY}\n"));
}

// ---------------------------------------------------------------------------
// 4. list
// ---------------------------------------------------------------------------

/// A vault with four entries of three providers and two environments.
fn listed_vault() -> TestVault {
    let v = TestVault::new();
    v.add("openai-prod", OPENAI_KEY, &[]);
    v.add("openai-dev", OPENAI_KEY_2, &["--env", "dev"]);
    v.add("claude", ANTHROPIC_KEY, &["--env", "dev"]);
    v.add("gemini-old", GEMINI_KEY, &["--inactive"]);
    v
}

#[test]
fn list_prints_a_table_with_masked_keys() {
    let v = listed_vault();
    let out = v.kw(["list"]).run().ok_quiet();
    assert_no_secret(&out.stdout, "list");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 5, "{out}");
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        [
            "NAME", "PROVIDER", "ENV", "KEY", "STATUS", "LAST", "USED", "AGE"
        ]
    );
    // Sorted by name.
    let names: Vec<&str> = lines[1..]
        .iter()
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(names, ["claude", "gemini-old", "openai-dev", "openai-prod"]);
    for (line, (provider, env, key, status)) in lines[1..].iter().zip([
        ("anthropic", "dev", ANTHROPIC_KEY, "active"),
        ("gemini", "prod", GEMINI_KEY, "inactive"),
        ("openai", "dev", OPENAI_KEY_2, "active"),
        ("openai", "prod", OPENAI_KEY, "active"),
    ]) {
        let cells: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(cells[1], provider, "{line}");
        assert_eq!(cells[2], env, "{line}");
        // The mask shows a short prefix, '…' and the last 4 characters.
        assert!(cells[3].contains('…'), "{line}");
        assert!(cells[3].ends_with(&key[key.len() - 4..]), "{line}");
        assert!(
            cells[3].chars().filter(|c| *c != '…').count() <= 8,
            "{line}"
        );
        assert_eq!(cells[4], status, "{line}");
        assert!(line.contains("never"), "nothing was used yet: {line}");
    }
    // The alias works the same.
    assert_eq!(v.kw(["ls"]).run().ok_quiet().stdout.lines().count(), 5);
}

#[test]
fn list_of_an_empty_vault_says_how_to_add() {
    let v = TestVault::new();
    let out = v.kw(["list"]).run().ok_quiet();
    assert!(out.stdout.starts_with("No entries yet."), "{out}");
    assert!(out.stdout.contains("keyward add"), "{out}");
    assert_eq!(v.list_json(), Vec::<Value>::new());
}

#[test]
fn secrets_never_appear_in_list_or_show() {
    let v = listed_vault();
    v.add(
        "aws-prod",
        AWS_SECRET,
        &[
            "--provider",
            "aws",
            "--field",
            &format!("access_key_id={AWS_ID}"),
        ],
    );
    v.add("custom-svc", CUSTOM_KEY, &["--provider", "custom"]);
    let mut seen = Vec::new();
    for args in [
        vec!["list"],
        vec!["list", "--json"],
        vec!["list", "--provider", "openai"],
    ] {
        seen.push(v.kw(&args).run().ok_quiet().stdout);
    }
    for name in [
        "openai-prod",
        "claude",
        "gemini-old",
        "aws-prod",
        "custom-svc",
    ] {
        seen.push(v.kw(["show", name]).run().ok_quiet().stdout);
        seen.push(v.kw(["show", name, "--json"]).run().ok_quiet().stdout);
    }
    for text in &seen {
        assert_no_secret(text, "list/show");
    }
}

#[test]
fn expired_entries_are_marked_expired_and_bad_dates_refused() {
    let v = TestVault::new();
    v.add("old", OPENAI_KEY, &["--expires", "2001-02-03"]);
    v.add("far", OPENAI_KEY_2, &["--expires", "2999-12-31"]);
    assert_eq!(v.show("old")["status"], "expired");
    assert_eq!(v.show("far")["status"], "active");
    let table = v.kw(["list"]).run().ok_quiet().stdout;
    let line = table.lines().find(|l| l.starts_with("old")).unwrap();
    assert!(line.contains("expired"), "{line}");

    for date in ["2026-13-01", "tomorrow"] {
        let err = v
            .kw(["add", "bad-date", "--expires", date])
            .stdin(ANTHROPIC_KEY)
            .run()
            .fails_clean(2);
        assert!(err.contains("YYYY-MM-DD"), "{err}");
    }
    v.kw(["get", "bad-date"]).run().fails_clean(4);
}

#[test]
fn inactive_entries_stay_listed_and_marked_inactive() {
    let v = listed_vault();
    let rows = v.list_json();
    assert_eq!(rows.len(), 4);
    let old = rows.iter().find(|r| r["name"] == "gemini-old").unwrap();
    assert_eq!(old["active"], false);
    assert_eq!(old["status"], "inactive");
    let table = v.kw(["list"]).run().ok_quiet().stdout;
    let line = table.lines().find(|l| l.starts_with("gemini-old")).unwrap();
    assert!(line.contains("inactive"), "{line}");
}

#[test]
fn list_filters_by_provider_and_env() {
    let v = listed_vault();
    let names = |args: &[&str]| -> Vec<String> {
        let mut all = vec!["list", "--json"];
        all.extend_from_slice(args);
        match v.kw(all).run().ok_quiet().json() {
            Value::Array(a) => a
                .iter()
                .map(|e| e["name"].as_str().unwrap().to_string())
                .collect(),
            other => panic!("{other}"),
        }
    };
    assert_eq!(
        names(&["--provider", "openai"]),
        ["openai-dev", "openai-prod"]
    );
    assert_eq!(
        names(&["--provider", "OpenAI"]),
        ["openai-dev", "openai-prod"]
    );
    assert_eq!(names(&["--provider", "google"]), ["gemini-old"]);
    assert_eq!(names(&["--env", "dev"]), ["claude", "openai-dev"]);
    assert_eq!(
        names(&["--provider", "openai", "--env", "dev"]),
        ["openai-dev"]
    );
    assert!(names(&["--provider", "groq"]).is_empty());

    // The table filters too, keeping its header.
    let out = v.kw(["list", "--env", "prod"]).run().ok_quiet();
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert!(lines[0].starts_with("NAME"));
    let out = v.kw(["list", "--provider", "groq"]).run().ok_quiet();
    assert_eq!(out.stdout.lines().count(), 1, "only the header: {out}");

    let err = v.kw(["list", "--provider", "nope"]).run().fails_clean(2);
    assert!(err.contains("unknown provider 'nope'"), "{err}");
}

#[test]
fn list_json_is_valid_json_with_every_field() {
    let v = listed_vault();
    let rows = v.list_json();
    assert_eq!(rows.len(), 4);
    for row in &rows {
        let obj = row.as_object().expect("each entry is an object");
        for field in JSON_FIELDS {
            assert!(obj.contains_key(*field), "list --json lacks {field}: {row}");
        }
        assert_eq!(row["use_count"], 0);
        assert!(row["id"].as_str().is_some_and(|s| s.len() == 36), "{row}");
    }
    let prod = rows.iter().find(|r| r["name"] == "openai-prod").unwrap();
    assert_eq!(prod["provider"], "openai");
    assert_eq!(prod["environment"], "prod");
    assert_eq!(prod["env_var"], "OPENAI_API_KEY");
    assert_eq!(prod["active"], true);
    assert_eq!(prod["status"], "active");
    assert_eq!(prod["key"], v.show("openai-prod")["key"]);
}

// ---------------------------------------------------------------------------
// 5. show
// ---------------------------------------------------------------------------

#[test]
fn show_json_has_every_metadata_field() {
    let v = TestVault::new();
    v.add(
        "openai-staging",
        OPENAI_KEY,
        &[
            "--env",
            "staging",
            "--var",
            "MY_OPENAI_KEY",
            "--base-url",
            "https://proxy.example.com/v1",
            "--model",
            "gpt-test",
            "--tier",
            "paid",
            "--tag",
            "team-a",
            "--tag",
            "billing",
            "--note",
            "rotated by ops",
            "--expires",
            "2099-12-31",
            "--rotate-every",
            "90",
        ],
    );
    let s = v.show("openai-staging");
    let obj = s.as_object().unwrap();
    for field in JSON_FIELDS {
        assert!(obj.contains_key(*field), "show --json lacks {field}: {s}");
    }
    assert_eq!(s["name"], "openai-staging");
    assert_eq!(s["provider"], "openai");
    assert_eq!(s["environment"], "staging");
    assert_eq!(s["env_var"], "MY_OPENAI_KEY");
    assert_eq!(s["base_url"], "https://proxy.example.com/v1");
    assert_eq!(s["model"], "gpt-test");
    assert_eq!(s["tier"], "paid");
    assert_eq!(s["tags"], serde_json::json!(["team-a", "billing"]));
    assert_eq!(s["notes"], "rotated by ops");
    assert_eq!(s["active"], true);
    assert_eq!(s["primary"], false);
    assert_eq!(s["status"], "active");
    assert_eq!(s["fields"], serde_json::json!([]));
    assert_eq!(s["expires_at"], "2099-12-31");
    assert_eq!(s["rotate_every_days"], 90);
    assert_eq!(s["rotated_at"], Value::Null);
    assert!(s["created_at"].as_str().unwrap().ends_with(" UTC"));
    assert_eq!(s["created_at"], s["updated_at"]);
    assert_eq!(s["last_used_at"], Value::Null);
    assert_eq!(s["use_count"], 0);
    assert_eq!(s["last_error"], Value::Null);
    assert_eq!(s["error_count"], 0);
    let key = s["key"].as_str().unwrap();
    assert!(key.starts_with("sk-p…") && key.ends_with("0Qp"), "{key}");

    // The text view shows the same things, key masked.
    let out = v.kw(["show", "openai-staging"]).run().ok_quiet();
    assert_no_secret(&out.stdout, "show");
    for (label, value) in [
        ("name", "openai-staging"),
        ("provider", "openai (OpenAI)"),
        ("environment", "staging"),
        ("key", key),
        ("env var", "MY_OPENAI_KEY"),
        ("base url", "https://proxy.example.com/v1"),
        ("model", "gpt-test"),
        ("tier", "paid"),
        ("tags", "team-a, billing"),
        ("notes", "rotated by ops"),
        ("expires", "2099-12-31"),
        ("rotate every", "90 days"),
        ("rotated", "never"),
        ("last used", "never"),
        ("uses", "0"),
    ] {
        let line = format!("{label:<13}{value}");
        assert!(
            out.stdout.lines().any(|l| l == line),
            "show lacks '{line}'\n{out}"
        );
    }
}

#[test]
fn each_provider_has_its_default_env_var_and_var_overrides_it() {
    let v = TestVault::new();
    v.add("o", OPENAI_KEY, &[]);
    v.add("a", ANTHROPIC_KEY, &[]);
    v.add("g", GEMINI_KEY, &[]);
    v.add("h", GITHUB_KEY, &[]);
    v.add(
        "aws",
        AWS_SECRET,
        &[
            "--provider",
            "aws",
            "--field",
            &format!("access_key_id={AWS_ID}"),
        ],
    );
    v.add("my-svc.prod", CUSTOM_KEY, &["--provider", "custom"]);
    v.add("override", OPENAI_KEY_2, &["--var", "OTHER_KEY"]);
    for (name, var) in [
        ("o", "OPENAI_API_KEY"),
        ("a", "ANTHROPIC_API_KEY"),
        ("g", "GEMINI_API_KEY"),
        ("h", "GITHUB_TOKEN"),
        ("aws", "AWS_SECRET_ACCESS_KEY"),
        ("my-svc.prod", "MY_SVC_PROD"),
        ("override", "OTHER_KEY"),
    ] {
        assert_eq!(v.show(name)["env_var"], var, "{name}");
    }
    // The default base URL is shown as such when none was given.
    let out = v.kw(["show", "o"]).run().ok_quiet();
    assert!(
        out.stdout
            .contains("base url     https://api.openai.com/v1 (default)"),
        "{out}"
    );
}

// ---------------------------------------------------------------------------
// 6. edit, enable, disable
// ---------------------------------------------------------------------------

#[test]
fn edit_renames_an_entry() {
    let v = TestVault::new();
    v.add("old-name", OPENAI_KEY, &[]);
    v.add("taken", OPENAI_KEY_2, &[]);
    let id = v.show("old-name")["id"].clone();

    let err = v
        .kw(["edit", "old-name", "--name", "taken"])
        .run()
        .fails_clean(2);
    assert!(err.contains("'taken'"), "{err}");
    let err = v
        .kw(["edit", "old-name", "--name", "bad name"])
        .run()
        .fails_clean(2);
    assert!(err.contains("invalid entry name"), "{err}");

    let out = v
        .kw(["edit", "old-name", "--name", "new-name"])
        .run()
        .ok_quiet();
    assert_eq!(out.stdout, "Updated new-name\n");
    let err = v.kw(["get", "old-name"]).run().fails_clean(4);
    assert!(err.contains("'old-name'"), "{err}");
    v.kw(["show", "old-name"]).run().fails_clean(4);
    assert_eq!(v.get("new-name"), format!("{OPENAI_KEY}\n"));
    assert_eq!(v.show("new-name")["id"], id);
    // The old name is free again.
    v.add("old-name", ANTHROPIC_KEY, &[]);
    assert_eq!(v.get("old-name"), format!("{ANTHROPIC_KEY}\n"));
    assert_eq!(v.list_json().len(), 3);
}

#[test]
fn edit_secret_stdin_replaces_the_secret() {
    let v = TestVault::new();
    v.add("openai-prod", OPENAI_KEY, &[]);
    let before = v.show("openai-prod");

    // A wrong-format replacement is refused and the old key kept.
    v.kw(["edit", "openai-prod", "--secret-stdin"])
        .stdin("not-a-key-CUSTcanary-value\n")
        .run()
        .fails_clean(2);
    assert_eq!(v.get("openai-prod"), format!("{OPENAI_KEY}\n"));

    let out = v
        .kw(["edit", "openai-prod", "--secret-stdin"])
        .stdin(&format!("  {OPENAI_KEY_2}\r\n"))
        .run()
        .ok_quiet();
    assert_eq!(out.stdout, "Updated openai-prod\n");
    assert_eq!(v.get("openai-prod"), format!("{OPENAI_KEY_2}\n"));
    let after = v.show("openai-prod");
    assert_ne!(after["key"], before["key"]);
    assert!(after["key"].as_str().unwrap().ends_with("3Ss"));
    assert_eq!(after["id"], before["id"]);
    assert_eq!(after["name"], "openai-prod");
}

#[test]
fn edit_secret_sets_rotated_at() {
    let v = TestVault::new();
    v.add("openai-prod", OPENAI_KEY, &[]);
    // A metadata change is not a rotation.
    v.kw(["edit", "openai-prod", "--note", "n"])
        .run()
        .ok_quiet();
    assert_eq!(v.show("openai-prod")["rotated_at"], Value::Null);

    v.kw(["edit", "openai-prod", "--secret-stdin"])
        .stdin(OPENAI_KEY_2)
        .run()
        .ok_quiet();
    let s = v.show("openai-prod");
    assert!(
        s["rotated_at"]
            .as_str()
            .is_some_and(|t| t.ends_with(" UTC")),
        "{s}"
    );
    let out = v.kw(["show", "openai-prod"]).run().ok_quiet();
    assert!(
        out.stdout
            .lines()
            .any(|l| l.starts_with("rotated") && !l.ends_with("never")),
        "{out}"
    );
}

#[test]
fn edit_secret_keeps_extra_fields() {
    let v = TestVault::new();
    v.add(
        "svc",
        CUSTOM_KEY,
        &["--provider", "custom", "--field", "account=acme-42"],
    );
    v.kw(["edit", "svc", "--secret-stdin"])
        .stdin("another-custom-value-0099")
        .run()
        .ok_quiet();
    assert_eq!(v.show("svc")["fields"], serde_json::json!(["account"]));
    assert_eq!(
        v.kw(["get", "svc", "--field", "account"])
            .run()
            .ok_quiet()
            .stdout,
        "acme-42\n"
    );
}

#[test]
fn edit_field_without_secret_keeps_the_key() {
    let v = TestVault::new();
    v.add(
        "svc",
        CUSTOM_KEY,
        &["--provider", "custom", "--field", "account=acme-42"],
    );
    v.kw([
        "edit",
        "svc",
        "--field",
        "account=acme-43",
        "--field",
        "zone=eu",
    ])
    .run()
    .ok_quiet();
    assert_eq!(v.get("svc"), format!("{CUSTOM_KEY}\n"));
    assert_eq!(
        v.kw(["get", "svc", "--field", "account"])
            .run()
            .ok_quiet()
            .stdout,
        "acme-43\n"
    );
    assert_eq!(
        v.show("svc")["fields"],
        serde_json::json!(["account", "zone"])
    );
}

#[test]
fn edit_metadata_flags() {
    let v = TestVault::new();
    v.add(
        "openai-prod",
        OPENAI_KEY,
        &["--expires", "2099-01-31", "--tag", "a", "--tag", "b"],
    );
    assert_eq!(v.show("openai-prod")["expires_at"], "2099-01-31");

    v.kw(["edit", "openai-prod", "--no-expires"])
        .run()
        .ok_quiet();
    assert_eq!(v.show("openai-prod")["expires_at"], Value::Null);

    v.kw(["edit", "openai-prod", "--tag", "c"]).run().ok_quiet();
    assert_eq!(v.show("openai-prod")["tags"], serde_json::json!(["c"]));

    v.kw([
        "edit",
        "openai-prod",
        "--env",
        "staging",
        "--note",
        "moved",
        "--model",
        "m2",
        "--expires",
        "2098-02-28",
    ])
    .run()
    .ok_quiet();
    let s = v.show("openai-prod");
    assert_eq!(s["environment"], "staging");
    assert_eq!(s["notes"], "moved");
    assert_eq!(s["model"], "m2");
    assert_eq!(s["expires_at"], "2098-02-28");
    assert_eq!(s["tags"], serde_json::json!(["c"]));
    // The secret was not touched.
    assert_eq!(v.get("openai-prod"), format!("{OPENAI_KEY}\n"));

    let err = v
        .kw(["edit", "openai-prod", "--expires", "someday"])
        .run()
        .fails_clean(2);
    assert!(err.contains("YYYY-MM-DD"), "{err}");
    // --no-expires and --expires together are a usage error.
    v.kw([
        "edit",
        "openai-prod",
        "--no-expires",
        "--expires",
        "2099-01-01",
    ])
    .run()
    .fails_clean(2);
    assert_eq!(v.show("openai-prod")["expires_at"], "2098-02-28");
}

#[test]
fn edit_without_flags_is_refused() {
    let v = TestVault::new();
    v.add("openai-prod", OPENAI_KEY, &[]);
    let before = v.state();
    let err = v.kw(["edit", "openai-prod"]).run().fails_clean(2);
    assert!(err.contains("nothing to change"), "{err}");
    assert_eq!(v.state(), before, "edit with no flags changed the entry");
}

#[test]
fn enable_and_disable_toggle_the_status() {
    let v = TestVault::new();
    v.add("openai-prod", OPENAI_KEY, &[]);
    let out = v.kw(["disable", "openai-prod"]).run().ok_quiet();
    assert_eq!(out.stdout, "Disabled openai-prod\n");
    let s = v.show("openai-prod");
    assert_eq!(s["active"], false);
    assert_eq!(s["status"], "inactive");
    assert_eq!(v.list_json().len(), 1, "disabled entries stay listed");

    let out = v.kw(["enable", "openai-prod"]).run().ok_quiet();
    assert_eq!(out.stdout, "Enabled openai-prod\n");
    let s = v.show("openai-prod");
    assert_eq!(s["active"], true);
    assert_eq!(s["status"], "active");

    // An entry added --inactive can be enabled.
    v.add("later", ANTHROPIC_KEY, &["--inactive"]);
    assert_eq!(v.show("later")["status"], "inactive");
    v.kw(["enable", "later"]).run().ok_quiet();
    assert_eq!(v.show("later")["status"], "active");
}

// ---------------------------------------------------------------------------
// 7. primary
// ---------------------------------------------------------------------------

#[test]
fn a_new_primary_demotes_the_old_one_of_the_same_provider_and_env() {
    let v = TestVault::new();
    let out = v.add("openai-a", OPENAI_KEY, &["--primary"]);
    assert!(out.stderr.is_empty());
    let a = v.show("openai-a");
    assert_eq!(a["primary"], true);
    assert_eq!(a["status"], "primary");

    let out = v
        .kw(["add", "openai-b", "--primary"])
        .stdin(OPENAI_KEY_2)
        .run()
        .ok_with_stderr();
    assert_eq!(out.stderr, "keyward: openai-a is no longer primary\n");
    assert!(out.stdout.starts_with("Added openai-b"), "{out}");
    assert_eq!(v.show("openai-a")["primary"], false);
    assert_eq!(v.show("openai-a")["status"], "active");
    assert_eq!(v.show("openai-b")["primary"], true);

    // Another environment or provider demotes nobody.
    v.add("openai-dev", OPENAI_KEY, &["--primary", "--env", "dev"]);
    v.add("claude", ANTHROPIC_KEY, &["--primary"]);
    assert_eq!(v.show("openai-b")["primary"], true);

    // edit --primary demotes the same way.
    let out = v
        .kw(["edit", "openai-a", "--primary"])
        .run()
        .ok_with_stderr();
    assert_eq!(out.stderr, "keyward: openai-b is no longer primary\n");
    assert_eq!(v.show("openai-a")["primary"], true);
    assert_eq!(v.show("openai-b")["primary"], false);
    assert_eq!(v.show("openai-dev")["primary"], true);
    assert_eq!(v.show("claude")["primary"], true);

    v.kw(["edit", "openai-a", "--no-primary"]).run().ok_quiet();
    assert_eq!(v.show("openai-a")["primary"], false);
}

// ---------------------------------------------------------------------------
// 8. rm
// ---------------------------------------------------------------------------

#[test]
fn rm_without_yes_on_a_pipe_is_refused() {
    let v = TestVault::new();
    v.add("openai-prod", OPENAI_KEY, &[]);
    let before = v.state();
    let err = v.kw(["rm", "openai-prod"]).run().fails_clean(2);
    assert!(err.contains("--yes"), "{err}");
    assert!(err.contains("openai-prod"), "{err}");
    // Piping "y" is not a confirmation either.
    v.kw(["rm", "openai-prod"])
        .stdin("y\n")
        .run()
        .fails_clean(2);
    assert_eq!(v.state(), before, "a refused rm changed the vault");
    assert_eq!(v.get("openai-prod"), format!("{OPENAI_KEY}\n"));
}

#[test]
fn rm_yes_deletes_the_entry() {
    let v = TestVault::new();
    v.add("openai-prod", OPENAI_KEY, &[]);
    v.add("claude", ANTHROPIC_KEY, &[]);
    let out = v.kw(["rm", "--yes", "openai-prod"]).run().ok_quiet();
    assert_eq!(out.stdout, "Deleted openai-prod\n");
    v.kw(["get", "openai-prod"]).run().fails_clean(4);
    v.kw(["rm", "-y", "openai-prod"]).run().fails_clean(4);
    let names: Vec<_> = v.list_json().iter().map(|e| e["name"].clone()).collect();
    assert_eq!(names, ["claude"]);
    assert_eq!(v.get("claude"), format!("{ANTHROPIC_KEY}\n"));
    // The alias, and the name can be reused.
    v.kw(["remove", "--yes", "claude"]).run().ok_quiet();
    v.add("openai-prod", OPENAI_KEY_2, &[]);
    assert_eq!(v.get("openai-prod"), format!("{OPENAI_KEY_2}\n"));
}

// ---------------------------------------------------------------------------
// 9. wrong passphrase
// ---------------------------------------------------------------------------

#[test]
fn a_wrong_passphrase_exits_3_and_changes_no_file() {
    let v = TestVault::new();
    v.add("openai-prod", OPENAI_KEY, &[]);
    v.get("openai-prod");
    let before = v.snapshot();

    let runs: Vec<(&str, Kw)> = vec![
        ("list", v.kw(["list"])),
        ("get", v.kw(["get", "openai-prod"])),
        ("add", v.kw(["add", "claude"]).stdin(ANTHROPIC_KEY)),
        ("show", v.kw(["show", "openai-prod", "--json"])),
        ("edit", v.kw(["edit", "openai-prod", "--note", "x"])),
        ("rm", v.kw(["rm", "--yes", "openai-prod"])),
        ("disable", v.kw(["disable", "openai-prod"])),
        ("rekey", v.kw(["rekey"])),
        (
            "passwd",
            v.kw(["passwd"]).env("KEYWARD_NEW_PASSPHRASE", NEW_PW),
        ),
    ];
    for (what, kw) in runs {
        let err = kw.pass(WRONG_PW).run().fails_clean(3);
        assert!(err.contains("wrong passphrase"), "{what}: {err}");
        assert_unchanged(&before, &v.snapshot(), what);
    }
    assert_eq!(v.get("openai-prod"), format!("{OPENAI_KEY}\n"));
}

// ---------------------------------------------------------------------------
// 10. passphrase sources
// ---------------------------------------------------------------------------

#[test]
fn an_empty_passphrase_is_refused() {
    let v = TestVault::uninit();
    let err = v.init().pass("").run().fails_clean(2);
    assert!(err.contains("empty passphrase"), "{err}");
    assert!(!v.dir.exists(), "a refused init created the vault");

    let v = TestVault::new();
    v.add("openai-prod", OPENAI_KEY, &[]);
    let before = v.snapshot();
    let err = v.kw(["list"]).pass("").run().fails_clean(2);
    assert!(err.contains("empty passphrase"), "{err}");
    let empty = v.file("empty.txt", "\n");
    let err = v
        .kw(["list", "--passphrase-file"])
        .arg_path(&empty)
        .env_remove("KEYWARD_PASSPHRASE")
        .run()
        .fails_clean(2);
    assert!(err.contains("empty passphrase"), "{err}");
    assert_unchanged(&before, &v.snapshot(), "an empty passphrase");
    // passwd refuses an empty new one and keeps the old.
    let err = v
        .kw(["passwd"])
        .env("KEYWARD_NEW_PASSPHRASE", "")
        .run()
        .fails_clean(2);
    assert!(err.contains("empty passphrase"), "{err}");
    assert_eq!(v.get("openai-prod"), format!("{OPENAI_KEY}\n"));
}

#[test]
fn passphrase_file_uses_its_first_line() {
    let v = TestVault::uninit();
    let file = v.file("pass.txt", &format!("{PW}\nsecond line is ignored\n"));
    let crlf = v.file("pass-crlf.txt", &format!("{PW}\r\n"));
    let bare = v.file("pass-bare.txt", PW);
    let with_file = |args: &[&str], f: &Path| {
        keyward()
            .args(["--vault"])
            .arg_path(&v.dir)
            .args(["--passphrase-file"])
            .arg_path(f)
            .args(args)
    };
    let mut init = vec!["init"];
    init.extend_from_slice(&TINY_KDF);
    with_file(&init, &file).run().ok_with_stderr();
    with_file(&["add", "openai-prod"], &file)
        .stdin(OPENAI_KEY)
        .run()
        .ok_quiet();
    for f in [&file, &crlf, &bare] {
        let out = with_file(&["get", "openai-prod"], f).run().ok_quiet();
        assert_eq!(out.stdout, format!("{OPENAI_KEY}\n"));
    }
    // The same vault opens with the env variable: the file held exactly PW.
    assert_eq!(v.get("openai-prod"), format!("{OPENAI_KEY}\n"));
    // The flag after the subcommand works too (it is global).
    let out = keyward()
        .args(["--vault"])
        .arg_path(&v.dir)
        .args(["list", "--json", "--passphrase-file"])
        .arg_path(&file)
        .run()
        .ok_quiet();
    assert_eq!(out.json().as_array().unwrap().len(), 1);
    // A file whose first line is another passphrase is a wrong passphrase.
    let wrong = v.file("wrong.txt", &format!("{WRONG_PW}\n{PW}\n"));
    with_file(&["list"], &wrong).run().fails_clean(3);
}

#[test]
fn a_missing_passphrase_file_is_a_one_line_error() {
    let v = TestVault::new();
    let missing = v.tmp.path().join("no-such-file.txt");
    let err = keyward()
        .args(["--vault"])
        .arg_path(&v.dir)
        .args(["list", "--passphrase-file"])
        .arg_path(&missing)
        .run()
        .fails_clean(2);
    assert!(err.contains("cannot read the passphrase file"), "{err}");
    assert!(err.contains("no-such-file.txt"), "{err}");

    let err = v
        .kw(["passwd", "--new-passphrase-file"])
        .arg_path(&missing)
        .run()
        .fails_clean(2);
    assert!(err.contains("no-such-file.txt"), "{err}");
    v.kw(["list"]).run().ok_quiet();
}

/// The documented order is KEYWARD_PASSPHRASE, then --passphrase-file, then a prompt.
#[test]
fn the_env_variable_comes_before_the_passphrase_file() {
    let v = TestVault::new();
    let file = v.file("pass.txt", &format!("{WRONG_PW}\n"));
    v.kw(["list", "--passphrase-file"])
        .arg_path(&file)
        .pass(PW)
        .run()
        .ok_quiet();
}

// ---------------------------------------------------------------------------
// 11. no vault, KEYWARD_VAULT
// ---------------------------------------------------------------------------

#[test]
fn commands_without_a_vault_exit_6_and_say_to_run_init() {
    let tmp = TempDir::new().unwrap();
    let before = dir_listing(tmp.path());
    for args in [
        vec!["list"],
        vec!["get", "x"],
        vec!["show", "x"],
        vec!["rm", "--yes", "x"],
        vec!["rekey"],
    ] {
        let err = keyward()
            .args(["--vault"])
            .arg_path(tmp.path())
            .pass(PW)
            .args(&args)
            .run()
            .fails_clean(6);
        assert!(err.contains("keyward init"), "{err}");
        assert!(err.contains(&tmp.path().display().to_string()), "{err}");
    }
    // KEYWARD_VAULT names the vault as well as --vault does.
    let err = keyward()
        .env("KEYWARD_VAULT", tmp.path())
        .pass(PW)
        .args(["list"])
        .run()
        .fails_clean(6);
    assert!(err.contains(&tmp.path().display().to_string()), "{err}");
    assert_eq!(
        before,
        dir_listing(tmp.path()),
        "a failed command wrote files"
    );
}

fn dir_listing(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect()
}

#[test]
fn keyward_vault_env_variable_selects_the_vault() {
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path().join("env-vault");
    let kw = || keyward().env("KEYWARD_VAULT", &dir).pass(PW);
    kw().args(["init"]).args(TINY_KDF).run().ok_with_stderr();
    assert!(dir.join("header").is_file());
    kw().args(["add", "openai-prod"])
        .stdin(OPENAI_KEY)
        .run()
        .ok_quiet();
    assert_eq!(
        kw().args(["get", "openai-prod"]).run().ok_quiet().stdout,
        format!("{OPENAI_KEY}\n")
    );
    // --vault wins over KEYWARD_VAULT.
    let other = tmp.path().join("other");
    kw().args(["--vault"])
        .arg_path(&other)
        .args(["list"])
        .run()
        .fails_clean(6);
}

// ---------------------------------------------------------------------------
// 12. damaged or unsupported header
// ---------------------------------------------------------------------------

/// Runs every vault-opening command and expects `code` with `needle` on stderr,
/// and no file changed.
#[track_caller]
fn every_command_fails_without_writing(v: &TestVault, code: i32, needle: &str) {
    let before = v.snapshot();
    let runs: Vec<(&str, Kw)> = vec![
        ("list", v.kw(["list"])),
        ("get", v.kw(["get", "openai-prod"])),
        ("show", v.kw(["show", "openai-prod"])),
        ("add", v.kw(["add", "claude"]).stdin(ANTHROPIC_KEY)),
        ("edit", v.kw(["edit", "openai-prod", "--note", "x"])),
        ("enable", v.kw(["enable", "openai-prod"])),
        ("rm", v.kw(["rm", "--yes", "openai-prod"])),
        ("rekey", v.kw(["rekey"])),
        (
            "passwd",
            v.kw(["passwd"]).env("KEYWARD_NEW_PASSPHRASE", NEW_PW),
        ),
        ("list (wrong passphrase)", v.kw(["list"]).pass(WRONG_PW)),
    ];
    for (what, kw) in runs {
        let err = kw.run().fails_clean(code);
        assert!(err.contains(needle), "{what}: {err}");
        assert_unchanged(&before, &v.snapshot(), what);
    }
    // init refuses too: there is something there.
    v.init().run().fails_clean(2);
    assert_unchanged(&before, &v.snapshot(), "init");
}

#[test]
fn an_unknown_format_version_exits_7_and_changes_nothing() {
    let v = TestVault::new();
    v.add("openai-prod", OPENAI_KEY, &[]);
    let mut header = std::fs::read(v.header_path()).unwrap();
    assert_eq!(&header[..8], b"KEYWARD\0");
    assert_eq!(
        &header[8..12],
        &1u32.to_le_bytes(),
        "this test knows format 1"
    );
    header[8..12].copy_from_slice(&99u32.to_le_bytes());
    std::fs::write(v.header_path(), &header).unwrap();

    every_command_fails_without_writing(&v, 7, "unsupported vault format 99");
}

#[test]
fn a_foreign_or_truncated_header_exits_7_and_changes_nothing() {
    let v = TestVault::new();
    v.add("openai-prod", OPENAI_KEY, &[]);
    let header = std::fs::read(v.header_path()).unwrap();

    std::fs::write(v.header_path(), &header[..header.len() - 5]).unwrap();
    every_command_fails_without_writing(&v, 7, "damaged");

    let mut foreign = header.clone();
    foreign[..8].copy_from_slice(b"SQLite f");
    std::fs::write(v.header_path(), &foreign).unwrap();
    every_command_fails_without_writing(&v, 7, "damaged");

    // Restored, the vault works again.
    std::fs::write(v.header_path(), &header).unwrap();
    assert_eq!(v.get("openai-prod"), format!("{OPENAI_KEY}\n"));
}

// ---------------------------------------------------------------------------
// 13. vault in use
// ---------------------------------------------------------------------------

#[test]
fn a_vault_open_in_another_process_exits_5() {
    let v = TestVault::new();
    v.add("openai-prod", OPENAI_KEY, &[]);
    let pass = keyward::Passphrase::new(PW.into()).unwrap();
    let held = keyward::Vault::open(&v.dir, &pass).expect("the library opens the vault");

    let err = v.kw(["list"]).run().fails_clean(5);
    assert!(err.contains("is open in another keyward process"), "{err}");
    let err = v.kw(["get", "openai-prod"]).run().fails_clean(5);
    assert!(err.contains("is open in another keyward process"), "{err}");
    let err = v
        .kw(["add", "claude"])
        .stdin(ANTHROPIC_KEY)
        .run()
        .fails_clean(5);
    assert!(err.contains("is open in another keyward process"), "{err}");

    drop(held);
    assert_eq!(v.get("openai-prod"), format!("{OPENAI_KEY}\n"));
    v.kw(["get", "claude"]).run().fails_clean(4);
}

// ---------------------------------------------------------------------------
// 14. passwd
// ---------------------------------------------------------------------------

/// A vault with a few entries, one with extra fields.
fn full_vault() -> TestVault {
    let v = TestVault::new();
    v.add("openai-prod", OPENAI_KEY, &["--primary", "--tag", "x"]);
    v.add("claude", ANTHROPIC_KEY, &["--env", "dev", "--note", "n"]);
    v.add("gemini", GEMINI_KEY, &["--inactive"]);
    v.add(
        "aws-prod",
        AWS_SECRET,
        &[
            "--provider",
            "aws",
            "--field",
            &format!("access_key_id={AWS_ID}"),
            "--field",
            "region=us-east-1",
        ],
    );
    v
}

const FULL_SECRETS: [(&str, &str); 4] = [
    ("openai-prod", OPENAI_KEY),
    ("claude", ANTHROPIC_KEY),
    ("gemini", GEMINI_KEY),
    ("aws-prod", AWS_SECRET),
];

/// Every secret of [`full_vault`] reads back with `pass`.
#[track_caller]
fn assert_full_secrets(v: &TestVault, pass: &str) {
    for (name, secret) in FULL_SECRETS {
        let out = v.kw(["get", name]).pass(pass).run().ok_quiet();
        assert_eq!(out.stdout, format!("{secret}\n"), "{name}");
    }
    let out = v
        .kw(["get", "aws-prod", "--field", "access_key_id"])
        .pass(pass)
        .run()
        .ok_quiet();
    assert_eq!(out.stdout, format!("{AWS_ID}\n"));
}

fn list_json_with(v: &TestVault, pass: &str) -> Value {
    v.kw(["list", "--json"]).pass(pass).run().ok_quiet().json()
}

#[test]
fn passwd_with_a_new_passphrase_file() {
    let v = full_vault();
    let listed = list_json_with(&v, PW);
    let file = v.file("new.txt", &format!("{NEW_PW}\n"));
    let out = v
        .kw(["passwd", "--new-passphrase-file"])
        .arg_path(&file)
        .run()
        .ok_quiet();
    assert_eq!(out.stdout, "Passphrase changed.\n");
    assert!(!v.dir.join("header.new").exists());

    let err = v.kw(["list"]).run().fails_clean(3);
    assert!(err.contains("wrong passphrase"), "{err}");
    assert_eq!(list_json_with(&v, NEW_PW), listed);
    assert_full_secrets(&v, NEW_PW);
    // The file wins over the env variable for the new passphrase.
    let file2 = v.file("new2.txt", PW);
    v.kw(["passwd", "--new-passphrase-file"])
        .arg_path(&file2)
        .pass(NEW_PW)
        .env("KEYWARD_NEW_PASSPHRASE", WRONG_PW)
        .run()
        .ok_quiet();
    v.kw(["list"]).pass(WRONG_PW).run().fails_clean(3);
    v.kw(["list"]).pass(NEW_PW).run().fails_clean(3);
    assert_full_secrets(&v, PW);
}

#[test]
fn passwd_with_the_new_passphrase_env_variable() {
    let v = full_vault();
    let listed = list_json_with(&v, PW);
    v.kw(["passwd"])
        .env("KEYWARD_NEW_PASSPHRASE", NEW_PW)
        .run()
        .ok_quiet();
    v.kw(["get", "claude"]).run().fails_clean(3);
    assert_eq!(list_json_with(&v, NEW_PW), listed);
    assert_full_secrets(&v, NEW_PW);
    // And the vault keeps working for writes under the new passphrase.
    v.kw(["add", "openai-2"])
        .pass(NEW_PW)
        .stdin(OPENAI_KEY_2)
        .run()
        .ok_quiet();
    assert_eq!(
        v.kw(["get", "openai-2"])
            .pass(NEW_PW)
            .run()
            .ok_quiet()
            .stdout,
        format!("{OPENAI_KEY_2}\n")
    );
}

// ---------------------------------------------------------------------------
// 15. rekey
// ---------------------------------------------------------------------------

#[test]
fn rekey_keeps_every_entry_secret_and_metadata() {
    let v = full_vault();
    let listed = list_json_with(&v, PW);
    let shown: Vec<Value> = FULL_SECRETS.iter().map(|(n, _)| v.show(n)).collect();
    let header = std::fs::read(v.header_path()).unwrap();

    let out = v.kw(["rekey"]).run().ok_quiet();
    assert_eq!(out.stdout, "New data key; 4 entries re-sealed.\n");
    assert!(!v.dir.join("header.new").exists());
    assert_ne!(
        std::fs::read(v.header_path()).unwrap(),
        header,
        "the header wraps a new data key"
    );

    assert_eq!(list_json_with(&v, PW), listed);
    let shown_after: Vec<Value> = FULL_SECRETS.iter().map(|(n, _)| v.show(n)).collect();
    assert_eq!(shown_after, shown);
    assert_full_secrets(&v, PW);

    // Twice in a row, then writes, still fine; the passphrase did not change.
    v.kw(["rekey"]).run().ok_quiet();
    v.kw(["edit", "claude", "--name", "claude-2"])
        .run()
        .ok_quiet();
    v.kw(["rekey"]).run().ok_quiet();
    assert_eq!(v.get("claude-2"), format!("{ANTHROPIC_KEY}\n"));
    v.kw(["get", "claude"]).run().fails_clean(4);
    v.kw(["list"]).pass(WRONG_PW).run().fails_clean(3);
}

#[test]
fn rekey_of_an_empty_vault() {
    let v = TestVault::new();
    let out = v.kw(["rekey"]).run().ok_quiet();
    assert_eq!(out.stdout, "New data key; 0 entries re-sealed.\n");
    v.add("openai-prod", OPENAI_KEY, &[]);
    assert_eq!(v.get("openai-prod"), format!("{OPENAI_KEY}\n"));
}

// ---------------------------------------------------------------------------
// 16. usage errors and help
// ---------------------------------------------------------------------------

#[test]
fn usage_errors_are_one_line_with_exit_2() {
    let v = TestVault::new();
    v.add("openai-prod", OPENAI_KEY, &[]);
    let before = v.snapshot();
    for (args, needle) in [
        (vec!["list", "--bogus"], "--bogus"),
        (vec!["--bogus"], "--bogus"),
        (vec!["get"], "required"),
        (vec!["show"], "required"),
        (vec!["rm"], "required"),
        (vec!["add"], "required"),
        (vec!["frobnicate"], "frobnicate"),
        (vec!["get", "a", "b"], "'b'"),
        (vec!["add", "x", "--rotate-every", "soon"], "--rotate-every"),
        (
            vec!["edit", "openai-prod", "--primary", "--no-primary"],
            "--primary",
        ),
        (vec!["get", "openai-prod", "--field"], "--field"),
    ] {
        let err = v.kw(&args).run().fails_clean(2);
        assert!(err.contains(needle), "{args:?}: {err}");
        assert!(err.contains("keyward --help"), "{args:?}: {err}");
    }
    assert_unchanged(&before, &v.snapshot(), "usage errors");
}

#[test]
fn a_missing_argument_is_named() {
    let v = TestVault::new();
    let err = v.kw(["get"]).run().fails_clean(2);
    assert!(err.contains("NAME"), "{err}");
}

#[test]
fn help_and_version_exit_0() {
    let out = keyward().args(["--help"]).run().ok_quiet();
    assert!(out.stdout.contains("Usage:"), "{out}");
    for cmd in [
        "init", "add", "get", "list", "show", "edit", "rm", "passwd", "rekey",
    ] {
        assert!(out.stdout.contains(cmd), "--help lacks {cmd}\n{out}");
    }
    let out = keyward().args(["get", "--help"]).run().ok_quiet();
    assert!(out.stdout.contains("--field"), "{out}");
    let out = keyward().args(["help", "add"]).run().ok_quiet();
    assert!(out.stdout.contains("--provider"), "{out}");
    let out = keyward().args(["--version"]).run().ok_quiet();
    assert_eq!(
        out.stdout,
        format!("keyward {}\n", env!("CARGO_PKG_VERSION"))
    );
}

// ---------------------------------------------------------------------------
// 18. AWS
// ---------------------------------------------------------------------------

#[test]
fn aws_entries_keep_their_fields() {
    let v = TestVault::new();
    let out = v.add(
        "aws-prod",
        AWS_SECRET,
        &[
            "--provider",
            "aws",
            "--field",
            &format!("access_key_id={AWS_ID}"),
            "--field",
            "region=us-east-1",
        ],
    );
    assert!(
        out.stdout.starts_with("Added aws-prod (aws, prod, "),
        "{out}"
    );
    assert_eq!(v.get("aws-prod"), format!("{AWS_SECRET}\n"));
    for (field, value) in [("access_key_id", AWS_ID), ("region", "us-east-1")] {
        let out = v.kw(["get", "aws-prod", "--field", field]).run().ok_quiet();
        assert_eq!(out.stdout, format!("{value}\n"));
    }
    let s = v.show("aws-prod");
    assert_eq!(s["provider"], "aws");
    assert_eq!(s["env_var"], "AWS_SECRET_ACCESS_KEY");
    assert_eq!(s["fields"], serde_json::json!(["access_key_id", "region"]));

    let err = v
        .kw(["get", "aws-prod", "--field", "nope"])
        .run()
        .fails_clean(2);
    assert!(err.contains("'nope'"), "{err}");
    assert!(err.contains("access_key_id, region"), "{err}");

    v.add("plain", OPENAI_KEY, &[]);
    let err = v
        .kw(["get", "plain", "--field", "region"])
        .run()
        .fails_clean(2);
    assert!(err.contains("none"), "{err}");
}

#[test]
fn aws_entries_need_an_access_key_id() {
    let v = TestVault::new();
    for fields in [
        vec!["--field", "region=us-east-1"],
        vec!["--field", "access_key_id=AKIA123"],
        vec!["--field", "access_key_id=XKIAIOSFODNN7EXAMPLE"],
    ] {
        let err = v
            .kw(["add", "aws-prod", "--provider", "aws"])
            .args(&fields)
            .stdin(AWS_SECRET)
            .run()
            .fails_clean(2);
        assert!(err.contains("access_key_id"), "{fields:?}: {err}");
        assert!(err.contains("--force"), "{err}");
    }
    // A secret of the wrong length is refused too.
    let err = v
        .kw(["add", "aws-prod", "--provider", "aws"])
        .args(["--field", &format!("access_key_id={AWS_ID}")])
        .stdin(&AWS_SECRET[..39])
        .run()
        .fails_clean(2);
    assert!(err.contains("40-character"), "{err}");
    // A --field without '=' is a usage error.
    let err = v
        .kw(["add", "aws-prod", "--provider", "aws", "--field", "region"])
        .stdin(AWS_SECRET)
        .run()
        .fails_clean(2);
    assert!(err.contains("NAME=VALUE"), "{err}");
    assert_eq!(
        v.state(),
        serde_json::json!([]),
        "a refused add stored something"
    );
    v.kw(["get", "aws-prod"]).run().fails_clean(4);
}

// ---------------------------------------------------------------------------
// 19. no subcommand
// ---------------------------------------------------------------------------

/// With no subcommand keyward opens the interactive view, which needs a terminal: in a
/// pipe it says so in one line (the PTY tests cover the view itself).
#[test]
fn no_subcommand_without_a_terminal_says_the_view_needs_one() {
    let v = TestVault::uninit();
    let err = keyward()
        .args(["--vault"])
        .arg_path(&v.dir)
        .run()
        .fails_clean(2);
    assert!(err.contains("needs a terminal"), "{err}");
    assert!(!v.dir.exists(), "nothing was created");
}
