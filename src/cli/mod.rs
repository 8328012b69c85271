//! The scripting face: clap definitions and one function per subcommand. Each
//! function opens the vault, calls one [`Vault`] method and prints the result.

mod bundle;
mod copy;
pub mod input;
mod lifecycle;
mod meta;
pub mod output;
mod progress;
mod run;
mod session;
mod transfer;

use std::ffi::OsString;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use clap::{Args, Parser, Subcommand};

use crate::config::Config;
use crate::crypto::kdf;
use crate::error::{Error, Result};
use crate::model::{EntryPatch, NewEntry};
use crate::vault::{self, Vault};
pub(crate) use session::Opened;

/// keyward: an encrypted vault for API keys, in the terminal and over SSH.
#[derive(Debug, Parser)]
#[command(name = "keyward", version, about, long_about = None)]
pub struct Cli {
    /// Vault directory [default: the XDG data dir, e.g. ~/.local/share/keyward/vault]
    #[arg(long, global = true, env = "KEYWARD_VAULT", value_name = "DIR")]
    pub vault: Option<PathBuf>,
    /// Read the passphrase from the first line of FILE (KEYWARD_PASSPHRASE, when set, comes first; else a prompt)
    #[arg(long, global = true, value_name = "FILE")]
    pub passphrase_file: Option<PathBuf>,
    /// Seconds before a copied secret is cleared [default: 30, or the config file's]
    #[arg(long, global = true, value_name = "SECONDS")]
    pub clipboard_timeout: Option<u64>,
    /// What to do; with none, keyward opens the interactive view.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands. Their names and flags are the contract scripts rely on.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a new vault (asks for the passphrase twice)
    Init(InitArgs),
    /// Add an entry; the secret comes from stdin (first line) or a hidden prompt
    Add(AddArgs),
    /// Unlock the vault for later commands: a background agent keeps it open until `keyward lock` or the idle timeout
    Unlock(session::UnlockArgs),
    /// Lock the vault now: stop the agent of `keyward unlock`
    Lock,
    /// Find entries whose name (or, without --name, any metadata) contains TERM
    #[command(alias = "find")]
    Search {
        /// Text to look for (case-insensitive)
        term: String,
        /// Match names only
        #[arg(long)]
        name: bool,
        /// JSON output (never holds a secret)
        #[arg(long)]
        json: bool,
    },
    /// Print an entry's secret alone on stdout (counts as a use)
    Get {
        /// Entry name
        name: String,
        /// Print this extra field instead of the key (e.g. access_key_id)
        #[arg(long, value_name = "FIELD")]
        field: Option<String>,
        /// Print version N (a retired one, within its grace period); see `history`
        #[arg(long, value_name = "N")]
        version: Option<u32>,
        /// Copy it to the clipboard instead (cleared after the timeout; nothing on stdout)
        #[arg(long, short = 'c', conflicts_with = "version")]
        copy: bool,
    },
    /// Clear the clipboard now and stop pending clears of `get --copy`
    Clear(copy::ClearArgs),
    /// List entries in a table, keys masked
    #[command(alias = "ls")]
    List {
        /// Only this provider
        #[arg(long)]
        provider: Option<String>,
        /// Only this environment
        #[arg(long = "env", value_name = "ENV")]
        environment: Option<String>,
        /// JSON output (never holds a secret)
        #[arg(long)]
        json: bool,
    },
    /// Show all metadata of an entry, key masked
    Show {
        /// Entry name
        name: String,
        /// JSON output (never holds a secret)
        #[arg(long)]
        json: bool,
    },
    /// Change an entry's metadata or secret
    Edit(EditArgs),
    /// Mark an entry active
    Enable {
        /// Entry name
        name: String,
    },
    /// Mark an entry inactive (it stays listed)
    Disable {
        /// Entry name
        name: String,
    },
    /// Delete an entry (asks on a terminal; needs --yes otherwise)
    #[command(alias = "remove")]
    Rm {
        /// Entry name
        name: String,
        /// Do not ask
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// Change the passphrase (re-wraps the data key; no entry is rewritten)
    Passwd {
        /// Read the new passphrase from FILE (else KEYWARD_NEW_PASSPHRASE, else asks twice)
        #[arg(long, value_name = "FILE")]
        new_passphrase_file: Option<PathBuf>,
    },
    /// Make a new data key and re-seal every entry under it
    Rekey,
    /// Replace an entry's key; the old one is retired (readable for --grace days)
    Rotate(lifecycle::RotateArgs),
    /// An entry's key versions, masked, with dates and status
    History {
        /// Entry name
        name: String,
        /// JSON output (never holds a secret)
        #[arg(long)]
        json: bool,
    },
    /// Make a kept, unrevoked version current again
    Rollback {
        /// Entry name
        name: String,
        /// The version [default: the newest retired one]
        #[arg(long, value_name = "N")]
        to: Option<u32>,
    },
    /// Mark a version revoked (compromised): it can never be read again
    Revoke {
        /// Entry name
        name: String,
        /// The version to revoke
        #[arg(long, value_name = "N")]
        version: u32,
    },
    /// Expired, expiring, overdue, unused, failing, duplicate and multi-primary keys
    /// (exit 8 when there are findings)
    Health {
        /// JSON output
        #[arg(long)]
        json: bool,
        /// "Expiring" means within DAYS [default: 14, or the config's]
        #[arg(long, value_name = "DAYS")]
        within: Option<u32>,
    },
    /// Check a key live against its provider (exit 9 when the provider rejects it)
    Test {
        /// Entry name
        name: String,
    },
    /// The audit log: every use and change (exit 10 with --verify when it was tampered with)
    Audit {
        /// Only events about this entry
        name: Option<String>,
        /// Only events from this day on
        #[arg(long, value_name = "YYYY-MM-DD")]
        since: Option<String>,
        /// JSON output
        #[arg(long)]
        json: bool,
        /// Check the hash chain instead of listing
        #[arg(long)]
        verify: bool,
    },
    /// Import keys from an env, JSON or CSV file (safe to repeat; all or nothing)
    Import(transfer::ImportArgs),
    /// Export keys in plaintext (env, JSON or CSV); refuses a terminal without --plaintext
    Export(transfer::ExportArgs),
    /// Run a command with the active keys in its environment
    Run(run::RunArgs),
    /// Print export lines of the active keys, for `eval`
    Env(run::EnvArgs),
    /// Write the whole vault to one encrypted bundle (its own passphrase)
    Backup(bundle::BackupArgs),
    /// Restore a bundle into this vault (--merge or --replace), in one transaction
    Restore(bundle::RestoreArgs),
    /// Print a shell completion script (needs no vault): bash, zsh, fish, elvish, powershell
    Completions {
        /// The shell to complete for
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page in roff on stdout (needs no vault; `keyward man | man -l -`)
    Man,
}

/// `init` flags.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Argon2id memory in MiB [default: 256, at most a quarter of RAM, at least 64]
    #[arg(long, value_name = "N")]
    pub kdf_memory_mib: Option<u32>,
    /// Argon2id passes [default: calibrated to about 500 ms, at least 3]
    #[arg(long, value_name = "N")]
    pub kdf_iterations: Option<u32>,
    /// Argon2id lanes [default: 4]
    #[arg(long, value_name = "N")]
    pub kdf_parallelism: Option<u32>,
}

/// Metadata flags shared by `add` and `edit`.
#[derive(Debug, Args)]
pub struct MetaArgs {
    /// Provider: openai, anthropic, gemini, groq, deepseek, mistral, xai, openrouter, aws, github, stripe, custom
    #[arg(long)]
    pub provider: Option<String>,
    /// Environment: prod, staging, dev, test, or any text
    #[arg(long = "env", value_name = "ENV")]
    pub environment: Option<String>,
    /// Env var to inject the key as [default: the provider's, e.g. OPENAI_API_KEY]
    #[arg(long, value_name = "VAR")]
    pub var: Option<String>,
    /// API base URL
    #[arg(long, value_name = "URL")]
    pub base_url: Option<String>,
    /// Default model
    #[arg(long, value_name = "M")]
    pub model: Option<String>,
    /// Tier: free or paid
    #[arg(long, value_name = "T")]
    pub tier: Option<String>,
    /// Tag (repeatable; on edit, replaces the tags)
    #[arg(long = "tag", value_name = "T")]
    pub tags: Vec<String>,
    /// Notes
    #[arg(long = "note", value_name = "TEXT")]
    pub note: Option<String>,
    /// Expiry date
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub expires: Option<String>,
    /// Rotate every DAYS
    #[arg(long, value_name = "DAYS")]
    pub rotate_every: Option<u32>,
    /// Extra secret field NAME=VALUE (repeatable; AWS: access_key_id=AKIA…, region=…)
    #[arg(long = "field", value_name = "NAME=VALUE")]
    pub fields: Vec<String>,
    /// Store the key even if it does not match the provider's format
    #[arg(long)]
    pub force: bool,
}

/// `add` flags.
#[derive(Debug, Args)]
pub struct AddArgs {
    /// Unique entry name, e.g. openai-prod
    pub name: String,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub meta: MetaArgs,
    /// Make it the primary key for its provider and environment
    #[arg(long)]
    pub primary: bool,
    /// Add it disabled
    #[arg(long)]
    pub inactive: bool,
}

/// `edit` flags.
#[derive(Debug, Args)]
pub struct EditArgs {
    /// Entry name
    pub name: String,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub meta: MetaArgs,
    /// Rename the entry
    #[arg(long = "name", value_name = "NEW")]
    pub new_name: Option<String>,
    /// Make it the primary key for its provider and environment
    #[arg(long, conflicts_with = "no_primary")]
    pub primary: bool,
    /// Stop it being primary
    #[arg(long)]
    pub no_primary: bool,
    /// Remove the expiry date
    #[arg(long, conflicts_with = "expires")]
    pub no_expires: bool,
    /// Read a new secret from stdin (first line), or a hidden prompt on a terminal
    #[arg(long)]
    pub secret_stdin: bool,
}

pub(crate) fn parse_fields(fields: &[String]) -> Result<Vec<(String, String)>> {
    fields
        .iter()
        .map(|f| {
            f.split_once('=')
                .filter(|(n, _)| !n.is_empty())
                .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
                // The argument is not echoed: it may hold a value meant to stay secret.
                .ok_or_else(|| {
                    Error::Invalid("--field wants NAME=VALUE (a name, '=', then the value)".into())
                })
        })
        .collect()
}

/// Where the vault is: `--vault`, `KEYWARD_VAULT`, else the default data dir.
pub fn vault_dir(cli: &Cli) -> Result<PathBuf> {
    match &cli.vault {
        Some(dir) => Ok(dir.clone()),
        None => vault::default_dir(),
    }
}

/// Opens the vault named on the command line, with the config's version policy; in
/// the agent, borrows its open vault instead.
pub(crate) fn open(cli: &Cli) -> Result<Opened> {
    let versions_kept = config(cli)?.versions_kept;
    if let Some(mut vault) = session::borrow_served()? {
        vault.set_versions_kept(versions_kept);
        return Ok(Opened::Lent(Some(vault)));
    }
    let dir = vault_dir(cli)?;
    if !vault::exists(&dir) {
        return Err(Error::NoVault { path: dir });
    }
    let pass = input::passphrase(cli.passphrase_file.as_deref(), &dir, false)?;
    let mut vault = Vault::open(&dir, &pass)?;
    vault.set_versions_kept(versions_kept);
    Ok(Opened::Own(vault))
}

pub(crate) fn print(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        // A closed pipe (`keyward list | head`) is the reader's choice, not an error.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        r => r.map_err(|e| Error::io("cannot write to stdout", e)),
    }
}

