//! The vault service: the one API the CLI and the TUI call.
//!
//! Opening reads and checks the header file, derives the wrap key and unwraps the data
//! key *before* sled is opened, so a wrong passphrase or an unknown format leaves every
//! file as it was. Every change is one [`Batch`] applied as one flushed sled transaction.

use std::path::{Path, PathBuf};

use zeroize::{Zeroize, Zeroizing};

use crate::crypto::{self, DataKey, KdfParams, Sealer, WrapKey, kdf};
use crate::error::{Error, Result};
use crate::model::entry::{validate_date, validate_name};
use crate::model::provider::{self, aws_access_key_id};
use crate::model::{
    Action, Entry, EntryId, EntryMeta, EntryPatch, NewEntry, SearchIndex, Secret, Source,
    mask_secret,
};
use crate::store::header::{FORMAT_VERSION, Header};
use crate::store::{Batch, Store, Tree, create_private_dir};

mod audit;
mod bundle;
mod import;
mod progress;
#[doc(hidden)]
pub mod records;
mod recovery;
mod versions;

pub use crate::model::CheckResult;
pub use audit::AuditCheck;
pub use progress::{Progress, Stage, no_progress};

/// A passphrase, zeroized on drop, never shown by `Debug`.
#[derive(Clone)]
pub struct Passphrase(Zeroizing<String>);

impl Passphrase {
    /// Wraps a passphrase; refuses an empty one.
    pub fn new(text: String) -> Result<Self> {
        let text = Zeroizing::new(text);
        if text.is_empty() {
            return Err(Error::Passphrase(
                "an empty passphrase is not allowed; choose a long passphrase".into(),
            ));
        }
        Ok(Self(text))
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }

    /// Length in characters (for strength hints).
    pub fn char_len(&self) -> usize {
        self.0.chars().count()
    }
}

impl std::fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Passphrase(<redacted>)")
    }
}

/// Days a key replaced through an edit stays readable (`rotate --grace` sets its own).
pub const DEFAULT_GRACE_DAYS: u32 = 7;

/// Earlier versions of a secret kept per entry unless configured otherwise.
pub const DEFAULT_VERSIONS_KEPT: usize = 10;

/// Seals under one data key before keyward makes a new one by itself. Far below
/// the 2^32 random-nonce limit of NIST SP 800-38D.
pub const REKEY_AFTER: u64 = 1 << 30;

const STATE_EPOCH: &[u8] = b"key_epoch";
const STATE_SEAL_COUNT: &[u8] = b"seal_count";
const STATE_NEXT_ID: &[u8] = b"next_id";
const STATE_AUDIT_HEAD: &[u8] = b"audit_head";
const STATE_STABLE_KEYS: &[u8] = b"stable_keys";
const STATE_AUDIT_DAMAGE: &[u8] = b"audit_damage";
/// The header salt the database knows: a header with another one is a passwd whose
/// audit event is not recorded yet (see `settle_passwd`).
const STATE_SALT: &[u8] = b"header_salt";
const AAD_LABEL: &[u8] = b"keyward-record-v1";
/// Plaintext schema of sealed metadata and secrets.
const RECORD_SCHEMA: u8 = 1;

/// Which part of an entry a sealed record holds (bound into its associated data).
#[derive(Debug, Clone, Copy)]
enum Field {
    Meta = 1,
    Secret = 2,
    Version = 3,
    Audit = 4,
    AuditHead = 5,
    StableKeys = 6,
    AuditDamage = 7,
}

/// The id used in the associated data of records that belong to no entry.
const NO_ENTRY: EntryId = EntryId([0; 16]);

/// What `add` did besides adding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Saved {
    /// The entry as stored.
    pub entry: Entry,
    /// Entries that stopped being primary because this one became primary.
    pub demoted: Vec<String>,
}

/// The agent's kept list: the store's write count when read, and the entries.
type Decoded = std::sync::Mutex<Option<Kept>>;

/// The decoded list kept by a long-lived holder: the store's write count when it was
/// read, the entries sorted by name, and their search index.
struct Kept {
    writes: u64,
    entries: Vec<Entry>,
    index: SearchIndex,
}

