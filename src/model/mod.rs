//! Pure types with no I/O: entries, secrets, the provider registry, masking, validation.

pub mod entry;
pub mod mask;
pub mod provider;

pub use entry::{Entry, EntryId, EntryMeta, EntryPatch, NewEntry, Secret, Status};
pub use mask::mask_secret;
pub use provider::{PROVIDERS, Provider};