pub(crate) fn warn(text: &str) {
    eprintln!("keyward: {text}");
}

/// Parses and runs one command line (in the vault's agent when `keyward unlock`
/// started one); the exit code. Errors are one line on stderr.
pub fn execute(argv: Vec<OsString>) -> i32 {
    if let Some(code) = session::forward(&argv) {
        return code;
    }
    match parse(&argv) {
        Ok(cli) => finish(cli),
        Err(code) => code,
    }
}

/// The command line parsed, or clap's verdict printed and its exit code.
fn parse(argv: &[OsString]) -> std::result::Result<Cli, i32> {
    Cli::try_parse_from(argv).map_err(usage_error)
}

/// [`parse`] with clap's command built once by the caller and kept (the agent's):
/// building it, every subcommand and argument, is most of the cost of parsing.
fn parse_with(command: &mut clap::Command, argv: &[OsString]) -> std::result::Result<Cli, i32> {
    use clap::FromArgMatches;
    command
        .try_get_matches_from_mut(argv)
        .and_then(|matches| Cli::from_arg_matches(&matches))
        .map_err(usage_error)
}

/// Runs a parsed command: its exit code, errors as one line on stderr.
fn finish(cli: Cli) -> i32 {
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("keyward: {e}");
            e.exit_code()
        }
    }
}

