//! Backup bundles, in two modes chosen by the first byte:
//!
//! - even: the rest is a bundle file. `crypto::bundle::inspect` (everything checked
//!   before a passphrase) must not panic; when it accepts a header with a tiny KDF,
//!   `crypto::bundle::open` runs too (a wrong passphrase or failed authentication is
//!   expected; a panic is not). Headers asking for a real KDF are not derived: that
//!   would only make the target slow.
//! - odd: the rest is a bundle's plaintext. It is sealed under a fixed passphrase with
//!   a tiny KDF, then read back with `Vault::read_bundle`, which decodes (postcard)
//!   and checks the contents: this reaches the body decoder, which the AEAD keeps
//!   random bytes away from.
#![no_main]

use keyward::Vault;
use keyward::crypto::KdfParams;
use keyward::crypto::bundle;
use keyward::vault::Passphrase;
use libfuzzer_sys::fuzz_target;

const PASS: &str = "fuzz";

/// The smallest Argon2id keyward accepts: cheap enough to run on every input.
const TINY: KdfParams = KdfParams {
    memory_kib: 64,
    iterations: 1,
    parallelism: 1,
};

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode & 1 == 0 {
        if let Ok(header) = bundle::inspect(rest)
            && header.kdf.memory_kib <= 256
            && header.kdf.iterations <= 2
            && header.kdf.parallelism <= 2
        {
            let _ = bundle::open(rest, PASS.as_bytes());
        }
    } else {
        let sealed = bundle::seal(PASS.as_bytes(), &TINY, rest).expect("sealing never fails");
        let pass = Passphrase::new(PASS.to_string()).expect("not empty");
        if let Ok(b) = Vault::read_bundle(&sealed, &pass) {
            let _ = (b.len(), b.is_empty(), b.created_at());
        }
    }
});