/// An unlocked vault.
pub struct Vault {
    dir: PathBuf,
    header: Header,
    wrap_key: WrapKey,
    sealer: Sealer,
    store: Store,
    seal_count: u64,
    next_id: u64,
    /// Where changes come from (recorded in versions and audit events).
    source: Source,
    /// Earlier secret versions kept per entry.
    versions_kept: usize,
    /// The audit chain's last event: sequence number and link.
    audit_head: (u64, [u8; 32]),
    /// The head after the events staged in the batch being built.
    audit_pending: Option<(u64, [u8; 32])>,
    /// Damage found in the audit log's head: why. Kept (sealed) once found, so
    /// `verify_audit` keeps reporting it after later events.
    audit_head_damaged: Option<String>,
    /// Every entry's decoded metadata, sorted, with the store's write count when it
    /// was read, kept by a long-lived holder (the agent) to answer `list` and
    /// `search` without decrypting again while nothing was written. Never holds a
    /// secret. `None`: every call decrypts.
    decoded: Option<Decoded>,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

fn now() -> i64 {
    crate::clock::now()
}

/// Strips surrounding whitespace without leaving an untrimmed copy behind.
fn trim_in_place(value: &mut String) {
    let trimmed = value.trim();
    if trimmed.len() != value.len() {
        let start = trimmed.as_ptr() as usize - value.as_ptr() as usize;
        let end = start + trimmed.len();
        let mut bytes = std::mem::take(value).into_bytes();
        bytes.copy_within(start..end, 0);
        bytes[end - start..].zeroize();
        bytes.truncate(end - start);
        *value = String::from_utf8(bytes).unwrap_or_default();
    }
}

/// The directory keyward uses when neither `--vault` nor `KEYWARD_VAULT` is given.
pub fn default_dir() -> Result<PathBuf> {
    directories::ProjectDirs::from("", "", "keyward")
        .map(|d| d.data_dir().join("vault"))
        .ok_or_else(|| {
            Error::Invalid(
                "cannot find a home directory for the vault; pass --vault DIR or set KEYWARD_VAULT"
                    .into(),
            )
        })
}

/// True when `dir` holds a vault header.
pub fn exists(dir: &Path) -> bool {
    Header::path(dir).exists()
}

/// A pending `header.new`, if one can be read. A torn one (a crash while it was being
/// written) is stale by definition: the change it belonged to never happened.
fn read_pending(dir: &Path) -> Option<Header> {
    Header::read(&Header::path_new(dir)).ok().flatten()
}

/// Associated data of the sealed stable keys.
fn stable_keys_aad(vault_id: &[u8; 16]) -> Vec<u8> {
    let mut aad = AAD_LABEL.to_vec();
    aad.extend_from_slice(vault_id);
    aad.extend_from_slice(&NO_ENTRY.0);
    aad.push(Field::StableKeys as u8);
    aad.extend_from_slice(&0u64.to_be_bytes());
    aad
}

fn wrong_passphrase(dir: &Path) -> Error {
    Error::WrongPassphrase {
        path: dir.to_path_buf(),
    }
}

/// Unwraps a header's data key, deriving the wrap key (reusing `cache` when the salt
/// and parameters match, so one passphrase costs one derivation).
fn unwrap_header(
    header: &Header,
    passphrase: &Passphrase,
    cache: &mut Vec<(Vec<u8>, KdfParams, WrapKey)>,
) -> Result<Option<(WrapKey, DataKey)>> {
    header.kdf.check_bounds()?;
    let wrap_key = match cache
        .iter()
        .find(|(s, p, _)| *s == header.salt && *p == header.kdf)
    {
        Some((_, _, k)) => k.clone(),
        None => {
            let k = kdf::derive(passphrase.bytes(), &header.salt, &header.kdf)?;
            cache.push((header.salt.clone(), header.kdf, k.clone()));
            k
        }
    };
    Ok(crypto::unwrap_data_key(
        &wrap_key,
        &header.aad(),
        &header.wrap_nonce,
        &header.wrapped_key,
    )
    .ok()
    .map(|dk| (wrap_key, dk)))
}

/// The associated data of a record (docs/FORMAT.md, 4.2).
fn record_aad(vault_id: &[u8; 16], id: &EntryId, field: Field, rev: u64) -> Vec<u8> {
    let mut aad = Vec::with_capacity(AAD_LABEL.len() + 16 + 16 + 1 + 8);
    aad.extend_from_slice(AAD_LABEL);
    aad.extend_from_slice(vault_id);
    aad.extend_from_slice(&id.0);
    aad.push(field as u8);
    aad.extend_from_slice(&rev.to_be_bytes());
    aad
}

/// Seals `plain` as a record: `rev (8, big-endian) || nonce || ciphertext || tag`.
fn seal_record(
    sealer: &Sealer,
    vault_id: &[u8; 16],
    id: &EntryId,
    field: Field,
    rev: u64,
    plain: &[u8],
) -> Vec<u8> {
    let mut out = rev.to_be_bytes().to_vec();
    out.extend_from_slice(&sealer.seal(&record_aad(vault_id, id, field, rev), plain));
    out
}

/// Opens a record; the plaintext it returns is not empty and starts with the schema
/// byte (checked).
fn open_record(
    sealer: &Sealer,
    vault_id: &[u8; 16],
    id: &EntryId,
    field: Field,
    record: &[u8],
) -> Result<(u64, Zeroizing<Vec<u8>>)> {
    let damaged = || Error::Corrupt(format!("record {id} failed authentication"));
    if record.len() < 8 {
        return Err(damaged());
    }
    let (rev, sealed) = record.split_at(8);
    let rev = u64::from_be_bytes(rev.try_into().map_err(|_| damaged())?);
    let plain = sealer
        .open(&record_aad(vault_id, id, field, rev), sealed)
        .map_err(|_| damaged())?;
    match plain.first() {
        Some(&RECORD_SCHEMA) => {}
        Some(n) => {
            return Err(Error::Newer(format!(
                "record {id} uses schema {n}, newer than this keyward; upgrade keyward"
            )));
        }
        None => return Err(damaged()),
    }
    Ok((rev, plain))
}

/// Opens and decodes a `meta` record.
fn decode_meta(sealer: &Sealer, vault_id: &[u8; 16], id: EntryId, record: &[u8]) -> Result<Entry> {
    let (rev, plain) = open_record(sealer, vault_id, &id, Field::Meta, record)?;
    let meta = postcard::from_bytes(&plain[1..])
        .map_err(|_| Error::Corrupt(format!("record {id} does not decode")))?;
    Ok(Entry { id, meta, rev })
}

/// Opens and decodes a `secret` record.
fn decode_secret(
    sealer: &Sealer,
    vault_id: &[u8; 16],
    id: &EntryId,
    record: &[u8],
) -> Result<Secret> {
    let (_, plain) = open_record(sealer, vault_id, id, Field::Secret, record)?;
    postcard::from_bytes(&plain[1..])
        .map_err(|_| Error::Corrupt(format!("secret of {id} does not decode")))
}

/// A record's plaintext: the schema byte, then postcard.
fn encode<T: serde::Serialize>(value: &T, size_hint: usize) -> Zeroizing<Vec<u8>> {
    // Sized up front so the buffer holding a secret is never reallocated (and copied).
    let mut buf = Zeroizing::new(Vec::with_capacity(size_hint + 256));
    buf.push(RECORD_SCHEMA);
    let out = postcard::to_extend(value, std::mem::take(&mut *buf))
        .unwrap_or_else(|_| unreachable!("postcard encodes plain structs"));
    Zeroizing::new(out)
}

impl Vault {
    /// Creates a new vault in `dir` (made 0700). Refuses a directory that has one.
    pub fn create(dir: &Path, passphrase: &Passphrase, kdf_params: KdfParams) -> Result<Self> {
        kdf_params.check_bounds()?;
        if exists(dir) {
            return Err(Error::VaultExists {
                path: dir.to_path_buf(),
            });
        }
        // The slow part first, so an interrupted init leaves nothing behind.
        let data_key = DataKey::generate();
        let mut header = Header {
            version: FORMAT_VERSION,
            vault_id: crypto::random_bytes(),
            kdf: kdf_params,
            salt: Header::new_salt(),
            key_epoch: 0,
            wrap_nonce: [0; crypto::WRAP_NONCE_LEN],
            wrapped_key: Vec::new(),
        };
        let wrap_key = kdf::derive(passphrase.bytes(), &header.salt, &header.kdf)?;
        let (nonce, wrapped) = crypto::wrap_data_key(&wrap_key, &header.aad(), &data_key);
        header.wrap_nonce = nonce;
        header.wrapped_key = wrapped;
        create_private_dir(dir)?;
        let db_dir = dir.join("db");
        let leftover = db_dir.exists();
        recovery::remove_torn_snapshots(dir);
        let mut store = Store::open(dir)?;
        if leftover {
            // A database without a header: an init that stopped before its end leaves
            // one with no entry, which is started again; one with entries is refused
            // (its records could never be opened under a new data key).
            if !store.is_empty(Tree::Meta) {
                return Err(Error::Invalid(format!(
                    "{} holds a keyward database without a header; move it away or pass --vault DIR for a new vault",
                    dir.display()
                )));
            }
            drop(store);
            std::fs::remove_dir_all(&db_dir)
                .map_err(|e| Error::io(format!("cannot remove {}", db_dir.display()), e))?;
            store = Store::open(dir)?;
        }
        let stable = crypto::StableKeys::generate();
        let mut sealer = Sealer::new(&data_key);
        sealer.set_stable_keys(&stable);
        let mut batch = Batch::default();
        let sealed_keys = sealer.seal(
            &stable_keys_aad(&header.vault_id),
            &Self::encode(&stable, 64),
        );
        batch.put(Tree::State, STATE_STABLE_KEYS, sealed_keys);
        batch.put(Tree::State, STATE_EPOCH, 0u64.to_be_bytes());
        batch.put(Tree::State, STATE_SEAL_COUNT, 0u64.to_be_bytes());
        batch.put(Tree::State, STATE_NEXT_ID, 0u64.to_be_bytes());
        batch.put(Tree::State, STATE_SALT, header.salt.to_vec());
        store.apply(&batch)?;
        // The header goes last: its presence is what makes the directory a vault.
        header.write_new(dir)?;
        Header::commit_new(dir)?;
        Ok(Self {
            dir: dir.to_path_buf(),
            sealer,
            header,
            wrap_key,
            store,
            seal_count: 0,
            next_id: 0,
            source: Source::Cli,
            versions_kept: DEFAULT_VERSIONS_KEPT,
            audit_head: (0, [0; 32]),
            audit_pending: None,
            audit_head_damaged: None,
            decoded: None,
        })
    }

