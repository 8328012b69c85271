//! The system clipboard under a real X server: each test starts its own Xvfb, runs the
//! real `keyward` TUI in a pseudo-terminal with `clipboard = "system"`, presses `c`, and
//! reads the clipboard back with `xclip`, as another application would.
//!
//! Xvfb and xclip are system tools. When one is missing the tests print that they were
//! skipped and pass, except in CI (`CI=true`), where they fail and name the tool
//! (`.ci/run` installs both).
//!
//! Every wait polls (every 50 ms, with generous limits) for something to be seen; no
//! test sleeps for a fixed time nor asserts on durations. Screen texts are looked for
//! in every screen the TUI drew since a mark, so a short-lived message is not missed on
//! a loaded machine. No test races the clear timer: where a test must act before it
//! runs out, the timeout is long ([`ACT_BEFORE_CLEAR`]) and waited for generously; where
//! the clear itself is not the point, the timeout is [`NEVER`] and the clear is made
//! at once by locking (Ctrl-L) or quitting.

mod support {
    pub mod x11;
}

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{CommandBuilder, PtySize, native_pty_system};
use tempfile::TempDir;

use support::x11::{START_WAIT, Serving, WAIT, Xclip, Xvfb, tools_or_skip};

/// The passphrase of every test vault.
const PASSPHRASE: &str = "clipboard test passphrase";
/// The one entry of every test vault.
const ENTRY: &str = "clip-canary";
/// The TUI's `--clipboard-timeout`, in seconds, for the tests where the timer must run
/// out after the test did something (read the clipboard back, copy something else):
/// long enough that this surely happens first, even on a loaded machine.
const ACT_BEFORE_CLEAR: u64 = 20;
/// A clipboard timeout that never runs out during a test: only locking or quitting clear.
const NEVER: u64 = 600;
/// How often to look again.
const POLL: Duration = Duration::from_millis(50);
/// The pseudo-terminal's size: wide enough for the details pane beside the list.
const ROWS: u16 = 40;
const COLS: u16 = 140;
/// What another application copies in between.
const OTHER: &str = "other";
/// Variables that would make keyward pick another clipboard or skip the unlock screen.
const ENV_REMOVED: &[&str] = &[
    "SSH_TTY",
    "SSH_CONNECTION",
    "WAYLAND_DISPLAY",
    "KEYWARD_PASSPHRASE",
    "KEYWARD_NEW_PASSPHRASE",
    "KEYWARD_VAULT",
    "KEYWARD_CONFIG",
];

// ---------------------------------------------------------------------------------
// The TUI in a pseudo-terminal.

/// Everything the TUI has drawn so far.
#[derive(Default)]
struct Output {
    /// Each distinct screen, in order.
    screens: Vec<String>,
    /// Every byte written to the terminal.
    raw: Vec<u8>,
    /// The terminal was closed (the TUI exited).
    closed: bool,
}

/// `keyward` with no subcommand, in a pseudo-terminal read by a background thread.
struct Tui {
    child: Box<dyn portable_pty::Child + Send + Sync>,
    writer: Box<dyn Write + Send>,
    _master: Box<dyn portable_pty::MasterPty + Send>,
    output: Arc<Mutex<Output>>,
}

