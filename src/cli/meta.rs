//! `completions` and `man`: documents about keyward itself, generated from the clap
//! definitions. Neither opens the vault, reads the config or asks for a passphrase, so
//! both work on a machine with no vault (packaging, a fresh shell setup).

use clap::CommandFactory;
use clap_complete::Shell;

use super::{Cli, print};
use crate::error::{Error, Result, exit};

/// The completion script of `shell` for the `keyward` command, as bytes.
pub fn completion_script(shell: Shell) -> Vec<u8> {
    let mut cmd = Cli::command();
    let name = cmd.get_name().to_string();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, name, &mut out);
    out
}

/// The man page of `keyward` (section 1), in roff.
pub fn man_page() -> Result<Vec<u8>> {
    let mut out = Vec::new();
    clap_mangen::Man::new(Cli::command())
        .title("KEYWARD")
        .render(&mut out)
        .map_err(|e| Error::io("cannot render the man page", e))?;
    Ok(out)
}

/// `keyward completions SHELL`: the script on stdout.
pub(super) fn completions(shell: Shell) -> Result<i32> {
    let script = completion_script(shell);
    print(&String::from_utf8_lossy(&script))?;
    Ok(exit::OK)
}

/// `keyward man`: the roff page on stdout (`keyward man | man -l -`).
pub(super) fn man() -> Result<i32> {
    let page = man_page()?;
    print(&String::from_utf8_lossy(&page))?;
    Ok(exit::OK)
}
