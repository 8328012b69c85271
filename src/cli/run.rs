//! `run` and `env`: a command with the active keys in its environment, or export
//! lines for `eval`.
//!
//! Which entry provides which variable is [`crate::inject::plan`]'s rule: the primary
//! wins a shared variable, else the first by name; AWS fields go with their key.
//!
//! # How `run` runs the command
//!
//! keyward collects the secrets, records the uses, closes the vault (so the command
//! may run `keyward` itself), and then **replaces itself** with the command (`exec`,
//! like `aws-vault exec` and `env`). The command keeps keyward's process id, so
//! stdio, the terminal, every signal (SIGINT, SIGTERM, SIGHUP, …) and the exit status
//! are the command's own, with nothing in between: a signal death is reported by the
//! shell as 128+signal, exactly as without keyward. (No `unsafe` is needed: a process
//! staying in between would have to install signal handlers to forward them.)
//!
//! With `--mask`, the command's stdout and stderr are pipes, each read by a small
//! filter (`keyward run --internal-mask filter`, hidden) that writes the output on with
//! every injected secret replaced by `<concealed:NAME>`. The filters are detached: in a
//! session of their own (so a Ctrl-C at the terminal reaches only the command), and
//! not children of the command (it never sees them in `wait`). They get the secrets
//! through their stdin pipe before any output, never through argv or the environment,
//! and end when the command's output closes. If a filter cannot write (`| head`
//! closed), it ends, and the command gets SIGPIPE as it would without keyward.
//!
//! `KEYWARD_PASSPHRASE` (and the other passphrase variables) are withheld from the
//! command: with them it could open the whole vault, not just the keys given to it.

use std::ffi::{OsStr, OsString};
use std::io::{IsTerminal, Read, Write};
use std::os::fd::AsFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};

use clap::{Args, ValueEnum};
use zeroize::Zeroizing;

use super::{Cli, open, print, warn};
use crate::error::{Error, Result, exit};
use crate::inject::{self, Injection, MaskWriter, Shell};
use crate::model::Action;
use crate::vault::Vault;

/// Variables never passed on to the command: each could unlock the whole vault.
pub(super) const WITHHELD: &[&str] = &[
    "KEYWARD_PASSPHRASE",
    "KEYWARD_NEW_PASSPHRASE",
    "KEYWARD_BUNDLE_PASSPHRASE",
];

/// Exit code when the command cannot be found (as sh and env(1) use).
const NOT_FOUND: i32 = 127;
/// Exit code when the command was found but cannot be run.
const CANNOT_RUN: i32 = 126;

/// Which entries `run` and `env` use.
#[derive(Debug, Args)]
pub struct SelectArgs {
    /// Only entries of this environment
    #[arg(long = "env", value_name = "ENV")]
    pub environment: Option<String>,
    /// Only these entries (comma-separated, or repeat the flag)
    #[arg(long, value_name = "NAME,...", value_delimiter = ',')]
    pub only: Vec<String>,
}

/// Internal stages of the `--mask` filter process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MaskStage {
    /// Start the filter detached, then exit.
    Detach,
    /// Filter stdin to stdout.
    Filter,
}

/// `run` flags.
#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub select: SelectArgs,
    /// Pipe the command's stdout and stderr and replace each injected secret with <concealed:NAME>
    #[arg(long)]
    pub mask: bool,
    /// Internal: the filter process of --mask
    #[arg(long, hide = true, value_name = "STAGE")]
    pub internal_mask: Option<MaskStage>,
    /// Internal: in the agent, record the uses and hand the keys over on stdout
    #[arg(long, hide = true)]
    pub internal_keys: bool,
    /// The command and its arguments, after `--`
    #[arg(last = true, value_name = "CMD")]
    pub command: Vec<OsString>,
}

/// The shell `env` writes for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ShellArg {
    /// export VAR='value' (sh, bash, zsh)
    Sh,
    /// set -gx VAR 'value'
    Fish,
}

/// `env` flags.
#[derive(Debug, Args)]
pub struct EnvArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub select: SelectArgs,
    /// The shell to write for
    #[arg(long, value_enum, default_value = "sh")]
    pub shell: ShellArg,
    /// Print even when stdout is a terminal (the keys stay in its scrollback)
    #[arg(long)]
    pub plaintext: bool,
}

/// The variables to inject and the entries they come from.
struct Collected {
    injections: Vec<Injection>,
    entries: Vec<String>,
}