    /// Opens the vault in `dir` with `passphrase`.
    pub fn open(dir: &Path, passphrase: &Passphrase) -> Result<Self> {
        let Some(header) = Header::read(&Header::path(dir))? else {
            return Err(Error::NoVault {
                path: dir.to_path_buf(),
            });
        };
        let mut cache = Vec::new();
        // Check the passphrase before sled is opened: a wrong one must change no file.
        let precheck = match unwrap_header(&header, passphrase, &mut cache)? {
            Some(found) => Some(found),
            None => match read_pending(dir) {
                Some(new) => unwrap_header(&new, passphrase, &mut cache)?,
                None => None,
            },
        };
        if precheck.is_none() {
            return Err(wrong_passphrase(dir));
        }
        if !dir.join("db").is_dir() {
            return Err(Error::Corrupt(format!(
                "the header is there but the database {} is missing",
                dir.join("db").display()
            )));
        }
        recovery::remove_torn_snapshots(dir);
        let store = Store::open(dir)?;
        let state = |key: &[u8]| -> Result<u64> {
            store
                .get(Tree::State, key)?
                .and_then(|b| <[u8; 8]>::try_from(b.as_slice()).ok())
                .map(u64::from_be_bytes)
                .ok_or_else(|| {
                    Error::Corrupt(format!(
                        "the database has no valid {} record",
                        String::from_utf8_lossy(key)
                    ))
                })
        };
        let epoch = state(STATE_EPOCH)?;
        let seal_count = state(STATE_SEAL_COUNT)?;
        let next_id = state(STATE_NEXT_ID)?;
        // Under the lock, settle an interrupted passwd or rekey: the header whose epoch
        // matches sled's and that this passphrase opens is the vault's header.
        let current = Header::read(&Header::path(dir))?;
        let pending = read_pending(dir);
        let mut chosen = None;
        for (is_new, candidate) in [(false, current), (true, pending)] {
            let Some(h) = candidate else { continue };
            if chosen.is_none()
                && h.key_epoch == epoch
                && let Some((wk, dk)) = unwrap_header(&h, passphrase, &mut cache)?
            {
                chosen = Some((is_new, h, wk, dk));
            }
        }
        let Some((is_new, header, wrap_key, data_key)) = chosen else {
            // The passphrase opened a header above, so this is not a wrong passphrase:
            // no header matches the database's key epoch.
            return Err(Error::Corrupt(format!(
                "no header matches the database's key epoch {epoch}"
            )));
        };
        if is_new {
            Header::commit_new(dir)?;
        } else {
            Header::discard_new(dir)?;
        }
        let mut vault = Self {
            dir: dir.to_path_buf(),
            sealer: Sealer::new(&data_key),
            header,
            wrap_key,
            store,
            seal_count,
            next_id,
            source: Source::Cli,
            versions_kept: DEFAULT_VERSIONS_KEPT,
            audit_head: (0, [0; 32]),
            audit_pending: None,
            audit_head_damaged: None,
            decoded: None,
        };
        let sealed_keys = vault
            .store
            .get(Tree::State, STATE_STABLE_KEYS)?
            .ok_or_else(|| Error::Corrupt("the database has no valid stable_keys record".into()))?;
        let plain = vault
            .sealer
            .open(&stable_keys_aad(&vault.header.vault_id), &sealed_keys)
            .map_err(|_| Error::Corrupt("the stable_keys record failed authentication".into()))?;
        let stable: crypto::StableKeys =
            postcard::from_bytes(plain.get(1..).unwrap_or_default())
                .map_err(|_| Error::Corrupt("the stable_keys record does not decode".into()))?;
        vault.sealer.set_stable_keys(&stable);
        // A damaged head must not lock the user out of their keys: the chain goes on
        // from its last event, `verify_audit` reports the damage, and the next event
        // records it, so it stays in the log.
        vault.audit_head_damaged = vault.read_audit_damage();
        match vault.read_audit_head() {
            Ok(head) => vault.audit_head = head,
            Err(_) => {
                vault.audit_head = vault.last_audit_link()?;
                vault.audit_head_damaged = Some(format!(
                    "the log's head was altered (rebuilt from event {})",
                    vault.audit_head.0
                ));
            }
        }
        vault.settle_passwd()?;
        Ok(vault)
    }

