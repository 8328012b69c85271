//! The only module that names sled, plus the vault's header file.
//!
//! A vault directory holds `header` (see [`header`]) and `db/`, a sled database with
//! one tree per [`Tree`]. Every change goes through [`Store::apply`]: one sled
//! transaction over all trees, flushed to disk before it returns.
//!
//! Damaged database files (truncated, bytes flipped, a file missing) are reported as
//! [`Error::Corrupt`] ("the vault is damaged …; restore it from a backup"), never as
//! a panic: sled's own corruption errors are mapped to it, and every call into sled
//! runs under [`std::panic::catch_unwind`], because sled 0.34 panics on some damage
//! (assertions while it recovers its log or reads a page). While such a call runs,
//! [`panic_is_contained`] is true on its thread, so the binary's panic hook stays
//! silent and only the one-line error is printed.

pub mod header;

use std::fs;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

use sled::transaction::{ConflictableTransactionError, TransactionError};
use sled::{Transactional, transaction::TransactionalTree};

use crate::error::{Error, Result};

/// The sled trees of a vault. Keys are opaque ids; values are sealed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tree {
    /// Plain counters: key epoch, seal count.
    State,
    /// Entry id → record version || sealed metadata.
    Meta,
    /// Entry id → record version || sealed secret.
    Secret,
    /// Blind name tag → entry id.
    Names,
    /// Entry id || version (u32 BE) → sealed earlier version of a secret.
    Versions,
    /// Sequence number (u64 BE) → sealed, hash-chained audit event.
    Audit,
}

impl Tree {
    const ALL: [Tree; 6] = [
        Tree::State,
        Tree::Meta,
        Tree::Secret,
        Tree::Names,
        Tree::Versions,
        Tree::Audit,
    ];

    fn name(self) -> &'static str {
        match self {
            Tree::State => "state",
            Tree::Meta => "meta",
            Tree::Secret => "secret",
            Tree::Names => "names",
            Tree::Versions => "versions",
            Tree::Audit => "audit",
        }
    }
}

/// One write: a value to put, or `None` to remove the key.
#[derive(Debug, Default)]
pub struct Batch {
    ops: Vec<(Tree, Vec<u8>, Option<Vec<u8>>)>,
}

impl Batch {
    /// Puts `value` at `key` in `tree`.
    pub fn put(&mut self, tree: Tree, key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) {
        self.ops.push((tree, key.into(), Some(value.into())));
    }

    /// Removes `key` from `tree`.
    pub fn remove(&mut self, tree: Tree, key: impl Into<Vec<u8>>) {
        self.ops.push((tree, key.into(), None));
    }

    /// True when there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }
}

/// The open sled database of one vault. Holding it holds sled's exclusive lock.
pub struct Store {
    /// `None` only while it is dropped (see the `Drop` impl).
    db: Option<sled::Db>,
    trees: Vec<sled::Tree>,
    dir: PathBuf,
    /// Batches applied (or tried) through this handle: see [`Store::writes`].
    writes: std::sync::atomic::AtomicU64,
}

impl Drop for Store {
    /// sled's last handle flushes and stops its threads when dropped, which can meet
    /// the same damage as a read: contained too. Nothing is left to report it to.
    fn drop(&mut self) {
        let trees = std::mem::take(&mut self.trees);
        let db = self.db.take();
        let _ = contained(&self.dir, move || drop((trees, db)));
    }
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("dir", &self.dir).finish()
    }
}

/// What sled reported, as keyward's error: damage it detected is [`Error::Corrupt`];
/// anything else (an I/O error, a full disk) is [`Error::Storage`].
fn storage_error(db_dir: &Path, e: sled::Error) -> Error {
    match e {
        sled::Error::Corruption { .. } => damaged(db_dir, "sled found corrupted data"),
        sled::Error::ReportableBug(_) => damaged(db_dir, "sled found an inconsistency"),
        sled::Error::Io(ref io) if io.kind() == std::io::ErrorKind::InvalidData => {
            damaged(db_dir, "sled found corrupted data")
        }
        other => Error::Storage(other.to_string()),
    }
}

/// The error for a database that cannot be read: names the directory, never a value.
fn damaged(db_dir: &Path, what: &str) -> Error {
    Error::Corrupt(format!(
        "its database {} cannot be read: {what}",
        db_dir.display()
    ))
}

