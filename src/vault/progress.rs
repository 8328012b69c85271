//! Progress of long vault operations (an import, a restore), told to a callback so a
//! face can draw it. The vault draws nothing itself.

/// What a long operation is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Deciding what becomes of each item (read-only).
    Checking,
    /// Sealing and staging each item for the one transaction.
    Sealing,
}

/// Told `(stage, done, total)`: `done` of `total` items of `stage` are finished. Each
/// stage is told from `0` to `total`, in order; the transaction is committed after the
/// last call.
pub type Progress<'a> = dyn FnMut(Stage, usize, usize) + 'a;

/// A callback that ignores everything.
pub fn no_progress(_: Stage, _: usize, _: usize) {}