    /// `passwd` installs the new header, then commits its audit event together with
    /// the new salt. A header whose salt the database does not know is a passwd
    /// interrupted in between (or finished by this open): its event is recorded now,
    /// so no passphrase change is missing from the log. (A vault from before this
    /// record gets it silently.)
    fn settle_passwd(&mut self) -> Result<()> {
        let known = self.store.get(Tree::State, STATE_SALT)?;
        if known.as_deref() == Some(&self.header.salt[..]) {
            return Ok(());
        }
        let mut batch = Batch::default();
        if known.is_some() {
            self.push_event(
                &mut batch,
                Action::Passwd,
                None,
                "finished when the vault was next opened",
            )?;
        }
        batch.put(Tree::State, STATE_SALT, self.header.salt.to_vec());
        self.commit(batch)
    }

    /// Records later changes as coming from `source` (the TUI sets `Source::Tui`).
    pub fn set_source(&mut self, source: Source) {
        self.source = source;
    }

    /// How many earlier versions of a secret to keep per entry (at least 1).
    pub fn set_versions_kept(&mut self, n: usize) {
        self.versions_kept = n.max(1);
    }

    /// The vault's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The KDF parameters in the header.
    pub fn kdf_params(&self) -> KdfParams {
        self.header.kdf
    }

    /// Encryptions made under the current data key.
    pub fn seal_count(&self) -> u64 {
        self.seal_count
    }

    /// Number of entries (sled scans the tree to count it).
    pub fn len(&self) -> usize {
        self.store.len(Tree::Meta)
    }

    /// True when the vault holds no entry (cheap, unlike [`Vault::len`]).
    pub fn is_empty(&self) -> bool {
        self.store.is_empty(Tree::Meta)
    }

    /// Seals a value as a record: `rev (8, big-endian) || nonce || ciphertext || tag`.
    fn seal_record(&mut self, id: &EntryId, field: Field, rev: u64, plain: &[u8]) -> Vec<u8> {
        self.seal_count += 1;
        seal_record(&self.sealer, &self.header.vault_id, id, field, rev, plain)
    }

    fn open_record(
        &self,
        id: &EntryId,
        field: Field,
        record: &[u8],
    ) -> Result<(u64, Zeroizing<Vec<u8>>)> {
        open_record(&self.sealer, &self.header.vault_id, id, field, record)
    }

    fn decode_meta(&self, id: EntryId, record: &[u8]) -> Result<Entry> {
        decode_meta(&self.sealer, &self.header.vault_id, id, record)
    }

    fn encode<T: serde::Serialize>(value: &T, size_hint: usize) -> Zeroizing<Vec<u8>> {
        encode(value, size_hint)
    }

    fn id_from_key(key: &[u8]) -> Result<EntryId> {
        <[u8; 16]>::try_from(key)
            .map(EntryId)
            .map_err(|_| Error::Corrupt("an entry id is not 16 bytes".into()))
    }

    /// Keeps decoded metadata between [`Vault::list`] and [`Vault::search`] calls
    /// (for a process that keeps the vault open: the agent). Costs memory, saves
    /// decrypting every entry again while nothing changed.
    pub fn keep_decoded(&mut self) {
        self.decoded.get_or_insert_with(Default::default);
    }

    /// Loads the whole vault into memory ahead of the commands of a long-lived holder
    /// (the agent): every sled tree is read once and the kept list (see
    /// [`Vault::keep_decoded`]) is decoded. Decrypts no secret.
    pub fn warm(&self) -> Result<()> {
        self.store.warm()?;
        self.with_decoded(|_| ())
    }

    /// Every entry's metadata, sorted by name. Decrypts no secret.
    pub fn list(&self) -> Result<Vec<Entry>> {
        match &self.decoded {
            None => self.decode_all(),
            Some(_) => self.with_decoded(<[Entry]>::to_vec),
        }
    }

    /// Runs `f` on every entry's metadata, sorted by name, without copying the list
    /// when it is kept (see [`Vault::keep_decoded`]). Decrypts no secret.
    pub fn with_list<R>(&self, f: impl FnOnce(&[Entry]) -> R) -> Result<R> {
        self.with_decoded(f)
    }

    /// The entries whose name (or, unless `names_only`, other metadata: provider,
    /// environment, variable, URL, model, tier, tags, notes) contains `needle`
    /// (lowercase), sorted by name. Never looks at a secret.
    pub fn search(&self, needle: &str, names_only: bool) -> Result<Vec<Entry>> {
        let pick = |all: &[Entry], index: &SearchIndex| {
            let hits = index.find(needle, names_only);
            hits.into_iter().map(|i| all[i].clone()).collect()
        };
        match &self.decoded {
            None => {
                let all = self.decode_all()?;
                Ok(pick(&all, &SearchIndex::build(&all)))
            }
            Some(kept) => self.with_kept(kept, |k| pick(&k.entries, &k.index)),
        }
    }

    /// Runs `f` on the kept list, decoding it again first if the store was written
    /// since; without a kept list, on a freshly decoded one.
    fn with_decoded<R>(&self, f: impl FnOnce(&[Entry]) -> R) -> Result<R> {
        match &self.decoded {
            None => Ok(f(&self.decode_all()?)),
            Some(kept) => self.with_kept(kept, |k| f(&k.entries)),
        }
    }

