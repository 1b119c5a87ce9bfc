//! Shared support for the integration tests: the built binary, a real terminal (tmux), and
//! waiting for files that the test programs write.
#![allow(dead_code)]

pub mod http_sink;

use std::borrow::Borrow;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// What a process wrote, as text (lossily, so that a test can always show it).
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `out` once `what` is known to have succeeded; otherwise the test fails showing its status,
/// stdout and stderr.
pub fn succeeded<O: Borrow<Output>>(what: &str, out: O) -> O {
    let output = out.borrow();
    assert!(
        output.status.success(),
        "{what}: {:?}\nstdout: {}\nstderr: {}",
        output.status,
        text(&output.stdout),
        text(&output.stderr)
    );
    out
}

/// Waits for `child` to end, failing the test with `what` if it has not within `timeout`.
pub fn wait_for_exit(child: &mut Child, timeout: Duration, what: &str) -> ExitStatus {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(Instant::now() < deadline, "{what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

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
        Tmux::launch(None, &[])
    }

    /// A real terminal like `start`'s, with the shell working in `dir` and `env` added to its
    /// environment (a name given again there replaces `start`'s value, e.g. `HOME`).
    pub fn start_in(dir: &Path, env: &[(&str, &str)]) -> Tmux {
        Tmux::launch(Some(dir), env)
    }

    fn launch(dir: Option<&Path>, env: &[(&str, &str)]) -> Tmux {
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
        let mut tmux = Command::new("tmux");
        tmux.args([
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
        ]);
        if let Some(dir) = dir {
            tmux.arg("-c").arg(dir);
        }
        let status = tmux
            .args(["env", "-i", &format!("PATH={path}"), "TERM=xterm-256color", "PS1=$ "])
            .arg(format!(
                "HOME={}",
                std::env::var("HOME").unwrap_or_else(|_| "/tmp".into())
            ))
            .args(env.iter().map(|(name, value)| format!("{name}={value}")))
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

/// What a person sees in a terminal at one moment: the screen with its colours and
/// attributes, and the cursor and the modes the program set on the terminal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct View {
    /// The scrollback and the screen, one line per row, with the escape sequences for colours
    /// and attributes (`capture-pane -e`).
    pub screen: String,
    /// The cursor and the terminal's modes: `name=value` separated by spaces.
    pub modes: String,
}

/// The cursor and the terminal modes a program can set, as tmux names them.
const MODES: &str = "cursor=#{cursor_x},#{cursor_y} cursor_visible=#{cursor_flag} \
alternate_screen=#{alternate_on} insert=#{insert_flag} keypad=#{keypad_flag} \
keypad_cursor=#{keypad_cursor_flag} wrap=#{wrap_flag} origin=#{origin_flag} \
mouse_standard=#{mouse_standard_flag} mouse_button=#{mouse_button_flag} mouse_any=#{mouse_any_flag} \
mouse_sgr=#{mouse_sgr_flag} mouse_utf8=#{mouse_utf8_flag}";

/// Marks the end of the screen in `Tmux::view`'s one tmux call.
const END_OF_SCREEN: &str = "@@ end of screen @@";

impl View {
    /// The screen without escape sequences.
    pub fn text(&self) -> String {
        strip_escapes(&self.screen)
    }

    /// The last line of the screen that is not blank, without escape sequences or trailing
    /// blanks: the prompt the program is waiting at.
    pub fn last_line(&self) -> String {
        self.text()
            .lines()
            .rev()
            .map(str::trim_end)
            .find(|line| !line.is_empty())
            .unwrap_or_default()
            .to_string()
    }
}

/// `text` without the escape sequences `capture-pane -e` writes (CSI sequences such as SGR).
pub fn strip_escapes(text: &str) -> String {
    lokiwrap::report::scrub::strip_ansi(text).into_owned()
}

impl Tmux {
    /// The screen (with its scrollback) and the modes, read in one tmux call so that they
    /// belong together.
    pub fn view(&self) -> View {
        let out = self.tmux(&[
            "capture-pane",
            "-p",
            "-e",
            "-S",
            "-",
            "-t",
            "t",
            ";",
            "display-message",
            "-p",
            "-t",
            "t",
            END_OF_SCREEN,
            ";",
            "display-message",
            "-p",
            "-t",
            "t",
            MODES,
        ]);
        let out = String::from_utf8_lossy(&out.stdout);
        let marker = format!("\n{END_OF_SCREEN}\n");
        let (screen, modes) = out.split_once(&marker).unwrap_or((&out, ""));
        View {
            screen: screen.trim_end_matches('\n').to_string(),
            modes: modes.trim_end().to_string(),
        }
    }

    /// Types text without pressing Enter.
    pub fn type_text(&self, text: &str) {
        self.tmux(&["send-keys", "-t", "t", "-l", text]);
    }

    /// The terminal device of the pane (the real terminal the shell and its jobs use).
    pub fn tty(&self) -> PathBuf {
        let out = self.tmux(&["display-message", "-p", "-t", "t", "#{pane_tty}"]);
        PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
    }

    /// `stty -a` of the terminal, read from outside: the settings in force right now, whoever
    /// set them, without typing anything.
    pub fn stty(&self) -> String {
        let out = Command::new("stty")
            .arg("-a")
            .arg("-F")
            .arg(self.tty())
            .output()
            .expect("stty runs");
        assert!(
            out.status.success(),
            "stty -a -F failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Waits up to 20 s until a process named `comm`, started from the pane's shell, runs and
    /// the terminal is out of canonical mode: the program (a pager, an editor) has set it up to
    /// read keys one by one, and keys typed now are read by it, not echoed by the terminal.
    pub fn wait_until_reading_keys(&self, comm: &str) {
        use std::os::unix::fs::OpenOptionsExt;
        let shell = self.shell_pid();
        let terminal = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOCTTY | libc::O_NONBLOCK)
            .open(self.tty())
            .expect("the pane's terminal opens");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            // The shell's own line editor reads keys one by one too, but it has put the
            // terminal back in canonical mode before it starts any command.
            let raw = nix::sys::termios::tcgetattr(&terminal)
                .is_ok_and(|t| !t.local_flags.contains(nix::sys::termios::LocalFlags::ICANON));
            if raw
                && descendants(shell)
                    .into_iter()
                    .any(|pid| std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == comm))
            {
                return;
            }
            assert!(Instant::now() < deadline, "{comm} never took the keyboard");
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// The pid of the shell in the pane.
    pub fn shell_pid(&self) -> i32 {
        let out = self.tmux(&["display-message", "-p", "-t", "t", "#{pane_pid}"]);
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .expect("tmux names the pane's pid")
    }

    /// Waits up to 20 s until a process named `comm`, started from the pane's shell, sleeps in
    /// nanosleep (`sleep 5`, Python's `time.sleep`): a key typed now reaches it mid-sleep.
    pub fn wait_until_sleeping(&self, comm: &str) {
        let shell = self.shell_pid();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if descendants(shell).into_iter().any(|pid| {
                let read = |what: &str| std::fs::read_to_string(format!("/proc/{pid}/{what}")).unwrap_or_default();
                // The syscall number is x86_64's clock_nanosleep or nanosleep; the wait channel
                // names it on any architecture where the kernel shows it.
                let syscall = read("syscall");
                let syscall = syscall.split_whitespace().next().unwrap_or_default();
                read("comm").trim() == comm && (read("wchan").contains("nanosleep") || ["230", "35"].contains(&syscall))
            }) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "no {comm} started from the terminal ever slept"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// Every process descended from `root` (not `root` itself).
pub fn descendants(root: i32) -> Vec<i32> {
    let mut parents = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // The command name, in parentheses, may hold spaces: the parent pid is the second
        // field after its closing parenthesis.
        let Some((_, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        if let Some(ppid) = rest.split_whitespace().nth(1).and_then(|p| p.parse::<i32>().ok()) {
            parents.push((pid, ppid));
        }
    }
    let mut found = vec![root];
    let mut i = 0;
    while i < found.len() {
        let parent = found[i];
        found.extend(parents.iter().filter(|(_, ppid)| *ppid == parent).map(|(pid, _)| *pid));
        i += 1;
    }
    found.remove(0);
    found
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

/// A new terminal (a pseudo-terminal pair) of 40 rows and 132 columns.
pub fn open_terminal() -> nix::pty::OpenptyResult {
    let winsize = nix::pty::Winsize {
        ws_row: 40,
        ws_col: 132,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    nix::pty::openpty(Some(&winsize), None).unwrap()
}

/// Runs `cmd` with stdin and stderr on a pseudo-terminal of its own, as in a terminal window
/// (stdout goes where the caller set it: `tool | less` has it in a pipe), and returns its exit
/// status and every byte written to the terminal, as the terminal shows them (`\n` arrives as
/// `\r\n`). Fails the test if it runs longer than 20 s.
pub fn run_on_terminal(cmd: &mut Command) -> (std::process::ExitStatus, Vec<u8>) {
    run_with_terminal(cmd, false)
}

/// Runs `cmd` as in a terminal window: stdin, stdout and stderr all on one terminal.
pub fn run_in_terminal_window(cmd: &mut Command) -> (std::process::ExitStatus, Vec<u8>) {
    run_with_terminal(cmd, true)
}

fn run_with_terminal(cmd: &mut Command, with_stdout: bool) -> (std::process::ExitStatus, Vec<u8>) {
    use std::io::Read;
    use std::os::fd::AsFd;
    use std::process::Stdio;

    let pty = open_terminal();
    let slave = || Stdio::from(pty.slave.as_fd().try_clone_to_owned().unwrap());
    if with_stdout {
        cmd.stdout(slave());
    }
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
