//! keyward: an encrypted terminal vault for API keys.
//!
//! Rooms: [`crypto`] (ciphers), [`store`] (sled and the header file), [`model`]
//! (pure types), [`vault`] (the service both faces call), [`clipboard`], [`config`],
//! [`cli`] (the scripting face) and [`tui`] (the interactive face).
#![deny(unsafe_code)] // one exception: Argon2's working memory (crypto::kdf::WorkMemory)
#![warn(missing_docs)]

pub mod agent;
pub mod check;
pub mod cli;
pub mod clipboard;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod env;
pub mod error;
pub mod hygiene;
pub mod inject;
pub mod model;
pub mod store;
pub mod transfer;
pub mod tui;
pub mod vault;

pub use error::{Error, Result};
pub use vault::{Passphrase, Vault};
