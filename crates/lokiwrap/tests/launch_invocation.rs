//! How lokiwrap is invoked: `--`, bare program names, PATH shims, re-entry and exec failures.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::lokiwrap;

fn script(dir: &Path, name: &str, body: &str) {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn run_with_path(path: &str, program: &str, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .env("PATH", path)
        .env_remove("LOKIWRAP_DEPTH")
        .output()
        .unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn the_program_after_double_dash_runs_with_its_arguments_untouched() {
    let out = Command::new(lokiwrap())
        .args(["--", "printf", "[%s]", "--", "-x", "a b", "", "--help"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "[--][-x][a b][][--help]");
    assert!(out.status.success());
}

#[test]
fn a_program_runs_without_double_dash() {
    let out = Command::new(lokiwrap()).args(["sh", "-c", "exit 3"]).output().unwrap();
    assert_eq!(out.status.code(), Some(3));
}

#[test]
fn an_unknown_program_is_command_not_found_127_like_a_shell() {
    let out = Command::new(lokiwrap())
        .args(["--", "no-such-tool-xyz"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(127));
    assert_eq!(stderr(&out), "lokiwrap: no-such-tool-xyz: command not found\n");
}

#[test]
fn a_file_that_is_not_executable_is_126_with_the_os_reason() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("data.txt");
    std::fs::write(&file, "hello").unwrap();
    let out = Command::new(lokiwrap()).arg("--").arg(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(126));
    assert_eq!(
        stderr(&out),
        format!("lokiwrap: {}: Permission denied\n", file.display())
    );

    let out = Command::new(lokiwrap()).arg("--").arg(dir.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(126), "a directory cannot be executed either");
}

#[test]
fn an_executable_without_a_shebang_runs_as_a_shell_script() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plain");
    std::fs::write(&file, "echo plain \"$@\"; exit 4\n").unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = Command::new(lokiwrap()).arg("--").arg(&file).arg("x").output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "plain x\n");
    assert_eq!(out.status.code(), Some(4));
}

#[test]
fn a_shim_runs_the_next_tool_on_path_found_by_identity() {
    let shims = tempfile::tempdir().unwrap();
    let real = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(lokiwrap(), shims.path().join("mytool")).unwrap();
    std::fs::hard_link(lokiwrap(), shims.path().join("othertool")).unwrap();
    script(real.path(), "mytool", r#"echo "argv0=$0 args=$*""#);
    script(real.path(), "othertool", r#"echo "other $*""#);
    let path = format!("{}:{}:/usr/bin:/bin", shims.path().display(), real.path().display());

    let out = run_with_path(&path, "sh", &["-c", "mytool one two"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("argv0={}/mytool args=one two\n", real.path().display())
    );

    // A hard link is recognised as lokiwrap too: identity, not names.
    let out = run_with_path(&path, "sh", &["-c", "othertool 3"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "other 3\n");
}

#[test]
fn argv0_reaches_the_tool_as_typed_not_canonicalised() {
    // Multi-call binaries (busybox, clang++, rustup proxies) choose what to do by argv[0].
    // Here the real `applet` is a symlink to cat, which prints its own command line.
    let shims = tempfile::tempdir().unwrap();
    let real = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(lokiwrap(), shims.path().join("applet")).unwrap();
    let cat = String::from_utf8(
        Command::new("sh")
            .args(["-c", "command -v cat"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    std::os::unix::fs::symlink(cat.trim(), real.path().join("applet")).unwrap();
    let path = format!("{}:{}:/usr/bin:/bin", shims.path().display(), real.path().display());
    let out = run_with_path(&path, "sh", &["-c", "applet /proc/self/cmdline"]);
    assert_eq!(out.stdout, b"applet\0/proc/self/cmdline\0");
}

#[test]
fn a_shim_that_finds_only_itself_fails_at_once_with_127() {
    let shims = tempfile::tempdir().unwrap();
    let copy = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(lokiwrap(), shims.path().join("lonely")).unwrap();
    // A second shim directory pointing at the same binary is skipped the same way.
    std::os::unix::fs::symlink(lokiwrap(), copy.path().join("lonely")).unwrap();
    let path = format!("{}:{}:/usr/bin:/bin", shims.path().display(), copy.path().display());
    let started = Instant::now();
    let out = run_with_path(&path, "sh", &["-c", "lonely --version"]);
    assert_eq!(out.status.code(), Some(127));
    let message = stderr(&out);
    assert!(
        message.starts_with("lokiwrap: lonely: the only 'lonely' on PATH is this lokiwrap shim"),
        "{message}"
    );
    assert!(message.contains("lokiwrap shim remove lonely"), "{message}");
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn two_wrappers_calling_each_other_stop_instead_of_looping() {
    // A wrapper script that calls `looper` through PATH again, i.e. back into the shim.
    let shims = tempfile::tempdir().unwrap();
    let wrappers = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(lokiwrap(), shims.path().join("looper")).unwrap();
    let path = format!("{}:{}:/usr/bin:/bin", shims.path().display(), wrappers.path().display());
    script(wrappers.path(), "looper", &format!("PATH='{path}' exec looper \"$@\""));
    let out = run_with_path(&path, "sh", &["-c", "looper"]);
    assert_eq!(out.status.code(), Some(127));
    let message = stderr(&out);
    assert!(message.contains("lokiwrap launches are nested"), "{message}");
    assert_eq!(message.lines().count(), 1, "one message, not one per level: {message}");
}

#[test]
fn a_nested_lokiwrap_is_a_pure_pass_through() {
    // The inner lokiwrap replaces itself with the program: its parent is the outer lokiwrap,
    // whose parent is this test.
    let out = Command::new(lokiwrap())
        .args(["--", lokiwrap().to_str().unwrap(), "--", "sh", "-c"])
        .arg(r#"echo "depth=$LOKIWRAP_DEPTH"; grep PPid /proc/$PPID/status | cut -f2"#)
        .env_remove("LOKIWRAP_DEPTH")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text, format!("depth=2\n{}\n", std::process::id()));
}

#[test]
fn the_environment_is_unchanged_but_for_the_reentry_variable() {
    let environment = |wrapped: bool| {
        let mut cmd = if wrapped {
            Command::new(lokiwrap())
        } else {
            Command::new("env")
        };
        if wrapped {
            cmd.args(["--", "env", "-0"]);
        } else {
            cmd.arg("-0");
        }
        cmd.env_remove("LOKIWRAP_DEPTH")
            .env("ODD VALUE", "a\nb=c\u{e9}")
            .env("EMPTY", "");
        let out = cmd.stdout(Stdio::piped()).output().unwrap();
        let mut vars: Vec<Vec<u8>> = out.stdout.split(|&b| b == 0).map(<[u8]>::to_vec).collect();
        vars.sort();
        vars
    };
    let mut wrapped = environment(true);
    let plain = environment(false);
    let depth = wrapped
        .iter()
        .position(|v| v == b"LOKIWRAP_DEPTH=1")
        .expect("the re-entry variable is set");
    wrapped.remove(depth);
    assert_eq!(wrapped, plain);
}

#[test]
fn a_mistyped_option_is_a_usage_error_that_shows_the_fix() {
    let out = Command::new(lokiwrap()).arg("--bogus").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let message = stderr(&out);
    assert!(
        message.contains("unexpected argument '--bogus'") && message.contains("-- --bogus"),
        "{message}"
    );
}
