//! Signals sent by other processes: forwarded to the tool exactly once, never back to the
//! tool's own process group, and the caller's ignored signals and mask are kept.

mod common;

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use common::{counts, lokiwrap, program, wait_for_file};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// Starts `count_signals.py` under lokiwrap; returns the child and lokiwrap's pid.
fn start_counter(signals: &str, dir: &Path, own_group: bool) -> (Child, Pid) {
    let mut cmd = Command::new(lokiwrap());
    cmd.arg("--")
        .arg("python3")
        .arg(program("count_signals.py"))
        .arg(signals)
        .arg(dir);
    if own_group {
        cmd.process_group(0);
    }
    let child = common::with_default_signals(&mut cmd)
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let ready: i32 = wait_for_file(&dir.join("ready")).trim().parse().unwrap();
    assert_eq!(ready as u32, child.id(), "the tool's parent is lokiwrap");
    (child, Pid::from_raw(ready))
}

#[test]
fn each_signal_sent_to_lokiwrap_from_outside_reaches_the_tool_exactly_once() {
    // SIGTSTP has its own test: the kernel discards a pending SIGCONT when a stop signal is
    // generated (and the reverse), so the two cannot be sent in one burst to any process.
    let names = "SIGINT,SIGTERM,SIGHUP,SIGQUIT,SIGUSR1,SIGUSR2,SIGALRM,SIGWINCH,SIGCONT";
    let dir = tempfile::tempdir().unwrap();
    // lokiwrap in a process group of its own: this test is an outside sender, like a user's
    // `kill` from another terminal or a supervisor.
    let (mut child, pid) = start_counter(names, dir.path(), true);
    for name in names.split(',') {
        kill(pid, name.parse::<Signal>().unwrap()).unwrap();
    }
    let got = counts(&wait_for_file(&dir.path().join("counts")));
    for (name, n) in &got {
        assert_eq!(*n, 1, "{name} reached the tool {n} times: {got:?}");
    }
    assert_eq!(got.len(), 9);
    assert!(child.wait().unwrap().success());
}

#[test]
fn sigtstp_sent_to_lokiwrap_reaches_a_tool_that_handles_it_once() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, pid) = start_counter("SIGTSTP", dir.path(), true);
    kill(pid, Signal::SIGTSTP).unwrap();
    assert_eq!(
        counts(&wait_for_file(&dir.path().join("counts"))),
        vec![("SIGTSTP".into(), 1)]
    );
    assert!(child.wait().unwrap().success());
}

#[test]
fn kill_term_from_the_parent_reaches_the_tool_once_and_lokiwrap_ends_like_it() {
    // A script's `kill $!` or a test harness: the parent shares lokiwrap's process group.
    let dir = tempfile::tempdir().unwrap();
    let (mut child, pid) = start_counter("SIGTERM", dir.path(), false);
    kill(pid, Signal::SIGTERM).unwrap();
    assert_eq!(
        counts(&wait_for_file(&dir.path().join("counts"))),
        vec![("SIGTERM".into(), 1)]
    );
    assert!(child.wait().unwrap().success(), "the tool handled SIGTERM and exited 0");
}

#[test]
fn a_signal_the_tool_sends_to_lokiwrap_or_its_own_group_is_not_sent_back() {
    // The tool signals its parent (lokiwrap) and then its whole process group. It must see
    // exactly one SIGUSR1 (the group-wide one), not a forwarded echo of either.
    let dir = tempfile::tempdir().unwrap();
    let script = format!(
        "import os, signal, time\n\
         n = 0\n\
         def h(s, f):\n    global n; n += 1\n\
         signal.signal(signal.SIGUSR1, h)\n\
         os.kill(os.getppid(), signal.SIGUSR1)\n\
         os.killpg(0, signal.SIGUSR1)\n\
         time.sleep(1.5)\n\
         open('{}', 'w').write(str(n))\n",
        dir.path().join("n").display()
    );
    // Its own group, so the group-wide signal does not reach this test process.
    let status = Command::new(lokiwrap())
        .args(["--", "python3", "-c", &script])
        .process_group(0)
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(std::fs::read_to_string(dir.path().join("n")).unwrap(), "1");
}

/// The SigIgn and SigBlk lines of /proc/self/status as a tool sees them, started through
/// `sh -c PREFIX; exec [lokiwrap --] cat /proc/self/status`.
fn signal_state(prefix: &str, wrapped: bool) -> Vec<String> {
    let wrap = if wrapped {
        format!("'{}' -- ", lokiwrap().display())
    } else {
        String::new()
    };
    let out = Command::new("sh")
        .args(["-c", &format!("{prefix}; exec {wrap}cat /proc/self/status")])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.starts_with("SigIgn") || l.starts_with("SigBlk"))
        .map(String::from)
        .collect()
}

#[test]
fn ignored_signals_reach_the_tool_ignored_as_nohup_left_them() {
    for prefix in [
        "trap '' HUP",
        "trap '' INT QUIT PIPE TERM",
        "trap '' TSTP CHLD USR1",
        "true",
    ] {
        assert_eq!(
            signal_state(prefix, true),
            signal_state(prefix, false),
            "after `{prefix}`"
        );
    }
    let out = Command::new("nohup")
        .args([
            lokiwrap().to_str().unwrap(),
            "--",
            "grep",
            "SigIgn",
            "/proc/self/status",
        ])
        .output()
        .unwrap();
    let ignored = u64::from_str_radix(
        String::from_utf8_lossy(&out.stdout).split_whitespace().nth(1).unwrap(),
        16,
    )
    .unwrap();
    assert_ne!(ignored & (1 << (libc::SIGHUP - 1)), 0, "nohup's SIGHUP stays ignored");
}

#[test]
fn the_signal_mask_reaches_the_tool_as_the_caller_set_it() {
    let blocked = |wrapped: bool| {
        let wrap = if wrapped {
            format!("'{}', '--', ", lokiwrap().display())
        } else {
            String::new()
        };
        let script = format!(
            "import os, signal\n\
             signal.pthread_sigmask(signal.SIG_BLOCK, {{signal.SIGUSR1, signal.SIGTERM, signal.SIGWINCH}})\n\
             os.execvp('{}', [{wrap}'grep', 'SigBlk', '/proc/self/status'][0:])\n",
            if wrapped {
                lokiwrap().display().to_string()
            } else {
                "grep".into()
            }
        );
        String::from_utf8(Command::new("python3").args(["-c", &script]).output().unwrap().stdout).unwrap()
    };
    let plain = blocked(false);
    assert_ne!(plain.trim(), "SigBlk:\t0000000000000000", "the setup blocks something");
    assert_eq!(blocked(true), plain);
}

#[test]
fn the_tool_gets_no_extra_file_descriptors() {
    let fds = |wrapped: bool| {
        let wrap = if wrapped {
            format!("'{}' -- ", lokiwrap().display())
        } else {
            String::new()
        };
        // fd 5 is the caller's own and must be inherited; nothing of lokiwrap's may appear.
        let script = format!("exec 5</dev/null; exec {wrap}ls /proc/self/fd");
        let out = Command::new("sh")
            .args(["-c", &script])
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    let plain = fds(false);
    assert!(plain.contains('5'));
    assert_eq!(fds(true), plain);
}
