//! A new user's first session, with real processes: install lokiwrap into a prefix of their
//! own, wrap a real tool through PATH, see its crash reported, turn sending off and unwrap the
//! tool. Also what they see when they ask for help: an example everywhere, and no colour when
//! NO_COLOR is set.

mod common;

use common::{succeeded, text};

use std::ffi::OsString;
use std::io::Read;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use clap::CommandFactory;

/// A user with an empty home, and lokiwrap installed in a prefix of their own that comes
/// first on PATH.
struct NewUser {
    home: tempfile::TempDir,
    prefix: tempfile::TempDir,
}

impl NewUser {
    fn new() -> NewUser {
        NewUser {
            home: tempfile::tempdir().unwrap(),
            prefix: tempfile::tempdir().unwrap(),
        }
    }

    fn path_var(&self) -> OsString {
        let mut dirs = vec![self.prefix.path().join("bin")];
        dirs.extend(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()));
        std::env::join_paths(dirs).unwrap()
    }

    /// `sh -c SCRIPT` as this user, in a shell whose startup file holds the line that
    /// `shims/install.sh` adds: the shims directory first on PATH.
    fn shell(&self, script: &str) -> Output {
        let mut cmd = Command::new("sh");
        common::as_user(&mut cmd, self.home.path());
        cmd.args(["-c", &format!("eval \"$(lokiwrap shim env sh)\" && {script}")])
            .env("PATH", self.path_var())
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    /// The same in a terminal window (stdin, stdout and stderr on one terminal): the exit code
    /// and what reached the terminal.
    fn shell_on_terminal(&self, script: &str) -> (Option<i32>, String) {
        let mut cmd = Command::new("sh");
        common::as_user(&mut cmd, self.home.path());
        cmd.args(["-c", &format!("eval \"$(lokiwrap shim env sh)\" && {script}")])
            .env("PATH", self.path_var());
        let (status, terminal) = common::run_in_terminal_window(&mut cmd);
        (status.code(), text(&terminal))
    }

    /// `sh -c SCRIPT` as this user before any shims: PATH is the prefix and the system's.
    fn plain_shell(&self, script: &str) -> Output {
        let mut cmd = Command::new("sh");
        common::as_user(&mut cmd, self.home.path());
        cmd.args(["-c", script])
            .env("PATH", self.path_var())
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }
}

/// The directory holding the lokiwrap and lokiwrap-flush that cargo built for these tests.
fn built_binaries() -> PathBuf {
    let dir = Path::new(env!("CARGO_BIN_EXE_lokiwrap"))
        .parent()
        .unwrap()
        .to_path_buf();
    assert_eq!(dir, Path::new(env!("CARGO_BIN_EXE_lokiwrap-flush")).parent().unwrap());
    dir
}

