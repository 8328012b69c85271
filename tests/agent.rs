//! `keyward unlock` / `lock`: the agent that holds the vault open, driven through the
//! real binary. Every command here that runs while unlocked has no passphrase in its
//! environment and no terminal to ask on, so it can only succeed through the agent.

mod support {
    pub mod cli;
    pub mod pty;
}

use std::os::unix::fs::PermissionsExt;

use support::cli::{Out, TestVault};
use support::pty::Spawn;

const KEY_A: &str = "sk-proj-AGENTcanaryA1b2C3d4E5f6G7h8I9j0K1";
const KEY_B: &str = "sk-proj-AGENTcanaryB9z8Y7x6W5v4U3t2S1r0Q9";

/// A vault unlocked by `keyward unlock`; locked again when dropped, so a failing test
/// leaves no agent behind.
struct Unlocked(TestVault);

impl Unlocked {
    fn new() -> Self {
        let v = TestVault::new();
        let out = v.run(&["unlock"], None).ok();
        assert!(out.stderr.contains("unlocked"), "{out}");
        Unlocked(v)
    }

    /// Runs a command with no passphrase anywhere.
    fn run(&self, args: &[&str], stdin: Option<&str>) -> Out {
        self.0.run_without_passphrase(args, stdin)
    }
}

impl Drop for Unlocked {
    fn drop(&mut self) {
        let _ = self.0.run(&["lock"], None);
    }
}

fn socket(v: &TestVault) -> std::path::PathBuf {
    v.dir().join("agent-2.sock")
}

#[test]
fn commands_run_without_the_passphrase_while_unlocked_and_persist() {
    let u = Unlocked::new();
    u.run(
        &["add", "a", "--provider", "openai", "--note", "billing team"],
        Some(&format!("{KEY_A}\n")),
    )
    .ok();
    u.run(
        &["add", "b", "--provider", "openai", "--env", "dev"],
        Some(&format!("{KEY_B}\n")),
    )
    .ok();
    assert_eq!(u.run(&["get", "a"], None).ok().stdout, format!("{KEY_A}\n"));
    let list = u.run(&["list"], None).ok().stdout;
    assert!(list.contains("a ") && list.contains("b "), "{list}");
    assert!(!list.contains("AGENTcanary"), "list shows a key: {list}");
    // search: names and metadata; --name only names; none → exit 4.
    let hits = u.run(&["search", "BILLING"], None).ok().stdout;
    assert!(hits.lines().any(|l| l.starts_with("a ")), "{hits}");
    assert!(!hits.lines().any(|l| l.starts_with("b ")), "{hits}");
    u.run(&["search", "--name", "billing"], None).fails(4);
    // Errors come back as they would without the agent: one line and the code.
    let out = u.run(&["get", "nope"], None).fails(4);
    assert!(out.stderr.contains("no entry named 'nope'"), "{out}");
    let status = u.run(&["unlock", "--status"], None).ok();
    assert!(status.stderr.contains("is unlocked (agent pid"), "{status}");

    let locked = u.0.run(&["lock"], None).ok();
    assert!(locked.stderr.contains("locked"), "{locked}");
    assert!(!socket(&u.0).exists(), "the socket outlived the agent");
    // Locked: no passphrase, no terminal, no way in...
    let out = u.run(&["list"], None);
    assert_ne!(out.code, 0, "{out}");
    assert!(out.stderr.contains("KEYWARD_PASSPHRASE"), "{out}");
    u.run(&["unlock", "--status"], None).fails(1);
    // ...and with the passphrase, everything done through the agent is there.
    assert_eq!(
        u.0.run(&["get", "b"], None).ok().stdout,
        format!("{KEY_B}\n")
    );
    let audit = u.0.run(&["audit"], None).ok().stdout;
    assert!(audit.contains("add") && audit.contains("get"), "{audit}");
    u.0.run(&["audit", "--verify"], None).ok();
}

