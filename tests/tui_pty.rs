//! End-to-end tests of the interactive view: the real `keyward` binary runs in a
//! pseudo-terminal, keys are typed into it, and each test checks what a person would
//! see on the screen (parsed with `vt100`) — and, for what draws nothing (OSC 52, the
//! alternate screen), the raw bytes written to the terminal.
//!
//! No check depends on how long something took, and none races a timer of the program:
//! what lasts only a while (a message in the bar, a countdown, a revealed secret) is
//! looked for in every screen drawn since a mark (`Pty::mark`, `Pty::wait_seen`), and a
//! timer that must run out is waited for with a generous limit.
//!
//! Every test has its own temporary vault and config (a tiny KDF, so creating and
//! unlocking are fast). Vaults that a test does not create through the TUI are made
//! with the CLI, which is also used afterwards to check what was stored.

mod support {
    pub mod pty;
}

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use base64::Engine;
use serde_json::Value;
use support::pty::{Pty, SCRUBBED_ENV, Spawn, WAIT, keys};
use tempfile::TempDir;

/// The passphrase of every test vault.
const PW: &str = "correct horse battery staple";
/// Not the passphrase.
const WRONG_PW: &str = "definitely not the passphrase";

// Fake keys of two providers' shapes, each with a "canary" that must never be drawn.
const OPENAI_KEY: &str = "sk-proj-OAIcanary7Xw4Vb9Nm2Lk5Jh8Gf3Ds0Qp";
const ANTHROPIC_KEY: &str = "sk-ant-api03-ANTcanary9Qw8Er7Ty6Ui5Op4As3Df2Gh";

/// The smallest KDF: creating and unlocking take milliseconds.
const TINY_KDF: &str = "[kdf]\nmemory_mib = 1\niterations = 1\nparallelism = 1\n";

/// One test's world: a temp dir with a vault path and a config file.
struct Fixture {
    dir: TempDir,
    vault: PathBuf,
    config: PathBuf,
}

impl Fixture {
    fn new() -> Self {
        Self::with_config("")
    }

    /// `settings` are top-level config lines (`idle_lock = 2`), before the `[kdf]` table.
    fn with_config(settings: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let vault = dir.path().join("v");
        let config = dir.path().join("config.toml");
        std::fs::write(&config, format!("{settings}\n{TINY_KDF}")).unwrap();
        Self { dir, vault, config }
    }

    /// The TUI on this fixture's vault, in a 120×32 terminal.
    fn tui(&self) -> Spawn {
        Spawn::keyward()
            .arg("--vault")
            .arg(&self.vault)
            .env("KEYWARD_CONFIG", &self.config)
            .cwd(self.dir.path())
    }

    /// Runs the CLI (with the passphrase in the environment); `stdin` is its input.
    fn cli(&self, args: &[&str], stdin: &str) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_keyward"));
        for key in SCRUBBED_ENV {
            cmd.env_remove(key);
        }
        let mut child = cmd
            .arg("--vault")
            .arg(&self.vault)
            .args(args)
            .env("KEYWARD_CONFIG", &self.config)
            .env("KEYWARD_PASSPHRASE", PW)
            .current_dir(self.dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        {
            use std::io::Write;
            let mut input = child.stdin.take().unwrap();
            input.write_all(stdin.as_bytes()).unwrap();
        }
        child.wait_with_output().unwrap()
    }

