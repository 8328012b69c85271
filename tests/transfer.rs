//! `import` and `export`, end to end (the real binary, each test in its own vault) and
//! through the library (the parsers and `Vault::import_batch`).
//!
//! Vaults use the tiny KDF (1 MiB, 1 pass, 1 lane). The user's `KEYWARD_*` variables
//! never reach the child process. Nothing here times anything or uses the network.

mod support {
    pub mod cli;
}

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use keyward::crypto::KdfParams;
use keyward::model::{EntryMeta, NewEntry, Secret};
use keyward::transfer::{
    self, Format, ImportItem, ImportOptions, ImportOutcome, OnConflict, Record,
};
use keyward::{Passphrase, Vault};
use serde_json::Value;
use support::cli::{Out, PW};
use tempfile::TempDir;

// Fake keys of each provider's shape, each with a "canary" so a leak is easy to see.
const OPENAI_KEY: &str = "sk-proj-OAIcanary7Xw4Vb9Nm2Lk5Jh8Gf3Ds0Qp";
const OPENAI_KEY_2: &str = "sk-proj-OAIcanary2Zz9Yy8Xx7Ww6Vv5Uu4Tt3Ss";
const ANTHROPIC_KEY: &str = "sk-ant-api03-ANTcanary9Qw8Er7Ty6Ui5Op4As3Df2Gh";
const GEMINI_KEY: &str = "AIzaSyGEMcanary1b2C3d4E5f6G7h8I9j0K1l2M";
const GITHUB_KEY: &str = "ghp_GHcanary0123456789abcdefghijklmnopqrst";
const GROQ_KEY: &str = "gsk_GRQcanary0123456789abcdefghijklmnopqrstuvwx";
const STRIPE_KEY: &str = "sk_test_STRcanary0123456789abcdef";
const AWS_SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYAWScanary1";
const AWS_ID: &str = "AKIAIOSFODNN7EXAMPLE";
const CUSTOM_KEY: &str = "plain-CUSTcanary-value-0042";
/// Too short for OpenAI's format.
const BAD_OPENAI: &str = "sk-canaryshort";

/// Strings that must never appear on stderr (nor in an import report).
const SECRETS: &[&str] = &[
    PW,
    OPENAI_KEY,
    OPENAI_KEY_2,
    ANTHROPIC_KEY,
    GEMINI_KEY,
    GITHUB_KEY,
    GROQ_KEY,
    STRIPE_KEY,
    AWS_SECRET,
    CUSTOM_KEY,
    BAD_OPENAI,
    "canary",
];

// ---------------------------------------------------------------------------
// Running the binary (tests/support/cli.rs)
// ---------------------------------------------------------------------------

impl Out {
    /// Exit `code`; stderr clean (checked for every run anyway).
    #[track_caller]
    fn code(self, code: i32) -> Self {
        assert_eq!(self.code, code, "expected exit code {code}\n{self}");
        self
    }

    /// The stdout holds no secret (an import report, a list).
    #[track_caller]
    fn no_secret_on_stdout(self) -> Self {
        for s in SECRETS {
            assert!(!self.stdout.contains(s), "stdout leaks {s}\n{self}");
        }
        self
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

    fn stdin(mut self, text: &str) -> Self {
        self.input = Some(text.to_string());
        self
    }

    /// Runs the command; its stderr must hold no panic and no secret.
    fn run(self) -> Out {
        let out = support::cli::run(self.cmd, self.input.as_deref());
        for bad in ["panicked", "internal error", "RUST_BACKTRACE"] {
            assert!(!out.stderr.contains(bad), "stderr has '{bad}'\n{out}");
        }
        for s in SECRETS {
            assert!(!out.stderr.contains(s), "stderr leaks {s}\n{out}");
        }
        out
    }
}

/// A [`support::cli::TestVault`], with files beside it.
struct TestVault(support::cli::TestVault);

impl TestVault {
    fn new() -> Self {
        Self(support::cli::TestVault::new())
    }

    /// `keyward --vault DIR ARGS` with the vault's passphrase.
    fn kw<I, S>(&self, args: I) -> Kw
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let mut cmd = self.0.command(&[]);
        cmd.env("RUST_BACKTRACE", "1")
            .arg("--vault")
            .arg(self.0.dir());
        Kw { cmd, input: None }.args(args)
    }

    /// Writes `contents` to a file beside the vault.
    fn file(&self, name: &str, contents: &str) -> PathBuf {
        let path = self.0.path(name);
        std::fs::write(&path, contents).unwrap();
        path
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.path(name)
    }

    /// `import PATH ARGS…`.
    fn import(&self, path: &Path, extra: &[&str]) -> Out {
        self.kw(["import"])
            .args([path.as_os_str()])
            .args(extra)
            .run()
            .no_secret_on_stdout()
    }

    fn add(&self, name: &str, secret: &str, extra: &[&str]) {
        self.kw(["add", name])
            .args(extra)
            .stdin(&format!("{secret}\n"))
            .run()
            .ok_quiet();
    }