/// clap's verdict on a command line: help and version are printed (exit 0); a usage
/// error becomes one line (exit 2).
fn usage_error(e: clap::Error) -> i32 {
    use crate::error::exit;
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayHelp
        | ErrorKind::DisplayVersion
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = e.print();
            exit::OK
        }
        _ => {
            let text = e.to_string();
            let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
            let mut first = lines
                .next()
                .unwrap_or("invalid arguments")
                .trim_start_matches("error: ")
                .to_string();
            // "the following required arguments were not provided:" names them next.
            if first.ends_with(':')
                && let Some(next) = lines.next()
            {
                first = format!("{first} {next}");
            }
            eprintln!("keyward: {first}; see `keyward --help`");
            exit::USAGE
        }
    }
}

/// Runs one parsed command line; returns the exit code.
pub fn run(cli: Cli) -> Result<i32> {
    use crate::error::exit;
    let Some(command) = &cli.command else {
        return no_command(&cli).map(|()| exit::OK);
    };
    match command {
        Command::Completions { shell } => return meta::completions(*shell),
        Command::Man => return meta::man(),
        Command::Rotate(args) => return lifecycle::rotate(&cli, args).map(|()| exit::OK),
        Command::History { name, json } => {
            return lifecycle::history(&cli, name, *json).map(|()| exit::OK);
        }
        Command::Rollback { name, to } => {
            return lifecycle::rollback(&cli, name, *to).map(|()| exit::OK);
        }
        Command::Revoke { name, version } => {
            return lifecycle::revoke(&cli, name, *version).map(|()| exit::OK);
        }
        Command::Health { json, within } => return lifecycle::health(&cli, *json, *within),
        Command::Import(args) => return transfer::import(&cli, args),
        Command::Export(args) => return transfer::export(&cli, args),
        Command::Run(args) => return run::run(&cli, args),
        Command::Env(args) => return run::env(&cli, args),
        Command::Backup(args) => return bundle::backup(&cli, args),
        Command::Restore(args) => return bundle::restore(&cli, args),
        Command::Test { name } => return lifecycle::test(&cli, name),
        Command::Clear(args) => return copy::clear(&cli, args),
        Command::Unlock(args) => return session::unlock(&cli, args),
        Command::Lock => return session::lock(&cli).map(|()| exit::OK),
        Command::Search { term, name, json } => return search(&cli, term, *name, *json),
        Command::Get {
            name, field, copy, ..
        } if *copy => return copy::get(&cli, name, field.as_deref()).map(|()| exit::OK),
        Command::Audit {
            name,
            since,
            json,
            verify,
        } => return lifecycle::audit(&cli, name.as_deref(), since.as_deref(), *json, *verify),
        _ => {}
    }
    match command {
        Command::Init(args) => init(&cli, args),
        Command::Add(args) => add(&cli, args),
        Command::Get {
            name,
            field,
            version,
            ..
        } => get(&cli, name, field.as_deref(), *version),
        Command::List {
            provider,
            environment,
            json,
        } => list(&cli, provider.as_deref(), environment.as_deref(), *json),
        Command::Show { name, json } => show(&cli, name, *json),
        Command::Edit(args) => edit(&cli, args),
        Command::Enable { name } => set_active(&cli, name, true),
        Command::Disable { name } => set_active(&cli, name, false),
        Command::Rm { name, yes } => rm(&cli, name, *yes),
        Command::Passwd {
            new_passphrase_file,
        } => passwd(&cli, new_passphrase_file.as_deref()),
        Command::Rekey => rekey(&cli),
        _ => Ok(()),
    }
    .map(|()| exit::OK)
}

