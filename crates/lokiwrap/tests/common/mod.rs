//! Shared support for the integration tests: the built binary, a real terminal (tmux), and
//! waiting for files that the test programs write.
#![allow(dead_code)]

pub mod http_sink;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The built binary. The first call also gives this test process a configuration and state
/// directory of its own, as a user who has already seen the first-run notice: tests must not
/// read or write the real user's files, and the notice must not land in their output.
pub fn lokiwrap() -> PathBuf {
    static ISOLATED: std::sync::Once = std::sync::Once::new();
    ISOLATED.call_once(|| {
        let root = std::env::temp_dir().join(format!("lokiwrap-tests-{}", std::process::id()));
        let config = root.join("config");
        std::fs::create_dir_all(config.join("lokiwrap")).unwrap();
        std::fs::write(config.join("lokiwrap/config.toml"), "notice_shown = true\n").unwrap();
        // SAFETY: set once, before this process starts any lokiwrap; every other environment
        // access in these tests goes through std, which serialises it.
        unsafe {
            std::env::set_var("XDG_CONFIG_HOME", &config);
            std::env::set_var("XDG_STATE_HOME", root.join("state"));
            for var in [
                "DO_NOT_TRACK",
                "LOKIWRAP_ENDPOINT",
                "LOKIWRAP_TELEMETRY_DEBUG",
                "LOKIWRAP_PHASE",
            ] {
                std::env::remove_var(var);
            }
        }
    });
    PathBuf::from(env!("CARGO_BIN_EXE_lokiwrap"))
}

/// A test program under `tests/programs/`.
pub fn program(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/programs").join(name)
}

/// Waits up to 20 s for `path` to exist and returns its content.
pub fn wait_for_file(path: &Path) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(text) = std::fs::read_to_string(path) {
            return text;
        }
        assert!(Instant::now() < deadline, "{} never appeared", path.display());
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Parses `NAME=N` lines as written by `count_signals.py`.
pub fn counts(text: &str) -> Vec<(String, u32)> {
    text.lines()
        .filter_map(|line| line.split_once('='))
        .map(|(name, n)| (name.to_string(), n.trim().parse().unwrap()))
        .collect()
}

static SERVERS: AtomicUsize = AtomicUsize::new(0);

/// A real terminal: a private tmux server running a plain bash in a 132x40 window.
pub struct Tmux {
    socket: String,
}