    fn get(&self, name: &str) -> String {
        self.kw(["get", name])
            .run()
            .ok_quiet()
            .stdout
            .trim_end()
            .to_string()
    }

    fn field(&self, name: &str, field: &str) -> String {
        self.kw(["get", name, "--field", field])
            .run()
            .ok_quiet()
            .stdout
            .trim_end()
            .to_string()
    }

    fn list(&self) -> Vec<Value> {
        match self.kw(["list", "--json"]).run().ok_quiet().json() {
            Value::Array(a) => a,
            other => panic!("not an array: {other}"),
        }
    }

    fn names(&self) -> Vec<String> {
        self.list()
            .iter()
            .map(|e| e["name"].as_str().unwrap().to_string())
            .collect()
    }

    fn audit(&self) -> Vec<Value> {
        match self.kw(["audit", "--json"]).run().ok_quiet().json() {
            Value::Array(a) => a,
            other => panic!("not an array: {other}"),
        }
    }

    /// What a user can see without using a secret: entries and audit log.
    fn state(&self) -> (Vec<Value>, Vec<Value>) {
        (self.list(), self.audit())
    }

    fn actions(&self) -> Vec<String> {
        self.audit()
            .iter()
            .map(|e| e["action"].as_str().unwrap().to_string())
            .collect()
    }
}

/// A typical `.env.local`: keys of several providers, the AWS trio, settings.
fn env_file() -> String {
    format!(
        "\u{feff}# keys for the app\r\n\
         OPENAI_API_KEY={OPENAI_KEY}\r\n\
         export ANTHROPIC_API_KEY=\"{ANTHROPIC_KEY}\"\r\n\
         GEMINI_API_KEY='{GEMINI_KEY}'   # the Google one\r\n\
         \r\n\
         AWS_ACCESS_KEY_ID={AWS_ID}\r\n\
         AWS_SECRET_ACCESS_KEY={AWS_SECRET}\r\n\
         AWS_REGION=eu-west-1\r\n\
         PORT=3000\r\n\
         NODE_ENV=production\r\n\
         API_URL=https://api.example.com/v1\r\n\
         DEBUG=true\r\n\
         SESSION_SECRET=\"{CUSTOM_KEY}\"\r\n"
    )
}

// ---------------------------------------------------------------------------
// Import from env files
// ---------------------------------------------------------------------------

#[test]
fn env_import_detects_providers_names_and_non_secrets() {
    let v = TestVault::new();
    let f = v.file(".env.local", &env_file());
    let out = v.import(&f, &[]).ok_quiet();
    let s = &out.stdout;
    assert!(
        s.contains("line 2: OPENAI_API_KEY -> openai-prod: imported"),
        "{out}"
    );
    assert!(
        s.contains("line 3: ANTHROPIC_API_KEY -> anthropic-prod: imported"),
        "{out}"
    );
    assert!(
        s.contains("line 4: GEMINI_API_KEY -> gemini-prod: imported"),
        "{out}"
    );
    assert!(
        s.contains(
            "line 7: AWS_SECRET_ACCESS_KEY + AWS_ACCESS_KEY_ID + AWS_REGION -> aws-prod: imported"
        ),
        "{out}"
    );
    assert!(
        s.contains("line 13: SESSION_SECRET -> session-secret-prod: imported"),
        "{out}"
    );
    for (n, key) in [
        (9, "PORT"),
        (10, "NODE_ENV"),
        (11, "API_URL"),
        (12, "DEBUG"),
    ] {
        assert!(
            s.lines()
                .any(|l| l.starts_with(&format!("line {n}: {key}: not a secret"))
                    && l.ends_with("left out")),
            "{key}\n{out}"
        );
    }
    assert!(
        s.contains("Total 9: 5 imported, 0 updated, 0 skipped, 4 not secrets, 0 errors."),
        "{out}"
    );
    assert_eq!(
        v.names(),
        [
            "anthropic-prod",
            "aws-prod",
            "gemini-prod",
            "openai-prod",
            "session-secret-prod"
        ]
    );
    let list = v.list();
    let by = |n: &str| list.iter().find(|e| e["name"] == n).unwrap().clone();
    assert_eq!(by("gemini-prod")["env_var"], "GEMINI_API_KEY");
    assert_eq!(by("session-secret-prod")["provider"], "custom");
    assert_eq!(by("session-secret-prod")["env_var"], "SESSION_SECRET");
    assert_eq!(
        by("aws-prod")["fields"],
        serde_json::json!(["access_key_id", "region"])
    );
    assert_eq!(v.get("openai-prod"), OPENAI_KEY);
    assert_eq!(v.get("anthropic-prod"), ANTHROPIC_KEY);
    assert_eq!(v.get("gemini-prod"), GEMINI_KEY);
    assert_eq!(v.get("session-secret-prod"), CUSTOM_KEY);
    assert_eq!(v.get("aws-prod"), AWS_SECRET);
    assert_eq!(v.field("aws-prod", "access_key_id"), AWS_ID);
    assert_eq!(v.field("aws-prod", "region"), "eu-west-1");
}

