//! ^Z when the tool itself does not stop. An interactive shell run as the tool (`bash -i`,
//! `poetry shell`) ignores SIGTSTP, and when its own job control is unavailable its commands
//! run in lokiwrap's process group: ^Z stops the command, the inner shell keeps waiting for
//! it, and the user's shell keeps waiting for lokiwrap. Nothing would ever prompt again. So
//! when ^Z stopped a descendant of the tool but not the tool, lokiwrap stops the tool too: the
//! user's shell sees the whole job stopped and prompts, and its `fg` continues every process
//! of the job, the stopped command included.

use std::time::{Duration, Instant};

use nix::unistd::Pid;

use super::group_members;

/// How long the tool has to stop by itself after ^Z (a program that handles SIGTSTP first
/// restores its screen, then stops).
pub const GRACE: Duration = Duration::from_millis(100);

/// A ^Z waiting to be seen through.
#[derive(Default)]
pub struct PendingStop {
    since: Option<Instant>,
}

impl PendingStop {
    /// The terminal sent SIGTSTP to the job.
    pub fn keyboard_stop(&mut self) {
        self.since = Some(Instant::now());
    }

    /// The tool stopped, or ended: nothing is pending.
    pub fn clear(&mut self) {
        self.since = None;
    }

    /// How long the event loop may sleep before `check` is due.
    pub fn timeout(&self) -> Option<Duration> {
        self.since.map(|since| GRACE.saturating_sub(since.elapsed()))
    }

    /// Once the grace is over: whether the tool must be stopped for the job's sake.
    pub fn check(&mut self, child: Pid) -> bool {
        match self.since {
            Some(since) if since.elapsed() >= GRACE => {
                self.since = None;
                descendant_stopped(child)
            }
            _ => false,
        }
    }
}

/// Whether a process below `child`, in lokiwrap's process group, is stopped.
fn descendant_stopped(child: Pid) -> bool {
    let members = group_members::members();
    members
        .iter()
        .any(|m| m.stopped && group_members::descends_from(&members, m.pid, child.as_raw()))
}
