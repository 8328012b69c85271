//! Backup bundles of the whole vault (`keyward backup`, `keyward restore`): every
//! entry with its metadata, its secret and its kept versions, and the audit log, in one
//! file sealed under a passphrase of its own ([`crate::crypto::bundle`]; the layout is
//! in docs/FORMAT.md, section 9).
//!
//! A restore is one transaction. With `replace`, every entry of the vault (and its
//! versions) is removed and the bundle's are put in their place; otherwise (merge) a
//! bundle entry is added when its name is free, skipped when the name holds the same
//! secret, and reported as a conflict (and skipped) when it holds another one.
//! Restored entries keep their metadata (dates, use counts, errors) and their versions,
//! re-sealed under this vault's keys with new ids; fingerprints are recomputed with
//! this vault's fingerprint key. A revoked version has no secret left to recompute its
//! fingerprint from, and the bundle does not carry the other vault's fingerprints (they
//! could not be compared here), so a restored revoked version has none: reusing that
//! key is no longer refused. The bundle's audit log is restored (re-chained under this
//! vault's audit key) only by a replace into a vault whose log is empty; every restore
//! then records one `import` event.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::versions::VersionRecord;
use super::{Field, NO_ENTRY, Passphrase, Progress, Stage, Vault, now};
use crate::crypto::KdfParams;
use crate::crypto::bundle::{self as sealed, BundleError};
use crate::error::{Error, Result};
use crate::model::entry::validate_name;
use crate::model::{Action, AuditEvent, Entry, EntryId, EntryMeta, Secret, VersionInfo};
use crate::store::{Batch, Tree};

/// Schema byte in front of the bundle's plaintext.
const BODY_SCHEMA: u8 = 1;

/// A bundle's plaintext (after the schema byte), postcard-encoded.
#[derive(Serialize, Deserialize)]
struct Body {
    /// When the backup was made (Unix seconds).
    created_at: i64,
    /// Every entry, in the order of their ids in the vault backed up.
    entries: Vec<BundleEntry>,
    /// The audit log, oldest first.
    audit: Vec<AuditEvent>,
}

#[derive(Serialize, Deserialize)]
struct BundleEntry {
    /// The entry's id in the vault backed up (to follow it through the audit log).
    id: EntryId,
    /// Its metadata, with `fingerprint` empty.
    meta: EntryMeta,
    /// Its current secret.
    secret: Secret,
    /// Its kept versions, newest first.
    versions: Vec<BundleVersion>,
}

#[derive(Serialize, Deserialize)]
struct BundleVersion {
    info: VersionInfo,
    /// `None` for a revoked version.
    secret: Option<Secret>,
}

/// The audit tree's record exactly as `audit.rs` writes it (`AuditRecord`: the event,
/// then the link); postcard has no field names, so the same fields in the same order
/// give the same bytes.
#[derive(Serialize)]
struct ChainRecord<'a> {
    event: &'a AuditEvent,
    link: [u8; 32],
}

/// A bundle opened with its passphrase and checked, ready to restore.
pub struct Bundle {
    body: Body,
}

impl std::fmt::Debug for Bundle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bundle")
            .field("entries", &self.body.entries.len())
            .finish_non_exhaustive()
    }
}

impl Bundle {
    /// Number of entries in the bundle.
    pub fn len(&self) -> usize {
        self.body.entries.len()
    }

    /// True when the bundle holds no entry.
    pub fn is_empty(&self) -> bool {
        self.body.entries.is_empty()
    }

    /// When the backup was made (Unix seconds).
    pub fn created_at(&self) -> i64 {
        self.body.created_at
    }
}

/// What `backup` wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupReport {
    /// Entries in the bundle.
    pub entries: usize,
    /// Kept (earlier) versions in the bundle.
    pub versions: usize,
    /// Audit events in the bundle.
    pub events: usize,
    /// Size of the bundle file in bytes.
    pub bytes: usize,
}

