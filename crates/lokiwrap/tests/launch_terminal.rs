//! lokiwrap in a real terminal (tmux): ^C, ^Z and fg, a stderr that is a terminal with the
//! real size, full-screen programs, and a loop the user stops with ^C.

mod common;

use std::io::Read;
use std::os::fd::AsFd;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Tmux, counts, lokiwrap, program, sh_quote, wait_for_file};

fn output_lines(screen: &str) -> Vec<&str> {
    screen.lines().map(str::trim_end).collect()
}

#[test]
fn ctrl_c_runs_the_tools_sigint_handler_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let tmux = Tmux::start();
    tmux.type_line(&format!(
        "lokiwrap -- python3 {} SIGINT {}; echo rc=$?",
        sh_quote(&program("count_signals.py")),
        sh_quote(dir.path())
    ));
    wait_for_file(&dir.path().join("ready"));
    tmux.key("C-c");
    assert_eq!(
        counts(&wait_for_file(&dir.path().join("counts"))),
        vec![("SIGINT".into(), 1)]
    );
    tmux.wait_for("rc=0");
}

#[test]
fn kill_term_from_another_terminal_runs_the_tools_handler_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let tmux = Tmux::start();
    tmux.type_line(&format!(
        "lokiwrap -- python3 {} SIGTERM {}; echo rc=$?",
        sh_quote(&program("count_signals.py")),
        sh_quote(dir.path())
    ));
    let lokiwrap_pid: i32 = wait_for_file(&dir.path().join("ready")).trim().parse().unwrap();
    // This test process is in another session: a user's `kill -TERM <pid>` elsewhere.
    let kill = Command::new("kill")
        .args(["-TERM", &lokiwrap_pid.to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    assert_eq!(
        counts(&wait_for_file(&dir.path().join("counts"))),
        vec![("SIGTERM".into(), 1)]
    );
    tmux.wait_for("rc=0");
}

#[test]
fn ctrl_c_stops_a_shell_loop_of_wrapped_commands() {
    // The shell stops a loop only if the job died of SIGINT: exiting 130 would not do.
    let tmux = Tmux::start();
    tmux.type_line(
        "for i in 1 2 3; do lokiwrap -- sh -c 'echo started-$0; sleep 5' $i; echo rc=$?; done; echo loop-finished",
    );
    tmux.wait_for("\nstarted-1");
    tmux.key("C-c");
    tmux.type_line("echo after-$((40+2))");
    let screen = tmux.wait_for("\nafter-42");
    let lines = output_lines(&screen);
    assert!(
        !lines.iter().any(|l| l.starts_with("rc=")),
        "the loop went on:\n{screen}"
    );
    assert!(!lines.contains(&"loop-finished"), "the loop went on:\n{screen}");
    assert!(!lines.contains(&"started-2"), "the loop went on:\n{screen}");
}

/// The state letters (`ps -o stat`) of every process whose command line mentions `needle`.
fn states_of(needle: &str) -> Vec<String> {
    let out = Command::new("ps").args(["-eo", "stat=,args="]).output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains(needle) && !l.contains("tmux") && !l.contains("ps -eo"))
        .map(|l| l.split_whitespace().next().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn ctrl_z_stops_the_tool_and_lokiwrap_and_fg_resumes_both_with_the_terminal() {
    let tmux = Tmux::start();
    let script = program("echo_lines.py");
    // No `; echo` after the command: bash runs the next command as soon as the job stops.
    tmux.type_line(&format!("lokiwrap -- python3 {}", sh_quote(&script)));
    tmux.wait_for("> ");
    tmux.type_line("hello");
    tmux.wait_for("got: hello");
    tmux.key("C-z");
    tmux.wait_for("Stopped");
    let needle = script.to_str().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let states = states_of(needle);
        if states.len() == 2 && states.iter().all(|s| s.starts_with('T')) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "lokiwrap and the tool are not both stopped: {states:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    tmux.type_line("fg");
    // Back in the foreground, the tool reads the terminal again.
    tmux.type_line("world");
    tmux.wait_for("got: world");
    tmux.type_line("quit");
    tmux.type_line("echo rc=$?");
    tmux.wait_for("\nrc=0");
}

#[test]
fn the_tool_sees_a_terminal_on_stderr_with_the_real_size_in_the_callers_session() {
    let dir = tempfile::tempdir().unwrap();
    let report = |name: &str| dir.path().join(name);
    let tmux = Tmux::start();
    let script = sh_quote(&program("tty_report.py"));
    tmux.type_line(&format!(
        "python3 {script} {}; lokiwrap -- python3 {script} {} 7; echo rc=$?",
        sh_quote(&report("plain")),
        sh_quote(&report("wrapped"))
    ));
    tmux.wait_for("rc=7");
    let plain: serde_json::Value = serde_json::from_str(&wait_for_file(&report("plain"))).unwrap();
    let wrapped: serde_json::Value = serde_json::from_str(&wait_for_file(&report("wrapped"))).unwrap();
    assert_eq!(wrapped["isatty"], serde_json::json!([true, true, true]));
    assert_eq!(
        wrapped["stderr_size"], wrapped["stdin_size"],
        "stderr's terminal has the real size"
    );
    assert_ne!(
        wrapped["stderr_tty"], wrapped["stdin_tty"],
        "stderr is a terminal of its own"
    );
    for field in [
        "isatty",
        "stderr_is_pipe",
        "stderr_size",
        "stdin_size",
        "stdin_tty",
        "dev_tty",
        "foreground",
        "same_session_as_parent",
    ] {
        assert_eq!(wrapped[field], plain[field], "{field} differs from the unwrapped run");
    }
    assert_eq!(
        wrapped["same_pgrp_as_parent"], true,
        "the tool is in lokiwrap's process group"
    );
    assert_eq!(wrapped["foreground"], true, "the tool's group owns the terminal");
    let screen = tmux.screen();
    assert_eq!(
        screen.matches("red on stderr").count(),
        2,
        "both runs' stderr reached the screen:\n{screen}"
    );
}

#[test]
fn stderr_redirected_away_from_the_terminal_is_a_pipe_for_the_tool() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report");
    let tmux = Tmux::start();
    tmux.type_line(&format!(
        "lokiwrap -- python3 {} {} 2>/dev/null; echo rc=$?",
        sh_quote(&program("tty_report.py")),
        sh_quote(&out)
    ));
    tmux.wait_for("rc=0");
    let report: serde_json::Value = serde_json::from_str(&wait_for_file(&out)).unwrap();
    assert_eq!(report["isatty"], serde_json::json!([true, true, false]));
    assert_eq!(report["stderr_is_pipe"], true);
}

#[test]
fn a_resize_of_the_terminal_reaches_the_tools_stderr_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("size");
    let tmux = Tmux::start();
    tmux.type_line(&format!(
        "lokiwrap -- python3 {} {}",
        sh_quote(&program("winch_report.py")),
        sh_quote(&out)
    ));
    wait_for_file(&out.with_extension("ready"));
    tmux.resize(100, 30);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let sizes: Vec<u32> = std::fs::read_to_string(&out)
            .unwrap_or_default()
            .split_whitespace()
            .filter_map(|n| n.parse().ok())
            .collect();
        if sizes.len() == 4 && sizes[1] == 100 && sizes[..2] == sizes[2..] {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "stderr's terminal never followed the resize: {sizes:?}"
        );
        std::thread::sleep(Duration::from_millis(30));
    }
    std::fs::write(out.with_extension("stop"), "").unwrap();
}