#[test]
fn env_parser_quotes_escapes_and_multiline() {
    let v = TestVault::new();
    let f = v.file(
        "keys.env",
        "A_TOKEN=\"tab\\there\\nnext \\\"q\\\" back\\\\slash canary1\"\n\
         B_TOKEN='literal \\n $HOME canary2' # comment\n\
         C_TOKEN=unquoted canary3 # trailing comment\n\
         D_TOKEN=\"first line canary4\n\
         second line\"\n",
    );
    v.import(&f, &["--env", "dev"]).ok_quiet();
    assert_eq!(
        v.names(),
        ["a-token-dev", "b-token-dev", "c-token-dev", "d-token-dev"]
    );
    assert_eq!(
        v.get("a-token-dev"),
        "tab\there\nnext \"q\" back\\slash canary1"
    );
    assert_eq!(v.get("b-token-dev"), "literal \\n $HOME canary2");
    assert_eq!(v.get("c-token-dev"), "unquoted canary3");
    assert_eq!(v.get("d-token-dev"), "first line canary4\nsecond line");
}

#[test]
fn second_key_of_a_provider_and_env_flag_name_entries() {
    let v = TestVault::new();
    let f = v.file(
        ".env",
        &format!(
            "OPENAI_API_KEY={OPENAI_KEY}\nOPENAI_FALLBACK={OPENAI_KEY_2}\nMY_API_KEY={CUSTOM_KEY}\n"
        ),
    );
    v.import(&f, &["--env", "staging"]).ok_quiet();
    assert_eq!(
        v.names(),
        ["my-api-key-staging", "openai-staging", "openai-staging-2"]
    );
    let list = v.list();
    assert!(list.iter().all(|e| e["environment"] == "staging"));
    let fallback = list
        .iter()
        .find(|e| e["name"] == "openai-staging-2")
        .unwrap();
    assert_eq!(fallback["env_var"], "OPENAI_FALLBACK");
    assert_eq!(v.get("openai-staging-2"), OPENAI_KEY_2);
}

#[test]
fn importing_the_same_file_twice_changes_nothing_and_says_so() {
    let v = TestVault::new();
    let f = v.file(".env.local", &env_file());
    v.import(&f, &[]).ok_quiet();
    let before = v.state();
    let out = v.import(&f, &[]).ok_quiet();
    assert!(
        out.stdout
            .contains("Nothing to import: all 5 keys are already in the vault."),
        "{out}"
    );
    assert!(
        out.stdout
            .contains("Total 9: 0 imported, 0 updated, 5 skipped, 4 not secrets, 0 errors."),
        "{out}"
    );
    assert!(
        out.stdout
            .contains("skipped: already in the vault with the same key")
    );
    assert_eq!(v.state(), before, "a repeated import changed the vault");
    assert_eq!(
        v.actions().iter().filter(|a| *a == "import").count(),
        1,
        "one import event only"
    );
}

#[test]
fn a_key_already_stored_under_another_name_is_skipped() {
    let v = TestVault::new();
    v.add("my-openai", OPENAI_KEY, &[]);
    let f = v.file(".env", &format!("OPENAI_API_KEY={OPENAI_KEY}\n"));
    let out = v.import(&f, &[]).ok_quiet();
    assert!(
        out.stdout
            .contains("skipped: already in the vault as my-openai"),
        "{out}"
    );
    assert_eq!(v.names(), ["my-openai"]);
}

#[test]
fn conflict_skip_is_the_default_and_says_so() {
    let v = TestVault::new();
    v.add("openai-prod", OPENAI_KEY, &[]);
    let f = v.file(
        ".env",
        &format!("OPENAI_API_KEY={OPENAI_KEY_2}\nGITHUB_TOKEN={GITHUB_KEY}\n"),
    );
    let out = v.import(&f, &[]).ok_quiet();
    assert!(
        out.stdout.contains(
            "line 1: OPENAI_API_KEY -> openai-prod: skipped: openai-prod holds a different key"
        ),
        "{out}"
    );
    assert!(out.stdout.contains("--on-conflict rotate"), "{out}");
    assert!(
        out.stdout.contains("1 imported, 0 updated, 1 skipped"),
        "{out}"
    );
    assert_eq!(v.get("openai-prod"), OPENAI_KEY);
    assert_eq!(v.get("github-prod"), GITHUB_KEY);
}