/// What `restore` did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RestoreReport {
    /// True for a replace, false for a merge.
    pub replace: bool,
    /// Entries of the vault removed by a replace.
    pub removed: usize,
    /// Names of the entries restored.
    pub restored: Vec<String>,
    /// Merge: names already here with the same secret (skipped).
    pub unchanged: Vec<String>,
    /// Merge: names already here with another secret (skipped, left as they were).
    pub conflicts: Vec<String>,
    /// Merge: restored entries that were primary in the bundle and are not here,
    /// because an entry of this vault is primary for their provider and environment.
    pub not_primary: Vec<String>,
    /// Audit events carried over from the bundle (a replace into an empty log).
    pub events_restored: usize,
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// `path` with `.tmp` appended to its file name.
fn tmp_path(path: &Path) -> PathBuf {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    PathBuf::from(tmp)
}

/// Writes `bytes` to `path` atomically with mode 0600: a new `path.tmp` (a stale one is
/// removed first; never followed if it is a link), fsync, rename over `path`, fsync the
/// directory. On failure `path` is as it was and `path.tmp` is removed.
fn write_private_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = tmp_path(path);
    let io = |what: &str, p: &Path, e| Error::io(format!("cannot {what} {}", p.display()), e);
    match std::fs::remove_file(&tmp) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(io("remove the stale", &tmp, e));
        }
        _ => {}
    }
    let written = (|| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(|e| io("create", &tmp, e))?;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(|e| io("set permissions on", &tmp, e))?;
        file.write_all(bytes).map_err(|e| io("write", &tmp, e))?;
        file.sync_all().map_err(|e| io("flush", &tmp, e))?;
        std::fs::rename(&tmp, path).map_err(|e| io("replace", path, e))
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io("flush the directory", dir, e))
}

/// Encodes `body` behind the schema byte into a buffer sized once (never reallocated,
/// so no copy of a secret is left behind) and zeroized on drop.
fn encode_body(body: &Body) -> Result<Zeroizing<Vec<u8>>> {
    let fail = |_| Error::Storage("cannot encode the backup".into());
    let size: usize = postcard::serialize_with_flavor(body, postcard::ser_flavors::Size::default())
        .map_err(fail)?;
    let mut buf = Zeroizing::new(Vec::with_capacity(size + 1));
    buf.push(BODY_SCHEMA);
    let out = postcard::to_extend(body, std::mem::take(&mut *buf)).map_err(fail)?;
    Ok(Zeroizing::new(out))
}

/// Checks what the format cannot: valid, unique names; version numbers unique per
/// entry and other than the current one.
fn check_body(body: &Body) -> std::result::Result<(), BundleError> {
    let damaged = |why: String| Err(BundleError::Damaged(why));
    let mut names = HashSet::new();
    for e in &body.entries {
        let name = &e.meta.name;
        if validate_name(name).is_err() {
            return damaged("it holds an invalid entry name".into());
        }
        if !names.insert(name.as_str()) {
            return damaged(format!("it holds two entries named {name}"));
        }
        let mut numbers = HashSet::new();
        for v in &e.versions {
            let n = v.info.version;
            if n == e.meta.version || !numbers.insert(n) {
                return damaged(format!("it holds version {n} of {name} twice"));
            }
        }
    }
    Ok(())
}

