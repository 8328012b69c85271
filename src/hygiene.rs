//! Memory hygiene: what keeps keys out of core dumps, swap and other processes.
//!
//! - [`harden`] is the first thing `main` does: no core dumps (`RLIMIT_CORE` 0, soft and
//!   hard) and, on Linux, not dumpable (`PR_SET_DUMPABLE` 0), which also keeps other
//!   processes of the same user from attaching a debugger (`ptrace`) or reading
//!   `/proc/PID/mem` and `/proc/PID/environ`.
//! - [`Locked`] holds a value in memory locked into RAM (`mlock`), so the kernel never
//!   writes it to swap. The data key, the passphrase-derived wrap key and the record
//!   cipher with its derived keys live in one (`crate::crypto`).
//!
//! Both are best effort and never make a command fail: a system that refuses (no
//! `prctl`, `RLIMIT_MEMLOCK` used up) leaves keyward working as before, unlocked.

use std::ops::Deref;

use zeroize::ZeroizeOnDrop;

/// Makes this process safe to hold keys: core dumps off for good (the soft and the hard
/// limit to 0, so neither keyward nor anything it starts can turn them back on) and, on
/// Linux, the process not dumpable. Errors are ignored: lowering a limit and clearing
/// the dumpable flag are always allowed, and a system without them has nothing to do.
///
/// After `exec` a program is dumpable again (the kernel resets the flag for a new
/// program), so commands started by `keyward run` are ordinary processes; the core
/// limit of 0 is inherited by them.
pub fn harden() {
    #[cfg(unix)]
    {
        use rustix::process::{Resource, Rlimit, setrlimit};
        let _ = setrlimit(
            Resource::Core,
            Rlimit {
                current: Some(0),
                maximum: Some(0),
            },
        );
    }
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        use rustix::process::{DumpableBehavior, set_dumpable_behavior};
        let _ = set_dumpable_behavior(DumpableBehavior::NotDumpable);
    }
}

/// The size and alignment of a [`Locked`] allocation: one page on the systems keyward
/// runs on. Where pages are larger (some arm64 and POWER kernels use 16 or 64 KiB),
/// two allocations could share a page and unlocking one would unlock the other, so
/// nothing is locked there.
pub const PAGE_SIZE: usize = 4096;

/// A page of its own: page-aligned, and its size a multiple of the page size, so a
/// [`Locked`] allocation never shares a page with anything else. The `Option` lets
/// [`Locked`]'s `Drop` destroy the value in place while its page is still locked.
#[repr(C, align(4096))]
struct Page<T>(Option<T>);

/// A value on pages of its own, locked into RAM (`mlock`) where the system allows it.
///
/// `T` must wipe itself when dropped ([`ZeroizeOnDrop`]: `Zeroizing<[u8; 32]>`, a
/// cipher built with its `zeroize` feature, …). On drop the value is destroyed (and so
/// wiped) in place, then the pages are unlocked, then freed: the value is never on a
/// page that could be swapped out, and an unlock never touches another value's page.
///
/// If locking fails (`RLIMIT_MEMLOCK` reached, not permitted, pages larger than
/// [`PAGE_SIZE`]) the value is kept all the same, unlocked, and nothing is reported:
/// locking is a defence in depth, not a condition for using the vault.
///
/// Build a secret in place (start from zeros, then fill through [`Locked::get_mut`]):
/// a value passed to [`Locked::new`] is moved, and the place it was moved from is not
/// wiped.
pub struct Locked<T: ZeroizeOnDrop> {
    page: Box<Page<T>>,
    /// Unlocks the page when dropped; `None` when it could not be locked.
    guard: Option<region::LockGuard>,
}

impl<T: ZeroizeOnDrop> Locked<T> {
    /// Moves `value` to a page of its own and locks that page if the system allows.
    pub fn new(value: T) -> Self {
        let page = Box::new(Page(Some(value)));
        let guard = lock(&page);
        Self { page, guard }
    }

    /// Whether the value's page is locked into RAM.
    pub fn is_locked(&self) -> bool {
        self.guard.is_some()
    }

    /// The value, to change it in place.
    pub fn get_mut(&mut self) -> &mut T {
        match &mut self.page.0 {
            Some(value) => value,
            None => unreachable!("a Locked value is only taken out when dropped"),
        }
    }
}

