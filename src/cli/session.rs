//! `unlock` and `lock`: a session like ssh-agent's or rbw's. `unlock` asks the
//! passphrase once and starts the agent ([`crate::agent`]), which opens the vault and
//! then serves every later command on it (see [`forward`]) until `lock` or the idle
//! timeout. Inside the agent, [`open`](super::open) lends its open vault to the
//! command being served instead of opening one.

use std::cell::{Cell, RefCell};
use std::ffi::{OsStr, OsString};
use std::io::{BufRead, Read, Write};
use std::os::fd::AsFd;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use clap::Args;
use zeroize::Zeroizing;

use super::{Cli, input, vault_dir};
use crate::agent::{self, Agent};
use crate::error::{Error, Result, exit};
use crate::vault::{self, Passphrase, Vault};

/// `unlock` flags.
#[derive(Debug, Args)]
pub struct UnlockArgs {
    /// Lock again after MINUTES without a command [default: 15, or the config's unlock_timeout]
    #[arg(long, value_name = "MINUTES")]
    pub timeout: Option<u64>,
    /// Only say whether the vault is unlocked (exit 0) or not (exit 1)
    #[arg(long)]
    pub status: bool,
    /// Internal: be the agent (the passphrase comes on stdin)
    #[arg(long, hide = true)]
    pub internal_agent: bool,
}

thread_local! {
    /// The agent's open vault, between the commands it serves.
    static SERVED: RefCell<Option<Vault>> = const { RefCell::new(None) };
    /// Whether this process is the agent.
    static SERVING: Cell<bool> = const { Cell::new(false) };
}

/// Whether this process is an agent serving commands.
pub(super) fn serving() -> bool {
    SERVING.with(Cell::get)
}

/// The agent's vault, lent to the command being served (given back by [`Opened`]).
pub(super) fn borrow_served() -> Result<Option<Vault>> {
    if !serving() {
        return Ok(None);
    }
    SERVED.with(|s| s.borrow_mut().take()).map(Some).ok_or_else(|| {
        Error::Invalid(
            "the agent lost its vault after an internal error; run `keyward lock`, then `keyward unlock`".into(),
        )
    })
}

/// A vault a command opened itself, or the one the agent lent it.
pub(crate) enum Opened {
    /// Opened by this command; closed when dropped.
    Own(Vault),
    /// The agent's; given back when dropped.
    Lent(Option<Vault>),
}

impl std::ops::Deref for Opened {
    type Target = Vault;
    fn deref(&self) -> &Vault {
        match self {
            Opened::Own(v) => v,
            Opened::Lent(v) => v.as_ref().expect("a lent vault is there until dropped"),
        }
    }
}

impl std::ops::DerefMut for Opened {
    fn deref_mut(&mut self) -> &mut Vault {
        match self {
            Opened::Own(v) => v,
            Opened::Lent(v) => v.as_mut().expect("a lent vault is there until dropped"),
        }
    }
}

impl Drop for Opened {
    fn drop(&mut self) {
        if let Opened::Lent(v) = self {
            let v = v.take();
            SERVED.with(|s| *s.borrow_mut() = v);
        }
    }
}

/// Whether `cli`'s command is served by a running agent: every command that opens
/// the vault, except the ones that must run in the caller's own process (`run` execs
/// the command; it asks the agent for the keys alone).
fn goes_to_agent(cli: &Cli) -> bool {
    use super::Command as C;
    match &cli.command {
        Some(C::Run(r)) => r.internal_keys,
        None
        | Some(
            C::Init(_) | C::Unlock(_) | C::Lock | C::Clear(_) | C::Completions { .. } | C::Man,
        ) => false,
        Some(_) => true,
    }
}

/// Runs the command line in the agent of the vault it names, when one is running:
/// `Some(exit code)`. This runs before the command line is parsed here (a served
/// command costs this process a connect and a wait, nothing more): the vault is
/// found the way clap would find it, and the agent, which parses the line, leaves
/// the command to this process when it must run here or the guess was wrong.
pub(super) fn forward(argv: &[OsString]) -> Option<i32> {
    if serving() || std::env::var_os(crate::env::AGENT_CHILD).is_some() {
        return None;
    }
    let flag = vault_flag(argv);
    let dir = match flag {
        Some(dir) => PathBuf::from(dir),
        None => match std::env::var_os("KEYWARD_VAULT").filter(|v| !v.is_empty()) {
            Some(dir) => PathBuf::from(dir),
            None => vault::default_dir().ok()?,
        },
    };
    let agent = Agent::connect(&dir)?;
    let (stdin, stdout, stderr) = (std::io::stdin(), std::io::stdout(), std::io::stderr());
    agent
        .run(argv, flag, stdin.as_fd(), stdout.as_fd(), stderr.as_fd())
        .unwrap_or_else(|e| {
            eprintln!("keyward: {e}");
            Some(e.exit_code())
        })
}

