//! One destination, one order: when the tool's stdout and stderr lead to the same place (a
//! file or pipe with `2>&1`, one terminal), what arrives is byte for byte what arrives
//! unwrapped, run after run; when they lead to different places, each keeps its own. And the
//! crash watch, which now reads both streams at once, still tells a crash from output.

mod common;

use std::io::Read;
use std::os::fd::AsFd;
use std::path::Path;
use std::process::{Command, Stdio};

use common::lokiwrap;

/// 2,000 lines, alternately on stdout and stderr, each written (flushed) on its own.
const ALTERNATING: &str = r#"i=0; while [ $i -lt 2000 ]; do echo "out $i"; echo "err $i" >&2; i=$((i+1)); done"#;
const RUNS: usize = 20;

/// `sh -c SCRIPT` through a shell line, wrapped or not, in `dir`; returns what it printed.
fn shell(dir: &Path, line: &str) -> Vec<u8> {
    let out = Command::new("sh")
        .args(["-c", line])
        .current_dir(dir)
        .env("LOKIWRAP", lokiwrap())
        .env("ALTERNATING", ALTERNATING)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "{line}: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

fn assert_same_every_run(setup: &str, unwrapped: impl Fn() -> Vec<u8>, wrapped: impl Fn() -> Vec<u8>) {
    let expected = unwrapped();
    assert_eq!(
        expected,
        unwrapped(),
        "{setup}: the unwrapped runs differ, the test cannot tell"
    );
    let differing = (0..RUNS).filter(|_| wrapped() != expected).count();
    assert_eq!(
        differing, 0,
        "{setup}: {differing} of {RUNS} wrapped runs differ from unwrapped"
    );
}

#[test]
fn stdout_and_stderr_into_one_file_keep_the_tools_order() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert_same_every_run(
        ">f 2>&1",
        || shell(d, r#"sh -c "$ALTERNATING" >f 2>&1; cat f"#),
        || shell(d, r#""$LOKIWRAP" -- sh -c "$ALTERNATING" >f 2>&1; cat f"#),
    );
}

#[test]
fn stdout_and_stderr_into_one_pipe_keep_the_tools_order() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert_same_every_run(
        "2>&1 | cat",
        || shell(d, r#"sh -c "$ALTERNATING" 2>&1 | cat"#),
        || shell(d, r#""$LOKIWRAP" -- sh -c "$ALTERNATING" 2>&1 | cat"#),
    );
}

/// Everything the terminal receives while `program ARGS` runs with all three standard
/// descriptors on it, read from the terminal's master side.
fn through_terminal(program: &Path, args: &[&str]) -> Vec<u8> {
    let pty = common::open_terminal();
    let slave = || Stdio::from(pty.slave.as_fd().try_clone_to_owned().unwrap());
    let mut child = Command::new(program)
        .args(args)
        .stdin(slave())
        .stdout(slave())
        .stderr(slave())
        .spawn()
        .unwrap();
    drop(pty.slave);
    // Read while it runs: the terminal holds only a few KiB before the writer blocks.
    let mut master = std::fs::File::from(pty.master);
    let mut bytes = Vec::new();
    let _ = master.read_to_end(&mut bytes); // ends with EIO once every slave copy is closed
    assert!(child.wait().unwrap().success());
    bytes
}

#[test]
fn stdout_and_stderr_on_one_terminal_keep_the_tools_order() {
    assert_same_every_run(
        "one terminal",
        || through_terminal(Path::new("sh"), &["-c", ALTERNATING]),
        || through_terminal(&lokiwrap(), &["--", "sh", "-c", ALTERNATING]),
    );
}

#[test]
fn a_make_k_build_with_one_failing_step_reads_as_unwrapped() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Each step says what it runs on stdout; the failing one complains on stderr, then make
    // says on stderr which target failed, and -k goes on with the next.
    let mut makefile = String::from("all: a b c d\n");
    for (target, recipe) in [
        ("a", "@echo cc -c a.c"),
        ("b", "@echo cc -c b.c; echo 'b.c:3: error: expected ;' >&2; exit 1"),
        ("c", "@echo cc -c c.c; echo 'c.c:9: warning: unused x' >&2"),
        ("d", "@echo cc -c d.c"),
    ] {
        makefile.push_str(&format!("{target}:\n\t{recipe}\n"));
    }
    std::fs::write(d.join("Makefile"), makefile).unwrap();
    let unwrapped = shell(d, "make -k -j1 >log 2>&1; echo rc=$?; cat log");
    assert!(
        String::from_utf8_lossy(&unwrapped).contains("b.c:3: error"),
        "{}",
        String::from_utf8_lossy(&unwrapped)
    );
    for _ in 0..RUNS {
        let wrapped = shell(d, r#""$LOKIWRAP" -- make -k -j1 >log 2>&1; echo rc=$?; cat log"#);
        assert_eq!(String::from_utf8_lossy(&wrapped), String::from_utf8_lossy(&unwrapped));
    }
}

#[test]
fn separate_destinations_keep_separate_streams() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let unwrapped = shell(d, r#"sh -c "$ALTERNATING" >out 2>err; cat out; echo ==; cat err"#);
    let wrapped = shell(
        d,
        r#""$LOKIWRAP" -- sh -c "$ALTERNATING" >out 2>err; cat out; echo ==; cat err"#,
    );
    assert_eq!(wrapped, unwrapped);
    // stderr to a file, stdout into a pipe: the pipe carries stdout only.
    let unwrapped = shell(d, r#"sh -c "$ALTERNATING" 2>err | cat; echo ==; cat err"#);
    let wrapped = shell(
        d,
        r#""$LOKIWRAP" -- sh -c "$ALTERNATING" 2>err | cat; echo ==; cat err"#,
    );
    assert_eq!(wrapped, unwrapped);
}

#[test]
fn the_tool_sees_one_pipe_on_both_descriptors_when_they_share_one() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Unwrapped, fd 1 and fd 2 are one open file; wrapped, they are one pipe (not two).
    let probe = r#"[ "$(readlink /proc/$$/fd/1)" = "$(readlink /proc/$$/fd/2)" ] && echo same || echo different"#;
    std::fs::write(d.join("probe"), probe).unwrap();
    assert_eq!(shell(d, r#"sh probe >f 2>&1; cat f"#), b"same\n");
    assert_eq!(shell(d, r#""$LOKIWRAP" -- sh probe >f 2>&1; cat f"#), b"same\n");
    assert_eq!(shell(d, r#""$LOKIWRAP" -- sh probe 2>/dev/null"#), b"different\n");
}

/// The user's outbox, as `lokiwrap crash list --json` shows it.
fn reports(home: &Path) -> Vec<serde_json::Value> {
    let out = common::lokiwrap_as(home, &["crash", "list", "--json"], &[])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn a_trace_printed_on_stdout_by_a_tool_that_succeeds_makes_no_report() {
    let home = tempfile::tempdir().unwrap();
    common::write_config(home.path(), "notice_shown = true\n");
    let trace =
        "Traceback (most recent call last):\n  File \"app.py\", line 3, in main\nValueError: shown, not raised\n";
    let out = common::lokiwrap_as(home.path(), &["--", "sh", "-c", &format!("printf '{trace}' 2>&1")], &[])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(reports(home.path()).len(), 0, "a successful run made a report");
}

#[test]
fn a_crash_among_stdout_lines_on_the_shared_stream_is_still_recognised() {
    let home = tempfile::tempdir().unwrap();
    common::write_config(home.path(), "notice_shown = true\n");
    let script = "import sys\nfor i in range(50):\n    print('progress', i, flush=True)\n    print('note', i, file=sys.stderr, flush=True)\ndef load():\n    raise KeyError('k')\nload()\n";
    std::fs::write(home.path().join("app.py"), script).unwrap();
    let log = std::fs::File::create(home.path().join("log")).unwrap();
    let status = common::lokiwrap_as(home.path(), &["--", "python3", "app.py"], &[])
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(1));
    let reports = reports(home.path());
    assert_eq!(reports.len(), 1, "{reports:?}");
    let text = reports[0].to_string();
    assert!(text.contains("KeyError"), "{text}");
    assert!(text.contains("load"), "{text}");
}
