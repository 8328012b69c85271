//! Memory hygiene of the real binary: the interactive view runs in a pseudo-terminal
//! with its vault unlocked, and the test reads the kernel's view of that process from
//! `/proc/PID`: core dumps off (soft and hard limit 0), locked memory in use (the keys'
//! pages), and the process not dumpable.
//!
//! `/proc/PID/status` has no "Dumpable" line. What shows it: the kernel makes a
//! non-dumpable process's `/proc/PID` entries owned by root, while an ordinary process's
//! belong to its own user. So keyward runs as a user other than root — this one, or,
//! when the test runs as root (as in CI), uid 65534 through `setpriv` — and the owner of
//! its `/proc/PID/status` must be 0. A control spawned the same way (`sleep`) shows the
//! owner is that user for an ordinary process, so the check can fail.
//!
//! No check depends on how long anything took.
#![cfg(target_os = "linux")]

mod support {
    pub mod pty;
}

use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use support::pty::{Pty, SCRUBBED_ENV, Spawn};
use tempfile::TempDir;

const PW: &str = "correct horse battery staple";
const KEY: &str = "sk-proj-HYGcanary7Xw4Vb9Nm2Lk5Jh8Gf3Ds0Qp";
/// The smallest KDF: creating and unlocking take milliseconds.
const TINY_KDF: &str = "[kdf]\nmemory_mib = 1\niterations = 1\nparallelism = 1\n";
/// `nobody` on Debian and most systems; any unprivileged uid would do.
const OTHER_UID: u32 = 65534;

/// Who the processes under test run as.
struct As {
    uid: u32,
    /// Run through `setpriv` (the test is root, so the process must change user).
    switch: bool,
}

impl As {
    fn choose() -> Self {
        let me = rustix::process::getuid().as_raw();
        if me == 0 {
            Self {
                uid: OTHER_UID,
                switch: true,
            }
        } else {
            Self {
                uid: me,
                switch: false,
            }
        }
    }

    /// `program args…` in a pseudo-terminal, as this user.
    fn spawn(&self, program: &str, args: &[&str], dir: &Path, config: &Path) -> Pty {
        let spawn = if self.switch {
            let uid = self.uid.to_string();
            Spawn::program("setpriv")
                .arg(format!("--reuid={uid}"))
                .arg(format!("--regid={uid}"))
                .arg("--clear-groups")
                .arg("--")
                .arg(program)
        } else {
            Spawn::program(program)
        };
        spawn
            .args(args)
            .env("KEYWARD_CONFIG", config)
            .env("HOME", dir)
            .env("XDG_RUNTIME_DIR", dir.join("run"))
            .cwd(dir)
            .spawn()
    }
}

/// A directory the process's user owns, with a config (tiny KDF) and a vault holding
/// one entry, made by the CLI as that user.
struct World {
    dir: TempDir,
    vault: PathBuf,
    config: PathBuf,
}

impl World {
    fn new(who: &As) -> Self {
        // /tmp, not $TMPDIR: another user must be able to reach the directory.
        let dir = tempfile::Builder::new()
            .prefix("keyward-hygiene")
            .tempdir_in(if who.switch {
                PathBuf::from("/tmp")
            } else {
                std::env::temp_dir()
            })
            .unwrap();
        let config = dir.path().join("config.toml");
        std::fs::write(&config, TINY_KDF).unwrap();
        std::fs::create_dir(dir.path().join("run")).unwrap();
        if who.switch {
            for p in [dir.path(), &config, &dir.path().join("run")] {
                std::os::unix::fs::chown(p, Some(who.uid), Some(who.uid)).unwrap();
            }
        }
        let world = Self {
            vault: dir.path().join("vault"),
            dir,
            config,
        };
        world.cli(who, &["init"], "");
        world.cli(who, &["add", "openai-prod"], &format!("{KEY}\n"));
        world
    }

