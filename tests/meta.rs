//! `keyward completions SHELL` and `keyward man`: generated from the clap definitions,
//! and usable with no vault and no passphrase (packaging, a fresh shell setup).

use std::process::{Command, Output, Stdio};

use tempfile::TempDir;

/// Runs keyward with `args`, no vault, no passphrase and no `KEYWARD_*` variable of
/// the user's: a vault directory that does not exist, and a config dir of its own.
fn keyward(args: &[&str]) -> (Output, TempDir) {
    let home = TempDir::new().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_keyward"));
    for (k, _) in std::env::vars() {
        if k.starts_with("KEYWARD_") {
            cmd.env_remove(k);
        }
    }
    let out = cmd
        .args(args)
        .env("KEYWARD_VAULT", home.path().join("no-vault-here"))
        .env("HOME", home.path())
        .env("XDG_CONFIG_HOME", home.path().join("config"))
        .env("XDG_DATA_HOME", home.path().join("data"))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (out, home)
}

fn stdout_of(args: &[&str]) -> String {
    let (out, home) = keyward(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{args:?} failed: {stderr}");
    assert!(stderr.is_empty(), "{args:?} wrote to stderr: {stderr}");
    assert!(
        !home.path().join("no-vault-here").exists(),
        "{args:?} created a vault"
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn completions_for_every_shell_name_the_subcommands() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let script = stdout_of(&["completions", shell]);
        assert!(!script.trim().is_empty(), "{shell}: empty script");
        for sub in ["rotate", "import", "restore", "completions"] {
            assert!(script.contains(sub), "{shell}: no mention of {sub}");
        }
        assert!(script.contains("keyward"), "{shell}: no mention of keyward");
    }
}

#[test]
fn completions_for_an_unknown_shell_is_a_usage_error() {
    let (out, _home) = keyward(&["completions", "tcsh"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
}

#[test]
fn man_is_roff_and_names_keyward_and_its_subcommands() {
    let page = stdout_of(&["man"]);
    assert!(
        page.starts_with('.'),
        "not roff: {:?}",
        &page[..40.min(page.len())]
    );
    assert!(
        page.lines().any(|l| l.starts_with(".TH KEYWARD 1")),
        "no .TH KEYWARD 1 line"
    );
    assert!(page.contains(".SH NAME"));
    assert!(page.contains(".SH SYNOPSIS"));
    for sub in ["rotate", "import", "backup", "completions"] {
        assert!(page.contains(sub), "the man page does not mention {sub}");
    }
}

#[test]
fn man_ignores_a_passphrase_file_that_does_not_exist() {
    let (out, _home) = keyward(&["--passphrase-file", "/nonexistent/pass", "man"]);
    assert!(out.status.success());
    assert!(!out.stdout.is_empty());
}