/// The config file with the command line's overrides.
pub fn config(cli: &Cli) -> Result<Config> {
    let mut config = Config::load()?;
    if let Some(t) = cli.clipboard_timeout {
        if !(1..=crate::config::MAX_CLIPBOARD_TIMEOUT).contains(&t) {
            return Err(Error::Invalid(format!(
                "--clipboard-timeout must be between 1 and {} seconds",
                crate::config::MAX_CLIPBOARD_TIMEOUT
            )));
        }
        config.clipboard_timeout = t;
    }
    Ok(config)
}

fn no_command(cli: &Cli) -> Result<()> {
    if session::agent(cli).is_some() {
        return Err(Error::Unlocked {
            path: vault_dir(cli)?,
        });
    }
    crate::tui::run(vault_dir(cli)?, config(cli)?)
}

fn init(cli: &Cli, args: &InitArgs) -> Result<()> {
    let dir = vault_dir(cli)?;
    if vault::exists(&dir) {
        return Err(Error::VaultExists { path: dir });
    }
    let defaults = config(cli)?.kdf;
    let memory = args.kdf_memory_mib.or(defaults.memory_mib);
    let iterations = args.kdf_iterations.or(defaults.iterations);
    let parallelism = args.kdf_parallelism.or(defaults.parallelism);
    // Bad values are refused before the passphrase is asked for.
    kdf::check_choice(memory, iterations, parallelism)?;
    let pass = input::passphrase(cli.passphrase_file.as_deref(), &dir, true)?;
    if iterations.is_none() {
        eprintln!("Calibrating Argon2id on this machine…");
    }
    let params = kdf::choose(memory, iterations, parallelism)?;
    if params.below_owasp_floor() {
        warn(&format!(
            "warning: {params} is below OWASP's floor for Argon2id (19 MiB, 2 passes); fine for tests, weak for real keys"
        ));
    }
    let vault = Vault::create(&dir, &pass, params)?;
    print(&format!(
        "Created a vault at {} ({})\n",
        vault.dir().display(),
        vault.kdf_params()
    ))
}

