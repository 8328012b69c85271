//! `import` and `export`: keys in from env, JSON or CSV files (safe to repeat, all or
//! nothing, an honest report), and out in plaintext (never to a terminal by accident,
//! files made 0600, always an audit event).

use std::fs::{File, OpenOptions, Permissions};
use std::io::{IsTerminal, Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use clap::{Args, ValueEnum};
use zeroize::Zeroizing;

use super::{Cli, config, open, print, warn};
use crate::error::{Error, Result, exit};
use crate::model::provider;
use crate::transfer::{
    self, Format, ImportItem, ImportOptions, ImportOutcome, OnConflict, Parsed, Record,
};

/// A file format on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// `KEY=value` lines
    Env,
    /// An array of objects (the schema is in the README)
    Json,
    /// A header row, then one row per entry
    Csv,
}

impl From<FormatArg> for Format {
    fn from(f: FormatArg) -> Self {
        match f {
            FormatArg::Env => Format::Env,
            FormatArg::Json => Format::Json,
            FormatArg::Csv => Format::Csv,
        }
    }
}

/// What `import` does with a name taken by an entry holding another key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ConflictArg {
    /// Leave the vault's entry alone and say so
    Skip,
    /// Rotate it to the file's key (the old key stays readable for the grace period)
    Rotate,
    /// Count it as an error
    Fail,
}

impl From<ConflictArg> for OnConflict {
    fn from(c: ConflictArg) -> Self {
        match c {
            ConflictArg::Skip => OnConflict::Skip,
            ConflictArg::Rotate => OnConflict::Rotate,
            ConflictArg::Fail => OnConflict::Fail,
        }
    }
}

/// `import` flags.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The file to import (`-`: stdin)
    pub file: String,
    /// Its format [default: from the name: .env, .env.local, x.env, .json, .csv]
    #[arg(long, value_enum)]
    pub format: Option<FormatArg>,
    /// Environment of the imported entries (JSON, CSV: of those naming none) [default: prod]
    #[arg(long = "env", value_name = "ENV")]
    pub environment: Option<String>,
    /// A name taken by an entry with another key: skip, rotate it, or fail
    #[arg(long, value_enum, default_value_t = ConflictArg::Skip, value_name = "MODE")]
    pub on_conflict: ConflictArg,
    /// Import the valid entries even when others have errors
    #[arg(long)]
    pub skip_invalid: bool,
    /// Show the report; write nothing
    #[arg(long)]
    pub dry_run: bool,
}

/// `export` flags.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Format [default: from --output's name (.json, .csv), else env]
    #[arg(long, value_enum)]
    pub format: Option<FormatArg>,
    /// Only this environment
    #[arg(long = "env", value_name = "ENV")]
    pub environment: Option<String>,
    /// Only this provider
    #[arg(long, value_name = "P")]
    pub provider: Option<String>,
    /// Write to FILE (mode 0600) instead of stdout
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<std::path::PathBuf>,
    /// Allow printing the secrets on a terminal
    #[arg(long)]
    pub plaintext: bool,
}

/// The file's bytes (wiped on drop); `-` reads stdin, which must not be a terminal.
fn read_input(file: &str) -> Result<Zeroizing<Vec<u8>>> {
    let mut buf = Zeroizing::new(Vec::new());
    if file == "-" {
        let stdin = std::io::stdin();
        if stdin.is_terminal() {
            return Err(Error::Invalid(
                "stdin is a terminal; pipe the file in (keyward import - --format env < FILE) or name it"
                    .into(),
            ));
        }
        buf.reserve(64 * 1024);
        stdin
            .lock()
            .read_to_end(&mut buf)
            .map_err(|e| Error::io("cannot read stdin", e))?;
    } else {
        let mut f = File::open(file).map_err(|e| Error::io(format!("cannot read {file}"), e))?;
        let len = f.metadata().map(|m| m.len()).unwrap_or(0);
        buf.reserve(usize::try_from(len).unwrap_or(0) + 1);
        f.read_to_end(&mut buf)
            .map_err(|e| Error::io(format!("cannot read {file}"), e))?;
    }
    Ok(buf)
}