    /// Runs the CLI and expects success; returns stdout.
    fn cli_ok(&self, args: &[&str], stdin: &str) -> String {
        let out = self.cli(args, stdin);
        assert!(
            out.status.success(),
            "keyward {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Creates the vault with the CLI and adds `(name, key)` entries (provider inferred).
    fn seed(&self, entries: &[(&str, &str)]) {
        self.cli_ok(&["init"], "");
        for (name, key) in entries {
            self.cli_ok(&["add", name], &format!("{key}\n"));
        }
    }

    /// `keyward list --json`.
    fn list_json(&self) -> Vec<Value> {
        let out = self.cli_ok(&["list", "--json"], "");
        match serde_json::from_str(&out).unwrap() {
            Value::Array(a) => a,
            other => panic!("list --json gave {other}"),
        }
    }

    /// `keyward show NAME --json`.
    fn show_json(&self, name: &str) -> Value {
        serde_json::from_str(&self.cli_ok(&["show", name, "--json"], "")).unwrap()
    }

    /// The masked key the vault stores for `name` (what the list must show).
    fn masked(&self, name: &str) -> String {
        self.show_json(name)["key"].as_str().unwrap().to_string()
    }
}

/// Types the passphrase on the unlock screen and waits for the list of `n` entries.
fn unlock(tui: &mut Pty, n: usize) {
    tui.wait_for("Unlock keyward");
    tui.send(format!("{PW}\r"));
    tui.wait_for(&format!(" {n} of {n} entries"));
}

/// Quits from the list with `q` and expects a clean exit.
fn quit(tui: &mut Pty) {
    tui.send("q");
    let status = tui.wait_exit();
    assert!(status.success(), "keyward exited with {status:?}");
}

/// Every row but the bottom bar (messages there may name an entry).
fn body(tui: &mut Pty) -> Vec<String> {
    let mut rows = tui.rows();
    rows.pop();
    rows
}

/// The one row of the body holding `text`.
fn row_with(tui: &mut Pty, text: &str) -> String {
    let hits: Vec<String> = body(tui).into_iter().filter(|r| r.contains(text)).collect();
    match hits.as_slice() {
        [one] => one.clone(),
        _ => tui.fail(&format!("expected one row with {text:?}, found {hits:?}")),
    }
}

/// Index of the first body row holding `text`.
fn row_index(tui: &mut Pty, text: &str) -> Option<usize> {
    body(tui).iter().position(|r| r.contains(text))
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    find(haystack, needle).is_some()
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn rfind(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).rposition(|w| w == needle)
}

/// Nothing secret was ever written to the terminal in clear.
fn assert_never_written(tui: &Pty, secrets: &[&str]) {
    let out = tui.output();
    for s in secrets {
        assert!(
            !contains(&out, s.as_bytes()),
            "{s:?} was written to the terminal"
        );
    }
    assert!(
        !contains(&out, b"canary"),
        "part of a secret was written to the terminal"
    );
}

// ---------------------------------------------------------------------------------

#[test]
fn first_start_creates_the_vault_after_a_matching_confirmation() {
    let fx = Fixture::new();
    let mut tui = fx.tui().spawn();
    tui.wait_for_all(&[
        "Create your keyward vault",
        "Passphrase",
        "Again",
        "No vault yet: choose a passphrase",
    ]);

    // The confirmation differs: refused, both fields emptied, still on this screen.
    tui.send(format!("{PW}\r"));
    tui.send(format!("{WRONG_PW}\r"));
    tui.wait_screen(
        &["Create your keyward vault", "The two passphrases differ"],
        &["•"],
    );
    assert!(
        !fx.vault.exists(),
        "nothing is created before the passphrases match"
    );

    // Typed twice the same: the vault is created and the empty list says what to do.
    tui.send(format!("{PW}\r"));
    tui.send(format!("{PW}\r"));
    tui.wait_screen(
        &[
            " 0 of 0 entries",
            "No keys yet",
            "Press a to add your first key",
        ],
        &["Create your keyward vault"],
    );
    // The passphrase was only ever drawn as dots.
    assert_never_written(&tui, &[PW, WRONG_PW]);
    quit(&mut tui);

    // The vault is real: the CLI opens it with the passphrase typed in the TUI.
    let out = fx.cli_ok(&["list"], "");
    assert!(out.contains("No entries yet"), "{out}");
}

#[test]
fn the_form_refuses_a_bad_key_in_place_and_saves_a_good_one_masked() {
    let fx = Fixture::new();
    fx.seed(&[]);
    let mut tui = fx.tui().spawn();
    unlock(&mut tui, 0);

    tui.send("a");
    tui.wait_for_all(&["Add a key", "‹ auto (from the key) ›", "Skip format check"]);
    tui.send("openai-prod");
    // Name → Provider → Environment → Key.
    tui.send(format!("{}{}{}", keys::TAB, keys::TAB, keys::TAB));
    tui.send("sk-bad");
    // The check beside the field, as you type.
    tui.wait_for_all(&["Key ••••••", "✗ not a", "OpenAI key: expected"]);
    tui.send(keys::ENTER);
    // Saving is refused in the form, with the reason under the fields.
    tui.wait_for_all(&[
        "Add a key",
        "Key: not a",
        "OpenAI key: expected sk- or sk-proj- followed by at least 20",
    ]);

    // Ctrl-U empties the field; a good key is accepted.
    tui.send(keys::CTRL_U);
    tui.send(OPENAI_KEY);
    tui.wait_for("✓ looks like an OpenAI key");
    let mark = tui.mark();
    tui.send(keys::ENTER);
    // The message lasts a few seconds: looked for in every screen since the key press.
    tui.wait_seen(
        mark,
        &[" 1 of 1 entries", "Added openai-prod"],
        &["Add a key"],
    );

    // A second one, from another provider; Backspace edits the name.
    tui.send("a");
    tui.wait_for_all(&["Add a key", "Skip format check"]);
    tui.send("claude-devX");
    tui.send(keys::BACKSPACE);
    tui.send(format!("{}{}{}", keys::TAB, keys::TAB, keys::TAB));
    tui.send(ANTHROPIC_KEY);
    tui.wait_for("✓ looks like an Anthropic key");
    let mark = tui.mark();
    tui.send(keys::ENTER);
    tui.wait_seen(
        mark,
        &[" 2 of 2 entries", "Added claude-dev"],
        &["Add a key"],
    );
    tui.wait_screen(&[" 2 of 2 entries"], &["Add a key"]);

    // Both listed with provider and masked key; no key was ever drawn whole.
    let openai_masked = masked_in_row(&mut tui, "openai-prod");
    let claude_masked = masked_in_row(&mut tui, "claude-dev");
    assert!(row_with(&mut tui, "openai-prod").contains(" openai "));
    assert!(row_with(&mut tui, "claude-dev").contains(" anthropic "));
    assert_never_written(&tui, &[OPENAI_KEY, ANTHROPIC_KEY, PW]);
    quit(&mut tui);

    // What was stored is what was typed; the list showed the vault's own masks.
    let names: Vec<String> = fx
        .list_json()
        .iter()
        .map(|e| format!("{} {}", e["name"], e["provider"]))
        .collect();
    assert_eq!(
        names,
        ["\"claude-dev\" \"anthropic\"", "\"openai-prod\" \"openai\""]
    );
    assert_eq!(fx.masked("openai-prod"), openai_masked);
    assert_eq!(fx.masked("claude-dev"), claude_masked);
    assert_eq!(
        fx.cli_ok(&["get", "openai-prod"], "").trim_end(),
        OPENAI_KEY
    );
    assert_eq!(
        fx.cli_ok(&["get", "claude-dev"], "").trim_end(),
        ANTHROPIC_KEY
    );
}

#[test]
fn the_refusal_in_the_form_reads_not_an_openai_key() {
    let fx = Fixture::new();
    fx.seed(&[]);
    let mut tui = fx.tui().spawn();
    unlock(&mut tui, 0);
    tui.send("a");
    tui.wait_for_all(&["Add a key", "Skip format check"]);
    tui.send(format!("x{}{}{}sk-bad", keys::TAB, keys::TAB, keys::TAB));
    tui.send(keys::ENTER);
    tui.wait_for("Key: not an OpenAI key: expected sk-");
    quit_with_ctrl_c(&mut tui);
}

/// The masked key shown in the row of `name` (the word with an ellipsis).
fn masked_in_row(tui: &mut Pty, name: &str) -> String {
    let row = row_with(tui, name);
    match row.split_whitespace().find(|w| w.contains('…')) {
        Some(m) => m.to_string(),
        None => tui.fail(&format!("no masked key in {row:?}")),
    }
}

#[test]
fn the_filter_narrows_the_list_and_esc_brings_everything_back() {
    let fx = Fixture::new();
    fx.seed(&[("openai-prod", OPENAI_KEY), ("claude-dev", ANTHROPIC_KEY)]);
    let mut tui = fx.tui().spawn();
    unlock(&mut tui, 2);
    // Sorted by name: claude-dev first.
    assert!(row_index(&mut tui, "claude-dev") < row_index(&mut tui, "openai-prod"));

    tui.send("/");
    tui.send("opena");
    // The query is shown under the header, and only the matching entry is left.
    tui.wait_screen(
        &[
            " 1 of 2 entries",
            "/opena",
            "openai-prod",
            "Esc clear filter",
        ],
        &["claude-dev"],
    );

    tui.send_esc();
    tui.wait_screen(
        &[" 2 of 2 entries", "openai-prod", "claude-dev", "q quit"],
        &["/opena"],
    );
    assert!(row_index(&mut tui, "claude-dev") < row_index(&mut tui, "openai-prod"));

    // Enter keeps the filter; the list's keys work again (q quits).
    tui.send("/claude\r");
    tui.wait_screen(
        &[
            " 1 of 2 entries",
            "/claude   (Esc clears)",
            "claude-dev",
            "q quit",
        ],
        &["openai-prod"],
    );
    quit(&mut tui);
}

#[test]
fn details_show_the_metadata_but_never_the_secret() {
    let fx = Fixture::new();
    fx.seed(&[("openai-prod", OPENAI_KEY)]);
    let masked = fx.masked("openai-prod");
    let mut tui = fx.tui().spawn();
    unlock(&mut tui, 1);
    assert!(
        !tui.screen().contains("OPENAI_API_KEY"),
        "no side pane at 120 columns"
    );

    tui.send(keys::ENTER);
    let screen = tui.wait_for_all(&[
        "┌ openai-prod ─",
        "provider     openai (OpenAI)",
        "environment  prod",
        &format!("key          {masked}"),
        "status       active",
        "env var      OPENAI_API_KEY",
        "base url     https://api.openai.com/v1 (default)",
        "Esc back",
    ]);
    assert!(!screen.contains(OPENAI_KEY), "{screen}");

    tui.send_esc();
    tui.wait_screen(&[" 1 of 1 entries", "q quit"], &["OPENAI_API_KEY"]);
    assert_never_written(&tui, &[OPENAI_KEY]);
    quit(&mut tui);
}

#[test]
fn copy_over_osc52_then_clear_after_the_timeout_and_count_a_use() {
    const CLEAR_AFTER: u64 = 5;
    let fx = Fixture::new();
    fx.seed(&[("openai-prod", OPENAI_KEY)]);
    let mut tui = fx
        .tui()
        .args(["--clipboard-timeout", &CLEAR_AFTER.to_string()])
        .env("SSH_TTY", "/dev/pts/9")
        .spawn();
    unlock(&mut tui, 1);
    let before = tui.output().len();
    let mark = tui.mark();

    tui.send("c");
    let b64 = base64::engine::general_purpose::STANDARD.encode(OPENAI_KEY);
    let set = format!("\x1b]52;c;{b64}\x07");
    tui.wait_output("the OSC 52 copy", |out| {
        contains(&out[before..], set.as_bytes())
    });
    // The countdown (its seconds depend on when the screen was drawn: not checked).
    let counting = tui.wait_seen(
        mark,
        &["openai-prod copied to the terminal clipboard (OSC 52) — clears in "],
        &[],
    );

    // After the timeout an empty OSC 52 clears it, and the bar says so — after the
    // countdown. The limit only keeps a hung program from hanging the test.
    tui.wait_seen_within(
        counting,
        &["Clipboard cleared"],
        &["clears in"],
        WAIT + Duration::from_secs(CLEAR_AFTER),
    );
    let out = tui.output();
    let set_at = before + find(&out[before..], set.as_bytes()).unwrap();
    let clear_at = rfind(&out, b"\x1b]52;c;\x07").unwrap_or_else(|| tui.fail("no OSC 52 clear"));
    assert!(clear_at > set_at, "the clear came before the copy");
    // The secret went out base64-encoded in the escape sequence only.
    assert_never_written(&tui, &[OPENAI_KEY]);
    quit(&mut tui);

    let shown = fx.show_json("openai-prod");
    assert_eq!(shown["use_count"], 1, "a copy counts as a use: {shown}");
    assert!(!shown["last_used_at"].is_null(), "{shown}");
}

#[test]
fn locking_and_quitting_clear_a_pending_copy() {
    let fx = Fixture::new();
    fx.seed(&[("openai-prod", OPENAI_KEY)]);
    let mut tui = fx.tui().env("SSH_TTY", "/dev/pts/9").spawn();
    unlock(&mut tui, 1);
    let b64 = base64::engine::general_purpose::STANDARD.encode(OPENAI_KEY);
    let set = format!("\x1b]52;c;{b64}\x07");
    let clear = b"\x1b]52;c;\x07";

    // Copied (cleared in 30 s by default), then Ctrl-L: cleared at once.
    let mark = tui.mark();
    tui.send("c");
    let counting = tui.wait_seen(
        mark,
        &["openai-prod copied to the terminal clipboard (OSC 52) — clears in "],
        &[],
    );
    tui.send(keys::CTRL_L);
    tui.wait_seen(
        counting,
        &["Unlock keyward", "Locked; clipboard cleared"],
        &["clears in"],
    );
    let out = tui.output();
    let set_at = rfind(&out, set.as_bytes()).unwrap();
    assert!(
        rfind(&out, clear).is_some_and(|at| at > set_at),
        "no clear after the lock"
    );

    // Copied again, then q: cleared on the way out.
    unlock(&mut tui, 1);
    let mark = tui.mark();
    tui.send("c");
    tui.wait_seen(
        mark,
        &["openai-prod copied to the terminal clipboard (OSC 52) — clears in "],
        &[],
    );
    quit(&mut tui);
    let out = tui.output();
    let set_at = rfind(&out, set.as_bytes()).unwrap();
    let clear_at = rfind(&out, clear).unwrap();
    assert!(clear_at > set_at, "no clear after quitting");
    let left = rfind(&out, b"\x1b[?1049l").unwrap();
    assert!(clear_at < left, "cleared before the terminal was restored");
    assert_eq!(fx.show_json("openai-prod")["use_count"], 2);
}

#[test]
fn copy_with_the_clipboard_off_says_why_and_counts_no_use() {
    let fx = Fixture::with_config("clipboard = \"off\"");
    fx.seed(&[("openai-prod", OPENAI_KEY)]);
    let mut tui = fx.tui().env("SSH_TTY", "/dev/pts/9").spawn();
    unlock(&mut tui, 1);
    let mark = tui.mark();
    tui.send("c");
    tui.wait_seen(
        mark,
        &["Cannot copy: copying is off (clipboard = \"off\" in the config)"],
        &[],
    );
    assert!(
        !contains(&tui.output(), b"\x1b]52;"),
        "nothing sent over OSC 52"
    );
    quit(&mut tui);
    assert_eq!(fx.show_json("openai-prod")["use_count"], 0);
}

#[test]
fn delete_asks_first_n_keeps_y_deletes() {
    let fx = Fixture::new();
    fx.seed(&[("openai-prod", OPENAI_KEY), ("claude-dev", ANTHROPIC_KEY)]);
    let mut tui = fx.tui().spawn();
    unlock(&mut tui, 2);
    // claude-dev is first, so selected.

    tui.send("d");
    tui.wait_for_all(&[
        "Delete claude-dev (anthropic, prod, sk-a…",
        "This cannot be undone.",
        "y yes  n no",
    ]);
    tui.send("n");
    tui.wait_screen(
        &[" 2 of 2 entries", "claude-dev", "openai-prod", "q quit"],
        &["This cannot be undone"],
    );

    tui.send("d");
    tui.wait_for_all(&["This cannot be undone.", "y yes  n no"]);
    let mark = tui.mark();
    tui.send("y");
    tui.wait_seen(mark, &[" 1 of 1 entries", "Deleted claude-dev"], &[]);
    tui.wait_screen(&[" 1 of 1 entries"], &["This cannot be undone"]);
    assert_eq!(row_index(&mut tui, "claude-dev"), None, "{}", tui.screen());
    assert!(row_index(&mut tui, "openai-prod").is_some());
    quit(&mut tui);

    let names: Vec<Value> = fx.list_json().iter().map(|e| e["name"].clone()).collect();
    assert_eq!(names, ["openai-prod"]);
    let table = fx.cli_ok(&["list"], "");
    assert!(!table.contains("claude-dev"), "{table}");
}

#[test]
fn idle_lock_returns_to_the_unlock_screen_and_a_wrong_passphrase_can_be_retried() {
    // The lock may come at any moment after 2 s without a key: nothing below must
    // happen before it. The lock is waited for first; that the list was shown before
    // it is read from the screens drawn since the passphrase was typed.
    let fx = Fixture::with_config("idle_lock = 2");
    fx.seed(&[("openai-prod", OPENAI_KEY)]);
    let mut tui = fx.tui().spawn();
    tui.wait_for("Unlock keyward");
    let mark = tui.mark();
    tui.send(format!("{PW}\r"));

    // No key pressed: it locks by itself and forgets what it showed.
    let locked = tui.wait_seen(
        mark,
        &["Unlock keyward", "Locked after inactivity"],
        &["openai-prod", "entries"],
    );
    let listed = tui.seen(
        mark,
        &[" 1 of 1 entries", "openai-prod"],
        &["Unlock keyward"],
    );
    assert!(
        listed.is_some_and(|at| at < locked),
        "the list was not shown before the lock"
    );
    tui.wait_screen(&["Unlock keyward"], &["openai-prod", "entries"]);

    // The unlock screen does not lock again: it waits for the passphrase.
    tui.send(format!("{WRONG_PW}\r"));
    tui.wait_screen(
        &["Unlock keyward", "Wrong passphrase: try again"],
        &["openai-prod", "•"],
    );

    // Unlocked again (and, 2 s later, locked again: so looked for since the Enter).
    let mark = tui.mark();
    tui.send(format!("{PW}\r"));
    tui.wait_seen(
        mark,
        &[" 1 of 1 entries", "openai-prod"],
        &["Unlock keyward"],
    );
    assert_never_written(&tui, &[PW, WRONG_PW]);
}

#[test]
fn ctrl_l_locks_at_once_and_q_quits_restoring_the_terminal() {
    let fx = Fixture::new();
    fx.seed(&[("openai-prod", OPENAI_KEY)]);
    let mut tui = fx.tui().spawn();
    unlock(&mut tui, 1);
    assert_eq!(tui.is_cooked(), Some(false), "the TUI runs in raw mode");

    tui.send(keys::CTRL_L);
    tui.wait_screen(&["Unlock keyward", "Esc quit"], &["openai-prod", "entries"]);
    unlock(&mut tui, 1);

    tui.send("q");
    let status = tui.wait_exit();
    assert!(status.success(), "exit status {status:?}");
    assert_eq!(status.exit_code(), 0);
    let out = tui.output();
    let entered = rfind(&out, b"\x1b[?1049h").expect("never entered the alternate screen");
    let left = rfind(&out, b"\x1b[?1049l").unwrap_or_else(|| tui.fail("never left it"));
    assert!(left > entered, "the last switch is back to the main screen");
    // After leaving, at most control sequences (showing the cursor), no drawing.
    let rest = &out[left + b"\x1b[?1049l".len()..];
    assert!(
        rest.is_empty() || rest.starts_with(b"\x1b["),
        "written after leaving the alternate screen: {:?}",
        rest.escape_ascii().to_string()
    );
    assert!(
        !tui.vt().alternate_screen(),
        "still on the alternate screen"
    );
    assert_eq!(tui.is_cooked(), Some(true), "raw mode was not undone");
}

#[test]
fn esc_on_the_unlock_screen_quits() {
    let fx = Fixture::new();
    fx.seed(&[]);
    let mut tui = fx.tui().spawn();
    tui.wait_for_all(&["Unlock keyward", "Enter unlocks · Esc quits"]);
    tui.send_esc();
    let status = tui.wait_exit();
    assert!(status.success(), "exit status {status:?}");
    assert!(!tui.vt().alternate_screen());
    assert_eq!(tui.is_cooked(), Some(true));
}

#[test]
fn help_lists_the_bindings_from_the_keymap() {
    let fx = Fixture::new();
    fx.seed(&[("openai-prod", OPENAI_KEY)]);
    let mut tui = fx.tui().spawn();
    unlock(&mut tui, 1);

    tui.send("?");
    // One line per binding: its keys, then what they do, as the keymap has them.
    tui.wait_for_all(&[
        "Keys: list",
        "j/↓          down",
        "Enter        details",
        "/            filter",
        "c            copy",
        "v            reveal 10 s",
        "a            add",
        "d            delete",
        "Space        enable/disable",
        "p            make primary",
        "Ctrl-L       lock now",
        "?            help",
        "q/Ctrl-C     quit",
        "Esc or ? closes this help",
    ]);

    tui.send_esc();
    tui.wait_screen(&["q quit"], &["Keys: list"]);
    // The details popup has its own.
    tui.send(keys::ENTER);
    tui.wait_for_all(&["OPENAI_API_KEY", "Esc back"]);
    tui.send("?");
    tui.wait_for_all(&[
        "Keys: details",
        "Esc/Enter/q  back",
        "v            reveal 10 s",
        "Esc or ? closes this help",
    ]);
    // Closing it goes back to the details it was opened from.
    tui.send("?");
    tui.wait_screen(&["Esc back"], &["Keys: details"]);
    quit_with_ctrl_c(&mut tui);
}

#[test]
fn closing_help_opened_from_the_details_returns_to_the_details() {
    let fx = Fixture::new();
    fx.seed(&[("openai-prod", OPENAI_KEY)]);
    let mut tui = fx.tui().spawn();
    unlock(&mut tui, 1);
    tui.send(keys::ENTER);
    tui.wait_for_all(&["OPENAI_API_KEY", "Esc back"]);
    tui.send("?");
    tui.wait_for_all(&["Keys: details", "Esc or ? closes this help"]);
    tui.send("?");
    // Back where help was asked for: the details, with their own bar.
    tui.wait_screen(&["OPENAI_API_KEY", "Esc back"], &["Keys: details"]);
    quit_with_ctrl_c(&mut tui);
}

/// Ctrl-C quits from any screen.
fn quit_with_ctrl_c(tui: &mut Pty) {
    tui.send(keys::CTRL_C);
    let status = tui.wait_exit();
    assert!(status.success(), "exit status {status:?}");
}

#[test]
fn a_tiny_terminal_says_so_and_the_list_returns_after_resizing_back() {
    let fx = Fixture::new();
    fx.seed(&[("openai-prod", OPENAI_KEY)]);
    let mut tui = fx.tui().spawn();
    unlock(&mut tui, 1);

    tui.resize(20, 5);
    tui.wait_screen(&["Terminal too small", "need 40×8"], &["openai-prod"]);
    assert!(tui.try_status().is_none(), "keyward exited");

    tui.resize(120, 32);
    tui.wait_screen(
        &[" 1 of 1 entries", "openai-prod", "q quit"],
        &["Terminal too small"],
    );

    // At the smallest size it draws in, the form still works. Keys are only typed
    // once the new size is drawn (see `a_key_pressed_during_a_resize_is_not_held_back`).
    tui.resize(40, 8);
    tui.wait_for("1/1 ┘"); // the table's corner, at column 40
    tui.send("a");
    tui.wait_for_all(&["Add a key", "Name"]);
    tui.send("x");
    tui.wait_for("Name x");
    tui.send(format!("{}{}{}sk-", keys::TAB, keys::TAB, keys::TAB));
    tui.send(keys::ENTER); // refused, in a part of the form that is cut off here
    // Back to the name (its row is visible) so we know every key was handled.
    tui.send(format!(
        "{}{}{}y",
        keys::SHIFT_TAB,
        keys::SHIFT_TAB,
        keys::SHIFT_TAB
    ));
    tui.wait_for("Name xy");

    tui.resize(120, 32);
    tui.wait_for_all(&[
        "Add a key",
        "Name xy",
        "Key •••",
        "✗ not a",
        "OpenAI key",
        "Esc cancel",
    ]);
    assert!(tui.try_status().is_none(), "keyward exited");
    quit_with_ctrl_c(&mut tui);
}

#[test]
fn a_key_pressed_during_a_resize_is_not_held_back() {
    // crossterm's Unix event source (mio, edge-triggered) returns the Resize as soon as
    // it sees the SIGWINCH token and drops the tty's readiness from the same poll: the
    // key stays unread until another byte arrives. Here `?` is pressed right after each
    // resize; it toggles the help, which must follow without another key.
    let fx = Fixture::new();
    fx.seed(&[("openai-prod", OPENAI_KEY)]);
    let mut tui = fx.tui().spawn();
    unlock(&mut tui, 1);
    for round in 0..30 {
        // Each round starts once the last one's frame is on screen: keyward has handled
        // everything typed so far and waits for input, as when a person resizes.
        let (cols, rows) = if round % 2 == 0 { (40, 8) } else { (120, 32) };
        tui.resize(cols, rows);
        tui.send("?");
        if round % 2 == 0 {
            // Only `?` opens the help.
            tui.wait_for("Keys: list");
        } else {
            // The whole list's frame (its bar is drawn last), without the help: not a
            // screen half redrawn after the resize, with the `?` still unread.
            tui.wait_screen(&[" 1 of 1 entries", "q quit"], &["Keys: list"]);
        }
    }
    quit_with_ctrl_c(&mut tui);
}

#[test]
fn space_disables_and_p_makes_primary() {
    let fx = Fixture::new();
    fx.seed(&[("openai-prod", OPENAI_KEY), ("claude-dev", ANTHROPIC_KEY)]);
    let mut tui = fx.tui().spawn();
    unlock(&mut tui, 2);
    assert!(row_with(&mut tui, "claude-dev").contains(" active "));

    // Space on the selected (first) entry disables it.
    let mark = tui.mark();
    tui.send(" ");
    tui.wait_seen(mark, &["Disabled claude-dev"], &[]);
    let row = row_with(&mut tui, "claude-dev");
    assert!(row.contains(" inactive "), "{row}");
    assert!(row_with(&mut tui, "openai-prod").contains(" active "));

    // Down to openai-prod; p makes it primary.
    let mark = tui.mark();
    tui.send("j");
    tui.send("p");
    tui.wait_seen(
        mark,
        &["openai-prod is now the primary openai key for prod"],
        &[],
    );
    let row = row_with(&mut tui, "openai-prod");
    assert!(row.contains(" primary "), "{row}");
    assert!(row_with(&mut tui, "claude-dev").contains(" inactive "));

    // p again only says so.
    let mark = tui.mark();
    tui.send("p");
    tui.wait_seen(mark, &["openai-prod is already primary"], &[]);
    quit(&mut tui);

    let list = fx.list_json();
    let by_name = |n: &str| list.iter().find(|e| e["name"] == n).unwrap().clone();
    assert_eq!(by_name("claude-dev")["active"], false);
    assert_eq!(by_name("claude-dev")["status"], "inactive");
    assert_eq!(by_name("openai-prod")["primary"], true);
    assert_eq!(by_name("openai-prod")["status"], "primary");
}

#[test]
fn reveal_shows_the_secret_for_the_configured_time_only() {
    // Long enough for the revealed screen to be looked at first (and it is looked for
    // in every screen since the key press, so even a late look finds it).
    const REVEAL_FOR: u64 = 5;
    let fx = Fixture::with_config(&format!("reveal_timeout = {REVEAL_FOR}"));
    fx.seed(&[("openai-prod", OPENAI_KEY)]);
    let masked = fx.masked("openai-prod");
    let mut tui = fx.tui().spawn();
    unlock(&mut tui, 1);
    let mark = tui.mark();
    tui.send("v");
    let shown = tui.wait_seen(mark, &[OPENAI_KEY], &[&masked]);
    // It hides again by itself (no key pressed). The limit only keeps a hung program
    // from hanging the test.
    tui.wait_seen_within(
        shown,
        &[&masked],
        &[OPENAI_KEY],
        WAIT + Duration::from_secs(REVEAL_FOR),
    );
    tui.wait_screen(&[&masked], &[OPENAI_KEY]);
    quit(&mut tui);
    assert_eq!(
        fx.show_json("openai-prod")["use_count"],
        0,
        "a reveal is no use"
    );
}

#[test]
fn leaving_a_changed_form_asks_first() {
    let fx = Fixture::new();
    fx.seed(&[]);
    let mut tui = fx.tui().spawn();
    unlock(&mut tui, 0);
    tui.send("a");
    tui.wait_for_all(&["Add a key", "Skip format check"]);
    tui.send("half-typed");
    tui.wait_for("Name half-typed");
    tui.send_esc();
    tui.wait_for_all(&["Leave the form and lose your changes?", "y yes  n no"]);
    tui.send("n");
    // The form comes back as it was.
    tui.wait_screen(
        &["Add a key", "Name half-typed", "Skip format check"],
        &["Leave the form"],
    );
    tui.send_esc();
    tui.wait_for_all(&["Leave the form and lose your changes?", "y yes  n no"]);
    tui.send("y");
    tui.wait_screen(
        &["No keys yet", "q quit"],
        &["Add a key", "half-typed", "Leave the form"],
    );
    quit(&mut tui);
}

#[test]
fn without_a_terminal_it_exits_2_with_one_line() {
    let fx = Fixture::new();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_keyward"));
    for key in SCRUBBED_ENV {
        cmd.env_remove(key);
    }
    let out = cmd
        .arg("--vault")
        .arg(&fx.vault)
        .env("KEYWARD_CONFIG", &fx.config)
        .current_dir(fx.dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        out.stdout.is_empty(),
        "{:?}",
        out.stdout.escape_ascii().to_string()
    );
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err:?}");
    assert!(err.starts_with("keyward: "), "{err:?}");
    assert!(err.contains("needs a terminal"), "{err:?}");
    assert!(!fx.vault.exists(), "no vault is created");
}

#[test]
fn stdout_redirected_from_a_terminal_exits_2_with_one_line() {
    // stdin is a terminal but stdout a file: still refused, and nothing in the file.
    let fx = Fixture::new();
    let file = fx.dir.path().join("stdout.txt");
    let mut tui = Spawn::program("/bin/sh")
        .args(["-c", "exec \"$0\" --vault \"$1\" > \"$2\""])
        .arg(env!("CARGO_BIN_EXE_keyward"))
        .arg(&fx.vault)
        .arg(&file)
        .env("KEYWARD_CONFIG", &fx.config)
        .cwd(fx.dir.path())
        .spawn();
    let status = tui.wait_exit();
    assert_eq!(status.exit_code(), 2, "{status:?}");
    let screen = tui.screen();
    assert!(screen.contains("needs a terminal"), "{screen}");
    assert_eq!(screen.trim().lines().count(), 1, "{screen}");
    assert_eq!(std::fs::read(&file).unwrap(), b"", "nothing on stdout");
    assert!(!contains(&tui.output(), b"\x1b[?1049h"));
    assert_eq!(tui.is_cooked(), Some(true), "the terminal was left alone");
    assert!(!fx.vault.exists());
}
