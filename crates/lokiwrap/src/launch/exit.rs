//! How the child ended, and ending lokiwrap the same way so the caller sees the same status.

use nix::sys::signal::{SigHandler, SigSet, Signal};

/// How a process ended: the status a shell would see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitReason {
    /// Exited normally with this code (0 to 255).
    Code(i32),
    /// Killed by this signal.
    Signal(Signal),
}

/// Ends lokiwrap as the child ended. Death by a signal is reproduced by dying of that signal,
/// not by exiting 128+N: a shell running a loop stops the loop only if the job itself was
/// killed by SIGINT, and `$?`, WIFSIGNALED and WTERMSIG all come out as without lokiwrap.
pub fn exit_like(reason: ExitReason) -> ! {
    match reason {
        ExitReason::Code(code) => std::process::exit(code),
        ExitReason::Signal(signal) => die_of(signal),
    }
}

fn die_of(signal: Signal) -> ! {
    // Dying of SIGSEGV or SIGABRT must not leave a core file of lokiwrap itself.
    let _ = nix::sys::resource::setrlimit(nix::sys::resource::Resource::RLIMIT_CORE, 0, 0);
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_DUMPABLE takes plain integer arguments and touches no memory of ours.
    unsafe {
        libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
    }
    // SAFETY: SIG_DFL installs no Rust code as a handler.
    let _ = unsafe { nix::sys::signal::signal(signal, SigHandler::SigDfl) };
    let mut only = SigSet::empty();
    only.add(signal);
    let _ = only.thread_unblock();
    let _ = nix::sys::signal::raise(signal);
    // Still alive: the signal's default action is not to terminate (it cannot kill the child
    // either, so this is unreachable in practice). Fall back to the shell's convention.
    std::process::exit(128 + signal as i32)
}