/// Chooses the entries (active, within `--env` and `--only`), decides who provides
/// which variable, and decrypts the winners' secrets. Records nothing.
fn collect(vault: &Vault, select: &SelectArgs) -> Result<Collected> {
    let all = vault.list()?;
    let env = select.environment.as_deref();
    if let Some(env) = env
        && !all.iter().any(|e| e.meta.environment == env)
    {
        let mut known: Vec<&str> = all.iter().map(|e| e.meta.environment.as_str()).collect();
        known.sort_unstable();
        known.dedup();
        let known = if known.is_empty() {
            "none yet".to_string()
        } else {
            known.join(", ")
        };
        return Err(Error::Invalid(format!(
            "no entry is in environment '{env}'; environments: {known}"
        )));
    }
    let only: Vec<&str> = select
        .only
        .iter()
        .map(|n| n.trim())
        .filter(|n| !n.is_empty())
        .collect();
    for name in &only {
        let e = all
            .iter()
            .find(|e| e.meta.name == *name)
            .ok_or_else(|| Error::EntryNotFound(name.to_string()))?;
        if !e.meta.active {
            return Err(Error::Invalid(format!(
                "{name} is disabled; enable it first (keyward enable {name})"
            )));
        }
        if let Some(env) = env
            && e.meta.environment != env
        {
            return Err(Error::Invalid(format!(
                "{name} is in environment '{}', not '{env}'",
                e.meta.environment
            )));
        }
    }
    let candidates: Vec<_> = all
        .iter()
        .map(|e| &e.meta)
        .filter(|m| m.active)
        .filter(|m| env.is_none_or(|v| m.environment == v))
        .filter(|m| only.is_empty() || only.contains(&m.name.as_str()))
        .collect();
    let plan = inject::plan(&candidates);
    for (name, var) in &plan.bad_vars {
        warn(&format!(
            "left out {name}: its variable '{}' is not a valid name (letters, digits and _); fix it: keyward edit {name} --var NAME",
            var.escape_debug()
        ));
    }
    for s in plan.shadowed.iter().filter(|s| !s.by_primary) {
        warn(&format!(
            "{} comes from {}; also wanted by {} (make one primary, or choose with --only or --env)",
            s.var,
            s.winner,
            s.others.join(", ")
        ));
    }
    let mut injections = Vec::new();
    let mut entries = Vec::new();
    for pick in &plan.picks {
        let entry = all
            .iter()
            .find(|e| e.meta.name == pick.entry)
            .ok_or_else(|| Error::EntryNotFound(pick.entry.clone()))?;
        let secret = vault.secret(entry)?;
        for i in inject::injections(pick, &secret) {
            if i.value.as_bytes().contains(&0) {
                return Err(Error::Invalid(format!(
                    "{}'s value for {} holds a NUL byte, which no environment variable can carry",
                    i.entry, i.var
                )));
            }
            injections.push(i);
        }
        entries.push(pick.entry.clone());
    }
    Ok(Collected {
        injections,
        entries,
    })
}

/// Checks that `program` can be run, as `execvp` will look for it: `Err` holds the
/// exit code (127 not found, 126 not runnable) and the reason.
fn find_program(program: &OsStr) -> std::result::Result<(), (i32, String)> {
    let runnable = |p: &Path| {
        p.metadata()
            .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
            .unwrap_or(false)
    };
    if program.is_empty() {
        return Err((NOT_FOUND, "the command is empty".into()));
    }
    if program.as_bytes().contains(&b'/') {
        let path = Path::new(program);
        return match path.metadata() {
            Err(e) => Err((NOT_FOUND, e.to_string())),
            Ok(_) if runnable(path) => Ok(()),
            Ok(_) => Err((CANNOT_RUN, "not an executable file".into())),
        };
    }
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/bin:/usr/bin".into());
    let mut exists = false;
    for dir in std::env::split_paths(&path) {
        let candidate = dir.join(program);
        if runnable(&candidate) {
            return Ok(());
        }
        exists |= candidate.exists();
    }
    if exists {
        Err((CANNOT_RUN, "not an executable file".into()))
    } else {
        Err((NOT_FOUND, "not found in PATH".into()))
    }
}

fn cannot_run(program: &OsStr, why: &str) -> String {
    format!(
        "cannot run '{}': {why}",
        program.to_string_lossy().escape_debug()
    )
}

