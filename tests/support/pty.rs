//! A small harness that runs a program (by default the `keyward` binary) inside a
//! pseudo-terminal, types keys into it, and reads back what a person would see.
//!
//! Use it from an integration test with
//!
//! ```ignore
//! mod support {
//!     pub mod pty;
//! }
//! use support::pty::{Pty, Spawn};
//!
//! let mut tui = Spawn::keyward().args(["--vault", dir]).env("KEYWARD_CONFIG", cfg).spawn();
//! tui.wait_for("Create your keyward vault");
//! tui.send("passphrase\r");
//! ```
//!
//! * Every child starts with [`SCRUBBED_ENV`] removed and `TERM=xterm-256color`;
//!   [`Spawn::env`] sets (or sets back) any variable.
//! * A background thread reads the terminal into a buffer: [`Pty::output`] is every raw
//!   byte so far (escape sequences that draw nothing, like OSC 52, are only there), and
//!   [`Pty::screen`] is the screen as a `vt100` terminal of the same size shows it.
//! * [`Pty::wait_for`] and friends poll until the screen shows something, and panic
//!   with the screen and the tail of the output when it never does.
//! * Every screen is also kept, one per read of the terminal: [`Pty::mark`] then
//!   [`Pty::wait_seen`] finds a screen that lasted only a moment (a message in the bar,
//!   a countdown) however late the test looks, so no test races a timer of the program.
//! * No wait asserts how long anything took: the limits are only there so a hung
//!   program fails the test instead of hanging it.
//! * Dropping a [`Pty`] kills the child if it still runs, so a failing test leaves no
//!   process behind.
#![allow(dead_code)]

use std::ffi::{OsStr, OsString};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use portable_pty::{Child, CommandBuilder, ExitStatus, MasterPty, PtySize, native_pty_system};

/// How long the `wait_*` methods wait by default. Generous: the machine may be loaded.
pub const WAIT: Duration = Duration::from_secs(20);

/// How often the `wait_*` methods look again.
const POLL: Duration = Duration::from_millis(50);

/// Variables removed from the child's environment unless the test sets them again.
pub const SCRUBBED_ENV: &[&str] = &[
    "KEYWARD_PASSPHRASE",
    "KEYWARD_NEW_PASSPHRASE",
    "KEYWARD_VAULT",
    "KEYWARD_CONFIG",
    "DISPLAY",
    "WAYLAND_DISPLAY",
    "SSH_TTY",
    "SSH_CONNECTION",
    "SSH_CLIENT",
    "TMUX",
    "STY",
    "NO_COLOR",
    "COLUMNS",
    "LINES",
];

/// Keys as the terminal sends them.
pub mod keys {
    /// Enter.
    pub const ENTER: &str = "\r";
    /// Tab.
    pub const TAB: &str = "\t";
    /// Shift-Tab.
    pub const SHIFT_TAB: &str = "\x1b[Z";
    /// Escape (send it with [`super::Pty::send_esc`]; see there).
    pub const ESC: &str = "\x1b";
    /// Backspace.
    pub const BACKSPACE: &str = "\x7f";
    /// Arrow up.
    pub const UP: &str = "\x1b[A";
    /// Arrow down.
    pub const DOWN: &str = "\x1b[B";
    /// Arrow right.
    pub const RIGHT: &str = "\x1b[C";
    /// Arrow left.
    pub const LEFT: &str = "\x1b[D";
    /// Ctrl-C.
    pub const CTRL_C: &str = "\x03";
    /// Ctrl-L.
    pub const CTRL_L: &str = "\x0c";
    /// Ctrl-R.
    pub const CTRL_R: &str = "\x12";
    /// Ctrl-U.
    pub const CTRL_U: &str = "\x15";
}

/// What to run and how: program, arguments, environment, terminal size.
#[derive(Debug, Clone)]
pub struct Spawn {
    program: OsString,
    args: Vec<OsString>,
    env: Vec<(OsString, OsString)>,
    cwd: Option<PathBuf>,
    cols: u16,
    rows: u16,
}

impl Spawn {
    /// The `keyward` binary of this package, in a 120×32 terminal.
    pub fn keyward() -> Self {
        Self::program(env!("CARGO_BIN_EXE_keyward"))
    }

    /// Any program, in a 120×32 terminal.
    pub fn program(program: impl AsRef<OsStr>) -> Self {
        Self {
            program: program.as_ref().to_owned(),
            args: Vec::new(),
            env: Vec::new(),
            cwd: None,
            cols: 120,
            rows: 32,
        }
    }