#[test]
fn a_full_screen_program_works_as_unwrapped() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("lines.txt");
    std::fs::write(&file, (1..=200).map(|n| format!("line {n}\n")).collect::<String>()).unwrap();
    let tmux = Tmux::start();
    tmux.type_line(&format!("lokiwrap -- less {}; echo rc=$?", sh_quote(&file)));
    tmux.wait_for("line 1\n");
    tmux.key("G");
    tmux.wait_for("line 200");
    tmux.key("q");
    tmux.wait_for("rc=0");
    // The terminal is back in its normal mode: typed text echoes and lines are read whole.
    tmux.type_line("echo back-$((1+1))");
    tmux.wait_for("\nback-2");
}

#[test]
fn a_pager_started_by_the_tool_reads_the_keyboard() {
    // git and man start less with the tool's stderr, and less reads keys from stderr's
    // terminal: the pager must work as it does unwrapped.
    let tmux = Tmux::start();
    tmux.type_line("lokiwrap -- sh -c 'seq 1 500 | less; echo pager-rc=$?'");
    tmux.wait_for("\n2\n3\n");
    tmux.key("G");
    tmux.wait_for("\n500");
    tmux.key("q");
    tmux.wait_for("pager-rc=0");
}

#[test]
fn an_interactive_prompt_reads_the_terminal() {
    let tmux = Tmux::start();
    tmux.type_line(&format!(
        "lokiwrap -- python3 {}; echo rc=$?",
        sh_quote(&program("echo_lines.py"))
    ));
    tmux.wait_for("> ");
    tmux.type_line("first line");
    tmux.wait_for("got: first line");
    tmux.type_line("quit");
    tmux.wait_for("rc=0");
}

