//! The relay: copies what the child writes into its output channel (see `channel`) to
//! lokiwrap's stderr, which is the same place as its stdout when the channel carries both.
//! Every chunk read is written at once, unchanged, and shown to an observer that looks for
//! crashes and friction; on a pseudo-terminal it also follows the tool's terminal settings.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::LazyLock;

use nix::errno::Errno;
use nix::fcntl::{FcntlArg, OFlag};
use nix::poll::PollFlags;

use super::terminal_modes::{ModeMirror, Pty, TIOCPKT_IOCTL};

/// Sees every byte of the child's carried output, in order, after it was relayed.
pub trait OutputObserver {
    fn observe(&mut self, chunk: &[u8]);

    /// At the end, the most recent output the relay still holds (at least the last
    /// `RECENT` bytes, when there were that many), in two parts, the earlier one first.
    fn finish(&mut self, _earlier: &[u8], _latest: &[u8]) {}
}

impl OutputObserver for () {
    fn observe(&mut self, _chunk: &[u8]) {}
}

/// How much recent output the relay always holds for `OutputObserver::finish`.
pub const RECENT: usize = CHUNK;

/// Size of each of the relay's two buffers, and of the largest read. Consecutive reads fill
/// one buffer to its end, then the other: the earlier buffer is then always full, so the two
/// hold at least the last CHUNK bytes and nothing is copied to keep them. Small buffers keep
/// the kernel's copy into them in the cache: with 64 KiB ones a read costs half what it does
/// with 128 KiB ones. Reads no larger than the pipe also keep its lock short, so the tool can
/// go on writing while lokiwrap copies.
const CHUNK: usize = 64 * 1024;
/// Reads made per wake-up while the child keeps writing, before signals are looked at again:
/// a millisecond of work at most.
const READS_PER_STEP: usize = 16;

/// Copies the child's output to lokiwrap's stderr, one chunk at a time, inside the launcher's
/// event loop. While a chunk is not fully written nothing more is read, so a slow reader of
/// lokiwrap's output slows the tool exactly as it would without lokiwrap.
pub struct Relay<'o> {
    source: Option<OwnedFd>,
    /// Set when the source is a pseudo-terminal's master: follows the tool's terminal settings
    /// (only while lokiwrap runs in the caller's job).
    modes: Option<ModeMirror>,
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
    /// A "\r" the tool's terminal wrote last, not relayed yet: if a "\n" comes next, the
    /// terminal added it (ONLCR) and it is dropped.
    held_return: bool,
    observer: &'o mut dyn OutputObserver,
}

impl<'o> Relay<'o> {
    /// `pty` describes the pseudo-terminal when `source` is its master.
    pub fn new(source: OwnedFd, pty: Option<Pty>, observer: &'o mut dyn OutputObserver) -> Relay<'o> {
        let modes = pty.map(ModeMirror::new);
        Relay {
            source: Some(source),
            modes,
            bufs: [Vec::new(), Vec::new()],
            current: 0,
            earlier: 0,
            written: 0,
            filled: 0,
            held_return: false,
            observer,
        }
    }

    fn source(&self) -> Option<BorrowedFd<'_>> {
        self.source.as_ref().map(|fd| fd.as_fd())
    }

