//! Pure types with no I/O: entries, secrets, the provider registry, masking, validation.

pub mod audit;
pub mod display;
pub mod entry;
pub mod health;
pub mod mask;
pub mod provider;
pub mod search;

pub use audit::{Action, AuditEvent, Source};
pub use entry::{
    CheckResult, Entry, EntryId, EntryMeta, EntryPatch, NewEntry, Secret, Status, VersionInfo,
    VersionStatus,
};
pub use mask::mask_secret;
pub use provider::{PROVIDERS, Provider};
pub use search::SearchIndex;
