//! How the CLI prints entries: a masked table, key/value details, JSON without secrets.

use serde_json::json;

pub use crate::model::display::{Age, Ago, age, detail_rows, relative, timestamp, today};
use crate::model::{Entry, EntryMeta};

/// The masked table `list` and `search` print.
///
/// Two passes over the entries, widths then lines, with no per-row allocation: at
/// 10,000 entries the time goes to reading each entry's strings from memory.
pub fn table<'a, I>(entries: I) -> String
where
    I: IntoIterator<Item = &'a Entry>,
    I::IntoIter: Clone,
{
    const HEADER: [&str; 7] = [
        "NAME",
        "PROVIDER",
        "ENV",
        "KEY",
        "STATUS",
        "LAST USED",
        "AGE",
    ];
    let entries = entries.into_iter();
    let now = crate::clock::now();
    let today = today();
    let mut times = String::new();
    let mut widths = HEADER.map(width);
    let mut rows = 0;
    for e in entries.clone() {
        rows += 1;
        for (w, cell) in widths.iter_mut().zip(cells(e, &today, now, &mut times)) {
            *w = (*w).max(width(cell));
        }
    }
    let mut out = String::with_capacity((rows + 1) * (widths.iter().sum::<usize>() + 14));
    let mut line = |row: [&str; 7]| {
        for (i, (cell, w)) in row.into_iter().zip(widths).enumerate() {
            out.push_str(cell);
            if i + 1 < row.len() {
                pad(&mut out, w - width(cell) + 2);
            }
        }
        out.push('\n');
    };
    line(HEADER);
    for e in entries {
        line(cells(e, &today, now, &mut times));
    }
    out
}

/// One entry's table cells; the two times are written into `times`.
fn cells<'a>(e: &'a Entry, today: &str, now: i64, times: &'a mut String) -> [&'a str; 7] {
    use std::fmt::Write;
    let m = &e.meta;
    times.clear();
    let _ = write!(times, "{}", Ago(m.last_used_at, now));
    let split = times.len();
    let _ = write!(times, "{}", Age(m.created_at, now));
    let (used, age) = times.split_at(split);
    [
        &m.name,
        &m.provider,
        &m.environment,
        &m.masked,
        m.status(today).as_str(),
        used,
        age,
    ]
}

/// Width of a cell in characters.
fn width(text: &str) -> usize {
    if text.is_ascii() {
        text.len()
    } else {
        text.chars().count()
    }
}

/// Appends `n` spaces.
fn pad(out: &mut String, mut n: usize) {
    const SPACES: &str = "                                                                ";
    while n > 0 {
        let k = n.min(SPACES.len());
        out.push_str(&SPACES[..k]);
        n -= k;
    }
}

/// One entry as JSON: every metadata field, the key masked, never the secret.
pub fn json_entry(e: &Entry) -> serde_json::Value {
    let m: &EntryMeta = &e.meta;
    let ts = |t: Option<i64>| t.map(timestamp);
    json!({
        "id": e.id.to_string(),
        "name": m.name,
        "provider": m.provider,
        "environment": m.environment,
        "env_var": m.env_var,
        "base_url": m.base_url,
        "model": m.model,
        "tier": m.tier,
        "tags": m.tags,
        "notes": m.notes,
        "active": m.active,
        "primary": m.primary,
        "status": m.status(&today()).to_string(),
        "key": m.masked,
        "fields": m.field_names,
        "expires_at": m.expires_at,
        "rotate_every_days": m.rotate_every_days,
        "rotated_at": ts(m.rotated_at),
        "created_at": timestamp(m.created_at),
        "updated_at": timestamp(m.updated_at),
        "last_used_at": ts(m.last_used_at),
        "use_count": m.use_count,
        "last_error": m.last_error,
        "error_count": m.error_count,
    })
}

/// `show`'s aligned key/value view.
pub fn details(e: &Entry) -> String {
    detail_rows(e)
        .iter()
        .map(|(k, v)| format!("{k:<13}{v}\n"))
        .collect()
}
