//! Derives one Argon2id key with keyward's KDF and prints it as hex, for timing
//! side by side with the reference C implementation (`bench/argon2-compare.sh`).
//!
//! Same interface as the reference `argon2` CLI with `-r`: the password is read from
//! stdin, the salt is the first argument. Parameters are fixed: Argon2id v0x13,
//! 64 MiB, 3 passes, 4 lanes, 32-byte output
//! (`argon2 SALT -id -t 3 -m 16 -p 4 -l 32 -r`).
//!
//! ```text
//! cargo build --release --example kdf_once
//! echo -n pw | target/release/examples/kdf_once somesaltsomesalt
//! ```

use std::io::Read;
use std::process::ExitCode;

use keyward::crypto::{KdfParams, kdf};

const PARAMS: KdfParams = KdfParams {
    memory_kib: 64 * 1024,
    iterations: 3,
    parallelism: 4,
};

fn main() -> ExitCode {
    let Some(salt) = std::env::args().nth(1) else {
        eprintln!("usage: echo -n PASSWORD | kdf_once SALT");
        return ExitCode::from(2);
    };
    let mut password = Vec::new();
    if let Err(e) = std::io::stdin().read_to_end(&mut password) {
        eprintln!("kdf_once: cannot read the password from stdin: {e}");
        return ExitCode::FAILURE;
    }
    match kdf::derive(&password, salt.as_bytes(), &PARAMS) {
        Ok(key) => {
            println!("{}", hex::encode(key.expose()));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("kdf_once: {e}");
            ExitCode::FAILURE
        }
    }
}