    /// Runs `f` on the kept list, brought up to date first.
    fn with_kept<R>(&self, kept: &Decoded, f: impl FnOnce(&Kept) -> R) -> Result<R> {
        let mut kept = kept.lock().unwrap_or_else(|e| e.into_inner());
        let writes = self.store.writes();
        let current = match &mut *kept {
            Some(k) if k.writes == writes => k,
            slot => {
                // Cloned once sorted, so each entry's strings sit in memory in list
                // order: listing 10,000 then reads memory in sequence.
                let entries = self.decode_all()?.clone();
                let index = SearchIndex::build(&entries);
                slot.insert(Kept {
                    writes,
                    entries,
                    index,
                })
            }
        };
        Ok(f(current))
    }

    fn decode_all(&self) -> Result<Vec<Entry>> {
        // No capacity from len(): sled counts a tree by scanning it.
        let mut out = Vec::new();
        self.store.for_each(Tree::Meta, |k, v| {
            out.push(self.decode_meta(Self::id_from_key(k)?, v)?);
            Ok(())
        })?;
        out.sort_by(|a, b| a.meta.name.cmp(&b.meta.name));
        Ok(out)
    }

    fn find_id(&self, name: &str) -> Result<Option<EntryId>> {
        self.store
            .get(Tree::Names, &self.sealer.index_tag(name))?
            .map(|k| Self::id_from_key(&k))
            .transpose()
    }

    /// The entry named `name`.
    pub fn entry(&self, name: &str) -> Result<Entry> {
        let not_found = || Error::EntryNotFound(name.to_string());
        let id = self.find_id(name)?.ok_or_else(not_found)?;
        let record = self.store.get(Tree::Meta, &id.0)?.ok_or_else(not_found)?;
        let entry = self.decode_meta(id, &record)?;
        if entry.meta.name != name {
            return Err(Error::Corrupt(format!(
                "the name index points {name} at another entry"
            )));
        }
        Ok(entry)
    }

    /// Decrypts an entry's secret without recording a use.
    pub fn secret(&self, entry: &Entry) -> Result<Secret> {
        let record = self
            .store
            .get(Tree::Secret, &entry.id.0)?
            .ok_or_else(|| Error::Corrupt(format!("entry {} has no secret record", entry.id)))?;
        decode_secret(&self.sealer, &self.header.vault_id, &entry.id, &record)
    }

    /// Decrypts the secret of `name` and records the use (flushed before it returns).
    pub fn use_secret(&mut self, name: &str) -> Result<(Entry, Secret)> {
        let secret = self.secret(&self.entry(name)?)?;
        let entry = self.record_use(name, Action::Get, "")?;
        Ok((entry, secret))
    }

    /// Records a use of `name` (last used, use count, an audit event), flushed before
    /// it returns. `action` says which: get, copy, run.
    pub fn record_use(&mut self, name: &str, action: Action, detail: &str) -> Result<Entry> {
        let mut entry = self.entry(name)?;
        entry.meta.last_used_at = Some(now());
        entry.meta.use_count += 1;
        let mut batch = Batch::default();
        self.put_meta(&mut batch, &mut entry);
        self.push_event(&mut batch, action, Some(&entry), detail)?;
        self.commit(batch)?;
        Ok(entry)
    }

    /// Decrypts the secret of `name` to show it, recording a `reveal` audit event.
    pub fn reveal(&mut self, name: &str) -> Result<(Entry, Secret)> {
        let entry = self.entry(name)?;
        let secret = self.secret(&entry)?;
        let mut batch = Batch::default();
        self.push_event(&mut batch, Action::Reveal, Some(&entry), "")?;
        self.commit(batch)?;
        Ok((entry, secret))
    }

    fn put_meta(&mut self, batch: &mut Batch, entry: &mut Entry) {
        entry.rev += 1;
        let plain = Self::encode(&entry.meta, 0);
        let record = self.seal_record(&entry.id, Field::Meta, entry.rev, &plain);
        batch.put(Tree::Meta, entry.id.0, record);
    }

    fn put_secret(&mut self, batch: &mut Batch, id: &EntryId, rev: u64, secret: &Secret) {
        let size = secret.value.len()
            + secret
                .fields
                .iter()
                .map(|(a, b)| a.len() + b.len() + 8)
                .sum::<usize>();
        let plain = Self::encode(secret, size);
        let record = self.seal_record(id, Field::Secret, rev, &plain);
        batch.put(Tree::Secret, id.0, record);
    }

    /// Applies a batch with the seal counter, and rekeys when the counter is high.
    fn commit(&mut self, mut batch: Batch) -> Result<()> {
        batch.put(Tree::State, STATE_SEAL_COUNT, self.seal_count.to_be_bytes());
        batch.put(Tree::State, STATE_NEXT_ID, self.next_id.to_be_bytes());
        let pending = self.audit_pending.take();
        self.store.apply(&batch)?;
        if let Some(head) = pending {
            self.audit_head = head;
        }
        if self.seal_count >= REKEY_AFTER {
            // The change above is saved whatever happens here; a failed rekey leaves the
            // counter high, so the next change tries again (2^30 is far from 2^32).
            let _ = self.rekey();
        }
        Ok(())
    }

    /// Checks a secret against its provider's rules, unless `force`.
    fn check_secret(provider_id: &str, secret: &Secret, force: bool) -> Result<()> {
        if secret.value.is_empty() {
            return Err(Error::Invalid(
                "the secret is empty; paste or pipe the key".into(),
            ));
        }
        if force {
            return Ok(());
        }
        let p = provider::lookup(provider_id).map_err(Error::Invalid)?;
        p.check_format(&secret.value).map_err(Error::KeyFormat)?;
        if p.id == "aws" {
            match secret.field("access_key_id") {
                Some(id) if aws_access_key_id(id) => {}
                _ => {
                    return Err(Error::KeyFormat(
                        "an AWS entry needs an access_key_id field of 20 characters starting AKIA or ASIA (--field access_key_id=AKIA…)".into(),
                    ));
                }
            }
        }
        Ok(())
    }