#[test]
fn a_new_user_installs_wraps_python_sees_the_crash_turns_sending_off_and_unwraps() {
    let user = NewUser::new();

    // Install, as a packager would: the binaries already built, into a prefix.
    let install = Command::new(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../packaging/install.sh"))
        .arg("--from")
        .arg(built_binaries())
        .env("PREFIX", user.prefix.path())
        .env("PATH", user.path_var())
        .output()
        .unwrap();
    succeeded("packaging/install.sh", &install);
    let installed = user.prefix.path().join("bin/lokiwrap");
    assert_eq!(
        text(&succeeded("command -v lokiwrap", &user.plain_shell("command -v lokiwrap")).stdout).trim_end(),
        installed.display().to_string()
    );
    assert!(user.prefix.path().join("bin/lokiwrap-flush").is_file());
    let version = user.plain_shell("lokiwrap --version");
    assert_eq!(
        text(&succeeded("lokiwrap --version", &version).stdout),
        format!("lokiwrap {}\n", env!("CARGO_PKG_VERSION"))
    );

    // The real python3, and what it prints when it crashes.
    let real_python = text(&succeeded("command -v python3", &user.plain_shell("command -v python3")).stdout)
        .trim_end()
        .to_string();
    assert!(real_python.starts_with('/'), "python3 is on PATH: {real_python:?}");
    let crash = r#"python3 -c 'raise ValueError("x")'"#;
    let unwrapped = user.plain_shell(crash);
    assert_eq!(unwrapped.status.code(), Some(1));
    assert!(
        text(&unwrapped.stderr).ends_with("ValueError: x\n"),
        "{}",
        text(&unwrapped.stderr)
    );

    // Wrap it: python3 on PATH is now the shim.
    let added = succeeded(
        "lokiwrap shim add python3",
        &user.plain_shell("lokiwrap shim add python3"),
    )
    .stderr
    .clone();
    assert!(text(&added).contains("python3 is wrapped"), "{}", text(&added));
    let shims = user.home.path().join(".local/share/lokiwrap/shims");
    assert_eq!(
        text(&succeeded("command -v python3", &user.shell("command -v python3")).stdout).trim_end(),
        shims.join("python3").display().to_string()
    );
    assert_eq!(
        text(&succeeded("lokiwrap shim list", &user.shell("lokiwrap shim list")).stdout),
        format!("python3\t{real_python}\n")
    );

    // A wrapped run with stderr in a pipe: same status, same stdout, same stderr, byte for
    // byte. Nobody would read a notice there, so none is added.
    let first = user.shell(crash);
    assert_eq!(first.status.code(), Some(1));
    assert_eq!(first.stdout, unwrapped.stdout);
    assert_eq!(text(&first.stderr), text(&unwrapped.stderr));
    // The first run on a terminal: the tool's stderr, then the one-time notice.
    let (code, terminal) = user.shell_on_terminal(crash);
    assert_eq!(code, Some(1));
    let notice = terminal
        .strip_prefix(&text(&unwrapped.stderr).replace('\n', "\r\n"))
        .unwrap_or_else(|| panic!("the tool's stderr comes first and unchanged:\n{terminal}"));
    assert!(
        notice.starts_with("lokiwrap: a note on crash reports, shown once."),
        "{notice}"
    );
    // Every later run: byte for byte what the unwrapped tool printed.
    let (code, terminal) = user.shell_on_terminal(crash);
    assert_eq!(code, Some(1));
    assert_eq!(terminal, text(&unwrapped.stderr).replace('\n', "\r\n"));

    // The crash, as kept on this machine.
    let table = text(&succeeded("lokiwrap crash list", &user.shell("lokiwrap crash list")).stdout);
    let rows: Vec<&str> = table.lines().skip(1).collect();
    assert_eq!(rows.len(), 3, "one report per crashing run:\n{table}");
    for row in rows {
        assert!(row.contains("python3") && row.contains("ValueError"), "{table}");
    }

    // Turn sending off, and check what decides it.
    let off = succeeded("lokiwrap telemetry off", &user.shell("lokiwrap telemetry off"))
        .stderr
        .clone();
    assert!(text(&off).contains("telemetry is off"), "{}", text(&off));
    let status = text(&succeeded("lokiwrap telemetry status", &user.shell("lokiwrap telemetry status")).stdout);
    assert!(status.starts_with("telemetry:       off\n"), "{status}");
    assert!(status.contains("decided by:      config\n"), "{status}");
    assert_eq!(user.shell("lokiwrap telemetry enabled").status.code(), Some(1));

    // Unwrap it: python3 is the real one again, even with the shims directory on PATH.
    let removed = succeeded(
        "lokiwrap shim remove python3",
        &user.shell("lokiwrap shim remove python3"),
    )
    .stderr
    .clone();
    assert!(
        text(&removed).contains("python3 is no longer wrapped"),
        "{}",
        text(&removed)
    );
    assert_eq!(
        text(&succeeded("command -v python3", &user.shell("command -v python3")).stdout).trim_end(),
        real_python
    );
    assert_eq!(
        text(&succeeded("lokiwrap shim list", &user.shell("lokiwrap shim list")).stdout),
        ""
    );
    let after = user.shell(crash);
    assert_eq!(after.status.code(), Some(1));
    let table = text(&succeeded("lokiwrap crash list", &user.shell("lokiwrap crash list")).stdout);
    assert_eq!(table.lines().count(), 4, "an unwrapped crash makes no report:\n{table}");
}

/// Every command path in the definition, as words: `[]`, `["crash"]`, `["crash", "list"]`, …
fn command_paths(command: &clap::Command, prefix: Vec<String>, into: &mut Vec<Vec<String>>) {
    into.push(prefix.clone());
    for sub in command.get_subcommands() {
        let mut path = prefix.clone();
        path.push(sub.get_name().to_string());
        command_paths(sub, path, into);
    }
}

#[test]
fn every_command_and_subcommand_has_help_with_an_example() {
    let mut paths = Vec::new();
    command_paths(&lokiwrap::cli::Cli::command(), Vec::new(), &mut paths);
    assert!(paths.len() > 15, "{paths:?}");
    for path in paths {
        let out = Command::new(common::lokiwrap())
            .args(&path)
            .arg("--help")
            .output()
            .unwrap();
        let help = text(&succeeded(&format!("lokiwrap {} --help", path.join(" ")), &out).stdout);
        assert!(
            help.contains("\nExample:\n  ") || help.contains("\nExamples:\n  "),
            "lokiwrap {} --help has no example:\n{help}",
            path.join(" ")
        );
    }
    let flush = Command::new(env!("CARGO_BIN_EXE_lokiwrap-flush"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(text(&succeeded("lokiwrap-flush --help", &flush).stdout).contains("\nExamples:\n  "));
}

/// Runs lokiwrap with stdout and stderr on a new pseudo-terminal, as in an interactive shell,
/// and returns everything it wrote there.
fn in_a_terminal(args: &[&str], no_color: bool) -> Vec<u8> {
    let pty = nix::pty::openpty(None, None).unwrap();
    let mut cmd = Command::new(common::lokiwrap());
    cmd.args(args)
        .env("TERM", "xterm-256color")
        .env_remove("CLICOLOR")
        .env_remove("CLICOLOR_FORCE")
        .stdin(Stdio::null())
        .stdout(OwnedFd::try_clone(&pty.slave).unwrap())
        .stderr(OwnedFd::try_clone(&pty.slave).unwrap());
    if no_color {
        cmd.env("NO_COLOR", "1");
    } else {
        cmd.env_remove("NO_COLOR");
    }
    let mut child = cmd.spawn().unwrap();
    drop(pty.slave);
    drop(cmd);
    let mut output = Vec::new();
    // Reading ends with EIO once the last holder of the terminal's other side has exited.
    let _ = std::fs::File::from(pty.master).read_to_end(&mut output);
    child.wait().unwrap();
    output
}

#[test]
fn no_color_keeps_help_and_errors_free_of_escape_sequences() {
    // In a terminal, clap colours its help and errors by default: the check below means
    // something.
    assert!(in_a_terminal(&["--help"], false).contains(&0x1b));
    assert!(in_a_terminal(&["--bogus"], false).contains(&0x1b));
    for args in [
        &["--help"][..],
        &["--bogus"],
        &["crash", "list", "--help"],
        &["shim", "add"],
    ] {
        let output = in_a_terminal(args, true);
        assert!(!output.is_empty(), "{args:?} printed something");
        assert!(
            !output.contains(&0x1b),
            "NO_COLOR=1 lokiwrap {args:?} printed an escape sequence:\n{}",
            text(&output)
        );
    }
    // lokiwrap's own messages never use colour, NO_COLOR or not.
    let own = in_a_terminal(&["shim", "env", "tcsh"], false);
    assert!(
        text(&own).contains("lokiwrap: shim env:") && !own.contains(&0x1b),
        "{}",
        text(&own)
    );
}
