//! The tool's terminal settings, followed on the real terminal. When the child's output goes
//! through a pseudo-terminal, a full-screen program may switch "its terminal" to raw mode
//! through stdout or stderr (ncurses does, through stdout), while its keys still come from
//! stdin, which is the real terminal: so every change the tool makes to the pseudo-terminal is
//! made on the real terminal too, at once. The pseudo-terminal's master is in packet mode with
//! EXTPROC set on the slave, so the kernel wakes lokiwrap with TIOCPKT_IOCTL on every change;
//! nothing is polled. Only what the tool changed is copied, so a change the tool made to the
//! real terminal directly (vim does, through stdin) stands. When the child stops or ends, the
//! real terminal gets back the settings lokiwrap found, unless someone changed it since.

use std::fs::File;
use std::io::IsTerminal;
use std::os::fd::{AsFd, BorrowedFd};
use std::path::PathBuf;

use nix::errno::Errno;
use nix::sys::termios::{ControlFlags, InputFlags, LocalFlags, OutputFlags, SetArg, Termios, tcgetattr, tcsetattr};

/// The status bit a packet-mode master reads when the slave's settings changed (Linux).
pub const TIOCPKT_IOCTL: u8 = 64;

/// The pseudo-terminal, as `channel` created it.
pub struct Pty {
    /// The settings it was created with.
    pub settings: Termios,
}

pub struct ModeMirror {
    /// The tool's settings: the pseudo-terminal's, as last read.
    latest: Termios,
    /// The pseudo-terminal's settings as last copied to the real terminal.
    mirrored: Termios,
    /// Set while the real terminal carries settings copied from the tool.
    lent: Option<Lent>,
    /// Whether the real terminal had EXTPROC when lokiwrap started (it never should).
    real_had_extproc: bool,
    /// Cleared in the relay that outlives lokiwrap: the terminal is the shell's again.
    touches_terminal: bool,
    /// The pseudo-terminal's name, as a program that opens it sees it (/dev/pts/N): looked up
    /// at the first change of settings, since only then can keys be lent.
    name: Option<PathBuf>,
    /// The real terminal, opened to read keys, while they are lent to a program that reads
    /// them from the pseudo-terminal (less opens the terminal its stderr names).
    keys: Option<File>,
}

struct Lent {
    /// The real terminal's settings before lokiwrap first changed them.
    saved: Termios,
    /// The pseudo-terminal's settings at that moment.
    baseline: Termios,
    /// What lokiwrap last set on the real terminal.
    applied: Termios,
}

impl ModeMirror {
    /// `pty` as it was created, before the child could change it: a change the child makes
    /// before the relay starts must still count as a change.
    pub fn new(pty: Pty) -> ModeMirror {
        let latest = pty.settings;
        let real_had_extproc = tcgetattr(std::io::stderr())
            .map(|t| t.local_flags.contains(LocalFlags::EXTPROC))
            .unwrap_or(false);
        ModeMirror {
            mirrored: latest.clone(),
            latest,
            lent: None,
            real_had_extproc,
            touches_terminal: true,
            name: None,
            keys: None,
        }
    }

    /// Whether the pseudo-terminal turns each "\n" the tool writes into "\r\n" and does
    /// nothing else to output: the relay then takes the "\r" out again, so that the real
    /// terminal, with whatever output settings it has now, processes the tool's bytes once.
    pub fn adds_carriage_returns(&self) -> bool {
        let o = self.latest.output_flags;
        o.contains(OutputFlags::OPOST | OutputFlags::ONLCR)
            && !o.intersects(OutputFlags::OCRNL | OutputFlags::ONLRET | OutputFlags::ONOCR)
    }

    /// Stops following: the settings are still read, to know how the tool's output was
    /// processed, but the real terminal is left alone.
    pub fn detach(&mut self) {
        self.touches_terminal = false;
        self.lent = None;
        self.keys = None;
    }

