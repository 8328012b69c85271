//! `keyward get --copy` and `keyward clear` from the command line. The system-clipboard
//! tests start their own Xvfb and read the clipboard back with `xclip`, as another
//! application would (the Xvfb and xclip guards are those of `tests/support/x11.rs`:
//! a missing tool skips the test with a reason, except with `CI=true`, where it fails).
//! The OSC 52 test runs `get --copy` in a pseudo-terminal with `SSH_TTY` set.
//!
//! No test times anything. Each waits (polling, with generous limits) for something it
//! can see: the helper's pid file (in a private `XDG_RUNTIME_DIR` per test) is there
//! while a clear is pending and removed once the helper is done, so "after the
//! timeout" is waited for, never guessed. Where the test must act before the clear, the
//! timeout is long ([`ACT_BEFORE_CLEAR`] or [`NEVER`]).

mod support {
    pub mod pty;
    pub mod x11;
}

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use base64::Engine;
use tempfile::TempDir;

use support::x11::{WAIT, Xclip, Xvfb, signal, tools_or_skip, wait_up_to};

/// The passphrase of every test vault.
const PASSPHRASE: &str = "clipboard cli test passphrase";
/// The one entry of every test vault.
const ENTRY: &str = "clip-canary";
/// A timeout the tests let run out by itself (short, so the test is short; nothing
/// has to happen before it).
const SHORT: u64 = 3;
/// A timeout that surely outlasts what a test does before it (a few process starts).
const ACT_BEFORE_CLEAR: u64 = 20;
/// A timeout that never runs out during a test: `keyward clear` (or the test's
/// clean-up) ends the helper.
const NEVER: u64 = 600;
/// How often to look again.
const POLL: Duration = Duration::from_millis(50);
/// What another application copies in between.
const OTHER: &str = "other";
/// Variables that would make keyward pick another clipboard or find another vault.
const ENV_REMOVED: &[&str] = &[
    "SSH_TTY",
    "SSH_CONNECTION",
    "SSH_CLIENT",
    "TMUX",
    "DISPLAY",
    "WAYLAND_DISPLAY",
    "KEYWARD_PASSPHRASE",
    "KEYWARD_NEW_PASSPHRASE",
    "KEYWARD_VAULT",
    "KEYWARD_CONFIG",
    "XDG_RUNTIME_DIR",
];

// ---------------------------------------------------------------------------------
// One test's world: a vault, a config, a private runtime directory.

/// A fresh `sk-proj-` key with 30 random letters and digits.
fn random_key() -> String {
    const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut bytes = [0u8; 30];
    getrandom::fill(&mut bytes).expect("random bytes");
    let tail: String = bytes
        .iter()
        .map(|b| ALNUM[*b as usize % ALNUM.len()] as char)
        .collect();
    format!("sk-proj-{tail}")
}

/// What a `keyward` run gave.
struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

/// A vault with one OpenAI key, its config, and the runtime directory helpers use.
/// Dropping it ends any helper still running (a failed test leaves none behind).
struct World {
    dir: TempDir,
    secret: String,
}

impl World {
    fn new(clipboard: &str) -> World {
        let dir = tempfile::tempdir().expect("tempdir");
        let runtime = dir.path().join("run");
        std::fs::create_dir(&runtime).expect("create the runtime dir");
        std::fs::set_permissions(
            &runtime,
            std::os::unix::fs::PermissionsExt::from_mode(0o700),
        )
        .expect("chmod the runtime dir");
        let w = World {
            dir,
            secret: random_key(),
        };
        w.set_clipboard(clipboard);
        let init = w.run(
            &[
                "init",
                "--kdf-memory-mib",
                "1",
                "--kdf-iterations",
                "1",
                "--kdf-parallelism",
                "1",
            ],
            None,
            "",
        );
        assert_eq!(init.code, 0, "init failed: {}", init.stderr);
        let add = w.run(
            &["add", ENTRY, "--provider", "openai"],
            None,
            &format!("{}\n", w.secret),
        );
        assert_eq!(add.code, 0, "add failed: {}", add.stderr);
        w
    }

    fn set_clipboard(&self, clipboard: &str) {
        std::fs::write(
            self.config(),
            format!("clipboard = \"{clipboard}\"\n\n[kdf]\nmemory_mib = 1\niterations = 1\nparallelism = 1\n"),
        )
        .expect("write the config");
    }

    fn config(&self) -> PathBuf {
        self.dir.path().join("config.toml")
    }

