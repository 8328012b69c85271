//! Import and export files: env, JSON and CSV. Pure parsers and writers: text in,
//! records out, and records back to text. Nothing here touches a file, a terminal or
//! the vault; the CLI reads and writes, the vault decides what an import changes.
//!
//! Every problem is reported with its line number and never echoes a value: any value
//! may be a secret. Names of variables, columns and entries are not secret and are
//! named.

pub mod csv;
pub mod env;
pub mod json;

use std::collections::HashSet;

use crate::model::provider;
use crate::model::{EntryMeta, NewEntry, Secret};

/// A file format of `import` and `export`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `KEY=value` lines.
    Env,
    /// An array of objects.
    Json,
    /// A header row, then one row per entry (RFC 4180).
    Csv,
}

impl Format {
    /// `env`, `json` or `csv`.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Env => "env",
            Format::Json => "json",
            Format::Csv => "csv",
        }
    }

    /// The format a file's name says: `.env`, `.env.local`, `.env.production` and
    /// `something.env` are env files; `*.json` JSON; `*.csv` CSV. `None` otherwise.
    pub fn from_file_name(name: &str) -> Option<Format> {
        let base = name.rsplit('/').next().unwrap_or(name).to_ascii_lowercase();
        if base == ".env" || base.starts_with(".env.") || base.ends_with(".env") {
            Some(Format::Env)
        } else if base.ends_with(".json") {
            Some(Format::Json)
        } else if base.ends_with(".csv") {
            Some(Format::Csv)
        } else {
            None
        }
    }

    /// JSON when the text obviously is (its first character, after a byte-order mark
    /// and blanks, opens an array or object); `None` otherwise.
    pub fn sniff(text: &str) -> Option<Format> {
        let t = strip_bom(text).trim_start();
        (t.starts_with('[') || t.starts_with('{')).then_some(Format::Json)
    }
}

/// What `import` does when an entry's name is taken by one holding another key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnConflict {
    /// Leave the vault's entry as it is and say so.
    #[default]
    Skip,
    /// Rotate the vault's entry to the file's key (the old one is kept as a version).
    Rotate,
    /// Count it as an error.
    Fail,
}

/// One entry as the files hold it: the metadata a user sets, and the secret with its
/// extra fields. The JSON and CSV schemas have exactly these fields.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Record {
    /// Entry name. Empty in a parsed record whose file gave none: it is derived.
    pub name: String,
    /// Provider id (`openai`, …, `custom`).
    pub provider: String,
    /// Environment (`prod`, …).
    pub environment: String,
    /// Env var the key is injected as; empty: the provider's default.
    pub env_var: String,
    /// API base URL.
    pub base_url: Option<String>,
    /// Default model.
    pub model: Option<String>,
    /// Tier.
    pub tier: Option<String>,
    /// Tags.
    pub tags: Vec<String>,
    /// Notes.
    pub notes: String,
    /// Active (injected, usable).
    pub active: bool,
    /// Primary for its provider and environment.
    pub primary: bool,
    /// Expiry date `YYYY-MM-DD`.
    pub expires_at: Option<String>,
    /// Rotation policy in days.
    pub rotate_every_days: Option<u32>,
    /// The key and its extra fields (AWS: access_key_id, region, session_token).
    pub secret: Secret,
}

impl Record {
    /// The record of a stored entry, for export.
    pub fn from_entry(meta: &EntryMeta, secret: Secret) -> Self {
        Self {
            name: meta.name.clone(),
            provider: meta.provider.clone(),
            environment: meta.environment.clone(),
            env_var: meta.env_var.clone(),
            base_url: meta.base_url.clone(),
            model: meta.model.clone(),
            tier: meta.tier.clone(),
            tags: meta.tags.clone(),
            notes: meta.notes.clone(),
            active: meta.active,
            primary: meta.primary,
            expires_at: meta.expires_at.clone(),
            rotate_every_days: meta.rotate_every_days,
            secret,
        }
    }