impl Vault {
    /// Writes the whole vault (entries, their secrets and kept versions, the audit log)
    /// to `path` as one bundle sealed under `passphrase` with Argon2id `params`; mode
    /// 0600, replaced atomically. Records an `export` event once the file is written.
    pub fn backup(
        &mut self,
        path: &Path,
        passphrase: &Passphrase,
        params: KdfParams,
    ) -> Result<BackupReport> {
        params.check_bounds()?;
        let mut entries = self.list()?;
        entries.sort_by_key(|e| e.id);
        let mut items = Vec::with_capacity(entries.len());
        let mut versions = 0;
        for entry in entries {
            let secret = self.secret(&entry)?;
            let kept: Vec<BundleVersion> = self
                .versions_of(&entry)?
                .into_iter()
                .map(|r| BundleVersion {
                    info: r.info,
                    secret: r.secret,
                })
                .collect();
            versions += kept.len();
            let mut meta = entry.meta;
            // Keyed with this vault's fingerprint key: meaningless anywhere else.
            meta.fingerprint = Vec::new();
            items.push(BundleEntry {
                id: entry.id,
                meta,
                secret,
                versions: kept,
            });
        }
        let audit = self.audit(None, None)?;
        let body = Body {
            created_at: now(),
            entries: items,
            audit,
        };
        let plain = encode_body(&body)?;
        let report = BackupReport {
            entries: body.entries.len(),
            versions,
            events: body.audit.len(),
            bytes: 0,
        };
        drop(body);
        let bytes = sealed::seal(passphrase.bytes(), &params, &plain)?;
        drop(plain);
        write_private_atomic(path, &bytes)?;
        let mut batch = Batch::default();
        let detail = format!(
            "backup to {} ({})",
            path.display(),
            plural(report.entries, "entry", "entries")
        );
        self.push_event(&mut batch, Action::Export, None, &detail)?;
        self.commit(batch)?;
        Ok(BackupReport {
            bytes: bytes.len(),
            ..report
        })
    }

    /// Opens a bundle with its passphrase and checks its contents. Needs no vault and
    /// changes nothing: a wrong passphrase or a damaged bundle is refused here.
    pub fn read_bundle(
        bytes: &[u8],
        passphrase: &Passphrase,
    ) -> std::result::Result<Bundle, BundleError> {
        let plain = sealed::open(bytes, passphrase.bytes())?;
        match plain.first() {
            Some(&BODY_SCHEMA) => {}
            Some(n) => {
                return Err(BundleError::Unsupported(format!(
                    "holds contents of schema {n}, newer than this keyward; upgrade keyward"
                )));
            }
            None => return Err(BundleError::Damaged("its contents are empty".into())),
        }
        let body: Body = postcard::from_bytes(&plain[1..])
            .map_err(|_| BundleError::Damaged("its contents do not decode".into()))?;
        check_body(&body)?;
        Ok(Bundle { body })
    }

    /// Restores `bundle` in one transaction: with `replace`, instead of every entry of
    /// the vault; otherwise merged (see the module's documentation). Records one
    /// `import` event, after the bundle's audit log when that is carried over.
    pub fn restore(&mut self, bundle: Bundle, replace: bool) -> Result<RestoreReport> {
        self.restore_with_progress(bundle, replace, &mut super::no_progress)
    }

    /// [`Vault::restore`], telling `progress` ([`Stage::Sealing`]) entry by entry of
    /// the bundle (skipped ones count as done at once).
    pub fn restore_with_progress(
        &mut self,
        bundle: Bundle,
        replace: bool,
        progress: &mut Progress<'_>,
    ) -> Result<RestoreReport> {
        match self.stage_restore(bundle, replace, progress) {
            Ok((batch, report)) => {
                self.commit(batch)?;
                Ok(report)
            }
            Err(e) => {
                // Nothing was written: the staged events must not become the head.
                self.audit_pending = None;
                Err(e)
            }
        }
    }

