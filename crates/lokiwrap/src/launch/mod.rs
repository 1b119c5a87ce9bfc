//! The launcher: run a program so that it cannot tell lokiwrap is there. It resolves the
//! program, spawns it in the caller's process group with the caller's signal state, relays
//! its output (stderr, and stdout with it when both lead to the same place, so their order
//! holds), forwards only the signals it did not already get, mirrors stops, and reports how
//! it ended so lokiwrap can end the same way.

pub mod channel;
pub mod destination;
pub mod exit;
pub mod group_members;
pub mod inherited;
pub mod job_stop;
pub mod reentry;
pub mod relay;
pub mod resolve;
pub mod signals;
pub mod terminal_modes;

use std::ffi::{OsStr, OsString};
use std::os::fd::AsFd;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout};
use nix::sys::signal::Signal;
use nix::sys::wait::{WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use crate::messages;
use channel::ChannelProblem;
pub use exit::{ExitReason, exit_like};
use inherited::Inherited;
use job_stop::PendingStop;
pub use relay::OutputObserver;
use relay::Relay;
use resolve::{FileId, ResolveError};
use signals::SignalPipe;

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
pub fn run(launch: &Launch, observer: &mut dyn OutputObserver) -> Outcome {
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

fn supervise_run(path: &Path, launch: &Launch, inherited: &Inherited, observer: &mut dyn OutputObserver) -> Outcome {
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
    let destination = destination::of_standard_streams(!inherited.stdout_was_closed());
    let opened = destination
        .carried()
        .then(|| channel::open(destination.terminal(), std::io::stderr().as_fd()));
    let channel = match opened.transpose() {
        Ok(channel) => channel,
        Err(problem) => {
            match problem {
                ChannelProblem::NoPty(errno) => messages::warn_once(format_args!(
                    "no pseudo-terminal available ({errno}); the tool's output is not watched in this run"
                )),
                ChannelProblem::NoPipe(errno) => messages::warn_once(format_args!(
                    "cannot capture the tool's output ({errno}); no crash report for this run"
                )),
            }
            None
        }
    };
    let attach = |cmd: &mut Command| {
        if let Some(channel) = &channel {
            let end = || channel.child_end.try_clone().map(Stdio::from);
            if let Ok(stderr) = end() {
                cmd.stderr(stderr);
            }
            if destination.carries_stdout()
                && let Ok(stdout) = end()
            {
                cmd.stdout(stdout);
            }
        }
    };
    let mut cmd = command(path, launch, 0, inherited);
    attach(&mut cmd);
    let spawned = cmd.spawn().or_else(|error| {
        if error.raw_os_error() == Some(libc::ENOEXEC) {
            let mut fallback = shell_fallback(path, launch, 0, inherited);
            attach(&mut fallback);
            fallback.spawn()
        } else {
            Err(error)
        }
    });
    // Every copy of the child's end in lokiwrap must close now, or EOF never comes.
    drop(cmd);
    let source = channel.map(|channel| (channel.source, channel.pty));
    signals::restore_mask(&mask);
    let child = match spawned {
        Ok(child) => Pid::from_raw(child.id() as i32),
        Err(error) => return Outcome::DidNotStart(explain_exec_failure(path, &error)),
    };

    let mut relay = source.map(|(source, pty)| Relay::new(source, pty, observer));
    let reason = supervise(child, &mut signal_pipe, relay.as_mut(), inherited);
    if let Some(relay) = relay {
        relay.finish();
    }
    Outcome::Ran(reason)
}

/// How long a "\r" at the end of a read waits for the "\n" that may follow it.
const RETURN_HELD_FOR: std::time::Duration = std::time::Duration::from_millis(5);

/// The event loop: waits for the child's output, for room on lokiwrap's stderr, and for
/// signals (SIGCHLD among them), until the child has ended.
fn supervise(
    child: Pid,
    signal_pipe: &mut SignalPipe,
    mut relay: Option<&mut Relay<'_>>,
    inherited: &Inherited,
) -> ExitReason {
    let mut child_continued = false;
    let mut pending_stop = PendingStop::default();
    loop {
        let (signalled, relay_ready, keys_ready) = {
            let mut fds = vec![PollFd::new(signal_pipe.fd(), PollFlags::POLLIN)];
            let interest = relay.as_ref().and_then(|r| r.interest());
            let relay_slot = interest.map(|(fd, flags)| {
                fds.push(PollFd::new(fd, flags));
                fds.len() - 1
            });
            let keys_slot = relay.as_ref().and_then(|r| r.keys()).map(|fd| {
                fds.push(PollFd::new(fd, PollFlags::POLLIN));
                fds.len() - 1
            });
            let wait = match (
                pending_stop.timeout(),
                relay.as_ref().is_some_and(|r| r.holding_return()),
            ) {
                (_, true) => Some(RETURN_HELD_FOR),
                (left, false) => left,
            };
            let timeout = wait.map_or(PollTimeout::NONE, |left| {
                PollTimeout::try_from(left.as_millis().max(1)).unwrap_or(PollTimeout::MAX)
            });
            let ready = |slot: Option<usize>, fds: &[PollFd]| {
                slot.and_then(|i| fds[i].revents()).is_some_and(|r| !r.is_empty())
            };
            match nix::poll::poll(&mut fds, timeout) {
                Ok(_) => (ready(Some(0), &fds), ready(relay_slot, &fds), ready(keys_slot, &fds)),
                Err(_) => (true, false, false),
            }
        };
        if keys_ready && let Some(relay) = relay.as_mut() {
            relay.copy_keys();
        }
        // Output first: what the child wrote before it stopped or ended is shown before.
        if let Some(relay) = relay.as_mut() {
            if relay_ready {
                relay.step();
            } else {
                relay.release_return();
            }
        }

        let origins = if signalled { signal_pipe.drain() } else { Vec::new() };
        let mut ended = None;
        if origins
            .iter()
            .any(|o| matches!(o.signal, Signal::SIGCHLD | Signal::SIGCONT))
        {
            ended = reap(child, inherited, &mut child_continued, &mut pending_stop, &mut relay);
        }
        for origin in origins.iter().filter(|o| o.signal != Signal::SIGCHLD) {
            let mut forward = signals::should_forward(origin, child);
            if origin.signal == Signal::SIGTSTP && !origin.sent_by_process() {
                pending_stop.keyboard_stop();
            }
            if origin.signal == Signal::SIGWINCH {
                // The terminal told the child of the resize at the same moment it told lokiwrap,
                // so a tool reading its size from its pseudo-terminal may have read the old one:
                // once the pseudo-terminal has the new size, tell the child once more.
                let master = relay.as_ref().and_then(|r| r.pty_master());
                forward |= master.is_some_and(channel::sync_window_size);
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
        if ended.is_none() && pending_stop.check(child) {
            let _ = nix::sys::signal::kill(child, Signal::SIGSTOP);
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
    pending_stop: &mut PendingStop,
    relay: &mut Option<&mut Relay<'_>>,
) -> Option<ExitReason> {
    let flags = WaitPidFlag::WNOHANG | WaitPidFlag::WUNTRACED | WaitPidFlag::WCONTINUED;
    loop {
        match nix::sys::wait::waitpid(child, Some(flags)) {
            Ok(WaitStatus::Exited(_, code)) => return Some(ExitReason::Code(code)),
            Ok(WaitStatus::Signaled(_, signal, _)) => return Some(ExitReason::Signal(signal)),
            Ok(WaitStatus::Stopped(_, signal)) => {
                pending_stop.clear();
                // The shell gets its terminal back in the state it lent it, after the output.
                if let Some(relay) = relay.as_mut() {
                    relay.child_stopped();
                }
                signals::stop_like_child(signal, inherited);
                if let Some(relay) = relay.as_mut() {
                    relay.child_continued();
                }
            }
            Ok(WaitStatus::Continued(_)) => *continued = true,
            Ok(_) => return None,
            Err(Errno::EINTR) => continue,
            // Nobody else waits for this child; if it is gone without a status, say so plainly.
            Err(_) => return Some(ExitReason::Code(127)),
        }
    }
}