pub(super) fn run(cli: &Cli, args: &RunArgs) -> Result<i32> {
    if let Some(stage) = args.internal_mask {
        return mask_stage(stage);
    }
    if args.internal_keys {
        return hand_over_keys(cli, &args.select);
    }
    let Some((program, rest)) = args.command.split_first() else {
        return Err(Error::Invalid(
            "no command to run: keyward run [--env E] [--only NAME,...] [--mask] -- CMD [ARGS...]"
                .into(),
        ));
    };
    // Said before the passphrase is asked for, and before anything counts as a use.
    if let Err((code, why)) = find_program(program) {
        warn(&cannot_run(program, &why));
        return Ok(code);
    }
    // The filters start before any use is recorded: if they cannot, nothing counts.
    // Given no secrets (none to conceal, or no keys after all), they end at once.
    let filters = if args.mask {
        let out = std::io::stdout().as_fd().try_clone_to_owned();
        let err = std::io::stderr().as_fd().try_clone_to_owned();
        let (out, err) = out
            .and_then(|o| Ok((o, err?)))
            .map_err(|e| Error::io("cannot set up --mask", e))?;
        Some((spawn_filter(out.into())?, spawn_filter(err.into())?))
    } else {
        None
    };
    let collected = match take_keys(cli, &args.select)? {
        Ok(collected) => collected,
        Err(code) => return Ok(code),
    };
    let concealed = inject::concealed(&collected.injections);
    let filters = filters.filter(|_| !concealed.is_empty());
    if collected.entries.is_empty() {
        warn("no active entries to inject; running the command without keys");
    }

    let mut cmd = Command::new(program);
    cmd.args(rest);
    for var in WITHHELD {
        cmd.env_remove(var);
    }
    for i in &collected.injections {
        cmd.env(&i.var, i.value.as_str());
    }
    if let Some((mut out, mut err)) = filters {
        let list = inject::encode_concealed(&concealed);
        out.write_all(&list)
            .and_then(|()| err.write_all(&list))
            .map_err(|e| Error::io("cannot hand the secrets to the --mask filter", e))?;
        cmd.stdout(out).stderr(err);
    }
    drop(concealed);
    drop(collected);
    // Only returns on failure; on success this process is the command now.
    let e = cmd.exec();
    warn(&cannot_run(program, &e.to_string()));
    Ok(if e.kind() == std::io::ErrorKind::NotFound {
        NOT_FOUND
    } else {
        CANNOT_RUN
    })
}

/// Decrypts the keys to inject and records one use per entry: in this process, or in
/// the vault's agent when `keyward unlock` started one. `Err(code)`: the agent said
/// why it could not, on stderr, with this exit code.
fn take_keys(cli: &Cli, select: &SelectArgs) -> Result<std::result::Result<Collected, i32>> {
    if let Some(agent) = super::session::agent(cli) {
        return keys_from_agent(agent, select);
    }
    let mut vault = open(cli)?;
    let collected = collect(&vault, select)?;
    for name in &collected.entries {
        vault.record_use(name, Action::Run, "")?;
    }
    Ok(Ok(collected))
}

/// The injections as the agent hands them over: (variable, value, entry, secret).
type Handed<'a> = Vec<(&'a str, &'a str, &'a str, bool)>;

