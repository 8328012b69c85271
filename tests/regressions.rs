//! Regression tests for fixes that were found in review, each at the level where the
//! bug showed: the library on a real sled vault on disk, or the real `keyward` binary
//! (stdout, stderr, the exit code, what is stored afterwards).
//!
//! Every vault uses a tiny KDF, so the file runs fast. The user's own `KEYWARD_*`
//! variables never reach the child processes.

use std::ffi::OsStr;
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use keyward::crypto::KdfParams;
use keyward::model::{EntryPatch, NewEntry, Secret};
use keyward::tui::app::{App, Effect, Msg};
use keyward::{Passphrase, Vault};
use serde_json::Value;
use tempfile::TempDir;
use zeroize::Zeroizing;

/// The passphrase of every test vault.
const PW: &str = "correct horse battery staple";

/// The smallest KDF the library accepts.
const TINY: KdfParams = KdfParams {
    memory_kib: 64,
    iterations: 1,
    parallelism: 1,
};

/// A config whose `[kdf]` table makes `init` (without flags) fast.
const TINY_CONFIG: &str = "[kdf]\nmemory_mib = 1\niterations = 1\nparallelism = 1\n";

/// A fake OpenAI key, for entries whose provider checks the format.
const OPENAI_KEY: &str = "sk-proj-REGRqq7Xw4Vb9Nm2Lk5Jh8Gf3Ds0Qp";

/// Variables of the user's that must not reach the binary.
const SCRUBBED_ENV: &[&str] = &[
    "KEYWARD_VAULT",
    "KEYWARD_PASSPHRASE",
    "KEYWARD_NEW_PASSPHRASE",
    "KEYWARD_CONFIG",
];

// ---------------------------------------------------------------------------------
// The library.

fn pass() -> Passphrase {
    Passphrase::new(PW.into()).unwrap()
}

/// A new vault in a temporary directory (`TMP/v`).
fn vault() -> (TempDir, PathBuf, Vault) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("v");
    let v = Vault::create(&dir, &pass(), TINY).unwrap();
    (tmp, dir, v)
}

/// A `custom` entry (no format check) with `value` and extra `fields`.
fn custom(name: &str, value: &str, fields: &[(&str, &str)]) -> NewEntry {
    NewEntry {
        name: name.into(),
        provider: Some("custom".into()),
        secret: Secret {
            value: value.into(),
            fields: fields
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        },
        ..Default::default()
    }
}

/// The stored key and fields of `name`, and the field names its metadata lists.
fn stored(v: &Vault, name: &str) -> (String, Vec<(String, String)>, Vec<String>) {
    let entry = v.entry(name).unwrap();
    let secret = v.secret(&entry).unwrap();
    (
        secret.value.clone(),
        secret.fields.clone(),
        entry.meta.field_names.clone(),
    )
}

