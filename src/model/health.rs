//! Health findings, pure: computed from metadata alone (no secret is decrypted).

use std::collections::BTreeMap;

use serde::Serialize;

use super::Entry;
use crate::clock::{DAY, date_of, parse_date};

/// What is wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Past its expiry date.
    Expired,
    /// Expires within the window.
    Expiring,
    /// Not rotated within its policy.
    RotationOverdue,
    /// Not used for 90 days.
    Unused,
    /// The last live check was rejected.
    CheckFailed,
    /// The same secret is stored under another entry.
    DuplicateSecret,
    /// More than one primary for a provider and environment.
    MultiplePrimary,
}

impl Kind {
    /// Short label.
    pub fn label(self) -> &'static str {
        match self {
            Kind::Expired => "expired",
            Kind::Expiring => "expiring",
            Kind::RotationOverdue => "rotation overdue",
            Kind::Unused => "unused",
            Kind::CheckFailed => "check failed",
            Kind::DuplicateSecret => "duplicate secret",
            Kind::MultiplePrimary => "several primaries",
        }
    }
}

/// One finding about one entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// What is wrong.
    pub kind: Kind,
    /// The entry.
    pub entry: String,
    /// Details, one line.
    pub detail: String,
}

/// The rules' parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// "Expiring" means within this many days.
    pub within_days: i64,
    /// Rotation policy for entries without their own.
    pub rotate_every_days: u32,
    /// "Unused" means not used for this many days.
    pub unused_days: i64,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            within_days: 14,
            rotate_every_days: 90,
            unused_days: 90,
        }
    }
}

/// Every finding about `entries` at `now`, by entry name then kind.
pub fn findings(entries: &[Entry], policy: &Policy, now: i64) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut push = |kind, entry: &str, detail: String| {
        out.push(Finding {
            kind,
            entry: entry.to_string(),
            detail,
        })
    };
    for e in entries.iter().filter(|e| e.meta.active) {
        let m = &e.meta;
        if let Some(exp) = m.expires_at.as_deref().and_then(parse_date) {
            // Whole days left, rounded up: a key expiring tomorrow at 00:00 has 1 left.
            let days = (exp - now + DAY - 1).div_euclid(DAY);
            if exp <= now {
                push(
                    Kind::Expired,
                    &m.name,
                    format!("expired on {}", date_of(exp)),
                );
            } else if days <= policy.within_days {
                push(
                    Kind::Expiring,
                    &m.name,
                    format!("expires on {} (in {days} days)", date_of(exp)),
                );
            }
        }
        let every = m.rotate_every_days.unwrap_or(policy.rotate_every_days);
        let since = m.rotated_at.unwrap_or(m.created_at);
        if every > 0 && now - since > i64::from(every) * DAY {
            push(
                Kind::RotationOverdue,
                &m.name,
                format!(
                    "last rotated {} days ago (policy: every {every} days)",
                    (now - since) / DAY
                ),
            );
        }
        let used = m.last_used_at.unwrap_or(m.created_at);
        if now - used > policy.unused_days * DAY {
            let what = if m.last_used_at.is_some() {
                "last used"
            } else {
                "never used; added"
            };
            push(
                Kind::Unused,
                &m.name,
                format!("{what} {} days ago", (now - used) / DAY),
            );
        }
        if m.error_count > 0 && m.last_error.is_some() {
            push(
                Kind::CheckFailed,
                &m.name,
                format!(
                    "last check: {}",
                    m.last_error.as_deref().unwrap_or("rejected")
                ),
            );
        }
    }
    let mut by_fp: BTreeMap<&[u8], Vec<&str>> = BTreeMap::new();
    for e in entries.iter().filter(|e| !e.meta.fingerprint.is_empty()) {
        by_fp
            .entry(&e.meta.fingerprint)
            .or_default()
            .push(&e.meta.name);
    }
    for names in by_fp.values().filter(|n| n.len() > 1) {
        for name in names {
            let others: Vec<&str> = names.iter().filter(|n| *n != name).copied().collect();
            push(
                Kind::DuplicateSecret,
                name,
                format!("same secret as {}", others.join(", ")),
            );
        }
    }
    let mut primaries: BTreeMap<(&str, &str), Vec<&str>> = BTreeMap::new();
    for e in entries.iter().filter(|e| e.meta.active && e.meta.primary) {
        primaries
            .entry((&e.meta.provider, &e.meta.environment))
            .or_default()
            .push(&e.meta.name);
    }
    for ((provider, env), names) in primaries.iter().filter(|(_, n)| n.len() > 1) {
        for name in names {
            push(
                Kind::MultiplePrimary,
                name,
                format!(
                    "one of {} primaries for {provider}/{env}: {}",
                    names.len(),
                    names.join(", ")
                ),
            );
        }
    }
    out.sort_by(|a, b| (&a.entry, a.kind).cmp(&(&b.entry, b.kind)));
    out
}
