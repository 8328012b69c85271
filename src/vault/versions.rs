//! Secret versions: rotation with a grace period, history, rollback, revocation, and
//! the record of live checks.

use serde::{Deserialize, Serialize};

use super::{Field, Vault, now, trim_in_place};
use crate::clock::{DAY, date_of};
use crate::error::{Error, Result};
use crate::model::{Action, CheckResult, Entry, EntryId, Secret, VersionInfo, VersionStatus};
use crate::store::{Batch, Tree};

/// An earlier version: what `history` shows, plus its fingerprint and (unless
/// revoked) its secret.
#[derive(Serialize, Deserialize)]
pub(super) struct VersionRecord {
    pub(super) info: VersionInfo,
    pub(super) fingerprint: Vec<u8>,
    pub(super) secret: Option<Secret>,
}

/// The sled key of version `n` of entry `id`.
pub(super) fn version_key(id: &EntryId, n: u32) -> Vec<u8> {
    let mut k = id.0.to_vec();
    k.extend_from_slice(&n.to_be_bytes());
    k
}

impl Vault {
    /// Earlier versions of `entry`, newest first.
    pub(super) fn versions_of(&self, entry: &Entry) -> Result<Vec<VersionRecord>> {
        let mut out = Vec::new();
        self.store
            .for_each_prefix(Tree::Versions, &entry.id.0, |_, v| {
                let (_, plain) = self.open_record(&entry.id, Field::Version, v)?;
                let record: VersionRecord = postcard::from_bytes(&plain[1..]).map_err(|_| {
                    Error::Corrupt(format!("a version of {} does not decode", entry.id))
                })?;
                out.push(record);
                Ok(())
            })?;
        out.sort_by_key(|r| std::cmp::Reverse(r.info.version));
        Ok(out)
    }

    pub(super) fn put_version(&mut self, batch: &mut Batch, id: &EntryId, record: &VersionRecord) {
        let size = record.secret.as_ref().map_or(0, |s| s.value.len() + 64);
        let plain = Self::encode(record, size);
        let n = record.info.version;
        let sealed = self.seal_record(id, Field::Version, u64::from(n), &plain);
        batch.put(Tree::Versions, version_key(id, n), sealed);
    }

    /// The current version as `history` shows it.
    fn current_info(entry: &Entry) -> VersionInfo {
        let m = &entry.meta;
        VersionInfo {
            version: m.version,
            status: VersionStatus::Current,
            masked: m.masked.clone(),
            created_at: m.rotated_at.unwrap_or(m.created_at),
            retired_at: None,
            grace_until: None,
            revoked_at: None,
            source: m.version_source.clone(),
            reason: String::new(),
        }
    }

    /// Every version of `name`, current first, then newest to oldest.
    pub fn history(&self, name: &str) -> Result<Vec<VersionInfo>> {
        let entry = self.entry(name)?;
        let mut out = vec![Self::current_info(&entry)];
        out.extend(self.versions_of(&entry)?.into_iter().map(|r| r.info));
        Ok(out)
    }

    /// Retires the current secret of `entry` into `batch` (readable until `grace_days`
    /// from now) and returns its record.
    fn retire_current(
        &mut self,
        batch: &mut Batch,
        entry: &Entry,
        grace_days: u32,
        reason: &str,
    ) -> Result<()> {
        let t = now();
        let secret = self.secret(entry)?;
        let mut info = Self::current_info(entry);
        info.status = VersionStatus::Retired;
        info.retired_at = Some(t);
        info.grace_until = Some(t + i64::from(grace_days) * DAY);
        info.reason = reason.to_string();
        let record = VersionRecord {
            info,
            fingerprint: entry.meta.fingerprint.clone(),
            secret: Some(secret),
        };
        self.put_version(batch, &entry.id, &record);
        Ok(())
    }

    pub(super) fn secret_rev(&self, id: &EntryId) -> Result<u64> {
        Ok(self
            .store
            .get(Tree::Secret, &id.0)?
            .and_then(|r| {
                r.get(..8)
                    .and_then(|b| b.try_into().ok())
                    .map(u64::from_be_bytes)
            })
            .unwrap_or(0))
    }

    /// Makes `new` the current secret of `name`. The old one is retired and stays
    /// readable (`get --version`) for `grace_days`. Refused when `new` equals the current
    /// secret or a kept version, or (unless `force`) does not match the provider's format.
    pub fn rotate(
        &mut self,
        name: &str,
        mut new: Secret,
        grace_days: u32,
        reason: &str,
        force: bool,
    ) -> Result<Entry> {
        let mut entry = self.entry(name)?;
        trim_in_place(&mut new.value);
        if new.fields.is_empty() {
            new.fields = self.secret(&entry)?.fields.clone();
        }
        let versions = self.versions_of(&entry)?;
        let fingerprint = self.refuse_rotation(&entry, &versions, &new, force)?;
        let mut batch = Batch::default();
        let (old_version, next) = self.stage_new_version(
            &mut batch,
            &mut entry,
            &versions,
            &new,
            fingerprint,
            grace_days,
            reason,
        )?;
        entry.meta.last_error = None;
        entry.meta.error_count = 0;
        self.put_meta(&mut batch, &mut entry);
        let detail = if reason.is_empty() {
            format!("version {old_version} -> {next}")
        } else {
            format!("version {old_version} -> {next} ({reason})")
        };
        self.push_event(&mut batch, Action::Rotate, Some(&entry), &detail)?;
        self.commit(batch)?;
        Ok(entry)
    }