    fn vault(&self) -> PathBuf {
        self.dir.path().join("vault")
    }

    fn runtime(&self) -> PathBuf {
        self.dir.path().join("run")
    }

    /// The helpers' pid files.
    fn pid_files(&self) -> Vec<PathBuf> {
        let Ok(dir) = std::fs::read_dir(self.runtime().join("keyward")) else {
            return Vec::new();
        };
        dir.flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "pid"))
            .collect()
    }

    /// Waits until no helper is pending any more (its pid file is removed when it is
    /// done). The limit only keeps a hung helper from hanging the test.
    fn wait_helpers_done(&self, timeout: u64) {
        let end = Instant::now() + Duration::from_secs(timeout) + WAIT;
        while !self.pid_files().is_empty() {
            assert!(
                Instant::now() < end,
                "the clipboard helper is still running long after its {timeout}s timeout"
            );
            std::thread::sleep(POLL);
        }
    }

    /// Runs keyward on the vault (stdout and stderr captured, the passphrase in the
    /// environment); `display` is the X display, if any.
    fn run(&self, args: &[&str], display: Option<&str>, stdin: &str) -> Out {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_keyward"));
        for var in ENV_REMOVED {
            cmd.env_remove(var);
        }
        if let Some(d) = display {
            cmd.env("DISPLAY", d);
        }
        let mut child = cmd
            .arg("--vault")
            .arg(self.vault())
            .args(args)
            .env("KEYWARD_CONFIG", self.config())
            .env("KEYWARD_PASSPHRASE", PASSPHRASE)
            .env("XDG_RUNTIME_DIR", self.runtime())
            .env("RUST_BACKTRACE", "1")
            .current_dir(self.dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run keyward");
        let mut input = child.stdin.take().expect("piped stdin");
        let _ = input.write_all(stdin.as_bytes());
        drop(input);
        // The helper gets pipes of its own: keyward's stdout and stderr close when
        // keyward exits, so this returns then, not when the helper is done.
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(child.wait_with_output());
        });
        let out = rx
            .recv_timeout(WAIT)
            .unwrap_or_else(|_| panic!("keyward {args:?} did not return"))
            .expect("wait for keyward");
        Out {
            code: out.status.code().expect("keyward was killed by a signal"),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// `get ENTRY --copy` with `--clipboard-timeout timeout`: exit 0, nothing on stdout,
    /// one line on stderr that does not hold the secret.
    fn copy(&self, timeout: u64, display: Option<&str>) -> Out {
        let t = timeout.to_string();
        let out = self.run(
            &["--clipboard-timeout", &t, "get", ENTRY, "--copy"],
            display,
            "",
        );
        assert_eq!(
            out.code,
            0,
            "get --copy failed: {}",
            self.redact(&out.stderr)
        );
        assert_eq!(out.stdout, "", "get --copy wrote to stdout");
        self.assert_secret_not_in(&out);
        out
    }

    fn assert_secret_not_in(&self, out: &Out) {
        assert!(
            !out.stdout.contains(&self.secret),
            "the secret was on stdout"
        );
        assert!(
            !out.stderr.contains(&self.secret),
            "the secret was on stderr"
        );
    }

    fn redact(&self, text: &str) -> String {
        text.replace(&self.secret, "<SECRET>")
    }
}

impl Drop for World {
    fn drop(&mut self) {
        for file in self.pid_files() {
            let pid = std::fs::read_to_string(&file).unwrap_or_default();
            if let Ok(pid) = pid.trim().parse::<u32>() {
                signal(pid, rustix::process::Signal::TERM);
            }
        }
    }
}

/// An X server, xclip on it, and a world whose config says `clipboard = "system"`.
/// Fields drop in order: the world (ending helpers) before the X server.
struct Desk {
    world: World,
    xclip: Xclip,
    xvfb: Xvfb,
}

impl Desk {
    fn start(test: &str) -> Option<Desk> {
        let tools = tools_or_skip(test)?;
        let world = World::new("system");
        let xvfb = Xvfb::start(&tools.xvfb, &world.dir.path().join("xvfb.log"));
        let xclip = Xclip {
            path: tools.xclip,
            display: xvfb.name(),
        };
        Some(Desk { world, xclip, xvfb })
    }

    fn display(&self) -> String {
        self.xvfb.name()
    }

    fn copy(&self, timeout: u64) -> Out {
        self.world.copy(timeout, Some(&self.display()))
    }