/// The value of the last `--vault DIR` or `--vault=DIR` before any `--`.
fn vault_flag(argv: &[OsString]) -> Option<&OsStr> {
    use std::os::unix::ffi::OsStrExt;
    let mut found = None;
    let mut args = argv.iter().skip(1).map(|a| a.as_os_str());
    while let Some(arg) = args.next() {
        match arg.as_bytes() {
            b"--" => break,
            b"--vault" => found = args.next(),
            a if a.starts_with(b"--vault=") => {
                found = Some(OsStr::from_bytes(&a[b"--vault=".len()..]));
            }
            _ => {}
        }
    }
    found
}

thread_local! {
    /// The agent's command-line parser, built once: a quarter of a millisecond that
    /// each served command would pay to build it again.
    static PARSER: std::cell::RefCell<clap::Command> =
        std::cell::RefCell::new(<Cli as clap::CommandFactory>::command());
}

/// In the agent: serves `argv` unless its command runs in the client, or the client's
/// `--vault` value (by which it found this agent) is not the one clap reads; `None`
/// then, and the client runs it itself.
fn serve_one(argv: Vec<OsString>, flag: Option<OsString>) -> Option<i32> {
    let cli = match PARSER.with_borrow_mut(|command| super::parse_with(command, &argv)) {
        Ok(cli) => cli,
        Err(code) => return Some(code),
    };
    // The agent's own environment has no KEYWARD_VAULT (see `start_agent`): a value
    // here came from the command line.
    if !goes_to_agent(&cli) || cli.vault.as_deref().map(Path::as_os_str) != flag.as_deref() {
        return None;
    }
    Some(super::finish(cli))
}

/// The agent of the vault `cli` names, if it runs.
pub(super) fn agent(cli: &Cli) -> Option<Agent> {
    if serving() {
        return None;
    }
    Agent::connect(&vault_dir(cli).ok()?)
}

fn minutes(m: u64) -> String {
    if m == 1 {
        "1 minute".into()
    } else {
        format!("{m} minutes")
    }
}

/// `keyward unlock`.
pub(super) fn unlock(cli: &Cli, args: &UnlockArgs) -> Result<i32> {
    if args.internal_agent {
        return be_the_agent(cli, args);
    }
    let dir = std::path::absolute(vault_dir(cli)?)
        .map_err(|e| Error::io("cannot find the vault directory", e))?;
    if let Some(agent) = Agent::connect(&dir) {
        let s = agent.status()?;
        eprintln!(
            "keyward: {} is unlocked (agent pid {}; locks after {} without a command; `keyward lock` locks it now)",
            dir.display(),
            s.pid,
            minutes(s.idle_left.div_ceil(60))
        );
        return Ok(exit::OK);
    }
    if args.status {
        eprintln!("keyward: {} is locked", dir.display());
        return Ok(exit::FAILURE);
    }
    if !vault::exists(&dir) {
        return Err(Error::NoVault { path: dir });
    }
    let timeout = timeout(cli, args)?;
    let pass = input::passphrase(cli.passphrase_file.as_deref(), &dir, false)?;
    start_agent(&dir, timeout, &pass)?;
    eprintln!(
        "keyward: unlocked {} (locks after {} without a command; `keyward lock` locks it now)",
        dir.display(),
        minutes(timeout)
    );
    Ok(exit::OK)
}

fn timeout(cli: &Cli, args: &UnlockArgs) -> Result<u64> {
    let max = crate::config::MAX_UNLOCK_TIMEOUT;
    match args.timeout {
        Some(m) if (1..=max).contains(&m) => Ok(m),
        Some(_) => Err(Error::Invalid(format!(
            "--timeout must be between 1 and {max} minutes"
        ))),
        None => Ok(super::config(cli)?.unlock_timeout),
    }
}