fn add(cli: &Cli, args: &AddArgs) -> Result<()> {
    crate::model::entry::validate_name(&args.name).map_err(Error::Invalid)?;
    let mut vault = open(cli)?;
    let mut secret = input::secret(&args.name)?;
    secret.fields = parse_fields(&args.meta.fields)?;
    let m = &args.meta;
    let saved = vault.add(NewEntry {
        name: args.name.clone(),
        provider: m.provider.clone(),
        environment: m.environment.clone(),
        env_var: m.var.clone(),
        base_url: m.base_url.clone(),
        model: m.model.clone(),
        tier: m.tier.clone(),
        tags: m.tags.clone(),
        notes: m.note.clone().unwrap_or_default(),
        inactive: args.inactive,
        primary: args.primary,
        expires_at: m.expires.clone(),
        rotate_every_days: m.rotate_every,
        force: m.force,
        secret,
    })?;
    for d in &saved.demoted {
        warn(&format!("{d} is no longer primary"));
    }
    let e = &saved.entry.meta;
    print(&format!(
        "Added {} ({}, {}, {})\n",
        e.name, e.provider, e.environment, e.masked
    ))
}

fn no_such_field(name: &str, field: &str, fields: &[String]) -> Error {
    let known = if fields.is_empty() {
        "none".to_string()
    } else {
        fields.join(", ")
    };
    Error::Invalid(format!(
        "{name} has no field '{field}'; its fields: {known}"
    ))
}

fn get(cli: &Cli, name: &str, field: Option<&str>, version: Option<u32>) -> Result<()> {
    let mut vault = open(cli)?;
    // A field that is not there is refused before anything counts as a use.
    if let Some(f) = field {
        let entry = vault.entry(name)?;
        if version.is_none() && !entry.meta.field_names.iter().any(|n| n == f) {
            return Err(no_such_field(name, f, &entry.meta.field_names));
        }
    }
    let (_, secret) = match version {
        Some(n) => vault.get_version(name, n)?,
        None => vault.use_secret(name)?,
    };
    let value = match field {
        None => secret.value.as_str(),
        Some(f) => secret.field(f).ok_or_else(|| {
            let names: Vec<String> = secret.fields.iter().map(|(n, _)| n.clone()).collect();
            no_such_field(name, f, &names)
        })?,
    };
    let line = zeroize::Zeroizing::new(format!("{value}\n"));
    print(&line)
}

fn list(cli: &Cli, provider: Option<&str>, env: Option<&str>, json: bool) -> Result<()> {
    let vault = open(cli)?;
    let provider = provider
        .map(|p| crate::model::provider::lookup(p).map(|p| p.id))
        .transpose()
        .map_err(Error::Invalid)?;
    let text = vault.with_list(|all| {
        let entries: Vec<&crate::model::Entry> = all
            .iter()
            .filter(|e| provider.is_none_or(|p| e.meta.provider == p))
            .filter(|e| env.is_none_or(|v| e.meta.environment == v))
            .collect();
        if json {
            let arr: Vec<_> = entries.iter().map(|e| output::json_entry(e)).collect();
            format!("{}\n", serde_json::Value::Array(arr))
        } else if all.is_empty() {
            "No entries yet. Add one: keyward add NAME --provider P < key.txt\n".to_string()
        } else {
            output::table(entries.iter().copied())
        }
    })?;
    drop(vault);
    print(&text)
}

