//! The TUI's state and its update function. No terminal, no vault, no clipboard here:
//! `update` turns a message into state changes and [`Effect`]s, which the event loop
//! carries out and answers with more messages.

use std::cell::Cell;
use std::time::{Duration, Instant};

use crossterm::event::KeyEvent;
use zeroize::Zeroizing;

use super::filter::Filter;
use super::form::{Form, Submit};
use super::input::TextInput;
use super::keymap::{self, Command, Context};
use super::wizard::{Step, Wizard};
use crate::model::health::Finding;
use crate::model::{AuditEvent, Secret, VersionInfo};
use crate::model::{Entry, EntryId};
use crate::vault::Passphrase;

/// How long one filter step may scan before a frame is drawn; the scan goes on at
/// the next wake-up (so a keystroke gets its frame within one 60 Hz frame).
pub const FILTER_BUDGET: Duration = Duration::from_millis(8);

/// How long a passing message stays in the bottom bar.
pub const MESSAGE_TIME: Duration = Duration::from_secs(5);

/// The screen under any popup.
#[derive(Debug)]
pub enum Screen {
    /// First start: choose a passphrase.
    Create(PassphraseScreen),
    /// Unlock an existing vault.
    Unlock(PassphraseScreen),
    /// The entry list.
    List,
}

/// The create and unlock screens' state.
#[derive(Debug, Default)]
pub struct PassphraseScreen {
    /// The passphrase being typed.
    pub input: TextInput,
    /// Its confirmation (create only).
    pub confirm: TextInput,
    /// Focus on the confirmation field.
    pub on_confirm: bool,
    /// Show what is typed.
    pub reveal: bool,
    /// Why the last try failed.
    pub error: Option<String>,
}

/// A popup over the list.
#[derive(Debug)]
pub enum Popup {
    /// The selected entry's details.
    Details,
    /// The add / edit form.
    Form(Box<Form>),
    /// Every binding of the screen below.
    Help(Context),
    /// A yes/no question.
    Confirm(Confirm),
    /// The rotation wizard.
    Wizard(Box<Wizard>),
    /// An entry's versions.
    History {
        /// Entry name.
        name: String,
        /// Current first.
        versions: Vec<VersionInfo>,
    },
    /// Health findings and key ages.
    Health(HealthView),
    /// The audit log.
    Audit(AuditView),
}

/// The health view's state.
#[derive(Debug, Default)]
pub struct HealthView {
    /// The findings.
    pub findings: Vec<Finding>,
    /// Selected finding.
    pub selected: usize,
    /// Average key age in days per provider, for the chart.
    pub ages: Vec<(String, u64)>,
}

/// The audit view's state.
#[derive(Debug, Default)]
pub struct AuditView {
    /// Newest first.
    pub events: Vec<AuditEvent>,
    /// First row shown.
    pub offset: usize,
    /// The chain check, one line.
    pub verdict: String,
    /// The chain is intact.
    pub intact: bool,
}

/// What a confirmation is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confirm {
    /// Delete this entry.
    Delete {
        /// Entry name.
        name: String,
        /// How the question describes it.
        label: String,
    },
    /// Leave the form without saving.
    DiscardForm,
}

/// Something the event loop must do for the app.
#[derive(Debug)]
pub enum Effect {
    /// Open the vault with this passphrase (off the UI thread).
    Unlock(Passphrase),
    /// Create the vault with this passphrase (off the UI thread).
    Create(Passphrase),
    /// Save the form.
    Save(Box<Submit>),
    /// Delete the entry.
    Delete(String),
    /// Enable or disable it.
    SetActive(String, bool),
    /// Make it primary.
    MakePrimary(String),
    /// Copy its secret.
    Copy(String),
    /// Decrypt it for a few seconds.
    Reveal(String),
    /// Drop the vault and clear the clipboard.
    Lock,
    /// Load an entry's versions.
    LoadHistory(String),
    /// Compute the health findings.
    LoadHealth,
    /// Load and verify the audit log.
    LoadAudit,
    /// Load an entry's recent audit events (details view).
    LoadEvents(String),
    /// Check an entry's key live (off the UI thread).
    Test(String),
    /// Check a new key live before it is saved (wizard step 4).
    TestNewKey(String, Secret),
    /// Ask the vault whether a new key may replace the current one (wizard step 3).
    CheckRotation(String, Secret),
    /// Save a rotation.
    Rotate {
        /// Entry.
        name: String,
        /// The new key.
        secret: Secret,
        /// Days the old key stays readable.
        grace: u32,
        /// Why.
        reason: String,
        /// Revoke the old version at once.
        revoke_old: bool,
    },
    /// Mark a version revoked.
    Revoke(String, u32),
    /// Leave.
    Quit,
}

/// What the app is told.
#[derive(Debug)]
pub enum Msg {
    /// A key press.
    Key(KeyEvent),
    /// Time passed (timers).
    Tick,
    /// Background work is in progress.
    Busy(String),
    /// The vault is open; its entries.
    Opened(Vec<Entry>),
    /// Unlock or create failed.
    OpenFailed(String),
    /// An entry was saved; `demoted` lost their primary flag.
    Saved {
        /// The entry as stored.
        entry: Entry,
        /// Names that stopped being primary.
        demoted: Vec<String>,
        /// What the bar says.
        message: String,
    },
    /// Saving the form failed (shown in the form).
    SaveFailed(String),
    /// An entry was deleted.
    Removed(EntryId, String),
    /// A secret was copied; the entry's new use count, and how long until clearing.
    Copied {
        /// The entry, with its use recorded.
        entry: Entry,
        /// How it was copied.
        how: String,
        /// When the clipboard will be cleared.
        clears_at: Instant,
    },
    /// A secret to show until `until`.
    Revealed {
        /// Which entry.
        id: EntryId,
        /// The secret.
        secret: Zeroizing<String>,
        /// When it hides again.
        until: Instant,
    },
    /// The clipboard was cleared (or left alone): what the bar says.
    ClipboardDone(String),
    /// An error to show in the bar.
    Error(String),
    /// Idle timeout: lock.
    IdleLock,
    /// An entry's versions.
    History(String, Vec<VersionInfo>),
    /// Health findings and ages by provider.
    Health(Vec<Finding>, Vec<(String, u64)>),
    /// The audit log (oldest first) and the chain's verdict.
    Audit(Vec<AuditEvent>, String, bool),
    /// An entry's recent events.
    Events(String, Vec<AuditEvent>),
    /// A live check finished; the entry as recorded.
    Tested(Entry, String, bool),
    /// The wizard's live check of the new key.
    WizardTested(String),
    /// The vault's verdict on a new key (wizard step 3).
    RotationChecked(Result<(), String>),
    /// A rotation was saved.
    Rotated(Entry, u32),
    /// A version was revoked.
    Revoked(String, u32),
}