/// Starts the agent, hands it the passphrase through a pipe, and waits until it
/// holds the vault open (or says why it cannot).
fn start_agent(dir: &Path, timeout: u64, pass: &Passphrase) -> Result<()> {
    let failed = |e| Error::io("cannot start the keyward agent", e);
    let exe = std::env::current_exe().map_err(failed)?;
    let mut cmd = Command::new(exe);
    cmd.arg("--vault")
        .arg(dir)
        .args(["unlock", "--internal-agent", "--timeout"])
        .arg(timeout.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .current_dir("/")
        // Out of the terminal's process group at once: Ctrl-C here does not reach it.
        .process_group(0);
    for var in super::run::WITHHELD {
        cmd.env_remove(var);
    }
    // Its `--vault` is the only one it reads (see `serve_one`).
    cmd.env_remove("KEYWARD_VAULT");
    let mut child = cmd.spawn().map_err(failed)?;
    let mut stdin = child.stdin.take().expect("piped");
    let stdout = child.stdout.take().expect("piped");
    // An agent that failed early closes the pipe; its answer says why.
    let _ = stdin.write_all(pass.bytes());
    drop(stdin);
    let mut answer = String::new();
    std::io::BufReader::new(stdout)
        .read_line(&mut answer)
        .map_err(failed)?;
    match answer.trim_end().split_once(' ') {
        _ if answer.trim_end() == READY => Ok(()),
        Some((code, why)) if code.parse::<i32>().is_ok() => Err(Error::Agent {
            code: code.parse().unwrap_or(exit::FAILURE),
            why: why.to_string(),
        }),
        _ => {
            let status = child.wait().map_err(failed)?;
            Err(failed(std::io::Error::other(format!(
                "it ended with {status}"
            ))))
        }
    }
}

/// What the agent says when it holds the vault.
const READY: &str = "ready";

/// The agent process: reads the passphrase, opens the vault, says so, then serves.
fn be_the_agent(cli: &Cli, args: &UnlockArgs) -> Result<i32> {
    // A session of its own: closing the terminal that started it does not end it.
    let _ = rustix::process::setsid();
    let dir: PathBuf = vault_dir(cli)?;
    let opened = (|| -> Result<(Vault, std::os::unix::net::UnixListener)> {
        let mut text = Zeroizing::new(Vec::new());
        std::io::stdin()
            .read_to_end(&mut text)
            .map_err(|e| Error::io("cannot read the passphrase", e))?;
        let text = String::from_utf8(std::mem::take(&mut *text))
            .map_err(|_| Error::Passphrase("the passphrase is not UTF-8".into()))?;
        let pass = Passphrase::new(text)?;
        let mut vault = Vault::open(&dir, &pass)?;
        vault.set_versions_kept(super::config(cli)?.versions_kept);
        vault.keep_decoded();
        let listener = agent::bind(&dir)?;
        Ok((vault, listener))
    })();
    let mut out = std::io::stdout();
    let (vault, listener) = match opened {
        Ok(v) => v,
        Err(e) => {
            let _ = writeln!(out, "{} {}", e.exit_code(), e);
            return Ok(e.exit_code());
        }
    };
    let _ = writeln!(out, "{READY}").and_then(|()| out.flush());
    agent::detach_stdio().map_err(|e| Error::io("cannot detach the agent", e))?;
    // `unlock` has returned; a command sent meanwhile waits in the socket's queue.
    // Damage found here is reported by the command that meets it.
    let _ = vault.warm();
    PARSER.with_borrow_mut(|command| command.build());
    SERVING.with(|s| s.set(true));
    SERVED.with(|s| *s.borrow_mut() = Some(vault));
    let idle = Duration::from_secs(60 * args.timeout.unwrap_or(15));
    let locker = agent::serve(listener, &dir, idle, &mut |argv, flag| {
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| serve_one(argv, flag))) {
            Ok(code) => code,
            Err(_) => {
                // The panic hook told the client; a vault mid-change is not served on.
                let _ = std::fs::remove_file(agent::socket_path(&dir));
                std::process::exit(exit::FAILURE);
            }
        }
    });
    // Closed (and flushed) before `lock` is answered.
    drop(SERVED.with(|s| s.borrow_mut().take()));
    if let Some(sock) = locker {
        agent::locked(sock);
    }
    Ok(exit::OK)
}

/// `keyward lock`.
pub(super) fn lock(cli: &Cli) -> Result<()> {
    let dir = vault_dir(cli)?;
    match Agent::connect(&dir).or_else(|| Agent::connect_unversioned(&dir)) {
        Some(agent) => {
            agent.lock()?;
            eprintln!("keyward: locked {}", dir.display());
        }
        None => eprintln!("keyward: {} was not unlocked", dir.display()),
    }
    Ok(())
}
