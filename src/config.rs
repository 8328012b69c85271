//! The TOML config file (`~/.config/keyward/config.toml`, or `KEYWARD_CONFIG`).
//! Every key is optional; `assets/config.toml` lists them all with their defaults.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::clipboard;
use crate::error::{Error, Result};

/// The longest clipboard timeout accepted (a day), from the config or the flag.
pub const MAX_CLIPBOARD_TIMEOUT: u64 = 86_400;

/// The longest idle time of an unlocked session, in minutes (a day).
pub const MAX_UNLOCK_TIMEOUT: u64 = 1_440;

/// Env var naming another config file.
pub const ENV_CONFIG: &str = "KEYWARD_CONFIG";

/// Defaults for new vaults' Argon2id parameters (`init` flags and the TUI's create screen).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KdfDefaults {
    /// Memory in MiB (default: 256, at most a quarter of RAM, at least 64).
    pub memory_mib: Option<u32>,
    /// Passes (default: calibrated to about 500 ms, at least 3).
    pub iterations: Option<u32>,
    /// Lanes (default: 4).
    pub parallelism: Option<u32>,
}

/// keyward's settings.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// How to copy: auto, system, osc52, off.
    pub clipboard: clipboard::Mode,
    /// Seconds before a copied secret is cleared.
    pub clipboard_timeout: u64,
    /// Seconds without a key press before the TUI locks (0: never).
    pub idle_lock: u64,
    /// Seconds a revealed secret stays visible.
    pub reveal_timeout: u64,
    /// Minutes without a command before `keyward unlock`'s agent locks the vault.
    pub unlock_timeout: u64,
    /// Earlier versions of a secret kept per entry.
    pub versions_kept: usize,
    /// Rotation policy in days for entries without their own.
    pub rotate_every: u32,
    /// Days a retired key stays readable after a rotation.
    pub grace_days: u32,
    /// Health: "expiring" means within this many days.
    pub expiring_within: u32,
    /// KDF defaults for new vaults.
    pub kdf: KdfDefaults,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            clipboard: clipboard::Mode::Auto,
            clipboard_timeout: 30,
            idle_lock: 300,
            reveal_timeout: 10,
            unlock_timeout: 15,
            versions_kept: 10,
            rotate_every: 90,
            grace_days: 7,
            expiring_within: 14,
            kdf: KdfDefaults::default(),
        }
    }
}

impl Config {
    /// Where the config file is looked for.
    pub fn path() -> Option<PathBuf> {
        if let Some(p) = crate::env::var_os(ENV_CONFIG).filter(|p| !p.is_empty()) {
            return Some(PathBuf::from(p));
        }
        directories::ProjectDirs::from("", "", "keyward")
            .map(|d| d.config_dir().join("config.toml"))
    }

    /// Loads the config file; a missing file gives the defaults.
    pub fn load() -> Result<Self> {
        match Self::path() {
            Some(p) => Self::load_from(&p),
            None => Ok(Self::default()),
        }
    }

    /// Loads `path`; a missing file gives the defaults, a bad one a one-line error.
    pub fn load_from(path: &Path) -> Result<Self> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(e) => return Err(Error::io(format!("cannot read {}", path.display()), e)),
        };
        Self::parse(&text).map_err(|e| {
            Error::Invalid(format!(
                "bad config file {}: {e}; fix it or see assets/config.toml",
                path.display()
            ))
        })
    }

    /// Parses config text, and checks the ranges of its values.
    pub fn parse(text: &str) -> std::result::Result<Self, String> {
        let c = toml::from_str::<Self>(text).map_err(|e| {
            let message = e.message().replace('\n', " ");
            // Name the key: toml's message says what was wrong, its span says where.
            let key = e.span().and_then(|span| {
                let line = text.get(..span.start)?.matches('\n').count();
                let key = text.lines().nth(line)?.split('=').next()?.trim();
                (!key.is_empty() && !key.starts_with('[')).then(|| key.to_string())
            });
            match key {
                Some(k) if !message.contains(&k) => format!("{k}: {message}"),
                _ => message,
            }
        })?;
        let ranges: [(&str, u64, u64, u64); 8] = [
            (
                "clipboard_timeout",
                c.clipboard_timeout,
                1,
                MAX_CLIPBOARD_TIMEOUT,
            ),
            ("idle_lock", c.idle_lock, 0, 7 * 86_400),
            ("reveal_timeout", c.reveal_timeout, 1, 3_600),
            ("unlock_timeout", c.unlock_timeout, 1, MAX_UNLOCK_TIMEOUT),
            ("versions_kept", c.versions_kept as u64, 1, 1_000),
            ("rotate_every", c.rotate_every.into(), 0, 36_500),
            ("grace_days", c.grace_days.into(), 0, 3_650),
            ("expiring_within", c.expiring_within.into(), 0, 3_650),
        ];
        for (key, value, low, high) in ranges {
            if !(low..=high).contains(&value) {
                return Err(format!("{key} = {value} is out of range ({low} to {high})"));
            }
        }
        crate::crypto::kdf::check_choice(c.kdf.memory_mib, c.kdf.iterations, c.kdf.parallelism)
            .map_err(|e| e.to_string())?;
        Ok(c)
    }

    /// The clipboard timeout as a duration.
    pub fn clipboard_timeout(&self) -> Duration {
        Duration::from_secs(self.clipboard_timeout.max(1))
    }

    /// The idle lock, if enabled.
    pub fn idle_lock(&self) -> Option<Duration> {
        (self.idle_lock > 0).then(|| Duration::from_secs(self.idle_lock))
    }

    /// How long a revealed secret stays visible.
    pub fn reveal_timeout(&self) -> Duration {
        Duration::from_secs(self.reveal_timeout.max(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_example_is_the_defaults() {
        let text = include_str!("../assets/config.toml");
        assert_eq!(Config::parse(text).unwrap(), Config::default());
        assert_eq!(Config::parse("").unwrap(), Config::default());
    }

    #[test]
    fn values_and_errors() {
        let c =
            Config::parse("clipboard = \"osc52\"\nidle_lock = 0\n[kdf]\nmemory_mib = 8").unwrap();
        assert_eq!(c.clipboard, clipboard::Mode::Osc52);
        assert_eq!(c.idle_lock(), None);
        assert_eq!(c.kdf.memory_mib, Some(8));
        let err = Config::parse("clipbored = \"off\"").unwrap_err();
        assert!(err.contains("clipbored"), "{err}");
        assert!(Config::parse("clipboard = \"sometimes\"").is_err());
        assert!(!Config::parse("idle_lock = -1").unwrap_err().contains('\n'));
        for bad in [
            "idle_lock = 9223372036854775807",
            "clipboard_timeout = 0",
            "reveal_timeout = 99999",
            "unlock_timeout = 0",
            "versions_kept = 0",
            "[kdf]\nmemory_mib = 5000",
        ] {
            assert!(Config::parse(bad).is_err(), "{bad}");
        }
    }
}
