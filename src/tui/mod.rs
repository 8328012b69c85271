//! The interactive face (`keyward` with no subcommand).
//!
//! A key goes: keymap → [`app::App::update`] (pure) → [`app::Effect`] → [`Runtime`] →
//! the [`Vault`] (sealed, one flushed transaction) → an [`app::Msg`] back → redraw.
//! One channel feeds the loop: key presses from a reader thread and the results of
//! background work (the KDF). The loop sleeps until the next event or timer: no busy loop.

pub mod app;
pub mod filter;
pub mod form;
pub mod input;
pub mod keymap;
pub mod view;
pub mod wizard;

use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use crossterm::event::{Event as TermEvent, KeyEventKind};
use zeroize::Zeroizing;

use crate::clipboard::{Cleared, Clipboard};
use crate::config::Config;
use crate::crypto::kdf;
use crate::error::{Error, Result};
use crate::model::EntryPatch;
use crate::vault::{self, Vault};
use app::{App, Effect, Msg};
use form::Submit;

/// What wakes the loop.
enum Event {
    Term(TermEvent),
    /// The terminal can no longer be read: quit (restoring it) rather than hang.
    InputClosed,
    Progress(String),
    /// A live check of a stored key finished.
    Checked(String, crate::check::Outcome),
    /// The wizard's live check of a new key finished.
    WizardChecked(crate::check::Outcome),
    Opened(Box<Result<Vault>>),
}

/// The I/O side of the TUI: the vault, the clipboard, background work.
pub struct Runtime {
    dir: PathBuf,
    config: Config,
    vault: Option<Vault>,
    clipboard: Clipboard,
    tx: Sender<Event>,
}

/// Runs the TUI on the vault in `dir` until the user quits.
pub fn run(dir: PathBuf, config: Config) -> Result<()> {
    use std::io::IsTerminal;
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        return Err(Error::Invalid(
            "the interactive view needs a terminal; use a subcommand in scripts (see keyward --help)".into(),
        ));
    }
    let (tx, rx) = mpsc::channel();
    let mut app = App::new(dir.display().to_string(), vault::exists(&dir));
    app.grace_days = config.grace_days;
    let mut runtime = Runtime {
        clipboard: Clipboard::from_env(config.clipboard, config.clipboard_timeout()),
        dir,
        config,
        vault: None,
        tx: tx.clone(),
    };
    let mut terminal =
        ratatui::try_init().map_err(|e| Error::io("cannot set up the terminal", e))?;
    std::thread::spawn(move || {
        while let Ok(ev) = crossterm::event::read() {
            if tx.send(Event::Term(ev)).is_err() {
                return;
            }
        }
        let _ = tx.send(Event::InputClosed);
    });
    let result = runtime.event_loop(&mut terminal, &mut app, &rx);
    runtime.clipboard.clear_now();
    runtime.vault = None;
    ratatui::restore();
    result
}

impl Runtime {
    fn event_loop(
        &mut self,
        terminal: &mut ratatui::DefaultTerminal,
        app: &mut App,
        rx: &Receiver<Event>,
    ) -> Result<()> {
        let mut last_input = Instant::now();
        loop {
            terminal
                .draw(|f| view::draw(app, f))
                .map_err(|e| Error::io("cannot draw", e))?;
            if app.quit {
                return Ok(());
            }
            let now = Instant::now();
            let idle_at = self
                .config
                .idle_lock()
                .filter(|_| app.unlocked())
                .map(|d| last_input + d);
            let spinner = (app.busy.is_some() || app.checking.is_some())
                .then(|| now + Duration::from_millis(100));
            let wake = [
                app.next_deadline(),
                self.clipboard.deadline(),
                idle_at,
                spinner,
            ]
            .into_iter()
            .flatten()
            .min();
            let timeout = wake.map_or(Duration::from_secs(3600), |w| {
                w.saturating_duration_since(now)
            });
            let mut queue = Vec::new();
            match rx.recv_timeout(timeout) {
                Ok(Event::Term(TermEvent::Key(key))) if key.kind == KeyEventKind::Press => {
                    last_input = Instant::now();
                    queue.push(Msg::Key(key));
                }
                Ok(Event::Term(_)) => {} // resize and the like: redraw
                Ok(Event::InputClosed) => return Ok(()),
                Ok(Event::Progress(step)) => queue.push(Msg::Busy(step)),
                Ok(Event::Checked(name, outcome)) => queue.push(self.checked(&name, &outcome)),
                Ok(Event::WizardChecked(outcome)) => {
                    queue.push(Msg::WizardTested(outcome.summary()))
                }
                Ok(Event::Opened(result)) => queue.push(self.opened(*result)),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return Ok(()),
            }
            let now = Instant::now();
            queue.push(Msg::Tick);
            if let Some(cleared) = self.clipboard.tick(now) {
                queue.push(Msg::ClipboardDone(cleared_text(&cleared)));
            }
            if idle_at.is_some_and(|at| now >= at) {
                queue.push(Msg::IdleLock);
            }
            while !queue.is_empty() {
                let msg = queue.remove(0);
                for effect in app.update(msg, now) {
                    queue.extend(self.perform(effect));
                }
            }
        }
    }

