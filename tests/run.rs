//! End-to-end tests of `keyward run` and `keyward env`: the real binary, its own
//! temporary vault per test (tiny KDF), the user's `KEYWARD_*` variables removed.
//!
//! The commands run are `sh -c '…'` one-liners. A `sleep` in some of them only makes
//! the command write in two pieces (or wait for a signal): nothing here is timed.

mod support {
    pub mod pty;
}

use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Stdio};

use serde_json::Value;
use support::pty::{Spawn, keys};
use tempfile::TempDir;

const PW: &str = "correct horse battery staple";
const TINY_KDF: [&str; 6] = [
    "--kdf-memory-mib",
    "1",
    "--kdf-iterations",
    "1",
    "--kdf-parallelism",
    "1",
];

const OPENAI_KEY: &str = "sk-proj-OAIcanary7Xw4Vb9Nm2Lk5Jh8Gf3Ds0Qp";
const OPENAI_KEY_2: &str = "sk-proj-OAIcanary2Zz9Yy8Xx7Ww6Vv5Uu4Tt3Ss";
const OPENAI_KEY_3: &str = "sk-proj-OAIcanary3Aa1Bb2Cc3Dd4Ee5Ff6Gg7Hh";
const ANTHROPIC_KEY: &str = "sk-ant-api03-ANTcanary9Qw8Er7Ty6Ui5Op4As3Df2Gh";
const AWS_SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYAWScanary1";
const AWS_ID: &str = "AKIAIOSFODNN7EXAMPLE";
const AWS_TOKEN: &str = "FwoGZXIvYXdzEXAMPLEsessionTOKENcanary42";
/// A custom value with everything a shell might trip on.
const WEIRD: &str = r#"it's a 'quoted' "value" \ $HOME `id` $(id) ; & | * ~ # canary"#;

/// Prints the named variables as `NAME=value|`, `NAME unset|` when not set.
fn show_vars(vars: &[&str]) -> String {
    vars.iter()
        .map(|v| format!("if [ -n \"${{{v}+x}}\" ]; then printf '%s=%s|' {v} \"${v}\"; else printf '%s unset|' {v}; fi; "))
        .collect()
}

struct Out {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

impl std::fmt::Display for Out {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}\n--- stdout ---\n{}--- stderr ---\n{}--------------",
            self.status, self.stdout, self.stderr
        )
    }
}

impl Out {
    fn code(&self) -> i32 {
        self.status
            .code()
            .unwrap_or_else(|| panic!("killed by a signal\n{self}"))
    }

    #[track_caller]
    fn ok(self) -> Self {
        assert_eq!(self.code(), 0, "expected success\n{self}");
        assert!(self.stderr.is_empty(), "expected an empty stderr\n{self}");
        self
    }

    /// A failure with `code` and exactly one `keyward: ` line on stderr, nothing on stdout.
    #[track_caller]
    fn fails(self, code: i32) -> String {
        assert_eq!(self.code(), code, "expected exit code {code}\n{self}");
        assert!(self.stdout.is_empty(), "stdout is not empty\n{self}");
        assert!(
            self.stderr.starts_with("keyward: ") && self.stderr.lines().count() == 1,
            "expected one error line\n{self}"
        );
        assert!(
            !self.stderr.contains("canary"),
            "a secret on stderr\n{self}"
        );
        self.stderr.trim_end().to_string()
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("not JSON ({e})\n{self}"))
    }
}

struct TestVault {
    tmp: TempDir,
    dir: PathBuf,
}

impl TestVault {
    fn new() -> Self {
        let tmp = TempDir::new().unwrap();
        let dir = tmp.path().join("vault");
        let v = Self { tmp, dir };
        let out = v.kw(["init"]).args(TINY_KDF).output().unwrap();
        assert!(out.status.success(), "{out:?}");
        v
    }