#[test]
fn conflict_rotate_rotates_and_counts_updated() {
    let v = TestVault::new();
    v.add("openai-prod", OPENAI_KEY, &["--tag", "kept"]);
    let f = v.file(
        ".env",
        &format!("OPENAI_API_KEY={OPENAI_KEY_2}\nGITHUB_TOKEN={GITHUB_KEY}\n"),
    );
    let out = v.import(&f, &["--on-conflict", "rotate"]).ok_quiet();
    assert!(
        out.stdout
            .contains("line 1: OPENAI_API_KEY -> openai-prod: updated"),
        "{out}"
    );
    assert!(
        out.stdout.contains("1 imported, 1 updated, 0 skipped"),
        "{out}"
    );
    assert_eq!(v.get("openai-prod"), OPENAI_KEY_2);
    let history = v
        .kw(["history", "openai-prod", "--json"])
        .run()
        .ok_quiet()
        .json();
    assert_eq!(history.as_array().unwrap().len(), 2, "{history}");
    assert_eq!(history[0]["version"], 2);
    assert_eq!(history[1]["status"], "retired");
    // Metadata is left as it was.
    let e = v
        .list()
        .into_iter()
        .find(|e| e["name"] == "openai-prod")
        .unwrap();
    assert_eq!(e["tags"], serde_json::json!(["kept"]));
    let audit = v.audit();
    let import = audit.iter().find(|e| e["action"] == "import").unwrap();
    assert_eq!(import["detail"], "1 imported, 1 updated");
    // Importing the old key again: an earlier version, skipped whatever the mode.
    let old = v.file("old.env", &format!("OPENAI_API_KEY={OPENAI_KEY}\n"));
    let out = v.import(&old, &["--on-conflict", "rotate"]).ok_quiet();
    assert!(
        out.stdout.contains("earlier key of openai-prod (version 1"),
        "{out}"
    );
    assert_eq!(v.get("openai-prod"), OPENAI_KEY_2);
}

#[test]
fn conflict_fail_is_an_error_and_writes_nothing() {
    let v = TestVault::new();
    v.add("openai-prod", OPENAI_KEY, &[]);
    let f = v.file(
        ".env",
        &format!("GITHUB_TOKEN={GITHUB_KEY}\nOPENAI_API_KEY={OPENAI_KEY_2}\n"),
    );
    let before = v.state();
    let out = v.import(&f, &["--on-conflict", "fail"]).code(2);
    assert!(
        out.stdout.contains(
            "line 2: OPENAI_API_KEY -> openai-prod: error: openai-prod holds a different key"
        ),
        "{out}"
    );
    assert!(out.stdout.contains("Nothing was written"), "{out}");
    assert_eq!(
        out.stderr,
        format!(
            "keyward: 1 error in {} (line 2); nothing was written\n",
            f.display()
        )
    );
    assert_eq!(v.state(), before);
    assert_eq!(v.get("openai-prod"), OPENAI_KEY);
}

#[test]
fn one_bad_line_writes_nothing_unless_skip_invalid() {
    let v = TestVault::new();
    let text = format!(
        "GITHUB_TOKEN={GITHUB_KEY}\n\
         OPENAI_API_KEY={BAD_OPENAI}\n\
         this line is not an assignment\n\
         GROQ_API_KEY={GROQ_KEY}\n\
         GROQ_API_KEY={GROQ_KEY}\n"
    );
    let f = v.file(".env", &text);
    let before = v.state();
    let out = v.import(&f, &[]).code(2);
    assert!(
        out.stdout
            .contains("line 2: OPENAI_API_KEY: error: this key does not match the OpenAI format"),
        "{out}"
    );
    assert!(
        !out.stdout.contains("--force"),
        "force is never applied on import\n{out}"
    );
    assert!(
        out.stdout.contains("line 3: error: not a KEY=value line"),
        "{out}"
    );
    assert!(
        out.stdout
            .contains("line 5: GROQ_API_KEY: error: set again (first on line 4)"),
        "{out}"
    );
    assert!(
        out.stdout
            .contains("line 1: GITHUB_TOKEN -> github-prod: to import"),
        "{out}"
    );
    assert!(out.stdout.contains("3 errors"), "{out}");
    assert!(out.stderr.contains("3 errors"), "{out}");
    assert!(
        out.stderr.contains("(lines 2, 3, 5); nothing was written"),
        "{out}"
    );
    assert_eq!(out.stderr.lines().count(), 1, "{out}");
    assert_eq!(v.state(), before, "a failed import wrote something");

    let out = v.import(&f, &["--skip-invalid"]).code(2);
    assert!(
        out.stdout
            .contains("line 1: GITHUB_TOKEN -> github-prod: imported"),
        "{out}"
    );
    assert!(
        out.stdout
            .contains("line 4: GROQ_API_KEY -> groq-prod: imported"),
        "{out}"
    );
    assert!(out.stderr.contains("the other keys were imported"), "{out}");
    assert_eq!(v.names(), ["github-prod", "groq-prod"]);
    assert_eq!(v.get("groq-prod"), GROQ_KEY);
}