thread_local! {
    /// How many [`contained`] calls are running on this thread.
    static CONTAINED: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// True while this thread is inside a call into sled whose panic keyward turns into
/// [`Error::Corrupt`]. A panic hook should print nothing then: the panic is not a bug
/// of keyward's, and the caller reports it as damage in one line.
pub fn panic_is_contained() -> bool {
    CONTAINED.with(|c| c.get() > 0)
}

/// Runs `f` (a call into sled), turning a panic into "the vault is damaged".
fn contained<T>(db_dir: &Path, f: impl FnOnce() -> T) -> Result<T> {
    CONTAINED.with(|c| c.set(c.get() + 1));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    CONTAINED.with(|c| c.set(c.get() - 1));
    result.map_err(|_| damaged(db_dir, "sled stopped on inconsistent data"))
}

/// Creates `dir` (and parents) with mode 0700.
pub fn create_private_dir(dir: &Path) -> Result<()> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))?;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
        .map_err(|e| Error::io(format!("cannot set permissions on {}", dir.display()), e))
}

/// Makes every file under `dir` 0600 and every directory 0700.
pub fn restrict_permissions(dir: &Path) -> Result<()> {
    let entries =
        fs::read_dir(dir).map_err(|e| Error::io(format!("cannot read {}", dir.display()), e))?;
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        let mode = if kind.is_dir() { 0o700 } else { 0o600 };
        if kind.is_symlink() {
            continue;
        }
        fs::set_permissions(&path, fs::Permissions::from_mode(mode))
            .map_err(|e| Error::io(format!("cannot set permissions on {}", path.display()), e))?;
        if kind.is_dir() {
            restrict_permissions(&path)?;
        }
    }
    Ok(())
}

/// How long `open` waits for a vault that is being closed before calling it in use.
pub const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(1);