impl Tmux {
    pub fn start() -> Tmux {
        let socket = format!(
            "lokiwrap-test-{}-{}",
            std::process::id(),
            SERVERS.fetch_add(1, Ordering::Relaxed)
        );
        let path = format!(
            "{}:{}",
            lokiwrap().parent().unwrap().display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let status = Command::new("tmux")
            .args([
                "-L",
                &socket,
                "-f",
                "/dev/null",
                "new-session",
                "-d",
                "-x",
                "132",
                "-y",
                "40",
                "-s",
                "t",
            ])
            .args(["env", "-i", &format!("PATH={path}"), "TERM=xterm-256color", "PS1=$ "])
            .arg(format!(
                "HOME={}",
                std::env::var("HOME").unwrap_or_else(|_| "/tmp".into())
            ))
            .args(["bash", "--norc", "--noprofile"])
            .status()
            .expect("tmux runs (apt-get install tmux)");
        assert!(status.success(), "tmux could not start a session");
        let tmux = Tmux { socket };
        tmux.wait_for("$ ");
        tmux
    }

    fn tmux(&self, args: &[&str]) -> std::process::Output {
        Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("tmux runs")
    }

    /// Types a line and presses Enter.
    pub fn type_line(&self, line: &str) {
        self.tmux(&["send-keys", "-t", "t", "-l", line]);
        self.tmux(&["send-keys", "-t", "t", "Enter"]);
    }

    /// Presses a key, in tmux's names: `C-c`, `C-z`, `q`.
    pub fn key(&self, key: &str) {
        self.tmux(&["send-keys", "-t", "t", key]);
    }

    pub fn resize(&self, columns: u16, rows: u16) {
        self.tmux(&[
            "resize-window",
            "-t",
            "t",
            "-x",
            &columns.to_string(),
            "-y",
            &rows.to_string(),
        ]);
    }

    /// The visible screen plus scrollback, one line per row.
    pub fn screen(&self) -> String {
        String::from_utf8_lossy(&self.tmux(&["capture-pane", "-p", "-J", "-S", "-500", "-t", "t"]).stdout).into_owned()
    }

    /// Waits up to 20 s for `needle` on the screen and returns the screen.
    pub fn wait_for(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let screen = self.screen();
            if screen.contains(needle) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "never saw {needle:?} on the screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(30));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.tmux(&["kill-server"]);
    }
}

/// Quotes a path for the shell inside tmux.
pub fn sh_quote(path: &Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', r"'\''"))
}

/// Starts the command with SIGINT and SIGQUIT at their defaults, as an interactive shell
/// starts a job. A test run from a background job inherits them ignored, and lokiwrap rightly
/// keeps an ignored signal ignored for the tool.
pub fn with_default_signals(cmd: &mut Command) -> &mut Command {
    use std::os::unix::process::CommandExt;
    // SAFETY: the closure only calls signal(2) with SIG_DFL, which is async-signal-safe.
    unsafe {
        cmd.pre_exec(|| {
            for signal in [nix::sys::signal::Signal::SIGINT, nix::sys::signal::Signal::SIGQUIT] {
                nix::sys::signal::signal(signal, nix::sys::signal::SigHandler::SigDfl)?;
            }
            Ok(())
        })
    }
}

/// Makes `cmd` run as a user whose home is `home`: configuration and state under it, and none
/// of the caller's opt-out, endpoint, debug, phase or nesting variables.
pub fn as_user<'a>(cmd: &'a mut Command, home: &Path) -> &'a mut Command {
    cmd.env("HOME", home)
        .env("XDG_STATE_HOME", home.join(".local/state"))
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .current_dir(home);
    for var in [
        "DO_NOT_TRACK",
        "LOKIWRAP_TELEMETRY",
        "LOKI_TELEMETRY",
        "LOKI_TELEMETRY_DISABLED",
        "LOKIWRAP_ENDPOINT",
        "LOKIWRAP_TELEMETRY_DEBUG",
        "LOKIWRAP_PHASE",
        "LOKIWRAP_DEPTH",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

/// `lokiwrap ARGS` run as the user whose home is `home`, with `env` on top and stdin closed.
pub fn lokiwrap_as(home: &Path, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(lokiwrap());
    as_user(&mut cmd, home).args(args).stdin(std::process::Stdio::null());
    for (name, value) in env {
        cmd.env(name, value);
    }
    cmd
}

/// Writes `text` as the configuration file of the user whose home is `home`.
pub fn write_config(home: &Path, text: &str) {
    let dir = home.join(".config/lokiwrap");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("config.toml"), text).unwrap();
}

/// Runs `cmd` with stdin and stderr on a pseudo-terminal of its own, as in a terminal window
/// (stdout goes where the caller set it: `tool | less` has it in a pipe), and returns its exit
/// status and every byte written to the terminal, as the terminal shows them (`\n` arrives as
/// `\r\n`). Fails the test if it runs longer than 20 s.
pub fn run_on_terminal(cmd: &mut Command) -> (std::process::ExitStatus, Vec<u8>) {
    use std::io::Read;
    use std::os::fd::AsFd;
    use std::process::Stdio;

    let winsize = nix::pty::Winsize {
        ws_row: 40,
        ws_col: 132,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    let pty = nix::pty::openpty(Some(&winsize), None).unwrap();
    let slave = || Stdio::from(pty.slave.as_fd().try_clone_to_owned().unwrap());
    let mut child = cmd.stdin(slave()).stderr(slave()).spawn().unwrap();
    // The master sees the end only once every copy of the slave is closed: the command's and ours.
    cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
    drop(pty.slave);
    let mut master = std::fs::File::from(pty.master);
    // Read while the child runs, so a full terminal buffer never blocks it.
    let reader = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = master.read_to_end(&mut bytes); // ends with EIO once the slave is closed
        bytes
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("{cmd:?} still ran after 20 s on a terminal");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    (status, reader.join().unwrap())
}
