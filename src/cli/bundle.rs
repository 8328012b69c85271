//! `backup` and `restore`: the whole vault in one encrypted bundle with a passphrase of
//! its own (docs/FORMAT.md, section 9).
//!
//! The bundle passphrase comes from `--bundle-passphrase-file FILE` (its first line),
//! else `KEYWARD_BUNDLE_PASSPHRASE`, else a hidden prompt (twice for `backup`).
//! `restore` merges by default; `--replace` replaces. A bundle that cannot be opened
//! restores nothing: a wrong bundle passphrase exits 3, a damaged or tampered bundle 7.

use std::path::{Path, PathBuf};

use clap::Args;
use zeroize::Zeroizing;

use super::output::timestamp;
use super::{Cli, config, open, print, warn};
use crate::crypto::bundle::{self, BundleError};
use crate::crypto::kdf;
use crate::error::{Error, Result, exit};
use crate::vault::{Passphrase, Vault};

/// Env var holding the bundle passphrase, for automation.
pub const ENV_BUNDLE_PASSPHRASE: &str = "KEYWARD_BUNDLE_PASSPHRASE";

/// `backup` flags.
#[derive(Debug, Args)]
pub struct BackupArgs {
    /// The bundle file to write (mode 0600; an existing file is replaced atomically)
    pub file: PathBuf,
    /// Read the bundle passphrase from the first line of FILE (else KEYWARD_BUNDLE_PASSPHRASE, else asks twice)
    #[arg(long, value_name = "FILE")]
    pub bundle_passphrase_file: Option<PathBuf>,
    /// Argon2id memory in MiB for the bundle key [default: as for a new vault]
    #[arg(long, value_name = "N")]
    pub kdf_memory_mib: Option<u32>,
    /// Argon2id passes for the bundle key [default: as for a new vault]
    #[arg(long, value_name = "N")]
    pub kdf_iterations: Option<u32>,
    /// Argon2id lanes for the bundle key [default: as for a new vault]
    #[arg(long, value_name = "N")]
    pub kdf_parallelism: Option<u32>,
}

/// `restore` flags.
#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The bundle file to read
    pub file: PathBuf,
    /// Add the bundle's entries whose names are free here; skip the others (the default)
    #[arg(long, conflicts_with = "replace")]
    pub merge: bool,
    /// Remove every entry of this vault and put the bundle's in their place
    #[arg(long)]
    pub replace: bool,
    /// Read the bundle passphrase from the first line of FILE (else KEYWARD_BUNDLE_PASSPHRASE, else asks)
    #[arg(long, value_name = "FILE")]
    pub bundle_passphrase_file: Option<PathBuf>,
}

fn prompt_hidden(prompt: &str) -> Result<Zeroizing<String>> {
    super::input::ask_hidden(prompt).map_err(|_| {
            Error::Passphrase(format!(
                "no terminal to ask for the bundle passphrase on; set {ENV_BUNDLE_PASSPHRASE} or pass --bundle-passphrase-file FILE"
            ))
        })
}

/// The bundle passphrase: `--bundle-passphrase-file`, then the env var, then a hidden
/// prompt (twice, and the two must match, with `confirm`).
fn bundle_passphrase(file: Option<&Path>, confirm: bool) -> Result<Passphrase> {
    if let Some(file) = file {
        let text = Zeroizing::new(std::fs::read_to_string(file).map_err(|e| {
            Error::Passphrase(format!(
                "cannot read the bundle passphrase file {} ({e}); check the path",
                file.display()
            ))
        })?);
        return Passphrase::new(text.lines().next().unwrap_or("").to_string());
    }
    if let Some(p) = crate::env::var(ENV_BUNDLE_PASSPHRASE) {
        return Passphrase::new(p);
    }
    let first = prompt_hidden("Bundle passphrase: ")?;
    if confirm {
        let second = prompt_hidden("Bundle passphrase (again): ")?;
        if *first != *second {
            return Err(Error::Passphrase(
                "the two bundle passphrases differ; run the command again".into(),
            ));
        }
    }
    Passphrase::new(first.to_string())
}

