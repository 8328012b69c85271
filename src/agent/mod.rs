//! The agent: `keyward unlock` leaves a background process holding the open vault, so
//! later commands on that vault skip the passphrase and the key derivation, as with
//! ssh-agent, gpg-agent or rbw's agent. `keyward lock`, or the idle timeout, ends it.
//!
//! It listens on a Unix socket in the vault's directory (`agent-2.sock`; the directory
//! is 0700) and answers processes of the same user only (checked with SO_PEERCRED).
//! A command hands the agent its arguments, working directory, environment, and its
//! stdin, stdout, stderr and terminal as file descriptors (SCM_RIGHTS); the agent runs
//! the very same command code on its open vault with those descriptors as its own, and
//! answers with the exit code. So a served command reads and prints exactly as it
//! would alone, and the agent serves one command at a time.

use std::ffi::{OsStr, OsString};
use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rustix::net::{
    RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, SendAncillaryBuffer,
    SendAncillaryMessage, SendFlags, recvmsg, sendmsg,
};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The socket's name in the vault directory. Its number is the version of the
/// [`Request`] and [`Reply`] messages: a keyward whose messages differ listens on and
/// looks for another name, so a client and an agent of two versions (keyward upgraded
/// while unlocked) never misread each other; the client opens the vault itself, and
/// finds it held by the older agent until that one is locked.
pub const SOCKET: &str = "agent-2.sock";
/// Where agents listened before the name had a version. `keyward lock` still stops
/// them: their `Lock` request and `Locked` reply are encoded as this version's are.
const UNVERSIONED_SOCKET: &str = "agent.sock";
/// Longest request or reply accepted, in bytes (arguments and environment).
const MAX_FRAME: u32 = 4 << 20;
/// How often an idle agent checks that its socket is still there.
const LOOK_AROUND: Duration = Duration::from_secs(30);
/// How long a connected client may take to send its request.
const REQUEST_WAIT: Duration = Duration::from_secs(10);

/// Where the agent of the vault in `dir` listens.
pub fn socket_path(dir: &Path) -> PathBuf {
    dir.join(SOCKET)
}

/// What a client asks.
#[derive(Debug, Serialize, Deserialize)]
enum Request {
    /// Run this command line; the descriptors came with the message: stdin, stdout,
    /// stderr, then the terminal when `tty`.
    Run {
        argv: Vec<Vec<u8>>,
        cwd: Vec<u8>,
        vars: Vec<(Vec<u8>, Vec<u8>)>,
        tty: bool,
        /// The `--vault` value the client found on the command line (it found this
        /// agent's socket through it), for the agent to check against its own parse.
        vault: Option<Vec<u8>>,
    },
    /// Is it there, and for how long still?
    Status,
    /// Close the vault and stop.
    Lock,
}

/// What the agent answers.
#[derive(Debug, Serialize, Deserialize)]
enum Reply {
    /// The served command's exit code.
    Exit(i32),
    /// Status: the agent's pid and the seconds left before it locks by itself.
    Status { pid: u32, idle_left: u64 },
    /// Locked: the vault is closed and the agent gone.
    Locked,
    /// Not served: the command runs in the client's own process, or the command line
    /// names another vault than the one the client found. (Last: the variants before
    /// it keep the places they had in the unversioned protocol.)
    Local,
}

// ---------------------------------------------------------------------------
// Framing: a 4-byte length, then postcard; descriptors ride on the first bytes.
// ---------------------------------------------------------------------------

fn send_frame(sock: &UnixStream, msg: &impl Serialize, fds: &[BorrowedFd<'_>]) -> io::Result<()> {
    let body = postcard::to_allocvec(msg).map_err(io::Error::other)?;
    let mut frame = zeroize::Zeroizing::new(Vec::with_capacity(4 + body.len()));
    frame.extend_from_slice(&(body.len() as u32).to_le_bytes());
    frame.extend_from_slice(&body);
    drop(zeroize::Zeroizing::new(body));
    let mut space = [std::mem::MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(4))];
    let mut control = SendAncillaryBuffer::new(&mut space);
    if !fds.is_empty() && !control.push(SendAncillaryMessage::ScmRights(fds)) {
        return Err(io::Error::other("too many descriptors"));
    }
    let sent = sendmsg(
        sock,
        &[IoSlice::new(&frame)],
        &mut control,
        SendFlags::NOSIGNAL,
    )?;
    (&*sock).write_all(&frame[sent..])
}

