//! `keyward get --copy` and `keyward clear` from the command line. The system-clipboard
//! tests start their own Xvfb and read the clipboard back with `xclip`, as another
//! application would (the Xvfb and xclip guards are those of `tests/clipboard_x11.rs`:
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
}

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use base64::Engine;
use tempfile::TempDir;

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
/// How long to wait for something that should happen soon.
const WAIT: Duration = Duration::from_secs(15);
/// How long to wait for Xvfb to start (slow on a loaded machine).
const START_WAIT: Duration = Duration::from_secs(30);
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
// The system tools: found on PATH, else skipped (locally) or failed (CI).

/// The tools these tests need.
const TOOLS: [&str; 2] = ["Xvfb", "xclip"];

/// The full paths of Xvfb and xclip.
#[derive(Debug, Clone)]
struct Tools {
    xvfb: PathBuf,
    xclip: PathBuf,
}

/// `name` as an executable file in one of `path`'s directories.
fn find_in(path: &std::ffi::OsStr, name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    std::env::split_paths(path)
        .map(|dir| dir.join(name))
        .find(|p| {
            p.metadata()
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// What to do about the tools that were looked for.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    Run,
    Skip(String),
    Fail(String),
}

/// Run when nothing is missing; else skip, or fail when `ci` is `"true"`.
fn verdict(missing: &[&str], ci: Option<&str>) -> Verdict {
    if missing.is_empty() {
        return Verdict::Run;
    }
    let why = format!(
        "{} not found on PATH (install with `apt-get install xvfb xclip`)",
        missing.join(" and ")
    );
    if ci == Some("true") {
        Verdict::Fail(format!(
            "{why}; CI=true, so this test fails instead of skipping"
        ))
    } else {
        Verdict::Skip(why)
    }
}

/// The tools, or `None` after saying why the test is skipped. Panics in CI.
fn tools_or_skip(test: &str) -> Option<Tools> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let found: Vec<Option<PathBuf>> = TOOLS.iter().map(|t| find_in(&path, t)).collect();
    let missing: Vec<&str> = TOOLS
        .iter()
        .zip(&found)
        .filter(|(_, f)| f.is_none())
        .map(|(t, _)| *t)
        .collect();
    match verdict(&missing, std::env::var("CI").ok().as_deref()) {
        Verdict::Run => Some(Tools {
            xvfb: found[0].clone()?,
            xclip: found[1].clone()?,
        }),
        Verdict::Skip(why) => {
            eprintln!("skipped {test}: {why}");
            None
        }
        Verdict::Fail(why) => panic!("{test}: {why}"),
    }
}

#[test]
fn a_missing_tool_skips_locally_and_fails_in_ci() {
    assert_eq!(verdict(&[], Some("true")), Verdict::Run);
    assert_eq!(verdict(&[], None), Verdict::Run);
    let Verdict::Skip(why) = verdict(&["xclip"], None) else {
        panic!("a missing tool outside CI must skip")
    };
    assert!(why.contains("xclip"), "{why}");
    assert!(matches!(
        verdict(&["Xvfb"], Some("false")),
        Verdict::Skip(_)
    ));
    let Verdict::Fail(why) = verdict(&["Xvfb", "xclip"], Some("true")) else {
        panic!("a missing tool in CI must fail")
    };
    assert!(why.contains("Xvfb and xclip"), "{why}");
}

// ---------------------------------------------------------------------------------
// Small process helpers.

/// Sends `signal` to a process this test started.
fn signal(pid: u32, signal: rustix::process::Signal) {
    if let Some(pid) = rustix::process::Pid::from_raw(pid as i32) {
        let _ = rustix::process::kill_process(pid, signal);
    }
}

/// Waits for `child` up to `limit`; `None` if it is still running.
fn wait_up_to(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let end = Instant::now() + limit;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if Instant::now() < end => std::thread::sleep(Duration::from_millis(10)),
            _ => return None,
        }
    }
}

/// Runs `cmd` (stdin closed) and returns its exit success and stdout; `None` when it
/// did not finish within `WAIT` (it is killed then).
fn run_briefly(cmd: &mut Command) -> Option<(bool, Vec<u8>)> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn a helper tool");
    let mut stdout = child.stdout.take().expect("piped stdout");
    let reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        let _ = stdout.read_to_end(&mut out);
        out
    });
    let status = wait_up_to(&mut child, WAIT);
    if status.is_none() {
        let _ = child.kill();
        let _ = child.wait();
    }
    let out = reader.join().unwrap_or_default();
    status.map(|s| (s.success(), out))
}