    /// One more argument.
    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.args.push(arg.as_ref().to_owned());
        self
    }

    /// More arguments.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    /// Sets a variable (also one of [`SCRUBBED_ENV`]).
    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        self.env
            .push((key.as_ref().to_owned(), value.as_ref().to_owned()));
        self
    }

    /// The working directory (default: the system temp dir).
    pub fn cwd(mut self, dir: impl AsRef<Path>) -> Self {
        self.cwd = Some(dir.as_ref().to_owned());
        self
    }

    /// The terminal size in columns and rows.
    pub fn size(mut self, cols: u16, rows: u16) -> Self {
        self.cols = cols;
        self.rows = rows;
        self
    }

    /// Starts the program in a new pseudo-terminal.
    pub fn spawn(self) -> Pty {
        let pair = native_pty_system()
            .openpty(pty_size(self.cols, self.rows))
            .expect("cannot open a pseudo-terminal");
        let mut cmd = CommandBuilder::new(&self.program);
        cmd.args(&self.args);
        for key in SCRUBBED_ENV {
            cmd.env_remove(key);
        }
        cmd.env("TERM", "xterm-256color");
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd.cwd(self.cwd.unwrap_or_else(std::env::temp_dir));
        let child = pair
            .slave
            .spawn_command(cmd)
            .unwrap_or_else(|e| panic!("cannot start {:?}: {e}", self.program));
        // Only the child holds the slave now: reading gives EOF once it is gone.
        drop(pair.slave);
        let mut reader = pair
            .master
            .try_clone_reader()
            .expect("cannot read the pseudo-terminal");
        let writer = pair
            .master
            .take_writer()
            .expect("cannot write to the pseudo-terminal");
        let shared = Arc::new(Shared::default());
        let sink = Arc::clone(&shared);
        let reader = std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            loop {
                match reader.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        let mut state = sink.state.lock().unwrap();
                        state.bytes.extend_from_slice(&buf[..n]);
                        let end = state.bytes.len();
                        state.reads.push(end);
                        drop(state);
                        sink.ready.notify_all();
                    }
                }
            }
            sink.state.lock().unwrap().eof = true;
            sink.ready.notify_all();
        });
        Pty {
            master: pair.master,
            writer: Some(writer),
            child,
            shared,
            reader: Some(reader),
            parser: vt100::Parser::new(nz(self.rows), nz(self.cols), 0),
            parsed: 0,
            history: Vec::new(),
            status: None,
        }
    }
}

fn pty_size(cols: u16, rows: u16) -> PtySize {
    PtySize {
        rows,
        cols,
        pixel_width: 0,
        pixel_height: 0,
    }
}

fn nz(n: u16) -> std::num::NonZeroU16 {
    std::num::NonZeroU16::new(n).expect("a terminal needs at least one row and column")
}

#[derive(Default)]
struct State {
    bytes: Vec<u8>,
    /// Where each read from the terminal ended (offsets into `bytes`).
    reads: Vec<usize>,
    eof: bool,
}

#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    ready: Condvar,
}

/// A program running in a pseudo-terminal.
pub struct Pty {
    master: Box<dyn MasterPty + Send>,
    writer: Option<Box<dyn Write + Send>>,
    child: Box<dyn Child + Send + Sync>,
    shared: Arc<Shared>,
    reader: Option<JoinHandle<()>>,
    parser: vt100::Parser,
    parsed: usize,
    /// Every distinct screen so far, in order (one look after each read).
    history: Vec<String>,
    status: Option<ExitStatus>,
}

impl Pty {
    /// Types `keys` (text, or escape sequences from [`keys`]).
    pub fn send(&mut self, keys: impl AsRef<[u8]>) {
        let w = self.writer.as_mut().expect("the terminal is closed");
        w.write_all(keys.as_ref())
            .and_then(|()| w.flush())
            .expect("cannot write to the pseudo-terminal");
    }

    /// Presses Esc alone. Wait for what it does before typing the next key: an Esc
    /// read together with the next bytes is one Alt-key or escape sequence, while one
    /// read alone is Esc (the program cannot have read the next key with it, as the
    /// screen shows that it handled the Esc before that key was typed).
    pub fn send_esc(&mut self) {
        self.send(keys::ESC);
    }

    /// Parses what arrived since the last look, one read at a time, keeping the screen
    /// after each read in the history.
    fn absorb(&mut self) {
        let state = self.shared.state.lock().unwrap();
        let first = state.reads.partition_point(|&end| end <= self.parsed);
        for &end in &state.reads[first..] {
            self.parser.process(&state.bytes[self.parsed..end]);
            self.parsed = end;
            let screen = self.parser.screen().contents();
            if self.history.last() != Some(&screen) {
                self.history.push(screen);
            }
        }
    }