/// `line 3, 5 and 9` (at most ten numbers).
fn line_list(lines: &[usize]) -> String {
    let mut shown: Vec<String> = lines.iter().take(10).map(usize::to_string).collect();
    if lines.len() > 10 {
        shown.push("…".into());
    }
    let word = if lines.len() == 1 { "line" } else { "lines" };
    format!("{word} {}", shown.join(", "))
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

pub(super) fn import(cli: &Cli, args: &ImportArgs) -> Result<i32> {
    let environment = args
        .environment
        .as_deref()
        .unwrap_or("prod")
        .trim()
        .to_string();
    if environment.is_empty() {
        return Err(Error::Invalid("--env wants a name, e.g. prod".into()));
    }
    let from_stdin = args.file == "-";
    let shown = if from_stdin {
        "stdin".to_string()
    } else {
        args.file.clone()
    };
    let bytes = read_input(&args.file)?;
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| Error::Invalid(format!("{shown} is not UTF-8 text; save it as UTF-8")))?;
    let format = match args.format {
        Some(f) => f.into(),
        None if from_stdin => Format::sniff(text)
            .ok_or_else(|| Error::Invalid("reading stdin needs --format env|json|csv".into()))?,
        None => Format::from_file_name(&args.file)
            .or_else(|| Format::sniff(text))
            .ok_or_else(|| {
                Error::Invalid(format!(
                    "cannot tell the format of {shown} from its name; pass --format env|json|csv"
                ))
            })?,
    };
    let parsed = transfer::parse(format, text, &environment)
        .map_err(|p| Error::Invalid(format!("{shown}: {p}; nothing was imported")))?;
    let grace_days = config(cli)?.grace_days;
    let mut vault = open(cli)?;
    let Parsed {
        items,
        left_out,
        problems,
    } = parsed;
    let mut labels = Vec::with_capacity(items.len());
    let items: Vec<ImportItem> = items
        .into_iter()
        .map(|i| {
            labels.push((i.line, i.label.clone(), i.record.name.clone()));
            ImportItem {
                line: i.line,
                derived_name: i.derived_name,
                entry: i.record.into_new_entry(),
            }
        })
        .collect();
    let opts = ImportOptions {
        on_conflict: args.on_conflict.into(),
        skip_invalid: args.skip_invalid,
        dry_run: args.dry_run || (!problems.is_empty() && !args.skip_invalid),
        grace_days,
    };
    let report = {
        let mut bar = super::progress::Bar::new(items.len(), "importing");
        vault.import_batch_with_progress(items, opts, &mut |s, d, t| bar.update(s, d, t))?
    };
    let written = report.written;

    // One line per line of the file that says anything, in file order.
    let mut lines: Vec<(usize, String)> = Vec::new();
    let mut error_lines: Vec<usize> = Vec::new();
    for ((line, label, name), outcome) in labels.iter().zip(&report.outcomes) {
        let who = if label == name {
            name.clone()
        } else {
            format!("{label} -> {name}")
        };
        let what = match outcome {
            ImportOutcome::Imported if written => "imported".to_string(),
            ImportOutcome::Imported => "to import".to_string(),
            ImportOutcome::Updated if written => "updated (rotated to the file's key)".to_string(),
            ImportOutcome::Updated => "to update (rotate to the file's key)".to_string(),
            ImportOutcome::Skipped { reason, .. } => format!("skipped: {reason}"),
            ImportOutcome::Failed(why) => {
                error_lines.push(*line);
                format!("error: {why}")
            }
        };
        lines.push((*line, format!("line {line}: {who}: {what}")));
    }
    for l in &left_out {
        lines.push((
            l.line,
            format!(
                "line {}: {}: not a secret ({}), left out",
                l.line, l.key, l.why
            ),
        ));
    }
    for p in &problems {
        error_lines.push(p.line);
        let who = if p.label.is_empty() {
            String::new()
        } else {
            format!("{}: ", p.label)
        };
        lines.push((
            p.line,
            format!("line {}: {who}error: {}", p.line, p.message),
        ));
    }
    lines.sort_by_key(|(n, _)| *n);
    error_lines.sort_unstable();
    let errors = error_lines.len();
    let (imported, updated, skipped) = (report.imported(), report.updated(), report.skipped());
    let present = report
        .outcomes
        .iter()
        .filter(|o| matches!(o, ImportOutcome::Skipped { present: true, .. }))
        .count();
    let total = labels.len() + left_out.len() + problems.len();

    let mut out = String::new();
    for (_, l) in &lines {
        out.push_str(l);
        out.push('\n');
    }
    let (imp_word, upd_word) = if written || imported + updated == 0 {
        ("imported", "updated")
    } else {
        ("to import", "to update")
    };
    out.push_str(&format!(
        "Total {total}: {imported} {imp_word}, {updated} {upd_word}, {skipped} skipped, {}, {}.\n",
        plural(left_out.len(), "not a secret", "not secrets"),
        plural(errors, "error", "errors"),
    ));
    if args.dry_run {
        out.push_str("Dry run: nothing was written.\n");
    } else if errors > 0 && !written && !args.skip_invalid {
        out.push_str(
            "Nothing was written: fix the errors, or pass --skip-invalid to import the rest.\n",
        );
    } else if imported + updated == 0 && errors == 0 {
        if labels.is_empty() {
            out.push_str(&format!("Nothing to import: no keys found in {shown}.\n"));
        } else if present == labels.len() && present == 1 {
            out.push_str("Nothing to import: the key is already in the vault.\n");
        } else if present == labels.len() {
            out.push_str(&format!(
                "Nothing to import: all {present} keys are already in the vault.\n"
            ));
        } else {
            out.push_str(&format!(
                "Nothing to import: {present} already in the vault, {} left as they are (see above).\n",
                skipped - present
            ));
        }
    } else if written && !from_stdin {
        out.push_str(&format!(
            "{shown} still holds the keys in plaintext; delete it once you no longer need it.\n"
        ));
    }
    print(&out)?;
    for d in &report.demoted {
        warn(&format!("{d} is no longer primary"));
    }
    if errors > 0 {
        let tail = if args.dry_run {
            "dry run, nothing was written"
        } else if written {
            "the other keys were imported"
        } else {
            "nothing was written"
        };
        return Err(Error::Invalid(format!(
            "{} in {shown} ({}); {tail}",
            plural(errors, "error", "errors"),
            line_list(&error_lines)
        )));
    }
    Ok(exit::OK)
}

