//! Runs the real `keyward` binary on a throwaway vault and captures what a user sees.
//!
//! ```ignore
//! mod support {
//!     pub mod cli;
//! }
//! let v = support::cli::TestVault::new();   // init with a tiny KDF
//! v.run(&["add", "x", "--provider", "custom"], Some("value\n")).ok();
//! let out = v.run(&["get", "x"], None).ok();
//! ```
//!
//! * The child never sees the user's `KEYWARD_*` variables, display or SSH session;
//!   `KEYWARD_VAULT` and `KEYWARD_CONFIG` point into the test's temporary directory,
//!   and `KEYWARD_PASSPHRASE` is the vault's unless the test says otherwise.
//! * Every vault gets the smallest KDF `init` accepts, so tests stay fast.
#![allow(dead_code)]

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use tempfile::TempDir;

/// The passphrase of every test vault.
pub const PW: &str = "correct horse battery staple";

/// The smallest KDF `init` accepts.
pub const TINY_KDF: [&str; 6] = [
    "--kdf-memory-mib",
    "1",
    "--kdf-iterations",
    "1",
    "--kdf-parallelism",
    "1",
];

/// Variables of the test's own environment the child must not inherit.
pub const SCRUBBED: &[&str] = &[
    "KEYWARD_VAULT",
    "KEYWARD_PASSPHRASE",
    "KEYWARD_NEW_PASSPHRASE",
    "KEYWARD_BUNDLE_PASSPHRASE",
    "KEYWARD_CONFIG",
    "KEYWARD_NOW",
    "DISPLAY",
    "WAYLAND_DISPLAY",
    "SSH_TTY",
    "SSH_CONNECTION",
];

/// What one run produced.
pub struct Out {
    /// Exit code (-1 when killed by a signal).
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl fmt::Display for Out {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "exit code: {}\n--- stdout ---\n{}--- stderr ---\n{}--------------",
            self.code, self.stdout, self.stderr
        )
    }
}

impl Out {
    /// Asserts success.
    #[track_caller]
    pub fn ok(self) -> Self {
        assert_eq!(self.code, 0, "expected success\n{self}");
        self
    }

    /// Asserts success with nothing on stderr.
    #[track_caller]
    pub fn ok_quiet(self) -> Self {
        assert_eq!(self.code, 0, "expected success\n{self}");
        assert!(self.stderr.is_empty(), "expected an empty stderr\n{self}");
        self
    }

    /// Asserts failure with `code` and exactly one line on stderr, starting "keyward: ".
    #[track_caller]
    pub fn fails(self, code: i32) -> Self {
        assert_eq!(self.code, code, "expected exit code {code}\n{self}");
        assert_eq!(self.stderr.lines().count(), 1, "expected one line\n{self}");
        assert!(self.stderr.starts_with("keyward: "), "{self}");
        self
    }

    /// Like [`Out::fails`], and also nothing on stdout and a stderr line ending in a
    /// newline. Returns that line without its newline.
    #[track_caller]
    pub fn error(self, code: i32) -> String {
        assert!(
            self.stdout.is_empty(),
            "a failure printed on stdout\n{self}"
        );
        assert!(self.stderr.ends_with('\n'), "{self}");
        self.fails(code).stderr.trim_end().to_string()
    }

    /// stdout parsed as JSON.
    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not valid JSON ({e})\n{self}"))
    }
}

/// A vault in a temporary directory, created with [`TINY_KDF`].
pub struct TestVault {
    /// Keeps the directory alive.
    pub tmp: TempDir,
    /// The vault directory.
    pub dir: PathBuf,
    /// The config file (empty unless the test writes one).
    pub config: PathBuf,
}

impl TestVault {
    /// Creates the vault.
    pub fn new() -> Self {
        let v = Self::uninit();
        let mut args = vec!["init"];
        args.extend(TINY_KDF);
        v.run(&args, None).ok();
        v
    }

    /// The temporary directory and the config file, but no vault yet.
    pub fn uninit() -> Self {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("vault");
        let config = tmp.path().join("config.toml");
        std::fs::write(&config, "").expect("write the config");
        TestVault { tmp, dir, config }
    }

    /// The command for `args`, with the scrubbed environment and the passphrase set.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = command();
        cmd.env("KEYWARD_VAULT", &self.dir)
            .env("KEYWARD_CONFIG", &self.config)
            .env("KEYWARD_PASSPHRASE", PW)
            .current_dir(self.tmp.path())
            .args(args);
        cmd
    }

    /// Runs `args` with `stdin` (nothing when `None`) and waits.
    pub fn run(&self, args: &[&str], stdin: Option<&str>) -> Out {
        run(self.command(args), stdin)
    }

    /// Runs `args` without the passphrase in the environment.
    pub fn run_without_passphrase(&self, args: &[&str], stdin: Option<&str>) -> Out {
        let mut cmd = self.command(args);
        cmd.env_remove("KEYWARD_PASSPHRASE");
        run(cmd, stdin)
    }

    /// A path inside the test's temporary directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.tmp.path().join(name)
    }

    /// The vault directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// The bare `keyward` command with the [`SCRUBBED`] variables removed: no vault, no
/// passphrase, no config set.
pub fn command() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_keyward"));
    for var in SCRUBBED {
        cmd.env_remove(var);
    }
    cmd
}

/// Runs `cmd` with `stdin` and captures its output, which must be UTF-8.
pub fn run(mut cmd: Command, stdin: Option<&str>) -> Out {
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("start keyward");
    if let Some(text) = stdin {
        let mut pipe = child.stdin.take().expect("piped stdin");
        // A command that does not read its stdin may close it first.
        let _ = pipe.write_all(text.as_bytes());
    }
    let out = child.wait_with_output().expect("wait for keyward");
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).expect("stdout is not UTF-8"),
        stderr: String::from_utf8(out.stderr).expect("stderr is not UTF-8"),
    }
}