    /// What the vault needs to add it. The key's format is checked (never forced).
    pub fn into_new_entry(self) -> NewEntry {
        let opt = |s: String| (!s.is_empty()).then_some(s);
        NewEntry {
            name: self.name,
            provider: opt(self.provider),
            environment: opt(self.environment),
            env_var: opt(self.env_var),
            base_url: self.base_url,
            model: self.model,
            tier: self.tier,
            tags: self.tags,
            notes: self.notes,
            inactive: !self.active,
            primary: self.primary,
            expires_at: self.expires_at,
            rotate_every_days: self.rotate_every_days,
            force: false,
            secret: self.secret,
        }
    }
}

/// A record and where it comes from.
#[derive(Debug, Clone)]
pub struct Item {
    /// Line of the file (from 1) where it starts.
    pub line: usize,
    /// What the report calls it: the variable(s) of an env file, else the name.
    pub label: String,
    /// The record; its name is set (given, or derived).
    pub record: Record,
    /// The name was derived here, not given by the file.
    pub derived_name: bool,
}

/// A line of an env file that holds no secret, left out of the import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeftOut {
    /// Line number.
    pub line: usize,
    /// The variable.
    pub key: String,
    /// Why it is not taken for a secret (`a number`, `a URL without credentials`).
    pub why: String,
}

/// A line or record that cannot be imported: malformed, a duplicate, a refused value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Line number (from 1).
    pub line: usize,
    /// The variable or entry it is about, when known; may be empty.
    pub label: String,
    /// What is wrong; never holds a value of the file.
    pub message: String,
}

impl Problem {
    pub(crate) fn new(line: usize, label: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            line,
            label: label.into(),
            message: message.into(),
        }
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.label.is_empty() {
            write!(f, "line {}: {}", self.line, self.message)
        } else {
            write!(f, "line {}: {}: {}", self.line, self.label, self.message)
        }
    }
}

/// What a file holds, in file order within each list.
#[derive(Debug, Default)]
pub struct Parsed {
    /// The entries to import.
    pub items: Vec<Item>,
    /// Lines left out as not secrets (env files).
    pub left_out: Vec<LeftOut>,
    /// Lines or records that cannot be imported.
    pub problems: Vec<Problem>,
}

/// Parses `text` as `format`. `environment` is the environment of records that name
/// none (every record of an env file). `Err`: the file cannot be read as a whole (JSON
/// that is not JSON, a CSV without a secret column).
pub fn parse(format: Format, text: &str, environment: &str) -> Result<Parsed, Problem> {
    match format {
        Format::Env => Ok(env::parse(text, environment)),
        Format::Json => json::parse(text, environment),
        Format::Csv => csv::parse(text, environment),
    }
}

/// Writes records as `format`. The env format holds only active entries and one entry
/// per variable (see [`env::write`]); use [`env::write`] to learn what it left out.
pub fn write(format: Format, records: &[Record]) -> zeroize::Zeroizing<String> {
    match format {
        Format::Env => env::write(records).text,
        Format::Json => json::write(records),
        Format::Csv => csv::write(records),
    }
}

/// What `import` did (or, in a dry run or when an error stops it, would do).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportOutcome {
    /// A new entry.
    Imported,
    /// The entry of that name was rotated to the file's key.
    Updated,
    /// Nothing done, and why.
    Skipped {
        /// Why: already there, or a conflict left alone.
        reason: String,
        /// True when the vault already holds this key (nothing to do at all).
        present: bool,
    },
    /// Refused, and why.
    Failed(String),
}

/// One entry to import and the line of the file it comes from.
#[derive(Debug, Clone)]
pub struct ImportItem {
    /// Line number.
    pub line: usize,
    /// The entry.
    pub entry: NewEntry,
    /// Its name was derived (not given by the file): a vault entry holding the same
    /// key under another name then counts as the same entry.
    pub derived_name: bool,
}

