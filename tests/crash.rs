//! Crash safety: the real `keyward` binary, a real sled vault on disk, and SIGKILL at
//! random moments.
//!
//! A harness drives one vault through a sequence of changes, one command at a time: a
//! bulk `import` (a few hundred new keys plus a few taken names with new keys, rotated in
//! the same batch), a `rotate`, a `passwd` and a `rekey`. A change is *acknowledged* when
//! its command exits 0. In each trial a few changes run to completion, then one more is
//! started and killed with SIGKILL (`Child::kill`) after a random delay. The harness then
//! checks, with the binary itself:
//!
//! - the vault opens with the passphrase of the last acknowledged change (when the
//!   killed command was a `passwd`, with the old or the new one, and with no other);
//! - every acknowledged change is there: `export` gives exactly the expected entries and
//!   secrets, `get` the current key, `history` and `get --version` the kept versions, and
//!   the audit log has one event per acknowledged import, rotation, passwd and rekey;
//! - the killed change is all or nothing: all of an import's keys or none, the old or
//!   the new key of a rotation, and its audit event exactly when it took effect (a
//!   passwd excepted: see `verify`);
//! - `audit --verify` passes.
//!
//! Sometimes the first open after the crash (which settles an interrupted passwd or
//! rekey) is itself killed before the checks. What this found, a kill while sled opens
//! the database leaving a torn snapshot file, has its own regression test at the end.
//!
//! The delay before the kill is drawn from the seeded RNG, relative to how long that
//! command has typically taken here (a guess until one has run): anywhere in its run, in
//! its second half, or close to its end where it commits; a command that finishes first
//! is simply acknowledged. No assertion depends on timing. The seed is printed;
//! `KEYWARD_CRASH_SEED=N` replays the same operations and delays (where a kill lands
//! still depends on the machine).
//! `KEYWARD_CRASH_TRIALS=N` sets the number of trials (default 52, shared by the four
//! tests below); bench/crash.sh runs many more in release mode.

#![forbid(unsafe_code)]

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;

/// The smallest KDF `init` accepts: the passphrase checks stay cheap.
const TINY_KDF: [&str; 6] = [
    "--kdf-memory-mib",
    "1",
    "--kdf-iterations",
    "1",
    "--kdf-parallelism",
    "1",
];

/// Trials of the whole suite when `KEYWARD_CRASH_TRIALS` is not set.
const DEFAULT_TRIALS: u64 = 52;
/// Trials on one vault before the harness starts a new one (keeps it a few hundred keys).
const TRIALS_PER_VAULT: u64 = 3;
/// keyward's default: earlier versions kept per entry.
const VERSIONS_KEPT: usize = 10;

// ---------------------------------------------------------------------------
// A small seeded RNG (splitmix64): reproducible sequences without a dependency.
// ---------------------------------------------------------------------------

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }

    /// True with probability 1/n.
    fn one_in(&mut self, n: u64) -> bool {
        self.below(n) == 0
    }

    fn token(&mut self) -> String {
        format!("{:016x}", self.next())
    }
}

// ---------------------------------------------------------------------------
// The changes and what the vault should hold
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Import,
    Rotate,
    Passwd,
    Rekey,
}

impl Op {
    const ALL: [Op; 4] = [Op::Import, Op::Rotate, Op::Passwd, Op::Rekey];

    /// The audit log's name for the change.
    fn action(self) -> &'static str {
        match self {
            Op::Import => "import",
            Op::Rotate => "rotate",
            Op::Passwd => "passwd",
            Op::Rekey => "rekey",
        }
    }

    /// A guess at how long the debug binary takes, before any run was seen (ms).
    fn initial_guess_ms(self) -> u64 {
        match self {
            Op::Import | Op::Rekey => 300,
            Op::Rotate | Op::Passwd => 100,
        }
    }
}

/// One change, with everything needed to tell whether it took effect.
#[derive(Debug, Clone)]
enum Change {
    /// `import FILE --on-conflict rotate`: `new` names are added, `updated` (taken names)
    /// get a new key, the old one kept as a version. One transaction.
    Import {
        file: PathBuf,
        new: Vec<(String, String)>,
        updated: Vec<(String, String)>,
    },
    /// `rotate NAME` with the new key on stdin.
    Rotate { name: String, secret: String },
    /// `passwd`, the new passphrase from the environment or a file.
    Passwd { new_pw: String, via_file: bool },
    /// `rekey`.
    Rekey,
}

