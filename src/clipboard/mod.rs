//! The clipboard: the system clipboard through arboard (kept out of clipboard history),
//! or OSC 52 written to the terminal over SSH, in tmux or without a display. A copied
//! secret is cleared after a timeout, on lock and on quit — and only if the clipboard
//! still holds it.

pub mod daemon;
mod osc52;
mod system;

use std::time::{Duration, Instant};

use zeroize::Zeroizing;

pub use osc52::Osc52;
pub use system::SystemClipboard;

/// The `clipboard` setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// OSC 52 over SSH or without a display, else the system clipboard.
    #[default]
    Auto,
    /// The system clipboard only.
    System,
    /// OSC 52 only.
    Osc52,
    /// Never copy.
    Off,
}

/// One way of reaching a clipboard.
pub trait Backend: Send {
    /// Puts `text` on the clipboard.
    fn set(&mut self, text: &str) -> Result<(), String>;
    /// What the clipboard holds now; `None` when it cannot be read (OSC 52).
    fn get(&mut self) -> Option<Zeroizing<String>>;
    /// Empties the clipboard.
    fn clear(&mut self) -> Result<(), String>;
    /// How the bar names it ("system clipboard", "terminal clipboard (OSC 52)").
    fn name(&self) -> &'static str;
}

/// What happened when the timer ran out (or on lock or quit).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cleared {
    /// Our value was removed.
    Cleared,
    /// Something else was copied since; it was left alone.
    LeftAlone,
    /// Clearing failed.
    Failed(String),
}

/// The clipboard keyward copies secrets to, with its auto-clear timer.
pub struct Clipboard {
    backend: Result<Box<dyn Backend>, String>,
    timeout: Duration,
    pending: Option<(Zeroizing<String>, Instant)>,
}

impl std::fmt::Debug for Clipboard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Clipboard")
            .field("timeout", &self.timeout)
            .field("pending", &self.pending.is_some())
            .finish()
    }
}

/// True when the session is remote (SSH) — the system clipboard would be the server's.
pub fn over_ssh() -> bool {
    ["SSH_TTY", "SSH_CONNECTION"]
        .iter()
        .any(|v| crate::env::var_os(v).is_some_and(|s| !s.is_empty()))
}

fn has_display() -> bool {
    ["DISPLAY", "WAYLAND_DISPLAY"]
        .iter()
        .any(|v| crate::env::var_os(v).is_some_and(|s| !s.is_empty()))
}

impl Clipboard {
    /// Picks the backend for `mode` from the environment. OSC 52 goes to stdout (the
    /// terminal keyward draws on).
    pub fn from_env(mode: Mode, timeout: Duration) -> Self {
        let backend: Result<Box<dyn Backend>, String> = match mode {
            Mode::Off => Err("copying is off (clipboard = \"off\" in the config)".into()),
            Mode::Osc52 => Ok(Box::new(Osc52::stdout())),
            Mode::System => SystemClipboard::new()
                .map(|c| Box::new(c) as Box<dyn Backend>)
                .map_err(|e| {
                    format!("no system clipboard ({e}); set clipboard = \"osc52\" to copy through the terminal")
                }),
            Mode::Auto if over_ssh() || !has_display() => Ok(Box::new(Osc52::stdout())),
            Mode::Auto => match SystemClipboard::new() {
                Ok(c) => Ok(Box::new(c)),
                Err(_) => Ok(Box::new(Osc52::stdout())),
            },
        };
        Self::with_backend(backend, timeout)
    }

    /// A clipboard over a given backend (or the reason there is none).
    pub fn with_backend(backend: Result<Box<dyn Backend>, String>, timeout: Duration) -> Self {
        Self {
            backend,
            timeout,
            pending: None,
        }
    }

    /// The auto-clear timeout.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Copies `secret` and starts the clear timer. Returns how it was copied, or why
    /// it could not be (never by printing it).
    pub fn copy(&mut self, secret: &str) -> Result<&'static str, String> {
        let backend = self.backend.as_mut().map_err(|e| e.clone())?;
        backend.set(secret)?;
        let name = backend.name();
        self.pending = Some((
            Zeroizing::new(secret.to_string()),
            Instant::now() + self.timeout,
        ));
        Ok(name)
    }

    /// When the pending clear is due, if one is.
    pub fn deadline(&self) -> Option<Instant> {
        self.pending.as_ref().map(|(_, at)| *at)
    }

    /// Clears when the timer has run out; `None` when nothing was due.
    pub fn tick(&mut self, now: Instant) -> Option<Cleared> {
        match self.deadline() {
            Some(at) if now >= at => Some(self.clear_now()),
            _ => None,
        }
    }

    /// Clears now if the clipboard still holds our value (lock, quit).
    pub fn clear_now(&mut self) -> Cleared {
        let Some((ours, _)) = self.pending.take() else {
            return Cleared::LeftAlone;
        };
        let Ok(backend) = self.backend.as_mut() else {
            return Cleared::LeftAlone;
        };
        match backend.get() {
            Some(now) if *now != *ours => Cleared::LeftAlone,
            _ => match backend.clear() {
                Ok(()) => Cleared::Cleared,
                Err(e) => Cleared::Failed(e),
            },
        }
    }

    /// True while a copied secret waits to be cleared.
    pub fn is_pending(&self) -> bool {
        self.pending.is_some()
    }
}

impl Drop for Clipboard {
    fn drop(&mut self) {
        self.clear_now();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// A clipboard in memory, for the clear-only-if-ours logic (no display involved).
    #[derive(Clone, Default)]
    struct Memory(Arc<Mutex<Option<String>>>);

    impl Backend for Memory {
        fn set(&mut self, text: &str) -> Result<(), String> {
            *self.0.lock().unwrap() = Some(text.into());
            Ok(())
        }
        fn get(&mut self) -> Option<Zeroizing<String>> {
            Some(Zeroizing::new(
                self.0.lock().unwrap().clone().unwrap_or_default(),
            ))
        }
        fn clear(&mut self) -> Result<(), String> {
            *self.0.lock().unwrap() = None;
            Ok(())
        }
        fn name(&self) -> &'static str {
            "memory"
        }
    }

    #[test]
    fn clears_after_timeout_only_if_still_ours() {
        let mem = Memory::default();
        let mut c = Clipboard::with_backend(Ok(Box::new(mem.clone())), Duration::from_secs(30));
        c.copy("sk-one").unwrap();
        let due = c.deadline().unwrap();
        assert_eq!(c.tick(due - Duration::from_secs(1)), None);
        assert_eq!(c.tick(due), Some(Cleared::Cleared));
        assert_eq!(*mem.0.lock().unwrap(), None);

        c.copy("sk-two").unwrap();
        *mem.0.lock().unwrap() = Some("something else".into());
        assert_eq!(c.clear_now(), Cleared::LeftAlone);
        assert_eq!(mem.0.lock().unwrap().as_deref(), Some("something else"));
        assert!(!c.is_pending());
    }

    #[test]
    fn no_way_to_copy_is_said() {
        let mut c = Clipboard::with_backend(Err("copying is off".into()), Duration::from_secs(1));
        assert_eq!(c.copy("x").unwrap_err(), "copying is off");
        assert!(!c.is_pending());
    }
}
