//! The launcher: run a program so that it cannot tell lokiwrap is there. It resolves the
//! program, spawns it in the caller's process group with the caller's signal state, relays
//! its stderr, forwards only the signals it did not already get, mirrors stops, and reports
//! how it ended so lokiwrap can end the same way.

pub mod exit;
pub mod inherited;
pub mod keyboard;
pub mod reentry;
pub mod resolve;
pub mod signals;
pub mod stderr_relay;

use std::ffi::{OsStr, OsString};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout};
use nix::sys::signal::Signal;
use nix::sys::wait::{WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use crate::messages;
pub use exit::{ExitReason, exit_like};
use inherited::Inherited;
use resolve::{FileId, ResolveError};
use signals::SignalPipe;
pub use stderr_relay::StderrObserver;
use stderr_relay::{CaptureProblem, Relay};

/// What to run.
pub struct Launch {
    /// The name to resolve: as typed after `lokiwrap --`, or the shim's own name.
    pub program: OsString,
    /// argv[0] for the child: kept as typed, because multi-call binaries read it.
    pub argv0: OsString,
    pub args: Vec<OsString>,
}

/// How a supervised run ended.
pub enum Outcome {
    /// The child ran; it ended like this.
    Ran(ExitReason),
    /// The child never started; lokiwrap must exit with this status (126 or 127), after having
    /// printed why.
    DidNotStart(i32),
}

/// Runs the program under supervision, or as a pure pass-through (exec) when lokiwrap is
/// nested inside another lokiwrap. Returns only for a supervised run.
pub fn run(launch: &Launch, observer: &mut dyn StderrObserver) -> Outcome {
    let depth = reentry::current_depth();
    let path = match resolve::find_program(&launch.program, FileId::current_exe()) {
        Ok(path) => path,
        Err(problem) => return Outcome::DidNotStart(explain_unresolved(&launch.program, problem)),
    };
    let inherited = Inherited::capture();
    if depth >= reentry::MAX_DEPTH {
        messages::error(format_args!(
            "{}: {} lokiwrap launches are nested; two wrappers on PATH are running each other. \
             Put the real {0} before the shims on PATH, or remove one of the wrappers.",
            launch.program.to_string_lossy(),
            depth
        ));
        return Outcome::DidNotStart(127);
    }
    if depth > 0 {
        return Outcome::DidNotStart(pass_through(&path, launch, depth, &inherited));
    }
    supervise_run(&path, launch, &inherited, observer)
}

fn explain_unresolved(program: &OsStr, problem: ResolveError) -> i32 {
    let name = program.to_string_lossy();
    match problem {
        ResolveError::NotFound => {
            messages::error(format_args!("{name}: command not found"));
            127
        }
        ResolveError::NotExecutable(path) => {
            messages::error(format_args!("{}: Permission denied", path.display()));
            126
        }
        ResolveError::OnlyLokiwrap(shim) => {
            messages::error(format_args!(
                "{name}: the only '{name}' on PATH is this lokiwrap shim ({}). Install {name}, or \
                 remove the shim with 'lokiwrap shim remove {name}'.",
                shim.display()
            ));
            127
        }
    }
}

/// The child's command: the path as found, argv[0] as typed, the arguments untouched, the
/// environment unchanged but for the re-entry variable, and the caller's signal state.
fn command(path: &Path, launch: &Launch, depth: u32, inherited: &Inherited) -> Command {
    let mut cmd = Command::new(path);
    cmd.arg0(&launch.argv0)
        .args(&launch.args)
        .env(reentry::VAR, reentry::child_value(depth));
    let inherited = *inherited;
    // SAFETY: the closure runs between fork and exec and makes only async-signal-safe calls
    // (close, sigaction, pthread_sigmask) without allocating.
    unsafe { cmd.pre_exec(move || inherited.restore_in_child()) };
    cmd
}

/// Replaces lokiwrap with the program: no capture, no reporting. Returns only on failure.
fn pass_through(path: &Path, launch: &Launch, depth: u32, inherited: &Inherited) -> i32 {
    let error = command(path, launch, depth, inherited).exec();
    if error.raw_os_error() == Some(libc::ENOEXEC) {
        let error = shell_fallback(path, launch, depth, inherited).exec();
        return explain_exec_failure(path, &error);
    }
    explain_exec_failure(path, &error)
}

/// A file that is executable but has no `#!` line is a shell script to every POSIX shell and
/// to execvp: run it with /bin/sh, as they do.
fn shell_fallback(path: &Path, launch: &Launch, depth: u32, inherited: &Inherited) -> Command {
    let mut args = vec![path.as_os_str().to_owned()];
    args.extend(launch.args.iter().cloned());
    let shell = Launch {
        program: "/bin/sh".into(),
        argv0: "/bin/sh".into(),
        args,
    };
    command(Path::new("/bin/sh"), &shell, depth, inherited)
}

fn explain_exec_failure(path: &Path, error: &std::io::Error) -> i32 {
    let reason = Errno::from_raw(error.raw_os_error().unwrap_or(0)).desc();
    messages::error(format_args!("{}: {reason}", path.display()));
    if error.raw_os_error() == Some(libc::ENOENT) {
        127
    } else {
        126
    }
}

fn supervise_run(path: &Path, launch: &Launch, inherited: &Inherited, observer: &mut dyn StderrObserver) -> Outcome {
    if inherited.stderr_was_closed() {
        // The tool must find fd 2 closed, as it would have: nothing to capture or watch.
        return Outcome::DidNotStart(pass_through(path, launch, 0, inherited));
    }
    // Signals stay blocked until the child exists, so none is handled in the forked child
    // before exec and none sent meanwhile is lost: it waits, pending, for the loop.
    let Some(mask) = signals::block_all() else {
        return Outcome::DidNotStart(pass_through(path, launch, 0, inherited));
    };
    let mut signal_pipe = match SignalPipe::install(inherited) {
        Ok(pipe) => pipe,
        Err(errno) => {
            signals::restore_mask(&mask);
            messages::warn_once(format_args!(
                "cannot watch signals ({errno}); running the tool unwatched"
            ));
            return Outcome::DidNotStart(pass_through(path, launch, 0, inherited));
        }
    };
    let capture = match stderr_relay::capture_stderr() {
        Ok(capture) => Some(capture),
        Err((fallback, problem)) => {
            match problem {
                CaptureProblem::NoPty(errno) => messages::warn_once(format_args!(
                    "no pseudo-terminal available ({errno}); the tool's stderr is a pipe, not a terminal"
                )),
                CaptureProblem::NoPipe(errno) => messages::warn_once(format_args!(
                    "cannot capture stderr ({errno}); no crash report for this run"
                )),
            }
            fallback
        }
    };
    let mut cmd = command(path, launch, 0, inherited);
    let source = capture.map(|capture| {
        cmd.stderr(Stdio::from(capture.child_end));
        (capture.source, capture.is_pty)
    });
    let spawned = cmd.spawn().or_else(|error| {
        if error.raw_os_error() == Some(libc::ENOEXEC) {
            let mut fallback = shell_fallback(path, launch, 0, inherited);
            // `cmd` owns the child's stderr end; without capture the fallback inherits fd 2.
            fallback.stderr(Stdio::inherit());
            fallback.spawn()
        } else {
            Err(error)
        }
    });
    // The parent's copy of the child's stderr end must close now, or EOF never comes.
    drop(cmd);
    signals::restore_mask(&mask);
    let child = match spawned {
        Ok(child) => Pid::from_raw(child.id() as i32),
        Err(error) => return Outcome::DidNotStart(explain_exec_failure(path, &error)),
    };

    let mut relay = source.map(|(source, is_pty)| Relay::new(source, is_pty, observer));
    let reason = supervise(child, &mut signal_pipe, relay.as_mut(), inherited);
    if let Some(relay) = relay {
        relay.finish();
    }
    Outcome::Ran(reason)
}

/// The event loop: waits for the child's stderr, for room on lokiwrap's stderr, and for
/// signals (SIGCHLD among them), until the child has ended.
fn supervise(
    child: Pid,
    signal_pipe: &mut SignalPipe,
    mut relay: Option<&mut Relay<'_>>,
    inherited: &Inherited,
) -> ExitReason {
    let pty = relay.as_ref().is_some_and(|r| r.pty_master().is_some());
    let mut child_continued = false;
    let mut keyboard = keyboard::KeyboardLender::default();
    let timeout = if pty {
        PollTimeout::from(keyboard::CHECK_INTERVAL_MS)
    } else {
        PollTimeout::NONE
    };
    loop {
        let (relay_ready, keys_ready) = {
            let mut fds = vec![PollFd::new(signal_pipe.fd(), PollFlags::POLLIN)];
            let interest = relay.as_ref().and_then(|r| r.interest());
            let relay_slot = interest.map(|(fd, flags)| {
                fds.push(PollFd::new(fd, flags));
                fds.len() - 1
            });
            let keys_slot = keyboard.keys().map(|fd| {
                fds.push(PollFd::new(fd, PollFlags::POLLIN));
                fds.len() - 1
            });
            let ready = |slot: Option<usize>, fds: &[PollFd]| {
                slot.and_then(|i| fds[i].revents()).is_some_and(|r| !r.is_empty())
            };
            match nix::poll::poll(&mut fds, timeout) {
                Ok(_) => (ready(relay_slot, &fds), ready(keys_slot, &fds)),
                Err(_) => (false, false),
            }
        };
        if let Some(master) = relay.as_ref().and_then(|r| r.pty_master()) {
            keyboard.follow(master);
            if keys_ready {
                keyboard.copy_keys(master);
            }
        }

        let origins = signal_pipe.drain();
        let mut ended = None;
        if origins
            .iter()
            .any(|o| matches!(o.signal, Signal::SIGCHLD | Signal::SIGCONT))
        {
            ended = reap(child, inherited, &mut child_continued, &mut keyboard);
        }
        for origin in origins.iter().filter(|o| o.signal != Signal::SIGCHLD) {
            let mut forward = signals::should_forward(origin, child);
            if origin.signal == Signal::SIGWINCH {
                // The terminal told the child of the resize at the same moment it told lokiwrap,
                // so a tool reading its size from stderr may have read the old one: once the
                // pseudo-terminal has the new size, tell the child once more.
                let master = relay.as_ref().and_then(|r| r.pty_master());
                forward |= master.is_some_and(stderr_relay::sync_window_size);
            }
            if origin.signal == Signal::SIGCONT {
                // A SIGCONT that already continued the stopped child came to the whole group
                // (a shell's `fg` or `bg`): the child has it.
                forward &= !std::mem::take(&mut child_continued);
            }
            if forward {
                let _ = nix::sys::signal::kill(child, origin.signal);
            }
        }
        if relay_ready && let Some(relay) = relay.as_mut() {
            relay.step();
        }
        if let Some(reason) = ended {
            return reason;
        }
    }
}

/// Collects every state change of the child. A stop is mirrored at once: lokiwrap stops with
/// the same signal, so the shell sees the job stopped, and this returns after `fg` or `bg`.
fn reap(
    child: Pid,
    inherited: &Inherited,
    continued: &mut bool,
    keyboard: &mut keyboard::KeyboardLender,
) -> Option<ExitReason> {
    let flags = WaitPidFlag::WNOHANG | WaitPidFlag::WUNTRACED | WaitPidFlag::WCONTINUED;
    loop {
        match nix::sys::wait::waitpid(child, Some(flags)) {
            Ok(WaitStatus::Exited(_, code)) => return Some(ExitReason::Code(code)),
            Ok(WaitStatus::Signaled(_, signal, _)) => return Some(ExitReason::Signal(signal)),
            Ok(WaitStatus::Stopped(_, signal)) => {
                // The shell gets its terminal back in the state it lent it.
                keyboard.give_back();
                signals::stop_like_child(signal, inherited);
            }
            Ok(WaitStatus::Continued(_)) => *continued = true,
            Ok(_) => return None,
            Err(Errno::EINTR) => continue,
            // Nobody else waits for this child; if it is gone without a status, say so plainly.
            Err(_) => return Some(ExitReason::Code(127)),
        }
    }
}