/// A message in the bottom bar.
#[derive(Debug, Clone)]
pub struct Notice {
    /// The text.
    pub text: String,
    /// Errors are drawn as such.
    pub error: bool,
    /// When it goes away.
    pub until: Instant,
}

/// The whole TUI state.
#[derive(Debug)]
pub struct App {
    /// Screen under the popups.
    pub screen: Screen,
    /// Popup on top, if any.
    pub popup: Option<Popup>,
    /// The form kept aside while "discard changes?" is asked.
    pub parked_form: Option<Box<Form>>,
    /// All entries (metadata only).
    pub entries: Vec<Entry>,
    /// Rows shown: indices into `entries`.
    pub view: Vec<usize>,
    /// Selected row (index into `view`).
    pub selected: usize,
    /// First row drawn; the list view keeps the selection in sight.
    pub offset: Cell<usize>,
    /// Rows that fit in the list (set by the view, used for PgUp/PgDn).
    pub page: Cell<usize>,
    /// Filter and sort.
    pub filter: Filter,
    /// The filter being typed.
    pub filter_input: TextInput,
    /// Typing in the filter.
    pub filtering: bool,
    /// Bottom-bar message.
    pub notice: Option<Notice>,
    /// Clipboard countdown: what was copied and when it clears.
    pub clipboard: Option<(String, Instant)>,
    /// A revealed secret.
    pub revealed: Option<(EntryId, Zeroizing<String>, Instant)>,
    /// Background work label (spinner).
    pub busy: Option<String>,
    /// Spinner frame.
    pub spin: usize,
    /// Leave the loop.
    pub quit: bool,
    /// Where the vault is (shown in headers).
    pub vault_path: String,
    /// An entry whose key is being checked live.
    pub checking: Option<String>,
    /// Entries left to rotate, one after the other (health view).
    pub rotate_queue: Vec<String>,
    /// Recent audit events of the entry whose details are open.
    pub details_events: Vec<AuditEvent>,
    /// Days a retired key stays readable (the config's).
    pub grace_days: u32,
    /// Today, `YYYY-MM-DD`, for statuses.
    pub today: String,
    /// Current time, Unix seconds, for relative times.
    pub now_unix: i64,
}

impl App {
    /// A new app: the create screen when there is no vault, else unlock.
    pub fn new(vault_path: String, vault_exists: bool) -> Self {
        let pass = PassphraseScreen::default();
        Self {
            screen: if vault_exists {
                Screen::Unlock(pass)
            } else {
                Screen::Create(pass)
            },
            popup: None,
            parked_form: None,
            entries: Vec::new(),
            view: Vec::new(),
            selected: 0,
            offset: Cell::new(0),
            page: Cell::new(10),
            filter: Filter::default(),
            filter_input: TextInput::default(),
            filtering: false,
            notice: None,
            clipboard: None,
            revealed: None,
            busy: None,
            spin: 0,
            quit: false,
            vault_path,
            checking: None,
            rotate_queue: Vec::new(),
            details_events: Vec::new(),
            grace_days: 7,
            today: crate::model::display::today(),
            now_unix: crate::clock::now(),
        }
    }

    /// Where keys go now.
    pub fn context(&self) -> Context {
        match (&self.screen, &self.popup) {
            (Screen::Create(_) | Screen::Unlock(_), _) => Context::Passphrase,
            (_, Some(Popup::Details)) => Context::Details,
            (_, Some(Popup::Form(_))) => Context::Form,
            (_, Some(Popup::Help(_))) => Context::Help,
            (_, Some(Popup::Confirm(_))) => Context::Confirm,
            (_, Some(Popup::Wizard(_))) => Context::Wizard,
            (_, Some(Popup::Health(_))) => Context::Health,
            (_, Some(Popup::Audit(_) | Popup::History { .. })) => Context::Log,
            (Screen::List, None) if self.filtering => Context::Filter,
            (Screen::List, None) => Context::List,
        }
    }

    /// The selected entry.
    pub fn current(&self) -> Option<&Entry> {
        self.view
            .get(self.selected)
            .and_then(|&i| self.entries.get(i))
    }

    /// True when the vault is unlocked.
    pub fn unlocked(&self) -> bool {
        matches!(self.screen, Screen::List)
    }

    fn notify(&mut self, text: impl Into<String>, now: Instant) {
        self.notice = Some(Notice {
            text: text.into(),
            error: false,
            until: now + MESSAGE_TIME,
        });
    }

    fn error(&mut self, text: impl Into<String>, now: Instant) {
        self.notice = Some(Notice {
            text: text.into(),
            error: true,
            until: now + MESSAGE_TIME * 2,
        });
    }

