//! `get --copy` and `clear`: the clipboard from the command line, with the TUI's rules
//! (kept out of clipboard history, cleared after the timeout only if unchanged, OSC 52
//! over SSH). `get --copy` returns at once: a detached helper (this binary, run as
//! `keyward clear --clipboard-helper WAY`) holds the copy and clears it later. The
//! secret reaches it through a pipe; nothing is ever printed instead of copied.

use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use clap::Args;

use super::{Cli, print};
use crate::clipboard::daemon::{self, HELPER_FLAG, Way};
use crate::clipboard::{Backend, Mode};
use crate::error::{Error, Result, exit};
use crate::model::Action;

/// How long `get --copy` waits for the helper to say it holds the clipboard. Only a
/// hung X server makes it wait this long.
const HELPER_ANSWER: Duration = Duration::from_secs(20);

/// Variables a helper must not inherit: it outlives the command and needs none.
const NOT_PASSED_ON: &[&str] = &[
    "KEYWARD_PASSPHRASE",
    "KEYWARD_NEW_PASSPHRASE",
    "KEYWARD_BUNDLE_PASSPHRASE",
];

/// `clear` flags.
#[derive(Debug, Args)]
pub struct ClearArgs {
    /// Internal: run as the detached helper of `get --copy` (the secret comes on stdin)
    #[arg(long = "clipboard-helper", hide = true, value_name = "WAY", value_enum)]
    pub helper: Option<Way>,
}

fn no_way(why: String) -> Error {
    Error::Invalid(format!("cannot copy: {why}; nothing was copied"))
}

/// `keyward get NAME --copy [--field F]`: copies the value, records a `copy` use, and
/// says on stderr where it went and when it clears.
pub(super) fn get(cli: &Cli, name: &str, field: Option<&str>) -> Result<()> {
    let config = super::config(cli)?;
    // Refused before the passphrase is asked for.
    let way = daemon::choose(config.clipboard).map_err(no_way)?;
    let timeout = config.clipboard_timeout;
    let mut vault = super::open(cli)?;
    let entry = vault.entry(name)?;
    if let Some(f) = field
        && !entry.meta.field_names.iter().any(|n| n == f)
    {
        return Err(super::no_such_field(name, f, &entry.meta.field_names));
    }
    let secret = vault.secret(&entry)?;
    let value = match field {
        None => secret.value.as_str(),
        Some(f) => secret.field(f).ok_or_else(|| {
            let names: Vec<String> = secret.fields.iter().map(|(n, _)| n.clone()).collect();
            super::no_such_field(name, f, &names)
        })?,
    };
    let way = match spawn_helper(way, timeout, value) {
        Ok(()) => way,
        // Auto with a display the system clipboard refuses: the terminal, as the TUI does.
        Err(_) if config.clipboard == Mode::Auto && way == Way::System => {
            spawn_helper(Way::Osc52, timeout, value).map_err(no_way)?;
            Way::Osc52
        }
        Err(why) if way == Way::System => {
            return Err(no_way(format!(
                "{why}; set clipboard = \"osc52\" to copy through the terminal"
            )));
        }
        Err(why) => return Err(no_way(why)),
    };
    drop(secret);
    // Only a copy that happened counts as a use.
    let detail = field.map(|f| format!("field {f}")).unwrap_or_default();
    vault.record_use(name, Action::Copy, &detail)?;
    drop(vault);
    let what = match field {
        Some(f) => format!("{name} ({f})"),
        None => name.to_string(),
    };
    eprintln!("copied {what} to the {}; clears in {timeout} s", way.name());
    Ok(())
}

/// Starts the helper, hands it `secret` on its stdin, and waits for its one-line answer.
fn spawn_helper(way: Way, timeout: u64, secret: &str) -> std::result::Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find keyward itself ({e})"))?;
    let mut cmd = Command::new(exe);
    cmd.arg("--clipboard-timeout")
        .arg(timeout.to_string())
        .args(["clear", HELPER_FLAG, way.arg()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        // It must not keep the directory it was started from busy.
        .current_dir("/");
    crate::env::pass_on(&mut cmd);
    for var in NOT_PASSED_ON {
        cmd.env_remove(var);
    }
    // The agent has no controlling terminal to open: the command's goes as stderr.
    if let Some(tty) = crate::env::borrowed_tty() {
        cmd.stderr(tty);
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot start the clipboard helper ({e})"))?;
    let mut stdin = child.stdin.take().expect("the helper's stdin is piped");
    let stdout = child.stdout.take().expect("the helper's stdout is piped");
    // A helper that died early closes the pipe: its answer says why.
    let _ = stdin.write_all(secret.as_bytes());
    drop(stdin);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(daemon::read_answer(stdout));
    });
    match rx.recv_timeout(HELPER_ANSWER) {
        Ok(answer) => answer,
        Err(_) => {
            let _ = child.kill();
            let _ = child.wait();
            Err("the clipboard helper did not answer".into())
        }
    }
    // The helper is left running: it is in a session of its own and clears later.
}

/// `keyward clear`: ends pending clears (their helpers) and empties the clipboard now,
/// whatever it holds. Also the entry point of the hidden helper.
pub(super) fn clear(cli: &Cli, args: &ClearArgs) -> Result<i32> {
    if let Some(way) = args.helper {
        let timeout = Duration::from_secs(cli.clipboard_timeout.unwrap_or(30).max(1));
        daemon::serve(way, timeout, std::io::stdin(), std::io::stdout());
        return Ok(exit::OK);
    }
    let config = super::config(cli)?;
    let ended = daemon::end_helpers();
    let pending = match ended {
        0 => String::new(),
        1 => " and stopped 1 pending clear".to_string(),
        n => format!(" and stopped {n} pending clears"),
    };
    let way = match daemon::choose(config.clipboard) {
        Ok(way) => way,
        Err(why) => {
            let stopped = if ended > 0 {
                format!("; stopped {ended} pending clear(s)")
            } else {
                String::new()
            };
            print(&format!("Nothing to clear: {why}{stopped}.\n"))?;
            return Ok(exit::OK);
        }
    };
    let cleared = match clear_with(way) {
        Ok(()) => way,
        Err(_) if config.clipboard == Mode::Auto && way == Way::System => {
            clear_with(Way::Osc52).map_err(cannot_clear)?;
            Way::Osc52
        }
        Err(why) => return Err(cannot_clear(why)),
    };
    print(&format!("Cleared the {}{pending}.\n", cleared.name()))?;
    Ok(exit::OK)
}

fn clear_with(way: Way) -> std::result::Result<(), String> {
    let mut backend: Box<dyn Backend> = daemon::backend(way)?;
    backend.clear()
}

fn cannot_clear(why: String) -> Error {
    Error::io("cannot clear the clipboard", std::io::Error::other(why))
}