#[test]
fn with_no_pseudo_terminal_left_the_tool_still_runs_and_keeps_its_status() {
    // A mount namespace where /dev/ptmx is /dev/null: opening a pseudo-terminal fails.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report");
    let tmux = Tmux::start();
    tmux.type_line(&format!(
        "unshare -m sh -c 'mount --bind /dev/null /dev/ptmx && mount --bind /dev/null /dev/pts/ptmx && exec lokiwrap -- python3 {} {} 7'; echo rc=$?",
        program("tty_report.py").display(),
        out.display()
    ));
    let screen = tmux.wait_for("rc=7");
    let warnings: Vec<&str> = screen.lines().filter(|l| l.starts_with("lokiwrap:")).collect();
    assert_eq!(warnings.len(), 1, "exactly one line of lokiwrap's own:\n{screen}");
    assert!(
        warnings[0].starts_with("lokiwrap: warning: no pseudo-terminal available"),
        "{screen}"
    );
    // Without a pseudo-terminal the tool gets the terminal itself: it runs as unwrapped, only
    // its output is not watched.
    let report: serde_json::Value = serde_json::from_str(&wait_for_file(&out)).unwrap();
    assert_eq!(report["isatty"], serde_json::json!([true, true, true]));
    assert!(screen.contains("red on stderr"), "stderr still reaches the terminal");
}

#[test]
fn stderr_bytes_reach_the_terminal_with_output_processing_applied_once() {
    // The caller's terminal turns "\n" into "\r\n" exactly once, as it would unwrapped.
    let through_terminal = |wrapped: bool| {
        let pty = common::open_terminal();
        let mut cmd = if wrapped {
            Command::new(lokiwrap())
        } else {
            Command::new("sh")
        };
        if wrapped {
            cmd.args(["--", "sh"]);
        }
        let slave = || Stdio::from(pty.slave.as_fd().try_clone_to_owned().unwrap());
        let status = cmd
            .args(["-c", r"printf 'a\nb\tc\r\n' >&2; [ -t 2 ] && echo tty >&2"])
            .stdin(slave())
            .stdout(slave())
            .stderr(slave())
            .status()
            .unwrap();
        assert!(status.success());
        // Every copy of the slave must be closed for the master to see the end.
        drop(cmd);
        drop(pty.slave);
        let mut master = std::fs::File::from(pty.master);
        let mut bytes = Vec::new();
        let _ = master.read_to_end(&mut bytes); // ends with EIO once the slave is closed
        bytes
    };
    let plain = through_terminal(false);
    assert_eq!(plain, b"a\r\nb\tc\r\r\ntty\r\n");
    assert_eq!(through_terminal(true), plain);
}

