//! Entries: metadata (sealed on its own, decrypted for listing) and the secret
//! (sealed apart, decrypted only when asked for).

use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop};

use super::provider::{self, Provider};

/// An entry's id, the only thing about an entry readable on disk: an 8-byte sequence
/// number (big-endian) and 8 random bytes. The sequence keeps sled's keys in insertion
/// order, which keeps its pages compact (random ids made listing 40% slower); unlike a
/// UUIDv7 it carries no creation time, only the order in which entries were added.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct EntryId(pub [u8; 16]);

impl EntryId {
    /// The id for sequence number `seq`.
    pub fn new(seq: u64) -> Self {
        let mut id = [0u8; 16];
        id[..8].copy_from_slice(&seq.to_be_bytes());
        id[8..].copy_from_slice(&crate::crypto::random_bytes::<8>());
        Self(id)
    }

    /// An id with a random sequence number (tests and benches).
    pub fn generate() -> Self {
        Self::new(u64::from_be_bytes(crate::crypto::random_bytes()))
    }
}

impl std::fmt::Display for EntryId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let h = hex_lower(&self.0);
        write!(
            f,
            "{}-{}-{}-{}-{}",
            &h[..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..]
        )
    }
}

fn hex_lower(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl std::fmt::Debug for EntryId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "EntryId({self})")
    }
}

/// Everything about an entry but its secret. Times are Unix seconds (UTC).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, Zeroize)]
pub struct EntryMeta {
    /// Unique name, e.g. `openai-prod`.
    pub name: String,
    /// Provider id from the registry (`openai`, …, `custom`).
    pub provider: String,
    /// prod, staging, dev, test, or free text.
    pub environment: String,
    /// Env var the secret is injected as.
    pub env_var: String,
    /// API base URL, when not the provider's default.
    pub base_url: Option<String>,
    /// Default model.
    pub model: Option<String>,
    /// free / paid (free text allowed).
    pub tier: Option<String>,
    /// Free-form tags.
    pub tags: Vec<String>,
    /// Free-form notes.
    pub notes: String,
    /// Inactive entries stay listed but are not used.
    pub active: bool,
    /// At most one primary entry per provider and environment.
    pub primary: bool,
    /// Expiry date, `YYYY-MM-DD`.
    pub expires_at: Option<String>,
    /// Rotation policy in days (None: the configured default).
    pub rotate_every_days: Option<u32>,
    /// When the secret was last replaced.
    pub rotated_at: Option<i64>,
    /// Creation time.
    pub created_at: i64,
    /// Last change to the entry.
    pub updated_at: i64,
    /// Last time the secret was read for use.
    pub last_used_at: Option<i64>,
    /// How many times the secret was read for use.
    pub use_count: u64,
    /// Last error reported against the key.
    pub last_error: Option<String>,
    /// Consecutive errors.
    pub error_count: u64,
    /// The secret, masked; kept here so listing never decrypts a secret.
    pub masked: String,
    /// Names of the secret's extra fields (their values are in the secret).
    pub field_names: Vec<String>,
    /// Number of the current secret version (1 for the first key).
    pub version: u32,
    /// Where the current version came from: `cli` or `tui`.
    pub version_source: String,
    /// Keyed fingerprint of the current secret (equal secrets, equal fingerprints;
    /// nothing about the secret can be read from it without the data key).
    pub fingerprint: Vec<u8>,
    /// Last live check.
    pub last_checked_at: Option<i64>,
}

impl EntryMeta {
    /// The provider's registry entry (`custom` for an unknown id).
    pub fn provider_info(&self) -> &'static Provider {
        provider::find(&self.provider)
            .or_else(|| provider::find("custom"))
            .unwrap_or(&provider::PROVIDERS[provider::PROVIDERS.len() - 1])
    }

    /// The entry's status on `today` (`YYYY-MM-DD`), for lists.
    pub fn status(&self, today: &str) -> Status {
        if !self.active {
            return Status::Inactive;
        }
        if let Some(exp) = &self.expires_at {
            if exp.as_str() < today {
                return Status::Expired;
            }
            if let (Ok(e), Ok(t)) = (
                exp.parse::<jiff::civil::Date>(),
                today.parse::<jiff::civil::Date>(),
            ) && t.until(e).map(|s| s.get_days()).unwrap_or(i32::MAX) <= 14
            {
                return Status::Expiring;
            }
        }
        if self.primary {
            Status::Primary
        } else {
            Status::Active
        }
    }
}

