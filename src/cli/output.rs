//! How the CLI prints entries: a masked table, key/value details, JSON without secrets.

use serde_json::json;

use crate::model::{Entry, EntryMeta};

/// `YYYY-MM-DD` of today (UTC).
pub fn today() -> String {
    crate::clock::today()
}

/// A Unix time as `YYYY-MM-DD HH:MM UTC`.
pub fn timestamp(t: i64) -> String {
    jiff::Timestamp::from_second(t)
        .map(|ts| ts.strftime("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|_| "?".into())
}

/// A time relative to now: `now`, `5m ago`, `3h ago`, `12d ago`, `2y ago`.
pub fn relative(t: Option<i64>, now: i64) -> String {
    let Some(t) = t else { return "never".into() };
    let s = (now - t).max(0);
    match s {
        0..60 => "just now".into(),
        60..3600 => format!("{}m ago", s / 60),
        3600..86400 => format!("{}h ago", s / 3600),
        86400..31_536_000 => format!("{}d ago", s / 86400),
        _ => format!("{}y ago", s / 31_536_000),
    }
}

/// An age: `5m`, `3h`, `12d`, `2y`.
pub fn age(t: i64, now: i64) -> String {
    relative(Some(t), now)
        .trim_end_matches(" ago")
        .replace("just now", "<1m")
}

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
    let rows: Vec<[String; 7]> = entries
        .iter()
        .map(|e| {
            let m = &e.meta;
            [
                m.name.clone(),
                m.provider.clone(),
                m.environment.clone(),
                m.masked.clone(),
                m.status(&today).to_string(),
                relative(m.last_used_at, now),
                age(m.created_at, now),
            ]
        })
        .collect();
    let mut widths = header.map(|h| h.chars().count());
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let mut s = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            if i + 1 == cells.len() {
                s.push_str(cell);
            } else {
                s.push_str(cell);
                s.push_str(&" ".repeat(w - cell.chars().count() + 2));
            }
        }
        s.trim_end().to_string() + "\n"
    };
    let mut out = line(&header.map(String::from));
    for row in &rows {
        out.push_str(&line(row));
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

/// Every field of an entry as (label, value) rows, key masked: `show` and the TUI's
/// details view both draw these.
pub fn detail_rows(e: &Entry) -> Vec<(&'static str, String)> {
    let m = &e.meta;
    let p = m.provider_info();
    let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
    let now = crate::clock::now();
    let when = |t: Option<i64>| match t {
        Some(t) => format!("{} ({})", timestamp(t), relative(Some(t), now)),
        None => "never".into(),
    };
    vec![
        ("name", m.name.clone()),
        ("provider", format!("{} ({})", m.provider, p.name)),
        ("environment", m.environment.clone()),
        ("key", m.masked.clone()),
        (
            "fields",
            if m.field_names.is_empty() {
                "-".into()
            } else {
                m.field_names.join(", ")
            },
        ),
        ("status", m.status(&today()).to_string()),
        ("env var", m.env_var.clone()),
        (
            "base url",
            m.base_url.clone().unwrap_or_else(|| {
                if p.base_url.is_empty() {
                    "-".into()
                } else {
                    format!("{} (default)", p.base_url)
                }
            }),
        ),
        ("model", opt(&m.model)),
        ("tier", opt(&m.tier)),
        (
            "tags",
            if m.tags.is_empty() {
                "-".into()
            } else {
                m.tags.join(", ")
            },
        ),
        (
            "notes",
            if m.notes.is_empty() {
                "-".into()
            } else {
                m.notes.clone()
            },
        ),
        ("expires", opt(&m.expires_at)),
        (
            "rotate every",
            m.rotate_every_days
                .map(|d| format!("{d} days"))
                .unwrap_or_else(|| "default".into()),
        ),
        ("rotated", when(m.rotated_at)),
        ("created", when(Some(m.created_at))),
        ("updated", when(Some(m.updated_at))),
        ("last used", when(m.last_used_at)),
        ("uses", m.use_count.to_string()),
        ("last error", opt(&m.last_error)),
        ("errors", m.error_count.to_string()),
        (
            "console",
            if p.console_url.is_empty() {
                "-".into()
            } else {
                p.console_url.to_string()
            },
        ),
        ("id", e.id.to_string()),
    ]
}

/// `show`'s aligned key/value view.
pub fn details(e: &Entry) -> String {
    detail_rows(e)
        .iter()
        .map(|(k, v)| format!("{k:<13}{v}\n"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_times() {
        assert_eq!(relative(None, 100), "never");
        assert_eq!(relative(Some(100), 130), "just now");
        assert_eq!(relative(Some(0), 7200), "2h ago");
        assert_eq!(relative(Some(0), 3 * 86400), "3d ago");
        assert_eq!(age(0, 3 * 86400), "3d");
    }
}