/// Opens `path` for secrets: created 0600, or truncated and set to 0600 before any
/// byte is written; never through a symbolic link; a terminal only with `plaintext`.
fn open_private(path: &Path, plaintext: bool) -> Result<File> {
    let shown = path.display();
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(Error::Invalid(format!(
            "{shown} is a symbolic link; refusing to write secrets through it"
        )));
    }
    let file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
        .open(path)
        .map_err(|e| Error::io(format!("cannot write {shown}"), e))?;
    if file.is_terminal() && !plaintext {
        return Err(Error::Invalid(format!(
            "{shown} is a terminal; refusing to print secrets in plaintext there without --plaintext"
        )));
    }
    let meta = file
        .metadata()
        .map_err(|e| Error::io(format!("cannot write {shown}"), e))?;
    if meta.is_file() {
        file.set_permissions(Permissions::from_mode(0o600))
            .map_err(|e| Error::io(format!("cannot make {shown} private (0600)"), e))?;
    }
    Ok(file)
}

pub(super) fn export(cli: &Cli, args: &ExportArgs) -> Result<i32> {
    if args.output.is_none() && std::io::stdout().is_terminal() && !args.plaintext {
        return Err(Error::Invalid(
            "refusing to print secrets in plaintext on the terminal; pass --output FILE, pipe it, or add --plaintext"
                .into(),
        ));
    }
    let format: Format = match (args.format, &args.output) {
        (Some(f), _) => f.into(),
        (None, Some(path)) => {
            Format::from_file_name(&path.to_string_lossy()).unwrap_or(Format::Env)
        }
        (None, None) => Format::Env,
    };
    let provider = args
        .provider
        .as_deref()
        .map(|p| provider::lookup(p).map(|p| p.id))
        .transpose()
        .map_err(Error::Invalid)?;
    let mut vault = open(cli)?;
    let entries: Vec<_> = vault
        .list()?
        .into_iter()
        .filter(|e| provider.is_none_or(|p| e.meta.provider == p))
        .filter(|e| {
            args.environment
                .as_deref()
                .is_none_or(|v| e.meta.environment == v)
        })
        .collect();
    let records = entries
        .iter()
        .map(|e| Ok(Record::from_entry(&e.meta, vault.secret(e)?)))
        .collect::<Result<Vec<_>>>()?;
    let (text, left_out) = match format {
        Format::Env => {
            let out = transfer::env::write(&records);
            (out.text, out.left_out)
        }
        Format::Json => (transfer::json::write(&records), Vec::new()),
        Format::Csv => (transfer::csv::write(&records), Vec::new()),
    };
    drop(records);
    let count = entries.len() - left_out.len();
    let dest = match &args.output {
        Some(p) => p.display().to_string(),
        None => "stdout".to_string(),
    };
    let file = args
        .output
        .as_deref()
        .map(|p| open_private(p, args.plaintext))
        .transpose()?;
    // Recorded before a byte goes out: an export that fails half-way is still one.
    vault.record_export(count, &format!("{} to {dest}", format.as_str()))?;
    match file {
        Some(mut f) => f
            .write_all(text.as_bytes())
            .and_then(|()| f.flush())
            .map_err(|e| Error::io(format!("cannot write {dest}"), e))?,
        None => print(&text)?,
    }
    drop(text);
    let inactive = left_out.iter().filter(|(_, why)| why == "inactive").count();
    if inactive > 0 {
        warn(&format!(
            "note: {} left out: the env format holds only active keys, the ones to inject (--format json or csv exports all)",
            plural(inactive, "inactive entry", "inactive entries")
        ));
    }
    for (name, why) in left_out.iter().filter(|(_, why)| why != "inactive") {
        warn(&format!("note: {name} left out: {why}"));
    }
    let hint = if args.output.is_some() {
        "; delete it when done"
    } else {
        ""
    };
    warn(&format!(
        "warning: {} written in plaintext to {dest}{hint}",
        plural(count, "secret", "secrets")
    ));
    Ok(exit::OK)
}