#[test]
fn a_wrong_passphrase_starts_no_agent() {
    let v = TestVault::new();
    let mut cmd = v.command(&["unlock"]);
    cmd.env("KEYWARD_PASSPHRASE", "not the passphrase");
    let out = support::cli::run(cmd, None).fails(3);
    assert!(out.stderr.contains("wrong passphrase"), "{out}");
    assert!(!out.stderr.contains("not the passphrase"), "{out}");
    assert!(!socket(&v).exists());
    v.run(&["unlock", "--status"], None).fails(1);
    // The vault is not held by anyone.
    v.run(&["list"], None).ok();
}

#[test]
fn a_second_unlock_says_so_and_keeps_the_first_agent() {
    let u = Unlocked::new();
    let again = u.0.run(&["unlock"], None).ok();
    assert!(again.stderr.contains("is unlocked"), "{again}");
    u.run(&["list"], None).ok();
    u.0.run(&["unlock", "--timeout", "0"], None).ok(); // already unlocked: nothing to set
    let v = TestVault::new();
    v.run(&["unlock", "--timeout", "0"], None).fails(2);
    v.run(&["unlock", "--timeout", "1441"], None).fails(2);
}

#[test]
fn each_command_gets_only_its_own_stdin() {
    // `add` reads one line; the rest of its stdin must not reach the next command.
    let u = Unlocked::new();
    u.run(
        &["add", "first", "--provider", "openai"],
        Some(&format!("{KEY_A}\n{KEY_B}\nmore\n")),
    )
    .ok();
    let out = u.run(&["add", "second", "--provider", "openai"], Some(""));
    assert_eq!(out.code, 2, "an empty stdin must be refused\n{out}");
    assert!(out.stderr.contains("empty"), "{out}");
    u.run(
        &["add", "third", "--provider", "openai"],
        Some(&format!("{KEY_B}\n")),
    )
    .ok();
    assert_eq!(
        u.run(&["get", "first"], None).ok().stdout,
        format!("{KEY_A}\n")
    );
    assert_eq!(
        u.run(&["get", "third"], None).ok().stdout,
        format!("{KEY_B}\n")
    );
}

#[test]
fn run_gets_its_keys_from_the_agent_and_counts_the_use() {
    let u = Unlocked::new();
    u.run(
        &["add", "a", "--provider", "openai"],
        Some(&format!("{KEY_A}\n")),
    )
    .ok();
    let out = u.run(
        &[
            "run",
            "--",
            "sh",
            "-c",
            "printf '%s' \"$OPENAI_API_KEY\"; exit 7",
        ],
        None,
    );
    assert_eq!(out.code, 7, "the command's own exit status\n{out}");
    assert_eq!(out.stdout, KEY_A);
    let masked = u
        .run(
            &[
                "run",
                "--mask",
                "--",
                "sh",
                "-c",
                "echo \"key=$OPENAI_API_KEY\"",
            ],
            None,
        )
        .ok();
    assert_eq!(masked.stdout, "key=<concealed:a>\n");
    let show = u.run(&["show", "a", "--json"], None).ok().stdout;
    let json: serde_json::Value = serde_json::from_str(&show).expect("json");
    assert_eq!(json["use_count"], 2, "{show}");
    // A refused selection is the agent's error, said once.
    let out = u
        .run(&["run", "--only", "nope", "--", "true"], None)
        .fails(4);
    assert!(out.stderr.contains("nope"), "{out}");
}

#[test]
fn the_interactive_view_says_to_lock_first() {
    let u = Unlocked::new();
    let out = u.run(&[], None).fails(5);
    assert!(out.stderr.contains("keyward lock"), "{out}");
}

#[test]
fn prompts_of_a_served_command_use_the_callers_terminal() {
    let u = Unlocked::new();
    u.run(
        &["add", "doomed", "--provider", "openai"],
        Some(&format!("{KEY_A}\n")),
    )
    .ok();
    // `rm` asks on the terminal; the agent has none of its own.
    let mut pty = Spawn::keyward()
        .args(["rm", "doomed"])
        .env("KEYWARD_VAULT", u.0.dir())
        .env("KEYWARD_CONFIG", &u.0.config)
        .spawn();
    pty.wait_for("[y/N]");
    pty.send("y\r");
    let status = pty.wait_exit();
    assert!(status.success(), "rm failed: {}", pty.screen());
    u.run(&["get", "doomed"], None).fails(4);
}

