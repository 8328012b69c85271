//! The detached helper behind `keyward get --copy`: a second `keyward` process that
//! takes the clipboard, keeps it alive (on X11 the selection is served by the process
//! that set it), and clears it when the timeout runs out — only if it still holds the
//! copied value. The secret reaches it on its stdin, never in argv or the environment.
//!
//! Each running helper leaves `clipboard-PID.pid` in keyward's runtime directory, so
//! `keyward clear` can end it. The directory is `$XDG_RUNTIME_DIR/keyward`, else
//! `/tmp/keyward-UID`; it must be ours and private (0700), or no file is written.

use std::io::{BufRead, Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use zeroize::Zeroizing;

use super::{Backend, Clipboard, Mode, Osc52, SystemClipboard, has_display, over_ssh};

/// The argument that marks a helper process (looked for in `/proc/PID/cmdline` before
/// `keyward clear` signals a PID read from a file).
pub const HELPER_FLAG: &str = "--clipboard-helper";

/// The line a helper writes once it holds the clipboard.
const READY: &str = "ok";

/// How a helper reaches the clipboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Way {
    /// The desktop clipboard through arboard (X11; Wayland through XWayland).
    System,
    /// OSC 52 written to the controlling terminal (`/dev/tty`).
    Osc52,
}

impl Way {
    /// The value of [`HELPER_FLAG`] naming this way.
    pub fn arg(self) -> &'static str {
        match self {
            Way::System => "system",
            Way::Osc52 => "osc52",
        }
    }

    /// How messages name it.
    pub fn name(self) -> &'static str {
        match self {
            Way::System => "system clipboard",
            Way::Osc52 => "terminal clipboard (OSC 52)",
        }
    }
}

/// The way the `clipboard` setting picks here (the same rules as the TUI: OSC 52 over
/// SSH or without a display). `Err` says why nothing can be copied.
pub fn choose(mode: Mode) -> Result<Way, String> {
    match mode {
        Mode::Off => Err("copying is off (clipboard = \"off\" in the config)".into()),
        Mode::System => Ok(Way::System),
        Mode::Osc52 => Ok(Way::Osc52),
        Mode::Auto if over_ssh() || !has_display() => Ok(Way::Osc52),
        Mode::Auto => Ok(Way::System),
    }
}

/// A backend for `way`: the desktop clipboard, or OSC 52 on the controlling terminal
/// (never stdout, which may be a pipe).
pub fn backend(way: Way) -> Result<Box<dyn Backend>, String> {
    match way {
        Way::System => SystemClipboard::new()
            .map(|c| Box::new(c) as Box<dyn Backend>)
            .map_err(|e| format!("no system clipboard ({e})")),
        Way::Osc52 => terminal()
            .map(|tty| Box::new(Osc52::to_writer(Box::new(tty))) as Box<dyn Backend>)
            .map_err(|e| format!("no terminal to copy through with OSC 52 (/dev/tty: {e})")),
    }
}

/// The controlling terminal; else stderr when it is a terminal (a helper started by
/// the agent, which has no controlling terminal, gets the command's that way).
fn terminal() -> std::io::Result<std::fs::File> {
    use std::io::IsTerminal;
    use std::os::fd::AsFd;
    match std::fs::OpenOptions::new().write(true).open("/dev/tty") {
        Ok(tty) => Ok(tty),
        Err(e) if std::io::stderr().is_terminal() => std::io::stderr()
            .as_fd()
            .try_clone_to_owned()
            .map(std::fs::File::from)
            .map_err(|_| e),
        Err(e) => Err(e),
    }
}

/// Runs the helper: takes `way`'s clipboard, puts the secret read from `input` (to its
/// end) on it, writes [`READY`] (or `error: WHY`) as one line to `report`, then waits
/// `timeout` and clears the clipboard if it still holds the secret. Returns when done.
pub fn serve(way: Way, timeout: Duration, input: impl Read, mut report: impl Write) {
    // /dev/tty is opened first: after setsid there is no controlling terminal.
    let backend = backend(way);
    // A session of its own: closing the terminal does not end the helper.
    let _ = rustix::process::setsid();
    let mut secret = Zeroizing::new(Vec::with_capacity(8192));
    let mut input = input;
    if let Err(e) = input.read_to_end(&mut secret) {
        let _ = writeln!(report, "error: cannot read the secret ({e})");
        return;
    }
    let Ok(secret) = String::from_utf8(std::mem::take(&mut *secret)).map(Zeroizing::new) else {
        let _ = writeln!(report, "error: the secret is not UTF-8");
        return;
    };
    let mut clipboard = Clipboard::with_backend(backend, timeout);
    if let Err(why) = clipboard.copy(&secret) {
        let _ = writeln!(report, "error: {why}");
        return;
    }
    let pid_file = write_pid_file();
    let _ = writeln!(report, "{READY}").and_then(|()| report.flush());
    drop(report);
    // The monotonic clock may stop while the machine sleeps; the wall clock does not.
    let started = SystemTime::now();
    let deadline = clipboard.deadline().unwrap_or_else(Instant::now);
    loop {
        let now = Instant::now();
        let wall_done = started.elapsed().is_ok_and(|e| e >= timeout);
        if now >= deadline || wall_done {
            break;
        }
        std::thread::sleep((deadline - now).min(Duration::from_secs(1)));
    }
    // Clears only if the clipboard still holds the secret (OSC 52 cannot tell: clears).
    clipboard.clear_now();
    drop(clipboard);
    if let Some(p) = pid_file {
        let _ = std::fs::remove_file(p);
    }
}