/// How `Vault::import_batch` goes about it.
#[derive(Debug, Clone, Copy)]
pub struct ImportOptions {
    /// A taken name with another key: skip, rotate or fail.
    pub on_conflict: OnConflict,
    /// Import the valid entries even when others fail.
    pub skip_invalid: bool,
    /// Decide and report, write nothing.
    pub dry_run: bool,
    /// Days a key replaced by a rotation stays readable.
    pub grace_days: u32,
}

/// What `Vault::import_batch` decided, one outcome per item, and whether it wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportReport {
    /// In the order of the items.
    pub outcomes: Vec<ImportOutcome>,
    /// True when the transaction was written.
    pub written: bool,
    /// Entries that stopped being primary because an imported one is.
    pub demoted: Vec<String>,
}

impl ImportReport {
    fn count(&self, f: impl Fn(&ImportOutcome) -> bool) -> usize {
        self.outcomes.iter().filter(|o| f(o)).count()
    }
    /// New entries.
    pub fn imported(&self) -> usize {
        self.count(|o| matches!(o, ImportOutcome::Imported))
    }
    /// Rotated entries.
    pub fn updated(&self) -> usize {
        self.count(|o| matches!(o, ImportOutcome::Updated))
    }
    /// Entries left alone.
    pub fn skipped(&self) -> usize {
        self.count(|o| matches!(o, ImportOutcome::Skipped { .. }))
    }
    /// Refused entries.
    pub fn failed(&self) -> usize {
        self.count(|o| matches!(o, ImportOutcome::Failed(_)))
    }
}

pub(crate) fn strip_bom(text: &str) -> &str {
    text.strip_prefix('\u{feff}').unwrap_or(text)
}