#[test]
fn get_copy_through_the_agent_reaches_the_callers_terminal() {
    let u = Unlocked::new();
    std::fs::write(
        &u.0.config,
        "clipboard = \"osc52\"\nclipboard_timeout = 1\n",
    )
    .unwrap();
    u.run(
        &["add", "a", "--provider", "openai"],
        Some(&format!("{KEY_A}\n")),
    )
    .ok();
    let mut pty = Spawn::keyward()
        .args(["get", "a", "--copy"])
        .env("KEYWARD_VAULT", u.0.dir())
        .env("KEYWARD_CONFIG", &u.0.config)
        .spawn();
    use base64::Engine;
    let copy = format!(
        "\x1b]52;c;{}\x07",
        base64::engine::general_purpose::STANDARD.encode(KEY_A)
    );
    pty.wait_output("the OSC 52 copy sequence", |o| {
        String::from_utf8_lossy(o).contains(&copy)
    });
    pty.wait_for("copied a to the terminal clipboard");
}

#[test]
fn another_user_gets_nothing_from_the_agent() {
    if !rustix::process::geteuid().is_root() {
        println!("skipped: needs root to run a client as another user");
        return;
    }
    let u = Unlocked::new();
    u.run(
        &["add", "a", "--provider", "openai"],
        Some(&format!("{KEY_A}\n")),
    )
    .ok();
    // Open the way on purpose, so only the agent's own check stands between them.
    for p in [u.0.tmp.path(), u.0.dir(), &socket(&u.0)] {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o777)).unwrap();
    }
    let mut cmd = u.0.command(&["get", "a"]);
    std::os::unix::process::CommandExt::uid(&mut cmd, 65534);
    std::os::unix::process::CommandExt::gid(&mut cmd, 65534);
    cmd.env_remove("KEYWARD_PASSPHRASE");
    let out = support::cli::run(cmd, None);
    assert_ne!(out.code, 0, "{out}");
    assert!(!out.stdout.contains("AGENTcanary"), "{out}");
    assert!(out.stderr.contains("lost the keyward agent"), "{out}");
    // The agent still serves its own user.
    assert_eq!(u.run(&["get", "a"], None).ok().stdout, format!("{KEY_A}\n"));
}

#[test]
fn each_served_command_line_is_parsed_on_its_own() {
    // The agent keeps one parser for all the command lines it serves: nothing one
    // line gave (a flag, a value, an error, help) may carry over to the next.
    let u = Unlocked::new();
    u.run(
        &[
            "add",
            "a",
            "--provider",
            "openai",
            "--env",
            "dev",
            "--tag",
            "t1",
            "--note",
            "first",
        ],
        Some(&format!("{KEY_A}\n")),
    )
    .ok();
    u.run(
        &["add", "b", "--provider", "openai"],
        Some(&format!("{KEY_B}\n")),
    )
    .ok();
    let b = u.run(&["show", "b", "--json"], None).ok().stdout;
    let b: serde_json::Value = serde_json::from_str(&b).expect("show --json prints JSON");
    assert_eq!(b["environment"], "prod", "{b}");
    assert_eq!(b["tags"], serde_json::json!([]), "{b}");
    assert!(b["notes"].is_null() || b["notes"] == "", "{b}");
    // A usage error, then help, then the same subcommand done right.
    let bad = u.run(&["add", "--no-such-flag"], None).fails(2);
    assert_eq!(bad.stderr.lines().count(), 1, "{bad}");
    assert!(bad.stderr.contains("--no-such-flag"), "{bad}");
    let help = u.run(&["get", "--help"], None).ok().stdout;
    assert!(help.contains("Usage: keyward get"), "{help}");
    assert_eq!(u.run(&["get", "a"], None).ok().stdout, format!("{KEY_A}\n"));
    let version = u.run(&["--version"], None).ok().stdout;
    assert!(version.starts_with("keyward "), "{version}");
    assert_eq!(u.run(&["get", "b"], None).ok().stdout, format!("{KEY_B}\n"));
}