impl Change {
    fn op(&self) -> Op {
        match self {
            Change::Import { .. } => Op::Import,
            Change::Rotate { .. } => Op::Rotate,
            Change::Passwd { .. } => Op::Passwd,
            Change::Rekey => Op::Rekey,
        }
    }
}

/// What the vault must hold: the result of every acknowledged change.
#[derive(Debug, Default)]
struct Model {
    /// The passphrase of the last acknowledged passwd (or init).
    pw: String,
    /// Every entry's keys, oldest first; the last is current.
    entries: BTreeMap<String, Vec<String>>,
    /// Events the audit log must hold, per action: one per change that took effect.
    events: BTreeMap<&'static str, usize>,
}

impl Model {
    fn apply(&mut self, change: &Change) {
        match change {
            Change::Import { new, updated, .. } => {
                for (name, secret) in new {
                    let old = self.entries.insert(name.clone(), vec![secret.clone()]);
                    assert!(old.is_none(), "the harness reused the name {name}");
                }
                for (name, secret) in updated {
                    self.entries
                        .get_mut(name)
                        .expect("an updated name exists")
                        .push(secret.clone());
                }
            }
            Change::Rotate { name, secret } => self
                .entries
                .get_mut(name)
                .expect("a rotated name exists")
                .push(secret.clone()),
            Change::Passwd { new_pw, .. } => self.pw = new_pw.clone(),
            Change::Rekey => {}
        }
        *self.events.entry(change.op().action()).or_default() += 1;
    }

    fn current(&self, name: &str) -> &str {
        self.entries[name].last().expect("an entry has a key")
    }
}

// ---------------------------------------------------------------------------
// The harness
// ---------------------------------------------------------------------------

/// What a finished (not killed) command left.
struct Done {
    code: i32,
    stdout: String,
    stderr: String,
}

/// What the trials saw (printed with --nocapture; never asserted on).
#[derive(Debug, Default)]
struct Stats {
    /// Killed while running.
    killed: u64,
    /// Finished before the kill: acknowledged.
    finished_first: u64,
    /// Killed, and had taken effect anyway (after its commit, before its exit).
    applied_in_flight: u64,
    /// A killed passwd whose old passphrase opened the vault.
    passwd_old_kept: u64,
    /// A killed passwd whose new passphrase opened the vault.
    passwd_new_taken: u64,
    /// The first open after a crash was killed too.
    recovery_killed: u64,
}

impl Stats {
    fn add(&mut self, o: &Stats) {
        self.killed += o.killed;
        self.finished_first += o.finished_first;
        self.applied_in_flight += o.applied_in_flight;
        self.passwd_old_kept += o.passwd_old_kept;
        self.passwd_new_taken += o.passwd_new_taken;
        self.recovery_killed += o.recovery_killed;
    }
}

struct Harness {
    /// Taken (and kept on disk) when a check fails.
    tmp: Option<TempDir>,
    root: PathBuf,
    vault: PathBuf,
    model: Model,
    rng: Rng,
    /// The run's seed and this chain's name, for failure reports.
    seed: u64,
    label: String,
    /// Vaults made so far; part of every name, key and passphrase.
    generation: u64,
    /// Makes names, keys and files unique.
    counter: u64,
    /// How long each op typically runs here (places the kill).
    typical: BTreeMap<&'static str, Duration>,
    /// How long a `list` typically runs (places the kill of the first open after a crash).
    typical_open: Duration,
    stats: Stats,
    /// The last commands run, for failure reports.
    log: Vec<String>,
}

impl Harness {
    fn new(seed: u64, chain_seed: u64, label: String) -> Self {
        let tmp = tempfile::tempdir().expect("cannot make a temporary directory");
        let root = tmp.path().to_path_buf();
        Self {
            tmp: Some(tmp),
            vault: root.join("vault-0"),
            root,
            model: Model::default(),
            rng: Rng(chain_seed),
            seed,
            label,
            generation: 0,
            counter: 0,
            typical: BTreeMap::new(),
            typical_open: Duration::from_millis(60),
            stats: Stats::default(),
            log: Vec::new(),
        }
    }