    /// The next moment a timer needs the app (the loop sleeps until then).
    pub fn next_deadline(&self) -> Option<Instant> {
        // Countdowns redraw once a second, on the second.
        let next_second = |at: Instant| {
            let left = at.saturating_duration_since(Instant::now());
            at - Duration::from_secs(left.as_secs())
        };
        [
            // An unfinished filter scan goes on at once.
            self.filter.is_pending().then(Instant::now),
            self.notice.as_ref().map(|n| n.until),
            self.revealed.as_ref().map(|r| next_second(r.2)),
            self.clipboard.as_ref().map(|(_, at)| next_second(*at)),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    fn refresh_view(&mut self) {
        let keep = self.current().map(|e| e.id);
        self.filter.query = self.filter_input.value().to_string();
        self.view = self.filter.view_within(Some(FILTER_BUDGET)).0;
        self.selected = keep
            .and_then(|id| self.view.iter().position(|&i| self.entries[i].id == id))
            .unwrap_or(0)
            .min(self.view.len().saturating_sub(1));
    }

    fn reindex(&mut self) {
        self.filter.reindex(&self.entries);
        self.refresh_view();
    }

    fn set_entries(&mut self, entries: Vec<Entry>) {
        self.entries = entries;
        self.selected = 0;
        self.reindex();
    }

    fn upsert(&mut self, entry: Entry) {
        match self.entries.iter_mut().find(|e| e.id == entry.id) {
            Some(e) => *e = entry,
            None => self.entries.push(entry),
        }
    }

    /// Drops every decrypted thing: entries, revealed secret, form, filter text.
    fn lock(&mut self) {
        for e in &mut self.entries {
            zeroize::Zeroize::zeroize(&mut e.meta);
        }
        self.entries.clear();
        self.view.clear();
        self.revealed = None;
        self.popup = None;
        self.parked_form = None;
        self.rotate_queue.clear();
        self.details_events.clear();
        self.checking = None;
        self.filtering = false;
        self.filter_input.clear();
        self.filter = Filter::default();
        self.clipboard = None;
        self.notice = None;
        self.selected = 0;
        self.screen = Screen::Unlock(PassphraseScreen::default());
    }

    /// Handles one message; returns what the loop must do.
    pub fn update(&mut self, msg: Msg, now: Instant) -> Vec<Effect> {
        self.now_unix = crate::clock::now();
        match msg {
            Msg::Key(key) => return self.on_key(key, now),
            Msg::Tick => {
                if self.filter.is_pending() {
                    self.refresh_view();
                    if self.filtering {
                        self.selected = 0; // the best match, once ranked
                    }
                }
                if self.notice.as_ref().is_some_and(|n| now >= n.until) {
                    self.notice = None;
                }
                if self.revealed.as_ref().is_some_and(|r| now >= r.2) {
                    self.revealed = None;
                }
                self.spin = self.spin.wrapping_add(1);
            }
            Msg::Busy(label) => self.busy = Some(label),
            Msg::Opened(entries) => {
                self.busy = None;
                self.screen = Screen::List;
                self.set_entries(entries);
                if self.entries.is_empty() {
                    self.notify("The vault is empty: press a to add your first key", now);
                }
            }
            Msg::OpenFailed(e) => {
                self.busy = None;
                if let Screen::Create(s) | Screen::Unlock(s) = &mut self.screen {
                    s.error = Some(e);
                    s.input.clear();
                    s.confirm.clear();
                    s.on_confirm = false;
                }
            }
            Msg::Saved {
                entry,
                demoted,
                message,
            } => {
                for e in self
                    .entries
                    .iter_mut()
                    .filter(|e| demoted.contains(&e.meta.name))
                {
                    e.meta.primary = false;
                }
                let id = entry.id;
                self.upsert(entry);
                if matches!(self.popup, Some(Popup::Form(_))) {
                    self.popup = None;
                }
                self.reindex();
                if let Some(pos) = self.view.iter().position(|&i| self.entries[i].id == id) {
                    self.selected = pos;
                }
                let extra = if demoted.is_empty() {
                    String::new()
                } else {
                    format!(" ({} no longer primary)", demoted.join(", "))
                };
                self.notify(format!("{message}{extra}"), now);
            }
            Msg::SaveFailed(e) => match &mut self.popup {
                Some(Popup::Form(form)) => form.error = Some(e),
                Some(Popup::Wizard(w)) => w.error = Some(e),
                _ => self.error(e, now),
            },
            Msg::Removed(id, message) => {
                // Removing shifts the indices the view holds: rebuild it, keeping the
                // selection at the same row (now the next entry).
                let row = self.selected;
                self.entries.retain(|e| e.id != id);
                self.view.clear();
                self.popup = None;
                self.reindex();
                self.selected = row.min(self.view.len().saturating_sub(1));
                self.notify(message, now);
            }
            Msg::Copied {
                entry,
                how,
                clears_at,
            } => {
                let name = entry.meta.name.clone();
                self.upsert(entry);
                self.clipboard = Some((format!("{name} copied to the {how}"), clears_at));
                self.notice = None;
            }
            Msg::Revealed { id, secret, until } => self.revealed = Some((id, secret, until)),
            Msg::ClipboardDone(text) => {
                self.clipboard = None;
                self.notify(text, now);
            }
            Msg::Error(e) => {
                self.busy = None;
                self.checking = None;
                if let Some(Popup::Wizard(w)) = &mut self.popup {
                    w.testing = false;
                    w.validating = false;
                }
                self.error(e, now);
            }
            Msg::History(name, versions) => self.popup = Some(Popup::History { name, versions }),
            Msg::Health(findings, ages) => {
                self.popup = Some(Popup::Health(HealthView {
                    findings,
                    selected: 0,
                    ages,
                }))
            }
            Msg::Audit(mut events, verdict, intact) => {
                events.reverse();
                self.popup = Some(Popup::Audit(AuditView {
                    events,
                    offset: 0,
                    verdict,
                    intact,
                }));
            }
            Msg::Events(name, events) => {
                if self.current().is_some_and(|e| e.meta.name == name) {
                    self.details_events = events;
                }
            }
            Msg::Tested(entry, summary, rejected) => {
                self.checking = None;
                let name = entry.meta.name.clone();
                self.upsert(entry);
                self.refresh_view();
                let text = format!("{name}: {summary}");
                if rejected {
                    self.error(text, now)
                } else {
                    self.notify(text, now)
                }
            }
            Msg::WizardTested(summary) => {
                if let Some(Popup::Wizard(w)) = &mut self.popup {
                    w.testing = false;
                    w.test_result = Some(summary);
                }
            }
            Msg::RotationChecked(result) => {
                if let Some(Popup::Wizard(w)) = &mut self.popup {
                    w.validating = false;
                    match result {
                        Ok(()) => w.next(),
                        Err(e) => w.error = Some(e),
                    }
                }
            }
            Msg::Rotated(entry, old) => {
                let new_version = entry.meta.version;
                let name = entry.meta.name.clone();
                self.upsert(entry);
                self.reindex();
                if let Some(Popup::Wizard(w)) = &mut self.popup {
                    w.new_version = Some(new_version);
                    w.old_revoked = w.revoke_old;
                    w.step = Step::Done;
                }
                self.notify(
                    format!("Rotated {name}: version {old} retired, version {new_version} current"),
                    now,
                );
            }
            Msg::Revoked(name, version) => {
                if let Some(Popup::Wizard(w)) = &mut self.popup {
                    w.old_revoked = true;
                }
                self.notify(format!("Version {version} of {name} marked revoked"), now);
            }
            Msg::IdleLock => {
                if self.unlocked() {
                    self.lock();
                    self.notify("Locked after inactivity", now);
                    return vec![Effect::Lock];
                }
            }
        }
        Vec::new()
    }

    fn on_key(&mut self, key: KeyEvent, now: Instant) -> Vec<Effect> {
        if self.busy.is_some() {
            // While the KDF runs only Ctrl-C does anything.
            return match keymap::lookup(Context::List, &key) {
                Some(Command::Quit) if key.code != crossterm::event::KeyCode::Char('q') => {
                    self.quit = true;
                    vec![Effect::Quit]
                }
                _ => Vec::new(),
            };
        }
        let ctx = self.context();
        let cmd = keymap::lookup(ctx, &key);
        // Ctrl-L locks from any screen of an unlocked vault.
        if cmd == Some(Command::Lock) && self.unlocked() {
            self.lock();
            return vec![Effect::Lock];
        }
        match ctx {
            Context::Passphrase => self.on_passphrase_key(cmd, key),
            Context::Filter => self.on_filter_key(cmd, key),
            Context::Form => self.on_form_key(cmd, key),
            Context::Confirm => self.on_confirm_key(cmd),
            Context::Wizard => self.on_wizard_key(cmd, key),
            Context::Health => self.on_health_key(cmd),
            Context::Log => {
                self.on_log_key(cmd);
                if cmd == Some(Command::Quit) {
                    return self.quit_now();
                }
                Vec::new()
            }
            Context::Help => {
                match cmd {
                    // Back to where help was opened from.
                    Some(Command::Back) => {
                        self.popup = match &self.popup {
                            Some(Popup::Help(Context::Details)) => Some(Popup::Details),
                            _ => None,
                        }
                    }
                    Some(Command::Quit) => return self.quit_now(),
                    _ => {}
                }
                Vec::new()
            }
            Context::List | Context::Details => match cmd {
                Some(c) => self.on_command(c, ctx, now),
                None => Vec::new(),
            },
        }
    }

    fn quit_now(&mut self) -> Vec<Effect> {
        self.quit = true;
        vec![Effect::Quit]
    }

    fn on_passphrase_key(&mut self, cmd: Option<Command>, key: KeyEvent) -> Vec<Effect> {
        let creating = matches!(self.screen, Screen::Create(_));
        let (Screen::Create(s) | Screen::Unlock(s)) = &mut self.screen else {
            return Vec::new();
        };
        match cmd {
            Some(Command::Quit) => return self.quit_now(),
            Some(Command::RevealInput) => s.reveal = !s.reveal,
            Some(Command::NextField | Command::PrevField) if creating => {
                s.on_confirm = !s.on_confirm
            }
            Some(Command::Submit) => {
                if s.input.value().is_empty() {
                    s.error = Some("Type a passphrase first".into());
                    return Vec::new();
                }
                if creating && !s.on_confirm {
                    s.on_confirm = true;
                    return Vec::new();
                }
                if creating && s.input.value() != s.confirm.value() {
                    s.error = Some("The two passphrases differ: type them again".into());
                    s.input.clear();
                    s.confirm.clear();
                    s.on_confirm = false;
                    return Vec::new();
                }
                let Ok(pass) = Passphrase::new(s.input.value().to_string()) else {
                    return Vec::new();
                };
                s.error = None;
                self.busy = Some(if creating {
                    "Calibrating Argon2id and creating the vault".into()
                } else {
                    "Unlocking".into()
                });
                return vec![if creating {
                    Effect::Create(pass)
                } else {
                    Effect::Unlock(pass)
                }];
            }
            _ => {
                let target = if creating && s.on_confirm {
                    &mut s.confirm
                } else {
                    &mut s.input
                };
                if target.handle(key) {
                    s.error = None;
                }
            }
        }
        Vec::new()
    }

    fn on_filter_key(&mut self, cmd: Option<Command>, key: KeyEvent) -> Vec<Effect> {
        match cmd {
            Some(Command::Submit) => self.filtering = false,
            Some(Command::Back) => {
                self.filtering = false;
                self.filter_input.clear();
                self.refresh_view();
            }
            Some(Command::Quit) => return self.quit_now(),
            Some(c @ (Command::Up | Command::Down | Command::PageUp | Command::PageDown)) => {
                self.navigate(c)
            }
            _ => {
                if self.filter_input.handle(key) {
                    self.refresh_view();
                    self.selected = 0;
                }
            }
        }
        Vec::new()
    }

    fn on_form_key(&mut self, cmd: Option<Command>, key: KeyEvent) -> Vec<Effect> {
        let Some(Popup::Form(form)) = &mut self.popup else {
            return Vec::new();
        };
        match cmd {
            Some(Command::NextField) => form.move_focus(1),
            Some(Command::PrevField) => form.move_focus(-1),
            Some(Command::RevealInput) => form.reveal = !form.reveal,
            Some(Command::Quit) => return self.quit_now(),
            Some(Command::Back) => {
                if form.dirty {
                    // The form stays underneath; the question replaces it until answered.
                    let form = match self.popup.take() {
                        Some(Popup::Form(f)) => f,
                        _ => return Vec::new(),
                    };
                    self.parked_form = Some(form);
                    self.popup = Some(Popup::Confirm(Confirm::DiscardForm));
                } else {
                    self.popup = None;
                }
            }
            Some(Command::Submit) => match form.submit() {
                Ok(submit) => return vec![Effect::Save(Box::new(submit))],
                Err(e) => form.error = Some(e),
            },
            _ => form.handle_key(key),
        }
        Vec::new()
    }

    fn on_confirm_key(&mut self, cmd: Option<Command>) -> Vec<Effect> {
        let Some(Popup::Confirm(what)) = &self.popup else {
            return Vec::new();
        };
        let what = what.clone();
        match cmd {
            Some(Command::Yes) => {
                self.popup = None;
                match what {
                    Confirm::Delete { name, .. } => return vec![Effect::Delete(name)],
                    Confirm::DiscardForm => self.parked_form = None,
                }
            }
            Some(Command::No) => {
                self.popup = match what {
                    Confirm::DiscardForm => self.parked_form.take().map(Popup::Form),
                    Confirm::Delete { .. } => None,
                };
            }
            Some(Command::Quit) => return self.quit_now(),
            _ => {}
        }
        Vec::new()
    }

    fn start_wizard(&mut self, name: &str) -> Vec<Effect> {
        let Some(e) = self.entries.iter().find(|e| e.meta.name == name) else {
            return Vec::new();
        };
        let w = Wizard::new(name, &e.meta.provider, e.meta.version, self.grace_days);
        self.popup = Some(Popup::Wizard(Box::new(w)));
        Vec::new()
    }

    /// Closes the wizard; goes on with the next key queued by "rotate every overdue".
    fn close_wizard(&mut self) -> Vec<Effect> {
        self.popup = None;
        if !self.rotate_queue.is_empty() {
            let next = self.rotate_queue.remove(0);
            return self.start_wizard(&next);
        }
        Vec::new()
    }

    fn on_wizard_key(&mut self, cmd: Option<Command>, key: KeyEvent) -> Vec<Effect> {
        let Some(Popup::Wizard(w)) = &mut self.popup else {
            return Vec::new();
        };
        if w.validating || w.testing {
            if cmd == Some(Command::Quit) {
                return self.quit_now();
            }
            return Vec::new();
        }
        // On the paste step letters are the key being typed.
        if w.step == Step::Paste
            && !matches!(
                cmd,
                Some(
                    Command::Next
                        | Command::Prev
                        | Command::Back
                        | Command::RevealInput
                        | Command::Quit
                        | Command::Lock
                )
            )
        {
            if w.input.handle(key) {
                w.error = None;
            }
            return Vec::new();
        }
        match cmd {
            Some(Command::Quit) => return self.quit_now(),
            Some(Command::Back) => {
                // Esc abandons; nothing was saved before Confirm.
                self.rotate_queue.clear();
                return self.close_wizard();
            }
            Some(Command::Prev) if w.step != Step::Done => w.back(),
            Some(Command::Down) if w.step == Step::Why => w.choose(1),
            Some(Command::Up) if w.step == Step::Why => w.choose(-1),
            Some(Command::Toggle)
                if w.step == Step::Why && w.reason == super::wizard::Reason::Compromised =>
            {
                w.revoke_old = !w.revoke_old
            }
            Some(Command::RevealInput) => w.reveal = !w.reveal,
            Some(Command::Test) if w.step == Step::Test => {
                w.testing = true;
                w.test_result = None;
                return vec![Effect::TestNewKey(w.name.clone(), w.secret())];
            }
            Some(Command::Copy) if w.step == Step::Done => {
                return vec![Effect::Copy(w.name.clone())];
            }
            Some(Command::RevokeOld) if w.step == Step::Done && !w.old_revoked => {
                return vec![Effect::Revoke(w.name.clone(), w.old_version)];
            }
            Some(Command::Next) => match w.step {
                Step::Paste => match w.format_check() {
                    None => w.error = Some("Paste the new key first".into()),
                    Some(Err(e)) => w.error = Some(format!("This is not {}: {e}", w.provider.name)),
                    Some(Ok(_)) => {
                        w.validating = true;
                        return vec![Effect::CheckRotation(w.name.clone(), w.secret())];
                    }
                },
                Step::Confirm => {
                    return vec![Effect::Rotate {
                        name: w.name.clone(),
                        secret: w.secret(),
                        grace: w.grace(),
                        reason: w.reason.label().to_string(),
                        revoke_old: w.revoke_old,
                    }];
                }
                Step::Done => return self.close_wizard(),
                _ => w.next(),
            },
            _ => {}
        }
        Vec::new()
    }

    fn on_health_key(&mut self, cmd: Option<Command>) -> Vec<Effect> {
        use crate::model::health::Kind;
        let Some(Popup::Health(h)) = &mut self.popup else {
            return Vec::new();
        };
        let last = h.findings.len().saturating_sub(1);
        match cmd {
            Some(Command::Down) => h.selected = (h.selected + 1).min(last),
            Some(Command::Up) => h.selected = h.selected.saturating_sub(1),
            Some(Command::Back) => self.popup = None,
            Some(Command::Quit) => return self.quit_now(),
            Some(Command::RotateAll) => {
                let mut names: Vec<String> = h
                    .findings
                    .iter()
                    .filter(|f| {
                        matches!(
                            f.kind,
                            Kind::RotationOverdue | Kind::Expired | Kind::Expiring
                        )
                    })
                    .map(|f| f.entry.clone())
                    .collect();
                names.dedup();
                if names.is_empty() {
                    return Vec::new();
                }
                self.rotate_queue = names;
                let first = self.rotate_queue.remove(0);
                return self.start_wizard(&first);
            }
            Some(Command::Open) => {
                let Some(f) = h.findings.get(h.selected).cloned() else {
                    return Vec::new();
                };
                match f.kind {
                    Kind::Unused | Kind::MultiplePrimary => {
                        if let Some(e) = self.entries.iter().find(|e| e.meta.name == f.entry) {
                            self.popup = Some(Popup::Form(Box::new(Form::edit(e))));
                        }
                    }
                    _ => return self.start_wizard(&f.entry),
                }
            }
            _ => {}
        }
        Vec::new()
    }

    fn on_log_key(&mut self, cmd: Option<Command>) {
        let page = self.page.get().max(1);
        match (&mut self.popup, cmd) {
            (_, Some(Command::Back)) => self.popup = None,
            (Some(Popup::Audit(a)), Some(c)) => {
                let last = a.events.len().saturating_sub(1);
                a.offset = match c {
                    Command::Down => (a.offset + 1).min(last),
                    Command::Up => a.offset.saturating_sub(1),
                    Command::PageDown => (a.offset + page).min(last),
                    Command::PageUp => a.offset.saturating_sub(page),
                    Command::Top => 0,
                    Command::Bottom => last,
                    _ => a.offset,
                };
            }
            _ => {}
        }
    }

    fn navigate(&mut self, cmd: Command) {
        let last = self.view.len().saturating_sub(1);
        let page = self.page.get().max(1);
        self.selected = match cmd {
            Command::Up => self.selected.saturating_sub(1),
            Command::Down => (self.selected + 1).min(last),
            Command::Top => 0,
            Command::Bottom => last,
            Command::PageUp => self.selected.saturating_sub(page),
            Command::PageDown => (self.selected + page).min(last),
            _ => self.selected,
        };
    }

    fn on_command(&mut self, cmd: Command, ctx: Context, now: Instant) -> Vec<Effect> {
        let current = self.current().map(|e| e.meta.clone());
        let need = |app: &mut Self| {
            if current.is_none() {
                app.notify("No entry selected: press a to add one", now);
            }
            current.clone()
        };
        match cmd {
            Command::Up
            | Command::Down
            | Command::Top
            | Command::Bottom
            | Command::PageUp
            | Command::PageDown => self.navigate(cmd),
            Command::Open => {
                if let Some(m) = need(self) {
                    self.popup = Some(Popup::Details);
                    self.details_events.clear();
                    return vec![Effect::LoadEvents(m.name)];
                }
            }
            Command::Back => {
                if ctx == Context::Details {
                    self.popup = None;
                } else {
                    self.filter_input.clear();
                    self.filter.provider = None;
                    self.filter.env = None;
                    self.filter.rebase(&self.entries);
                    self.refresh_view();
                }
            }
            Command::Filter => self.filtering = true,
            Command::Sort => {
                self.filter.sort = self.filter.sort.next();
                self.filter.rebase(&self.entries);
                self.refresh_view();
                self.notify(format!("Sorted by {}", self.filter.sort.label()), now);
            }
            Command::ProviderFilter => {
                self.filter.provider = Filter::cycle(
                    &self.filter.provider,
                    self.entries.iter().map(|e| e.meta.provider.clone()),
                );
                self.filter.rebase(&self.entries);
                self.refresh_view();
            }
            Command::EnvFilter => {
                self.filter.env = Filter::cycle(
                    &self.filter.env,
                    self.entries.iter().map(|e| e.meta.environment.clone()),
                );
                self.filter.rebase(&self.entries);
                self.refresh_view();
            }
            Command::Add => self.popup = Some(Popup::Form(Box::new(Form::add()))),
            Command::Edit => {
                if let Some(e) = self.current() {
                    self.popup = Some(Popup::Form(Box::new(Form::edit(e))));
                } else {
                    need(self);
                }
            }
            Command::Delete => {
                if let Some(m) = need(self) {
                    self.popup = Some(Popup::Confirm(Confirm::Delete {
                        label: format!(
                            "{} ({}, {}, {})",
                            m.name, m.provider, m.environment, m.masked
                        ),
                        name: m.name,
                    }));
                }
            }
            Command::ToggleActive => {
                if let Some(m) = need(self) {
                    return vec![Effect::SetActive(m.name, !m.active)];
                }
            }
            Command::Primary => {
                if let Some(m) = need(self) {
                    if m.primary {
                        self.notify(format!("{} is already primary", m.name), now);
                    } else {
                        return vec![Effect::MakePrimary(m.name)];
                    }
                }
            }
            Command::Copy => {
                if let Some(m) = need(self) {
                    return vec![Effect::Copy(m.name)];
                }
            }
            Command::Reveal => {
                if let Some(m) = need(self) {
                    return vec![Effect::Reveal(m.name)];
                }
            }
            Command::Rotate => {
                if let Some(m) = need(self) {
                    return self.start_wizard(&m.name);
                }
            }
            Command::Test => {
                if let Some(m) = need(self) {
                    self.checking = Some(m.name.clone());
                    return vec![Effect::Test(m.name)];
                }
            }
            Command::History => {
                if let Some(m) = need(self) {
                    return vec![Effect::LoadHistory(m.name)];
                }
            }
            Command::Health => return vec![Effect::LoadHealth],
            Command::Audit => return vec![Effect::LoadAudit],
            Command::Help => self.popup = Some(Popup::Help(ctx)),
            Command::Quit => return self.quit_now(),
            Command::Lock => {
                self.lock();
                return vec![Effect::Lock];
            }
            _ => {}
        }
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::test_support::entry;
    use crossterm::event::{KeyCode, KeyModifiers};

    fn key(c: char) -> Msg {
        Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
    }
    fn code(c: KeyCode) -> Msg {
        Msg::Key(KeyEvent::new(c, KeyModifiers::NONE))
    }
    fn ctrl(c: char) -> Msg {
        Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL))
    }
    fn typ(app: &mut App, s: &str) {
        for c in s.chars() {
            app.update(key(c), Instant::now());
        }
    }
    fn unlocked(names: &[(&str, &str, &str)]) -> App {
        let mut app = App::new("/v".into(), true);
        let entries = names.iter().map(|(n, p, e)| entry(n, p, e)).collect();
        app.update(Msg::Opened(entries), Instant::now());
        app
    }
    fn selected_name(app: &App) -> String {
        app.current().unwrap().meta.name.clone()
    }

    #[test]
    fn create_asks_twice_and_refuses_a_mismatch() {
        let now = Instant::now();
        let mut app = App::new("/v".into(), false);
        assert!(matches!(app.screen, Screen::Create(_)));
        typ(&mut app, "pass one");
        assert!(
            app.update(code(KeyCode::Enter), now).is_empty(),
            "Enter moves to the confirmation"
        );
        typ(&mut app, "pass two");
        assert!(app.update(code(KeyCode::Enter), now).is_empty());
        let Screen::Create(s) = &app.screen else {
            panic!()
        };
        assert!(s.error.as_deref().unwrap().contains("differ"));
        assert_eq!(s.input.value(), "", "both fields start again");
        typ(&mut app, "same");
        app.update(code(KeyCode::Enter), now);
        typ(&mut app, "same");
        let effects = app.update(code(KeyCode::Enter), now);
        assert!(matches!(effects.as_slice(), [Effect::Create(_)]));
        assert!(app.busy.is_some(), "the spinner runs while the KDF does");
        // Keys are ignored while busy, but for Ctrl-C.
        assert!(app.update(key('x'), now).is_empty());
        assert!(matches!(
            app.update(ctrl('c'), now).as_slice(),
            [Effect::Quit]
        ));
    }

    #[test]
    fn a_wrong_passphrase_lets_you_retry() {
        let now = Instant::now();
        let mut app = App::new("/v".into(), true);
        assert!(
            app.update(code(KeyCode::Enter), now).is_empty(),
            "nothing typed"
        );
        typ(&mut app, "nope");
        assert!(matches!(
            app.update(code(KeyCode::Enter), now).as_slice(),
            [Effect::Unlock(_)]
        ));
        app.update(Msg::OpenFailed("Wrong passphrase: try again".into()), now);
        let Screen::Unlock(s) = &app.screen else {
            panic!()
        };
        assert_eq!(s.error.as_deref(), Some("Wrong passphrase: try again"));
        assert!(s.input.value().is_empty());
        assert!(app.busy.is_none());
        assert!(matches!(
            app.update(code(KeyCode::Esc), now).as_slice(),
            [Effect::Quit]
        ));
        assert!(app.quit);
    }

    #[test]
    fn navigation_and_paging() {
        let names: Vec<(String, &str, &str)> = (0..30)
            .map(|i| (format!("k{i:02}"), "openai", "prod"))
            .collect();
        let refs: Vec<(&str, &str, &str)> =
            names.iter().map(|(n, p, e)| (n.as_str(), *p, *e)).collect();
        let mut app = unlocked(&refs);
        let now = Instant::now();
        app.page.set(10);
        app.update(key('j'), now);
        app.update(code(KeyCode::Down), now);
        assert_eq!(selected_name(&app), "k02");
        app.update(code(KeyCode::PageDown), now);
        assert_eq!(selected_name(&app), "k12");
        app.update(key('G'), now);
        assert_eq!(selected_name(&app), "k29");
        app.update(key('j'), now);
        assert_eq!(selected_name(&app), "k29", "stops at the end");
        app.update(key('g'), now);
        app.update(key('k'), now);
        assert_eq!(selected_name(&app), "k00");
    }

    #[test]
    fn filter_narrows_and_esc_clears() {
        let mut app = unlocked(&[
            ("openai-prod", "openai", "prod"),
            ("groq-dev", "groq", "dev"),
        ]);
        let now = Instant::now();
        app.update(key('/'), now);
        assert_eq!(app.context(), Context::Filter);
        typ(&mut app, "groq");
        assert_eq!(selected_name(&app), "groq-dev");
        // In the filter, j is text, not a move.
        typ(&mut app, "j");
        assert_eq!(app.filter_input.value(), "groqj");
        app.update(code(KeyCode::Backspace), now);
        app.update(code(KeyCode::Enter), now);
        assert_eq!(app.context(), Context::List, "Enter keeps the filter");
        assert_eq!(app.view.len(), 1);
        app.update(code(KeyCode::Esc), now);
        assert_eq!(app.view.len(), 2);
        // Quick filters.
        app.update(key('E'), now);
        assert_eq!(app.filter.env.as_deref(), Some("dev"));
        assert_eq!(app.view.len(), 1);
        app.update(key('E'), now);
        app.update(key('E'), now);
        assert_eq!(app.filter.env, None);
        app.update(key('s'), now);
        assert_eq!(app.filter.sort, super::super::filter::SortBy::Provider);
        assert_eq!(
            selected_name(&app),
            "openai-prod",
            "the selection follows its entry"
        );
    }

    #[test]
    fn delete_goes_through_a_confirmation_naming_the_entry() {
        let mut app = unlocked(&[("openai-prod", "openai", "prod")]);
        let now = Instant::now();
        app.update(key('d'), now);
        let Some(Popup::Confirm(Confirm::Delete { label, .. })) = &app.popup else {
            panic!()
        };
        assert!(label.contains("openai-prod"));
        assert!(app.update(key('n'), now).is_empty());
        assert!(app.popup.is_none());
        app.update(key('d'), now);
        let effects = app.update(key('y'), now);
        assert!(matches!(effects.as_slice(), [Effect::Delete(n)] if n == "openai-prod"));
        let id = app.current().unwrap().id;
        app.update(Msg::Removed(id, "Deleted openai-prod".into()), now);
        assert!(app.entries.is_empty());
        assert_eq!(app.notice.as_ref().unwrap().text, "Deleted openai-prod");
    }

    #[test]
    fn toggles_copy_reveal_and_primary_ask_the_vault() {
        let mut app = unlocked(&[("a", "openai", "prod"), ("b", "openai", "prod")]);
        let now = Instant::now();
        assert!(
            matches!(app.update(key(' '), now).as_slice(), [Effect::SetActive(n, false)] if n == "a")
        );
        assert!(matches!(app.update(key('c'), now).as_slice(), [Effect::Copy(n)] if n == "a"));
        assert!(matches!(app.update(key('v'), now).as_slice(), [Effect::Reveal(n)] if n == "a"));
        assert!(
            matches!(app.update(key('p'), now).as_slice(), [Effect::MakePrimary(n)] if n == "a")
        );
        // b was primary; a becomes primary and b is demoted.
        app.entries[1].meta.primary = true;
        let mut a = app.entries[0].clone();
        a.meta.primary = true;
        app.update(
            Msg::Saved {
                entry: a,
                demoted: vec!["b".into()],
                message: "a is now primary".into(),
            },
            now,
        );
        assert!(app.entries[0].meta.primary && !app.entries[1].meta.primary);
        assert!(
            app.notice
                .as_ref()
                .unwrap()
                .text
                .contains("b no longer primary")
        );
    }

    #[test]
    fn copy_countdown_and_reveal_expire() {
        let mut app = unlocked(&[("a", "openai", "prod")]);
        let now = Instant::now();
        let e = app.entries[0].clone();
        app.update(
            Msg::Copied {
                entry: e.clone(),
                how: "system clipboard".into(),
                clears_at: now + Duration::from_secs(30),
            },
            now,
        );
        assert!(app.clipboard.as_ref().unwrap().0.contains("a copied"));
        assert!(
            app.next_deadline().is_some(),
            "the countdown wakes the loop"
        );
        app.update(
            Msg::Revealed {
                id: e.id,
                secret: Zeroizing::new("sk-shown".into()),
                until: now + Duration::from_secs(10),
            },
            now,
        );
        assert!(app.revealed.is_some());
        app.update(Msg::Tick, now + Duration::from_secs(11));
        assert!(app.revealed.is_none(), "hidden again after its time");
        app.update(Msg::ClipboardDone("Clipboard cleared".into()), now);
        assert!(app.clipboard.is_none());
    }

    #[test]
    fn form_asks_before_losing_changes() {
        let mut app = unlocked(&[("a", "openai", "prod")]);
        let now = Instant::now();
        app.update(key('a'), now);
        assert_eq!(app.context(), Context::Form);
        app.update(code(KeyCode::Esc), now);
        assert!(app.popup.is_none(), "a clean form just closes");
        app.update(key('a'), now);
        typ(&mut app, "new-name");
        app.update(code(KeyCode::Esc), now);
        assert!(matches!(
            app.popup,
            Some(Popup::Confirm(Confirm::DiscardForm))
        ));
        app.update(key('n'), now);
        let Some(Popup::Form(f)) = &app.popup else {
            panic!("the form comes back")
        };
        assert_eq!(
            f.input(super::super::form::FieldId::Name).unwrap().value(),
            "new-name"
        );
        app.update(code(KeyCode::Esc), now);
        app.update(key('y'), now);
        assert!(app.popup.is_none());
        // A refused save shows in the form.
        app.update(key('e'), now);
        app.update(Msg::SaveFailed("name taken".into()), now);
        let Some(Popup::Form(f)) = &app.popup else {
            panic!()
        };
        assert_eq!(f.error.as_deref(), Some("name taken"));
    }

    #[test]
    fn lock_drops_everything_decrypted() {
        let mut app = unlocked(&[("a", "openai", "prod")]);
        let now = Instant::now();
        app.update(key('/'), now);
        typ(&mut app, "a");
        app.update(code(KeyCode::Enter), now);
        let effects = app.update(ctrl('l'), now);
        assert!(matches!(effects.as_slice(), [Effect::Lock]));
        assert!(app.entries.is_empty() && app.view.is_empty());
        assert_eq!(app.filter_input.value(), "");
        assert!(matches!(app.screen, Screen::Unlock(_)));
        let mut app = unlocked(&[("a", "openai", "prod")]);
        assert!(matches!(
            app.update(Msg::IdleLock, now).as_slice(),
            [Effect::Lock]
        ));
        assert!(!app.unlocked());
        assert!(
            app.update(Msg::IdleLock, now).is_empty(),
            "locking twice does nothing"
        );
    }

    #[test]
    fn help_is_for_the_current_screen() {
        let mut app = unlocked(&[("a", "openai", "prod")]);
        let now = Instant::now();
        app.update(code(KeyCode::Enter), now);
        app.update(key('?'), now);
        assert!(matches!(app.popup, Some(Popup::Help(Context::Details))));
        app.update(code(KeyCode::Esc), now);
        assert!(
            matches!(app.popup, Some(Popup::Details)),
            "back to the details"
        );
        app.update(code(KeyCode::Esc), now);
        app.update(key('?'), now);
        app.update(code(KeyCode::Esc), now);
        assert!(app.popup.is_none(), "help from the list closes to the list");
    }

    #[test]
    fn an_empty_vault_says_how_to_start() {
        let mut app = App::new("/v".into(), true);
        let now = Instant::now();
        app.update(Msg::Opened(Vec::new()), now);
        assert!(app.notice.as_ref().unwrap().text.contains("press a"));
        app.update(key('c'), now);
        assert!(
            app.notice
                .as_ref()
                .unwrap()
                .text
                .contains("No entry selected")
        );
    }
}