    /// Waits until xclip reads `text`.
    fn wait_clipboard(&self, text: &str, what: &str) {
        let end = Instant::now() + WAIT;
        loop {
            let now = self.xclip.read();
            if now.as_deref() == Some(text) {
                return;
            }
            assert!(
                Instant::now() < end,
                "xclip never read {what} (last: {:?})",
                now.map(|t| self.world.redact(&t))
            );
            std::thread::sleep(POLL);
        }
    }

    /// Waits until the clipboard holds nothing.
    fn wait_clipboard_empty(&self) {
        let end = Instant::now() + WAIT;
        loop {
            let now = self.xclip.read();
            if now.as_deref().is_none_or(str::is_empty) {
                return;
            }
            assert!(
                Instant::now() < end,
                "the clipboard was not cleared: it holds {}",
                if now.as_deref() == Some(self.world.secret.as_str()) {
                    "the secret".to_string()
                } else {
                    format!("{now:?}")
                }
            );
            std::thread::sleep(POLL);
        }
    }
}

// ---------------------------------------------------------------------------------
// The tests: the system clipboard (Xvfb).

#[test]
fn copy_returns_at_once_and_the_secret_is_on_the_clipboard() {
    let Some(d) = Desk::start("copy_returns_at_once_and_the_secret_is_on_the_clipboard") else {
        return;
    };
    let out = d.copy(NEVER);
    assert!(
        out.stderr.contains(&format!(
            "copied {ENTRY} to the system clipboard; clears in {NEVER} s"
        )),
        "{}",
        out.stderr
    );
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    // keyward has exited; the helper serves the selection.
    d.wait_clipboard(&d.world.secret, "the secret");
    assert_eq!(d.world.pid_files().len(), 1, "no pending clear is recorded");
    // A copy counts as a use, recorded as `copy` (not `get`).
    let audit = d.world.run(&["audit", ENTRY, "--json"], None, "");
    assert_eq!(audit.code, 0, "{}", audit.stderr);
    assert!(audit.stdout.contains("\"copy\""), "{}", audit.stdout);
    assert!(!audit.stdout.contains("\"get\""), "{}", audit.stdout);
    d.world.assert_secret_not_in(&audit);
}

#[test]
fn the_copy_is_marked_to_stay_out_of_clipboard_history() {
    let Some(d) = Desk::start("the_copy_is_marked_to_stay_out_of_clipboard_history") else {
        return;
    };
    d.copy(NEVER);
    d.wait_clipboard(&d.world.secret, "the secret");
    let targets = d
        .xclip
        .read_target(Some("TARGETS"))
        .expect("xclip could not read the clipboard's TARGETS");
    assert!(
        targets
            .lines()
            .any(|t| t.trim() == "x-kde-passwordManagerHint"),
        "the copy does not offer x-kde-passwordManagerHint; TARGETS:\n{targets}"
    );
    assert_eq!(
        d.xclip
            .read_target(Some("x-kde-passwordManagerHint"))
            .as_deref(),
        Some("secret")
    );
}

#[test]
fn the_clipboard_is_cleared_after_the_timeout() {
    let Some(d) = Desk::start("the_clipboard_is_cleared_after_the_timeout") else {
        return;
    };
    // Something is on the clipboard first: the copy must replace it (xclip -i exits
    // when it loses the selection), and the clear must then leave nothing.
    let mut before = d.xclip.copy(OTHER);
    d.wait_clipboard(OTHER, "what was copied before");
    d.copy(SHORT);
    assert!(
        wait_up_to(&mut before.0, WAIT).is_some(),
        "get --copy did not take the clipboard from xclip"
    );
    d.world.wait_helpers_done(SHORT);
    d.wait_clipboard_empty();
}

#[test]
fn something_copied_in_between_is_left_alone() {
    let Some(d) = Desk::start("something_copied_in_between_is_left_alone") else {
        return;
    };
    d.copy(ACT_BEFORE_CLEAR);
    d.wait_clipboard(&d.world.secret, "the secret");
    let _other = d.xclip.copy(OTHER);
    d.wait_clipboard(OTHER, "the other copy");
    assert_eq!(
        d.world.pid_files().len(),
        1,
        "the {ACT_BEFORE_CLEAR}s timeout ran out before something else was copied"
    );
    d.world.wait_helpers_done(ACT_BEFORE_CLEAR);
    assert_eq!(d.xclip.read().as_deref(), Some(OTHER));
}