    /// Stops the test, keeping the vault on disk, with the seed and the recent commands.
    #[track_caller]
    fn fail(&mut self, msg: &str) -> ! {
        let kept = self.tmp.take().map(|t| t.keep());
        let tail = self.log.len().saturating_sub(12);
        panic!(
            "{}: {msg}\nKEYWARD_CRASH_SEED={} replays this run\nvault kept at: {}\nlast commands:\n  {}",
            self.label,
            self.seed,
            kept.map(|p| p.display().to_string()).unwrap_or_default(),
            self.log[tail..].join("\n  ")
        );
    }

    fn next_id(&mut self) -> u64 {
        self.counter += 1;
        self.counter
    }

    /// The binary on this vault, with none of the user's `KEYWARD_*` variables and no
    /// config file of theirs. Output goes to files, so a large report never blocks it.
    fn command(&mut self, pw: &str, args: &[&str]) -> (Command, PathBuf, PathBuf) {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_keyward"));
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("KEYWARD_") {
                cmd.env_remove(key);
            }
        }
        let n = self.next_id();
        let out = self.root.join(format!("out-{n}"));
        let err = self.root.join(format!("err-{n}"));
        cmd.env("KEYWARD_CONFIG", self.root.join("no-config.toml"))
            .env("KEYWARD_PASSPHRASE", pw)
            .env("RUST_BACKTRACE", "1")
            .arg("--vault")
            .arg(&self.vault)
            .args(args)
            .stdin(Stdio::null())
            .stdout(File::create(&out).expect("cannot create an output file"))
            .stderr(File::create(&err).expect("cannot create an output file"));
        if self.log.len() >= 64 {
            self.log.drain(..32);
        }
        self.log.push(format!("keyward {}", args.join(" ")));
        (cmd, out, err)
    }

    fn spawn(&mut self, mut cmd: Command, stdin: Option<&str>) -> Child {
        if stdin.is_some() {
            cmd.stdin(Stdio::piped());
        }
        let mut child = cmd.spawn().expect("cannot start the keyward binary");
        if let Some(text) = stdin {
            let mut pipe = child.stdin.take().expect("stdin is piped");
            // A command killed before it reads gives EPIPE: not an error here.
            let _ = pipe.write_all(text.as_bytes());
        }
        child
    }

    fn collect(out: &Path, err: &Path, code: i32) -> Done {
        let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
        let done = Done {
            code,
            stdout: read(out),
            stderr: read(err),
        };
        let _ = std::fs::remove_file(out);
        let _ = std::fs::remove_file(err);
        done
    }

    /// Runs a command to its end.
    fn run(&mut self, pw: &str, args: &[&str]) -> Done {
        let (cmd, out, err) = self.command(pw, args);
        let status = self
            .spawn(cmd, None)
            .wait()
            .expect("cannot wait for keyward");
        let Some(code) = status.code() else {
            self.fail(&format!("keyward {} died of {status}", args.join(" ")));
        };
        Self::collect(&out, &err, code)
    }

    /// Runs a command that must succeed; returns its stdout.
    fn run_ok(&mut self, pw: &str, args: &[&str]) -> String {
        let done = self.run(pw, args);
        if done.code != 0 {
            self.fail(&format!(
                "keyward {} failed with exit {}\nstderr: {}",
                args.join(" "),
                done.code,
                done.stderr
            ));
        }
        done.stdout
    }

    // -- changes -----------------------------------------------------------

    /// A new vault, filled by one acknowledged import.
    fn fresh_vault(&mut self) {
        // The last vault and its files are done with (a failure stops before this).
        if self.generation > 0 {
            let _ = std::fs::remove_dir_all(&self.vault);
            for entry in std::fs::read_dir(&self.root)
                .into_iter()
                .flatten()
                .flatten()
            {
                let name = entry.file_name().to_string_lossy().into_owned();
                if name.starts_with("batch-") || name.starts_with("new-pass-") {
                    let _ = std::fs::remove_file(entry.path());
                }
            }
        }
        self.generation += 1;
        self.vault = self.root.join(format!("vault-{}", self.generation));
        self.model = Model {
            pw: format!("crash pass {}-0", self.generation),
            ..Model::default()
        };
        let pw = self.model.pw.clone();
        let mut args = vec!["init"];
        args.extend(TINY_KDF);
        let done = self.run(&pw, &args);
        if done.code != 0 {
            self.fail(&format!("init failed: {}", done.stderr));
        }
        let first = self.plan(Op::Import);
        self.acknowledged(first);
    }

    fn secret(&mut self) -> String {
        let n = self.next_id();
        format!("kw-{}-{n}-{}", self.generation, self.rng.token())
    }

    /// A change of kind `op` on the current vault.
    fn plan(&mut self, op: Op) -> Change {
        match op {
            Op::Import => {
                let count = self.rng.range(100, 250);
                let mut new = Vec::new();
                for _ in 0..count {
                    let n = self.next_id();
                    let secret = self.secret();
                    new.push((format!("crash-{n}"), secret));
                }
                let names: Vec<String> = self.model.entries.keys().cloned().collect();
                let mut updated: Vec<(String, String)> = Vec::new();
                if !names.is_empty() {
                    for _ in 0..self.rng.range(1, 8) {
                        let name = names[self.rng.below(names.len() as u64) as usize].clone();
                        if !updated.iter().any(|(n, _)| *n == name) {
                            let secret = self.secret();
                            updated.push((name, secret));
                        }
                    }
                }
                // Named by a `# NAME (PROVIDER, ENV)` comment, as `export` writes them.
                let mut text = String::new();
                for (i, (name, secret)) in new.iter().chain(updated.iter()).enumerate() {
                    text.push_str(&format!(
                        "# {name} (custom, prod)\nCRASH_{}_{i}_TOKEN={secret}\n",
                        self.generation
                    ));
                }
                let n = self.next_id();
                let file = self.root.join(format!("batch-{n}.env"));
                std::fs::write(&file, text).expect("cannot write the import file");
                Change::Import { file, new, updated }
            }
            Op::Rotate => {
                let names: Vec<&String> = self.model.entries.keys().collect();
                let name = names[self.rng.below(names.len() as u64) as usize].clone();
                let secret = self.secret();
                Change::Rotate { name, secret }
            }
            Op::Passwd => {
                let n = self.next_id();
                Change::Passwd {
                    new_pw: format!("crash pass {}-{n}", self.generation),
                    via_file: self.rng.one_in(2),
                }
            }
            Op::Rekey => Change::Rekey,
        }
    }

    /// Starts the command that makes `change`.
    fn start(&mut self, change: &Change) -> (Child, PathBuf, PathBuf) {
        let pw = self.model.pw.clone();
        let (mut cmd, out, err, stdin) = match change {
            Change::Import { file, .. } => {
                let file = file.to_str().expect("a UTF-8 temporary path").to_string();
                let (cmd, out, err) =
                    self.command(&pw, &["import", &file, "--on-conflict", "rotate"]);
                (cmd, out, err, None)
            }
            Change::Rotate { name, secret } => {
                let (cmd, out, err) = self.command(&pw, &["rotate", name]);
                (cmd, out, err, Some(format!("{secret}\n")))
            }
            Change::Passwd { .. } => {
                let (cmd, out, err) = self.command(&pw, &["passwd"]);
                (cmd, out, err, None)
            }
            Change::Rekey => {
                let (cmd, out, err) = self.command(&pw, &["rekey"]);
                (cmd, out, err, None)
            }
        };
        if let Change::Passwd { new_pw, via_file } = change {
            if *via_file {
                let n = self.next_id();
                let file = self.root.join(format!("new-pass-{n}"));
                std::fs::write(&file, format!("{new_pw}\n")).expect("cannot write a file");
                cmd.arg("--new-passphrase-file").arg(file);
            } else {
                cmd.env("KEYWARD_NEW_PASSPHRASE", new_pw);
            }
        }
        let child = self.spawn(cmd, stdin.as_deref());
        (child, out, err)
    }

    /// Keeps a running average of how long each op takes to finish here.
    fn note_duration(&mut self, op: Op, took: Duration) {
        let typical = self.typical.entry(op.action()).or_insert(took);
        *typical = (*typical * 7 + took * 3) / 10;
    }

    /// A delay before the kill, relative to a typical run: a third anywhere in it, a
    /// third in its second half, a third close to its end (where the commit is, a few
    /// ms before the exit); a little beyond it at times, so some runs finish.
    fn kill_delay(&mut self, typical: Duration) -> Duration {
        let t = typical.as_micros() as u64;
        let (lo, hi) = match self.rng.below(3) {
            0 => (0, t * 11 / 10),
            1 => (t * 6 / 10, t * 11 / 10),
            _ => (t * 85 / 100, t * 105 / 100),
        };
        Duration::from_micros(self.rng.range(lo, hi))
    }

    /// Runs `change` to its end; it must succeed.
    fn acknowledged(&mut self, change: Change) {
        let started = Instant::now();
        let (mut child, out, err) = self.start(&change);
        let status = child.wait().expect("cannot wait for keyward");
        self.note_duration(change.op(), started.elapsed());
        let done = Self::collect(&out, &err, status.code().unwrap_or(-1));
        if done.code != 0 {
            self.fail(&format!(
                "{:?} failed with exit {} ({status})\nstderr: {}",
                change.op(),
                done.code,
                done.stderr
            ));
        }
        self.model.apply(&change);
    }

    /// Runs `change` and kills it after a random delay. Returns it when it was killed
    /// (in flight: it may or may not have taken effect); a command that finished first
    /// is acknowledged.
    fn killed(&mut self, change: Change) -> Option<Change> {
        let op = change.op();
        let typical = self
            .typical
            .get(op.action())
            .copied()
            .unwrap_or(Duration::from_millis(op.initial_guess_ms()));
        let delay = self.kill_delay(typical);
        let started = Instant::now();
        let (mut child, out, err) = self.start(&change);
        std::thread::sleep(delay);
        // SIGKILL on Unix. A child that already exited is not an error: wait() tells.
        let _ = child.kill();
        let status = child.wait().expect("cannot wait for keyward");
        let log = self.log.last_mut().expect("a command was logged");
        log.push_str(&format!(" [kill after {delay:?}: {status}]"));
        let done = Self::collect(&out, &err, status.code().unwrap_or(-1));
        match status.code() {
            None => {
                self.stats.killed += 1;
                Some(change)
            }
            Some(0) => {
                self.stats.finished_first += 1;
                self.note_duration(op, started.elapsed());
                self.model.apply(&change);
                None
            }
            Some(code) => self.fail(&format!(
                "{op:?} failed with exit {code}\nstderr: {}",
                done.stderr
            )),
        }
    }

    /// The first open after a crash settles an interrupted passwd or rekey; sometimes
    /// that open is killed too, with either candidate passphrase.
    fn killed_open(&mut self, candidates: &[String]) {
        let pw = candidates[self.rng.below(candidates.len() as u64) as usize].clone();
        let delay = self.kill_delay(self.typical_open);
        let started = Instant::now();
        let (cmd, out, err) = self.command(&pw, &["list", "--json"]);
        let mut child = self.spawn(cmd, None);
        std::thread::sleep(delay);
        let _ = child.kill();
        let status = child.wait().expect("cannot wait for keyward");
        let done = Self::collect(&out, &err, status.code().unwrap_or(-1));
        match status.code() {
            None => self.stats.recovery_killed += 1,
            // 3: this candidate is not the one the vault settled on.
            Some(0) | Some(3) => {
                self.typical_open = (self.typical_open * 7 + started.elapsed() * 3) / 10;
            }
            Some(code) => self.fail(&format!(
                "the first open after a crash failed with exit {code}\nstderr: {}",
                done.stderr
            )),
        }
    }

    // -- checks ------------------------------------------------------------

    /// Checks the vault against the model after a kill during `in_flight`, and folds
    /// the killed change into the model when it took effect.
    fn verify(&mut self, in_flight: Option<Change>) {
        // Which passphrases may open the vault: the current one, and for a killed
        // passwd the new one too. A passwd killed before its header was renamed leaves
        // header.new: the first open with the old passphrase drops it (the change did
        // not happen), the first with the new one installs it (it did). Either is
        // right, and they are tried in random order so both paths are taken. No other
        // passphrase, and never neither.
        let mut candidates = vec![self.model.pw.clone()];
        if let Some(Change::Passwd { new_pw, .. }) = &in_flight {
            candidates.push(new_pw.clone());
            if self.rng.one_in(2) {
                candidates.reverse();
            }
        }
        if in_flight.is_some() && self.rng.one_in(4) {
            self.killed_open(&candidates);
        }
        let mut opened = None;
        for pw in &candidates {
            let done = self.run(pw, &["audit", "--json"]);
            match done.code {
                0 => {
                    opened = Some((pw.clone(), done.stdout));
                    break;
                }
                3 => continue,
                code => self.fail(&format!(
                    "the vault does not open after a crash (exit {code})\nstderr: {}",
                    done.stderr
                )),
            }
        }
        let Some((pw, audit)) = opened else {
            self.fail(&format!(
                "no expected passphrase opens the vault (tried {})",
                candidates.len()
            ));
        };
        let audit: Value = serde_json::from_str(&audit).expect("audit --json is JSON");
        let mut logged: BTreeMap<String, usize> = BTreeMap::new();
        for event in audit.as_array().expect("audit --json is an array") {
            let action = event["action"].as_str().expect("an event has an action");
            *logged.entry(action.to_string()).or_default() += 1;
        }

        let exported = self.export(&pw);

        // Did the killed change take effect? Decided from what it would have changed;
        // then everything must agree with that one answer.
        let applied = match &in_flight {
            None => false,
            Some(Change::Passwd { new_pw, .. }) => {
                if pw == *new_pw {
                    self.stats.passwd_new_taken += 1;
                } else {
                    self.stats.passwd_old_kept += 1;
                }
                pw == *new_pw
            }
            Some(Change::Rekey) => logged.get("rekey").copied().unwrap_or(0) > self.events("rekey"),
            Some(Change::Rotate { name, secret }) => {
                let now = exported.get(name).map(String::as_str);
                if now != Some(secret) && now != Some(self.model.current(name)) {
                    self.fail(&format!(
                        "a rotation of {name} was killed: its key is neither the old nor the new one"
                    ));
                }
                now == Some(secret)
            }
            Some(Change::Import { new, updated, .. }) => {
                let present = new.iter().filter(|(n, _)| exported.contains_key(n)).count();
                let rotated = updated
                    .iter()
                    .filter(|(n, s)| exported.get(n) == Some(s))
                    .count();
                let total = new.len() + updated.len();
                if present + rotated != 0 && present + rotated != total {
                    self.fail(&format!(
                        "half an import: {present} of {} new keys and {rotated} of {} updates",
                        new.len(),
                        updated.len()
                    ));
                }
                present + rotated == total
            }
        };
        if let Some(change) = &in_flight
            && applied
        {
            self.stats.applied_in_flight += 1;
            self.model.apply(change);
        }

        // The audit log: one event per change that took effect. A passwd installs its
        // header, then commits its event; one killed in between (or whose header.new
        // the next open installed) gets its event from that next open, which sees a
        // header salt the database does not know. So no exception here.
        for op in Op::ALL {
            let action = op.action();
            let want = self.events(action);
            let got = logged.get(action).copied().unwrap_or(0);
            if got != want {
                self.fail(&format!(
                    "the audit log has {got} {action} events; {want} {action} changes took effect"
                ));
            }
        }

        // Every entry and key, exactly.
        let expected: BTreeMap<&str, &str> = self
            .model
            .entries
            .keys()
            .map(|n| (n.as_str(), self.model.current(n)))
            .collect();
        let found: BTreeMap<&str, &str> = exported
            .iter()
            .map(|(n, s)| (n.as_str(), s.as_str()))
            .collect();
        if expected != found {
            let missing = expected.keys().filter(|n| !found.contains_key(*n)).count();
            let extra = found.keys().filter(|n| !expected.contains_key(*n)).count();
            let wrong = expected
                .iter()
                .filter(|(n, s)| found.get(*n).is_some_and(|f| f != *s))
                .count();
            self.fail(&format!(
                "export differs from the acknowledged changes: {missing} missing, {extra} extra, {wrong} with another key"
            ));
        }

        // One entry through get, history and get --version: one the killed change
        // touched, else one at random.
        let touched = match &in_flight {
            Some(Change::Rotate { name, .. }) => Some(name.clone()),
            Some(Change::Import { new, updated, .. }) => {
                updated.first().or(new.first()).map(|(n, _)| n.clone())
            }
            _ => None,
        };
        let probe = match touched {
            Some(name) if self.model.entries.contains_key(&name) => name,
            _ => {
                let names: Vec<&String> = self.model.entries.keys().collect();
                names[self.rng.below(names.len() as u64) as usize].clone()
            }
        };
        self.check_entry(&pw, &probe);

        let done = self.run(&pw, &["audit", "--verify"]);
        if done.code != 0 {
            self.fail(&format!(
                "audit --verify failed after a crash (exit {})\n{}{}",
                done.code, done.stdout, done.stderr
            ));
        }
    }

    fn events(&self, action: &str) -> usize {
        self.model.events.get(action).copied().unwrap_or(0)
    }

    /// Every entry's name and current key, from `export --format json`.
    fn export(&mut self, pw: &str) -> BTreeMap<String, String> {
        let out = self.run_ok(pw, &["export", "--format", "json"]);
        let json: Value = serde_json::from_str(&out).expect("export --format json is JSON");
        json.as_array()
            .expect("an array of entries")
            .iter()
            .map(|e| {
                (
                    e["name"].as_str().expect("a name").to_string(),
                    e["secret"].as_str().expect("a secret").to_string(),
                )
            })
            .collect()
    }

    /// `get`, `history` and `get --version` of one entry agree with the model.
    fn check_entry(&mut self, pw: &str, name: &str) {
        let keys = self.model.entries[name].clone();
        let current = self.run_ok(pw, &["get", name]);
        if current.trim_end() != keys[keys.len() - 1] {
            self.fail(&format!("get {name} does not give its current key"));
        }
        let history = self.run_ok(pw, &["history", name, "--json"]);
        let history: Value = serde_json::from_str(&history).expect("history --json is JSON");
        let versions: Vec<u64> = history
            .as_array()
            .expect("an array of versions")
            .iter()
            .map(|v| v["version"].as_u64().expect("a version number"))
            .collect();
        let kept = keys.len().min(VERSIONS_KEPT + 1);
        let want: Vec<u64> = (0..kept as u64).map(|i| keys.len() as u64 - i).collect();
        if versions != want {
            self.fail(&format!(
                "history {name} lists versions {versions:?}; expected {want:?}"
            ));
        }
        if keys.len() >= 2 {
            let previous = (keys.len() - 1).to_string();
            let old = self.run_ok(pw, &["get", name, "--version", &previous]);
            if old.trim_end() != keys[keys.len() - 2] {
                self.fail(&format!(
                    "get {name} --version {previous} does not give the retired key"
                ));
            }
        }
    }

    // -- trials ------------------------------------------------------------

    /// One trial: up to two acknowledged changes of any kind, then a `victim` change
    /// killed at a random moment, then the checks.
    fn trial(&mut self, index: u64, victim: Op) {
        if index.is_multiple_of(TRIALS_PER_VAULT) {
            self.fresh_vault();
        }
        for _ in 0..self.rng.below(3) {
            let op = Op::ALL[self.rng.below(4) as usize];
            let change = self.plan(op);
            self.acknowledged(change);
        }
        let change = self.plan(victim);
        let in_flight = self.killed(change);
        self.verify(in_flight);
    }
}