    /// `keyward --vault DIR ARGS`, clean environment, KEYWARD_PASSPHRASE set.
    fn kw<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_keyward"));
        for var in [
            "KEYWARD_VAULT",
            "KEYWARD_NEW_PASSPHRASE",
            "KEYWARD_BUNDLE_PASSPHRASE",
            "OPENAI_API_KEY",
            "ANTHROPIC_API_KEY",
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_REGION",
            "AWS_SESSION_TOKEN",
        ] {
            cmd.env_remove(var);
        }
        cmd.env("KEYWARD_CONFIG", self.tmp.path().join("no-config.toml"))
            .env("KEYWARD_PASSPHRASE", PW)
            .env("RUST_BACKTRACE", "1")
            .arg("--vault")
            .arg(&self.dir)
            .args(args)
            .stdin(Stdio::null());
        cmd
    }

    fn add(&self, name: &str, secret: &str, extra: &[&str]) {
        let mut child = self
            .kw(["add", name])
            .args(extra)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(format!("{secret}\n").as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "add {name}: {out:?}");
    }

    /// `run ARGS -- sh -c SCRIPT`.
    fn run_sh(&self, args: &[&str], script: &str) -> Out {
        let mut cmd = self.kw(["run"]);
        cmd.args(args).args(["--", "sh", "-c", script]);
        output(cmd)
    }

    fn use_count(&self, name: &str) -> u64 {
        let out = output(self.kw(["show", name, "--json"])).ok();
        out.json()["use_count"].as_u64().unwrap()
    }

    fn audit(&self) -> Vec<Value> {
        output(self.kw(["audit", "--json"]))
            .ok()
            .json()
            .as_array()
            .unwrap()
            .clone()
    }

    fn pass_file(&self) -> PathBuf {
        let p = self.tmp.path().join("pass.txt");
        std::fs::write(&p, format!("{PW}\n")).unwrap();
        p
    }
}

