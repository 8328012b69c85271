//! A vault's sealed records on their own, without a database: the functions
//! [`Vault`](super::Vault) seals, opens and decodes its records with, behind a small
//! API for the fuzz target `sealed_record` (fuzz/) and the property tests
//! (tests/hostile.rs). Not a stable API.

use super::audit::AuditRecord;
use super::versions::VersionRecord;
use super::{Field, decode_meta, decode_secret, encode, open_record, seal_record};
use crate::crypto::{DataKey, Sealer};
use crate::error::{Error, Result};
use crate::model::{Entry, EntryId, Secret};

/// Which record: bound into its associated data, and what its plaintext decodes as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `meta` tree: an entry's metadata.
    Meta,
    /// `secret` tree: an entry's current secret.
    Secret,
    /// `versions` tree: an earlier version of a secret.
    Version,
    /// `audit` tree: one event of the log.
    Audit,
    /// `state/audit_head`: the last sequence number and link.
    AuditHead,
}

impl Kind {
    /// Every kind, in field order.
    pub const ALL: [Kind; 5] = [
        Kind::Meta,
        Kind::Secret,
        Kind::Version,
        Kind::Audit,
        Kind::AuditHead,
    ];

    fn field(self) -> Field {
        match self {
            Kind::Meta => Field::Meta,
            Kind::Secret => Field::Secret,
            Kind::Version => Field::Version,
            Kind::Audit => Field::Audit,
            Kind::AuditHead => Field::AuditHead,
        }
    }
}

/// Seals and opens records as the vault with `vault_id` and `data_key` does.
pub struct Codec {
    sealer: Sealer,
    vault_id: [u8; 16],
}

impl std::fmt::Debug for Codec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Codec(<redacted>)")
    }
}

impl Codec {
    /// The codec of a vault.
    pub fn new(data_key: &DataKey, vault_id: [u8; 16]) -> Self {
        Self {
            sealer: Sealer::new(data_key),
            vault_id,
        }
    }

    /// Seals a plaintext as it is (schema byte included) as a record of `kind`.
    pub fn seal_plain(&self, kind: Kind, id: &EntryId, rev: u64, plain: &[u8]) -> Vec<u8> {
        seal_record(&self.sealer, &self.vault_id, id, kind.field(), rev, plain)
    }

    /// A `meta` record of `entry` (under its id and rev), as the vault writes it.
    pub fn seal_meta(&self, entry: &Entry) -> Vec<u8> {
        let plain = encode(&entry.meta, 0);
        self.seal_plain(Kind::Meta, &entry.id, entry.rev, &plain)
    }

    /// A `secret` record, as the vault writes it.
    pub fn seal_secret(&self, id: &EntryId, rev: u64, secret: &Secret) -> Vec<u8> {
        let plain = encode(secret, secret.value.len());
        self.seal_plain(Kind::Secret, id, rev, &plain)
    }

    /// Opens and decodes a `meta` record read from disk.
    pub fn open_meta(&self, id: &EntryId, record: &[u8]) -> Result<Entry> {
        decode_meta(&self.sealer, &self.vault_id, *id, record)
    }

    /// Opens and decodes a `secret` record read from disk.
    pub fn open_secret(&self, id: &EntryId, record: &[u8]) -> Result<Secret> {
        decode_secret(&self.sealer, &self.vault_id, id, record)
    }

    /// Opens a record of `kind` and decodes its plaintext as that kind's value, as the
    /// vault does with a record it reads; returns its record version.
    pub fn open(&self, kind: Kind, id: &EntryId, record: &[u8]) -> Result<u64> {
        match kind {
            Kind::Meta => self.open_meta(id, record).map(|e| e.rev),
            Kind::Secret => {
                self.open_secret(id, record)?;
                self.opened(kind, id, record).map(|(rev, _)| rev)
            }
            Kind::Version => self.decoded::<VersionRecord>(kind, id, record, "a version"),
            Kind::Audit => self.decoded::<AuditRecord>(kind, id, record, "an audit event"),
            Kind::AuditHead => self.decoded::<(u64, [u8; 32])>(kind, id, record, "the audit head"),
        }
    }

    fn decoded<T: serde::de::DeserializeOwned>(
        &self,
        kind: Kind,
        id: &EntryId,
        record: &[u8],
        what: &str,
    ) -> Result<u64> {
        let (rev, plain) = self.opened(kind, id, record)?;
        postcard::from_bytes::<T>(&plain[1..])
            .map_err(|_| Error::Corrupt(format!("{what} does not decode")))?;
        Ok(rev)
    }

    fn opened(
        &self,
        kind: Kind,
        id: &EntryId,
        record: &[u8],
    ) -> Result<(u64, zeroize::Zeroizing<Vec<u8>>)> {
        open_record(&self.sealer, &self.vault_id, id, kind.field(), record)
    }
}