fn recv_frame<T: for<'de> Deserialize<'de>>(sock: &UnixStream) -> io::Result<(T, Vec<OwnedFd>)> {
    let mut head = [0u8; 4];
    let mut space = [std::mem::MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(4))];
    let mut control = RecvAncillaryBuffer::new(&mut space);
    let got = recvmsg(
        sock,
        &mut [IoSliceMut::new(&mut head)],
        &mut control,
        RecvFlags::CMSG_CLOEXEC,
    )?;
    let mut fds = Vec::new();
    for msg in control.drain() {
        if let RecvAncillaryMessage::ScmRights(received) = msg {
            fds.extend(received);
        }
    }
    if got.bytes == 0 {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    (&*sock).read_exact(&mut head[got.bytes..])?;
    let len = u32::from_le_bytes(head);
    if len > MAX_FRAME {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "frame too long"));
    }
    let mut body = zeroize::Zeroizing::new(vec![0u8; len as usize]);
    (&*sock).read_exact(&mut body)?;
    let msg =
        postcard::from_bytes(&body).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    Ok((msg, fds))
}

// ---------------------------------------------------------------------------
// Client side
// ---------------------------------------------------------------------------

/// A connection to the agent of one vault.
pub struct Agent {
    sock: UnixStream,
}

/// The agent's state, for `keyward unlock --status`.
#[derive(Debug, Clone, Copy)]
pub struct Status {
    /// Its process id.
    pub pid: u32,
    /// Seconds before it locks by itself when nothing uses it.
    pub idle_left: u64,
}

impl Agent {
    /// Connects to the agent of the vault in `dir`, if one is running there.
    pub fn connect(dir: &Path) -> Option<Agent> {
        // No agent is the usual case: one failed connect, nothing else.
        let sock = UnixStream::connect(socket_path(dir)).ok()?;
        Some(Agent { sock })
    }

    /// Runs `argv` in the agent with these descriptors as its stdin, stdout and
    /// stderr (and the controlling terminal, when there is one): the exit code, or
    /// `None` when the agent leaves the command to the caller. `vault` is the
    /// `--vault` value in `argv`, if any.
    pub fn run(
        self,
        argv: &[OsString],
        vault: Option<&OsStr>,
        stdin: BorrowedFd<'_>,
        stdout: BorrowedFd<'_>,
        stderr: BorrowedFd<'_>,
    ) -> Result<Option<i32>> {
        let cwd = std::env::current_dir()
            .map_err(|e| Error::io("cannot find the current directory", e))?;
        let tty = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/tty")
            .ok();
        let request = Request::Run {
            argv: argv.iter().map(|a| a.as_bytes().to_vec()).collect(),
            cwd: cwd.into_os_string().into_vec(),
            vars: std::env::vars_os()
                .map(|(k, v)| (k.into_vec(), v.into_vec()))
                .collect(),
            tty: tty.is_some(),
            vault: vault.map(|v| v.as_bytes().to_vec()),
        };
        let mut fds = vec![stdin, stdout, stderr];
        if let Some(t) = &tty {
            fds.push(t.as_fd());
        }
        send_frame(&self.sock, &request, &fds).map_err(lost)?;
        drop(request);
        match recv_frame::<Reply>(&self.sock).map_err(lost)?.0 {
            Reply::Exit(code) => Ok(Some(code)),
            Reply::Local => Ok(None),
            _ => Err(lost(io::Error::other("unexpected answer"))),
        }
    }

