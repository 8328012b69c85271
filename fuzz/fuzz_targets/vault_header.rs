//! `keyward::store::header::Header::decode`: any bytes; must not panic, and a header it
//! accepts encodes back to exactly the same bytes.
#![no_main]

use keyward::store::header::Header;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(header) = Header::decode(data) {
        assert_eq!(
            header.encode(),
            data,
            "decode then encode changed the bytes"
        );
    }
});
