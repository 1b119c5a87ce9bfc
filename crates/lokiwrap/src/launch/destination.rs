//! Where the caller sent lokiwrap's stdout and stderr, and so how the child's output must be
//! carried. The kernel keeps the order of writes only within one channel: when both streams
//! lead to the same place (`>f 2>&1`, `2>&1 | cat`, one terminal), the child gets one channel
//! for both, or a line on stderr would overtake the stdout written before it.

use std::os::fd::{AsFd, BorrowedFd};

use nix::sys::stat::{SFlag, fstat};

/// How the child's stdout and stderr are carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Destination {
    /// Both lead to the same open file or the same terminal: one channel carries both, in the
    /// order the tool wrote them.
    Shared { terminal: bool },
    /// They lead to different places: stdout stays the caller's own, only stderr is carried.
    Separate { stderr_terminal: bool },
}

impl Destination {
    /// Whether the child's output goes through a channel of lokiwrap's at all. Not when only
    /// stderr is on a terminal: a pseudo-terminal there is nobody's controlling terminal, so
    /// `tcgetpgrp(2)` fails, and pv (which then thinks it runs in the background) draws no
    /// progress. With stdout elsewhere (`pv file >/dev/null`, `tool | less`), stderr is left
    /// the caller's own: the tool runs exactly as unwrapped, its stderr unread.
    pub fn carried(self) -> bool {
        !matches!(self, Destination::Separate { stderr_terminal: true })
    }

    /// Whether the child's fd 1 is the carried channel too.
    pub fn carries_stdout(self) -> bool {
        matches!(self, Destination::Shared { .. })
    }

    /// Whether the carried channel must be a terminal (a pseudo-terminal).
    pub fn terminal(self) -> bool {
        matches!(self, Destination::Shared { terminal: true })
    }
}

/// Compares lokiwrap's fd 1 and fd 2. `stdout_open` is false when the caller closed fd 1
/// (Rust's runtime has since put /dev/null there, which must not count as shared).
pub fn of_standard_streams(stdout_open: bool) -> Destination {
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    let stderr_terminal = nix::unistd::isatty(stderr.as_fd()).unwrap_or(false);
    if stdout_open && same_destination(stdout.as_fd(), stderr.as_fd(), stderr_terminal) {
        return Destination::Shared {
            terminal: stderr_terminal,
        };
    }
    Destination::Separate { stderr_terminal }
}

fn same_destination(a: BorrowedFd<'_>, b: BorrowedFd<'_>, b_terminal: bool) -> bool {
    let (Ok(sa), Ok(sb)) = (fstat(a), fstat(b)) else {
        return false;
    };
    let kind = |s: &libc::stat| SFlag::from_bits_truncate(s.st_mode & SFlag::S_IFMT.bits());
    // One terminal, however each descriptor was opened: both reach the same screen.
    if b_terminal && nix::unistd::isatty(a).unwrap_or(false) {
        return kind(&sa) == SFlag::S_IFCHR && kind(&sb) == SFlag::S_IFCHR && sa.st_rdev == sb.st_rdev;
    }
    match share_open_file(a, b) {
        Some(shared) => shared,
        // kcmp(2) refused (a seccomp profile, an old kernel): the same file, opened with the
        // same flags and standing at the same offset, is almost surely one open file.
        None => {
            sa.st_dev == sb.st_dev
                && sa.st_ino == sb.st_ino
                && status_flags(a) == status_flags(b)
                && offset(a) == offset(b)
        }
    }
}

/// Whether two descriptors share one open file description (`2>&1`), when the kernel says.
#[cfg(target_os = "linux")]
fn share_open_file(a: BorrowedFd<'_>, b: BorrowedFd<'_>) -> Option<bool> {
    use std::os::fd::AsRawFd;
    const KCMP_FILE: libc::c_int = 0;
    let pid = std::process::id() as libc::pid_t;
    // SAFETY: kcmp only compares kernel objects of this process named by two descriptor
    // numbers; it reads and writes no memory of ours.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_kcmp,
            pid,
            pid,
            KCMP_FILE,
            a.as_raw_fd() as libc::c_ulong,
            b.as_raw_fd() as libc::c_ulong,
        )
    };
    match rc {
        0 => Some(true),
        // 1 and 2 order the two objects, 3 says they differ but cannot be ordered.
        1..=3 => Some(false),
        _ => None,
    }
}

#[cfg(not(target_os = "linux"))]
fn share_open_file(_a: BorrowedFd<'_>, _b: BorrowedFd<'_>) -> Option<bool> {
    None
}

fn status_flags(fd: BorrowedFd<'_>) -> Option<i32> {
    nix::fcntl::fcntl(fd, nix::fcntl::FcntlArg::F_GETFL).ok()
}

fn offset(fd: BorrowedFd<'_>) -> Option<i64> {
    nix::unistd::lseek(fd, 0, nix::unistd::Whence::SeekCur).ok()
}
