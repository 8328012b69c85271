//! Audit events: what happened, to which entry, from where, when.

use serde::{Deserialize, Serialize};

/// Where a change came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Source {
    /// The command line.
    #[default]
    Cli,
    /// The interactive view.
    Tui,
}

impl Source {
    /// `cli` or `tui`.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Cli => "cli",
            Source::Tui => "tui",
        }
    }
}

/// What an audit event records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Action {
    /// An entry was added.
    Add,
    /// Its secret was printed (`get`).
    Get,
    /// Its secret was copied.
    Copy,
    /// Its secret was shown on screen.
    Reveal,
    /// Its secret was injected into a command.
    Run,
    /// Its metadata or secret was edited.
    Edit,
    /// It was enabled.
    Enable,
    /// It was disabled.
    Disable,
    /// It was deleted.
    Delete,
    /// Its secret was rotated.
    Rotate,
    /// An earlier version was made current again.
    Rollback,
    /// A version was revoked.
    Revoke,
    /// Its key was checked live.
    Test,
    /// Entries were imported.
    Import,
    /// Entries were exported.
    Export,
    /// The passphrase was changed.
    Passwd,
    /// The data key was replaced.
    Rekey,
}

impl Action {
    /// The action's name in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Add => "add",
            Action::Get => "get",
            Action::Copy => "copy",
            Action::Reveal => "reveal",
            Action::Run => "run",
            Action::Edit => "edit",
            Action::Enable => "enable",
            Action::Disable => "disable",
            Action::Delete => "delete",
            Action::Rotate => "rotate",
            Action::Rollback => "rollback",
            Action::Revoke => "revoke",
            Action::Test => "test",
            Action::Import => "import",
            Action::Export => "export",
            Action::Passwd => "passwd",
            Action::Rekey => "rekey",
        }
    }
}

/// One event of the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// Position in the log, from 1, without gaps.
    pub seq: u64,
    /// Unix seconds.
    pub at: i64,
    /// What happened.
    pub action: Action,
    /// The entry's name at the time, if the event is about one.
    pub entry: Option<String>,
    /// The entry's id, if the event is about one.
    pub entry_id: Option<[u8; 16]>,
    /// cli or tui.
    pub source: Source,
    /// Free text: a version number, a check outcome, a reason.
    pub detail: String,
}