#[test]
fn an_aws_secret_without_its_id_is_an_error() {
    let v = TestVault::new();
    let f = v.file(
        ".env",
        &format!("X=1\nAWS_SECRET_ACCESS_KEY={AWS_SECRET}\n"),
    );
    let out = v.import(&f, &[]).code(2);
    assert!(
        out.stdout
            .contains("line 2: AWS_SECRET_ACCESS_KEY: error: AWS_ACCESS_KEY_ID is missing"),
        "{out}"
    );
    assert!(v.names().is_empty());
}

#[test]
fn dry_run_writes_nothing() {
    let v = TestVault::new();
    v.add("openai-prod", OPENAI_KEY, &[]);
    let f = v.file(
        ".env.production",
        &env_file().replace(OPENAI_KEY, OPENAI_KEY_2),
    );
    let before = v.state();
    let out = v
        .import(&f, &["--dry-run", "--on-conflict", "rotate"])
        .ok_quiet();
    assert!(out.stdout.contains("openai-prod: to update"), "{out}");
    assert!(out.stdout.contains("anthropic-prod: to import"), "{out}");
    assert!(out.stdout.contains("4 to import, 1 to update"), "{out}");
    assert!(
        out.stdout.contains("Dry run: nothing was written."),
        "{out}"
    );
    assert_eq!(v.state(), before, "a dry run wrote something");
    assert_eq!(v.get("openai-prod"), OPENAI_KEY);
}

#[test]
fn stdin_needs_a_format_unless_it_is_json() {
    let v = TestVault::new();
    let env = format!("GITHUB_TOKEN={GITHUB_KEY}\n");
    let err = v.kw(["import", "-"]).stdin(&env).run().error(2);
    assert!(err.contains("--format"), "{err}");
    v.kw(["import", "-", "--format", "env"])
        .stdin(&env)
        .run()
        .ok_quiet()
        .no_secret_on_stdout();
    let json = format!("[{{\"name\": \"gh\", \"secret\": \"{GITHUB_KEY}\"}}]");
    v.kw(["import", "-"])
        .stdin(&json)
        .run()
        .ok_quiet()
        .no_secret_on_stdout();
    assert_eq!(v.names(), ["gh", "github-prod"]);
    let unknown = v.file("keys.txt", &env);
    let err = v.import(&unknown, &[]).error(2);
    assert!(err.contains("cannot tell the format"), "{err}");
}

#[test]
fn bad_json_and_csv_files_are_refused_whole() {
    let v = TestVault::new();
    let f = v.file("k.json", &format!("[\n  {{\"secret\": \"{OPENAI_KEY}\"\n"));
    let err = v.import(&f, &[]).error(2);
    assert!(
        err.contains("line 3") && err.contains("not valid JSON"),
        "{err}"
    );
    let f = v.file("k.csv", &format!("name,key\nx,{OPENAI_KEY}\n"));
    let err = v.import(&f, &[]).error(2);
    assert!(err.contains("\"secret\" column"), "{err}");
    assert!(v.names().is_empty());
}

// ---------------------------------------------------------------------------
// Export, and round trips
// ---------------------------------------------------------------------------

/// A vault with every kind of metadata and secret.
fn rich_vault() -> TestVault {
    let v = TestVault::new();
    v.add(
        "openai-prod",
        OPENAI_KEY,
        &[
            "--primary",
            "--tag",
            "billing",
            "--tag",
            "team, a;b",
            "--note",
            "line one\nline \"two\", with commas",
            "--model",
            "gpt-4o",
            "--tier",
            "paid",
            "--expires",
            "2031-01-31",
            "--rotate-every",
            "90",
            "--base-url",
            "https://proxy.example/v1",
        ],
    );
    v.add(
        "openai-dev",
        OPENAI_KEY_2,
        &["--env", "dev", "--var", "OPENAI_DEV_KEY"],
    );
    v.add("anthropic-old", ANTHROPIC_KEY, &["--inactive"]);
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
            "--field",
            "session_token=ab/c+d==;x\\y",
        ],
    );
    v.add(
        "weird-custom",
        CUSTOM_KEY,
        &["--provider", "custom", "--env", "odd env, with \"quotes\""],
    );
    v.add("stripe-test", STRIPE_KEY, &["--env", "test"]);
    v
}

/// `list --json` without what differs between two vaults holding the same entries.
fn comparable(list: Vec<Value>) -> Vec<Value> {
    list.into_iter()
        .map(|mut e| {
            let o = e.as_object_mut().unwrap();
            for k in [
                "id",
                "created_at",
                "updated_at",
                "rotated_at",
                "last_used_at",
                "use_count",
            ] {
                o.remove(k);
            }
            e
        })
        .collect()
}

fn assert_same_entries(a: &TestVault, b: &TestVault) {
    let (la, lb) = (comparable(a.list()), comparable(b.list()));
    assert_eq!(la, lb, "metadata differs");
    for e in &la {
        let name = e["name"].as_str().unwrap();
        assert_eq!(a.get(name), b.get(name), "secret of {name}");
        for f in e["fields"].as_array().unwrap() {
            let f = f.as_str().unwrap();
            assert_eq!(a.field(name, f), b.field(name, f), "field {f} of {name}");
        }
    }
}