    fn opened(&mut self, result: Result<Vault>) -> Msg {
        match result.and_then(|v| v.list().map(|entries| (v, entries))) {
            Ok((mut vault, entries)) => {
                vault.set_source(crate::model::Source::Tui);
                vault.set_versions_kept(self.config.versions_kept);
                self.vault = Some(vault);
                Msg::Opened(entries)
            }
            Err(Error::WrongPassphrase { .. }) => {
                Msg::OpenFailed("Wrong passphrase: try again".into())
            }
            Err(e) => Msg::OpenFailed(e.to_string()),
        }
    }

    /// Records a finished live check in the vault.
    fn checked(&mut self, name: &str, outcome: &crate::check::Outcome) -> Msg {
        let Some(vault) = self.vault.as_mut() else {
            return Msg::Error("The vault was locked before the check finished".into());
        };
        match vault.record_check(name, &outcome.to_result()) {
            Ok(entry) => Msg::Tested(entry, outcome.summary(), outcome.is_rejected()),
            Err(e) => Msg::Error(e.to_string()),
        }
    }

    /// Carries out one effect; answers with messages for the app.
    fn perform(&mut self, effect: Effect) -> Vec<Msg> {
        match effect {
            Effect::Unlock(pass) => {
                let (dir, tx) = (self.dir.clone(), self.tx.clone());
                spawn_opening(tx, move || Vault::open(&dir, &pass));
                Vec::new()
            }
            Effect::Create(pass) => {
                let (dir, tx, config) = (self.dir.clone(), self.tx.clone(), self.config.clone());
                spawn_opening(tx.clone(), move || {
                    let _ = tx.send(Event::Progress(
                        "Calibrating Argon2id on this machine (step 1 of 2)".into(),
                    ));
                    let k = &config.kdf;
                    kdf::choose(k.memory_mib, k.iterations, k.parallelism).and_then(|params| {
                        let _ = tx.send(Event::Progress(format!(
                            "Creating the vault with {params} (step 2 of 2)"
                        )));
                        Vault::create(&dir, &pass, params)
                    })
                });
                Vec::new()
            }
            Effect::Lock => {
                self.vault = None;
                let cleared = self.clipboard.clear_now();
                if cleared == Cleared::Cleared {
                    return vec![Msg::ClipboardDone("Locked; clipboard cleared".into())];
                }
                Vec::new()
            }
            Effect::Quit => {
                self.clipboard.clear_now();
                Vec::new()
            }
            other => vec![
                self.vault_effect(other)
                    .unwrap_or_else(|e| Msg::Error(e.to_string())),
            ],
        }
    }

