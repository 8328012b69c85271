//! How entries and times are shown, shared by the CLI and the TUI (pure).

use super::Entry;

/// "a" or "an" before `word` ("an OpenAI key", "a Groq key").
pub fn article(word: &str) -> &'static str {
    if word.starts_with(['A', 'E', 'I', 'O', 'U', 'a', 'e', 'i', 'o', 'u', 'x']) {
        "an"
    } else {
        "a"
    }
}

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

/// A Unix time as `YYYY-MM-DD HH:MM` (UTC), for tables.
pub fn minute(t: i64) -> String {
    jiff::Timestamp::from_second(t)
        .map(|ts| ts.strftime("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_else(|_| "?".into())
}

/// One audit event on one line: sequence, time, action, entry, source, detail.
pub fn event_line(e: &super::AuditEvent) -> String {
    format!(
        "{:>5}  {}  {:<8} {:<22} {:<4} {}",
        e.seq,
        minute(e.at),
        e.action.as_str(),
        e.entry.as_deref().unwrap_or("-"),
        e.source.as_str(),
        e.detail
    )
}

/// A time relative to now: `never`, `just now`, `5m ago`, `3h ago`, `12d ago`, `2y ago`.
pub fn relative(t: Option<i64>, now: i64) -> String {
    let mut out = String::new();
    push_relative(&mut out, t, now);
    out
}

/// An age from a time to now: `<1m`, `5m`, `3h`, `12d`, `2y`.
pub fn age(t: i64, now: i64) -> String {
    let mut out = String::new();
    push_age(&mut out, t, now);
    out
}

/// Appends [`relative`]'s text; no formatting machinery (it runs for every row of a
/// table).
pub fn push_relative(out: &mut String, t: Option<i64>, now: i64) {
    match t.map(|t| span(now - t)) {
        None => out.push_str("never"),
        Some(None) => out.push_str("just now"),
        Some(Some((n, unit))) => {
            push_count(out, n);
            out.push(unit);
            out.push_str(" ago");
        }
    }
}

/// Appends [`age`]'s text.
pub fn push_age(out: &mut String, t: i64, now: i64) {
    match span(now - t) {
        None => out.push_str("<1m"),
        Some((n, unit)) => {
            push_count(out, n);
            out.push(unit);
        }
    }
}

/// Appends a count in decimal.
fn push_count(out: &mut String, n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut n = n;
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend(digits[i..].iter().map(|&d| char::from(d)));
}

/// Seconds as a count of their largest unit (m, h, d, y); `None` under a minute.
fn span(seconds: i64) -> Option<(u64, char)> {
    match seconds.max(0).unsigned_abs() {
        0..60 => None,
        s @ 60..3600 => Some((s / 60, 'm')),
        s @ 3600..86400 => Some((s / 3600, 'h')),
        s @ 86400..31_536_000 => Some((s / 86400, 'd')),
        s => Some((s / 31_536_000, 'y')),
    }
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
        // Every unit, multi-digit counts, and a time in the future (a clock set back).
        assert_eq!(relative(Some(0), 59 * 60), "59m ago");
        assert_eq!(age(0, 364 * 86400), "364d");
        assert_eq!(age(0, 120 * 31_536_000), "120y");
        assert_eq!(age(100, 40), "<1m");
        assert_eq!(relative(Some(100), 40), "just now");
        assert_eq!(age(0, 10 * 3600), "10h");
    }
}