/// What the list shows in its Status column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Usable.
    Active,
    /// Usable, and the primary for its provider and environment.
    Primary,
    /// Disabled by the user.
    Inactive,
    /// Past its expiry date.
    Expired,
    /// Expires within 14 days.
    Expiring,
}

impl Status {
    /// The word shown for it.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Primary => "primary",
            Status::Inactive => "inactive",
            Status::Expired => "expired",
            Status::Expiring => "expiring",
        }
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A secret: the key itself and any extra named fields (AWS: access_key_id, region).
/// Zeroized on drop; its `Debug` shows nothing of it.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
pub struct Secret {
    /// The key.
    pub value: String,
    /// Extra fields, in the order given.
    pub fields: Vec<(String, String)>,
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl Secret {
    /// A secret with no extra fields; surrounding whitespace and newlines are stripped.
    pub fn new(value: &str) -> Self {
        Self {
            value: value.trim().to_string(),
            fields: Vec::new(),
        }
    }

    /// The value of extra field `name`.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// An entry as the vault hands it out: id and metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Opaque id.
    pub id: EntryId,
    /// Decrypted metadata.
    pub meta: EntryMeta,
    /// Record version of the metadata (bound into its associated data).
    pub rev: u64,
}

/// What `add` needs; the rest of the metadata is filled in by the vault.
#[derive(Debug, Clone, Default)]
pub struct NewEntry {
    /// Unique name.
    pub name: String,
    /// Provider id; inferred from the key's prefix when `None`.
    pub provider: Option<String>,
    /// Environment; `prod` when `None`.
    pub environment: Option<String>,
    /// Env var; the provider's default when `None`.
    pub env_var: Option<String>,
    /// Base URL.
    pub base_url: Option<String>,
    /// Default model.
    pub model: Option<String>,
    /// Tier.
    pub tier: Option<String>,
    /// Tags.
    pub tags: Vec<String>,
    /// Notes.
    pub notes: String,
    /// Starts disabled.
    pub inactive: bool,
    /// Becomes the primary for its provider and environment.
    pub primary: bool,
    /// Expiry date `YYYY-MM-DD`.
    pub expires_at: Option<String>,
    /// Rotation policy in days.
    pub rotate_every_days: Option<u32>,
    /// Store even if the key does not match the provider's format.
    pub force: bool,
    /// The secret.
    pub secret: Secret,
}

/// A change to an entry: `None` leaves a field as it is. For optional fields,
/// `Some(None)` clears them.
#[derive(Debug, Clone, Default)]
pub struct EntryPatch {
    /// New name.
    pub name: Option<String>,
    /// New provider.
    pub provider: Option<String>,
    /// New environment.
    pub environment: Option<String>,
    /// New env var.
    pub env_var: Option<String>,
    /// New base URL.
    pub base_url: Option<Option<String>>,
    /// New model.
    pub model: Option<Option<String>>,
    /// New tier.
    pub tier: Option<Option<String>>,
    /// Replace the tags.
    pub tags: Option<Vec<String>>,
    /// Replace the notes.
    pub notes: Option<String>,
    /// Enable or disable.
    pub active: Option<bool>,
    /// Make primary (or not).
    pub primary: Option<bool>,
    /// New expiry.
    pub expires_at: Option<Option<String>>,
    /// New rotation policy.
    pub rotate_every_days: Option<Option<u32>>,
    /// New secret (its extra fields are merged over the stored ones).
    pub secret: Option<Secret>,
    /// Extra fields to set, keeping the key and the other fields.
    pub fields: Option<Vec<(String, String)>>,
    /// Skip the format check.
    pub force: bool,
}

impl EntryPatch {
    /// True when the patch changes nothing.
    pub fn is_empty(&self) -> bool {
        let Self {
            name,
            provider,
            environment,
            env_var,
            base_url,
            model,
            tier,
            tags,
            notes,
            active,
            primary,
            expires_at,
            rotate_every_days,
            secret,
            fields,
            force: _,
        } = self;
        name.is_none()
            && provider.is_none()
            && environment.is_none()
            && env_var.is_none()
            && base_url.is_none()
            && model.is_none()
            && tier.is_none()
            && tags.is_none()
            && notes.is_none()
            && active.is_none()
            && primary.is_none()
            && expires_at.is_none()
            && rotate_every_days.is_none()
            && secret.is_none()
            && fields.is_none()
    }
}

/// Checks an entry name: 1 to 64 of letters, digits, `.`, `_`, `-`, not starting with `-`.
pub fn validate_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('-')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "invalid entry name '{}': use 1 to 64 letters, digits, '.', '_' or '-' (not starting with '-')",
            name.escape_debug()
        ))
    }
}