    /// After TIOCPKT_IOCTL: reads the tool's new settings and copies what changed.
    pub fn follow(&mut self, master: BorrowedFd<'_>) {
        let Ok(mut now) = tcgetattr(master) else { return };
        if self.name.is_none() {
            self.name = slave_name(master);
        }
        if !now.local_flags.contains(LocalFlags::EXTPROC) {
            // The tool replaced every local flag: without EXTPROC no further change is heard.
            now.local_flags.insert(LocalFlags::EXTPROC);
            let _ = tcsetattr(master, SetArg::TCSANOW, &now);
        }
        self.latest = now;
        self.sync();
    }

    /// Copies to the real terminal what the tool changed since the last copy, when lokiwrap's
    /// job owns the terminal (a background job changing it would be stopped by SIGTTOU).
    pub fn sync(&mut self) {
        if !self.touches_terminal || !in_foreground() {
            return;
        }
        self.copy_changes();
        // After the settings: keys typed meanwhile are neither echoed nor held for a line.
        self.lend_keys_if_wanted();
    }

    fn copy_changes(&mut self) {
        let stderr = std::io::stderr();
        let Ok(real) = tcgetattr(&stderr) else { return };
        let target = with_changes(&real, &self.mirrored, &self.latest);
        let before = std::mem::replace(&mut self.mirrored, self.latest.clone());
        if target == real {
            return;
        }
        let lent = self.lent.get_or_insert_with(|| Lent {
            saved: real.clone(),
            baseline: before,
            applied: real.clone(),
        });
        if tcsetattr(&stderr, SetArg::TCSANOW, &target).is_ok() {
            lent.applied = target;
        }
    }

    /// Gives the real terminal back the settings lokiwrap found, unless someone changed it
    /// since lokiwrap last did; a later `sync` (after `fg`) copies the tool's settings again.
    pub fn give_back(&mut self) {
        self.keys = None;
        let lent = self.lent.take();
        if let Some(lent) = &lent {
            self.mirrored = lent.baseline.clone();
        }
        if !self.touches_terminal || !in_foreground() {
            return;
        }
        let stderr = std::io::stderr();
        let Ok(mut real) = tcgetattr(&stderr) else { return };
        if let Some(lent) = lent
            && real == lent.applied
        {
            let _ = tcsetattr(&stderr, SetArg::TCSANOW, &lent.saved);
        } else if !self.real_had_extproc && real.local_flags.contains(LocalFlags::EXTPROC) {
            // The tool copied the pseudo-terminal's settings onto stdin; EXTPROC would leave
            // the real terminal without echo or line editing.
            real.local_flags.remove(LocalFlags::EXTPROC);
            let _ = tcsetattr(&stderr, SetArg::TCSANOW, &real);
        }
    }

    /// Keys are lent while the tool reads single keys (non-canonical mode) and a process of the
    /// job opened the pseudo-terminal itself to read them. A program that took raw mode through
    /// stdout but reads stdin (ncurses does) gets its keys from the real terminal directly, and
    /// lokiwrap must not read them first.
    fn lend_keys_if_wanted(&mut self) {
        let single_keys = !self.latest.local_flags.contains(LocalFlags::ICANON);
        let opened = || {
            self.name
                .as_deref()
                .is_some_and(super::group_members::opened_by_a_member)
        };
        if single_keys && opened() {
            if self.keys.is_none() {
                self.keys = open_keyboard().ok();
            }
        } else {
            self.keys = None;
        }
    }

    /// The real terminal, while keys are lent.
    pub fn keys(&self) -> Option<BorrowedFd<'_>> {
        self.keys.as_ref().map(|keys| keys.as_fd())
    }

    /// Copies the keys waiting on the real terminal into the pseudo-terminal.
    pub fn copy_keys(&mut self, master: BorrowedFd<'_>) {
        let Some(keys) = &self.keys else { return };
        let mut buf = [0u8; 4096];
        let Ok(n) = nix::unistd::read(keys, &mut buf) else {
            return;
        };
        let mut sent = 0;
        while sent < n {
            match nix::unistd::write(master, &buf[sent..n]) {
                Ok(k) => sent += k,
                Err(Errno::EINTR) => continue,
                // The program is not reading and its input queue is full: a person typing
                // faster than it reads loses those keys, as on a real terminal.
                Err(_) => break,
            }
        }
    }
}