fn output(mut cmd: Command) -> Out {
    let out = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    Out {
        status: out.status,
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

fn openai_vault() -> TestVault {
    let v = TestVault::new();
    v.add("openai", OPENAI_KEY, &["--provider", "openai"]);
    v
}

// ---------------------------------------------------------------------------
// run
// ---------------------------------------------------------------------------

#[test]
fn run_passes_the_key_and_the_exit_code() {
    let v = openai_vault();
    let out = v.run_sh(&[], "printf %s \"$OPENAI_API_KEY\"").ok();
    assert_eq!(out.stdout, OPENAI_KEY);
    let out = v.run_sh(&[], "exit 7");
    assert_eq!(out.code(), 7, "{out}");
    assert!(out.stderr.is_empty(), "{out}");
    // Arguments reach the command as they are.
    let mut cmd = v.kw(["run", "--", "printf", "[%s]", "a b", "--mask", "'"]);
    cmd.env("X", "1");
    assert_eq!(output(cmd).ok().stdout, "[a b][--mask][']");
}

#[test]
fn run_keeps_stdin_and_the_rest_of_the_environment() {
    let v = openai_vault();
    let mut child = v
        .kw([
            "run",
            "--",
            "sh",
            "-c",
            "read line; printf '%s/%s' \"$line\" \"$MY_OWN\"",
        ])
        .env("MY_OWN", "mine")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"typed\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(out.stdout, b"typed/mine");
}

#[test]
fn run_withholds_the_vault_passphrase() {
    let v = openai_vault();
    let out = v.run_sh(&[], &show_vars(&["KEYWARD_PASSPHRASE"])).ok();
    assert_eq!(out.stdout, "KEYWARD_PASSPHRASE unset|");
}

#[test]
fn a_signal_death_is_the_commands_own() {
    let v = openai_vault();
    let out = v.run_sh(&[], "kill -TERM $$");
    // keyward became the command: the caller sees the signal itself (a shell says 143).
    assert_eq!(out.status.signal(), Some(15), "{out}");
    let out = v.run_sh(&["--mask"], "kill -TERM $$");
    assert_eq!(out.status.signal(), Some(15), "{out}");
}

#[test]
fn sigterm_to_keyward_reaches_the_command() {
    let v = openai_vault();
    for mask in [false, true] {
        let mut cmd = v.kw(["run"]);
        if mask {
            cmd.arg("--mask");
        }
        let script = "trap 'echo got-term $OPENAI_API_KEY; exit 6' TERM; echo ready; \
                      i=0; while [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done; exit 9";
        let mut child = cmd
            .args(["--", "sh", "-c", script])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        assert_eq!(lines.next().unwrap().unwrap(), "ready");
        rustix::process::kill_process(
            rustix::process::Pid::from_child(&child),
            rustix::process::Signal::TERM,
        )
        .unwrap();
        let line = lines.next().unwrap().unwrap();
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(6), "mask {mask}: {status}");
        if mask {
            assert_eq!(line, "got-term <concealed:openai>");
        } else {
            assert_eq!(line, format!("got-term {OPENAI_KEY}"));
        }
    }
}

#[test]
fn inactive_entries_are_not_injected() {
    let v = TestVault::new();
    v.add(
        "openai-off",
        OPENAI_KEY,
        &["--provider", "openai", "--inactive"],
    );
    v.add("claude", ANTHROPIC_KEY, &["--provider", "anthropic"]);
    let out = v
        .run_sh(&[], &show_vars(&["OPENAI_API_KEY", "ANTHROPIC_API_KEY"]))
        .ok();
    assert_eq!(
        out.stdout,
        format!("OPENAI_API_KEY unset|ANTHROPIC_API_KEY={ANTHROPIC_KEY}|")
    );
    assert_eq!(v.use_count("openai-off"), 0);
    assert_eq!(v.use_count("claude"), 1);
    // Named with --only, a disabled entry is an error, not silently left out.
    let err = v.run_sh(&["--only", "openai-off"], "true").fails(2);
    assert!(err.contains("disabled"), "{err}");
}

#[test]
fn the_primary_wins_a_shared_variable() {
    let v = TestVault::new();
    v.add("a-openai", OPENAI_KEY, &["--provider", "openai"]);
    v.add(
        "b-openai",
        OPENAI_KEY_2,
        &["--provider", "openai", "--primary"],
    );
    v.add("c-openai", OPENAI_KEY_3, &["--provider", "openai"]);
    let out = v.run_sh(&[], "printf %s \"$OPENAI_API_KEY\"").ok();
    assert_eq!(out.stdout, OPENAI_KEY_2);
    assert_eq!(v.use_count("b-openai"), 1);
    assert_eq!(v.use_count("a-openai"), 0, "a left-out entry is not a use");
    assert_eq!(v.use_count("c-openai"), 0);
}

#[test]
fn without_a_primary_the_first_name_wins_and_says_so() {
    let v = TestVault::new();
    v.add("z-openai", OPENAI_KEY_2, &["--provider", "openai"]);
    v.add("m-openai", OPENAI_KEY, &["--provider", "openai"]);
    let out = v.run_sh(&[], "printf %s \"$OPENAI_API_KEY\"");
    assert_eq!(out.code(), 0, "{out}");
    assert_eq!(out.stdout, OPENAI_KEY);
    assert_eq!(out.stderr.lines().count(), 1, "{out}");
    assert!(
        out.stderr.contains("OPENAI_API_KEY comes from m-openai")
            && out.stderr.contains("z-openai"),
        "{out}"
    );
    assert!(!out.stderr.contains("canary"), "{out}");
}

#[test]
fn env_and_only_choose_the_entries() {
    let v = TestVault::new();
    v.add(
        "openai-prod",
        OPENAI_KEY,
        &["--provider", "openai", "--env", "prod"],
    );
    v.add(
        "openai-dev",
        OPENAI_KEY_2,
        &["--provider", "openai", "--env", "dev"],
    );
    v.add(
        "claude",
        ANTHROPIC_KEY,
        &["--provider", "anthropic", "--env", "prod"],
    );
    let vars = show_vars(&["OPENAI_API_KEY", "ANTHROPIC_API_KEY"]);

    let out = v.run_sh(&["--env", "dev"], &vars).ok();
    assert_eq!(
        out.stdout,
        format!("OPENAI_API_KEY={OPENAI_KEY_2}|ANTHROPIC_API_KEY unset|")
    );
    let out = v.run_sh(&["--env", "prod"], &vars).ok();
    assert_eq!(
        out.stdout,
        format!("OPENAI_API_KEY={OPENAI_KEY}|ANTHROPIC_API_KEY={ANTHROPIC_KEY}|")
    );
    let out = v.run_sh(&["--only", "claude"], &vars).ok();
    assert_eq!(
        out.stdout,
        format!("OPENAI_API_KEY unset|ANTHROPIC_API_KEY={ANTHROPIC_KEY}|")
    );
    let out = v.run_sh(&["--only", "claude,openai-dev"], &vars).ok();
    assert_eq!(
        out.stdout,
        format!("OPENAI_API_KEY={OPENAI_KEY_2}|ANTHROPIC_API_KEY={ANTHROPIC_KEY}|")
    );
    let out = v
        .run_sh(&["--only", "claude", "--only", "openai-prod"], &vars)
        .ok();
    assert_eq!(
        out.stdout,
        format!("OPENAI_API_KEY={OPENAI_KEY}|ANTHROPIC_API_KEY={ANTHROPIC_KEY}|")
    );

    let counts = |v: &TestVault| ["openai-prod", "openai-dev", "claude"].map(|n| v.use_count(n));
    let before = counts(&v);
    let err = v.run_sh(&["--only", "claude,nope"], "true").fails(4);
    assert!(err.contains("'nope'"), "{err}");
    let err = v
        .run_sh(&["--only", "openai-dev", "--env", "prod"], "true")
        .fails(2);
    assert!(err.contains("openai-dev") && err.contains("dev"), "{err}");
    let err = v.run_sh(&["--env", "prdo"], "true").fails(2);
    assert!(err.contains("prdo") && err.contains("dev, prod"), "{err}");
    assert_eq!(counts(&v), before, "a refused run records no use");
}

#[test]
fn each_injected_entry_counts_a_use_and_an_audit_event() {
    let v = TestVault::new();
    v.add("openai", OPENAI_KEY, &["--provider", "openai"]);
    v.add("claude", ANTHROPIC_KEY, &["--provider", "anthropic"]);
    v.run_sh(&[], "true").ok();
    v.run_sh(&["--only", "openai"], "true").ok();
    assert_eq!(v.use_count("openai"), 2);
    assert_eq!(v.use_count("claude"), 1);
    let runs: Vec<(String, String)> = v
        .audit()
        .iter()
        .filter(|e| e["action"] == "run")
        .map(|e| {
            (
                e["entry"].as_str().unwrap().to_string(),
                e["source"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(runs.len(), 3, "{runs:?}");
    assert_eq!(runs.iter().filter(|(n, _)| n == "openai").count(), 2);
    assert!(runs.iter().all(|(_, s)| s == "cli"));
}

#[test]
fn aws_fields_are_injected_with_their_key() {
    let v = TestVault::new();
    v.add(
        "aws",
        AWS_SECRET,
        &[
            "--provider",
            "aws",
            "--field",
            &format!("access_key_id={AWS_ID}"),
            "--field",
            "region=eu-west-3",
            "--field",
            &format!("session_token={AWS_TOKEN}"),
        ],
    );
    let vars = [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_REGION",
        "AWS_SESSION_TOKEN",
    ];
    let out = v.run_sh(&[], &show_vars(&vars)).ok();
    assert_eq!(
        out.stdout,
        format!(
            "AWS_ACCESS_KEY_ID={AWS_ID}|AWS_SECRET_ACCESS_KEY={AWS_SECRET}|AWS_REGION=eu-west-3|AWS_SESSION_TOKEN={AWS_TOKEN}|"
        )
    );
    // Masked: the secret and the session token, not the key id nor the region.
    let out = v.run_sh(&["--mask"], &show_vars(&vars)).ok();
    assert_eq!(
        out.stdout,
        format!(
            "AWS_ACCESS_KEY_ID={AWS_ID}|AWS_SECRET_ACCESS_KEY=<concealed:aws>|AWS_REGION=eu-west-3|AWS_SESSION_TOKEN=<concealed:aws>|"
        )
    );
    assert_eq!(v.use_count("aws"), 2, "one use per run, not per variable");
}

#[test]
fn mask_conceals_secrets_on_stdout_and_stderr() {
    let v = TestVault::new();
    v.add("openai", OPENAI_KEY, &["--provider", "openai"]);
    v.add("claude", ANTHROPIC_KEY, &["--provider", "anthropic"]);
    let out = v.run_sh(
        &["--mask"],
        "echo \"key: $OPENAI_API_KEY and $ANTHROPIC_API_KEY\"; \
         echo \"err: $ANTHROPIC_API_KEY$OPENAI_API_KEY\" >&2; exit 3",
    );
    assert_eq!(out.code(), 3, "{out}");
    assert_eq!(
        out.stdout,
        "key: <concealed:openai> and <concealed:claude>\n"
    );
    assert_eq!(out.stderr, "err: <concealed:claude><concealed:openai>\n");
}

#[test]
fn mask_conceals_a_secret_split_across_two_writes() {
    let v = openai_vault();
    // The first 12 characters, a pause (so the filter reads twice), then the rest;
    // the same on stderr.
    let script = "K=$OPENAI_API_KEY; rest=${K#????????????}; first=${K%\"$rest\"}; \
                  printf 'a%s' \"$first\"; sleep 0.2; printf '%sz\\n' \"$rest\"; \
                  printf 'b%s' \"$first\" >&2; sleep 0.2; printf '%sy\\n' \"$rest\" >&2; \
                  printf 'tail %s' \"$first\"";
    let out = v.run_sh(&["--mask"], script);
    assert_eq!(out.code(), 0, "{out}");
    // A prefix of a secret at the very end is not the secret: it is printed at EOF.
    assert_eq!(
        out.stdout,
        format!("a<concealed:openai>z\ntail {}", &OPENAI_KEY[..12])
    );
    assert_eq!(out.stderr, "b<concealed:openai>y\n");
}

#[test]
fn mask_passes_output_on_before_the_command_ends() {
    let v = openai_vault();
    // The command waits for its stdin after its first line: the line must arrive
    // while it waits, not at the end.
    let mut child = v
        .kw([
            "run",
            "--mask",
            "--",
            "sh",
            "-c",
            "echo \"first $OPENAI_API_KEY\"; read x; echo \"second $x\"",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    assert_eq!(lines.next().unwrap().unwrap(), "first <concealed:openai>");
    child.stdin.take().unwrap().write_all(b"go\n").unwrap();
    assert_eq!(lines.next().unwrap().unwrap(), "second go");
    assert!(child.wait().unwrap().success());
}

#[test]
fn the_command_can_run_keyward_itself() {
    let v = openai_vault();
    let pass = v.pass_file();
    let mut cmd = v.kw(["run", "--", "sh", "-c"]);
    cmd.arg(
        "\"$KW\" --vault \"$VAULT\" --passphrase-file \"$PASS\" get openai && \
             \"$KW\" --vault \"$VAULT\" --passphrase-file \"$PASS\" list --json",
    )
    .env("KW", env!("CARGO_BIN_EXE_keyward"))
    .env("VAULT", &v.dir)
    .env("PASS", &pass);
    let out = output(cmd).ok();
    let mut lines = out.stdout.lines();
    assert_eq!(lines.next(), Some(OPENAI_KEY));
    let list: Value = serde_json::from_str(lines.next().unwrap()).unwrap();
    assert_eq!(list[0]["name"], "openai");
    assert_eq!(v.use_count("openai"), 2, "the run and the nested get");
}

#[test]
fn a_missing_command_is_one_line_and_no_use() {
    let v = openai_vault();
    let err = output(v.kw(["run", "--", "keyward-no-such-command-42"])).fails(127);
    assert!(err.contains("keyward-no-such-command-42"), "{err}");
    let err = output(v.kw(["run", "--", "/nonexistent/dir/cmd"])).fails(127);
    assert!(err.contains("/nonexistent/dir/cmd"), "{err}");
    let script = v.tmp.path().join("not-executable.sh");
    std::fs::write(&script, "#!/bin/sh\necho hi\n").unwrap();
    let mut cmd = v.kw(["run", "--"]);
    cmd.arg(&script);
    output(cmd).fails(126);
    assert_eq!(v.use_count("openai"), 0);
    // No command at all.
    let err = output(v.kw(["run"])).fails(2);
    assert!(err.contains("no command"), "{err}");
    output(v.kw(["run", "--mask", "--"])).fails(2);
}

#[test]
fn run_with_nothing_to_inject_still_runs() {
    let v = TestVault::new();
    let out = v.run_sh(&["--mask"], "echo ran; exit 4");
    assert_eq!(out.code(), 4, "{out}");
    assert_eq!(out.stdout, "ran\n");
    assert!(out.stderr.contains("no active entries"), "{out}");
}

#[test]
fn variables_that_are_no_shell_name_are_left_out() {
    let v = openai_vault();
    v.add(
        "bad-var",
        "custom-canary-value",
        &["--provider", "custom", "--var", "X;touch pwned", "--force"],
    );
    let out = v.run_sh(&[], "printf %s \"$OPENAI_API_KEY\"");
    assert_eq!(out.code(), 0, "{out}");
    assert_eq!(out.stdout, OPENAI_KEY);
    assert!(out.stderr.contains("left out bad-var"), "{out}");
    assert_eq!(v.use_count("bad-var"), 0);
}

// ---------------------------------------------------------------------------
// env
// ---------------------------------------------------------------------------

#[test]
fn env_prints_lines_sh_evaluates_back_to_the_values() {
    let v = openai_vault();
    v.add("weird", WEIRD, &["--provider", "custom", "--force"]);
    let out = output(v.kw(["env"])).ok();
    assert_eq!(
        out.stdout.lines().count(),
        2,
        "one line per variable\n{}",
        out.stdout
    );
    assert!(
        out.stdout.starts_with("export OPENAI_API_KEY='"),
        "{}",
        out.stdout
    );
    for shell in ["sh", "bash", "dash"] {
        if Command::new(shell).arg("-c").arg("true").status().is_err() {
            continue;
        }
        let script = format!(
            "{}\n{}",
            out.stdout,
            show_vars(&["OPENAI_API_KEY", "WEIRD"])
        );
        let evaluated = Command::new(shell)
            .arg("-c")
            .arg(&script)
            .env_remove("OPENAI_API_KEY")
            .env_remove("WEIRD")
            .output()
            .unwrap();
        assert!(evaluated.status.success(), "{shell}: {evaluated:?}");
        assert_eq!(
            String::from_utf8(evaluated.stdout).unwrap(),
            format!("OPENAI_API_KEY={OPENAI_KEY}|WEIRD={WEIRD}|"),
            "{shell}"
        );
    }
    // Each printed entry counts a use, audited as a `get` from env.
    assert_eq!(v.use_count("openai"), 1);
    assert_eq!(v.use_count("weird"), 1);
    let gets = v
        .audit()
        .into_iter()
        .filter(|e| e["action"] == "get" && e["detail"] == "env")
        .count();
    assert_eq!(gets, 2);
}

#[test]
fn env_filters_and_fish() {
    let v = TestVault::new();
    v.add(
        "openai-prod",
        OPENAI_KEY,
        &["--provider", "openai", "--env", "prod"],
    );
    v.add(
        "openai-dev",
        OPENAI_KEY_2,
        &["--provider", "openai", "--env", "dev"],
    );
    v.add(
        "weird",
        WEIRD,
        &["--provider", "custom", "--force", "--env", "dev"],
    );
    let out = output(v.kw(["env", "--env", "prod"])).ok();
    assert_eq!(
        out.stdout,
        format!("export OPENAI_API_KEY='{OPENAI_KEY}'\n")
    );
    let out = output(v.kw(["env", "--only", "openai-dev", "--shell", "fish"])).ok();
    assert_eq!(
        out.stdout,
        format!("set -gx OPENAI_API_KEY '{OPENAI_KEY_2}'\n")
    );
    let out = output(v.kw(["env", "--only", "weird", "--shell", "fish"])).ok();
    let want = WEIRD.replace('\\', "\\\\").replace('\'', "\\'");
    assert_eq!(out.stdout, format!("set -gx WEIRD '{want}'\n"));
    output(v.kw(["env", "--only", "nope"])).fails(4);
    assert_eq!(v.use_count("openai-prod"), 1);
    assert_eq!(v.use_count("openai-dev"), 1);
}

#[test]
fn env_refuses_a_terminal_without_plaintext() {
    let v = openai_vault();
    let spawn = || {
        Spawn::keyward()
            .env("KEYWARD_PASSPHRASE", PW)
            .env("KEYWARD_CONFIG", v.tmp.path().join("no-config.toml"))
            .arg("--vault")
            .arg(&v.dir)
            .arg("env")
    };
    let mut pty = spawn().spawn();
    pty.wait_for("refusing to print keys");
    assert_eq!(pty.wait_exit().exit_code(), 2);
    assert!(!String::from_utf8_lossy(&pty.output()).contains("canary"));
    assert_eq!(v.use_count("openai"), 0);

    let mut pty = spawn().arg("--plaintext").spawn();
    pty.wait_for(&format!("export OPENAI_API_KEY='{OPENAI_KEY}'"));
    assert_eq!(pty.wait_exit().exit_code(), 0);
}

#[test]
fn ctrl_c_reaches_the_command_and_mask_keeps_filtering() {
    let v = openai_vault();
    let script = "trap 'echo got-int $OPENAI_API_KEY; read x; exit 5' INT; echo ready; \
                  i=0; while [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done; exit 9";
    let mut pty = Spawn::keyward()
        .env("KEYWARD_PASSPHRASE", PW)
        .env("KEYWARD_CONFIG", v.tmp.path().join("no-config.toml"))
        .arg("--vault")
        .arg(&v.dir)
        .args(["run", "--mask", "--", "sh", "-c", script])
        .spawn();
    pty.wait_for("ready");
    pty.send(keys::CTRL_C);
    pty.wait_for("got-int <concealed:openai>");
    pty.send("\r");
    assert_eq!(pty.wait_exit().exit_code(), 5);
    assert!(!String::from_utf8_lossy(&pty.output()).contains(OPENAI_KEY));
}
