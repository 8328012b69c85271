//! The library's one error type. No variant ever carries a secret: messages name
//! entries, paths and parameters, never key material or passphrases.

use std::path::PathBuf;

/// Everything that can go wrong in keyward's library code.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The passphrase did not unwrap the data key.
    #[error("wrong passphrase for the vault at {path}; try again")]
    WrongPassphrase {
        /// Vault directory.
        path: PathBuf,
    },
    /// Another process holds sled's lock on the vault.
    #[error(
        "the vault at {path} is open in another keyward process; close it (`keyward lock`, if it is an unlocked session) or wait for it, and retry"
    )]
    VaultInUse {
        /// Vault directory.
        path: PathBuf,
    },
    /// The TUI on a vault whose agent (`keyward unlock`) holds it open.
    #[error(
        "the vault at {path} is unlocked by `keyward unlock`, whose agent holds it open; run `keyward lock` first"
    )]
    Unlocked {
        /// Vault directory.
        path: PathBuf,
    },
    /// No vault has been created at this place yet.
    #[error("no vault at {path}; create one with `keyward init` (or pass --vault DIR)")]
    NoVault {
        /// Vault directory.
        path: PathBuf,
    },
    /// `init` on a directory that already holds a vault.
    #[error("a vault already exists at {path}; use it, or pass --vault DIR for a new one")]
    VaultExists {
        /// Vault directory.
        path: PathBuf,
    },
    /// The header names a format this build does not know.
    #[error("unsupported vault format {0}; upgrade keyward to open this vault")]
    UnsupportedFormat(u32),
    /// A record written by a newer keyward.
    #[error("{0}")]
    Newer(String),
    /// The header is not a keyward header, or a record failed authentication.
    #[error(
        "the vault is damaged or was tampered with ({0}); restore it from a backup (`keyward restore FILE` into a new vault)"
    )]
    Corrupt(String),
    /// The header asks for KDF parameters outside what keyward will run.
    #[error("the vault header asks for {0}, which keyward refuses to run; the header is damaged")]
    KdfRefused(String),
    /// No entry of that name.
    #[error("no entry named '{0}'; see `keyward list`")]
    EntryNotFound(String),
    /// `add` with a name that is taken.
    #[error("an entry named '{0}' already exists; pick another name or use `keyward edit`")]
    NameTaken(String),
    /// Bad user input, with the message saying what was expected.
    #[error("{0}")]
    Invalid(String),
    /// The secret does not match its provider's format.
    #[error("{0}; check the key, or pass --force to store it anyway")]
    KeyFormat(String),
    /// The passphrase was refused (empty, mismatched, unreadable).
    #[error("{0}")]
    Passphrase(String),
    /// A file or directory operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What keyward was doing.
        context: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// What the agent of `keyward unlock` said when it could not start.
    #[error("{why}")]
    Agent {
        /// The exit code it chose.
        code: i32,
        /// Its one-line reason.
        why: String,
    },
    /// sled reported a failure other than the lock.
    #[error("the vault storage failed ({0}); check disk space and permissions, then retry")]
    Storage(String),
}

/// Shorthand for results of keyward's library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Process exit codes, documented in the README. Stable: scripts rely on them.
pub mod exit {
    /// Success.
    pub const OK: i32 = 0;
    /// Any failure without a more specific code.
    pub const FAILURE: i32 = 1;
    /// Bad usage or input: unknown flag, invalid name, refused key format.
    pub const USAGE: i32 = 2;
    /// Wrong passphrase.
    pub const WRONG_PASSPHRASE: i32 = 3;
    /// The named entry does not exist.
    pub const NOT_FOUND: i32 = 4;
    /// The vault is open in another keyward process.
    pub const IN_USE: i32 = 5;
    /// There is no vault at the path (run `keyward init`).
    pub const NO_VAULT: i32 = 6;
    /// The vault is damaged, tampered with, or of an unsupported format.
    pub const DAMAGED: i32 = 7;
    /// `health` found something.
    pub const FINDINGS: i32 = 8;
    /// `test`: the provider rejected the key.
    pub const REJECTED: i32 = 9;
    /// `audit --verify`: the audit chain is broken.
    pub const AUDIT_BROKEN: i32 = 10;
    /// `test`: no usable answer (unreachable, timed out, unexpected); says nothing
    /// about the key.
    pub const INCONCLUSIVE: i32 = 11;
}

impl Error {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::WrongPassphrase { .. } => exit::WRONG_PASSPHRASE,
            Error::VaultInUse { .. } | Error::Unlocked { .. } => exit::IN_USE,
            Error::NoVault { .. } => exit::NO_VAULT,
            Error::UnsupportedFormat(_)
            | Error::Newer(_)
            | Error::Corrupt(_)
            | Error::KdfRefused(_) => exit::DAMAGED,
            Error::EntryNotFound(_) => exit::NOT_FOUND,
            Error::Agent { code, .. } => *code,
            Error::NameTaken(_)
            | Error::Invalid(_)
            | Error::KeyFormat(_)
            | Error::Passphrase(_)
            | Error::VaultExists { .. } => exit::USAGE,
            Error::Io { .. } | Error::Storage(_) => exit::FAILURE,
        }
    }

    /// Wraps an io error with what keyward was doing.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }
}