pub(super) fn backup(cli: &Cli, args: &BackupArgs) -> Result<i32> {
    // The same choice as `init`: the flags, else the config's [kdf], else the defaults.
    let defaults = config(cli)?.kdf;
    let memory = args.kdf_memory_mib.or(defaults.memory_mib);
    let iterations = args.kdf_iterations.or(defaults.iterations);
    let parallelism = args.kdf_parallelism.or(defaults.parallelism);
    kdf::check_choice(memory, iterations, parallelism)?;
    let mut vault = open(cli)?;
    let pass = bundle_passphrase(args.bundle_passphrase_file.as_deref(), true)?;
    if iterations.is_none() {
        eprintln!("Calibrating Argon2id on this machine…");
    }
    let params = kdf::choose(memory, iterations, parallelism)?;
    if params.below_owasp_floor() {
        warn(&format!(
            "warning: the bundle's {params} is below OWASP's floor for Argon2id (19 MiB, 2 passes); fine for tests, weak for real keys"
        ));
    }
    let report = vault.backup(&args.file, &pass, params)?;
    print(&format!(
        "Backed up {} ({}, {}) to {} ({params}, {} bytes)\n",
        count(report.entries, "entry", "entries"),
        count(report.versions, "kept version", "kept versions"),
        count(report.events, "audit event", "audit events"),
        args.file.display(),
        report.bytes
    ))?;
    Ok(exit::OK)
}

fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Says why `file` restores nothing; returns the exit code.
fn refused(file: &Path, e: &BundleError) -> i32 {
    let f = file.display();
    warn(&match e {
        BundleError::WrongPassphrase => {
            format!("wrong passphrase for the bundle {f}; nothing was restored, try again")
        }
        BundleError::Damaged(why) => {
            format!("the bundle {f} is damaged or was tampered with ({why}); nothing was restored")
        }
        BundleError::Unsupported(why) => format!("the bundle {f} {why}; nothing was restored"),
        BundleError::KdfRefused(what) => format!(
            "the bundle {f} asks for {what}, which keyward refuses to run (it is damaged); nothing was restored"
        ),
    });
    e.exit_code()
}

pub(super) fn restore(cli: &Cli, args: &RestoreArgs) -> Result<i32> {
    let file = &args.file;
    let bytes = std::fs::read(file)
        .map_err(|e| Error::io(format!("cannot read the bundle {}", file.display()), e))?;
    // What needs no passphrase is checked before any is asked for.
    if let Err(e) = bundle::inspect(&bytes) {
        return Ok(refused(file, &e));
    }
    let mut vault = open(cli)?;
    let pass = bundle_passphrase(args.bundle_passphrase_file.as_deref(), false)?;
    let contents = match Vault::read_bundle(&bytes, &pass) {
        Ok(b) => b,
        Err(e) => return Ok(refused(file, &e)),
    };
    drop(pass);
    let made = timestamp(contents.created_at());
    let report = {
        let mut bar = super::progress::Bar::new(contents.len(), "restoring");
        vault.restore_with_progress(contents, args.replace, &mut |s, d, t| bar.update(s, d, t))?
    };
    let restored = count(report.restored.len(), "entry", "entries");
    let mut out = if report.replace {
        let mut s = format!(
            "Restored {restored} from {} (backup of {made}), replacing {}",
            file.display(),
            count(report.removed, "entry", "entries")
        );
        if report.events_restored > 0 {
            s.push_str(&format!(
                "; its audit log ({}) carried over",
                count(report.events_restored, "event", "events")
            ));
        }
        s
    } else {
        let mut s = format!(
            "Restored {restored} from {} (backup of {made}, merged)",
            file.display()
        );
        if !report.unchanged.is_empty() {
            s.push_str(&format!(
                "; skipped {} already here with the same secret: {}",
                report.unchanged.len(),
                report.unchanged.join(", ")
            ));
        }
        s
    };
    out.push('\n');
    print(&out)?;
    for name in &report.not_primary {
        warn(&format!(
            "{name} was restored as not primary: an entry here is primary for its provider and environment"
        ));
    }
    if !report.conflicts.is_empty() {
        warn(&format!(
            "not restored, the name holds a different secret here: {} (compare, then rename or remove it here, or restore with --replace)",
            report.conflicts.join(", ")
        ));
    }
    Ok(exit::OK)
}