    fn masked(meta: &EntryMeta, secret: &Secret) -> String {
        let p = meta.provider_info();
        mask_secret(&secret.value, p.prefix_of(&secret.value))
    }

    /// Demotes other primaries of `entry`'s provider and environment into `batch`.
    fn demote_others(&mut self, batch: &mut Batch, entry: &Entry) -> Result<Vec<String>> {
        let others = self.list()?;
        Ok(self.demote_among(batch, others, std::slice::from_ref(entry)))
    }

    /// Demotes, in `batch`, every primary of `others` that shares a provider and
    /// environment with a primary of `winners`.
    fn demote_among(
        &mut self,
        batch: &mut Batch,
        others: Vec<Entry>,
        winners: &[Entry],
    ) -> Vec<String> {
        let mut demoted = Vec::new();
        for mut other in others {
            let beaten = winners.iter().any(|w| {
                w.meta.primary
                    && w.id != other.id
                    && other.meta.primary
                    && w.meta.provider == other.meta.provider
                    && w.meta.environment == other.meta.environment
            });
            if beaten {
                other.meta.primary = false;
                other.meta.updated_at = now();
                demoted.push(other.meta.name.clone());
                self.put_meta(batch, &mut other);
            }
        }
        demoted
    }

    /// Adds an entry. Refuses a taken name and (unless `force`) a key that does not
    /// match its provider's format.
    pub fn add(&mut self, new: NewEntry) -> Result<Saved> {
        let mut saved = self.add_many(vec![new])?;
        Ok(saved.remove(0))
    }

    /// Adds several entries in one transaction: all of them, or (on any error) none.
    /// When two of them are primary for the same provider and environment, the later wins.
    pub fn add_many(&mut self, news: Vec<NewEntry>) -> Result<Vec<Saved>> {
        let mut batch = Batch::default();
        let mut staged: Vec<Entry> = Vec::with_capacity(news.len());
        let mut names = std::collections::HashSet::new();
        for new in news {
            validate_name(&new.name).map_err(Error::Invalid)?;
            if !names.insert(new.name.clone()) || self.find_id(&new.name)?.is_some() {
                return Err(Error::NameTaken(new.name));
            }
            let entry = self.stage_new(&mut batch, new)?;
            staged.push(entry);
        }
        let mut demoted_by: Vec<Vec<String>> = vec![Vec::new(); staged.len()];
        if staged.iter().any(|e| e.meta.primary) {
            let existing = self.list()?;
            let demoted = self.demote_among(&mut batch, existing, &staged);
            // Within the batch, a later primary beats an earlier one.
            for i in 0..staged.len() {
                let (earlier, later) = staged.split_at_mut(i + 1);
                let e = &mut earlier[i];
                if e.meta.primary
                    && later.iter().any(|w| {
                        w.meta.primary
                            && w.meta.provider == e.meta.provider
                            && w.meta.environment == e.meta.environment
                    })
                {
                    e.meta.primary = false;
                    demoted_by[i].push(e.meta.name.clone());
                }
            }
            for (i, e) in staged.iter().enumerate() {
                if e.meta.primary {
                    demoted_by[i].extend(demoted.iter().cloned());
                }
            }
        }
        for entry in &mut staged {
            self.put_meta(&mut batch, entry);
            batch.put(
                Tree::Names,
                self.sealer.index_tag(&entry.meta.name),
                entry.id.0,
            );
            self.push_event(&mut batch, Action::Add, Some(entry), "")?;
        }
        self.commit(batch)?;
        Ok(staged
            .into_iter()
            .zip(demoted_by)
            .map(|(entry, demoted)| Saved { entry, demoted })
            .collect())
    }

    /// Validates a new entry, seals its secret into `batch`, and returns its metadata
    /// (not yet written).
    fn stage_new(&mut self, batch: &mut Batch, new: NewEntry) -> Result<Entry> {
        let mut secret = new.secret.clone();
        trim_in_place(&mut secret.value);
        let provider = match &new.provider {
            Some(p) => provider::lookup(p).map_err(Error::Invalid)?,
            None => provider::infer(&secret.value).ok_or_else(|| {
                Error::Invalid(
                    "cannot tell the provider from this key; pass --provider (or --provider custom)"
                        .into(),
                )
            })?,
        };
        Self::check_secret(provider.id, &secret, new.force)?;
        let expires_at = new
            .expires_at
            .as_deref()
            .map(validate_date)
            .transpose()
            .map_err(Error::Invalid)?;
        let t = now();
        let env_var = new.env_var.clone().unwrap_or_else(|| {
            if provider.env_var.is_empty() {
                provider::custom_env_var(&new.name)
            } else {
                provider.env_var.to_string()
            }
        });
        let mut meta = EntryMeta {
            name: new.name.clone(),
            provider: provider.id.to_string(),
            environment: new.environment.clone().unwrap_or_else(|| "prod".into()),
            env_var,
            base_url: new.base_url.clone(),
            model: new.model.clone(),
            tier: new.tier.clone(),
            tags: new.tags.clone(),
            notes: new.notes.clone(),
            active: !new.inactive,
            primary: new.primary,
            expires_at,
            rotate_every_days: new.rotate_every_days,
            rotated_at: None,
            created_at: t,
            updated_at: t,
            last_used_at: None,
            use_count: 0,
            last_error: None,
            error_count: 0,
            masked: String::new(),
            field_names: secret.fields.iter().map(|(n, _)| n.clone()).collect(),
            version: 1,
            version_source: self.source.as_str().to_string(),
            fingerprint: self.sealer.fingerprint(secret.value.as_bytes()).to_vec(),
            last_checked_at: None,
        };
        meta.masked = Self::masked(&meta, &secret);
        self.next_id += 1;
        let entry = Entry {
            id: EntryId::new(self.next_id - 1),
            meta,
            rev: 0,
        };
        self.put_secret(batch, &entry.id, 1, &secret);
        Ok(entry)
    }

