//! keyward's binary: parse the command line, run it, turn errors into one line and an
//! exit code. Nothing else lives here.
#![forbid(unsafe_code)]

use clap::Parser;
use clap::error::ErrorKind;
use keyward::cli::{self, Cli};
use keyward::error::exit;

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

    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => match e.kind() {
            ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
                let _ = e.print();
                std::process::exit(exit::OK);
            }
            _ => {
                let text = e.to_string();
                let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
                let mut first = lines
                    .next()
                    .unwrap_or("invalid arguments")
                    .trim_start_matches("error: ")
                    .to_string();
                // "the following required arguments were not provided:" names them next.
                if first.ends_with(':')
                    && let Some(next) = lines.next()
                {
                    first = format!("{first} {next}");
                }
                eprintln!("keyward: {first}; see `keyward --help`");
                std::process::exit(exit::USAGE);
            }
        },
    };
    let code = match cli::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("keyward: {e}");
            e.exit_code()
        }
    };
    std::process::exit(code);
}
