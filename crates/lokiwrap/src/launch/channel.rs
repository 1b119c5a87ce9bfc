//! The channel the child writes its output into: a pipe, or a pseudo-terminal when the output
//! reaches a terminal (so `isatty`, colours and progress bars behave as unwrapped). It carries
//! stderr, and stdout too when both lead to the same place (see `destination`).
//!
//! The pseudo-terminal is never the child's controlling terminal (no setsid, no TIOCSCTTY):
//! the child stays in the caller's session and process group, the real terminal keeps
//! delivering ^C and ^Z, stdin and /dev/tty stay the real terminal. It starts with the real
//! terminal's settings and size, and runs in packet mode with EXTPROC set, so that lokiwrap
//! hears at once of every change the tool makes to its settings (see `terminal_modes`).

use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};

use nix::errno::Errno;
use nix::fcntl::{FcntlArg, FdFlag, OFlag};
use nix::sys::termios::LocalFlags;

use super::terminal_modes::Pty;

nix::ioctl_read_bad!(get_window_size, libc::TIOCGWINSZ, libc::winsize);
nix::ioctl_write_ptr_bad!(set_window_size, libc::TIOCSWINSZ, libc::winsize);
#[cfg(target_os = "linux")]
nix::ioctl_write_ptr_bad!(set_packet_mode, libc::TIOCPKT, libc::c_int);

/// The two ends of the child's new output channel.
pub struct Channel {
    /// lokiwrap reads here: the pipe's read end or the pseudo-terminal's master.
    pub source: OwnedFd,
    /// The child's fd 2 (and fd 1 when shared): the pipe's write end or the terminal's slave.
    pub child_end: OwnedFd,
    /// The pseudo-terminal, when the source is its master (in packet mode).
    pub pty: Option<Pty>,
}

/// Why there is no channel: the tool then writes straight to lokiwrap's descriptors, as
/// unwrapped, only unwatched.
pub enum ChannelProblem {
    NoPty(Errno),
    NoPipe(Errno),
}

/// Opens the channel: a pseudo-terminal with `real`'s settings when `terminal`, else a pipe.
/// Without a pseudo-terminal there is no pipe either: the tool must see its terminal.
pub fn open(terminal: bool, real: BorrowedFd<'_>) -> Result<Channel, ChannelProblem> {
    if terminal {
        open_pty(real).map_err(ChannelProblem::NoPty)
    } else {
        open_pipe().map_err(ChannelProblem::NoPipe)
    }
}

#[cfg(target_os = "linux")]
const PIPE_SIZE: i32 = 64 * 1024;

fn open_pipe() -> nix::Result<Channel> {
    let (read, write) = nix::unistd::pipe2(OFlag::O_CLOEXEC)?;
    set_nonblocking(&read)?;
    // A larger pipe means fewer wake-ups per megabyte relayed; unwrapped, output usually goes
    // to a terminal or a file, which never blocks a writer as early as a 64 KiB pipe would.
    // The kernel may refuse (pipe-max-size); the default size then serves.
    #[cfg(target_os = "linux")]
    let _ = nix::fcntl::fcntl(&read, FcntlArg::F_SETPIPE_SZ(PIPE_SIZE));
    Ok(Channel {
        source: read,
        child_end: write,
        pty: None,
    })
}

fn open_pty(real: BorrowedFd<'_>) -> nix::Result<Channel> {
    let mut termios = nix::sys::termios::tcgetattr(real)?;
    termios.local_flags.insert(LocalFlags::EXTPROC);
    let size = terminal_size();
    let pty = nix::pty::openpty(size.as_ref(), Some(&termios))?;
    for fd in [&pty.master, &pty.slave] {
        nix::fcntl::fcntl(fd, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC))?;
    }
    set_nonblocking(&pty.master)?;
    #[cfg(target_os = "linux")]
    {
        let on: libc::c_int = 1;
        // SAFETY: TIOCPKT reads one int from the valid pointer we pass.
        unsafe { set_packet_mode(pty.master.as_raw_fd(), &on) }?;
    }
    Ok(Channel {
        source: pty.master,
        child_end: pty.slave,
        pty: Some(Pty { settings: termios }),
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
        let mut size = empty_size();
        // SAFETY: TIOCGWINSZ writes one winsize into the valid struct we pass.
        let ok = unsafe { get_window_size(fd, &mut size) }.is_ok();
        (ok && size.ws_col > 0).then_some(size)
    })
}

fn empty_size() -> libc::winsize {
    libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    }
}

/// Copies the real terminal's size to the pseudo-terminal (after a SIGWINCH). Returns whether
/// the size changed.
pub fn sync_window_size(master: BorrowedFd<'_>) -> bool {
    let Some(size) = terminal_size() else { return false };
    let mut old = empty_size();
    // SAFETY: TIOCGWINSZ writes one winsize into the valid struct we pass.
    let _ = unsafe { get_window_size(master.as_raw_fd(), &mut old) };
    if (old.ws_row, old.ws_col) == (size.ws_row, size.ws_col) {
        return false;
    }
    // SAFETY: TIOCSWINSZ reads one winsize from the valid struct we pass.
    unsafe { set_window_size(master.as_raw_fd(), &size) }.is_ok()
}
