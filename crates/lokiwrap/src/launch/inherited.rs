//! What lokiwrap inherited from its caller, recorded so the child can inherit exactly the same.
//! Rust's runtime changes two things before `main` (SIGPIPE becomes ignored, closed standard
//! descriptors are reopened on /dev/null), so those two are read by a hook that runs earlier.

use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};

use nix::sys::signal::{SigHandler, SigSet, SigmaskHow, Signal};

static SIGPIPE_IGNORED: AtomicBool = AtomicBool::new(false);
static CLOSED_STD_FDS: AtomicU8 = AtomicU8::new(0);
static RECORDED: AtomicBool = AtomicBool::new(false);

/// Reads the SIGPIPE disposition and which of fds 0–2 are open. The binary registers this in
/// its initialiser section (see `main.rs`), so it runs before Rust's runtime touches either.
pub extern "C" fn record_before_main() {
    // SAFETY: an all-zero `sigaction` is a valid value of this plain C struct.
    let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
    // SAFETY: with a null new action, sigaction only writes the current one into `old`.
    if unsafe { libc::sigaction(libc::SIGPIPE, std::ptr::null(), &mut old) } == 0 {
        SIGPIPE_IGNORED.store(old.sa_sigaction == libc::SIG_IGN, Ordering::Relaxed);
    }
    let mut closed = 0u8;
    for fd in 0..3 {
        // SAFETY: F_GETFD only reads descriptor flags; on a closed fd it fails with EBADF.
        if unsafe { libc::fcntl(fd, libc::F_GETFD) } == -1 {
            closed |= 1 << fd;
        }
    }
    CLOSED_STD_FDS.store(closed, Ordering::Relaxed);
    RECORDED.store(true, Ordering::Relaxed);
}

/// The caller's signal state and standard descriptors, as the child must see them.
#[derive(Clone, Copy)]
pub struct Inherited {
    /// The signal mask lokiwrap was started with.
    pub mask: SigSet,
    /// Signals that were ignored on entry, among those lokiwrap itself changes.
    ignored: SigSet,
    /// Bit i set: fd i was closed when lokiwrap started.
    closed_std_fds: u8,
}

/// The signals lokiwrap catches, and so the ones whose disposition it must restore in the
/// child: those a process may send to lokiwrap that are meant for the tool, plus SIGCHLD, which
/// tells lokiwrap the child changed state. SIGTSTP is caught so that lokiwrap stops only when
/// the child really stops (a tool may handle ^Z itself); TTIN/TTOU are never caught, because a
/// caught SIGTTOU makes a background write retry forever instead of stopping.
pub(super) const CAUGHT: &[Signal] = &[
    Signal::SIGINT,
    Signal::SIGTERM,
    Signal::SIGHUP,
    Signal::SIGQUIT,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
    Signal::SIGALRM,
    Signal::SIGWINCH,
    Signal::SIGCONT,
    Signal::SIGTSTP,
    Signal::SIGCHLD,
];

impl Inherited {
    /// Records the current mask and the ignored dispositions. Call before installing handlers.
    pub fn capture() -> Inherited {
        let mask = SigSet::thread_get_mask().unwrap_or_else(|_| SigSet::empty());
        let mut ignored = SigSet::empty();
        for &signal in CAUGHT {
            if is_ignored(signal) {
                ignored.add(signal);
            }
        }
        // Without the pre-main record (a test harness), the default disposition is assumed.
        if RECORDED.load(Ordering::Relaxed) && SIGPIPE_IGNORED.load(Ordering::Relaxed) {
            ignored.add(Signal::SIGPIPE);
        }
        Inherited {
            mask,
            ignored,
            closed_std_fds: CLOSED_STD_FDS.load(Ordering::Relaxed),
        }
    }

    pub fn was_ignored(&self, signal: Signal) -> bool {
        self.ignored.contains(signal)
    }

    pub fn stdout_was_closed(&self) -> bool {
        self.closed_std_fds & 0b010 != 0
    }

    pub fn stderr_was_closed(&self) -> bool {
        self.closed_std_fds & 0b100 != 0
    }

    /// Runs in the child between fork and exec: only async-signal-safe calls. Rust's `Command`
    /// has just emptied the mask and reset SIGPIPE; exec resets caught signals to default.
    pub fn restore_in_child(&self) -> std::io::Result<()> {
        for fd in 0..3 {
            if self.closed_std_fds & (1 << fd) != 0 {
                // SAFETY: closing a standard descriptor the caller had closed; nothing in this
                // forked child uses it before exec.
                unsafe { libc::close(fd) };
            }
        }
        // No allocation here: iterate the constant table, then SIGPIPE.
        for &signal in CAUGHT.iter().chain(std::iter::once(&Signal::SIGPIPE)) {
            let handler = if self.ignored.contains(signal) {
                SigHandler::SigIgn
            } else {
                SigHandler::SigDfl
            };
            // SAFETY: setting SIG_IGN or SIG_DFL installs no Rust code as a handler.
            unsafe { nix::sys::signal::signal(signal, handler) }?;
        }
        nix::sys::signal::pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(&self.mask), None)?;
        Ok(())
    }
}

fn is_ignored(signal: Signal) -> bool {
    // SAFETY: an all-zero `sigaction` is a valid value of this plain C struct.
    let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
    // SAFETY: with a null new action, sigaction only writes the current one into `old`.
    let rc = unsafe { libc::sigaction(signal as libc::c_int, std::ptr::null(), &mut old) };
    rc == 0 && old.sa_sigaction == libc::SIG_IGN
}
