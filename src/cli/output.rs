//! How the CLI prints entries: a masked table, key/value details, JSON without secrets.

use serde_json::json;

pub use crate::model::display::{age, detail_rows, relative, timestamp, today};
use crate::model::display::{push_age, push_relative};
use crate::model::{Entry, EntryMeta};

/// The masked table `list` and `search` print.
///
/// Each entry's cells are worked out once (its two times written end to end into one
/// buffer), then the lines are written with the column widths: no allocation per row.
pub fn table<'a, I>(entries: I) -> String
where
    I: IntoIterator<Item = &'a Entry>,
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
    let now = crate::clock::now();
    let today = today();
    let mut times = String::new();
    // Per row: the entry, its status, where its two times end in `times`, and the
    // widths of its cells.
    let mut rows = Vec::new();
    let mut widths = HEADER.map(width);
    for e in entries {
        let m = &e.meta;
        let status = m.status(&today).as_str();
        let from = times.len();
        push_relative(&mut times, m.last_used_at, now);
        let mid = times.len();
        push_age(&mut times, m.created_at, now);
        let row_widths = cells(e, status, &times[from..mid], &times[mid..]).map(width);
        for (w, n) in widths.iter_mut().zip(row_widths) {
            *w = (*w).max(n);
        }
        rows.push((e, status, mid, times.len(), row_widths));
    }
    let mut out = String::with_capacity((rows.len() + 1) * (widths.iter().sum::<usize>() + 14));
    let mut line = |cells: [&str; 7], cell_widths: [usize; 7]| {
        for (i, (cell, n)) in cells.into_iter().zip(cell_widths).enumerate() {
            out.push_str(cell);
            if i + 1 < cells.len() {
                pad(&mut out, widths[i] - n + 2);
            }
        }
        out.push('\n');
    };
    line(HEADER, HEADER.map(width));
    let mut from = 0;
    for (e, status, mid, to, cell_widths) in rows {
        line(
            cells(e, status, &times[from..mid], &times[mid..to]),
            cell_widths,
        );
        from = to;
    }
    out
}

/// One entry's cells in the table's order.
fn cells<'a>(e: &'a Entry, status: &'a str, used: &'a str, age: &'a str) -> [&'a str; 7] {
    let m = &e.meta;
    [
        &m.name,
        &m.provider,
        &m.environment,
        &m.masked,
        status,
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
