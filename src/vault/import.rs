//! Bulk import in one transaction, and the export audit event.
//!
//! An import is planned first (read-only: what would become of each entry) and then,
//! unless it is a dry run or an error stops it, written as ONE batch: every new entry,
//! every rotation, and one `import` audit event. A failure anywhere writes nothing.

use std::collections::{HashMap, HashSet};

use super::{Progress, Stage, Vault, trim_in_place};
use crate::error::{Error, Result};
use crate::model::entry::{validate_date, validate_name};
use crate::model::provider::{self, aws_access_key_id};
use crate::model::{Action, Entry, NewEntry, Secret};
use crate::store::{Batch, Tree};
use crate::transfer::{ImportItem, ImportOptions, ImportOutcome, ImportReport, OnConflict};

/// An error as an import report says it: the message alone, with no advice about
/// flags that `import` does not have (`--force` is never applied on import).
fn reason(e: Error) -> String {
    match e {
        Error::KeyFormat(m) | Error::Invalid(m) => m,
        other => other.to_string(),
    }
}

impl Vault {
    /// True when `secret` is the current key of `entry` (compared by fingerprint).
    pub fn holds_secret(&self, entry: &Entry, secret: &Secret) -> bool {
        self.sealer
            .fingerprint(secret.value.trim().as_bytes())
            .as_slice()
            == entry.meta.fingerprint.as_slice()
    }

    /// Why `new` could not be added, if it could not (name, provider, key format,
    /// expiry). Writes nothing; the name's availability is the caller's concern.
    fn check_new(new: &NewEntry, secret: &Secret) -> Result<()> {
        validate_name(&new.name).map_err(Error::Invalid)?;
        let p = match &new.provider {
            Some(p) => provider::lookup(p).map_err(Error::Invalid)?,
            None => provider::infer(&secret.value).ok_or_else(|| {
                Error::Invalid(
                    "no provider given and none can be told from the key; give its provider (or custom)"
                        .into(),
                )
            })?,
        };
        if p.id == "aws" && !secret.field("access_key_id").is_some_and(aws_access_key_id) {
            return Err(Error::KeyFormat(
                "an AWS entry needs an access_key_id field of 20 characters starting AKIA or ASIA"
                    .into(),
            ));
        }
        Self::check_secret(p.id, secret, false)?;
        if let Some(d) = &new.expires_at {
            validate_date(d).map_err(Error::Invalid)?;
        }
        Ok(())
    }

    /// The key an item would rotate `entry` to: the file's key, with the stored extra
    /// fields when the file gives none.
    fn rotation_secret(&self, entry: &Entry, new: &Secret) -> Result<Secret> {
        let mut secret = new.clone();
        trim_in_place(&mut secret.value);
        if secret.fields.is_empty() {
            secret.fields = self.secret(entry)?.fields.clone();
        }
        Ok(secret)
    }

    /// Decides what importing `items` would do, one outcome per item. Writes nothing.
    ///
    /// An entry whose name exists with the same key is skipped; with another key it
    /// is a conflict, settled by `on_conflict`. An item whose name was derived is also
    /// skipped when an entry of another name holds its key. Names given twice, empty
    /// keys and keys that do not match their provider's format fail.
    pub fn plan_import(
        &self,
        items: &[ImportItem],
        on_conflict: OnConflict,
    ) -> Result<Vec<ImportOutcome>> {
        self.plan_import_with(items, on_conflict, &mut super::no_progress)
    }

