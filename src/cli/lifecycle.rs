//! Key lifecycle commands: rotate, history, rollback, revoke, health, test, audit.

use clap::Args;
use serde_json::json;

use super::output::timestamp;
use super::{Cli, config, input, open, print, warn};
use crate::check::{self, Outcome};
use crate::clock::{now, parse_date};
use crate::error::{Error, Result, exit};
use crate::model::display::event_line;
use crate::model::health::{self, Policy};
use crate::model::{AuditEvent, VersionInfo};
use crate::vault::AuditCheck;

/// `rotate` flags.
#[derive(Debug, Args)]
pub struct RotateArgs {
    /// Entry name
    pub name: String,
    /// Days the old key stays readable with `get --version` [default: 7, or the config's]
    #[arg(long, value_name = "DAYS")]
    pub grace: Option<u32>,
    /// Why: scheduled, compromised, departure, or any text (kept in the history)
    #[arg(long, value_name = "WHY")]
    pub reason: Option<String>,
    /// New extra field NAME=VALUE (repeatable; else the fields are kept)
    #[arg(long = "field", value_name = "NAME=VALUE")]
    pub fields: Vec<String>,
    /// Store the new key even if it does not match the provider's format
    #[arg(long)]
    pub force: bool,
}

pub(super) fn rotate(cli: &Cli, args: &RotateArgs) -> Result<()> {
    let grace = args.grace.unwrap_or(config(cli)?.grace_days);
    let mut vault = open(cli)?;
    vault.entry(&args.name)?; // a missing entry is said before the key is asked for
    let mut secret = input::secret(&args.name)?;
    secret.fields = super::parse_fields(&args.fields)?;
    let reason = args.reason.clone().unwrap_or_default();
    let before = vault.entry(&args.name)?.meta.version;
    let entry = vault.rotate(&args.name, secret, grace, &reason, args.force)?;
    print(&format!(
        "Rotated {}: version {} is current ({}); version {before} stays readable for {grace} days (keyward get {} --version {before})\n",
        entry.meta.name, entry.meta.version, entry.meta.masked, entry.meta.name
    ))
}

fn version_json(v: &VersionInfo) -> serde_json::Value {
    let ts = |t: Option<i64>| t.map(timestamp);
    json!({
        "version": v.version,
        "status": v.status.to_string(),
        "key": v.masked,
        "created_at": timestamp(v.created_at),
        "retired_at": ts(v.retired_at),
        "grace_until": ts(v.grace_until),
        "revoked_at": ts(v.revoked_at),
        "source": v.source,
        "reason": v.reason,
    })
}

pub(super) fn history(cli: &Cli, name: &str, json: bool) -> Result<()> {
    let vault = open(cli)?;
    let versions = vault.history(name)?;
    if json {
        let arr: Vec<_> = versions.iter().map(version_json).collect();
        return print(&format!("{}\n", serde_json::Value::Array(arr)));
    }
    let t = now();
    let mut out = String::from(
        "VERSION  STATUS   KEY         CREATED           RETIRED           READABLE UNTIL    SOURCE  REASON\n",
    );
    for v in &versions {
        let date = |x: Option<i64>| {
            x.map(timestamp)
                .map(|s| s.get(..16).unwrap_or(&s).to_string())
                .unwrap_or_else(|| "-".into())
        };
        let readable = match (v.status, v.grace_until) {
            (crate::model::VersionStatus::Retired, Some(g)) if g > t => date(Some(g)),
            (crate::model::VersionStatus::Retired, Some(_)) => "grace ended".into(),
            (crate::model::VersionStatus::Current, _) => "(current)".into(),
            _ => "never".into(),
        };
        out.push_str(&format!(
            "{:<8} {:<8} {:<11} {:<17} {:<17} {:<17} {:<7} {}\n",
            v.version,
            v.status.to_string(),
            v.masked,
            date(Some(v.created_at)),
            date(v.retired_at),
            readable,
            v.source,
            v.reason
        ));
    }
    print(&out)
}

pub(super) fn rollback(cli: &Cli, name: &str, to: Option<u32>) -> Result<()> {
    let grace = config(cli)?.grace_days;
    let mut vault = open(cli)?;
    let from = vault.entry(name)?.meta.version;
    let entry = vault.rollback(name, to, grace)?;
    print(&format!(
        "Rolled {name} back to version {} ({}); version {from} is retired\n",
        entry.meta.version, entry.meta.masked
    ))
}

