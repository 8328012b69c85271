//! keyward's binary: parse the command line, run it, turn errors into one line and an
//! exit code. Nothing else lives here.
#![forbid(unsafe_code)]

use keyward::cli;

// mimalloc rather than glibc's malloc: listing 100,000 entries decodes and frees
// about a million small strings, and glibc's free (chunk consolidation) took a fifth
// of that time; with mimalloc `list` of 100,000 is 367 -> 223 ms (bench/RESULTS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
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
