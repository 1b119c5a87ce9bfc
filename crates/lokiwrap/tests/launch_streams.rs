//! The tool's streams through lokiwrap: stdin and stdout untouched, stderr relayed byte for
//! byte and without delay, and no hang on a process that keeps stderr open.

mod common;

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::lokiwrap;

/// Runs `sh -c script` through lokiwrap and returns (stdout, stderr, exit code).
fn wrapped_sh(script: &str) -> (Vec<u8>, Vec<u8>, Option<i32>) {
    let out = Command::new(lokiwrap())
        .args(["--", "sh", "-c", script])
        .output()
        .unwrap();
    (out.stdout, out.stderr, out.status.code())
}

#[test]
fn a_hundred_megabytes_pass_through_cat_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    let output = dir.path().join("out");
    let mut data = Vec::with_capacity(100 << 20);
    let mut x: u32 = 1;
    while data.len() < 100 << 20 {
        // A cheap deterministic pseudo-random stream: every byte value, no repeating pattern.
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        data.extend_from_slice(&x.to_le_bytes());
    }
    std::fs::write(&input, &data).unwrap();
    let status = Command::new(lokiwrap())
        .args(["--", "cat"])
        .stdin(std::fs::File::open(&input).unwrap())
        .stdout(std::fs::File::create(&output).unwrap())
        .status()
        .unwrap();
    assert!(status.success());
    assert!(
        std::fs::read(&output).unwrap() == data,
        "cat's output differs from its input"
    );
}

#[test]
fn stdin_and_stdout_are_the_callers_own_descriptors() {
    // No pipe in between: the tool sees the very files lokiwrap was given.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("f");
    std::fs::write(&file, "x").unwrap();
    let out = Command::new(lokiwrap())
        .args([
            "--",
            "sh",
            "-c",
            "readlink /proc/self/fd/0; readlink /proc/self/fd/1 >&2",
        ])
        .stdin(std::fs::File::open(&file).unwrap())
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), file.to_str().unwrap());
    assert!(
        String::from_utf8_lossy(&out.stderr).starts_with("pipe:"),
        "stdout is the caller's pipe"
    );
}

#[test]
fn stderr_carries_every_byte_value_and_invalid_utf8_unchanged() {
    let mut expected = Vec::new();
    for _ in 0..1000 {
        expected.extend(0u8..=255);
    }
    expected.extend_from_slice(b"\xff\xfe\xc3\x28 not utf-8 \r\r\n");
    let dir = tempfile::tempdir().unwrap();
    let blob = dir.path().join("blob");
    std::fs::write(&blob, &expected).unwrap();
    let (stdout, stderr, code) = wrapped_sh(&format!("cat '{}' >&2", blob.display()));
    assert_eq!(code, Some(0));
    assert!(stdout.is_empty(), "nothing of stderr leaks to stdout");
    assert!(
        stderr == expected,
        "stderr differs: {} bytes instead of {}",
        stderr.len(),
        expected.len()
    );
}

#[test]
fn a_ten_megabyte_line_without_newline_arrives_whole() {
    let (_, stderr, code) = wrapped_sh("head -c 10485760 /dev/zero | tr '\\0' x >&2");
    assert_eq!(code, Some(0));
    assert_eq!(stderr.len(), 10 << 20);
    assert!(stderr.iter().all(|&b| b == b'x'));
}

#[test]
fn stdout_and_stderr_stay_separate() {
    let (stdout, stderr, _) = wrapped_sh("echo out1; echo err1 >&2; echo out2; echo err2 >&2");
    assert_eq!(stdout, b"out1\nout2\n");
    assert_eq!(stderr, b"err1\nerr2\n");
}

#[test]
fn a_progress_update_is_relayed_before_the_tool_writes_the_next() {
    // The tool writes "step 1\r", then waits until the test has *seen* it before writing more.
    // A relay that buffered until a newline or until exit would make this hang.
    let dir = tempfile::tempdir().unwrap();
    let go = dir.path().join("go");
    let mut child = Command::new(lokiwrap())
        .args(["--", "sh", "-c"])
        .arg(format!(
            "printf 'step 1\\r' >&2; while [ ! -e '{}' ]; do sleep 0.01; done; printf 'step 2\\r' >&2",
            go.display()
        ))
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut first = [0u8; 7];
        let result = stderr.read_exact(&mut first).map(|()| first.to_vec());
        tx.send(result.map(|first| (first, stderr))).unwrap();
    });
    let (first, mut stderr) = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("step 1 was held back")
        .unwrap();
    assert_eq!(first, b"step 1\r");
    std::fs::write(&go, "").unwrap();
    let mut rest = Vec::new();
    stderr.read_to_end(&mut rest).unwrap();
    assert_eq!(rest, b"step 2\r");
    assert!(child.wait().unwrap().success());
}

#[test]
fn a_daemon_holding_stderr_neither_hangs_lokiwrap_nor_loses_its_output() {
    // The tool starts a background process that keeps stderr open and writes to it only after
    // lokiwrap has exited; lokiwrap must return at once, and the late line must still arrive.
    let dir = tempfile::tempdir().unwrap();
    let go = dir.path().join("go");
    let mut child = Command::new(lokiwrap())
        .args(["--", "sh", "-c"])
        .arg(format!(
            "(while [ ! -e '{}' ]; do sleep 0.01; done; echo late >&2) & echo early >&2; exit 5",
            go.display()
        ))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || tx.send(child.wait()).unwrap());
    let status = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("lokiwrap waited for the daemon")
        .unwrap();
    assert_eq!(status.code(), Some(5));
    std::fs::write(&go, "").unwrap();
    let mut all = String::new();
    stderr.read_to_string(&mut all).unwrap();
    assert_eq!(all, "early\nlate\n");
}

#[test]
fn when_stderr_is_closed_by_its_reader_the_tool_gets_sigpipe_as_unwrapped() {
    // `tool 2>&1 | head -c 5`-like: the reader of lokiwrap's stderr goes away.
    let run = |wrapped: bool| {
        let script = "while :; do echo spam >&2; done";
        let mut cmd = Command::new(if wrapped { lokiwrap() } else { "sh".into() });
        if wrapped {
            cmd.args(["--", "sh"]);
        }
        let mut child = cmd.args(["-c", script]).stderr(Stdio::piped()).spawn().unwrap();
        let mut stderr = child.stderr.take().unwrap();
        let mut first = [0u8; 5];
        stderr.read_exact(&mut first).unwrap();
        drop(stderr);
        child.wait().unwrap()
    };
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(run(false).signal(), Some(libc::SIGPIPE));
    assert_eq!(run(true).signal(), Some(libc::SIGPIPE));
}

#[test]
fn writing_to_stdin_interactively_works_line_by_line() {
    // A tool that answers each line as it comes: no buffering between the caller and the tool.
    let mut child = Command::new(lokiwrap())
        .args(["--", "sh", "-c", "while read line; do echo \"got $line\"; done"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    for word in ["one", "two"] {
        writeln!(stdin, "{word}").unwrap();
        let mut answer = vec![0u8; 4 + word.len() + 1];
        stdout.read_exact(&mut answer).unwrap();
        assert_eq!(answer, format!("got {word}\n").as_bytes());
    }
    drop(stdin);
    assert!(child.wait().unwrap().success());
}