impl Drop for ModeMirror {
    /// However lokiwrap's part ends, the real terminal is not left in the tool's settings.
    fn drop(&mut self) {
        self.give_back();
    }
}

#[cfg(target_os = "linux")]
nix::ioctl_read_bad!(get_pty_number, libc::TIOCGPTN, libc::c_uint);

/// The name of the slave of the pseudo-terminal `master`.
#[cfg(target_os = "linux")]
fn slave_name(master: BorrowedFd<'_>) -> Option<PathBuf> {
    use std::os::fd::AsRawFd;
    let mut number: libc::c_uint = 0;
    // SAFETY: TIOCGPTN writes one unsigned int into the valid variable we pass.
    unsafe { get_pty_number(master.as_raw_fd(), &mut number) }.ok()?;
    Some(PathBuf::from(format!("/dev/pts/{number}")))
}

#[cfg(not(target_os = "linux"))]
fn slave_name(_master: BorrowedFd<'_>) -> Option<PathBuf> {
    None
}

fn open_keyboard() -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_CLOEXEC)
        .open("/dev/tty")
}

/// `real` with every setting that differs between `before` and `after` taken from `after`.
fn with_changes(real: &Termios, before: &Termios, after: &Termios) -> Termios {
    fn bits<
        T: Copy
            + std::ops::BitAnd<Output = T>
            + std::ops::BitOr<Output = T>
            + std::ops::BitXor<Output = T>
            + std::ops::Not<Output = T>,
    >(
        real: T,
        before: T,
        after: T,
    ) -> T {
        let changed = before ^ after;
        (real & !changed) | (after & changed)
    }
    let mut target = real.clone();
    target.input_flags = bits::<InputFlags>(real.input_flags, before.input_flags, after.input_flags);
    target.output_flags = bits::<OutputFlags>(real.output_flags, before.output_flags, after.output_flags);
    target.control_flags = bits::<ControlFlags>(real.control_flags, before.control_flags, after.control_flags);
    let mut local = bits::<LocalFlags>(real.local_flags, before.local_flags, after.local_flags);
    local.remove(LocalFlags::EXTPROC);
    local.insert(real.local_flags & LocalFlags::EXTPROC);
    target.local_flags = local;
    for i in 0..target.control_chars.len() {
        if before.control_chars[i] != after.control_chars[i] {
            target.control_chars[i] = after.control_chars[i];
        }
    }
    target
}

/// Only the foreground job may change the terminal.
fn in_foreground() -> bool {
    let stderr = std::io::stderr();
    stderr.is_terminal() && nix::unistd::tcgetpgrp(&stderr).is_ok_and(|group| group == nix::unistd::getpgrp())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Settings as a fresh pseudo-terminal has them: a real `Termios` to start from.
    fn cooked() -> Termios {
        let pty = nix::pty::openpty(None, None).unwrap();
        tcgetattr(&pty.slave).unwrap()
    }

    #[test]
    fn only_what_the_tool_changed_is_copied_and_a_change_made_on_the_real_terminal_stands() {
        let before = cooked();
        let mut after = before.clone();
        after.local_flags.remove(LocalFlags::ICANON | LocalFlags::ECHO);
        // The real terminal had output processing changed directly (as vim does through stdin).
        let mut real = before.clone();
        real.output_flags.remove(OutputFlags::ONLCR);
        let target = with_changes(&real, &before, &after);
        assert!(!target.local_flags.intersects(LocalFlags::ICANON | LocalFlags::ECHO));
        assert!(
            !target.output_flags.contains(OutputFlags::ONLCR),
            "the direct change was undone"
        );
        // Changing back copies back.
        let again = with_changes(&target, &after, &before);
        assert!(again.local_flags.contains(LocalFlags::ICANON | LocalFlags::ECHO));
    }

    #[test]
    fn extproc_never_reaches_the_real_terminal() {
        let before = cooked();
        let mut after = before.clone();
        after.local_flags.insert(LocalFlags::EXTPROC);
        after.local_flags.remove(LocalFlags::ECHO);
        let target = with_changes(&before, &cooked(), &after);
        assert!(!target.local_flags.contains(LocalFlags::EXTPROC));
        assert!(!target.local_flags.contains(LocalFlags::ECHO));
    }
}