fn pairs(fields: &[(&str, &str)]) -> Vec<(String, String)> {
    fields
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn editing_the_key_keeps_the_extra_fields_in_the_library() {
    let (_tmp, dir, mut v) = vault();
    v.add(custom("svc", "old-value", &[("user", "alice")]))
        .unwrap();

    // A new key alone: the stored fields stay.
    v.update(
        "svc",
        EntryPatch {
            secret: Some(Secret::new("new-value")),
            ..Default::default()
        },
    )
    .unwrap();
    let (value, fields, names) = stored(&v, "svc");
    assert_eq!(value, "new-value");
    assert_eq!(
        fields,
        pairs(&[("user", "alice")]),
        "a new key dropped the fields"
    );
    assert_eq!(names, ["user"]);

    // Fields alone: added, the key and the other fields kept.
    v.update(
        "svc",
        EntryPatch {
            fields: Some(pairs(&[("region", "x")])),
            ..Default::default()
        },
    )
    .unwrap();
    let (value, fields, names) = stored(&v, "svc");
    assert_eq!(value, "new-value", "setting a field changed the key");
    assert_eq!(fields, pairs(&[("user", "alice"), ("region", "x")]));
    assert_eq!(names, ["user", "region"]);

    // A field named again is overridden in place.
    v.update(
        "svc",
        EntryPatch {
            fields: Some(pairs(&[("user", "bob")])),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(
        stored(&v, "svc").1,
        pairs(&[("user", "bob"), ("region", "x")])
    );

    // A new key with a field of its own: merged over the stored ones.
    v.update(
        "svc",
        EntryPatch {
            secret: Some(Secret {
                value: "newer-value".into(),
                fields: pairs(&[("token", "t1")]),
            }),
            ..Default::default()
        },
    )
    .unwrap();
    let expected = pairs(&[("user", "bob"), ("region", "x"), ("token", "t1")]);
    assert_eq!(stored(&v, "svc").0, "newer-value");
    assert_eq!(stored(&v, "svc").1, expected);

    // And so it was written: the same after opening the vault again.
    drop(v);
    let v = Vault::open(&dir, &pass()).unwrap();
    let (value, fields, names) = stored(&v, "svc");
    assert_eq!(value, "newer-value");
    assert_eq!(fields, expected);
    assert_eq!(names, ["user", "region", "token"]);
}

// ---------------------------------------------------------------------------------
// The binary.

/// What one run of the binary produced.
struct Out {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl fmt::Display for Out {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "exit code: {:?}\n--- stdout ---\n{}--- stderr ---\n{}--------------",
            self.code, self.stdout, self.stderr
        )
    }
}

impl Out {
    /// Asserts success; returns stdout.
    #[track_caller]
    fn ok(self) -> String {
        assert_eq!(self.code, Some(0), "expected success\n{self}");
        self.assert_no_panic();
        self.stdout
    }

    /// Asserts a failure with `code`, nothing on stdout and exactly one stderr line
    /// starting `keyward: `; returns that line.
    #[track_caller]
    fn fails(self, code: i32) -> String {
        self.assert_no_panic();
        assert_eq!(self.code, Some(code), "expected exit code {code}\n{self}");
        assert!(
            self.stdout.is_empty(),
            "a failure printed on stdout\n{self}"
        );
        assert!(
            self.stderr.ends_with('\n') && self.stderr.lines().count() == 1,
            "expected exactly one stderr line\n{self}"
        );
        assert!(
            self.stderr.starts_with("keyward: "),
            "the error does not start with 'keyward: '\n{self}"
        );
        self.stderr.trim_end().to_string()
    }

    /// Drops `init`'s warning about the tiny KDF (printed before the vault is made,
    /// so an `init` refused afterwards prints it before its error).
    fn without_kdf_warning(mut self) -> Self {
        self.stderr = self
            .stderr
            .lines()
            .filter(|l| !(l.starts_with("keyward: warning: ") && l.contains("OWASP")))
            .map(|l| format!("{l}\n"))
            .collect();
        self
    }

    #[track_caller]
    fn assert_no_panic(&self) {
        assert_ne!(self.code, Some(101), "keyward panicked\n{self}");
        assert!(
            self.code.is_some(),
            "keyward was killed by a signal\n{self}"
        );
        for bad in ["panicked", "internal error", "backtrace"] {
            assert!(!self.stderr.contains(bad), "stderr has '{bad}'\n{self}");
        }
    }
}

/// One test's temporary directory: a vault path (not created) and a config file.
struct World {
    tmp: TempDir,
    vault: PathBuf,
    config: PathBuf,
}

impl World {
    /// No vault yet; the config has the tiny KDF.
    fn new() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let vault = tmp.path().join("vault");
        let config = tmp.path().join("config.toml");
        std::fs::write(&config, TINY_CONFIG).unwrap();
        Self { tmp, vault, config }
    }

    /// A vault created with `init`.
    fn with_vault() -> Self {
        let w = Self::new();
        w.run(&["init"], None).ok();
        w
    }

    /// `keyward --vault VAULT ARGS` with the passphrase and config in the environment;
    /// `stdin` is piped in (else stdin is /dev/null).
    fn run<S: AsRef<OsStr>>(&self, args: &[S], stdin: Option<&str>) -> Out {
        self.run_in(&self.vault, &self.config, args, stdin)
    }

    /// [`World::run`] with another config file.
    fn run_with<S: AsRef<OsStr>>(&self, config: &Path, args: &[S], stdin: Option<&str>) -> Out {
        self.run_in(&self.vault, config, args, stdin)
    }

    /// [`World::run`] on another vault directory, with a config file.
    fn run_in<S: AsRef<OsStr>>(
        &self,
        vault: &Path,
        config: &Path,
        args: &[S],
        stdin: Option<&str>,
    ) -> Out {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_keyward"));
        for key in SCRUBBED_ENV {
            cmd.env_remove(key);
        }
        cmd.arg("--vault")
            .arg(vault)
            .args(args)
            .env("KEYWARD_CONFIG", config)
            .env("KEYWARD_PASSPHRASE", PW)
            // Would make a default panic print a backtrace: the binary must not.
            .env("RUST_BACKTRACE", "1")
            .current_dir(self.tmp.path())
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("cannot start the keyward binary");
        if let Some(text) = stdin {
            let mut input = child.stdin.take().unwrap();
            // It may exit before reading (a refused flag): ignore a closed pipe.
            let _ = input.write_all(text.as_bytes());
        }
        let out = child.wait_with_output().unwrap();
        Out {
            code: out.status.code(),
            stdout: String::from_utf8(out.stdout).unwrap(),
            stderr: String::from_utf8(out.stderr).unwrap(),
        }
    }

    /// A config file beside the vault holding `text`.
    fn config_file(&self, name: &str, text: &str) -> PathBuf {
        let path = self.tmp.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    /// `get ARGS`'s stdout without its newline.
    #[track_caller]
    fn get(&self, args: &[&str]) -> String {
        let mut all = vec!["get"];
        all.extend_from_slice(args);
        let out = self.run(&all, None).ok();
        out.strip_suffix('\n').unwrap_or(&out).to_string()
    }

    /// `show NAME --json`.
    #[track_caller]
    fn show(&self, name: &str) -> Value {
        serde_json::from_str(&self.run(&["show", name, "--json"], None).ok()).unwrap()
    }

    /// `list --json`.
    #[track_caller]
    fn list_json(&self) -> Vec<Value> {
        match serde_json::from_str(&self.run(&["list", "--json"], None).ok()).unwrap() {
            Value::Array(a) => a,
            other => panic!("list --json gave {other}"),
        }
    }

    fn header(&self) -> PathBuf {
        self.vault.join("header")
    }
}

#[test]
fn edit_keeps_the_extra_fields_through_the_binary() {
    let w = World::with_vault();
    w.run(
        &[
            "add",
            "svc",
            "--provider",
            "custom",
            "--field",
            "user=alice",
        ],
        Some("old-value\n"),
    )
    .ok();

    // A new key from stdin: the fields stay.
    w.run(&["edit", "svc", "--secret-stdin"], Some("new-value\n"))
        .ok();
    assert_eq!(w.get(&["svc"]), "new-value");
    assert_eq!(
        w.get(&["svc", "--field", "user"]),
        "alice",
        "edit --secret-stdin dropped the fields"
    );
    assert_eq!(w.show("svc")["fields"], serde_json::json!(["user"]));

    // --field adds one, keeping the key and the others.
    w.run(&["edit", "svc", "--field", "region=eu-x"], None).ok();
    assert_eq!(w.get(&["svc"]), "new-value", "edit --field changed the key");
    assert_eq!(w.get(&["svc", "--field", "user"]), "alice");
    assert_eq!(w.get(&["svc", "--field", "region"]), "eu-x");

    // --field overrides one named again.
    w.run(&["edit", "svc", "--field", "user=bob"], None).ok();
    assert_eq!(w.get(&["svc", "--field", "user"]), "bob");
    assert_eq!(w.get(&["svc", "--field", "region"]), "eu-x");

    // Both at once.
    w.run(
        &["edit", "svc", "--secret-stdin", "--field", "token=t1"],
        Some("newer-value\n"),
    )
    .ok();
    assert_eq!(w.get(&["svc"]), "newer-value");
    assert_eq!(w.get(&["svc", "--field", "user"]), "bob");
    assert_eq!(w.get(&["svc", "--field", "region"]), "eu-x");
    assert_eq!(w.get(&["svc", "--field", "token"]), "t1");
    assert_eq!(
        w.show("svc")["fields"],
        serde_json::json!(["user", "region", "token"])
    );
}

#[test]
fn an_init_interrupted_before_its_header_can_be_run_again() {
    // What an init stopped before its last step leaves: a database, no header.
    let w = World::with_vault();
    std::fs::remove_file(w.header()).unwrap();
    assert!(w.vault.join("db").is_dir(), "init made no db/ directory");

    let out = w.run(&["init"], None);
    assert_eq!(
        out.code,
        Some(0),
        "init refused a database with no entry\n{out}"
    );
    assert!(w.header().is_file());
    // A working vault.
    w.run(&["add", "openai-prod"], Some(&format!("{OPENAI_KEY}\n")))
        .ok();
    assert_eq!(w.get(&["openai-prod"]), OPENAI_KEY);
}

#[test]
fn init_refuses_a_database_with_entries_but_no_header_and_keeps_it() {
    let w = World::with_vault();
    w.run(&["add", "openai-prod"], Some(&format!("{OPENAI_KEY}\n")))
        .ok();
    let header = std::fs::read(w.header()).unwrap();
    std::fs::remove_file(w.header()).unwrap();

    let line = w.run(&["init"], None).without_kdf_warning().fails(2);
    assert!(line.contains("without a header"), "{line}");
    assert!(!w.header().exists(), "a header was written anyway");
    assert!(w.vault.join("db").is_dir(), "the database was removed");

    // Nothing was lost: with its header back, the entry reads as before.
    std::fs::write(w.header(), header).unwrap();
    assert_eq!(w.get(&["openai-prod"]), OPENAI_KEY);
}

#[test]
fn expiry_dates_are_stored_in_their_canonical_form() {
    let w = World::with_vault();
    let key = format!("{OPENAI_KEY}\n");
    // Other spellings of 2099-01-01 that a date parser may accept.
    for (i, spelling) in ["+002099-01-01", "20990101", " 2099-01-01 "]
        .iter()
        .enumerate()
    {
        let name = format!("exp-{i}");
        let out = w.run(&["add", &name, "--expires", spelling], Some(&key));
        if out.code == Some(0) {
            let shown = w.show(&name);
            assert_eq!(
                shown["expires_at"], "2099-01-01",
                "--expires {spelling:?} was stored as given"
            );
            assert_ne!(shown["status"], "expired", "{spelling:?}: {shown}");
        } else {
            let line = out.fails(2);
            assert!(line.contains("date"), "{line}");
        }

        // The same through edit.
        w.run(&["add", &format!("edit-{i}")], Some(&key)).ok();
        let out = w.run(&["edit", &format!("edit-{i}"), "--expires", spelling], None);
        if out.code == Some(0) {
            assert_eq!(w.show(&format!("edit-{i}"))["expires_at"], "2099-01-01");
        } else {
            out.fails(2);
        }
    }
    // A year that YYYY-MM-DD cannot hold is refused.
    w.run(&["add", "far", "--expires", "+010000-01-01"], Some(&key))
        .fails(2);

    for e in w.list_json() {
        assert_ne!(e["status"], "expired", "{e}");
    }
    let table = w.run(&["list"], None).ok();
    assert!(!table.contains("expired"), "{table}");
}

#[test]
fn a_field_without_equals_is_refused_without_echoing_it() {
    let w = World::with_vault();
    let key = format!("{OPENAI_KEY}\n");
    for bad in ["SECRETCANARYVALUE", "=SECRETCANARYVALUE"] {
        let line = w.run(&["add", "svc", "--field", bad], Some(&key)).fails(2);
        assert!(line.contains("--field"), "{line}");
        assert!(!line.contains("CANARY"), "the argument was echoed: {line}");
    }
    assert!(w.list_json().is_empty(), "a refused add stored something");

    w.run(&["add", "svc"], Some(&key)).ok();
    let line = w
        .run(&["edit", "svc", "--field", "SECRETCANARYVALUE"], None)
        .fails(2);
    assert!(!line.contains("CANARY"), "the argument was echoed: {line}");
    assert_eq!(w.show("svc")["fields"], serde_json::json!([]));
}

/// Config files with a value out of range, and the key each error must name.
const BAD_CONFIGS: &[(&str, &str)] = &[
    ("idle_lock = 9223372036854775807\n", "idle_lock"),
    ("clipboard_timeout = 0\n", "clipboard_timeout"),
    (
        "clipboard_timeout = 18446744073709551615\n",
        "clipboard_timeout",
    ),
    ("reveal_timeout = 99999\n", "reveal_timeout"),
    ("versions_kept = 0\n", "versions_kept"),
    ("[kdf]\nmemory_mib = 5000\n", "memory_mib"),
    ("[kdf]\niterations = 0\n", "iterations"),
];

#[test]
fn a_bad_config_value_is_one_line_naming_the_key_and_no_panic() {
    // A vault made with the good config, for the commands that open one.
    let w = World::with_vault();
    let fresh = w.tmp.path().join("fresh");
    for (i, (text, key)) in BAD_CONFIGS.iter().enumerate() {
        let config = w.config_file(&format!("bad-{i}.toml"), text);
        let what = format!("config {text:?}");

        // init reads the KDF defaults from it: refused before anything is made.
        let out = w.run_in(&fresh, &config, &["init"], None);
        let line = out.fails(2);
        assert!(
            line.contains(key),
            "{what}: init's error does not name {key}: {line}"
        );
        assert!(!fresh.exists(), "{what}: init made {}", fresh.display());

        // A command on an existing vault.
        let line = w.run_with(&config, &["list"], None).fails(2);
        assert!(
            line.contains(key),
            "{what}: list's error does not name {key}: {line}"
        );

        // The interactive view reads it before anything else.
        let no_args: [&str; 0] = [];
        let line = w.run_with(&config, &no_args, None).fails(2);
        assert!(
            line.contains(key),
            "{what}: the TUI's error does not name {key}: {line}"
        );
    }
    // The vault was not touched by any of it.
    assert!(w.list_json().is_empty());
}

#[test]
fn a_config_value_of_the_wrong_type_names_the_key() {
    let w = World::with_vault();
    for (i, (text, key)) in [
        ("idle_lock = -1\n", "idle_lock"),
        ("clipboard_timeout = \"30\"\n", "clipboard_timeout"),
        ("reveal_timeout = 1.5\n", "reveal_timeout"),
        ("[kdf]\nmemory_mib = -5\n", "memory_mib"),
    ]
    .iter()
    .enumerate()
    {
        let config = w.config_file(&format!("typed-{i}.toml"), text);
        let line = w.run_with(&config, &["list"], None).fails(2);
        assert!(
            line.contains(key),
            "config {text:?}: the error does not name {key}: {line}"
        );
    }
}

#[test]
fn a_huge_clipboard_timeout_flag_is_one_line() {
    let w = World::with_vault();
    let fresh = w.tmp.path().join("fresh");
    for t in ["18446744073709551615", "18446744073709551616", "0", "86401"] {
        for args in [
            vec!["--clipboard-timeout", t, "list"],
            vec!["--clipboard-timeout", t],
        ] {
            let line = w.run(&args, None).fails(2);
            assert!(line.contains("--clipboard-timeout"), "{args:?}: {line}");
        }
        let line = w
            .run_in(&fresh, &w.config, &["--clipboard-timeout", t, "init"], None)
            .fails(2);
        assert!(line.contains("--clipboard-timeout"), "init: {line}");
        assert!(
            !fresh.exists(),
            "init with --clipboard-timeout {t} made a vault"
        );
    }
    // The largest accepted is accepted.
    w.run(&["--clipboard-timeout", "86400", "list"], None).ok();
}

// ---------------------------------------------------------------------------------
// The TUI's state.

fn key(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}

fn code(c: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(c, KeyModifiers::NONE))
}

fn typ(app: &mut App, text: &str) {
    for c in text.chars() {
        app.update(key(c), Instant::now());
    }
}

#[track_caller]
fn assert_no_canary(what: &str, debug: &str) {
    assert!(
        !debug.contains("CANARY") && !debug.contains("canary"),
        "{what}'s Debug output holds a secret"
    );
}

#[test]
fn the_debug_output_of_the_tui_state_holds_no_secret() {
    const PASS_CANARY: &str = "pass CANARY phrase";
    const REVEALED: &str = "sk-proj-REVEALEDCANARYa1s2d3f4g5h6j7k8";
    const TYPED: &str = "sk-proj-TYPEDCANARYq1w2e3r4t5y6u7i8o9p0";
    const ROTATED: &str = "sk-proj-ROTATEDCANARYz1x2c3v4b5n6m7a8s9";
    let (_tmp, dir, mut v) = vault();
    v.add(NewEntry {
        name: "openai-prod".into(),
        secret: Secret::new(OPENAI_KEY),
        ..Default::default()
    })
    .unwrap();
    let entries = v.list().unwrap();
    let id = entries[0].id;

    // The unlock screen, a passphrase typed and sent.
    let mut app = App::new(dir.display().to_string(), true);
    typ(&mut app, PASS_CANARY);
    assert_no_canary("the unlock screen", &format!("{app:?}"));
    let effects = app.update(code(KeyCode::Enter), Instant::now());
    assert!(
        matches!(effects.as_slice(), [Effect::Unlock(_)]),
        "{effects:?}"
    );
    assert_no_canary("Effect::Unlock", &format!("{effects:?}"));

    // Unlocked; a secret revealed.
    app.update(Msg::Opened(entries), Instant::now());
    let revealed = Msg::Revealed {
        id,
        secret: Zeroizing::new(REVEALED.to_string()),
        until: Instant::now() + Duration::from_secs(3600),
    };
    assert_no_canary("Msg::Revealed", &format!("{revealed:?}"));
    app.update(revealed, Instant::now());
    assert!(app.revealed.is_some(), "the reveal was not taken");
    assert_no_canary("the app with a revealed secret", &format!("{app:?}"));

    // The add form with a key typed: Name → Provider → Environment → Key.
    app.update(key('a'), Instant::now());
    typ(&mut app, "typed");
    for _ in 0..3 {
        app.update(code(KeyCode::Tab), Instant::now());
    }
    typ(&mut app, TYPED);
    assert_no_canary("the app with a key typed in the form", &format!("{app:?}"));

    // Saving asks the vault: the effect holds the key, and shows none of it.
    let effects = app.update(code(KeyCode::Enter), Instant::now());
    assert!(
        matches!(effects.as_slice(), [Effect::Save(_)]),
        "the form did not save: {effects:?}"
    );
    assert_no_canary("Effect::Save", &format!("{effects:?}"));
    assert_no_canary("the app while saving", &format!("{app:?}"));

    // Leaving the changed form parks it while the question is asked.
    app.update(code(KeyCode::Esc), Instant::now());
    assert!(app.parked_form.is_some(), "the form was not parked");
    assert_no_canary("the app with a parked form", &format!("{app:?}"));

    // The rotation wizard, a new key typed on its paste step (step 3), then sent to
    // the vault's check.
    let mut app = App::new(dir.display().to_string(), true);
    app.update(Msg::Opened(v.list().unwrap()), Instant::now());
    app.update(key('r'), Instant::now());
    app.update(code(KeyCode::Enter), Instant::now());
    app.update(code(KeyCode::Enter), Instant::now());
    typ(&mut app, ROTATED);
    let debug = format!("{app:?}");
    assert!(debug.contains("Paste"), "not on the paste step: {debug}");
    assert_no_canary("the app with a key typed in the wizard", &debug);
    let effects = app.update(code(KeyCode::Enter), Instant::now());
    assert!(!effects.is_empty(), "the wizard did not check the key");
    assert_no_canary("the wizard's effect", &format!("{effects:?}"));
    assert_no_canary("the app while the key is checked", &format!("{app:?}"));
}