/// The seed of the run (one for the four tests): `KEYWARD_CRASH_SEED`, else the clock.
fn base_seed() -> u64 {
    static SEED: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *SEED.get_or_init(|| match std::env::var("KEYWARD_CRASH_SEED") {
        Ok(s) => s
            .trim()
            .parse()
            .expect("KEYWARD_CRASH_SEED must be an unsigned integer"),
        Err(_) => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1),
    })
}

/// Trials for each of the four tests.
fn trials_each() -> u64 {
    let total = match std::env::var("KEYWARD_CRASH_TRIALS") {
        Ok(s) => s
            .trim()
            .parse()
            .expect("KEYWARD_CRASH_TRIALS must be an unsigned integer"),
        Err(_) => DEFAULT_TRIALS,
    };
    total.div_ceil(Op::ALL.len() as u64).max(1)
}

/// Vaults worked on at once by each test: the commands spend much of their time waiting
/// for the disk, so two chains of trials finish sooner than one.
const CHAINS: u64 = 2;

/// Runs the trials whose killed change is `victim`, on `CHAINS` vaults at once.
fn crash_trials(victim: Op) {
    let base = base_seed();
    let trials = trials_each();
    println!(
        "crash {victim:?}: {trials} trials (KEYWARD_CRASH_SEED={base} replays the four tests)"
    );
    let started = Instant::now();
    let chains: Vec<_> = (0..CHAINS)
        .map(|chain| {
            let seed =
                base ^ (victim as u64 * CHAINS + chain + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            let count = trials / CHAINS + u64::from(chain < trials % CHAINS);
            std::thread::spawn(move || {
                let mut h = Harness::new(base, seed, format!("crash {victim:?}, chain {chain}"));
                for i in 0..count {
                    h.trial(i, victim);
                }
                h.stats
            })
        })
        .collect();
    let mut total = Stats::default();
    let mut failed = None;
    for chain in chains {
        match chain.join() {
            Ok(stats) => total.add(&stats),
            Err(panic) => failed = Some(panic),
        }
    }
    if let Some(panic) = failed {
        std::panic::resume_unwind(panic);
    }
    println!(
        "crash {victim:?}: {trials} trials in {:.1?}: {total:?}",
        started.elapsed()
    );
}

#[test]
fn sigkill_during_import_leaves_all_or_nothing() {
    crash_trials(Op::Import);
}

#[test]
fn sigkill_during_rotate_leaves_old_or_new_key() {
    crash_trials(Op::Rotate);
}

#[test]
fn sigkill_during_passwd_leaves_old_or_new_passphrase() {
    crash_trials(Op::Passwd);
}

#[test]
fn sigkill_during_rekey_loses_nothing() {
    crash_trials(Op::Rekey);
}

/// The newest sled snapshot file of `db` and its log sequence number.
fn newest_snapshot(db: &Path) -> (PathBuf, u64) {
    std::fs::read_dir(db)
        .expect("the database directory")
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let lsn = u64::from_str_radix(name.strip_prefix("snap.")?, 16).ok()?;
            Some((e.path(), lsn))
        })
        .max_by_key(|(_, lsn)| *lsn)
        .expect("sled wrote a snapshot")
}