    /// Changes an entry. Renames keep the name unique; a new secret is checked
    /// against the (possibly new) provider unless `force`.
    pub fn update(&mut self, name: &str, patch: EntryPatch) -> Result<Saved> {
        if patch.is_empty() {
            return Err(Error::Invalid(
                "nothing to change; pass at least one flag (see `keyward edit --help`)".into(),
            ));
        }
        let mut entry = self.entry(name)?;
        let before = entry.meta.clone();
        let mut batch = Batch::default();
        let m = &mut entry.meta;
        if let Some(new_name) = &patch.name
            && new_name != name
        {
            validate_name(new_name).map_err(Error::Invalid)?;
            if self.find_id(new_name)?.is_some() {
                return Err(Error::NameTaken(new_name.clone()));
            }
            batch.remove(Tree::Names, self.sealer.index_tag(name));
            batch.put(Tree::Names, self.sealer.index_tag(new_name), entry.id.0);
            m.name = new_name.clone();
        }
        if let Some(p) = &patch.provider {
            m.provider = provider::lookup(p).map_err(Error::Invalid)?.id.to_string();
        }
        if let Some(v) = &patch.environment {
            m.environment = v.clone();
        }
        if let Some(v) = &patch.env_var {
            m.env_var = v.clone();
        }
        if let Some(v) = &patch.base_url {
            m.base_url = v.clone();
        }
        if let Some(v) = &patch.model {
            m.model = v.clone();
        }
        if let Some(v) = &patch.tier {
            m.tier = v.clone();
        }
        if let Some(v) = &patch.tags {
            m.tags = v.clone();
        }
        if let Some(v) = &patch.notes {
            m.notes = v.clone();
        }
        if let Some(v) = patch.active {
            m.active = v;
        }
        if let Some(v) = patch.primary {
            m.primary = v;
        }
        if let Some(v) = &patch.expires_at {
            m.expires_at = v
                .as_deref()
                .map(validate_date)
                .transpose()
                .map_err(Error::Invalid)?;
        }
        if let Some(v) = patch.rotate_every_days {
            m.rotate_every_days = v;
        }
        let provider_changed = m.provider != before.provider;
        let mut secret_written = false;
        if patch.secret.is_some() || patch.fields.is_some() {
            // The stored fields stay unless named again: a new key keeps its
            // access key id, region and the like.
            let old = self.secret(&entry)?;
            let mut secret = match &patch.secret {
                Some(s) => s.clone(),
                None => old.clone(),
            };
            trim_in_place(&mut secret.value);
            let mut fields = old.fields.clone();
            let given = patch
                .secret
                .iter()
                .flat_map(|s| s.fields.iter())
                .chain(patch.fields.iter().flatten());
            for (k, v) in given {
                match fields.iter_mut().find(|(n, _)| n == k) {
                    Some(slot) => slot.1 = v.clone(),
                    None => fields.push((k.clone(), v.clone())),
                }
            }
            secret.fields = fields;
            if old.value != secret.value {
                // A new key through an edit is a rotation: the old key is kept as a
                // retired version, under the same rules as `rotate`.
                let versions = self.versions_of(&entry)?;
                let fingerprint = self.refuse_rotation(&entry, &versions, &secret, patch.force)?;
                self.stage_new_version(
                    &mut batch,
                    &mut entry,
                    &versions,
                    &secret,
                    fingerprint,
                    DEFAULT_GRACE_DAYS,
                    "replaced by an edit",
                )?;
            } else {
                // Same key, other fields.
                Self::check_secret(&entry.meta.provider, &secret, patch.force)?;
                let m = &mut entry.meta;
                m.field_names = secret.fields.iter().map(|(n, _)| n.clone()).collect();
                let rev = self.secret_rev(&entry.id)?;
                self.put_secret(&mut batch, &entry.id, rev + 1, &secret);
            }
            secret_written = true;
        } else if provider_changed {
            let secret = self.secret(&entry)?;
            if !patch.force {
                Self::check_secret(&entry.meta.provider, &secret, false)?;
            }
            entry.meta.masked = Self::masked(&entry.meta, &secret);
        }
        if entry.meta == before && !secret_written {
            return Ok(Saved {
                entry,
                demoted: Vec::new(),
            });
        }
        entry.meta.updated_at = now();
        let demoted = if entry.meta.primary
            && (!before.primary || provider_changed || entry.meta.environment != before.environment)
        {
            self.demote_others(&mut batch, &entry)?
        } else {
            Vec::new()
        };
        let action = match (before.active, entry.meta.active) {
            (false, true) => Action::Enable,
            (true, false) => Action::Disable,
            _ => Action::Edit,
        };
        let detail = if secret_written { "new secret" } else { "" };
        self.put_meta(&mut batch, &mut entry);
        self.push_event(&mut batch, action, Some(&entry), detail)?;
        self.commit(batch)?;
        Ok(Saved { entry, demoted })
    }

    /// Enables or disables an entry.
    pub fn set_active(&mut self, name: &str, active: bool) -> Result<Saved> {
        self.update(
            name,
            EntryPatch {
                active: Some(active),
                ..Default::default()
            },
        )
    }

    /// Deletes an entry (metadata, secret and name index) in one transaction.
    pub fn remove(&mut self, name: &str) -> Result<Entry> {
        let entry = self.entry(name)?;
        let mut batch = Batch::default();
        batch.remove(Tree::Meta, entry.id.0);
        batch.remove(Tree::Secret, entry.id.0);
        batch.remove(Tree::Names, self.sealer.index_tag(name));
        self.store
            .for_each_prefix(Tree::Versions, &entry.id.0, |k, _| {
                batch.remove(Tree::Versions, k.to_vec());
                Ok(())
            })?;
        self.push_event(&mut batch, Action::Delete, Some(&entry), "")?;
        self.commit(batch)?;
        Ok(entry)
    }