/// A piece of a name: lower case, anything but letters, digits, `.`, `_` and `-`
/// made `-`, no leading `-`.
fn slug(s: &str) -> String {
    let out: String = s
        .chars()
        .map(|c| {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_alphanumeric() || c == '.' || c == '_' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    out.trim_start_matches('-').to_string()
}

/// The base of a derived name: `{provider}-{env}`; for custom entries the variable
/// lower-cased with `_` made `-`, then `-{env}`.
fn base_name(record: &Record) -> String {
    let first = if record.provider == "custom" || record.provider.is_empty() {
        let var = slug(&record.env_var.replace('_', "-"));
        if var.is_empty() {
            "custom".to_string()
        } else {
            var
        }
    } else {
        slug(&record.provider)
    };
    let env = slug(&record.environment);
    if env.is_empty() {
        first
    } else {
        format!("{first}-{env}")
    }
}

/// Gives every unnamed record a name unique in the file: its base name, then `-2`,
/// `-3`, … for later ones. Names given by the file are kept and never reused.
pub fn derive_names(items: &mut [Item]) {
    let mut taken: HashSet<String> = items
        .iter()
        .filter(|i| !i.record.name.is_empty())
        .map(|i| i.record.name.clone())
        .collect();
    // Where each base name's search for a free suffix goes on: without it, 10,000
    // keys of one provider would try 1, 2, 3… each time (quadratic).
    let mut next: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for item in items.iter_mut().filter(|i| i.record.name.is_empty()) {
        let base = base_name(&item.record);
        let mut n = next.get(&base).copied().unwrap_or(1);
        let name = loop {
            let suffix = if n == 1 {
                String::new()
            } else {
                format!("-{n}")
            };
            let room = 64usize.saturating_sub(suffix.len());
            let mut head = base.clone();
            if head.len() > room {
                let mut cut = room;
                while !head.is_char_boundary(cut) {
                    cut -= 1;
                }
                head.truncate(cut);
            }
            let candidate = format!("{head}{suffix}");
            if !taken.contains(&candidate) {
                break candidate;
            }
            n += 1;
        };
        taken.insert(name.clone());
        next.insert(base, n + 1);
        item.record.name = name;
        item.derived_name = true;
    }
}

/// Fills what a JSON or CSV record may leave out: the environment (`environment`), the
/// provider (from the key's prefix). Err: no provider and none can be told.
pub(crate) fn fill_defaults(record: &mut Record, environment: &str) -> Result<(), String> {
    if record.environment.is_empty() {
        record.environment = environment.to_string();
    }
    if record.provider.is_empty() {
        let value = record.secret.value.trim();
        match provider::infer(value) {
            Some(p) => record.provider = p.id.to_string(),
            None => {
                return Err(
                    "no provider given and none can be told from the key; give its provider (or custom)"
                        .into(),
                );
            }
        }
    }
    Ok(())
}

/// Parses `true`/`false` (also `yes`/`no`, `1`/`0`); empty: `default`.
pub(crate) fn parse_bool(s: &str, default: bool) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "" => Some(default),
        "true" | "yes" | "1" => Some(true),
        "false" | "no" | "0" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_from_names() {
        for (name, want) in [
            (".env", Some(Format::Env)),
            ("dir/.env.local", Some(Format::Env)),
            (".env.production", Some(Format::Env)),
            ("something.env", Some(Format::Env)),
            ("KEYS.JSON", Some(Format::Json)),
            ("a/b.csv", Some(Format::Csv)),
            ("notes.txt", None),
            (".envrc", None),
        ] {
            assert_eq!(Format::from_file_name(name), want, "{name}");
        }
        assert_eq!(Format::sniff("\u{feff}  [ {}]"), Some(Format::Json));
        assert_eq!(Format::sniff("A=1"), None);
    }

    fn item(provider: &str, var: &str, name: &str) -> Item {
        Item {
            line: 1,
            label: String::new(),
            record: Record {
                name: name.into(),
                provider: provider.into(),
                environment: "prod".into(),
                env_var: var.into(),
                ..Default::default()
            },
            derived_name: false,
        }
    }

    #[test]
    fn many_keys_of_one_provider_get_consecutive_names() {
        let mut items: Vec<Item> = (0..5000)
            .map(|_| item("openai", "OPENAI_API_KEY", ""))
            .collect();
        items[10].record.name = "openai-prod-5".into(); // taken by hand: skipped
        derive_names(&mut items);
        let names: std::collections::HashSet<&str> =
            items.iter().map(|i| i.record.name.as_str()).collect();
        assert_eq!(names.len(), 5000, "names are unique");
        assert_eq!(items[0].record.name, "openai-prod");
        assert_eq!(items[4].record.name, "openai-prod-6");
        assert!(names.contains("openai-prod-5000") && !names.contains("openai-prod-5001"));
    }

    #[test]
    fn names_are_derived_and_unique() {
        let mut items = vec![
            item("openai", "OPENAI_API_KEY", ""),
            item("openai", "OPENAI_API_KEY_2", ""),
            item("custom", "SESSION_SECRET", ""),
            item("openai", "X", "openai-prod-3"),
            item("openai", "Y", ""),
            item("custom", "_PRIVATE_TOKEN", ""),
        ];
        derive_names(&mut items);
        let names: Vec<&str> = items.iter().map(|i| i.record.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "openai-prod",
                "openai-prod-2",
                "session-secret-prod",
                "openai-prod-3",
                "openai-prod-4",
                "private-token-prod"
            ]
        );
        assert!(items[0].derived_name && !items[3].derived_name);
        let mut long = vec![item("custom", &"A".repeat(100), "")];
        derive_names(&mut long);
        assert_eq!(long[0].record.name.len(), 64);
    }

    #[test]
    fn booleans() {
        assert_eq!(parse_bool("", true), Some(true));
        assert_eq!(parse_bool(" FALSE ", true), Some(false));
        assert_eq!(parse_bool("maybe", true), None);
    }
}