    /// The pseudo-terminal master, while the child's output is one and it is still open.
    pub fn pty_master(&self) -> Option<BorrowedFd<'_>> {
        self.source().filter(|_| self.modes.is_some())
    }

    /// What the event loop should wait for: room on lokiwrap's stderr while a chunk is pending,
    /// otherwise data (or news of the tool's terminal settings) from the child.
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
        // Read again at once while the child keeps writing, as a plain `cat` would: a poll
        // between reads costs as much as the read itself.
        for _ in 0..READS_PER_STEP {
            if !self.read_chunk() || self.written < self.filled {
                break;
            }
        }
    }

    /// The real terminal, while keys are lent to a program reading the pseudo-terminal.
    pub fn keys(&self) -> Option<BorrowedFd<'_>> {
        self.modes.as_ref().and_then(ModeMirror::keys)
    }

    /// Copies waiting keys into the pseudo-terminal, after poll said they are there.
    pub fn copy_keys(&mut self) {
        if let (Some(modes), Some(source)) = (&mut self.modes, &self.source) {
            modes.copy_keys(source.as_fd());
        }
    }

    /// Relays what the child wrote so far and gives the real terminal back its settings:
    /// the child stopped, and the shell is about to take the terminal.
    pub fn child_stopped(&mut self) {
        self.relay_available();
        if let Some(modes) = &mut self.modes {
            modes.give_back();
        }
    }

    /// The child was continued in the foreground: its terminal settings apply again.
    pub fn child_continued(&mut self) {
        if let Some(modes) = &mut self.modes {
            modes.sync();
        }
    }

    /// Reads once. Returns false when nothing more can be read now (would block, or ended).
    fn read_chunk(&mut self) -> bool {
        let Some(source) = &self.source else { return false };
        if self.filled == CHUNK {
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
        let read = if self.modes.is_some() && PACKET_MODE {
            read_packet(source.as_fd(), &mut self.bufs[current], start)
        } else {
            nix::unistd::read(source, &mut self.bufs[current][start..]).map(Packet::Data)
        };
        match read {
            Ok(Packet::Data(0)) | Err(Errno::EIO) => {
                // EOF: every writer closed it (EIO is how a pseudo-terminal master says so).
                self.source = None;
                false
            }
            Ok(Packet::Data(mut n)) => {
                if self.modes.as_ref().is_some_and(ModeMirror::adds_carriage_returns) {
                    let data = &mut self.bufs[current][start..start + n];
                    if std::mem::take(&mut self.held_return) && data.first() != Some(&b'\n') {
                        self.release_return();
                    }
                    n = remove_added_carriage_returns(&mut self.bufs[current][start..start + n]);
                    // A read can end between the "\r" and the "\n" the terminal wrote as one:
                    // a last "\r" waits for the next read, or a moment (`holding_return`).
                    if n > 0 && self.bufs[current][start + n - 1] == b'\r' {
                        n -= 1;
                        self.held_return = true;
                    }
                }
                self.written = start;
                self.filled = start + n;
                // Relayed first, looked at after: watching never delays the bytes.
                self.write_pending();
                self.observer.observe(&self.bufs[current][start..start + n]);
                true
            }
            Ok(Packet::Status(status)) => {
                if status & TIOCPKT_IOCTL != 0
                    && let (Some(modes), Some(source)) = (&mut self.modes, &self.source)
                {
                    modes.follow(source.as_fd());
                }
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

    /// Whether a "\r" is held back, to be released if no "\n" follows soon.
    pub fn holding_return(&self) -> bool {
        self.held_return
    }

    /// Writes the "\r" held back: the tool wrote it, no "\n" followed.
    pub fn release_return(&mut self) {
        if !std::mem::take(&mut self.held_return) {
            return;
        }
        loop {
            match nix::unistd::write(stderr_fd(), b"\r") {
                Ok(_) => break,
                Err(Errno::EINTR) => continue,
                Err(Errno::EAGAIN) if wait_for(stderr_fd(), PollFlags::POLLOUT) => continue,
                Err(_) => break,
            }
        }
        self.observer.observe(b"\r");
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
        if let Some(modes) = &mut self.modes {
            modes.give_back();
        }
        let other = &self.bufs[1 - self.current];
        self.observer.finish(
            &other[..self.earlier.min(other.len())],
            &self.bufs[self.current][..self.filled],
        );
        if let Some(source) = self.source.take() {
            hand_off(source, self.modes.take());
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
                self.release_return();
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

/// Forks a relay that outlives lokiwrap until every writer of the child's output has closed
/// it. It leaves the session (no terminal signals reach it), lets go of stdin and stdout (a
/// pipeline reading lokiwrap's stdout must see EOF), and exits when the stream ends.
fn hand_off(source: OwnedFd, modes: Option<ModeMirror>) {
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
            let mut relay = Relay::new(source, None, &mut ignore);
            relay.modes = modes;
            // The user's shell has the terminal now: its settings are no longer the tool's.
            if let Some(modes) = &mut relay.modes {
                modes.detach();
            }
            relay.relay_available();
            // SAFETY: _exit skips atexit handlers and destructors that belong to the parent.
            unsafe { libc::_exit(0) }
        }
        Ok(nix::unistd::ForkResult::Parent { .. }) => {}
        Err(_) => {}
    }
}

/// On Linux the pseudo-terminal's master is in packet mode: each read starts with a status byte.
const PACKET_MODE: bool = cfg!(target_os = "linux");

enum Packet {
    /// This many bytes of the child's output, at the position the read was given.
    Data(usize),
    /// News from the pseudo-terminal (TIOCPKT_* bits), and no data.
    Status(u8),
}

/// Reads one packet into `buf[start..]`, without its status byte: the byte before `start`
/// lends its place to the status byte and is put back, so the output stays contiguous.
fn read_packet(source: BorrowedFd<'_>, buf: &mut [u8], start: usize) -> nix::Result<Packet> {
    let at = start.saturating_sub(1);
    let kept = buf[at];
    let n = nix::unistd::read(source, &mut buf[at..])?;
    if n == 0 {
        return Ok(Packet::Data(0));
    }
    let status = buf[at];
    if status != 0 {
        buf[at] = kept;
        return Ok(Packet::Status(status));
    }
    if start == 0 {
        buf.copy_within(1..n, 0);
    } else {
        buf[at] = kept;
    }
    Ok(Packet::Data(n - 1))
}

/// Takes out the "\r" that the pseudo-terminal put before each "\n" (ONLCR), in place, and
/// returns the new length: the tool's own bytes remain.
fn remove_added_carriage_returns(data: &mut [u8]) -> usize {
    let len = data.len();
    // data[from..] is still to be kept; its first byte is a newline (or the start).
    let (mut kept, mut from, mut search) = (0, 0, 0);
    while let Some(offset) = memchr::memchr(b'\n', &data[search..]) {
        let newline = search + offset;
        let end = if newline > from && data[newline - 1] == b'\r' {
            newline - 1
        } else {
            newline
        };
        data.copy_within(from..end, kept);
        kept += end - from;
        from = newline;
        search = newline + 1;
    }
    data.copy_within(from.., kept);
    kept + (len - from)
}

#[cfg(test)]
mod tests {
    use super::remove_added_carriage_returns;

    fn undo(text: &[u8]) -> Vec<u8> {
        let mut data = text.to_vec();
        let n = remove_added_carriage_returns(&mut data);
        data.truncate(n);
        data
    }

    #[test]
    fn the_carriage_return_added_before_each_newline_is_taken_out() {
        assert_eq!(undo(b"a\r\nb\tc\r\r\n"), b"a\nb\tc\r\n");
        assert_eq!(undo(b"\r\n\r\nend"), b"\n\nend");
        assert_eq!(undo(b"no newline\r"), b"no newline\r");
        assert_eq!(undo(b"\nstarts"), b"\nstarts");
        assert_eq!(undo(b""), b"");
    }
}
