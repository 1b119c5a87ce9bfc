//! One auto-fix command, contained. The fixer acts on what a report said, so it gets only the
//! environment it is given, starts a session of its own, and when it ends, however it ends,
//! everything it started ends with it: its process group, whatever is left in its session, and
//! whatever left the session and was orphaned (the collector adopts orphans, see
//! `adopt_orphans`).

use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::signal::{Signal, kill};
use nix::sys::wait::{Id, WaitPidFlag, WaitStatus, waitid, waitpid};
use nix::unistd::Pid;

/// How many times a sweep looks again for processes that a killed one left, 10 ms apart.
const SWEEPS: usize = 200;

/// Makes the collector the reaper of the orphans of its descendants, instead of init: a process
/// a command started in a session of its own (`setsid`) and left behind is then still the
/// collector's descendant, found and ended by `end_descendants`.
pub fn adopt_orphans() -> Result<(), String> {
    nix::sys::prctl::set_child_subreaper(true).map_err(|e| format!("cannot adopt orphaned processes: {e}"))
}

/// Runs `command` in `dir` with exactly `env`, in a new session, until it exits, `timeout`
/// passes or `stopped()` holds; then ends everything it started. Its output (both streams) on
/// success; on failure, why, with the output's end.
pub fn run(
    command: &[String],
    dir: &Path,
    env: &[(String, OsString)],
    timeout: Duration,
    stopped: &dyn Fn() -> bool,
) -> Result<String, String> {
    let (program, args) = command.split_first().ok_or("is empty")?;
    let log = tempfile::NamedTempFile::new().map_err(|e| format!("cannot make a log file: {e}"))?;
    let out = log.reopen().map_err(|e| e.to_string())?;
    let err = log.reopen().map_err(|e| e.to_string())?;
    let mut command = Command::new(program);
    command
        .args(args)
        .current_dir(dir)
        .env_clear()
        .envs(env.iter().map(|(name, value)| (name, value)))
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err);
    // SAFETY: between fork and exec the child only calls setsid(2), which is async-signal-safe
    // and touches no memory shared with the parent.
    unsafe {
        command.pre_exec(|| nix::unistd::setsid().map(drop).map_err(std::io::Error::from));
    }
    let mut child = command
        .spawn()
        .map_err(|e| format!("`{program}` could not start: {e}"))?;
    // Its pid is its session's and process group's id too.
    let leader = Pid::from_raw(child.id() as i32);
    let deadline = Instant::now() + timeout;
    // Waited for without reaping it: until it is reaped, no other process can be given its id,
    // so its group and session are its own while they are ended.
    let cut_short = loop {
        let flags = WaitPidFlag::WEXITED | WaitPidFlag::WNOHANG | WaitPidFlag::WNOWAIT;
        match waitid(Id::Pid(leader), flags) {
            Ok(WaitStatus::StillAlive) if stopped() => break Some("was ended: the kill switch is on".to_string()),
            Ok(WaitStatus::StillAlive) if Instant::now() >= deadline => {
                break Some(format!("ran past its {} s limit and was stopped", timeout.as_secs()));
            }
            Ok(WaitStatus::StillAlive) | Err(Errno::EINTR) => std::thread::sleep(Duration::from_millis(50)),
            Ok(_) => break None,
            Err(e) => break Some(format!("could not be waited for: {e}")),
        }
    };
    end_session(leader);
    let status = child.wait();
    end_descendants();
    if let Some(why) = cut_short {
        return Err(why);
    }
    let status = status.map_err(|e| format!("could not be waited for: {e}"))?;
    let output = std::fs::read_to_string(log.path()).unwrap_or_default();
    if status.success() {
        Ok(output)
    } else {
        Err(format!("exited with {status}:\n{}", super::tail(&output, 20)))
    }
}

/// Kills the process group of `leader` and every process still in its session (a job-control
/// shell puts its jobs in groups of their own). `leader` must not be reaped yet.
fn end_session(leader: Pid) {
    for _ in 0..SWEEPS {
        let _ = kill(Pid::from_raw(-leader.as_raw()), Signal::SIGKILL);
        let left: Vec<Pid> = processes()
            .into_iter()
            .filter(|p| p.session == leader && p.pid != leader && !p.ended)
            .map(|p| p.pid)
            .collect();
        if left.is_empty() {
            return;
        }
        for pid in left {
            let _ = kill(pid, Signal::SIGKILL);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Kills every descendant of the collector and reaps those that are its children. Only
/// auto-fix starts processes in the collector, one at a time on its thread, so when none of its
/// commands is running every descendant is something a finished command left behind.
pub fn end_descendants() {
    let me = Pid::this();
    for _ in 0..SWEEPS {
        let table = processes();
        let ours = descendants(me, &table);
        if ours.is_empty() {
            return;
        }
        for process in ours.iter().filter(|p| !p.ended) {
            let _ = kill(process.pid, Signal::SIGKILL);
        }
        for process in ours.iter().filter(|p| p.parent == me) {
            let _ = waitpid(process.pid, Some(WaitPidFlag::WNOHANG));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    tracing::warn!("processes an auto-fix command started are still running after being killed");
}

/// A process as `/proc/<pid>/stat` shows it.
struct Process {
    pid: Pid,
    parent: Pid,
    session: Pid,
    /// A zombie, or dead: killing it again does nothing.
    ended: bool,
}

fn processes() -> Vec<Process> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| {
            let pid: i32 = entry.ok()?.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            parse_stat(pid, &stat)
        })
        .collect()
}

/// Fields 3 (state), 4 (parent) and 6 (session) of a stat line. The command name, field 2, is in
/// parentheses and may hold anything, spaces and parentheses included, so the fields after it
/// are counted from the last `)`.
fn parse_stat(pid: i32, stat: &str) -> Option<Process> {
    let (_, rest) = stat.rsplit_once(')')?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let number = |index: usize| fields.get(index)?.parse::<i32>().ok().map(Pid::from_raw);
    Some(Process {
        pid: Pid::from_raw(pid),
        ended: matches!(*fields.first()?, "Z" | "X" | "x"),
        parent: number(1)?,
        session: number(3)?,
    })
}

/// The processes below `root` in `table`, children before their own children.
fn descendants(root: Pid, table: &[Process]) -> Vec<&Process> {
    let mut found: Vec<&Process> = table.iter().filter(|p| p.parent == root).collect();
    let mut next = 0;
    while next < found.len() {
        let parent = found[next].pid;
        found.extend(table.iter().filter(|p| p.parent == parent));
        next += 1;
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stat_line_is_read_past_a_command_name_with_spaces_and_parentheses() {
        let line = "4242 (evil) 1 2 3 (x) S 17 4242 4242 0 -1 4194560 0 0";
        let process = parse_stat(4242, line).unwrap();
        assert_eq!(
            (process.parent, process.session, process.ended),
            (Pid::from_raw(17), Pid::from_raw(4242), false)
        );
        assert!(parse_stat(7, "7 (sleep) Z 1 7 7 0").unwrap().ended);
    }
}