    /// [`Vault::plan_import`], telling `progress` ([`Stage::Checking`]) item by item.
    fn plan_import_with(
        &self,
        items: &[ImportItem],
        on_conflict: OnConflict,
        progress: &mut Progress<'_>,
    ) -> Result<Vec<ImportOutcome>> {
        let total = items.len();
        let by_key: HashMap<Vec<u8>, String> =
            if items.iter().any(|i| i.derived_name) && !self.is_empty() {
                self.list()?
                    .into_iter()
                    .map(|e| (e.meta.fingerprint, e.meta.name))
                    .collect()
            } else {
                HashMap::new()
            };
        let mut first_line: HashMap<&str, usize> = HashMap::new();
        let mut out = Vec::with_capacity(items.len());
        for (done, item) in items.iter().enumerate() {
            progress(Stage::Checking, done, total);
            let new = &item.entry;
            let name = new.name.as_str();
            if let Some(first) = first_line.get(name) {
                out.push(ImportOutcome::Failed(format!(
                    "the name {name} is given twice (first on line {first})"
                )));
                continue;
            }
            first_line.insert(name, item.line);
            let mut secret = new.secret.clone();
            trim_in_place(&mut secret.value);
            if secret.value.is_empty() {
                out.push(ImportOutcome::Failed("the key is empty".into()));
                continue;
            }
            let fingerprint = self.sealer.fingerprint(secret.value.as_bytes()).to_vec();
            let elsewhere = by_key
                .get(&fingerprint)
                .filter(|other| item.derived_name && other.as_str() != name);
            let existing = match validate_name(name) {
                Ok(()) => self.find_id(name)?.map(|_| self.entry(name)).transpose()?,
                Err(_) => None,
            };
            let outcome = match existing {
                Some(entry) if entry.meta.fingerprint == fingerprint => ImportOutcome::Skipped {
                    reason: "already in the vault with the same key".into(),
                    present: true,
                },
                _ if elsewhere.is_some() => ImportOutcome::Skipped {
                    reason: format!(
                        "already in the vault as {}",
                        elsewhere.map_or("", String::as_str)
                    ),
                    present: true,
                },
                Some(entry) => self.plan_conflict(&entry, &secret, &fingerprint, on_conflict)?,
                None => match Self::check_new(new, &secret) {
                    Ok(()) => ImportOutcome::Imported,
                    Err(e) => ImportOutcome::Failed(reason(e)),
                },
            };
            out.push(outcome);
        }
        progress(Stage::Checking, total, total);
        Ok(out)
    }

    /// What to do with an entry whose name is taken by `entry`, holding another key.
    fn plan_conflict(
        &self,
        entry: &Entry,
        secret: &Secret,
        fingerprint: &[u8],
        on_conflict: OnConflict,
    ) -> Result<ImportOutcome> {
        let name = &entry.meta.name;
        let versions = self.versions_of(entry)?;
        if let Some(v) = versions.iter().find(|v| v.fingerprint == fingerprint) {
            let what = format!(
                "the file holds an earlier key of {name} (version {}, {}); the vault's is newer",
                v.info.version, v.info.status
            );
            return Ok(match on_conflict {
                OnConflict::Fail => ImportOutcome::Failed(what),
                OnConflict::Skip | OnConflict::Rotate => ImportOutcome::Skipped {
                    reason: what,
                    present: false,
                },
            });
        }
        Ok(match on_conflict {
            OnConflict::Skip => ImportOutcome::Skipped {
                reason: format!(
                    "{name} holds a different key; left as it is (--on-conflict rotate replaces it)"
                ),
                present: false,
            },
            OnConflict::Fail => {
                ImportOutcome::Failed(format!("{name} holds a different key (--on-conflict fail)"))
            }
            OnConflict::Rotate => {
                let new = self.rotation_secret(entry, secret)?;
                match self.refuse_rotation(entry, &versions, &new, false) {
                    Ok(_) => ImportOutcome::Updated,
                    Err(e) => ImportOutcome::Failed(reason(e)),
                }
            }
        })
    }

    /// Imports `items` in ONE transaction: the new entries, the rotations (with
    /// `--on-conflict rotate`) and one `import` audit event ("N imported, M updated").
    /// Nothing is written in a dry run, when there is nothing to change, or when an
    /// item fails and `skip_invalid` is off; with `skip_invalid` the valid ones are
    /// written. The report gives every item's outcome either way.
    pub fn import_batch(
        &mut self,
        items: Vec<ImportItem>,
        opts: ImportOptions,
    ) -> Result<ImportReport> {
        self.import_batch_with_progress(items, opts, &mut super::no_progress)
    }