    /// Asks how it is.
    pub fn status(self) -> Result<Status> {
        send_frame(&self.sock, &Request::Status, &[]).map_err(lost)?;
        match recv_frame::<Reply>(&self.sock).map_err(lost)?.0 {
            Reply::Status { pid, idle_left } => Ok(Status { pid, idle_left }),
            _ => Err(lost(io::Error::other("unexpected answer"))),
        }
    }

    /// Connects to an agent of an earlier keyward that listens on the unversioned
    /// socket, if one is running: [`Agent::lock`] is all it can be asked.
    pub fn connect_unversioned(dir: &Path) -> Option<Agent> {
        let sock = UnixStream::connect(dir.join(UNVERSIONED_SOCKET)).ok()?;
        Some(Agent { sock })
    }

    /// Tells it to close the vault and stop; returns once it has.
    pub fn lock(self) -> Result<()> {
        send_frame(&self.sock, &Request::Lock, &[]).map_err(lost)?;
        match recv_frame::<Reply>(&self.sock).map_err(lost)?.0 {
            Reply::Locked => Ok(()),
            _ => Err(lost(io::Error::other("unexpected answer"))),
        }
    }
}

fn lost(e: io::Error) -> Error {
    Error::io(
        "lost the keyward agent during the command (`keyward lock`, then retry)",
        e,
    )
}

// ---------------------------------------------------------------------------
// Server side
// ---------------------------------------------------------------------------

/// Binds the agent's socket in `dir`. A socket left by an agent that died is
/// replaced; a live one (impossible while we hold the vault's lock) is an error.
pub fn bind(dir: &Path) -> Result<UnixListener> {
    let path = socket_path(dir);
    if Agent::connect(dir).is_some() {
        return Err(Error::Invalid(format!(
            "a keyward agent already serves {}",
            dir.display()
        )));
    }
    let _ = std::fs::remove_file(&path);
    UnixListener::bind(&path).map_err(|e| {
        Error::io(
            format!("cannot listen on {} for the agent", path.display()),
            e,
        )
    })
}

/// What the agent does with one command line and the client's `--vault` value, with
/// the client's descriptors in place as its own stdin, stdout and stderr: the exit
/// code, or `None` to leave the command to the client.
pub type Handler<'a> = dyn FnMut(Vec<OsString>, Option<OsString>) -> Option<i32> + 'a;

/// Serves requests until `keyward lock` or `idle` without any, and removes the
/// socket. Returns the connection of the `lock` request, to be answered with
/// [`locked`] once the vault is closed.
pub fn serve(
    listener: UnixListener,
    dir: &Path,
    idle: Duration,
    handler: &mut Handler<'_>,
) -> Option<UnixStream> {
    let me = rustix::process::getuid();
    let mut deadline = Instant::now() + idle;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        let mut polled = [rustix::event::PollFd::new(
            &listener,
            rustix::event::PollFlags::IN,
        )];
        let wait = rustix::event::Timespec::try_from(left.min(LOOK_AROUND)).ok();
        match rustix::event::poll(&mut polled, wait.as_ref()) {
            // Its socket removed (the vault deleted or moved): nobody can reach it.
            Ok(0) if !socket_path(dir).exists() => return None,
            Ok(0) => continue,
            Ok(_) => {}
            Err(rustix::io::Errno::INTR) => continue,
            Err(_) => break,
        }
        let Ok((sock, _)) = listener.accept() else {
            continue;
        };
        // Same user only: root or anyone else gets nothing, not even an answer.
        match rustix::net::sockopt::socket_peercred(&sock) {
            Ok(cred) if cred.uid == me => {}
            _ => continue,
        }
        let _ = sock.set_read_timeout(Some(REQUEST_WAIT));
        let Ok((request, fds)) = recv_frame::<Request>(&sock) else {
            continue;
        };
        let _ = sock.set_read_timeout(None);
        let reply = match request {
            Request::Lock => {
                // Gone first: a command started from now on does not reach us.
                let _ = std::fs::remove_file(socket_path(dir));
                return Some(sock);
            }
            Request::Status => Reply::Status {
                pid: std::process::id(),
                idle_left: left.as_secs(),
            },
            Request::Run {
                argv,
                cwd,
                vars,
                tty,
                vault,
            } => match run_one(argv, cwd, vars, tty, vault, fds, handler) {
                Some(code) => Reply::Exit(code),
                None => Reply::Local,
            },
        };
        let _ = send_frame(&sock, &reply, &[]);
        deadline = Instant::now() + idle;
    }
    let _ = std::fs::remove_file(socket_path(dir));
    None
}

