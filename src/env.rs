//! The environment a command runs in: this process's own, or, while the agent serves a
//! request, the environment and terminal of the `keyward` command that sent it. Code
//! that reads a variable (the clock, the config path, the clipboard's display),
//! prompts on the terminal or starts a helper process goes through here, so a command
//! behaves the same whether it runs in its own process or in the agent.

use std::collections::HashMap;
use std::ffi::OsString;
use std::fs::File;
use std::os::fd::OwnedFd;
use std::process::Command;
use std::sync::{Mutex, MutexGuard};

/// What the client of the request being served brought with it.
struct Borrowed {
    vars: HashMap<OsString, OsString>,
    tty: Option<OwnedFd>,
}

static BORROWED: Mutex<Option<Borrowed>> = Mutex::new(None);

fn borrowed() -> MutexGuard<'static, Option<Borrowed>> {
    // A poisoned lock only means a request panicked; its data is still whole.
    BORROWED.lock().unwrap_or_else(|e| e.into_inner())
}

/// A variable of the command's environment.
pub fn var_os(name: &str) -> Option<OsString> {
    match &*borrowed() {
        Some(b) => b.vars.get(std::ffi::OsStr::new(name)).cloned(),
        None => std::env::var_os(name),
    }
}

/// A variable of the command's environment, when it is set and valid UTF-8.
pub fn var(name: &str) -> Option<String> {
    var_os(name).and_then(|v| v.into_string().ok())
}

/// Set in the environment of a process the agent starts while it serves a request:
/// such a process never sends a command to that agent, which would wait for itself.
pub const AGENT_CHILD: &str = "KEYWARD_AGENT_CHILD";

/// Gives a child process the command's environment (it inherits this process's
/// otherwise); in the agent, marked with [`AGENT_CHILD`].
pub fn pass_on(cmd: &mut Command) {
    if let Some(b) = &*borrowed() {
        cmd.env_clear().envs(&b.vars).env(AGENT_CHILD, "1");
    }
}

/// The command's terminal, for prompts and OSC 52: the client's while serving a
/// request, else the controlling terminal.
pub fn tty() -> std::io::Result<File> {
    if let Some(b) = &*borrowed() {
        return match &b.tty {
            Some(fd) => fd.try_clone().map(File::from),
            None => Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "the command has no terminal",
            )),
        };
    }
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
}

/// The client's terminal while serving a request (for a helper process, which cannot
/// open it by name: the agent has no controlling terminal).
pub fn borrowed_tty() -> Option<OwnedFd> {
    borrowed()
        .as_ref()
        .and_then(|b| b.tty.as_ref())
        .and_then(|fd| fd.try_clone().ok())
}

/// While the guard lives, [`var_os`], [`pass_on`] and [`tty`] answer with these.
pub(crate) fn borrow(vars: HashMap<OsString, OsString>, tty: Option<OwnedFd>) -> Lent {
    *borrowed() = Some(Borrowed { vars, tty });
    Lent(())
}

/// Gives the process's own environment back when dropped.
pub(crate) struct Lent(());

impl Drop for Lent {
    fn drop(&mut self) {
        *borrowed() = None;
    }
}