    /// Stages `new` as the next version of `entry` into `batch`: the current key is
    /// retired (readable for `grace_days`), the oldest versions beyond the number kept
    /// are dropped, and the metadata says which version is current. Returns the old
    /// and new version numbers. The caller writes the metadata.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn stage_new_version(
        &mut self,
        batch: &mut Batch,
        entry: &mut Entry,
        versions: &[VersionRecord],
        new: &Secret,
        fingerprint: Vec<u8>,
        grace_days: u32,
        reason: &str,
    ) -> Result<(u32, u32)> {
        self.retire_current(batch, entry, grace_days, reason)?;
        let old_version = entry.meta.version;
        let next = versions
            .iter()
            .map(|v| v.info.version)
            .chain([old_version])
            .max()
            .unwrap_or(0)
            + 1;
        let rev = self.secret_rev(&entry.id)? + 1;
        self.put_secret(batch, &entry.id, rev, new);
        let t = now();
        let m = &mut entry.meta;
        m.version = next;
        m.version_source = self.source.as_str().to_string();
        m.fingerprint = fingerprint;
        m.field_names = new.fields.iter().map(|(n, _)| n.clone()).collect();
        m.masked = Self::masked(m, new);
        m.rotated_at = Some(t);
        m.updated_at = t;
        // The retired version joins the kept ones: drop the oldest beyond the limit.
        for old in versions.iter().skip(self.versions_kept.saturating_sub(1)) {
            batch.remove(Tree::Versions, version_key(&entry.id, old.info.version));
        }
        Ok((old_version, next))
    }

    /// Why `new` cannot replace the key of `entry`, if it cannot: a wrong format (unless
    /// `force`), the current key, or a kept version. Returns the new key's fingerprint.
    pub(super) fn refuse_rotation(
        &self,
        entry: &Entry,
        versions: &[VersionRecord],
        new: &Secret,
        force: bool,
    ) -> Result<Vec<u8>> {
        let name = &entry.meta.name;
        Self::check_secret(&entry.meta.provider, new, force)?;
        let fingerprint = self
            .sealer
            .fingerprint(new.value.trim().as_bytes())
            .to_vec();
        if fingerprint == entry.meta.fingerprint {
            return Err(Error::Invalid(format!(
                "the new key is the current key of {name}; paste the new one"
            )));
        }
        if let Some(v) = versions.iter().find(|v| v.fingerprint == fingerprint) {
            return Err(Error::Invalid(format!(
                "the new key equals version {} of {name} ({}); paste a new key",
                v.info.version, v.info.status
            )));
        }
        Ok(fingerprint)
    }

    /// Checks that `new` could replace the key of `name` (the wizard asks before its
    /// last step); writes nothing.
    pub fn check_rotation(&self, name: &str, new: &Secret, force: bool) -> Result<()> {
        let entry = self.entry(name)?;
        let versions = self.versions_of(&entry)?;
        self.refuse_rotation(&entry, &versions, new, force)
            .map(|_| ())
    }

    /// Version `n` of `name`'s secret: the current one, or a retired one within its
    /// grace period. Records a `get` event.
    pub fn get_version(&mut self, name: &str, n: u32) -> Result<(Entry, Secret)> {
        let entry = self.entry(name)?;
        if n == entry.meta.version {
            return self.use_secret(name);
        }
        let versions = self.versions_of(&entry)?;
        let Some(v) = versions.into_iter().find(|v| v.info.version == n) else {
            return Err(Error::Invalid(format!(
                "{name} has no version {n}; see `keyward history {name}`"
            )));
        };
        let secret = match (v.info.status, v.secret) {
            (VersionStatus::Revoked, _) | (_, None) => {
                return Err(Error::Invalid(format!(
                    "version {n} of {name} is revoked; it can never be read again"
                )));
            }
            (_, Some(s)) => s,
        };
        if let Some(until) = v.info.grace_until
            && now() >= until
        {
            return Err(Error::Invalid(format!(
                "version {n} of {name} is past its grace period (ended {}); `keyward rollback {name} --to {n}` can make it current again",
                date_of(until)
            )));
        }
        let entry = self.record_use(name, Action::Get, &format!("version {n}"))?;
        Ok((entry, secret))
    }

    /// Makes a kept, unrevoked version current again (the newest retired one unless
    /// `to` names one); the current one is retired with `grace_days`.
    pub fn rollback(&mut self, name: &str, to: Option<u32>, grace_days: u32) -> Result<Entry> {
        let mut entry = self.entry(name)?;
        let versions = self.versions_of(&entry)?;
        let target = match to {
            Some(n) if n == entry.meta.version => {
                return Err(Error::Invalid(format!("version {n} is already current")));
            }
            Some(n) => versions
                .iter()
                .find(|v| v.info.version == n)
                .ok_or_else(|| {
                    Error::Invalid(format!(
                        "{name} has no kept version {n}; see `keyward history {name}`"
                    ))
                })?,
            None => versions
                .iter()
                .find(|v| v.info.status == VersionStatus::Retired)
                .ok_or_else(|| {
                    Error::Invalid(format!("{name} has no earlier version to roll back to"))
                })?,
        };
        let Some(secret) = target
            .secret
            .clone()
            .filter(|_| target.info.status != VersionStatus::Revoked)
        else {
            return Err(Error::Invalid(format!(
                "version {} of {name} is revoked; it can never be current again",
                target.info.version
            )));
        };
        let n = target.info.version;
        let from = entry.meta.version;
        let mut batch = Batch::default();
        self.retire_current(
            &mut batch,
            &entry,
            grace_days,
            &format!("rolled back to version {n}"),
        )?;
        batch.remove(Tree::Versions, version_key(&entry.id, n));
        let rev = self.secret_rev(&entry.id)? + 1;
        self.put_secret(&mut batch, &entry.id, rev, &secret);
        let t = now();
        let m = &mut entry.meta;
        m.version = n;
        m.version_source = target.info.source.clone();
        m.fingerprint = target.fingerprint.clone();
        m.field_names = secret.fields.iter().map(|(f, _)| f.clone()).collect();
        m.masked = target.info.masked.clone();
        m.rotated_at = Some(t);
        m.updated_at = t;
        self.put_meta(&mut batch, &mut entry);
        self.push_event(
            &mut batch,
            Action::Rollback,
            Some(&entry),
            &format!("version {from} -> {n}"),
        )?;
        self.commit(batch)?;
        Ok(entry)
    }

    /// Marks version `n` of `name` revoked (compromised): its secret is erased for good.
    pub fn revoke(&mut self, name: &str, n: u32) -> Result<VersionInfo> {
        let entry = self.entry(name)?;
        if n == entry.meta.version {
            return Err(Error::Invalid(format!(
                "version {n} is the current key of {name}; rotate to a new key first, then revoke it"
            )));
        }
        let versions = self.versions_of(&entry)?;
        let Some(mut v) = versions.into_iter().find(|v| v.info.version == n) else {
            return Err(Error::Invalid(format!(
                "{name} has no kept version {n}; see `keyward history {name}`"
            )));
        };
        if v.info.status == VersionStatus::Revoked {
            return Ok(v.info);
        }
        v.info.status = VersionStatus::Revoked;
        v.info.revoked_at = Some(now());
        v.secret = None; // dropped, and zeroized as it drops
        let mut batch = Batch::default();
        self.put_version(&mut batch, &entry.id, &v);
        self.push_event(
            &mut batch,
            Action::Revoke,
            Some(&entry),
            &format!("version {n}"),
        )?;
        self.commit(batch)?;
        Ok(v.info)
    }

    /// Records a live check of `name`: a rejection becomes its last error (error count
    /// up), a valid answer clears them, an inconclusive one changes neither.
    pub fn record_check(&mut self, name: &str, result: &CheckResult) -> Result<Entry> {
        let mut entry = self.entry(name)?;
        let t = now();
        // The detail names the outcome once (check summaries already start with it).
        let named = |kind: &str, s: &str, words: &[&str]| {
            if words.iter().any(|w| s.starts_with(w)) {
                s.to_string()
            } else {
                format!("{kind}: {s}")
            }
        };
        let detail = match result {
            CheckResult::Valid(s) => {
                entry.meta.last_error = None;
                entry.meta.error_count = 0;
                named("valid", s, &["valid"])
            }
            CheckResult::Rejected(s) => {
                entry.meta.last_error = Some(s.clone());
                entry.meta.error_count += 1;
                named("rejected", s, &["rejected"])
            }
            CheckResult::Inconclusive(s) => named(
                "inconclusive",
                s,
                &["inconclusive", "unreachable", "unexpected", "check failed"],
            ),
        };
        entry.meta.last_checked_at = Some(t);
        let mut batch = Batch::default();
        self.put_meta(&mut batch, &mut entry);
        self.push_event(&mut batch, Action::Test, Some(&entry), &detail)?;
        self.commit(batch)?;
        Ok(entry)
    }
}
