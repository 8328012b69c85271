//! `keyward::transfer::json::parse` (the `import --format json` parser); must not panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = keyward::transfer::json::parse(text, "prod");
});