/// Regression test for what this harness found: sled 0.34 writes a snapshot at every
/// open, as `db/snap.<LSN>.generating` renamed to `db/snap.<LSN>` once synced, and at the
/// next open takes the name that sorts last, `.generating` files included
/// (spacejam/sled#1527). A keyward killed while it opened a vault (SIGKILL, Ctrl-C, a
/// power cut in its first milliseconds) left an empty or torn `.generating` file, and
/// the vault no longer opened: "Read corrupted data". Such a file is what the vault must
/// survive: the log holds everything, the snapshot is only an index of it.
#[test]
fn a_torn_snapshot_from_a_killed_open_is_ignored() {
    let mut h = Harness::new(base_seed(), 0, "torn snapshot".into());
    h.fresh_vault();
    let change = h.plan(Op::Rotate);
    h.acknowledged(change);
    let db = h.vault.join("db");
    // Empty (killed right after its creation), then half of a real one.
    for half in [false, true] {
        let (newest, lsn) = newest_snapshot(&db);
        let bytes = std::fs::read(&newest).expect("the snapshot");
        let torn = if half {
            &bytes[..bytes.len() / 2]
        } else {
            &[][..]
        };
        std::fs::write(db.join(format!("snap.{:016X}.generating", lsn + 1)), torn)
            .expect("cannot write into the database directory");
        h.verify(None);
    }
}