fn round_trip(format: &str) {
    let a = rich_vault();
    let file = a.path(&format!("all.{format}"));
    let out = a
        .kw(["export", "--output"])
        .args([file.as_os_str()])
        .run()
        .code(0);
    assert!(out.stdout.is_empty(), "{out}");
    assert_eq!(
        out.stderr,
        format!(
            "keyward: warning: 6 secrets written in plaintext to {}; delete it when done\n",
            file.display()
        )
    );
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the export file is {mode:o}");
    let b = TestVault::new();
    let out = b.import(&file, &[]).ok_quiet();
    assert!(out.stdout.contains("6 imported"), "{out}");
    assert_same_entries(&a, &b);
    // And again: nothing to do.
    let out = b.import(&file, &[]).ok_quiet();
    assert!(
        out.stdout.contains("all 6 keys are already in the vault"),
        "{out}"
    );
}

#[test]
fn json_round_trip_into_a_new_vault() {
    round_trip("json");
}

#[test]
fn csv_round_trip_into_a_new_vault() {
    round_trip("csv");
}

#[test]
fn env_export_holds_active_keys_one_per_variable_and_reads_back() {
    let a = rich_vault();
    a.add(
        "openai-prod-2",
        OPENAI_KEY_2.replace('2', "3").as_str(),
        &[],
    );
    let out = a.kw(["export"]).run().code(0);
    let text = &out.stdout;
    assert!(
        text.contains(&format!("OPENAI_API_KEY={OPENAI_KEY}\n")),
        "{out}"
    );
    assert!(
        text.contains(&format!("OPENAI_DEV_KEY={OPENAI_KEY_2}\n")),
        "{out}"
    );
    assert!(
        !text.contains(ANTHROPIC_KEY),
        "an inactive key was exported\n{out}"
    );
    assert_eq!(text.matches("OPENAI_API_KEY=").count(), 1, "{out}");
    assert!(
        text.contains(&format!("AWS_ACCESS_KEY_ID={AWS_ID}\n")),
        "{out}"
    );
    assert!(
        out.stderr.contains("note: 1 inactive entry left out"),
        "{out}"
    );
    assert!(
        out.stderr
            .contains("note: openai-prod-2 left out: OPENAI_API_KEY is already set by openai-prod"),
        "{out}"
    );
    assert!(
        out.stderr
            .ends_with("keyward: warning: 5 secrets written in plaintext to stdout\n"),
        "{out}"
    );
    // The env parser reads it back: the comment above each entry's lines names it,
    // its provider and environment, so the same entries come back.
    let b = TestVault::new();
    let file = b.file("back.env", text);
    let out = b.import(&file, &[]).ok_quiet();
    assert!(out.stdout.contains("5 imported"), "{out}");
    assert_eq!(
        b.names(),
        [
            "aws-prod",
            "openai-dev",
            "openai-prod",
            "stripe-test",
            "weird-custom"
        ]
    );
    let la = a.list();
    for e in b.list() {
        let name = e["name"].as_str().unwrap();
        let ea = la.iter().find(|x| x["name"] == name).unwrap();
        for k in ["provider", "environment", "env_var", "fields", "key"] {
            assert_eq!(e[k], ea[k], "{k} of {name}");
        }
        assert_eq!(b.get(name), a.get(name), "secret of {name}");
    }
    assert_eq!(b.field("aws-prod", "session_token"), "ab/c+d==;x\\y");
    // And into the vault it came from: nothing to do.
    let out = a.import(&file, &[]).ok_quiet();
    assert!(
        out.stdout.contains("all 5 keys are already in the vault"),
        "{out}"
    );
}

#[test]
fn export_filters_by_provider_and_env() {
    let a = rich_vault();
    let out = a
        .kw([
            "export",
            "--format",
            "json",
            "--provider",
            "openai",
            "--env",
            "dev",
        ])
        .run()
        .code(0);
    let arr = out.json();
    let arr = arr.as_array().unwrap();
    assert_eq!(arr.len(), 1);
    assert_eq!(arr[0]["name"], "openai-dev");
    assert_eq!(arr[0]["secret"], OPENAI_KEY_2);
    let err = a.kw(["export", "--provider", "nope"]).run().error(2);
    assert!(err.contains("unknown provider"), "{err}");
}

#[test]
fn export_overwrites_a_file_and_makes_it_private() {
    let v = rich_vault();
    let file = v.file(
        "out.csv",
        "old contents that are longer than nothing at all\n",
    );
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    v.kw(["export", "-o"])
        .args([file.as_os_str()])
        .run()
        .code(0);
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.starts_with("name,provider,environment,"), "{text}");
    assert!(!text.contains("old contents"));
    // A symbolic link is refused, and its target left alone.
    let link = v.path("link.csv");
    std::os::unix::fs::symlink(&file, &link).unwrap();
    let err = v
        .kw(["export", "-o"])
        .args([link.as_os_str()])
        .run()
        .error(2);
    assert!(err.contains("symbolic link"), "{err}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), text);
}

