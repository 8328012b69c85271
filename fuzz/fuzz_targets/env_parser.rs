//! `keyward::transfer::env::parse`: any text, any environment name; must not panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let parsed = keyward::transfer::env::parse(text, "prod");
    // Every reported line is a line of the text (1-based).
    let lines = text.split('\n').count().max(1);
    for item in &parsed.items {
        assert!(
            item.line >= 1 && item.line <= lines,
            "item line out of range"
        );
    }
    for p in &parsed.problems {
        assert!(p.line <= lines, "problem line out of range");
    }
});
