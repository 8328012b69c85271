//! Recovery from a keyward killed while sled was opening the database.
//!
//! sled 0.34 writes a snapshot of its page table at every open: `db/snap.<LSN>.generating`,
//! synced, renamed to `db/snap.<LSN>`, then the older snapshots removed. At the next open
//! it reads the snapshot file whose name sorts last, and its filter does not leave out
//! `.generating` files (spacejam/sled#1527). A process killed while it wrote one (SIGKILL,
//! Ctrl-C or a power cut in the first milliseconds of any command) left an empty or torn
//! file that sled then took for the newest snapshot, and the vault no longer opened
//! ("Read corrupted data"). tests/crash.rs found it.
//!
//! A snapshot is only an index of sled's log, which holds every change: without the
//! torn file sled starts from the previous snapshot (or none) and replays the log, as
//! it does after any open that was not interrupted. So such files are removed before
//! sled opens the database, and only while no process holds its lock (sled's `flock`
//! on `db/db`): the `.generating` file of a process that has the vault open may be a
//! snapshot it is writing.

use std::fs;
use std::path::Path;

/// Removes the `.generating` snapshot files a killed open left in `vault_dir/db`, when
/// no process has the database open. Best effort: whatever it cannot do, sled reports.
pub(crate) fn remove_torn_snapshots(vault_dir: &Path) {
    let db = vault_dir.join("db");
    let Ok(lock) = fs::File::open(db.join("db")) else {
        return; // no database yet
    };
    if rustix::fs::flock(&lock, rustix::fs::FlockOperation::NonBlockingLockExclusive).is_err() {
        return; // open in a process: its files are its own
    }
    let Ok(entries) = fs::read_dir(&db) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with("snap.") && name.ends_with(".generating") {
            let _ = fs::remove_file(entry.path());
        }
    }
    // Dropping `lock` closes it, which releases the lock for sled.
}