/// Answers a `lock` request: the vault is closed.
pub fn locked(sock: UnixStream) {
    let _ = send_frame(&sock, &Reply::Locked, &[]);
}

fn run_one(
    argv: Vec<Vec<u8>>,
    cwd: Vec<u8>,
    vars: Vec<(Vec<u8>, Vec<u8>)>,
    tty: bool,
    vault: Option<Vec<u8>>,
    fds: Vec<OwnedFd>,
    handler: &mut Handler<'_>,
) -> Option<i32> {
    let mut fds = fds.into_iter();
    let (Some(stdin), Some(stdout), Some(stderr)) = (fds.next(), fds.next(), fds.next()) else {
        return Some(crate::error::exit::FAILURE);
    };
    let tty = if tty { fds.next() } else { None };
    let vars = vars
        .into_iter()
        .map(|(k, v)| (OsString::from_vec(k), OsString::from_vec(v)))
        .collect();
    let argv = argv.into_iter().map(OsString::from_vec).collect();
    let vault = vault.map(OsString::from_vec);
    let _lent = crate::env::borrow(vars, tty);
    let stdio = Stdio::take(&stdin, &stdout, &stderr);
    let code = match stdio {
        Ok(_guard) => {
            if std::env::set_current_dir(std::ffi::OsStr::from_bytes(&cwd)).is_err() {
                eprintln!(
                    "keyward: the agent cannot enter your current directory; run the command from another one"
                );
                Some(crate::error::exit::FAILURE)
            } else {
                handler(argv, vault)
            }
        }
        Err(_) => Some(crate::error::exit::FAILURE),
    };
    let _ = std::env::set_current_dir("/");
    code
}

/// The client's descriptors as this process's stdin, stdout and stderr, until
/// dropped; then /dev/null again.
struct Stdio {
    null: std::fs::File,
}

impl Stdio {
    fn take(stdin: &OwnedFd, stdout: &OwnedFd, stderr: &OwnedFd) -> io::Result<Stdio> {
        let null = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/null")?;
        let guard = Stdio { null };
        rustix::stdio::dup2_stdin(stdin)?;
        rustix::stdio::dup2_stdout(stdout)?;
        rustix::stdio::dup2_stderr(stderr)?;
        Ok(guard)
    }
}

impl Drop for Stdio {
    fn drop(&mut self) {
        let _ = io::stdout().flush();
        let _ = io::stderr().flush();
        let _ = rustix::stdio::dup2_stdin(&self.null);
        let _ = rustix::stdio::dup2_stdout(&self.null);
        let _ = rustix::stdio::dup2_stderr(&self.null);
        // What the command read ahead from its stdin must not reach the next one:
        // stdin is /dev/null again, so this drains the buffer and stops.
        let mut stdin = io::stdin().lock();
        while let Ok(buf) = io::BufRead::fill_buf(&mut stdin) {
            let n = buf.len();
            if n == 0 {
                break;
            }
            io::BufRead::consume(&mut stdin, n);
        }
    }
}

/// Puts this process's stdin, stdout and stderr on /dev/null (the agent's state
/// between requests, detached from the terminal that started it).
pub fn detach_stdio() -> io::Result<()> {
    let null = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")?;
    rustix::stdio::dup2_stdin(&null)?;
    rustix::stdio::dup2_stdout(&null)?;
    rustix::stdio::dup2_stderr(&null)?;
    Ok(())
}