    /// The screen's text now, rows joined by newlines.
    pub fn screen(&mut self) -> String {
        self.absorb();
        self.parser.screen().contents()
    }

    /// The screen's rows now, exactly one string per row.
    pub fn rows(&mut self) -> Vec<String> {
        self.absorb();
        let (_, cols) = self.parser.screen().size();
        self.parser.screen().rows(0, cols.get()).collect()
    }

    /// The `vt100` screen now (colours, attributes, cursor).
    pub fn vt(&mut self) -> &vt100::Screen {
        self.absorb();
        self.parser.screen()
    }

    /// Every raw byte the program wrote so far.
    pub fn output(&self) -> Vec<u8> {
        self.shared.state.lock().unwrap().bytes.clone()
    }

    /// A point in the screen history: [`Pty::wait_seen`] looks at the screen shown now
    /// and at every one after it. Take it before typing the key whose effect you wait for.
    pub fn mark(&mut self) -> usize {
        self.absorb();
        self.history.len().saturating_sub(1)
    }

    /// Every distinct screen so far, oldest first (indices as [`Pty::mark`] gives them).
    pub fn history(&mut self) -> &[String] {
        self.absorb();
        &self.history
    }

    /// The index of the first screen from `mark` on that shows every one of `shows` and
    /// none of `hides`, if there is one yet.
    pub fn seen(&mut self, mark: usize, shows: &[&str], hides: &[&str]) -> Option<usize> {
        self.absorb();
        self.history
            .iter()
            .enumerate()
            .skip(mark)
            .find(|(_, s)| {
                shows.iter().all(|t| s.contains(t)) && !hides.iter().any(|t| s.contains(t))
            })
            .map(|(i, _)| i)
    }

    /// Waits until a screen from `mark` on showed every one of `shows` and none of
    /// `hides` — even if it is gone again by now; returns its index in the history.
    /// For what lasts only a while: messages in the bar, countdowns, revealed secrets.
    pub fn wait_seen(&mut self, mark: usize, shows: &[&str], hides: &[&str]) -> usize {
        self.wait_seen_within(mark, shows, hides, WAIT)
    }

