//! Lending the keyboard to the stderr pseudo-terminal. Some programs read keys from the
//! terminal that stderr names: less, more, and so every pager that git or man starts. While
//! a program holds that pseudo-terminal in raw or cbreak mode, lokiwrap gives the real terminal
//! the same input settings and copies keystrokes into the pseudo-terminal; when the program
//! returns to canonical mode (or the child stops or ends), the real settings come back.

use std::fs::File;
use std::io::IsTerminal;
use std::os::fd::{AsFd, BorrowedFd};

use nix::errno::Errno;
use nix::sys::termios::{LocalFlags, SetArg, Termios, tcgetattr, tcsetattr};

/// How often the pseudo-terminal's mode is checked while a child runs on it. Keys typed in
/// between wait in the real terminal's buffer, so nothing is lost.
pub const CHECK_INTERVAL_MS: u16 = 100;

#[derive(Default)]
pub struct KeyboardLender {
    lent: Option<Lent>,
}

struct Lent {
    /// The real terminal's settings before they were lent.
    saved: Termios,
    /// The real terminal, opened for reading keys.
    keys: File,
}

impl KeyboardLender {
    /// The real terminal, when keys are being copied from it.
    pub fn keys(&self) -> Option<BorrowedFd<'_>> {
        self.lent.as_ref().map(|lent| lent.keys.as_fd())
    }

    /// Follows the pseudo-terminal's mode: lends the keyboard when a program left canonical
    /// mode, takes it back when it returned, and keeps the real input settings in step.
    pub fn follow(&mut self, master: BorrowedFd<'_>) {
        // On a pseudo-terminal master, tcgetattr reports the slave's settings.
        let Ok(wanted) = tcgetattr(master) else { return };
        let interactive = !wanted.local_flags.contains(LocalFlags::ICANON);
        if !interactive {
            self.give_back();
            return;
        }
        if !in_foreground() {
            return;
        }
        let stderr = std::io::stderr();
        if self.lent.is_none() {
            let Ok(saved) = tcgetattr(&stderr) else { return };
            let Ok(keys) = open_keyboard() else { return };
            self.lent = Some(Lent { saved, keys });
        }
        let Some(lent) = &self.lent else { return };
        let mut real = lent.saved.clone();
        // Input handling and control characters follow the program; output processing stays
        // the real terminal's own, because the program's output reaches it unchanged.
        real.input_flags = wanted.input_flags;
        real.local_flags = wanted.local_flags;
        real.control_chars = wanted.control_chars;
        if tcgetattr(&stderr).map(|now| now != real).unwrap_or(false) {
            let _ = tcsetattr(&stderr, SetArg::TCSADRAIN, &real);
        }
    }

    /// Copies the keys waiting on the real terminal into the pseudo-terminal.
    pub fn copy_keys(&mut self, master: BorrowedFd<'_>) {
        let Some(lent) = &self.lent else { return };
        let mut buf = [0u8; 4096];
        match nix::unistd::read(&lent.keys, &mut buf) {
            Ok(n) if n > 0 => {
                let mut sent = 0;
                while sent < n {
                    match nix::unistd::write(master, &buf[sent..n]) {
                        Ok(k) => sent += k,
                        Err(Errno::EINTR) => continue,
                        // The program is not reading and its input queue is full: a person
                        // typing faster than it reads loses those keys, as on a real terminal.
                        Err(_) => break,
                    }
                }
            }
            _ => {}
        }
    }

    /// Restores the real terminal's settings, if they were lent.
    pub fn give_back(&mut self) {
        if let Some(lent) = self.lent.take()
            && in_foreground()
        {
            let _ = tcsetattr(std::io::stderr(), SetArg::TCSADRAIN, &lent.saved);
        }
    }
}

impl Drop for KeyboardLender {
    fn drop(&mut self) {
        self.give_back();
    }
}

/// Only the foreground job may change the terminal (a background one would be stopped).
fn in_foreground() -> bool {
    std::io::stderr().is_terminal()
        && nix::unistd::tcgetpgrp(std::io::stderr()).is_ok_and(|group| group == nix::unistd::getpgrp())
}

fn open_keyboard() -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_CLOEXEC)
        .open("/dev/tty")
}