    /// Effects that need the open vault.
    fn vault_effect(&mut self, effect: Effect) -> Result<Msg> {
        let reveal_for = self.config.reveal_timeout();
        let Some(vault) = self.vault.as_mut() else {
            return Err(Error::Invalid("The vault is locked".into()));
        };
        let saved = |s: vault::Saved, message: String| Msg::Saved {
            entry: s.entry,
            demoted: s.demoted,
            message,
        };
        Ok(match effect {
            Effect::Save(submit) => save(vault, *submit),
            Effect::Delete(name) => {
                let removed = vault.remove(&name)?;
                Msg::Removed(removed.id, format!("Deleted {name}"))
            }
            Effect::SetActive(name, active) => {
                let s = vault.set_active(&name, active)?;
                saved(
                    s,
                    format!("{} {name}", if active { "Enabled" } else { "Disabled" }),
                )
            }
            Effect::MakePrimary(name) => {
                let patch = EntryPatch {
                    primary: Some(true),
                    ..Default::default()
                };
                let s = vault.update(&name, patch)?;
                let m = format!(
                    "{name} is now the primary {} key for {}",
                    s.entry.meta.provider, s.entry.meta.environment
                );
                saved(s, m)
            }
            Effect::Copy(name) => {
                let entry = vault.entry(&name)?;
                let secret = vault.secret(&entry)?;
                let how = self
                    .clipboard
                    .copy(&secret.value)
                    .map_err(|why| Error::Invalid(format!("Cannot copy: {why}")))?;
                // Only a copy that happened counts as a use.
                let entry = vault.record_use(&name, crate::model::Action::Copy, "")?;
                Msg::Copied {
                    entry,
                    how: how.to_string(),
                    clears_at: self.clipboard.deadline().unwrap_or_else(Instant::now),
                }
            }
            Effect::Reveal(name) => {
                let (entry, secret) = vault.reveal(&name)?;
                Msg::Revealed {
                    id: entry.id,
                    secret: Zeroizing::new(secret.value.clone()),
                    until: Instant::now() + reveal_for,
                }
            }
            Effect::LoadHistory(name) => Msg::History(name.clone(), vault.history(&name)?),
            Effect::LoadEvents(name) => {
                let mut events = vault.audit(Some(&name), None)?;
                let keep = events.len().saturating_sub(5);
                events.drain(..keep);
                Msg::Events(name, events)
            }
            Effect::LoadHealth => {
                let entries = vault.list()?;
                let policy = crate::model::health::Policy {
                    within_days: i64::from(self.config.expiring_within),
                    rotate_every_days: self.config.rotate_every,
                    unused_days: 90,
                };
                let now = crate::clock::now();
                let findings = crate::model::health::findings(&entries, &policy, now);
                let mut ages: std::collections::BTreeMap<String, (u64, u64)> = Default::default();
                for e in entries.iter().filter(|e| e.meta.active) {
                    let since = e.meta.rotated_at.unwrap_or(e.meta.created_at);
                    let days = ((now - since).max(0) / crate::clock::DAY) as u64;
                    let slot = ages.entry(e.meta.provider.clone()).or_default();
                    slot.0 += days;
                    slot.1 += 1;
                }
                let ages = ages
                    .into_iter()
                    .map(|(p, (sum, n))| (p, sum / n.max(1)))
                    .collect();
                Msg::Health(findings, ages)
            }
            Effect::LoadAudit => {
                let (verdict, intact) = match vault.verify_audit()? {
                    crate::vault::AuditCheck::Intact { events } => (
                        format!(
                            "Chain verified: {events} events, none removed, reordered or altered"
                        ),
                        true,
                    ),
                    crate::vault::AuditCheck::Broken { reason, .. } => (
                        format!("TAMPERED: {reason}; restore the vault from a backup"),
                        false,
                    ),
                };
                Msg::Audit(vault.audit(None, None)?, verdict, intact)
            }
            Effect::Test(name) => {
                let entry = vault.entry(&name)?;
                let secret = vault.secret(&entry)?;
                spawn_check(&self.tx, &entry, secret, move |o| Event::Checked(name, o));
                Msg::Tick
            }
            Effect::TestNewKey(name, mut secret) => {
                let entry = vault.entry(&name)?;
                if secret.fields.is_empty() {
                    secret.fields = vault.secret(&entry)?.fields.clone();
                }
                spawn_check(&self.tx, &entry, secret, Event::WizardChecked);
                Msg::Tick
            }
            Effect::CheckRotation(name, secret) => Msg::RotationChecked(
                vault
                    .check_rotation(&name, &secret, false)
                    .map_err(|e| e.to_string()),
            ),
            Effect::Rotate {
                name,
                secret,
                grace,
                reason,
                revoke_old,
            } => {
                let old = vault.entry(&name)?.meta.version;
                match vault.rotate(&name, secret, grace, &reason, false) {
                    Ok(mut entry) => {
                        if revoke_old {
                            vault.revoke(&name, old)?;
                            entry = vault.entry(&name)?;
                        }
                        Msg::Rotated(entry, old)
                    }
                    Err(e) => Msg::SaveFailed(e.to_string()),
                }
            }
            Effect::Revoke(name, version) => {
                vault.revoke(&name, version)?;
                Msg::Revoked(name, version)
            }
            Effect::Unlock(_) | Effect::Create(_) | Effect::Lock | Effect::Quit => {
                Msg::Error("internal: not a vault effect".into())
            }
        })
    }
}