#[test]
fn single_key_mode_taken_through_stdout_applies_to_the_keyboard_at_once() {
    let tmux = Tmux::start();
    tmux.type_line("stty -a > /tmp/lokiwrap-stty-before-$$");
    tmux.type_line(&format!(
        "lokiwrap -- python3 {}; echo rc=$?",
        sh_quote(&program("keys_after_raw_stdout.py"))
    ));
    tmux.wait_for("\nready");
    // No Enter, and typed at once: the real terminal must already be in single-key mode.
    tmux.key("x");
    let screen = tmux.wait_for("rc=0");
    let lines = output_lines(&screen);
    let ready = lines.iter().position(|l| *l == "ready").unwrap();
    assert_eq!(
        lines[ready + 1],
        "got x",
        "the key was echoed or waited for Enter:\n{screen}"
    );
    // The terminal is as it was before.
    tmux.type_line("stty -a | cmp - /tmp/lokiwrap-stty-before-$$ && echo same-modes; rm /tmp/lokiwrap-stty-before-$$");
    tmux.wait_for("\nsame-modes");
}

#[test]
fn ctrl_z_in_an_interactive_shell_run_by_lokiwrap_gives_a_prompt_and_fg_continues() {
    // bash -i under lokiwrap has no job control of its own (its stderr is lokiwrap's
    // pseudo-terminal, not its controlling terminal), so its commands share lokiwrap's process
    // group: ^Z stops the whole job, and the user's shell prompts.
    let tmux = Tmux::start();
    tmux.type_line("lokiwrap -- bash --norc -i");
    tmux.type_line("echo inner-$((1+1))");
    tmux.wait_for("\ninner-2");
    tmux.type_line("sleep 50");
    std::thread::sleep(Duration::from_millis(300));
    tmux.key("C-z");
    tmux.wait_for("Stopped");
    tmux.type_line("echo outer-$((2+2))");
    tmux.wait_for("\nouter-4");
    tmux.type_line("fg");
    std::thread::sleep(Duration::from_millis(300));
    tmux.key("C-c");
    tmux.type_line("echo inner-$((3+3))");
    tmux.wait_for("\ninner-6");
    tmux.type_line("exit");
    tmux.type_line("echo rc=$?");
    tmux.wait_for("\nrc=0");
}

#[test]
fn with_only_stderr_on_the_terminal_the_tool_gets_the_terminal_itself() {
    // stdout in a pipe, stderr on the terminal: no order is at stake, and a pseudo-terminal on
    // stderr would fail tcgetpgrp(2) (pv would think it runs in the background).
    let dir = tempfile::tempdir().unwrap();
    let report = |name: &str| dir.path().join(name);
    let tmux = Tmux::start();
    let script = sh_quote(&program("tty_report.py"));
    tmux.type_line(&format!(
        "python3 {script} {} | cat; lokiwrap -- python3 {script} {} | cat; echo done",
        sh_quote(&report("plain")),
        sh_quote(&report("wrapped"))
    ));
    tmux.wait_for("\ndone");
    let mut plain: serde_json::Value = serde_json::from_str(&wait_for_file(&report("plain"))).unwrap();
    let mut wrapped: serde_json::Value = serde_json::from_str(&wait_for_file(&report("wrapped"))).unwrap();
    assert_eq!(wrapped["isatty"], serde_json::json!([true, false, true]));
    // The parent differs by design: the tool's parent is lokiwrap, in the job's process group.
    for report in [&mut plain, &mut wrapped] {
        report.as_object_mut().unwrap().remove("same_pgrp_as_parent");
    }
    assert_eq!(wrapped, plain, "the tool can tell it is wrapped");
}