#[test]
fn export_and_import_are_audit_events() {
    let v = TestVault::new();
    let f = v.file(
        ".env",
        &format!("GITHUB_TOKEN={GITHUB_KEY}\nMY_TOKEN={CUSTOM_KEY}\n"),
    );
    v.import(&f, &[]).ok_quiet();
    v.kw(["export", "--format", "csv"]).run().code(0);
    let out = v.path("x.json");
    v.kw(["export", "-o"]).args([out.as_os_str()]).run().code(0);
    let audit = v.audit();
    let summary: Vec<(String, String)> = audit
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_string(),
                e["detail"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("import".to_string(), "2 imported, 0 updated".to_string()),
            ("export".to_string(), "2 entries, csv to stdout".to_string()),
            (
                "export".to_string(),
                format!("2 entries, json to {}", out.display())
            ),
        ]
    );
    assert!(audit.iter().all(|e| e["entry"].is_null()));
    let verify = v.kw(["audit", "--verify"]).run().ok_quiet();
    assert!(verify.stdout.contains("intact"), "{verify}");
}

// ---------------------------------------------------------------------------
// The library
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

fn items(text: &str, format: Format) -> Vec<ImportItem> {
    let parsed = transfer::parse(format, text, "prod").unwrap();
    assert!(parsed.problems.is_empty(), "{:?}", parsed.problems);
    parsed
        .items
        .into_iter()
        .map(|i| ImportItem {
            line: i.line,
            derived_name: i.derived_name,
            entry: i.record.into_new_entry(),
        })
        .collect()
}

fn opts(on_conflict: OnConflict) -> ImportOptions {
    ImportOptions {
        on_conflict,
        skip_invalid: false,
        dry_run: false,
        grace_days: 7,
    }
}

#[test]
fn parser_reports_lines_and_leaves_out_non_secrets() {
    let text = "\u{feff}A_KEY=1x2y3z4w5v\r\n\r\n# c\r\nexport B_TOKEN = 'q' \r\nC_KEY=\"x\r\nbad line\r\nA_KEY=2\r\nPORT=8080\r\nENABLED=false\r\nHOME_URL=https://example.com\r\nDB_URL=mysql://u:p@h/db\r\nDB_PASSWORD=12345678\r\n";
    let p = transfer::parse(Format::Env, text, "prod").unwrap();
    let problems: Vec<usize> = p.problems.iter().map(|p| p.line).collect();
    assert_eq!(problems, [5, 6, 7], "{:?}", p.problems);
    let items: Vec<(usize, &str)> = p
        .items
        .iter()
        .map(|i| (i.line, i.record.name.as_str()))
        .collect();
    assert_eq!(
        items,
        [
            (1, "a-key-prod"),
            (4, "b-token-prod"),
            (11, "db-url-prod"),
            (12, "db-password-prod")
        ]
    );
    let left: Vec<(usize, &str)> = p
        .left_out
        .iter()
        .map(|l| (l.line, l.key.as_str()))
        .collect();
    assert_eq!(left, [(8, "PORT"), (9, "ENABLED"), (10, "HOME_URL")]);
    assert_eq!(p.items[1].record.secret.value, "q");
}

#[test]
fn import_batch_is_one_transaction_with_one_event() {
    let (_t, mut v) = lib_vault();
    let text =
        format!("OPENAI_API_KEY={OPENAI_KEY}\nGITHUB_TOKEN={GITHUB_KEY}\nX_TOKEN={CUSTOM_KEY}\n");
    let report = v
        .import_batch(items(&text, Format::Env), opts(OnConflict::Skip))
        .unwrap();
    assert!(report.written);
    assert_eq!(
        (report.imported(), report.updated(), report.skipped()),
        (3, 0, 0)
    );
    let events = v.audit(None, None).unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].detail, "3 imported, 0 updated");
    // Again: nothing written, no event.
    let report = v
        .import_batch(items(&text, Format::Env), opts(OnConflict::Skip))
        .unwrap();
    assert!(!report.written);
    assert_eq!(report.skipped(), 3);
    assert_eq!(v.audit(None, None).unwrap().len(), 1);
    let e = v.entry("openai-prod").unwrap();
    assert!(v.holds_secret(&e, &Secret::new(OPENAI_KEY)));
    assert!(!v.holds_secret(&e, &Secret::new(OPENAI_KEY_2)));
}

