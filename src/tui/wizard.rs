//! The rotation wizard, pure: six steps, Back and Next, nothing saved before the
//! last confirmation.

use super::input::TextInput;
use crate::model::Secret;
use crate::model::display::article;
use crate::model::provider::{self, Provider};

/// The wizard's steps, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Why the key is rotated.
    Why,
    /// Where to make the new key, and the checklist.
    Where,
    /// Paste the new key.
    Paste,
    /// Check it live (may be skipped).
    Test,
    /// The summary; Enter saves.
    Confirm,
    /// Saved: revoke the old key at the provider.
    Done,
}

impl Step {
    /// 1-based number and title, for the header.
    pub fn title(self) -> (u8, &'static str) {
        match self {
            Step::Why => (1, "Why"),
            Step::Where => (2, "Where"),
            Step::Paste => (3, "Paste the new key"),
            Step::Test => (4, "Test"),
            Step::Confirm => (5, "Confirm"),
            Step::Done => (6, "Done"),
        }
    }

    fn back(self) -> Self {
        match self {
            Step::Why | Step::Where => Step::Why,
            Step::Paste => Step::Where,
            Step::Test => Step::Paste,
            Step::Confirm => Step::Test,
            Step::Done => Step::Done,
        }
    }
}

/// Why a key is rotated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// Routine, by policy.
    Scheduled,
    /// The key leaked.
    Compromised,
    /// Someone who had it left.
    Departure,
}

impl Reason {
    /// All of them, in the order shown.
    pub const ALL: [Reason; 3] = [Reason::Scheduled, Reason::Compromised, Reason::Departure];

    /// How it is shown and recorded.
    pub fn label(self) -> &'static str {
        match self {
            Reason::Scheduled => "scheduled",
            Reason::Compromised => "compromised",
            Reason::Departure => "someone left",
        }
    }
}

/// The checklist the seed documents give for a rotation.
pub const CHECKLIST: [&str; 4] = [
    "Create the new key in the provider's console",
    "Test it (step 4 can do it here)",
    "Replace it in your systems (deployments, CI secrets, .env files)",
    "Disable or delete the old key at the provider",
];

/// The wizard's state.
#[derive(Debug)]
pub struct Wizard {
    /// The entry rotated.
    pub name: String,
    /// Its provider.
    pub provider: &'static Provider,
    /// The version being replaced.
    pub old_version: u32,
    /// Current step.
    pub step: Step,
    /// Chosen reason.
    pub reason: Reason,
    /// Compromised: revoke the old version at once (no grace).
    pub revoke_old: bool,
    /// The new key being pasted.
    pub input: TextInput,
    /// Show it in clear.
    pub reveal: bool,
    /// Why the last Next was refused, or the save failed.
    pub error: Option<String>,
    /// The live check of the new key, once done.
    pub test_result: Option<String>,
    /// A live check is running.
    pub testing: bool,
    /// The vault's check of the new key (format, not a kept version) is running.
    pub validating: bool,
    /// The version number the new key got.
    pub new_version: Option<u32>,
    /// The old version was marked revoked here (step 6).
    pub old_revoked: bool,
    /// Days the old key stays readable after a scheduled rotation.
    pub grace_days: u32,
}

impl Wizard {
    /// A wizard for entry `name` of `provider_id`, replacing version `old_version`.
    pub fn new(name: &str, provider_id: &str, old_version: u32, grace_days: u32) -> Self {
        Self {
            name: name.to_string(),
            provider: provider::find(provider_id)
                .unwrap_or(&provider::PROVIDERS[provider::PROVIDERS.len() - 1]),
            old_version,
            step: Step::Why,
            reason: Reason::Scheduled,
            revoke_old: false,
            input: TextInput::default(),
            reveal: false,
            error: None,
            test_result: None,
            testing: false,
            validating: false,
            new_version: None,
            old_revoked: false,
            grace_days,
        }
    }

    /// The new key as typed, trimmed.
    pub fn secret(&self) -> Secret {
        Secret::new(self.input.value())
    }

    /// The format check of the pasted key, as you type.
    pub fn format_check(&self) -> Option<Result<String, String>> {
        let v = self.input.value().trim();
        if v.is_empty() {
            return None;
        }
        let p = self.provider;
        Some(if p.accepts(v) {
            Ok(format!("looks like {} {} key", article(p.name), p.name))
        } else {
            Err(format!("expected {}", p.expected))
        })
    }

    /// Days the old key stays readable: none when compromised.
    pub fn grace(&self) -> u32 {
        if self.reason == Reason::Compromised {
            0
        } else {
            self.grace_days
        }
    }

    /// Moves the reason selection.
    pub fn choose(&mut self, delta: isize) {
        let i = Reason::ALL
            .iter()
            .position(|r| *r == self.reason)
            .unwrap_or(0) as isize;
        let n = Reason::ALL.len() as isize;
        self.reason = Reason::ALL[((i + delta).rem_euclid(n)) as usize];
        self.revoke_old = self.reason == Reason::Compromised;
    }

    /// Goes back one step (not from Done).
    pub fn back(&mut self) {
        self.error = None;
        self.step = self.step.back();
    }

    /// Next from a step that needs nothing from the vault. Paste and Confirm ask the
    /// vault first; the app handles those.
    pub fn next(&mut self) {
        self.error = None;
        self.step = match self.step {
            Step::Why => Step::Where,
            Step::Where => Step::Paste,
            Step::Paste => Step::Test,
            Step::Test => Step::Confirm,
            Step::Confirm | Step::Done => self.step,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_go_back_and_forth() {
        let mut w = Wizard::new("k", "openai", 1, 7);
        assert_eq!(w.step, Step::Why);
        w.choose(1);
        assert_eq!(w.reason, Reason::Compromised);
        assert!(w.revoke_old && w.grace() == 0);
        w.choose(1);
        assert_eq!(w.reason, Reason::Departure);
        assert_eq!(w.grace(), 7);
        w.next();
        w.next();
        assert_eq!(w.step, Step::Paste);
        w.back();
        assert_eq!(w.step, Step::Where);
        assert!(w.format_check().is_none());
        w.input = TextInput::new("sk-short");
        assert!(matches!(w.format_check(), Some(Err(_))));
        assert!(!format!("{w:?}").contains("sk-short"));
    }
}