/// Checks a `YYYY-MM-DD` date and returns it in that canonical form.
pub fn validate_date(date: &str) -> Result<String, String> {
    date.trim()
        .parse::<jiff::civil::Date>()
        .ok()
        .filter(|d| (1..=9999).contains(&d.year()))
        .map(|d| d.to_string())
        .ok_or_else(|| format!("invalid date '{}': use YYYY-MM-DD", date.escape_debug()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_debug_shows_nothing() {
        let s = Secret {
            value: "sk-canary-123".into(),
            fields: vec![("region".into(), "us-canary-1".into())],
        };
        let d = format!("{s:?} {:?}", Some(&s));
        assert!(!d.contains("canary"), "{d}");
        let n = NewEntry {
            secret: s.clone(),
            ..Default::default()
        };
        assert!(!format!("{n:?}").contains("canary"));
        let p = EntryPatch {
            secret: Some(s),
            ..Default::default()
        };
        assert!(!format!("{p:?}").contains("canary"));
    }

    #[test]
    fn names() {
        assert!(validate_name("openai-prod").is_ok());
        assert!(validate_name("a.b_c-1").is_ok());
        for bad in ["", "-x", "has space", "é", &"x".repeat(65)] {
            assert!(validate_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn dates() {
        assert!(validate_date("2026-12-31").is_ok());
        assert!(validate_date("2026-13-01").is_err());
        assert!(validate_date("tomorrow").is_err());
    }

    #[test]
    fn trims_pasted_keys() {
        assert_eq!(Secret::new("  sk-abc\r\n").value, "sk-abc");
    }
}

/// The state of a secret version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum VersionStatus {
    /// The version in use.
    Current,
    /// Replaced; readable with `get --version` until its grace period ends.
    Retired,
    /// Marked compromised: its secret is erased and it can never be read again.
    Revoked,
}

impl std::fmt::Display for VersionStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            VersionStatus::Current => "current",
            VersionStatus::Retired => "retired",
            VersionStatus::Revoked => "revoked",
        })
    }
}

/// One version of an entry's secret, as `history` shows it (masked).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionInfo {
    /// Version number.
    pub version: u32,
    /// Current, retired or revoked.
    pub status: VersionStatus,
    /// The secret, masked.
    pub masked: String,
    /// When it became current.
    pub created_at: i64,
    /// When it stopped being current.
    pub retired_at: Option<i64>,
    /// Until when `get --version` may read it.
    pub grace_until: Option<i64>,
    /// When it was revoked.
    pub revoked_at: Option<i64>,
    /// Where it came from: `cli` or `tui`.
    pub source: String,
    /// Why it was replaced (rotation reason), if said.
    pub reason: String,
}

/// How a live check ended, as the vault records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckResult {
    /// The provider accepted the key: errors are reset.
    Valid(String),
    /// The provider refused it: recorded as the last error, error count up.
    Rejected(String),
    /// No usable answer: reported, not held against the key.
    Inconclusive(String),
}