/// Saves the form: adds or updates.
fn save(vault: &mut Vault, submit: Submit) -> Msg {
    let result = match submit {
        Submit::Add(new) => vault.add(new).map(|s| (s, "Added")),
        Submit::Update { name, patch } => vault.update(&name, patch).map(|s| (s, "Saved")),
    };
    match result {
        Ok((s, verb)) => Msg::Saved {
            message: format!("{verb} {}", s.entry.meta.name),
            entry: s.entry,
            demoted: s.demoted,
        },
        Err(e) => Msg::SaveFailed(e.to_string()),
    }
}

/// Checks `secret` live with `entry`'s provider on a worker thread; `done` turns the
/// outcome into the event that wakes the loop.
fn spawn_check(
    tx: &Sender<Event>,
    entry: &crate::model::Entry,
    secret: crate::model::Secret,
    done: impl FnOnce(crate::check::Outcome) -> Event + Send + 'static,
) {
    let tx = tx.clone();
    let (provider, base) = (entry.meta.provider.clone(), entry.meta.base_url.clone());
    std::thread::spawn(move || {
        let timeout = crate::check::DEFAULT_TIMEOUT;
        let outcome = crate::check::check(&provider, base.as_deref(), &secret, timeout);
        let _ = tx.send(done(outcome));
    });
}

/// Runs `open` (a KDF: slow) on a worker thread; its result, or a panic turned into
/// an error, comes back as `Event::Opened` so the spinner always stops.
fn spawn_opening(tx: Sender<Event>, open: impl FnOnce() -> Result<Vault> + Send + 'static) {
    std::thread::spawn(move || {
        let result =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(open)).unwrap_or_else(|_| {
                Err(Error::Storage(
                    "the vault could not be opened (internal error)".into(),
                ))
            });
        let _ = tx.send(Event::Opened(Box::new(result)));
    });
}

fn cleared_text(c: &Cleared) -> String {
    match c {
        Cleared::Cleared => "Clipboard cleared".into(),
        Cleared::LeftAlone => "Clipboard left alone: something else was copied since".into(),
        Cleared::Failed(e) => format!("Could not clear the clipboard: {e}"),
    }
}

/// Entries for unit tests of the pure parts.
#[cfg(test)]
pub(crate) mod test_support {
    use crate::model::{Entry, EntryId, EntryMeta};

    /// An active entry with plausible metadata.
    pub fn entry(name: &str, provider: &str, env: &str) -> Entry {
        Entry {
            id: EntryId::generate(),
            rev: 1,
            meta: EntryMeta {
                name: name.into(),
                provider: provider.into(),
                environment: env.into(),
                env_var: "OPENAI_API_KEY".into(),
                base_url: None,
                model: None,
                tier: None,
                tags: vec![format!("{name}-tag")],
                notes: String::new(),
                active: true,
                primary: false,
                expires_at: None,
                rotate_every_days: None,
                rotated_at: None,
                created_at: 1_700_000_000,
                updated_at: 1_700_000_000,
                last_used_at: None,
                use_count: 0,
                last_error: None,
                error_count: 0,
                masked: "sk-p…abcd".into(),
                field_names: vec![],
                version: 1,
                version_source: "cli".into(),
                fingerprint: vec![],
                last_checked_at: None,
            },
        }
    }
}
