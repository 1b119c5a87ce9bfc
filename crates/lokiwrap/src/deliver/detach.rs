//! Starting the flusher as a process of its own, so that sending reports never costs the wrapped
//! tool any time: lokiwrap starts it and exits without waiting.

use std::io;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

/// Starts this executable with `args` (e.g. `["__flush"]`) as a detached process and returns as
/// soon as it has started.
///
/// The process runs in a session of its own, so no terminal signal (^C, hang-up) reaches it, and
/// with stdin, stdout and stderr on `/dev/null`, so a shell or CI job reading lokiwrap's output
/// sees end-of-file when lokiwrap exits instead of waiting for the flusher. It is started with a
/// double fork: the intermediate process exits at once and is reaped here, and the flusher is
/// adopted by init (or the nearest subreaper), so it never lingers as a zombie of the caller,
/// whether or not the caller exits soon after.
pub fn spawn_detached_flusher(exe: &std::path::Path, args: &[&str]) -> io::Result<()> {
    let mut command = Command::new(exe);
    command
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // SAFETY: the closure runs in the forked child before exec and calls only setsid, fork and
    // _exit, which are async-signal-safe; it allocates nothing and takes no lock. The forked
    // child has a single thread, so its own fork cannot inherit a lock held by another thread.
    unsafe {
        command.pre_exec(|| {
            if libc::setsid() == -1 {
                return Err(io::Error::last_os_error());
            }
            match libc::fork() {
                -1 => Err(io::Error::last_os_error()),
                // The grandchild goes on to exec the flusher.
                0 => Ok(()),
                // The session leader leaves at once: the flusher, not being a session leader,
                // can never acquire a controlling terminal.
                _ => libc::_exit(0),
            }
        });
    }
    let mut intermediate = command
        .spawn()
        .map_err(|err| io::Error::new(err.kind(), format!("cannot start the flusher {}: {err}", exe.display())))?;
    // Returns at once: the intermediate has exited by the time `spawn` saw the flusher exec.
    // An error here means it was reaped already (SIGCHLD ignored); the flusher runs either way.
    let _ = intermediate.wait();
    Ok(())
}
