//! The X11 clipboard harness shared by `tests/clipboard_cli.rs` and
//! `tests/clipboard_x11.rs`: finds Xvfb and xclip on PATH (a missing tool skips the
//! test with a reason, except with `CI=true`, where it fails), starts an Xvfb of its
//! own on a free display (stopped, its lock and socket removed, on drop), and reads or
//! fills the clipboard with `xclip`, as another application would.
//!
//! Use it from an integration test with
//!
//! ```ignore
//! mod support {
//!     pub mod pty;
//!     pub mod x11;
//! }
//! use support::x11::{Xclip, Xvfb, tools_or_skip};
//! ```

#![allow(dead_code)]

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long to wait for something that should happen soon.
pub const WAIT: Duration = Duration::from_secs(15);
/// How long to wait for Xvfb (or a TUI) to start (slow on a loaded machine).
pub const START_WAIT: Duration = Duration::from_secs(30);

// ---------------------------------------------------------------------------------
// The system tools: found on PATH, else skipped (locally) or failed (CI).

/// The tools these tests need.
pub const TOOLS: [&str; 2] = ["Xvfb", "xclip"];

/// The full paths of Xvfb and xclip.
#[derive(Debug, Clone)]
pub struct Tools {
    pub xvfb: PathBuf,
    pub xclip: PathBuf,
}

/// `name` as an executable file in one of `path`'s directories.
pub fn find_in(path: &std::ffi::OsStr, name: &str) -> Option<PathBuf> {
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
pub enum Verdict {
    Run,
    Skip(String),
    Fail(String),
}

/// Run when nothing is missing; else skip, or fail when `ci` is `"true"`.
pub fn verdict(missing: &[&str], ci: Option<&str>) -> Verdict {
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
pub fn tools_or_skip(test: &str) -> Option<Tools> {
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
pub fn signal(pid: u32, signal: rustix::process::Signal) {
    if let Some(pid) = rustix::process::Pid::from_raw(pid as i32) {
        let _ = rustix::process::kill_process(pid, signal);
    }
}

/// Waits for `child` up to `limit`; `None` if it is still running.
pub fn wait_up_to(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
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
pub fn run_briefly(cmd: &mut Command) -> Option<(bool, Vec<u8>)> {
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
pub struct Xvfb {
    child: Child,
    display: u32,
    /// Kept open: Xvfb wrote its display number here (`-displayfd 1`).
    _stdout: BufReader<ChildStdout>,
}

impl Xvfb {
    /// Starts Xvfb on a free display in :90–:199. `-displayfd 1` makes it print the
    /// display number once it accepts connections; a display taken meanwhile (by
    /// another test) makes it exit, and the next one is tried.
    pub fn start(xvfb: &Path, log: &Path) -> Xvfb {
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

    pub fn name(&self) -> String {
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
pub struct Xclip {
    pub path: PathBuf,
    pub display: String,
}

impl Xclip {
    pub fn command(&self) -> Command {
        let mut cmd = Command::new(&self.path);
        cmd.args(["-selection", "clipboard", "-display", &self.display]);
        cmd
    }

    /// What the clipboard holds as text; `None` when it holds nothing (or xclip hung).
    pub fn read(&self) -> Option<String> {
        self.read_target(None)
    }

    /// The clipboard converted to `target` (`TARGETS`, a MIME type), or `None`.
    pub fn read_target(&self, target: Option<&str>) -> Option<String> {
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
    pub fn copy(&self, text: &str) -> Serving {
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
pub struct Serving(pub Child);

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