#[test]
fn clear_empties_the_clipboard_now_and_stops_the_pending_clear() {
    let Some(d) = Desk::start("clear_empties_the_clipboard_now_and_stops_the_pending_clear") else {
        return;
    };
    d.copy(NEVER);
    d.wait_clipboard(&d.world.secret, "the secret");
    let out = d.world.run(&["clear"], Some(&d.display()), "");
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout
            .contains("Cleared the system clipboard and stopped 1 pending clear"),
        "{}",
        out.stdout
    );
    d.world.assert_secret_not_in(&out);
    d.wait_clipboard_empty();
    assert!(d.world.pid_files().is_empty(), "the pid file is left");
    // Nothing there: still exit 0.
    let again = d.world.run(&["clear"], Some(&d.display()), "");
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(again.stdout, "Cleared the system clipboard.\n");
}

// ---------------------------------------------------------------------------------
// No way to copy: one line, non-zero, never the secret.

#[test]
fn clipboard_off_refuses_in_one_line() {
    let w = World::new("off");
    let out = w.run(&["get", ENTRY, "--copy"], None, "");
    assert_ne!(out.code, 0);
    assert_eq!(out.stdout, "");
    assert_eq!(out.stderr.lines().count(), 1, "{}", w.redact(&out.stderr));
    assert!(out.stderr.contains("copying is off"), "{}", out.stderr);
    w.assert_secret_not_in(&out);
    assert!(w.pid_files().is_empty());
    // `clear` has nothing to do, and says so.
    let clear = w.run(&["clear"], None, "");
    assert_eq!(clear.code, 0, "{}", clear.stderr);
    assert!(
        clear.stdout.contains("Nothing to clear"),
        "{}",
        clear.stdout
    );
}

#[test]
fn system_without_a_display_refuses_in_one_line() {
    let w = World::new("system");
    let out = w.run(&["get", ENTRY, "-c"], None, "");
    assert_ne!(out.code, 0);
    assert_eq!(out.stdout, "");
    assert_eq!(out.stderr.lines().count(), 1, "{}", w.redact(&out.stderr));
    assert!(out.stderr.contains("no system clipboard"), "{}", out.stderr);
    w.assert_secret_not_in(&out);
    // Nothing was copied, so nothing counts as a use.
    let audit = w.run(&["audit", ENTRY, "--json"], None, "");
    assert!(!audit.stdout.contains("\"copy\""), "{}", audit.stdout);
}

#[test]
fn copy_and_version_do_not_go_together() {
    let w = World::new("system");
    let out = w.run(&["get", ENTRY, "--copy", "--version", "1"], None, "");
    assert_eq!(out.code, 2, "{}", out.stderr);
    w.assert_secret_not_in(&out);
}

// ---------------------------------------------------------------------------------
// OSC 52 over SSH, in a pseudo-terminal.

#[test]
fn over_ssh_the_copy_and_the_clear_go_to_the_terminal() {
    use support::pty::Spawn;
    let w = World::new("auto");
    let mut pty = Spawn::keyward()
        .args(["--vault"])
        .arg(w.vault())
        .args([
            "--clipboard-timeout",
            &SHORT.to_string(),
            "get",
            ENTRY,
            "--copy",
        ])
        .env("KEYWARD_CONFIG", w.config())
        .env("KEYWARD_PASSPHRASE", PASSPHRASE)
        .env("XDG_RUNTIME_DIR", w.runtime())
        .env("SSH_TTY", "/dev/pts/0")
        .spawn();
    let encoded = base64::engine::general_purpose::STANDARD.encode(&w.secret);
    let copy = format!("\x1b]52;c;{encoded}\x07");
    let clear = "\x1b]52;c;\x07";
    pty.wait_output("the OSC 52 copy sequence", |o| {
        String::from_utf8_lossy(o).contains(&copy)
    });
    // keyward returns at once; the helper writes the clear sequence after the timeout.
    let status = pty.wait_exit();
    assert!(status.success(), "get --copy exited with {status:?}");
    pty.wait_output("the OSC 52 clearing sequence after the copy", |o| {
        let o = String::from_utf8_lossy(o);
        o.find(&copy)
            .is_some_and(|at| o[at + copy.len()..].contains(clear))
    });
    let screen = pty.screen();
    assert!(
        screen.contains(&format!(
            "copied {ENTRY} to the terminal clipboard (OSC 52); clears in {SHORT} s"
        )),
        "{screen}"
    );
    let raw = String::from_utf8_lossy(&pty.output()).into_owned();
    assert!(
        !raw.contains(&w.secret),
        "the secret was written in plain text"
    );
    w.wait_helpers_done(SHORT);
}
