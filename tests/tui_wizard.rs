//! The rotation wizard, end to end: the real binary in a pseudo-terminal, from the list
//! through every step to the confirmation, then the vault checked with the CLI.

mod support {
    pub mod pty;
}

use std::process::{Command, Stdio};

use serde_json::Value;
use support::pty::{SCRUBBED_ENV, Spawn, keys};

const PW: &str = "wizard passphrase";
const OLD: &str = "sk-proj-OLDOLDOLDOLDOLDOLDOLDOLDOLD1";
const NEW: &str = "sk-proj-NEWNEWNEWNEWNEWNEWNEWNEWNEW2";

struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("config.toml"),
            "[kdf]\nmemory_mib = 1\niterations = 1\nparallelism = 1\n",
        )
        .unwrap();
        let f = Self { dir };
        f.cli(&["init"], "");
        f.cli(&["add", "openai-prod"], &format!("{OLD}\n"));
        f
    }

    fn cli(&self, args: &[&str], stdin: &str) -> String {
        use std::io::Write;
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_keyward"));
        for k in SCRUBBED_ENV {
            cmd.env_remove(k);
        }
        let mut child = cmd
            .arg("--vault")
            .arg(self.dir.path().join("v"))
            .args(args)
            .env("KEYWARD_PASSPHRASE", PW)
            .env("KEYWARD_CONFIG", self.dir.path().join("config.toml"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn tui(&self) -> support::pty::Pty {
        let mut tui = Spawn::keyward()
            .arg("--vault")
            .arg(self.dir.path().join("v"))
            .env("KEYWARD_CONFIG", self.dir.path().join("config.toml"))
            .size(120, 36)
            .spawn();
        tui.wait_for("Unlock");
        tui.send(format!("{PW}\r"));
        tui.wait_for("openai-prod");
        tui
    }

    fn history(&self) -> Vec<Value> {
        match serde_json::from_str(&self.cli(&["history", "openai-prod", "--json"], "")).unwrap() {
            Value::Array(a) => a,
            other => panic!("{other}"),
        }
    }
}

#[test]
fn the_wizard_walks_from_the_list_to_the_confirmation_and_saves_once() {
    let f = Fixture::new();
    let mut tui = f.tui();
    tui.send("r");
    tui.wait_for_all(&["Step 1 of 6", "scheduled", "compromised", "someone left"]);
    tui.send(keys::ENTER);
    tui.wait_for_all(&[
        "Step 2 of 6",
        "platform.openai.com/api-keys",
        "Replace it in your systems",
    ]);
    tui.send(keys::ENTER);
    tui.wait_for("Step 3 of 6");
    // The current key is refused in place.
    tui.send(OLD);
    tui.wait_for("looks like an OpenAI key");
    tui.send(keys::ENTER);
    tui.wait_for("is the current key");
    tui.send(keys::CTRL_U);
    tui.send(NEW);
    tui.send(keys::ENTER);
    tui.wait_for_all(&["Step 4 of 6", "Press t"]);
    // Back and forth keeps what was typed.
    tui.send(keys::SHIFT_TAB);
    tui.wait_for("Step 3 of 6");
    tui.send(keys::ENTER);
    tui.wait_for("Step 4 of 6");
    tui.send(keys::ENTER);
    tui.wait_for_all(&["Step 5 of 6", "readable for 7 days"]);
    tui.send(keys::ENTER);
    tui.wait_for_all(&[
        "Step 6 of 6",
        "version 2 of openai-prod is current",
        "press x",
    ]);
    tui.send("x");
    tui.wait_for("Version 1 is marked revoked here");
    tui.send(keys::ENTER);
    tui.wait_gone("Step 6 of 6");
    let screen = tui.screen();
    assert!(
        !screen.contains(NEW) && !screen.contains(OLD),
        "a key was shown:\n{screen}"
    );
    tui.send("q");
    tui.wait_exit();

    assert_eq!(f.cli(&["get", "openai-prod"], ""), format!("{NEW}\n"));
    let history = f.history();
    assert_eq!(history.len(), 2);
    assert_eq!(history[0]["status"], "current");
    assert_eq!(history[1]["status"], "revoked");
    assert_eq!(history[1]["source"], "cli");
    assert_eq!(history[0]["source"], "tui");
    let audit = f.cli(&["audit", "openai-prod", "--json"], "");
    assert!(
        audit.contains("\"rotate\"") && audit.contains("\"revoke\""),
        "{audit}"
    );
}

#[test]
fn esc_abandons_the_wizard_and_saves_nothing() {
    let f = Fixture::new();
    let mut tui = f.tui();
    tui.send("r");
    tui.wait_for("Step 1 of 6");
    tui.send(keys::ENTER);
    tui.send(keys::ENTER);
    tui.wait_for("Step 3 of 6");
    tui.send(NEW);
    tui.send(keys::ENTER);
    tui.wait_for("Step 4 of 6");
    tui.send(keys::ENTER);
    tui.wait_for("Step 5 of 6");
    tui.send_esc();
    tui.wait_gone("Step 5 of 6");
    tui.send("q");
    tui.wait_exit();
    assert_eq!(f.cli(&["get", "openai-prod"], ""), format!("{OLD}\n"));
    assert_eq!(f.history().len(), 1);
}

#[test]
fn a_compromised_key_is_revoked_at_once() {
    let f = Fixture::new();
    let mut tui = f.tui();
    tui.send("r");
    tui.wait_for("Step 1 of 6");
    tui.send("j");
    tui.wait_for("revoke the old key here at once");
    for step in ["Step 2 of 6", "Step 3 of 6"] {
        tui.send(keys::ENTER);
        tui.wait_for(step);
    }
    tui.send(NEW);
    tui.send(keys::ENTER);
    tui.wait_for("Step 4 of 6");
    tui.send(keys::ENTER);
    tui.wait_for_all(&["Step 5 of 6", "revoked at once"]);
    tui.send(keys::ENTER);
    tui.wait_for("Version 1 is marked revoked here");
    tui.send(keys::ENTER);
    tui.send("q");
    tui.wait_exit();
    let history = f.history();
    assert_eq!(history[1]["status"], "revoked");
    assert_eq!(history[1]["reason"], "compromised");
}
