//! Exit status through lokiwrap: every code exactly, and death by a signal reproduced as
//! death by the same signal.

mod common;

use std::os::unix::process::ExitStatusExt;
use std::process::Command;

use common::lokiwrap;

#[test]
fn every_exit_code_from_0_to_255_comes_back_exactly() {
    // One shell runs all 256 cases, so the test costs one process per case, not two.
    let script = format!(
        r#"for n in $(seq 0 255); do "{}" -- sh -c "exit $n"; echo "$n $?"; done"#,
        lokiwrap().display()
    );
    let out = Command::new("sh").args(["-c", &script]).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 256);
    for line in lines {
        let (sent, got) = line.split_once(' ').unwrap();
        assert_eq!(sent, got, "exit {sent} came back as {got}");
    }
}

#[test]
fn a_child_killed_by_a_signal_kills_lokiwrap_with_the_same_signal() {
    for signal in ["SEGV", "ABRT", "TERM", "KILL", "INT", "HUP", "PIPE", "USR1"] {
        let status = Command::new(lokiwrap())
            .args(["--", "sh", "-c", &format!("kill -{signal} $$")])
            .current_dir(std::env::temp_dir())
            .status()
            .unwrap();
        let expected: nix::sys::signal::Signal = format!("SIG{signal}").parse().unwrap();
        assert_eq!(status.signal(), Some(expected as i32), "SIG{signal}: got {status:?}");
        assert!(
            !status.core_dumped(),
            "lokiwrap itself must not dump core for SIG{signal}"
        );
    }
}

#[test]
fn a_crashing_child_with_core_dumps_on_leaves_no_core_of_lokiwrap() {
    let dir = tempfile::tempdir().unwrap();
    let status = Command::new("sh")
        .args([
            "-c",
            &format!(
                r#"ulimit -c unlimited; exec "{}" -- sh -c 'kill -SEGV $$'"#,
                lokiwrap().display()
            ),
        ])
        .current_dir(dir.path())
        .status()
        .unwrap();
    assert_eq!(status.signal(), Some(libc::SIGSEGV));
    assert!(!status.core_dumped());
}

#[test]
fn the_shell_sees_the_same_status_as_without_lokiwrap() {
    let script = format!(
        r#"sh -c 'kill -TERM $$'; a=$?; "{}" -- sh -c 'kill -TERM $$'; b=$?; echo "$a $b""#,
        lokiwrap().display()
    );
    let out = Command::new("bash").args(["-c", &script]).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "143 143\n");
}
