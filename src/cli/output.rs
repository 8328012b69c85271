//! How the CLI prints entries: a masked table, key/value details, JSON without secrets.

use serde_json::json;

pub use crate::model::display::{age, detail_rows, relative, timestamp, today};
use crate::model::{Entry, EntryMeta};

/// The masked table `list` prints.
pub fn table(entries: &[Entry]) -> String {
    let now = crate::clock::now();
    let today = today();
    let header = [
        "NAME",
        "PROVIDER",
        "ENV",
        "KEY",
        "STATUS",
        "LAST USED",
        "AGE",
    ];
    use std::borrow::Cow;
    let rows: Vec<[Cow<'_, str>; 7]> = entries
        .iter()
        .map(|e| {
            let m = &e.meta;
            [
                Cow::Borrowed(m.name.as_str()),
                Cow::Borrowed(m.provider.as_str()),
                Cow::Borrowed(m.environment.as_str()),
                Cow::Borrowed(m.masked.as_str()),
                Cow::Borrowed(m.status(&today).as_str()),
                Cow::Owned(relative(m.last_used_at, now)),
                Cow::Owned(age(m.created_at, now)),
            ]
        })
        .collect();
    let mut widths = header.map(|h| h.chars().count());
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::with_capacity((rows.len() + 1) * (widths.iter().sum::<usize>() + 14));
    let mut line = |cells: &[&str]| {
        let start = out.len();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            out.push_str(cell);
            if i + 1 < cells.len() {
                let pad = w - cell.chars().count() + 2;
                out.extend(std::iter::repeat_n(' ', pad));
            }
        }
        let end = out[start..].trim_end().len();
        out.truncate(start + end);
        out.push('\n');
    };
    line(&header);
    for row in &rows {
        line(&row.each_ref().map(|c| c.as_ref()));
    }
    out
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
