//! The child's stderr and its relay. When lokiwrap's stderr is a terminal the child gets a
//! pseudo-terminal for stderr only (so `isatty(2)`, colours and progress bars behave as
//! unwrapped), otherwise a pipe. Every chunk read is written to lokiwrap's stderr at once,
//! unchanged, and shown to an observer that looks for crashes and friction.

use std::io::IsTerminal;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::sync::LazyLock;

use nix::errno::Errno;
use nix::fcntl::{FcntlArg, FdFlag, OFlag};
use nix::poll::PollFlags;
use nix::sys::termios::OutputFlags;

/// Sees every byte of the child's stderr, in order, after it was relayed.
pub trait StderrObserver {
    fn observe(&mut self, chunk: &[u8]);

    /// At the end, the most recent output the relay still holds (at least the last
    /// `RECENT` bytes, when there were that many), in two parts, the earlier one first.
    fn finish(&mut self, _earlier: &[u8], _latest: &[u8]) {}
}

impl StderrObserver for () {
    fn observe(&mut self, _chunk: &[u8]) {}
}

/// How much recent output the relay always holds for `StderrObserver::finish`.
pub const RECENT: usize = CHUNK - MIN_READ;

nix::ioctl_read_bad!(get_window_size, libc::TIOCGWINSZ, libc::winsize);
nix::ioctl_write_ptr_bad!(set_window_size, libc::TIOCSWINSZ, libc::winsize);

/// The two ends of the child's new stderr.
pub struct StderrCapture {
    /// lokiwrap reads here: the pipe's read end or the pseudo-terminal's master.
    pub source: OwnedFd,
    /// The child's fd 2: the pipe's write end or the pseudo-terminal's slave.
    pub child_end: OwnedFd,
    pub is_pty: bool,
}

/// Why the child's stderr could not be captured as intended, for the one warning line.
pub enum CaptureProblem {
    /// A pipe instead of a terminal: isatty(2) is false for the tool.
    NoPty(Errno),
    /// No capture at all: the tool writes straight to lokiwrap's stderr.
    NoPipe(Errno),
}

/// Creates the child's stderr. `Err` carries what could be had instead, if anything.
pub fn capture_stderr() -> Result<StderrCapture, (Option<StderrCapture>, CaptureProblem)> {
    let pty_problem = if std::io::stderr().is_terminal() {
        match open_stderr_pty() {
            Ok(capture) => return Ok(capture),
            Err(errno) => Some(errno),
        }
    } else {
        None
    };
    let pipe = open_stderr_pipe();
    match (pipe, pty_problem) {
        (Ok(capture), None) => Ok(capture),
        (Ok(capture), Some(errno)) => Err((Some(capture), CaptureProblem::NoPty(errno))),
        (Err(errno), _) => Err((None, CaptureProblem::NoPipe(errno))),
    }
}

fn open_stderr_pipe() -> nix::Result<StderrCapture> {
    let (read, write) = nix::unistd::pipe2(OFlag::O_CLOEXEC)?;
    set_nonblocking(&read)?;
    // A larger pipe means fewer wake-ups per megabyte relayed; unwrapped, stderr is usually a
    // terminal or a file, which never blocks a writer as early as a 64 KiB pipe would. The
    // kernel may refuse (pipe-max-size); the default size then serves.
    #[cfg(target_os = "linux")]
    let _ = nix::fcntl::fcntl(&read, FcntlArg::F_SETPIPE_SZ(PIPE_SIZE));
    Ok(StderrCapture {
        source: read,
        child_end: write,
        is_pty: false,
    })
}

/// A pseudo-terminal used for stderr only. No setsid and no TIOCSCTTY: the child stays in the
/// caller's session and process group, the real terminal keeps delivering ^C and ^Z, and
/// /dev/tty stays the real terminal. Output post-processing is off in the copy of the real
/// terminal's settings, so the real terminal applies it exactly once when lokiwrap writes.
fn open_stderr_pty() -> nix::Result<StderrCapture> {
    let stderr = std::io::stderr();
    let mut termios = nix::sys::termios::tcgetattr(&stderr)?;
    termios.output_flags.remove(OutputFlags::OPOST);
    let size = terminal_size();
    let pty = nix::pty::openpty(size.as_ref(), Some(&termios))?;
    for fd in [&pty.master, &pty.slave] {
        nix::fcntl::fcntl(fd, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC))?;
    }
    set_nonblocking(&pty.master)?;
    Ok(StderrCapture {
        source: pty.master,
        child_end: pty.slave,
        is_pty: true,
    })
}

fn set_nonblocking(fd: &OwnedFd) -> nix::Result<()> {
    let flags = OFlag::from_bits_truncate(nix::fcntl::fcntl(fd, FcntlArg::F_GETFL)?);
    nix::fcntl::fcntl(fd, FcntlArg::F_SETFL(flags | OFlag::O_NONBLOCK)).map(drop)
}