pub(super) fn revoke(cli: &Cli, name: &str, version: u32) -> Result<()> {
    let mut vault = open(cli)?;
    let info = vault.revoke(name, version)?;
    print(&format!(
        "Revoked version {} of {name} ({}): it can never be read again. Revoke it at the provider too.\n",
        info.version, info.masked
    ))
}

pub(super) fn health(cli: &Cli, json: bool, within: Option<u32>) -> Result<i32> {
    let cfg = config(cli)?;
    let vault = open(cli)?;
    let policy = Policy {
        within_days: i64::from(within.unwrap_or(cfg.expiring_within)),
        rotate_every_days: cfg.rotate_every,
        unused_days: 90,
    };
    let findings = health::findings(&vault.list()?, &policy, now());
    if json {
        print(&format!(
            "{}\n",
            serde_json::to_value(&findings).unwrap_or_default()
        ))?;
    } else if findings.is_empty() {
        let n = vault.len();
        let noun = if n == 1 { "entry" } else { "entries" };
        print(&format!("Healthy: {n} {noun}, no findings.\n"))?;
    } else {
        let mut out = String::new();
        for f in &findings {
            out.push_str(&format!(
                "{:<20} {:<18} {}\n",
                f.entry,
                f.kind.label(),
                f.detail
            ));
        }
        out.push_str(&format!("{} findings\n", findings.len()));
        print(&out)?;
    }
    Ok(if findings.is_empty() {
        exit::OK
    } else {
        exit::FINDINGS
    })
}

pub(super) fn test(cli: &Cli, name: &str) -> Result<i32> {
    let mut vault = open(cli)?;
    let entry = vault.entry(name)?;
    let secret = vault.secret(&entry)?;
    let outcome = check::check(
        &entry.meta.provider,
        entry.meta.base_url.as_deref(),
        &secret,
        check::DEFAULT_TIMEOUT,
    );
    drop(secret);
    vault.record_check(name, &outcome.to_result())?;
    let line = format!("{name}: {}", outcome.summary());
    Ok(match outcome {
        Outcome::Valid { .. } => {
            print(&format!("{line}\n"))?;
            exit::OK
        }
        Outcome::Rejected { .. } => {
            warn(&format!("{line}; rotate it: keyward rotate {name}"));
            exit::REJECTED
        }
        Outcome::Unreachable { .. } | Outcome::Unexpected { .. } => {
            warn(&format!("{line}; the key was not judged, try again later"));
            exit::INCONCLUSIVE
        }
    })
}

fn event_json(e: &AuditEvent) -> serde_json::Value {
    json!({
        "seq": e.seq,
        "at": timestamp(e.at),
        "action": e.action.as_str(),
        "entry": e.entry,
        "source": e.source.as_str(),
        "detail": e.detail,
    })
}

pub(super) fn audit(
    cli: &Cli,
    name: Option<&str>,
    since: Option<&str>,
    json: bool,
    verify: bool,
) -> Result<i32> {
    let since = since
        .map(|d| {
            parse_date(d)
                .ok_or_else(|| Error::Invalid(format!("invalid date '{d}': use YYYY-MM-DD")))
        })
        .transpose()?;
    let vault = open(cli)?;
    if verify {
        return match vault.verify_audit()? {
            AuditCheck::Intact { events } => {
                print(&format!(
                    "The audit log is intact: {events} events, chain verified.\n"
                ))?;
                Ok(exit::OK)
            }
            AuditCheck::Broken { reason, .. } => {
                warn(&format!(
                    "the audit log was tampered with: {reason}; restore the vault from a backup"
                ));
                Ok(exit::AUDIT_BROKEN)
            }
        };
    }
    let events = vault.audit(name, since)?;
    if json {
        let arr: Vec<_> = events.iter().map(event_json).collect();
        print(&format!("{}\n", serde_json::Value::Array(arr)))?;
        return Ok(exit::OK);
    }
    let mut out = String::new();
    for e in &events {
        out.push_str(&event_line(e));
        out.push('\n');
    }
    if events.is_empty() {
        out.push_str(&format!(
            "No events{}.\n",
            if name.is_some() {
                " for this entry"
            } else {
                ""
            }
        ));
    }
    print(&out)?;
    Ok(exit::OK)
}
