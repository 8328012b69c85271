//! The only module that names sled, plus the vault's header file.
//!
//! A vault directory holds `header` (see [`header`]) and `db/`, a sled database with
//! one tree per [`Tree`]. Every change goes through [`Store::apply`]: one sled
//! transaction over all trees, flushed to disk before it returns.

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
    db: sled::Db,
    trees: Vec<sled::Tree>,
    dir: PathBuf,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("dir", &self.dir).finish()
    }
}

fn storage_error(e: sled::Error) -> Error {
    Error::Storage(e.to_string())
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
            match config.open() {
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
                Err(other) => return Err(storage_error(other)),
            }
        };
        let trees = Tree::ALL
            .iter()
            .map(|t| db.open_tree(t.name()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(storage_error)?;
        fs::set_permissions(vault_dir, fs::Permissions::from_mode(0o700)).map_err(|e| {
            Error::io(
                format!("cannot set permissions on {}", vault_dir.display()),
                e,
            )
        })?;
        restrict_permissions(vault_dir)?;
        Ok(Self { db, trees, dir })
    }

    fn tree(&self, tree: Tree) -> &sled::Tree {
        &self.trees[tree as usize]
    }

    /// Reads one value.
    pub fn get(&self, tree: Tree, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.tree(tree)
            .get(key)
            .map(|v| v.map(|v| v.to_vec()))
            .map_err(storage_error)
    }

    /// Calls `f` on every key and value of `tree`, in key order, stopping at the first error.
    pub fn for_each(
        &self,
        tree: Tree,
        mut f: impl FnMut(&[u8], &[u8]) -> Result<()>,
    ) -> Result<()> {
        for item in self.tree(tree).iter() {
            let (k, v) = item.map_err(storage_error)?;
            f(&k, &v)?;
        }
        Ok(())
    }

    /// True when `tree` has no key (reads at most one).
    pub fn is_empty(&self, tree: Tree) -> bool {
        self.tree(tree).is_empty()
    }

    /// Calls `f` on every key and value of `tree` whose key starts with `prefix`.
    pub fn for_each_prefix(
        &self,
        tree: Tree,
        prefix: &[u8],
        mut f: impl FnMut(&[u8], &[u8]) -> Result<()>,
    ) -> Result<()> {
        for item in self.tree(tree).scan_prefix(prefix) {
            let (k, v) = item.map_err(storage_error)?;
            f(&k, &v)?;
        }
        Ok(())
    }

    /// Number of keys in `tree` (sled scans the tree).
    pub fn len(&self, tree: Tree) -> usize {
        self.tree(tree).len()
    }

    /// Applies `batch` as one sled transaction over every tree, then flushes it to disk.
    /// Returns only after the flush: a reported change survives a crash.
    pub fn apply(&self, batch: &Batch) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let result: Result<(), TransactionError<()>> =
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
                });
        result.map_err(|e| match e {
            TransactionError::Storage(e) => storage_error(e),
            TransactionError::Abort(()) => Error::Storage("transaction aborted".into()),
        })?;
        self.flush()
    }

    /// Flushes everything written so far to disk.
    pub fn flush(&self) -> Result<()> {
        self.db.flush().map(|_| ()).map_err(storage_error)
    }

    /// The sled directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}