/// The real terminal's size, from whichever of stderr, stdout and stdin is a terminal.
/// A zero-sized pseudo-terminal would make tools such as cargo think there is no terminal.
fn terminal_size() -> Option<libc::winsize> {
    [2, 1, 0].into_iter().find_map(|fd| {
        let mut size = libc::winsize {
            ws_row: 0,
            ws_col: 0,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: TIOCGWINSZ writes one winsize into the valid struct we pass.
        let ok = unsafe { get_window_size(fd, &mut size) }.is_ok();
        (ok && size.ws_col > 0).then_some(size)
    })
}

/// Copies the real terminal's size to the pseudo-terminal (after a SIGWINCH). Returns whether
/// the size changed.
pub fn sync_window_size(master: BorrowedFd<'_>) -> bool {
    let Some(size) = terminal_size() else { return false };
    let mut old = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes one winsize into the valid struct we pass.
    let _ = unsafe { get_window_size(master.as_raw_fd(), &mut old) };
    if (old.ws_row, old.ws_col) == (size.ws_row, size.ws_col) {
        return false;
    }
    // SAFETY: TIOCSWINSZ reads one winsize from the valid struct we pass.
    unsafe { set_window_size(master.as_raw_fd(), &size) }.is_ok()
}

/// Size of each of the relay's two buffers, and of the largest read.
const CHUNK: usize = 256 * 1024;
/// Consecutive reads fill a buffer until less than this is left, then the other one is used:
/// the output before the latest read stays in place, so nothing needs copying to keep it.
const MIN_READ: usize = 64 * 1024;
#[cfg(target_os = "linux")]
const PIPE_SIZE: i32 = 1024 * 1024;
/// Reads made per wake-up while the child keeps the pipe full, before signals are looked at
/// again: a few milliseconds of work at most.
const READS_PER_STEP: usize = 8;

/// Copies the child's stderr to lokiwrap's, one chunk at a time, inside the launcher's event
/// loop. While a chunk is not fully written nothing more is read, so a slow reader of
/// lokiwrap's stderr slows the tool exactly as it would without lokiwrap.
pub struct Relay<'o> {
    source: Option<OwnedFd>,
    /// The source is a pseudo-terminal master (the child's stderr is a terminal).
    is_pty: bool,
    /// Consecutive reads fill one buffer, then the other: together they always hold the most
    /// recent output. Allocated on the first read, so a quiet run pays nothing for them.
    bufs: [Vec<u8>; 2],
    /// The buffer being filled.
    current: usize,
    /// How much of the other buffer holds output (the part before `bufs[current]`).
    earlier: usize,
    /// `bufs[current][written..filled]` is read but not yet written.
    written: usize,
    filled: usize,
    /// Bytes the last read returned.
    last_read: usize,
    observer: &'o mut dyn StderrObserver,
}

impl<'o> Relay<'o> {
    pub fn new(source: OwnedFd, is_pty: bool, observer: &'o mut dyn StderrObserver) -> Relay<'o> {
        Relay {
            source: Some(source),
            is_pty,
            bufs: [Vec::new(), Vec::new()],
            current: 0,
            earlier: 0,
            written: 0,
            filled: 0,
            last_read: 0,
            observer,
        }
    }

    fn source(&self) -> Option<BorrowedFd<'_>> {
        self.source.as_ref().map(|fd| fd.as_fd())
    }