    /// Re-wraps the data key under a new passphrase (new salt, same KDF parameters).
    /// No entry record is rewritten.
    pub fn change_passphrase(&mut self, new: &Passphrase) -> Result<()> {
        let mut header = self.header.clone();
        header.salt = Header::new_salt();
        let wrap_key = kdf::derive(new.bytes(), &header.salt, &header.kdf)?;
        let data_key = crypto::unwrap_data_key(
            &self.wrap_key,
            &self.header.aad(),
            &self.header.wrap_nonce,
            &self.header.wrapped_key,
        )
        .map_err(|_| Error::Corrupt("the header no longer unwraps".into()))?;
        let (nonce, wrapped) = crypto::wrap_data_key(&wrap_key, &header.aad(), &data_key);
        header.wrap_nonce = nonce;
        header.wrapped_key = wrapped;
        header.write_new(&self.dir)?;
        Header::commit_new(&self.dir)?;
        self.header = header;
        self.wrap_key = wrap_key;
        let mut batch = Batch::default();
        self.push_event(&mut batch, Action::Passwd, None, "")?;
        batch.put(Tree::State, STATE_SALT, self.header.salt.to_vec());
        self.commit(batch)
    }

    /// Decrypts every record of `tree` sealed as `field`, for re-sealing: its key, the
    /// entry id bound in its associated data, its record version and its plaintext.
    #[allow(clippy::type_complexity)]
    fn open_all(
        &self,
        tree: Tree,
        field: Field,
    ) -> Result<Vec<(Vec<u8>, EntryId, u64, Zeroizing<Vec<u8>>)>> {
        let mut out = Vec::new();
        self.store.for_each(tree, |k, v| {
            let id = match field {
                Field::Audit | Field::AuditHead | Field::StableKeys | Field::AuditDamage => {
                    NO_ENTRY
                }
                _ => Self::id_from_key(&k[..16.min(k.len())])?,
            };
            let (rev, plain) = self.open_record(&id, field, v)?;
            out.push((k.to_vec(), id, rev, plain));
            Ok(())
        })?;
        Ok(out)
    }

    /// Makes a new data key and re-seals every record under it in one transaction.
    /// Returns the number of entries re-sealed.
    pub fn rekey(&mut self) -> Result<usize> {
        let entries = self.list()?;
        let count = entries.len();
        let records = [
            (Tree::Secret, Field::Secret),
            (Tree::Versions, Field::Version),
            (Tree::Audit, Field::Audit),
        ]
        .into_iter()
        .map(|(tree, field)| Ok((tree, field, self.open_all(tree, field)?)))
        .collect::<Result<Vec<_>>>()?;
        let stable_plain = {
            let sealed = self
                .store
                .get(Tree::State, STATE_STABLE_KEYS)?
                .unwrap_or_default();
            self.sealer
                .open(&stable_keys_aad(&self.header.vault_id), &sealed)
                .map_err(|_| {
                    Error::Corrupt("the stable_keys record failed authentication".into())
                })?
        };
        let stable: crypto::StableKeys =
            postcard::from_bytes(stable_plain.get(1..).unwrap_or_default())
                .map_err(|_| Error::Corrupt("the stable_keys record does not decode".into()))?;
        let data_key = DataKey::generate();
        let mut header = self.header.clone();
        header.key_epoch += 1;
        let (nonce, wrapped) = crypto::wrap_data_key(&self.wrap_key, &header.aad(), &data_key);
        header.wrap_nonce = nonce;
        header.wrapped_key = wrapped;

        let old_tags: Vec<[u8; 32]> = entries
            .iter()
            .map(|e| self.sealer.index_tag(&e.meta.name))
            .collect();
        let mut new_sealer = Sealer::new(&data_key);
        new_sealer.set_stable_keys(&stable);
        let old_sealer = std::mem::replace(&mut self.sealer, new_sealer);
        let old_count = std::mem::replace(&mut self.seal_count, 0);
        let mut batch = Batch::default();
        for tag in old_tags {
            batch.remove(Tree::Names, tag);
        }
        for mut entry in entries {
            entry.rev -= 1; // put_meta bumps it; keep the record version as it was
            self.put_meta(&mut batch, &mut entry);
            batch.put(
                Tree::Names,
                self.sealer.index_tag(&entry.meta.name),
                entry.id.0,
            );
        }
        for (tree, field, items) in records {
            for (key, id, rev, plain) in items {
                let sealed = self.seal_record(&id, field, rev, &plain);
                batch.put(tree, key, sealed);
            }
        }
        if self.audit_head.0 > 0 {
            let head = Self::encode(&self.audit_head, 0);
            let sealed = self.seal_record(&NO_ENTRY, Field::AuditHead, self.audit_head.0, &head);
            batch.put(Tree::State, STATE_AUDIT_HEAD, sealed);
        }
        if let Some(note) = self.audit_head_damaged.clone() {
            let plain = Self::encode(&note, 0);
            let sealed = self.seal_record(&NO_ENTRY, Field::AuditDamage, 0, &plain);
            batch.put(Tree::State, STATE_AUDIT_DAMAGE, sealed);
        }
        let sealed_keys = self
            .sealer
            .seal(&stable_keys_aad(&header.vault_id), &stable_plain);
        batch.put(Tree::State, STATE_STABLE_KEYS, sealed_keys);
        self.push_event(&mut batch, Action::Rekey, None, &format!("{count} entries"))?;
        batch.put(Tree::State, STATE_EPOCH, header.key_epoch.to_be_bytes());
        batch.put(Tree::State, STATE_SEAL_COUNT, self.seal_count.to_be_bytes());
        // header.new first: if we stop after the transaction, open() finds it by its epoch.
        let pending = self.audit_pending.take();
        let written = header
            .write_new(&self.dir)
            .and_then(|()| self.store.apply(&batch));
        if let Err(e) = written {
            self.sealer = old_sealer;
            self.seal_count = old_count;
            return Err(e);
        }
        if let Some(head) = pending {
            self.audit_head = head;
        }
        // The records are under the new key now, whatever the rename does: if it fails,
        // header.new (matching sled's epoch) is what the next open takes.
        self.header = header;
        Header::commit_new(&self.dir)?;
        Ok(count)
    }

    /// For tests that tamper with raw records: the underlying store.
    #[doc(hidden)]
    pub fn store_for_tests(&self) -> &Store {
        &self.store
    }

    /// For tests of the automatic rekey: pretends many encryptions were made.
    #[doc(hidden)]
    pub fn set_seal_count_for_tests(&mut self, count: u64) {
        self.seal_count = count;
    }
}