    /// `keyward --vault VAULT ARGS` as the user, with the passphrase in the environment.
    fn cli(&self, who: &As, args: &[&str], stdin: &str) {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_keyward"));
        for key in SCRUBBED_ENV {
            cmd.env_remove(key);
        }
        if who.switch {
            // std clears the supplementary groups when root changes user.
            cmd.uid(who.uid).gid(who.uid);
        }
        let mut child = cmd
            .arg("--vault")
            .arg(&self.vault)
            .args(args)
            .env("KEYWARD_CONFIG", &self.config)
            .env("KEYWARD_PASSPHRASE", PW)
            .env("HOME", self.dir.path())
            .current_dir(self.dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        {
            use std::io::Write;
            child
                .stdin
                .take()
                .unwrap()
                .write_all(stdin.as_bytes())
                .unwrap();
        }
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "keyward {args:?} as uid {} failed: {}",
            who.uid,
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// One line of `/proc/PID/status` (`"Uid"`, `"VmLck"`), without its name.
fn status_field(status: &str, name: &str) -> String {
    status
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
        .unwrap_or_else(|| panic!("no {name} in /proc status:\n{status}"))
        .trim()
        .to_string()
}

/// The soft and hard limit of one `/proc/PID/limits` line (`"Max core file size"`).
fn limits(all: &str, name: &str) -> (String, String) {
    let line = all
        .lines()
        .find(|l| l.starts_with(name))
        .unwrap_or_else(|| panic!("no {name:?} in /proc limits:\n{all}"));
    let mut words = line[name.len()..].split_whitespace();
    let soft = words.next().unwrap().to_string();
    let hard = words.next().unwrap().to_string();
    (soft, hard)
}

/// What `/proc` says about `pid`: its status text, its limits text, and the owner of
/// its `/proc/PID/status`.
fn proc_of(pid: u32) -> (String, String, u32) {
    let status_path = format!("/proc/{pid}/status");
    let status = std::fs::read_to_string(&status_path).unwrap();
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let owner = std::fs::metadata(&status_path).unwrap().uid();
    (status, limits, owner)
}

#[test]
fn the_running_binary_is_hardened() {
    let who = As::choose();
    assert_ne!(who.uid, 0, "the processes under test must not run as root");
    let world = World::new(&who);
    let dir = world.dir.path();
    let vault = world.vault.to_str().unwrap();

    // Control: an ordinary program, spawned the same way, as the same user, is its own
    // /proc owner. If it were not, "owned by root" below would prove nothing.
    let mut control = who.spawn("sleep", &["600"], dir, &world.config);
    let control_pid = control.pid().expect("the control has a pid");
    let (status, _, owner) = proc_of(control_pid);
    // setpriv has changed user before it runs sleep: wait for that, not a timer.
    let mut status = status;
    let mut owner = owner;
    let deadline = std::time::Instant::now() + support::pty::WAIT;
    while !status_field(&status, "Name").starts_with("sleep") {
        assert!(std::time::Instant::now() < deadline, "sleep never started");
        std::thread::sleep(std::time::Duration::from_millis(20));
        (status, _, owner) = proc_of(control_pid);
    }
    let uid_line = status_field(&status, "Uid");
    assert!(
        uid_line
            .split_whitespace()
            .all(|u| u == who.uid.to_string()),
        "the control runs as {uid_line}, not {}",
        who.uid
    );
    assert_eq!(
        owner, who.uid,
        "an ordinary process's /proc/PID/status belongs to its user"
    );
    control.kill();

    // keyward's interactive view, unlocked: it holds the open vault and its keys.
    let keyward = env!("CARGO_BIN_EXE_keyward");
    let mut tui = who.spawn(keyward, &["--vault", vault], dir, &world.config);
    tui.wait_for("Unlock keyward");
    tui.send(format!("{PW}\r"));
    tui.wait_for(" 1 of 1 entries");
    let pid = tui.pid().expect("keyward has a pid");
    let (status, limits_text, owner) = proc_of(pid);
    assert_eq!(status_field(&status, "Name"), "keyward");

    // Core dumps off, for good: soft and hard limit 0.
    assert_eq!(
        limits(&limits_text, "Max core file size"),
        ("0".to_string(), "0".to_string()),
        "{limits_text}"
    );

    // Not dumpable: its /proc entries belong to root although it runs as the user.
    let uid_line = status_field(&status, "Uid");
    assert!(
        uid_line
            .split_whitespace()
            .all(|u| u == who.uid.to_string()),
        "keyward runs as {uid_line}, not {}",
        who.uid
    );
    assert_eq!(
        owner, 0,
        "/proc/{pid}/status of keyward (uid {}) should be owned by root: keyward is dumpable",
        who.uid
    );
    if !who.switch {
        // Another process of the same user cannot read its environment or memory.
        let environ = std::fs::read(format!("/proc/{pid}/environ"));
        assert!(environ.is_err(), "/proc/{pid}/environ was readable");
    }

    // Locked memory: the keys' pages, where keyward's RLIMIT_MEMLOCK allows a few.
    let (soft, _) = limits(&limits_text, "Max locked memory");
    let page = region::page::size();
    let enough = soft == "unlimited" || soft.parse::<u64>().is_ok_and(|b| b >= 64 * 1024);
    let locked_kib: u64 = status_field(&status, "VmLck")
        .trim_end_matches("kB")
        .trim()
        .parse()
        .unwrap();
    if page > 4096 {
        eprintln!(
            "skipped the locked-memory check: pages are {page} bytes here (keyward locks only with 4 KiB pages)"
        );
    } else if !enough {
        eprintln!(
            "skipped the locked-memory check: keyward's RLIMIT_MEMLOCK is {soft} bytes (under 64 KiB)"
        );
    } else {
        assert!(
            locked_kib >= 4,
            "keyward holds an unlocked vault but no locked memory (VmLck {locked_kib} kB)\n{status}"
        );
    }

    tui.send("q");
    tui.wait_exit();
}