    fn stage_restore(
        &mut self,
        bundle: Bundle,
        replace: bool,
        progress: &mut Progress<'_>,
    ) -> Result<(Batch, RestoreReport)> {
        let Body { entries, audit, .. } = bundle.body;
        let mut batch = Batch::default();
        let mut report = RestoreReport {
            replace,
            ..Default::default()
        };
        let log_was_empty = self.audit_head.0 == 0 && self.store.is_empty(Tree::Audit);
        let existing = self.list()?;
        let mut kept_primaries = HashSet::new();
        if replace {
            report.removed = existing.len();
            for tree in [Tree::Meta, Tree::Secret, Tree::Names, Tree::Versions] {
                self.store.for_each(tree, |k, _| {
                    batch.remove(tree, k.to_vec());
                    Ok(())
                })?;
            }
        } else {
            for e in existing.iter().filter(|e| e.meta.primary) {
                kept_primaries.insert((e.meta.provider.clone(), e.meta.environment.clone()));
            }
        }
        let mut ids = HashMap::new();
        let total = entries.len();
        for (done, item) in entries.into_iter().enumerate() {
            progress(Stage::Sealing, done, total);
            let name = item.meta.name.clone();
            if !replace && self.find_id(&name)?.is_some() {
                let here = self.entry(&name)?;
                if self.secret(&here)? == item.secret {
                    report.unchanged.push(name);
                } else {
                    report.conflicts.push(name);
                }
                continue;
            }
            let id = EntryId::new(self.next_id);
            self.next_id += 1;
            let mut meta = item.meta;
            meta.fingerprint = self
                .sealer
                .fingerprint(item.secret.value.as_bytes())
                .to_vec();
            if meta.primary
                && kept_primaries.contains(&(meta.provider.clone(), meta.environment.clone()))
            {
                meta.primary = false;
                report.not_primary.push(name.clone());
            }
            self.put_secret(&mut batch, &id, 1, &item.secret);
            for v in item.versions {
                let fingerprint = v
                    .secret
                    .as_ref()
                    .map(|s| self.sealer.fingerprint(s.value.as_bytes()).to_vec())
                    .unwrap_or_default();
                let record = VersionRecord {
                    info: v.info,
                    fingerprint,
                    secret: v.secret,
                };
                self.put_version(&mut batch, &id, &record);
            }
            let mut entry = Entry { id, meta, rev: 0 };
            self.put_meta(&mut batch, &mut entry);
            batch.put(Tree::Names, self.sealer.index_tag(&name), id.0);
            ids.insert(item.id, id);
            report.restored.push(name);
        }
        progress(Stage::Sealing, total, total);
        if replace && log_was_empty {
            report.events_restored = audit.len();
            self.stage_events(&mut batch, audit, &ids)?;
        }
        let restored = plural(report.restored.len(), "entry", "entries");
        let detail = if replace {
            let mut d = format!(
                "restored {restored} from a backup (replace: {} removed",
                report.removed
            );
            if report.events_restored > 0 {
                d.push_str(&format!(
                    "; {} carried over",
                    plural(report.events_restored, "audit event", "audit events")
                ));
            }
            d + ")"
        } else {
            format!(
                "restored {restored} from a backup (merge: {} already here, {})",
                report.unchanged.len(),
                plural(report.conflicts.len(), "conflict", "conflicts")
            )
        };
        self.push_event(&mut batch, Action::Import, None, &detail)?;
        Ok((batch, report))
    }

    /// Stages `events` as the start of the (empty) audit log: numbered from 1 in their
    /// order, ids of restored entries mapped to their new ids, and chained under this
    /// vault's audit key. The caller's next `push_event` writes the head.
    fn stage_events(
        &mut self,
        batch: &mut Batch,
        events: Vec<AuditEvent>,
        ids: &HashMap<EntryId, EntryId>,
    ) -> Result<()> {
        let (mut seq, mut link) = self.audit_pending.unwrap_or(self.audit_head);
        for mut event in events {
            seq += 1;
            event.seq = seq;
            if let Some(old) = event.entry_id
                && let Some(new) = ids.get(&EntryId(old))
            {
                event.entry_id = Some(new.0);
            }
            let bytes = postcard::to_allocvec(&event)
                .map_err(|_| Error::Storage("cannot encode an audit event".into()))?;
            link = self.sealer.audit_link(&link, &bytes);
            let record = Self::encode(
                &ChainRecord {
                    event: &event,
                    link,
                },
                0,
            );
            let sealed = self.seal_record(&NO_ENTRY, Field::Audit, seq, &record);
            batch.put(Tree::Audit, seq.to_be_bytes(), sealed);
            self.audit_pending = Some((seq, link));
        }
        Ok(())
    }
}