/// `search`: entries whose name (or any metadata) contains `term`; exit 4 when none.
fn search(cli: &Cli, term: &str, names_only: bool, json: bool) -> Result<i32> {
    let vault = open(cli)?;
    let needle = term.to_lowercase();
    let hits = vault.search(&needle, names_only)?;
    drop(vault);
    if json {
        let arr: Vec<_> = hits.iter().map(output::json_entry).collect();
        print(&format!("{}\n", serde_json::Value::Array(arr)))?;
    } else if !hits.is_empty() {
        print(&output::table(&hits))?;
    }
    if hits.is_empty() {
        warn(&format!("no entry matches '{term}'; see `keyward list`"));
        return Ok(crate::error::exit::NOT_FOUND);
    }
    Ok(crate::error::exit::OK)
}

fn show(cli: &Cli, name: &str, json: bool) -> Result<()> {
    let vault = open(cli)?;
    let entry = vault.entry(name)?;
    if json {
        return print(&format!("{:#}\n", output::json_entry(&entry)));
    }
    print(&output::details(&entry))
}

fn edit(cli: &Cli, args: &EditArgs) -> Result<()> {
    let m = &args.meta;
    let mut vault = open(cli)?;
    // A new key keeps the stored extra fields; --field sets (or adds) fields.
    let secret = if args.secret_stdin {
        Some(input::secret(&args.name)?)
    } else {
        None
    };
    let fields = (!m.fields.is_empty())
        .then(|| parse_fields(&m.fields))
        .transpose()?;
    let patch = EntryPatch {
        name: args.new_name.clone(),
        provider: m.provider.clone(),
        environment: m.environment.clone(),
        env_var: m.var.clone(),
        base_url: m.base_url.clone().map(Some),
        model: m.model.clone().map(Some),
        tier: m.tier.clone().map(Some),
        tags: (!m.tags.is_empty()).then(|| m.tags.clone()),
        notes: m.note.clone(),
        active: None,
        primary: if args.primary {
            Some(true)
        } else if args.no_primary {
            Some(false)
        } else {
            None
        },
        expires_at: if args.no_expires {
            Some(None)
        } else {
            m.expires.clone().map(Some)
        },
        rotate_every_days: m.rotate_every.map(Some),
        secret,
        fields,
        force: m.force,
    };
    let saved = vault.update(&args.name, patch)?;
    for d in &saved.demoted {
        warn(&format!("{d} is no longer primary"));
    }
    print(&format!("Updated {}\n", saved.entry.meta.name))
}

fn set_active(cli: &Cli, name: &str, active: bool) -> Result<()> {
    let mut vault = open(cli)?;
    vault.set_active(name, active)?;
    print(&format!(
        "{} {name}\n",
        if active { "Enabled" } else { "Disabled" }
    ))
}

fn rm(cli: &Cli, name: &str, yes: bool) -> Result<()> {
    let mut vault = open(cli)?;
    let entry = vault.entry(name)?;
    if !yes {
        if !std::io::stdin().is_terminal() {
            return Err(Error::Invalid(format!(
                "refusing to delete {name} without confirmation; pass --yes"
            )));
        }
        let m = &entry.meta;
        if !input::confirm(&format!(
            "Delete {} ({}, {}, {})? This cannot be undone.",
            m.name, m.provider, m.environment, m.masked
        ))? {
            return print("Nothing deleted.\n");
        }
    }
    vault.remove(name)?;
    print(&format!("Deleted {name}\n"))
}

fn passwd(cli: &Cli, new_file: Option<&Path>) -> Result<()> {
    let mut vault = open(cli)?;
    let new = input::new_passphrase(new_file)?;
    vault.change_passphrase(&new)?;
    print("Passphrase changed.\n")
}

fn rekey(cli: &Cli) -> Result<()> {
    let mut vault = open(cli)?;
    let n = vault.rekey()?;
    print(&format!("New data key; {n} entries re-sealed.\n"))
}