/// Reads the helper's one-line answer: `Ok` once it holds the clipboard.
pub fn read_answer(from: impl Read) -> Result<(), String> {
    let mut line = String::new();
    match std::io::BufReader::new(from).read_line(&mut line) {
        Ok(0) => Err("the clipboard helper stopped before taking the clipboard".into()),
        Ok(_) if line.trim_end() == READY => Ok(()),
        Ok(_) => Err(line
            .trim_end()
            .strip_prefix("error: ")
            .unwrap_or("the clipboard helper gave an unexpected answer")
            .to_string()),
        Err(e) => Err(format!("cannot read the clipboard helper's answer ({e})")),
    }
}

/// keyward's private runtime directory, created 0700 when missing. `None` when there
/// is none, or when it is not a directory owned by this user and closed to others.
pub fn runtime_dir() -> Option<PathBuf> {
    let uid = rustix::process::getuid().as_raw();
    let dir = directories::BaseDirs::new()
        .and_then(|b| b.runtime_dir().map(|d| d.join("keyward")))
        .unwrap_or_else(|| std::env::temp_dir().join(format!("keyward-{uid}")));
    let _ = std::fs::DirBuilder::new().mode(0o700).create(&dir);
    let meta = std::fs::symlink_metadata(&dir).ok()?;
    (meta.is_dir() && meta.uid() == uid && meta.permissions().mode() & 0o077 == 0).then_some(dir)
}

fn write_pid_file() -> Option<PathBuf> {
    let pid = std::process::id();
    let path = runtime_dir()?.join(format!("clipboard-{pid}.pid"));
    std::fs::write(&path, format!("{pid}\n")).ok()?;
    Some(path)
}

/// True when `pid` runs a keyward clipboard helper. Where there is no `/proc` to ask,
/// the pid file is trusted (it lives in a private directory).
fn is_helper(pid: u32) -> bool {
    if !Path::new("/proc/self/cmdline").exists() {
        return true;
    }
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .is_ok_and(|c| c.split(|b| *b == 0).any(|a| a == HELPER_FLAG.as_bytes()))
}

/// Ends every running helper (SIGTERM) and removes their pid files; returns how many
/// were ended. Stale files (the helper is gone) are removed too.
pub fn end_helpers() -> usize {
    let Some(dir) = runtime_dir() else {
        return 0;
    };
    let Ok(files) = std::fs::read_dir(&dir) else {
        return 0;
    };
    let mut ended = 0;
    for file in files.flatten() {
        let name = file.file_name();
        let Some(name) = name.to_str() else { continue };
        if !(name.starts_with("clipboard-") && name.ends_with(".pid")) {
            continue;
        }
        let pid = std::fs::read_to_string(file.path())
            .ok()
            .and_then(|t| t.trim().parse::<u32>().ok())
            .filter(|p| *p != std::process::id() && is_helper(*p));
        if let Some(pid) = pid.and_then(|p| rustix::process::Pid::from_raw(p as i32))
            && rustix::process::kill_process(pid, rustix::process::Signal::TERM).is_ok()
        {
            ended += 1;
        }
        let _ = std::fs::remove_file(file.path());
    }
    ended
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_answer_line() {
        assert_eq!(read_answer(&b"ok\n"[..]), Ok(()));
        assert_eq!(
            read_answer(&b"error: no display\n"[..]),
            Err("no display".into())
        );
        assert!(read_answer(&b""[..]).unwrap_err().contains("stopped"));
    }

    #[test]
    fn off_is_refused_and_osc52_is_kept() {
        assert!(choose(Mode::Off).unwrap_err().contains("off"));
        assert_eq!(choose(Mode::Osc52), Ok(Way::Osc52));
        assert_eq!(choose(Mode::System), Ok(Way::System));
    }
}