    /// The pseudo-terminal master, while the child's stderr is one and it is still open.
    pub fn pty_master(&self) -> Option<BorrowedFd<'_>> {
        self.source().filter(|_| self.is_pty)
    }

    /// What the event loop should wait for: room on lokiwrap's stderr while a chunk is pending,
    /// otherwise data from the child.
    pub fn interest(&self) -> Option<(BorrowedFd<'_>, PollFlags)> {
        if self.written < self.filled {
            return Some((stderr_fd(), PollFlags::POLLOUT));
        }
        self.source().map(|fd| (fd, PollFlags::POLLIN))
    }

    /// Makes one step of progress after poll said the fd of `interest` is ready.
    pub fn step(&mut self) {
        if self.written < self.filled {
            self.write_pending();
            return;
        }
        for _ in 0..READS_PER_STEP {
            // Another read is worth trying only if this one filled the buffer and went out whole.
            // Another read is worth trying only after a large one that went out whole: the
            // child is writing faster than one read takes in.
            if !self.read_chunk() || self.written < self.filled || self.last_read < MIN_READ {
                break;
            }
        }
    }

    /// Reads once. Returns false when nothing more can be read now (would block, or ended).
    fn read_chunk(&mut self) -> bool {
        let Some(source) = &self.source else { return false };
        if CHUNK - self.filled < MIN_READ {
            self.earlier = self.filled;
            self.current = 1 - self.current;
            self.filled = 0;
            self.written = 0;
        }
        let current = self.current;
        if self.bufs[current].is_empty() {
            self.bufs[current] = vec![0; CHUNK];
        }
        let start = self.filled;
        match nix::unistd::read(source, &mut self.bufs[current][start..]) {
            Ok(0) | Err(Errno::EIO) => {
                // EOF: every writer closed it (EIO is how a pseudo-terminal master says so).
                self.source = None;
                false
            }
            Ok(n) => {
                self.last_read = n;
                self.written = start;
                self.filled = start + n;
                // Relayed first, looked at after: watching never delays the bytes.
                self.write_pending();
                self.observer.observe(&self.bufs[current][start..start + n]);
                true
            }
            Err(Errno::EINTR) => true,
            Err(Errno::EAGAIN) => false,
            Err(_) => {
                self.source = None;
                false
            }
        }
    }

    /// Writes what is pending. Stops early on EINTR (so the loop handles the signal) and on
    /// EAGAIN (lokiwrap's stderr was made non-blocking by someone else; poll waits for room).
    fn write_pending(&mut self) {
        while self.written < self.filled {
            match nix::unistd::write(stderr_fd(), &self.bufs[self.current][self.written..self.filled]) {
                Ok(n) => self.written += n,
                Err(Errno::EINTR) | Err(Errno::EAGAIN) => return,
                Err(_) => {
                    // lokiwrap's stderr is gone (EPIPE: its reader exited). Close the child's
                    // end too, so the tool sees EPIPE or SIGPIPE as it would have unwrapped.
                    self.source = None;
                    self.written = self.filled;
                }
            }
        }
    }

    /// After the child exited: relays what is already there without waiting. If a process the
    /// tool started still holds its stderr open, a detached copy of lokiwrap keeps relaying
    /// for it until it closes, so lokiwrap neither hangs nor cuts that process off.
    pub fn finish(mut self) {
        self.relay_available();
        let other = &self.bufs[1 - self.current];
        self.observer.finish(
            &other[..self.earlier.min(other.len())],
            &self.bufs[self.current][..self.filled],
        );
        if let Some(source) = self.source.take() {
            hand_off(source, self.is_pty);
        }
    }

    /// Relays until reading would block or the stream ended; waits only for room on stderr.
    fn relay_available(&mut self) {
        loop {
            if self.written < self.filled {
                if !wait_for(stderr_fd(), PollFlags::POLLOUT) {
                    return;
                }
                self.write_pending();
                continue;
            }
            if !self.read_chunk() {
                return;
            }
        }
    }
}

static STDERR: LazyLock<std::io::Stderr> = LazyLock::new(std::io::stderr);

/// lokiwrap's own fd 2, which it never closes.
fn stderr_fd() -> BorrowedFd<'static> {
    STDERR.as_fd()
}

fn wait_for(fd: BorrowedFd<'_>, flags: PollFlags) -> bool {
    let mut fds = [nix::poll::PollFd::new(fd, flags)];
    loop {
        match nix::poll::poll(&mut fds, nix::poll::PollTimeout::NONE) {
            Ok(_) => return true,
            Err(Errno::EINTR) => continue,
            Err(_) => return false,
        }
    }
}

/// Forks a relay that outlives lokiwrap until every writer of the child's stderr has closed
/// it. It leaves the session (no terminal signals reach it), lets go of stdin and stdout (a
/// pipeline reading lokiwrap's stdout must see EOF), and exits when the stream ends.
fn hand_off(source: OwnedFd, is_pty: bool) {
    // SAFETY: the launcher is single-threaded, so the forked process may run any code.
    match unsafe { nix::unistd::fork() } {
        Ok(nix::unistd::ForkResult::Child) => {
            let _ = nix::unistd::setsid();
            if let Ok(null) = std::fs::OpenOptions::new().read(true).write(true).open("/dev/null") {
                let _ = nix::unistd::dup2_stdin(&null);
                let _ = nix::unistd::dup2_stdout(&null);
            }
            if let Ok(flags) = nix::fcntl::fcntl(&source, FcntlArg::F_GETFL) {
                let flags = OFlag::from_bits_truncate(flags) - OFlag::O_NONBLOCK;
                let _ = nix::fcntl::fcntl(&source, FcntlArg::F_SETFL(flags));
            }
            // Blocking now: reads wait for the writer, and end only at EOF.
            let mut ignore = ();
            let mut relay = Relay::new(source, is_pty, &mut ignore);
            relay.relay_available();
            // SAFETY: _exit skips atexit handlers and destructors that belong to the parent.
            unsafe { libc::_exit(0) }
        }
        Ok(nix::unistd::ForkResult::Parent { .. }) => {}
        Err(_) => {}
    }
}
