//! How the CLI prints entries: a masked table, key/value details, JSON without secrets.

use serde_json::json;

pub use crate::model::display::{age, detail_rows, relative, timestamp, today};
use crate::model::{Entry, EntryMeta};

/// The masked table `list` prints.
pub fn table<'a>(entries: impl IntoIterator<Item = &'a Entry>) -> String {
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
    // Each cell with its width in characters, counted once.
    let cell = |text: Cow<'a, str>| {
        let width = if text.is_ascii() {
            text.len()
        } else {
            text.chars().count()
        };
        (text, width)
    };
    let rows: Vec<[(Cow<'a, str>, usize); 7]> = entries
        .into_iter()
        .map(|e| {
            let m = &e.meta;
            [
                cell(Cow::Borrowed(m.name.as_str())),
                cell(Cow::Borrowed(m.provider.as_str())),
                cell(Cow::Borrowed(m.environment.as_str())),
                cell(Cow::Borrowed(m.masked.as_str())),
                cell(Cow::Borrowed(m.status(&today).as_str())),
                cell(Cow::Owned(relative(m.last_used_at, now))),
                cell(Cow::Owned(age(m.created_at, now))),
            ]
        })
        .collect();
    let header = header.map(|h| cell(Cow::Borrowed(h)));
    let mut widths = [0; 7];
    for row in std::iter::once(&header).chain(&rows) {
        for (w, (_, n)) in widths.iter_mut().zip(row) {
            *w = (*w).max(*n);
        }
    }
    let mut out = String::with_capacity((rows.len() + 1) * (widths.iter().sum::<usize>() + 14));
    for row in std::iter::once(&header).chain(&rows) {
        let start = out.len();
        for (i, ((text, n), w)) in row.iter().zip(widths).enumerate() {
            out.push_str(text);
            if i + 1 < row.len() {
                pad(&mut out, w - n + 2);
            }
        }
        let end = out[start..].trim_end().len();
        out.truncate(start + end);
        out.push('\n');
    }
    out
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