impl Store {
    /// Opens (or creates) the sled database under `vault_dir/db`, taking its lock.
    /// A lock held by another process is reported as [`Error::VaultInUse`].
    pub fn open(vault_dir: &Path) -> Result<Self> {
        // Files sled creates later (snapshots, segments) must be private too.
        rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
        let dir = vault_dir.join("db");
        // No background flusher: every change is flushed by `apply` already.
        let config = sled::Config::new().path(&dir).flush_every_ms(None);
        // sled lets go of its lock a moment after the last handle is dropped (its
        // writer threads finish first), so a vault closed an instant ago, by this
        // process (lock, then unlock) or another, is waited for briefly.
        let started = std::time::Instant::now();
        let db = loop {
            match contained(&dir, || config.open())? {
                Ok(db) => break db,
                Err(sled::Error::Io(ref io))
                    if io.kind() == std::io::ErrorKind::WouldBlock
                        || io.to_string().contains("could not acquire lock") =>
                {
                    if started.elapsed() >= LOCK_WAIT {
                        return Err(Error::VaultInUse {
                            path: vault_dir.to_path_buf(),
                        });
                    }
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                // keyward always opens its databases with the same configuration: one
                // sled refuses (`db/conf` unreadable, another version) is damaged.
                Err(sled::Error::Unsupported(_)) => {
                    return Err(damaged(&dir, "sled cannot use its configuration"));
                }
                Err(other) => return Err(storage_error(&dir, other)),
            }
        };
        let trees = contained(&dir, || {
            Tree::ALL
                .iter()
                .map(|t| db.open_tree(t.name()))
                .collect::<Result<Vec<_>, _>>()
        })?
        .map_err(|e| storage_error(&dir, e))?;
        fs::set_permissions(vault_dir, fs::Permissions::from_mode(0o700)).map_err(|e| {
            Error::io(
                format!("cannot set permissions on {}", vault_dir.display()),
                e,
            )
        })?;
        restrict_permissions(vault_dir)?;
        Ok(Self {
            db: Some(db),
            trees,
            dir,
            writes: Default::default(),
        })
    }

    fn tree(&self, tree: Tree) -> &sled::Tree {
        &self.trees[tree as usize]
    }

    fn storage_error(&self, e: sled::Error) -> Error {
        storage_error(&self.dir, e)
    }

    /// Runs a call into sled; see [`panic_is_contained`].
    fn contained<T>(&self, f: impl FnOnce() -> T) -> Result<T> {
        contained(&self.dir, f)
    }

    /// Reads one value.
    pub fn get(&self, tree: Tree, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.contained(|| self.tree(tree).get(key))?
            .map(|v| v.map(|v| v.to_vec()))
            .map_err(|e| self.storage_error(e))
    }

    /// Calls `f` on every item of `iter`, stopping at the first error. Only sled's
    /// steps are contained: a panic in `f` is keyward's own and stays one.
    fn walk(
        &self,
        mut iter: sled::Iter,
        f: &mut impl FnMut(&[u8], &[u8]) -> Result<()>,
    ) -> Result<()> {
        while let Some(item) = self.contained(|| iter.next())? {
            let (k, v) = item.map_err(|e| self.storage_error(e))?;
            f(&k, &v)?;
        }
        Ok(())
    }

    /// Calls `f` on every key and value of `tree`, in key order, stopping at the first error.
    pub fn for_each(
        &self,
        tree: Tree,
        mut f: impl FnMut(&[u8], &[u8]) -> Result<()>,
    ) -> Result<()> {
        self.walk(self.tree(tree).iter(), &mut f)
    }

    /// True when `tree` has no key (reads at most one). A tree sled cannot read counts
    /// as not empty: the read that follows reports the damage.
    pub fn is_empty(&self, tree: Tree) -> bool {
        self.contained(|| self.tree(tree).is_empty())
            .unwrap_or(false)
    }

    /// Calls `f` on every key and value of `tree` whose key starts with `prefix`.
    pub fn for_each_prefix(
        &self,
        tree: Tree,
        prefix: &[u8],
        mut f: impl FnMut(&[u8], &[u8]) -> Result<()>,
    ) -> Result<()> {
        self.walk(self.tree(tree).scan_prefix(prefix), &mut f)
    }

    /// Number of keys in `tree` (sled scans the tree). A tree sled cannot read counts
    /// what it could read: the read that follows reports the damage.
    pub fn len(&self, tree: Tree) -> usize {
        self.contained(|| self.tree(tree).len()).unwrap_or(0)
    }

    /// How many batches were applied (or tried) through this handle. The store is
    /// the only writer of an open vault (sled's lock keeps other processes out), so
    /// an unchanged count means unchanged data.
    pub fn writes(&self) -> u64 {
        self.writes.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Applies `batch` as one sled transaction over every tree, then flushes it to disk.
    /// Returns only after the flush: a reported change survives a crash.
    pub fn apply(&self, batch: &Batch) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        self.writes
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let result: Result<(), TransactionError<()>> = self.contained(|| {
            self.trees
                .as_slice()
                .transaction(|views: &Vec<TransactionalTree>| {
                    for (tree, key, value) in &batch.ops {
                        let view = &views[*tree as usize];
                        match value {
                            Some(v) => view.insert(key.as_slice(), v.as_slice())?,
                            None => view.remove(key.as_slice())?,
                        };
                    }
                    Ok::<(), ConflictableTransactionError<()>>(())
                })
        })?;
        result.map_err(|e| match e {
            TransactionError::Storage(e) => self.storage_error(e),
            TransactionError::Abort(()) => Error::Storage("transaction aborted".into()),
        })?;
        self.flush()
    }

    /// Reads every tree once, so that sled holds all of it in its cache, then flushes
    /// what sled wrote while it read (it may rewrite pages it loads). For a process
    /// that keeps the vault open (the agent): its first command then reads nothing
    /// from the database files, and its flush writes that command's change alone.
    pub fn warm(&self) -> Result<()> {
        for tree in Tree::ALL {
            self.for_each(tree, |_, _| Ok(()))?;
        }
        self.flush()
    }

    /// Flushes everything written so far to disk.
    pub fn flush(&self) -> Result<()> {
        self.contained(|| self.db.as_ref().map_or(Ok(0), |db| db.flush()))?
            .map(|_| ())
            .map_err(|e| self.storage_error(e))
    }

    /// The sled directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_in_sled_is_reported_as_damage_and_kept_quiet() {
        let dir = Path::new("/somewhere/v/db");
        assert!(!panic_is_contained());
        let inside = contained(dir, panic_is_contained).unwrap();
        assert!(inside, "the hook is told while sled runs");
        let err = contained(dir, || -> u8 { panic!("sled's assertion") }).unwrap_err();
        assert!(!panic_is_contained(), "only while sled runs");
        assert!(matches!(err, Error::Corrupt(_)), "{err:?}");
        let text = err.to_string();
        assert!(
            text.contains("/somewhere/v/db")
                && text.contains("damaged")
                && text.contains("restore it from a backup")
                && !text.contains("assertion"),
            "{text}"
        );
        assert_eq!(err.exit_code(), crate::error::exit::DAMAGED);
    }

    #[test]
    fn sled_corruption_is_damage_and_other_failures_are_not() {
        let dir = Path::new("/v/db");
        let corrupt = storage_error(dir, sled::Error::Corruption { at: None, bt: () });
        assert!(matches!(corrupt, Error::Corrupt(_)), "{corrupt:?}");
        let full = storage_error(
            dir,
            sled::Error::Io(std::io::Error::from(std::io::ErrorKind::StorageFull)),
        );
        assert!(matches!(full, Error::Storage(_)), "{full:?}");
    }
}
