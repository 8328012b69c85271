//! `keyward::transfer::csv::parse` (the `import --format csv` parser); must not panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = keyward::transfer::csv::parse(text, "prod");
});