/// In the agent: [`take_keys`], then the keys on stdout (a pipe of the client's).
fn hand_over_keys(cli: &Cli, select: &SelectArgs) -> Result<i32> {
    let collected = match take_keys(cli, select)? {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    let handed: Handed<'_> = collected
        .injections
        .iter()
        .map(|i| (i.var.as_str(), i.value.as_str(), i.entry.as_str(), i.secret))
        .collect();
    let bytes = Zeroizing::new(
        postcard::to_allocvec(&(handed, &collected.entries))
            .map_err(|e| Error::io("cannot hand the keys over", std::io::Error::other(e)))?,
    );
    std::io::stdout()
        .write_all(&bytes)
        .and_then(|()| std::io::stdout().flush())
        .map_err(|e| Error::io("cannot hand the keys over", e))?;
    Ok(exit::OK)
}

fn keys_from_agent(
    agent: crate::agent::Agent,
    select: &SelectArgs,
) -> Result<std::result::Result<Collected, i32>> {
    let failed = |e| Error::io("cannot get the keys from the keyward agent", e);
    let mut argv: Vec<OsString> = vec!["keyward".into(), "run".into(), "--internal-keys".into()];
    if let Some(env) = &select.environment {
        argv.extend(["--env".into(), env.into()]);
    }
    if !select.only.is_empty() {
        argv.extend(["--only".into(), select.only.join(",").into()]);
    }
    let (mut reader, writer) = std::io::pipe().map_err(failed)?;
    // Read while the agent writes: a pipe holds only so much.
    let read = std::thread::spawn(move || {
        let mut bytes = Zeroizing::new(Vec::new());
        reader.read_to_end(&mut bytes).map(|_| bytes)
    });
    let code = agent.run(
        &argv,
        None,
        std::io::stdin().as_fd(),
        writer.as_fd(),
        std::io::stderr().as_fd(),
    );
    drop(writer);
    let bytes = read
        .join()
        .map_err(|_| failed(std::io::Error::other("reader failed")))?
        .map_err(failed)?;
    match code? {
        Some(exit::OK) => {}
        Some(code) => return Ok(Err(code)),
        None => {
            return Err(failed(std::io::Error::other(
                "the agent would not serve them",
            )));
        }
    }
    let (handed, entries): (Handed<'_>, Vec<String>) = postcard::from_bytes(&bytes)
        .map_err(|e| failed(std::io::Error::new(std::io::ErrorKind::InvalidData, e)))?;
    let injections = handed
        .into_iter()
        .map(|(var, value, entry, secret)| Injection {
            var: var.to_string(),
            value: Zeroizing::new(value.to_string()),
            entry: entry.to_string(),
            secret,
        })
        .collect();
    Ok(Ok(Collected {
        injections,
        entries,
    }))
}

/// Starts a detached `--mask` filter writing to `target`; returns the pipe it reads.
fn spawn_filter(target: Stdio) -> Result<std::io::PipeWriter> {
    let failed = |e| Error::io("cannot start the --mask filter", e);
    let (reader, writer) = std::io::pipe().map_err(failed)?;
    let exe = std::env::current_exe().map_err(failed)?;
    // A middle process starts the filter and exits at once, so the filter is nobody's
    // child here (the command never reaps it) and is outside the terminal's
    // foreground process group from its first instruction.
    let status = Command::new(exe)
        .args(["run", "--internal-mask", "detach"])
        .env_clear()
        .stdin(reader)
        .stdout(target)
        .stderr(Stdio::inherit())
        .process_group(0)
        .status()
        .map_err(failed)?;
    if !status.success() {
        return Err(failed(std::io::Error::other(format!(
            "its starter ended with {status}"
        ))));
    }
    Ok(writer)
}

fn mask_stage(stage: MaskStage) -> Result<i32> {
    match stage {
        MaskStage::Detach => {
            let exe = std::env::current_exe()
                .map_err(|e| Error::io("cannot start the --mask filter", e))?;
            Command::new(exe)
                .args(["run", "--internal-mask", "filter"])
                .env_clear()
                .spawn()
                .map_err(|e| Error::io("cannot start the --mask filter", e))?;
            Ok(exit::OK)
        }
        MaskStage::Filter => {
            // A session of its own: no terminal signal (Ctrl-C, hangup) reaches it, so
            // it keeps masking what the command prints while it handles them. It is
            // not a group leader (the starter is), so this succeeds.
            let _ = rustix::process::setsid();
            filter()
        }
    }
}

/// Reads the secrets, then copies stdin to stdout with them concealed, as it comes.
fn filter() -> Result<i32> {
    let dup = |fd: std::os::fd::BorrowedFd<'_>| {
        fd.try_clone_to_owned()
            .map(std::fs::File::from)
            .map_err(|e| Error::io("--mask filter", e))
    };
    // Unbuffered both ways: nothing is held back but what may start a secret.
    let mut input = dup(std::io::stdin().as_fd())?;
    let output = dup(std::io::stdout().as_fd())?;
    let concealed = match inject::read_concealed(&mut input) {
        Ok(c) => c,
        // keyward stopped before handing over the secrets: no command runs.
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(exit::OK),
        Err(e) => return Err(Error::io("--mask filter: bad list of secrets", e)),
    };
    let mut masked = MaskWriter::new(output, concealed);
    let mut buf = Zeroizing::new(vec![0u8; 64 * 1024]);
    loop {
        let n = match input.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::io("--mask filter: cannot read the output", e)),
        };
        if masked.write_all(&buf[..n]).is_err() {
            // Our output is gone (`| head` closed): closing the pipe tells the command.
            return Ok(exit::FAILURE);
        }
    }
    match masked.finish() {
        Ok(_) => Ok(exit::OK),
        Err(_) => Ok(exit::FAILURE),
    }
}

pub(super) fn env(cli: &Cli, args: &EnvArgs) -> Result<i32> {
    if std::io::stdout().is_terminal() && !args.plaintext {
        return Err(Error::Invalid(
            "refusing to print keys on a terminal (they would stay in its scrollback); use eval \"$(keyward env)\", or pass --plaintext".into(),
        ));
    }
    let mut vault = open(cli)?;
    let collected = collect(&vault, &args.select)?;
    for name in &collected.entries {
        vault.record_use(name, Action::Get, "env")?;
    }
    drop(vault);
    if collected.entries.is_empty() {
        warn("no active entries to print");
    }
    let shell = match args.shell {
        ShellArg::Sh => Shell::Sh,
        ShellArg::Fish => Shell::Fish,
    };
    let mut vars: Vec<(&str, &str)> = collected
        .injections
        .iter()
        .map(|i| (i.var.as_str(), i.value.as_str()))
        .collect();
    vars.sort_by(|a, b| a.0.cmp(b.0));
    let script = inject::export_script(shell, &vars);
    print(&script)?;
    Ok(exit::OK)
}
