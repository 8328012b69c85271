//! Sealed records (`meta`, `secret`, `versions`, `audit`, the audit head), as a vault
//! opens and decodes what it reads from sled: `keyward::vault::records::Codec`, the
//! functions `Vault` itself uses. The first byte picks the record kind (low bits) and
//! the mode (high bit):
//!
//! - raw (high bit set): the rest is a record read from disk. Opening it must fail
//!   cleanly: without the data key no input authenticates.
//! - sealed (high bit clear): the rest is a plaintext (schema byte first). It is sealed
//!   under the fixed key, as the right kind, then opened and decoded: this reaches the
//!   schema check and the postcard decoders, which the AEAD keeps random bytes away
//!   from. A value that decodes must come back the same after encode, seal, open and
//!   decode; the sealed record with any one bit flipped must fail to open.
#![no_main]

use keyward::crypto::DataKey;
use keyward::model::EntryId;
use keyward::vault::records::{Codec, Kind};
use libfuzzer_sys::fuzz_target;

const ID: EntryId = EntryId([0x11; 16]);
const REV: u64 = 3;

fn codec() -> &'static Codec {
    static CODEC: std::sync::OnceLock<Codec> = std::sync::OnceLock::new();
    CODEC.get_or_init(|| Codec::new(&DataKey::from_bytes([0x42; 32]), [0x24; 16]))
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let kind = Kind::ALL[usize::from(mode & 0x7f) % Kind::ALL.len()];
    let codec = codec();
    if mode & 0x80 != 0 {
        assert!(
            codec.open(kind, &ID, rest).is_err(),
            "a record opened without being sealed"
        );
        return;
    }
    let record = codec.seal_plain(kind, &ID, REV, rest);
    if let Ok(rev) = codec.open(kind, &ID, &record) {
        assert_eq!(rev, REV, "the record version changed");
    }
    match kind {
        Kind::Meta => {
            if let Ok(entry) = codec.open_meta(&ID, &record) {
                let again = codec.open_meta(&ID, &codec.seal_meta(&entry));
                assert_eq!(again.ok(), Some(entry), "meta round trip");
            }
        }
        Kind::Secret => {
            if let Ok(secret) = codec.open_secret(&ID, &record) {
                let again = codec.open_secret(&ID, &codec.seal_secret(&ID, REV, &secret));
                assert!(again.ok() == Some(secret), "secret round trip");
            }
        }
        _ => {}
    }
    // One flipped bit anywhere (the fuzzer picks where from the data's length).
    let mut bad = record;
    let bit = data.len().wrapping_mul(31) % (bad.len() * 8);
    bad[bit / 8] ^= 1 << (bit % 8);
    assert!(
        codec.open(kind, &ID, &bad).is_err(),
        "a record with a flipped bit opened"
    );
});