// ---------------------------------------------------------------------------------
// Xvfb.

/// An Xvfb on a display of its own, stopped on drop.
struct Xvfb {
    child: Child,
    display: u32,
    /// Kept open: Xvfb wrote its display number here (`-displayfd 1`).
    _stdout: BufReader<ChildStdout>,
}

impl Xvfb {
    /// Starts Xvfb on a free display in :90–:199. `-displayfd 1` makes it print the
    /// display number once it accepts connections; a display taken meanwhile (by
    /// another test) makes it exit, and the next one is tried.
    fn start(xvfb: &Path, log: &Path) -> Xvfb {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let first = std::process::id()
            .wrapping_mul(7)
            .wrapping_add(NEXT.fetch_add(1, Ordering::Relaxed) * 23);
        let mut failures = Vec::new();
        for i in 0..110 {
            let display = 90 + (first + i) % 110;
            if Path::new(&format!("/tmp/.X11-unix/X{display}")).exists()
                || Path::new(&format!("/tmp/.X{display}-lock")).exists()
            {
                continue;
            }
            let mut child = Command::new(xvfb)
                .arg(format!(":{display}"))
                .args(["-screen", "0", "1024x768x24", "-nolisten", "tcp"])
                // No reset when the last client leaves (`keyward clear` ends the helper,
                // often the only client): a desktop always has clients, and a
                // connection made during the reset is refused.
                .arg("-noreset")
                .args(["-displayfd", "1"])
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(File::create(log).expect("create the Xvfb log"))
                .spawn()
                .expect("start Xvfb");
            let stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
            let (tx, rx) = mpsc::channel();
            std::thread::spawn(move || {
                let mut stdout = stdout;
                let mut line = String::new();
                let _ = stdout.read_line(&mut line);
                let _ = tx.send((line, stdout));
            });
            match rx.recv_timeout(START_WAIT) {
                Ok((line, stdout)) if line.trim() == display.to_string() => {
                    return Xvfb {
                        child,
                        display,
                        _stdout: stdout,
                    };
                }
                outcome => {
                    let _ = child.kill();
                    let _ = child.wait();
                    let log = std::fs::read_to_string(log).unwrap_or_default();
                    if outcome.is_err() {
                        panic!("Xvfb :{display} did not start within {START_WAIT:?}:\n{log}");
                    }
                    failures.push(format!(":{display}: {}", log.trim()));
                    if failures.len() >= 10 {
                        panic!("Xvfb would not start:\n{}", failures.join("\n"));
                    }
                }
            }
        }
        panic!("no free X display in :90–:199 ({failures:?})");
    }

    fn name(&self) -> String {
        format!(":{}", self.display)
    }
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        // SIGTERM lets Xvfb remove its socket and lock file.
        signal(self.child.id(), rustix::process::Signal::TERM);
        if wait_up_to(&mut self.child, Duration::from_secs(10)).is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
            let _ = std::fs::remove_file(format!("/tmp/.X11-unix/X{}", self.display));
            let _ = std::fs::remove_file(format!("/tmp/.X{}-lock", self.display));
        }
    }
}

/// `xclip` bound to one display.
struct Xclip {
    path: PathBuf,
    display: String,
}

impl Xclip {
    fn command(&self) -> Command {
        let mut cmd = Command::new(&self.path);
        cmd.args(["-selection", "clipboard", "-display", &self.display]);
        cmd
    }

    /// What the clipboard holds as text; `None` when it holds nothing (or xclip hung).
    fn read(&self) -> Option<String> {
        self.read_target(None)
    }

    /// The clipboard converted to `target` (`TARGETS`, a MIME type), or `None`.
    fn read_target(&self, target: Option<&str>) -> Option<String> {
        let mut cmd = self.command();
        cmd.arg("-o");
        if let Some(t) = target {
            cmd.args(["-t", t]);
        }
        match run_briefly(&mut cmd) {
            Some((true, out)) => Some(String::from_utf8_lossy(&out).into_owned()),
            _ => None,
        }
    }

    /// Copies `text` the way another application would: xclip owns the selection and
    /// serves it (in the foreground, `-quiet`) until it is killed.
    fn copy(&self, text: &str) -> Serving {
        let mut child = self
            .command()
            .args(["-i", "-quiet"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start xclip -i");
        let mut stdin = child.stdin.take().expect("piped stdin");
        stdin.write_all(text.as_bytes()).expect("write to xclip");
        drop(stdin); // EOF: xclip takes the selection now.
        Serving(child)
    }
}

/// An `xclip -i` serving the clipboard; killed and reaped on drop.
struct Serving(Child);

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

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