/// Locks `page` (its whole allocation) when its pages are its own.
fn lock<T>(page: &Page<T>) -> Option<region::LockGuard> {
    if region::page::size() > std::mem::align_of::<Page<T>>() {
        return None;
    }
    region::lock(std::ptr::from_ref(page), std::mem::size_of::<Page<T>>()).ok()
}

impl<T: ZeroizeOnDrop> Deref for Locked<T> {
    type Target = T;

    fn deref(&self) -> &T {
        match &self.page.0 {
            Some(value) => value,
            None => unreachable!("a Locked value is only taken out when dropped"),
        }
    }
}

impl<T: ZeroizeOnDrop> Drop for Locked<T> {
    fn drop(&mut self) {
        // Destroys the value where it is (its Drop wipes it) while the page is locked,
        self.page.0 = None;
        // then unlocks the page; the Box frees it after this function.
        self.guard = None;
    }
}

impl<T: ZeroizeOnDrop> std::fmt::Debug for Locked<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Locked(<redacted>)")
    }
}

/// Whether this process can lock `pages` pages with room to spare (tests run side by
/// side and lock pages of their own): pages no larger than [`PAGE_SIZE`] and an
/// `RLIMIT_MEMLOCK` of at least four times that. Read as it stands, even for root.
#[cfg(test)]
pub(crate) fn can_lock(pages: usize) -> bool {
    let limit = rustix::process::getrlimit(rustix::process::Resource::Memlock);
    region::page::size() <= PAGE_SIZE
        && limit
            .current
            .is_none_or(|l| l >= (pages * PAGE_SIZE) as u64 * 4)
}

#[cfg(test)]
mod tests {
    use super::*;
    use zeroize::Zeroizing;

    #[test]
    fn a_page_of_its_own() {
        let a = Locked::new(Zeroizing::new([7u8; 32]));
        let b = Locked::new(Zeroizing::new([9u8; 32]));
        assert_eq!(**a, [7u8; 32]);
        assert_eq!(**b, [9u8; 32]);
        for l in [&a, &b] {
            let at = std::ptr::from_ref::<Page<_>>(&l.page) as usize;
            assert_eq!(at % PAGE_SIZE, 0);
        }
        assert_eq!(std::mem::size_of::<Page<Zeroizing<[u8; 32]>>>(), PAGE_SIZE);
        if can_lock(2) {
            assert!(a.is_locked() && b.is_locked());
        } else {
            eprintln!("skipped the lock check: RLIMIT_MEMLOCK is too low here");
        }
        assert_eq!(format!("{a:?}"), "Locked(<redacted>)");
    }

    #[test]
    fn changed_in_place() {
        let mut k = Locked::new(Zeroizing::new([0u8; 32]));
        k.get_mut()[0] = 1;
        assert_eq!(k[0], 1);
    }

    /// Shows up in this process's locked memory while it lives (other tests may lock
    /// pages at the same time, so only "at least one page" is checked).
    #[cfg(target_os = "linux")]
    #[test]
    fn counted_as_locked_memory() {
        if !can_lock(1) {
            eprintln!("skipped: RLIMIT_MEMLOCK is too low to lock a page here");
            return;
        }
        let k = Locked::new(Zeroizing::new([1u8; 32]));
        assert!(k.is_locked());
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let kib: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmLck:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap();
        assert!(kib >= 4, "{status}");
    }

    #[test]
    fn harden_turns_core_dumps_off() {
        // A child process, so the test binary itself keeps its limits.
        if std::env::var_os("KEYWARD_HARDEN_CHILD").is_some() {
            harden();
            let core = rustix::process::getrlimit(rustix::process::Resource::Core);
            assert_eq!((core.current, core.maximum), (Some(0), Some(0)));
            #[cfg(target_os = "linux")]
            assert_eq!(
                rustix::process::dumpable_behavior().unwrap(),
                rustix::process::DumpableBehavior::NotDumpable
            );
            return;
        }
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "hygiene::tests::harden_turns_core_dumps_off"])
            .args(["--nocapture", "--test-threads=1"])
            .env("KEYWARD_HARDEN_CHILD", "1")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && text.contains("1 passed"),
            "{text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