    /// [`Vault::import_batch`], telling `progress` how far it is: every item is
    /// checked ([`Stage::Checking`]), then, when something is written, every item is
    /// staged ([`Stage::Sealing`]; skipped and failed ones count as done at once).
    pub fn import_batch_with_progress(
        &mut self,
        items: Vec<ImportItem>,
        opts: ImportOptions,
        progress: &mut Progress<'_>,
    ) -> Result<ImportReport> {
        let total = items.len();
        let outcomes = self.plan_import_with(&items, opts.on_conflict, progress)?;
        let failed = outcomes
            .iter()
            .any(|o| matches!(o, ImportOutcome::Failed(_)));
        let changes = outcomes
            .iter()
            .any(|o| matches!(o, ImportOutcome::Imported | ImportOutcome::Updated));
        if opts.dry_run || (failed && !opts.skip_invalid) || !changes {
            return Ok(ImportReport {
                outcomes,
                written: false,
                demoted: Vec::new(),
            });
        }
        let mut batch = Batch::default();
        let mut added: Vec<Entry> = Vec::new();
        let mut rotated: Vec<Entry> = Vec::new();
        for (done, (item, outcome)) in items.into_iter().zip(&outcomes).enumerate() {
            progress(Stage::Sealing, done, total);
            match outcome {
                ImportOutcome::Imported => {
                    let mut new = item.entry;
                    new.force = false;
                    added.push(self.stage_new(&mut batch, new)?);
                }
                ImportOutcome::Updated => {
                    let mut entry = self.entry(&item.entry.name)?;
                    let secret = self.rotation_secret(&entry, &item.entry.secret)?;
                    let versions = self.versions_of(&entry)?;
                    let fingerprint = self.refuse_rotation(&entry, &versions, &secret, false)?;
                    self.stage_new_version(
                        &mut batch,
                        &mut entry,
                        &versions,
                        &secret,
                        fingerprint,
                        opts.grace_days,
                        "replaced by an import",
                    )?;
                    entry.meta.last_error = None;
                    entry.meta.error_count = 0;
                    rotated.push(entry);
                }
                ImportOutcome::Skipped { .. } | ImportOutcome::Failed(_) => {}
            }
        }
        progress(Stage::Sealing, total, total);
        let mut demoted = Vec::new();
        if added.iter().any(|e| e.meta.primary) {
            // Existing primaries of the same provider and environment step down; the
            // rotated entries take part as they will be written.
            let mut others = self.list()?;
            for o in &mut others {
                if let Some(r) = rotated.iter().find(|r| r.id == o.id) {
                    *o = r.clone();
                }
            }
            demoted = self.demote_among(&mut batch, others, &added);
            // Within the file, a later primary beats an earlier one.
            for i in 0..added.len() {
                let (earlier, later) = added.split_at_mut(i + 1);
                let e = &mut earlier[i];
                if e.meta.primary
                    && later.iter().any(|w| {
                        w.meta.primary
                            && w.meta.provider == e.meta.provider
                            && w.meta.environment == e.meta.environment
                    })
                {
                    e.meta.primary = false;
                    demoted.push(e.meta.name.clone());
                }
            }
        }
        let demoted_set: HashSet<&String> = demoted.iter().collect();
        for entry in &mut rotated {
            // A demoted one was written with its new metadata by the demotion.
            if !demoted_set.contains(&entry.meta.name) {
                self.put_meta(&mut batch, entry);
            }
        }
        for entry in &mut added {
            self.put_meta(&mut batch, entry);
            batch.put(
                Tree::Names,
                self.sealer.index_tag(&entry.meta.name),
                entry.id.0,
            );
        }
        let detail = format!("{} imported, {} updated", added.len(), rotated.len());
        self.push_event(&mut batch, Action::Import, None, &detail)?;
        self.commit(batch)?;
        Ok(ImportReport {
            outcomes,
            written: true,
            demoted,
        })
    }

    /// Records that `count` secrets were exported in plaintext (`detail`: the format
    /// and where to), as one `export` audit event.
    pub fn record_export(&mut self, count: usize, detail: &str) -> Result<()> {
        let noun = if count == 1 { "entry" } else { "entries" };
        let text = if detail.is_empty() {
            format!("{count} {noun}")
        } else {
            format!("{count} {noun}, {detail}")
        };
        let mut batch = Batch::default();
        self.push_event(&mut batch, Action::Export, None, &text)?;
        self.commit(batch)
    }
}