#[test]
fn import_batch_all_or_nothing_and_skip_invalid() {
    let (_t, mut v) = lib_vault();
    let mut its = items(&format!("GITHUB_TOKEN={GITHUB_KEY}\n"), Format::Env);
    its.push(ImportItem {
        line: 9,
        derived_name: false,
        entry: NewEntry {
            name: "bad".into(),
            provider: Some("openai".into()),
            secret: Secret::new(BAD_OPENAI),
            force: true, // never applied on import
            ..Default::default()
        },
    });
    let report = v.import_batch(its.clone(), opts(OnConflict::Skip)).unwrap();
    assert!(!report.written);
    assert!(
        matches!(&report.outcomes[1], ImportOutcome::Failed(m) if m.contains("OpenAI format") && !m.contains("--force"))
    );
    assert!(v.list().unwrap().is_empty());
    assert!(v.audit(None, None).unwrap().is_empty());
    let report = v
        .import_batch(
            its,
            ImportOptions {
                skip_invalid: true,
                ..opts(OnConflict::Skip)
            },
        )
        .unwrap();
    assert!(report.written);
    assert_eq!(report.imported(), 1);
    let names: Vec<String> = v.list().unwrap().into_iter().map(|e| e.meta.name).collect();
    assert_eq!(names, ["github-prod"]);
}

#[test]
fn import_batch_rotation_and_a_new_primary_in_one_batch() {
    let (_t, mut v) = lib_vault();
    v.add(NewEntry {
        name: "main".into(),
        secret: Secret::new(OPENAI_KEY),
        primary: true,
        ..Default::default()
    })
    .unwrap();
    // One batch: rotate `main` (primary) and add another openai/prod primary.
    let records = vec![
        Record {
            name: "main".into(),
            provider: "openai".into(),
            environment: "prod".into(),
            active: true,
            primary: true,
            secret: Secret::new(OPENAI_KEY_2),
            ..Default::default()
        },
        Record {
            name: "newer".into(),
            provider: "openai".into(),
            environment: "prod".into(),
            active: true,
            primary: true,
            secret: Secret::new(&OPENAI_KEY_2.replace('2', "4")),
            ..Default::default()
        },
    ];
    let text = transfer::json::write(&records);
    let report = v
        .import_batch(items(&text, Format::Json), opts(OnConflict::Rotate))
        .unwrap();
    assert!(report.written);
    assert_eq!((report.imported(), report.updated()), (1, 1));
    assert_eq!(report.demoted, ["main"]);
    let main = v.entry("main").unwrap();
    assert!(!main.meta.primary);
    assert_eq!(main.meta.version, 2, "the demotion kept the rotation");
    assert!(v.holds_secret(&main, &Secret::new(OPENAI_KEY_2)));
    assert_eq!(v.secret(&main).unwrap().value, OPENAI_KEY_2);
    assert!(v.entry("newer").unwrap().meta.primary);
    assert_eq!(v.history("main").unwrap().len(), 2);
    // A vault reopened reads the same (every record authenticates).
    assert!(v.list().unwrap().len() == 2);
}

/// An entry's metadata without what differs between two vaults holding it.
fn portable(m: &EntryMeta) -> EntryMeta {
    EntryMeta {
        created_at: 0,
        updated_at: 0,
        rotated_at: None,
        fingerprint: Vec::new(),
        ..m.clone()
    }
}

#[test]
fn json_and_csv_round_trip_through_the_library() {
    let (_t, mut a) = lib_vault();
    a.add_many(vec![
        NewEntry {
            name: "aws-x".into(),
            provider: Some("aws".into()),
            environment: Some("stage".into()),
            tags: vec!["t;1".into(), "t,2".into()],
            notes: "n\r\n\"q\"".into(),
            model: Some("m".into()),
            tier: Some("free".into()),
            base_url: Some("https://b".into()),
            expires_at: Some("2030-02-03".into()),
            rotate_every_days: Some(30),
            inactive: true,
            secret: Secret {
                value: AWS_SECRET.into(),
                fields: vec![
                    ("region".into(), "us-east-1".into()),
                    ("access_key_id".into(), AWS_ID.into()),
                ],
            },
            ..Default::default()
        },
        NewEntry {
            name: "c".into(),
            provider: Some("custom".into()),
            primary: true,
            secret: Secret::new(CUSTOM_KEY),
            ..Default::default()
        },
    ])
    .unwrap();
    let records: Vec<Record> = a
        .list()
        .unwrap()
        .iter()
        .map(|e| Record::from_entry(&e.meta, a.secret(e).unwrap()))
        .collect();
    for format in [Format::Json, Format::Csv] {
        let text = transfer::write(format, &records);
        let (_t, mut b) = lib_vault();
        let report = b
            .import_batch(items(&text, format), opts(OnConflict::Skip))
            .unwrap();
        assert_eq!(report.imported(), 2, "{format:?}");
        for (ea, eb) in a.list().unwrap().iter().zip(b.list().unwrap().iter()) {
            assert_eq!(portable(&ea.meta), portable(&eb.meta), "{format:?}");
            assert_eq!(a.secret(ea).unwrap(), b.secret(eb).unwrap(), "{format:?}");
        }
    }
}