    /// [`Pty::wait_seen`] with its own limit (add the program's own timer to [`WAIT`]
    /// when waiting for that timer to run out).
    pub fn wait_seen_within(
        &mut self,
        mark: usize,
        shows: &[&str],
        hides: &[&str],
        timeout: Duration,
    ) -> usize {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(i) = self.seen(mark, shows, hides) {
                return i;
            }
            if Instant::now() >= deadline {
                self.fail(&format!(
                    "timed out waiting for a screen showing {shows:?} and none of {hides:?} \
                     (since screen {mark} of {})",
                    self.history.len()
                ));
            }
            self.sleep_for_output(deadline);
        }
    }

    /// Waits until the screen shows `text`; returns the screen.
    pub fn wait_for(&mut self, text: &str) -> String {
        self.wait_for_within(text, WAIT)
    }

    /// Waits up to `timeout` until the screen shows `text`; returns the screen.
    pub fn wait_for_within(&mut self, text: &str, timeout: Duration) -> String {
        self.wait_until_within(&format!("{text:?} on screen"), timeout, |s| {
            s.contains(text)
        })
    }

    /// Waits until the screen shows every one of `texts` at once; returns the screen.
    ///
    /// Prefer this to `wait_for(a)` followed by checks of `b`: a frame is written top
    /// to bottom, so the screen may show `a` before the rest of its frame arrived.
    pub fn wait_for_all(&mut self, texts: &[&str]) -> String {
        self.wait_screen(texts, &[])
    }

    /// Waits until the screen shows every one of `shows` and none of `hides`.
    pub fn wait_screen(&mut self, shows: &[&str], hides: &[&str]) -> String {
        let what = format!("a screen showing {shows:?} and none of {hides:?}");
        self.wait_until(&what, |s| {
            shows.iter().all(|t| s.contains(t)) && !hides.iter().any(|t| s.contains(t))
        })
    }

    /// Waits until the screen no longer shows `text`; returns the screen.
    pub fn wait_gone(&mut self, text: &str) -> String {
        self.wait_until(&format!("{text:?} gone from the screen"), |s| {
            !s.contains(text)
        })
    }

    /// Waits until `pred` holds for the screen text; `what` names it in the failure.
    pub fn wait_until(&mut self, what: &str, pred: impl FnMut(&str) -> bool) -> String {
        self.wait_until_within(what, WAIT, pred)
    }

    /// Waits up to `timeout` until `pred` holds for the screen text.
    pub fn wait_until_within(
        &mut self,
        what: &str,
        timeout: Duration,
        mut pred: impl FnMut(&str) -> bool,
    ) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let screen = self.screen();
            if pred(&screen) {
                return screen;
            }
            if Instant::now() >= deadline {
                self.fail(&format!("timed out waiting for {what}"));
            }
            self.sleep_for_output(deadline);
        }
    }

    /// Waits until `pred` holds for the raw output so far; returns it.
    pub fn wait_output(&mut self, what: &str, mut pred: impl FnMut(&[u8]) -> bool) -> Vec<u8> {
        let deadline = Instant::now() + WAIT;
        loop {
            let out = self.output();
            if pred(&out) {
                return out;
            }
            if Instant::now() >= deadline {
                self.fail(&format!("timed out waiting for {what} in the raw output"));
            }
            self.sleep_for_output(deadline);
        }
    }

    /// Sleeps until new output arrives, a poll interval passes, or `deadline`.
    fn sleep_for_output(&self, deadline: Instant) {
        let wait = POLL.min(deadline.saturating_duration_since(Instant::now()));
        let state = self.shared.state.lock().unwrap();
        if state.bytes.len() == self.parsed && !state.eof {
            let _ = self.shared.ready.wait_timeout(state, wait);
        } else {
            drop(state);
            std::thread::sleep(wait);
        }
    }

    /// Panics with `why`, the screen and the end of the raw output.
    pub fn fail(&mut self, why: &str) -> ! {
        let screen = self.screen();
        let out = self.output();
        let tail = &out[out.len().saturating_sub(1500)..];
        panic!(
            "{why}\n--- screen ---\n{screen}\n--- last {} bytes of output ---\n{}\n---",
            tail.len(),
            tail.escape_ascii()
        );
    }

    /// Resizes the terminal (the program gets SIGWINCH).
    pub fn resize(&mut self, cols: u16, rows: u16) {
        // What was drawn for the old size is parsed at the old size.
        self.absorb();
        self.master
            .resize(pty_size(cols, rows))
            .expect("cannot resize the pseudo-terminal");
        self.parser.screen_mut().set_size(nz(rows), nz(cols));
    }

    /// The exit status, if the program has exited.
    pub fn try_status(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            self.status = self.child.try_wait().expect("cannot poll the child");
        }
        self.status.clone()
    }

    /// Waits for the program to exit and for the last of its output; returns the
    /// exit status. Panics (after killing it) if it is still running after [`WAIT`].
    pub fn wait_exit(&mut self) -> ExitStatus {
        let deadline = Instant::now() + WAIT;
        let status = loop {
            if let Some(s) = self.try_status() {
                break s;
            }
            if Instant::now() >= deadline {
                self.fail("timed out waiting for the program to exit");
            }
            std::thread::sleep(POLL);
        };
        // The reader sees EOF once the child (and so the slave side) is gone.
        let mut state = self.shared.state.lock().unwrap();
        while !state.eof && Instant::now() < deadline {
            state = self.shared.ready.wait_timeout(state, POLL).unwrap().0;
        }
        let eof = state.eof;
        drop(state);
        if eof && let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        self.absorb();
        status
    }

    /// Whether the terminal is in its ordinary ("cooked") mode: line editing (ICANON)
    /// and echo (ECHO) on. `None` when it cannot be read.
    pub fn is_cooked(&self) -> Option<bool> {
        let t = self.master.get_termios()?;
        // Read the flag names from their Debug text: no need for a termios crate here.
        let flags = format!("{:?}", t.local_flags);
        let names: Vec<&str> = flags
            .split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
            .collect();
        Some(names.contains(&"ICANON") && names.contains(&"ECHO"))
    }

    /// The program's process id (`None` once it has been reaped).
    pub fn pid(&self) -> Option<u32> {
        self.child.process_id()
    }

    /// Kills the program if it still runs, and reaps it.
    pub fn kill(&mut self) {
        if self.try_status().is_none() {
            let _ = self.child.kill();
            self.status = self.child.wait().ok();
        }
    }
}

impl Drop for Pty {
    fn drop(&mut self) {
        self.kill();
        // Dropping the writer sends an end-of-file to the terminal: harmless now.
        self.writer = None;
    }
}