#[test]
fn list_and_search_follow_every_change_made_while_unlocked() {
    // The agent keeps decoded metadata between commands; a change must never leave
    // it answering from the old state.
    let u = Unlocked::new();
    u.run(&["search", "zebra"], None).fails(4);
    u.run(
        &["add", "zebra-one", "--provider", "openai"],
        Some(&format!("{KEY_A}\n")),
    )
    .ok();
    assert!(
        u.run(&["search", "zebra"], None)
            .ok()
            .stdout
            .contains("zebra-one")
    );
    u.run(
        &["edit", "zebra-one", "--name", "okapi", "--note", "striped"],
        None,
    )
    .ok();
    u.run(&["search", "--name", "zebra"], None).fails(4);
    let by_note = u.run(&["search", "STRIPED"], None).ok().stdout;
    assert!(by_note.contains("okapi"), "{by_note}");
    u.run(&["disable", "okapi"], None).ok();
    assert!(u.run(&["list"], None).ok().stdout.contains("inactive"));
    u.run(&["rm", "okapi", "--yes"], None).ok();
    u.run(&["search", "okapi"], None).fails(4);
    assert!(!u.run(&["list"], None).ok().stdout.contains("okapi"));
}

#[test]
fn a_command_naming_another_vault_is_not_served_by_this_agent() {
    let u = Unlocked::new();
    u.run(
        &["add", "in-a", "--provider", "openai"],
        Some(&format!("{KEY_A}\n")),
    )
    .ok();
    let b = TestVault::new();
    b.run(
        &["add", "in-b", "--provider", "openai"],
        Some(&format!("{KEY_B}\n")),
    )
    .ok();
    let b_dir = b.dir().to_str().unwrap().to_string();
    // KEYWARD_VAULT names A (whose agent runs); the command line names B, in both
    // spellings and after the subcommand: B's own list, which needs B's passphrase.
    for args in [
        vec!["--vault", b_dir.as_str(), "list"],
        vec!["list", "--vault", b_dir.as_str()],
        vec!["list", &*format!("--vault={b_dir}").leak()],
    ] {
        let listed = u.0.run(&args, None).ok().stdout;
        assert!(
            listed.contains("in-b") && !listed.contains("in-a"),
            "{args:?}: {listed}"
        );
        let out = u.run(&args, None);
        assert_ne!(out.code, 0, "{args:?} was served by A's agent: {out}");
        assert!(out.stderr.contains("KEYWARD_PASSPHRASE"), "{out}");
    }
    // A `--vault` after `--` belongs to the command `run` starts: A's keys.
    let ran = u
        .run(
            &[
                "run",
                "--",
                "sh",
                "-c",
                "echo \"$OPENAI_API_KEY\"",
                "--vault",
                &b_dir,
            ],
            None,
        )
        .ok()
        .stdout;
    assert_eq!(ran, format!("{KEY_A}\n"));
    let listed = u.run(&["list"], None).ok().stdout;
    assert!(
        listed.contains("in-a") && !listed.contains("in-b"),
        "{listed}"
    );
}

#[test]
fn lock_stops_an_agent_of_an_earlier_keyward() {
    use std::io::{Read, Write};
    // An agent of keyward before the socket's name had a version: it listens on
    // `agent.sock` and speaks the unversioned protocol, whose `Lock` request and
    // `Locked` reply are one byte of postcard each (variant 2) after a 4-byte length.
    let v = TestVault::new();
    let listener = std::os::unix::net::UnixListener::bind(v.dir().join("agent.sock")).unwrap();
    let old_agent = std::thread::spawn(move || {
        let (mut sock, _) = listener.accept().unwrap();
        let mut frame = [0u8; 5];
        sock.read_exact(&mut frame).unwrap();
        sock.write_all(&[1, 0, 0, 0, 2]).unwrap();
        frame
    });
    let out = v.run_without_passphrase(&["lock"], None).ok();
    assert!(out.stderr.contains("keyward: locked"), "{out}");
    assert_eq!(
        old_agent.join().unwrap(),
        [1, 0, 0, 0, 2],
        "not a Lock request"
    );
}