impl Tui {
    fn spawn(cmd: CommandBuilder) -> Tui {
        let pair = native_pty_system()
            .openpty(PtySize {
                rows: ROWS,
                cols: COLS,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("open a pseudo-terminal");
        let child = pair.slave.spawn_command(cmd).expect("start keyward");
        drop(pair.slave); // Else the reader never sees the end.
        let mut reader = pair.master.try_clone_reader().expect("pty reader");
        let writer = pair.master.take_writer().expect("pty writer");
        let output = Arc::new(Mutex::new(Output::default()));
        let shared = Arc::clone(&output);
        std::thread::spawn(move || {
            let size = |n| std::num::NonZeroU16::new(n).expect("non-zero size");
            let mut parser = vt100::Parser::new(size(ROWS), size(COLS), 0);
            let mut buf = [0u8; 8192];
            loop {
                let n = match reader.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                parser.process(&buf[..n]);
                let screen = parser.screen().contents();
                let mut out = shared.lock().unwrap();
                out.raw.extend_from_slice(&buf[..n]);
                if out.screens.last() != Some(&screen) {
                    out.screens.push(screen);
                }
            }
            shared.lock().unwrap().closed = true;
        });
        Tui {
            child,
            writer,
            _master: pair.master,
            output,
        }
    }

    /// Types `keys`.
    fn send(&mut self, keys: &str) {
        self.writer
            .write_all(keys.as_bytes())
            .expect("type into the TUI");
        self.writer.flush().expect("type into the TUI");
    }

    /// A point in the screen history: later waits look at screens drawn from here on.
    fn mark(&self) -> usize {
        self.output.lock().unwrap().screens.len().saturating_sub(1)
    }

    /// True when a screen drawn since `mark` showed `text`.
    fn seen_since(&self, mark: usize, text: &str) -> bool {
        let out = self.output.lock().unwrap();
        out.screens.iter().skip(mark).any(|s| s.contains(text))
    }

    /// The screen now.
    fn screen(&self) -> String {
        let out = self.output.lock().unwrap();
        out.screens.last().cloned().unwrap_or_default()
    }

    /// Waits until a screen drawn since `mark` shows `text`.
    fn wait_for(&self, mark: usize, text: &str, limit: Duration, secret: &str) {
        let end = Instant::now() + limit;
        while !self.seen_since(mark, text) {
            if Instant::now() >= end {
                panic!(
                    "the TUI did not show {text:?} within {limit:?}; the screen:\n{}",
                    redact(&self.screen(), secret)
                );
            }
            std::thread::sleep(POLL);
        }
    }

    /// Waits until the screen no longer shows `text`.
    fn wait_gone(&self, text: &str, secret: &str) {
        let end = Instant::now() + WAIT;
        while self.screen().contains(text) {
            if Instant::now() >= end {
                panic!(
                    "the TUI still shows {text:?} after {WAIT:?}; the screen:\n{}",
                    redact(&self.screen(), secret)
                );
            }
            std::thread::sleep(POLL);
        }
    }

    /// Waits for the TUI to exit.
    fn wait_exit(&mut self, secret: &str) -> portable_pty::ExitStatus {
        let end = Instant::now() + WAIT;
        loop {
            if let Some(status) = self.child.try_wait().expect("poll keyward") {
                return status;
            }
            assert!(
                Instant::now() < end,
                "keyward did not exit within {WAIT:?}; the screen:\n{}",
                redact(&self.screen(), secret)
            );
            std::thread::sleep(POLL);
        }
    }

    /// No screen the TUI drew, and no byte it wrote, held `secret` or a piece of it
    /// longer than its mask shows.
    fn assert_never_shown(&self, secret: &str) {
        let out = self.output.lock().unwrap();
        let raw = String::from_utf8_lossy(&out.raw);
        assert!(out.screens.len() > 1, "the TUI drew nothing");
        for piece in secret_pieces(secret) {
            assert!(
                !raw.contains(&piece),
                "the TUI wrote a piece of the secret to the terminal"
            );
            if let Some(screen) = out.screens.iter().find(|s| s.contains(&piece)) {
                panic!(
                    "the secret (or a piece of it) was on screen:\n{}",
                    redact(screen, secret)
                );
            }
        }
    }
}

impl Drop for Tui {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// The secret, and each 10-character piece of it before the last 4 characters (the
/// mask shows the provider prefix and the last 4, never 10 in a row).
fn secret_pieces(secret: &str) -> Vec<String> {
    let chars: Vec<char> = secret.chars().collect();
    let mut pieces = vec![secret.to_string()];
    for start in 0..chars.len().saturating_sub(4 + 10) + 1 {
        pieces.push(chars[start..start + 10].iter().collect());
    }
    pieces
}

/// `text` with `secret` and its pieces blotted out, for failure messages.
fn redact(text: &str, secret: &str) -> String {
    secret_pieces(secret)
        .iter()
        .fold(text.to_string(), |t, p| t.replace(p, "<SECRET>"))
}

// ---------------------------------------------------------------------------------
// One test's world: a vault, an X server, the TUI unlocked on it.

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

/// Runs a `keyward` subcommand on the vault; it must succeed.
fn keyward_cli(dir: &Path, config: &Path, args: &[&str], stdin: &str) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_keyward"));
    for var in ENV_REMOVED {
        cmd.env_remove(var);
    }
    let mut child = cmd
        .arg("--vault")
        .arg(dir)
        .args(args)
        .env("KEYWARD_CONFIG", config)
        .env("KEYWARD_PASSPHRASE", PASSPHRASE)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run keyward");
    let mut input = child.stdin.take().expect("piped stdin");
    input.write_all(stdin.as_bytes()).expect("write stdin");
    drop(input);
    let out = child.wait_with_output().expect("run keyward");
    assert!(
        out.status.success(),
        "keyward {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Fields drop in this order: the TUI first (so it exits while X is up), then the
/// copying xclip, then the X server, then the files.
struct Session {
    tui: Tui,
    serving: Option<Serving>,
    xclip: Xclip,
    _xvfb: Xvfb,
    _dir: TempDir,
    secret: String,
}

impl Session {
    /// A vault with one OpenAI key, Xvfb, and the TUI unlocked with the entry listed;
    /// `None` when the tools are missing (outside CI).
    fn start(test: &str, clear_after: u64) -> Option<Session> {
        let tools = tools_or_skip(test)?;
        let dir = tempfile::tempdir().expect("tempdir");
        let vault = dir.path().join("vault");
        let config = dir.path().join("config.toml");
        std::fs::write(
            &config,
            format!(
                "clipboard = \"system\"\nclipboard_timeout = {clear_after}\n\n\
                 [kdf]\nmemory_mib = 1\niterations = 1\nparallelism = 1\n"
            ),
        )
        .expect("write the config");
        let secret = random_key();
        keyward_cli(
            &vault,
            &config,
            &[
                "init",
                "--kdf-memory-mib",
                "1",
                "--kdf-iterations",
                "1",
                "--kdf-parallelism",
                "1",
            ],
            "",
        );
        keyward_cli(
            &vault,
            &config,
            &["add", ENTRY, "--provider", "openai"],
            &format!("{secret}\n"),
        );

        let xvfb = Xvfb::start(&tools.xvfb, &dir.path().join("xvfb.log"));
        let xclip = Xclip {
            path: tools.xclip,
            display: xvfb.name(),
        };

        let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_keyward"));
        cmd.arg("--vault");
        cmd.arg(&vault);
        cmd.arg("--clipboard-timeout");
        cmd.arg(clear_after.to_string());
        cmd.cwd(dir.path());
        for var in ENV_REMOVED {
            cmd.env_remove(var);
        }
        cmd.env("KEYWARD_CONFIG", &config);
        cmd.env("DISPLAY", xvfb.name());
        cmd.env("TERM", "xterm-256color");
        let mut tui = Tui::spawn(cmd);

        tui.wait_for(0, "Unlock", START_WAIT, &secret);
        let mark = tui.mark();
        tui.send(&format!("{PASSPHRASE}\r"));
        tui.wait_for(mark, ENTRY, WAIT, &secret);
        Some(Session {
            tui,
            serving: None,
            xclip,
            _xvfb: xvfb,
            _dir: dir,
            secret,
        })
    }

    /// Presses `c` and waits until xclip reads exactly the secret. Returns the mark
    /// taken before the key press.
    fn copy(&mut self) -> usize {
        let mark = self.tui.mark();
        self.tui.send("c");
        let end = Instant::now() + WAIT;
        loop {
            let now = self.xclip.read();
            if now.as_deref() == Some(self.secret.as_str()) {
                return mark;
            }
            assert!(
                !self.tui.seen_since(mark, "Clipboard cleared"),
                "the clear timer ran out before xclip read the secret back \
                 (xclip read {:?}); the screen:\n{}",
                now.map(|t| redact(&t, &self.secret)),
                redact(&self.tui.screen(), &self.secret)
            );
            assert!(
                Instant::now() < end,
                "xclip never read the secret back (last: {:?}); the screen:\n{}",
                now.map(|t| redact(&t, &self.secret)),
                redact(&self.tui.screen(), &self.secret)
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
                if now.as_deref() == Some(self.secret.as_str()) {
                    "the secret".to_string()
                } else {
                    format!("{now:?}")
                }
            );
            std::thread::sleep(POLL);
        }
    }

    /// Presses `q`; keyward must exit 0.
    fn quit(&mut self) {
        self.quit_with("q");
    }

    /// Types `keys`; keyward must exit 0.
    fn quit_with(&mut self, keys: &str) {
        self.tui.send(keys);
        let status = self.tui.wait_exit(&self.secret);
        assert!(status.success(), "keyward exited with {status:?}");
    }

    fn wait_for(&self, mark: usize, text: &str) {
        self.tui.wait_for(mark, text, WAIT, &self.secret);
    }

    /// Waits for what the clear timer does when it runs out. The limit (the timeout,
    /// plus [`WAIT`]) only keeps a hung keyward from hanging the test.
    fn wait_for_timer(&self, mark: usize, text: &str) {
        let limit = Duration::from_secs(ACT_BEFORE_CLEAR) + WAIT;
        self.tui.wait_for(mark, text, limit, &self.secret);
    }
}

// ---------------------------------------------------------------------------------
// The tests.

#[test]
fn copy_puts_the_secret_on_the_clipboard_and_clears_it_after_the_timeout() {
    let Some(mut s) = Session::start(
        "copy_puts_the_secret_on_the_clipboard_and_clears_it_after_the_timeout",
        ACT_BEFORE_CLEAR,
    ) else {
        return;
    };
    let mark = s.copy();
    s.wait_for(mark, &format!("{ENTRY} copied to the system clipboard"));
    s.wait_for(mark, "clears in");
    // No key pressed: the timer runs out by itself.
    s.wait_for_timer(mark, "Clipboard cleared");
    s.wait_clipboard_empty();
    assert!(!s.tui.seen_since(mark, "left alone"), "{}", s.tui.screen());
    s.quit();
    s.tui.assert_never_shown(&s.secret);
}

#[test]
fn the_copy_is_marked_to_stay_out_of_clipboard_history() {
    // The timer never runs out here: the secret stays ours until quitting clears it.
    let Some(mut s) = Session::start("the_copy_is_marked_to_stay_out_of_clipboard_history", NEVER)
    else {
        return;
    };
    let mark = s.copy();
    let targets = s.xclip.read_target(Some("TARGETS"));
    let hint = s.xclip.read_target(Some("x-kde-passwordManagerHint"));
    assert!(
        !s.tui.seen_since(mark, "Clipboard cleared"),
        "the clipboard was cleared long before its {NEVER}s timeout; the screen:\n{}",
        redact(&s.tui.screen(), &s.secret)
    );
    let targets = targets.expect("xclip could not read the clipboard's TARGETS");
    assert!(
        targets
            .lines()
            .any(|t| t.trim() == "x-kde-passwordManagerHint"),
        "the copy does not offer x-kde-passwordManagerHint, so clipboard managers keep it in \
         their history; TARGETS:\n{targets}"
    );
    // KDE's Klipper (and other managers honouring the hint) skip data whose hint is "secret".
    assert_eq!(hint.as_deref(), Some("secret"));
    s.quit();
    s.wait_clipboard_empty();
    s.tui.assert_never_shown(&s.secret);
}

#[test]
fn something_copied_in_between_is_left_alone() {
    // The timer must run out after something else was copied (a few process starts):
    // a long timeout, surely not over before that, then waited for.
    let Some(mut s) = Session::start(
        "something_copied_in_between_is_left_alone",
        ACT_BEFORE_CLEAR,
    ) else {
        return;
    };
    let mark = s.copy();
    s.serving = Some(s.xclip.copy(OTHER));
    let end = Instant::now() + WAIT;
    while s.xclip.read().as_deref() != Some(OTHER) {
        assert!(Instant::now() < end, "xclip -i did not take the clipboard");
        std::thread::sleep(POLL);
    }
    assert!(
        !s.tui.seen_since(mark, "Clipboard cleared"),
        "the clipboard was cleared before its {ACT_BEFORE_CLEAR}s timeout; the screen:\n{}",
        redact(&s.tui.screen(), &s.secret)
    );
    s.wait_for_timer(mark, "left alone");
    assert_eq!(s.xclip.read().as_deref(), Some(OTHER));
    assert!(
        !s.tui.seen_since(mark, "Clipboard cleared"),
        "{}",
        s.tui.screen()
    );
    // Quitting leaves it alone too.
    s.quit();
    assert_eq!(s.xclip.read().as_deref(), Some(OTHER));
    s.tui.assert_never_shown(&s.secret);
}

#[test]
fn quitting_clears_the_clipboard() {
    // A long timeout: only quitting may clear it here.
    let Some(mut s) = Session::start("quitting_clears_the_clipboard", NEVER) else {
        return;
    };
    let mark = s.copy();
    s.wait_for(mark, "clears in");
    s.quit();
    let now = s.xclip.read();
    assert!(
        now.as_deref().is_none_or(str::is_empty),
        "after quitting the clipboard holds {}",
        if now.as_deref() == Some(s.secret.as_str()) {
            "the secret".to_string()
        } else {
            format!("{now:?}")
        }
    );
    s.tui.assert_never_shown(&s.secret);
}

#[test]
fn locking_clears_the_clipboard_while_keyward_runs() {
    // Unlike quitting, where the X selection would go with keyward's window anyway,
    // this shows keyward itself emptying the clipboard.
    let Some(mut s) = Session::start("locking_clears_the_clipboard_while_keyward_runs", NEVER)
    else {
        return;
    };
    let mark = s.copy();
    s.tui.send("\x0c"); // Ctrl-L
    s.wait_for(mark, "Locked; clipboard cleared");
    s.wait_clipboard_empty();
    assert!(
        s.tui.child.try_wait().expect("poll keyward").is_none(),
        "keyward exited when locking"
    );
    s.wait_for(mark, "Unlock");
    s.quit_with("\x1b"); // Esc quits at the unlock screen.
    s.tui.assert_never_shown(&s.secret);
}

#[test]
fn the_secret_never_appears_on_screen() {
    // The clear is made at once by locking (the timer's own clear is watched in
    // `copy_puts_the_secret_on_the_clipboard_and_clears_it_after_the_timeout`).
    let Some(mut s) = Session::start("the_secret_never_appears_on_screen", NEVER) else {
        return;
    };
    // The details beside the list show the mask: the provider prefix and the last 4.
    let tail: String = s
        .secret
        .chars()
        .skip(s.secret.chars().count() - 4)
        .collect();
    s.wait_for(0, &format!("sk-p…{tail}"));
    // The details popup (its key hints name reveal); Enter opens and closes it.
    let mark = s.tui.mark();
    s.tui.send("\r");
    s.wait_for(mark, "reveal 10 s");
    s.tui.send("\r");
    s.tui.wait_gone("reveal 10 s", &s.secret);
    // Copying, the countdown, the clear (Ctrl-L), the unlock screen; Esc quits there.
    let mark = s.copy();
    s.wait_for(mark, "clears in");
    s.tui.send("\x0c"); // Ctrl-L
    s.wait_for(mark, "Locked; clipboard cleared");
    s.wait_clipboard_empty();
    s.quit_with("\x1b");
    s.tui.assert_never_shown(&s.secret);
    // The checks above are not vacuous: the screens were recorded.
    let out = s.tui.output.lock().unwrap();
    assert!(out.screens.iter().any(|sc| sc.contains(ENTRY)));
    assert!(out.screens.iter().any(|sc| sc.contains("clears in")));
}
