//! keyward's binary: parse the command line, run it, turn errors into one line and an
//! exit code. Nothing else lives here.
#![deny(unsafe_code)] // one exception: the allocator's tuning below

use keyward::cli;

// mimalloc rather than glibc's malloc: listing 100,000 entries decodes and frees
// about a million small strings, and glibc's free (chunk consolidation) took a fifth
// of that time; with mimalloc `list` of 100,000 is 367 -> 223 ms (bench/RESULTS.md).
// Its v2 line: v3 reserves a 1 GiB arena and sets up its bitmaps at every start, a
// quarter of a millisecond that each session command paid.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` in mimalloc v2's mimalloc.h (the Rust crate names no
/// constant for it).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Memory freed by one command is kept for a second before it goes back to the
/// system (mimalloc's default: 10 ms). An agent or TUI that lists again then
/// reuses it, where it took fresh, zeroed pages each time: a tenth of listing
/// 100,000 entries was page faults. Secrets are wiped before they are freed
/// (docs/SECURITY.md), so what is kept holds none.
#[allow(unsafe_code)]
fn keep_freed_memory_a_second() {
    // SAFETY: mi_option_set is not thread safe; this runs first in main, before
    // keyward starts any thread. The option is an integer setting, nothing else.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 1000) }
}

fn main() {
    keep_freed_memory_a_second();
    keyward::hygiene::harden(); // first: no core dumps, not dumpable (src/hygiene.rs)
    // A panic must not print its payload (it could name a value) nor a backtrace.
    std::panic::set_hook(Box::new(|info| {
        if keyward::store::panic_is_contained() {
            return; // sled stopped on a damaged database: reported as such, in one line
        }
        let place = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!(
            "keyward: internal error{place}; nothing was saved by the failed step. Please report it."
        );
    }));

    std::process::exit(cli::execute(std::env::args_os().collect()));
}

#[cfg(test)]
mod tests {
    #[test]
    #[allow(unsafe_code)]
    fn option_15_is_mimallocs_purge_delay() {
        // mimalloc documents purge_delay's default as 10 ms; a different index (a
        // new mimalloc) would read another option's value.
        let delay = unsafe { libmimalloc_sys::mi_option_get(super::MI_OPTION_PURGE_DELAY) };
        assert_eq!(delay, 10);
    }
}
