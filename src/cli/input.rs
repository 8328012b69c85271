//! Where passphrases and secrets come from: env, files, stdin, or a hidden prompt on
//! the controlling terminal (which works over SSH).

use std::io::{BufRead, IsTerminal};
use std::path::Path;

use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::model::Secret;
use crate::vault::Passphrase;

/// Env var holding the passphrase, for automation only (see the README).
pub const ENV_PASSPHRASE: &str = "KEYWARD_PASSPHRASE";
/// Env var holding the new passphrase for `passwd`.
pub const ENV_NEW_PASSPHRASE: &str = "KEYWARD_NEW_PASSPHRASE";

/// Reads a passphrase file: its first line, without the line ending.
fn read_passphrase_file(path: &Path) -> Result<Passphrase> {
    let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|e| {
        Error::Passphrase(format!(
            "cannot read the passphrase file {} ({e}); check the path",
            path.display()
        ))
    })?);
    let line = text.lines().next().unwrap_or("");
    Passphrase::new(line.to_string())
}

fn prompt_hidden(prompt: &str) -> Result<Zeroizing<String>> {
    ask_hidden(prompt).map_err(|_| {
        Error::Passphrase(format!(
            "no terminal to ask on; set {ENV_PASSPHRASE} or pass --passphrase-file FILE"
        ))
    })
}

/// Asks on the command's terminal with echo off; the answer without its line ending.
pub(crate) fn ask_hidden(prompt: &str) -> std::io::Result<Zeroizing<String>> {
    let tty = crate::env::tty()?;
    use rustix::termios::{LocalModes, OptionalActions, tcgetattr, tcsetattr};
    use std::io::Write;
    let saved = tcgetattr(&tty)?;
    let mut quiet = saved.clone();
    quiet.local_modes.remove(LocalModes::ECHO);
    quiet.local_modes.insert(LocalModes::ECHONL);
    let mut writer = &tty;
    writer.write_all(prompt.as_bytes())?;
    writer.flush()?;
    tcsetattr(&tty, OptionalActions::Now, &quiet)?;
    let mut line = Zeroizing::new(String::new());
    let read = std::io::BufReader::new(&tty).read_line(&mut line);
    tcsetattr(&tty, OptionalActions::Now, &saved)?;
    read?;
    let end = line.trim_end_matches(['\n', '\r']).len();
    line.truncate(end);
    Ok(line)
}

/// Asks twice on the terminal; the two must match.
fn prompt_twice(what: &str) -> Result<Passphrase> {
    let first = prompt_hidden(&format!("{what}: "))?;
    let second = prompt_hidden(&format!("{what} (again): "))?;
    if *first != *second {
        return Err(Error::Passphrase(
            "the two passphrases differ; run the command again".into(),
        ));
    }
    Passphrase::new(first.to_string())
}

/// The vault passphrase: env, then `--passphrase-file`, then a hidden prompt.
/// With `confirm` (init), a prompt asks twice.
pub fn passphrase(file: Option<&Path>, vault: &Path, confirm: bool) -> Result<Passphrase> {
    if let Some(p) = crate::env::var(ENV_PASSPHRASE) {
        return Passphrase::new(p);
    }
    if let Some(file) = file {
        return read_passphrase_file(file);
    }
    let what = format!("Passphrase for {}", vault.display());
    if confirm {
        prompt_twice(&format!("New passphrase for {}", vault.display()))
    } else {
        Passphrase::new(prompt_hidden(&format!("{what}: "))?.to_string())
    }
}

/// The new passphrase for `passwd`: `--new-passphrase-file`, then env, then asks twice.
pub fn new_passphrase(file: Option<&Path>) -> Result<Passphrase> {
    if let Some(file) = file {
        return read_passphrase_file(file);
    }
    if let Some(p) = crate::env::var(ENV_NEW_PASSPHRASE) {
        return Passphrase::new(p);
    }
    prompt_twice("New passphrase")
}

/// A secret: the first line of stdin when stdin is not a terminal, else a hidden
/// prompt. Surrounding whitespace is stripped; an empty secret is refused.
pub fn secret(name: &str) -> Result<Secret> {
    let stdin = std::io::stdin();
    let text = if stdin.is_terminal() {
        prompt_hidden(&format!("Secret for {name} (input hidden): "))?
    } else {
        let mut line = Zeroizing::new(String::new());
        stdin
            .lock()
            .read_line(&mut line)
            .map_err(|e| Error::io("cannot read the secret from stdin", e))?;
        line
    };
    let secret = Secret::new(&text);
    if secret.value.is_empty() {
        return Err(Error::Invalid(
            "the secret is empty; pipe the key on stdin or type it at the prompt".into(),
        ));
    }
    Ok(secret)
}

/// Asks a yes/no question on the terminal; `false` unless the answer starts with y.
pub fn confirm(question: &str) -> Result<bool> {
    use std::io::Write;
    let mut tty =
        crate::env::tty().map_err(|e| Error::io("cannot open the terminal to confirm", e))?;
    write!(tty, "{question} [y/N] ").map_err(|e| Error::io("cannot write to the terminal", e))?;
    let mut answer = String::new();
    std::io::BufReader::new(tty)
        .read_line(&mut answer)
        .map_err(|e| Error::io("cannot read from the terminal", e))?;
    Ok(answer.trim_start().to_ascii_lowercase().starts_with('y'))
}
