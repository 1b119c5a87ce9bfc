//! Delivery as a user meets it, through the real binary and a real HTTP server on loopback:
//! the opt-out means no connection at all, the first run sends nothing, a dead collector
//! never slows the tool, and every report arrives exactly once.

mod common;

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::http_sink::{HttpSink, Reply};

struct User {
    home: tempfile::TempDir,
}

impl User {
    /// A user who has seen the first-run notice, sending to `endpoint`.
    fn new(endpoint: &str) -> User {
        let user = User {
            home: tempfile::tempdir().unwrap(),
        };
        user.write_config(&format!("notice_shown = true\nendpoint = \"{endpoint}\"\n"));
        user
    }

    fn write_config(&self, text: &str) {
        common::write_config(self.home.path(), text);
    }

    fn outbox(&self) -> PathBuf {
        self.home.path().join(".local/state/lokiwrap/outbox")
    }

    /// The outbox's files and retry state, for failure messages.
    fn describe(&self) -> String {
        let names: Vec<String> = std::fs::read_dir(self.outbox())
            .map(|d| {
                d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        let state = std::fs::read_to_string(self.outbox().join(".delivery.json")).unwrap_or_default();
        format!("outbox {names:?}, retry state {state}")
    }

    /// Report files in the outbox (dotfiles are the outbox's own bookkeeping).
    fn report_files(&self) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.outbox())
            .map(|dir| dir.map(|e| e.unwrap().path()).collect())
            .unwrap_or_default();
        files.retain(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.ends_with(".json") && !name.starts_with('.')
        });
        files.sort();
        files
    }

    fn pending(&self) -> usize {
        self.report_files().len()
    }

    fn command(&self, args: &[&str], env: &[(&str, &str)]) -> Command {
        common::lokiwrap_as(self.home.path(), args, env)
    }

    fn run(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        self.command(args, env).output().unwrap()
    }

    fn crash(&self, env: &[(&str, &str)]) -> Output {
        self.run(&["--", "sh", "-c", "kill -SEGV $$"], env)
    }

    /// Background flushers started for this user (found by their environment).
    fn flushers(&self) -> Vec<i32> {
        let marker = self.home.path().to_str().unwrap().as_bytes().to_vec();
        let mut pids = Vec::new();
        for entry in std::fs::read_dir("/proc").unwrap().flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
                continue;
            };
            let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
            let environ = std::fs::read(entry.path().join("environ")).unwrap_or_default();
            let flusher = cmdline
                .split(|&b| b == 0)
                .next()
                .is_some_and(|argv0| argv0.ends_with(b"lokiwrap-flush"));
            if flusher && environ.windows(marker.len()).any(|w| w == marker) {
                pids.push(pid);
            }
        }
        pids
    }
}

/// Waits up to `limit` for `done`.
fn eventually(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    done()
}

#[test]
fn with_each_opt_out_the_collector_sees_no_connection_and_no_flusher_starts() {
    let switches: [(&str, &str); 4] = [
        ("DO_NOT_TRACK", "1"),
        ("LOKIWRAP_TELEMETRY", "off"),
        ("LOKI_TELEMETRY", "off"),
        ("LOKI_TELEMETRY_DISABLED", "true"),
    ];
    let sink = HttpSink::start(Reply::status(202));
    for switch in switches {
        let user = User::new(&sink.url());
        user.crash(&[switch]);
        user.run(&["--", "true"], &[switch]);
        assert!(user.flushers().is_empty(), "{switch:?} started a flusher");
        assert_eq!(user.pending(), 1, "{switch:?}: the report still waits in the outbox");
    }
    let user = User::new(&sink.url());
    user.write_config(&format!(
        "notice_shown = true\nendpoint = \"{}\"\ntelemetry = \"off\"\n",
        sink.url()
    ));
    user.crash(&[]);
    user.run(&["--", "true"], &[]);
    assert!(user.flushers().is_empty(), "telemetry = off started a flusher");
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(sink.connections(), 0, "an opted-out run connected to the collector");

    // The same setup without a switch does reach the collector: the zero above means something.
    let allowed = User::new(&sink.url());
    allowed.crash(&[]);
    assert!(
        sink.wait_for_requests(1, Duration::from_secs(20)),
        "nothing arrived without an opt-out"
    );
    assert!(eventually(Duration::from_secs(10), || allowed.pending() == 0));
}

#[test]
fn the_run_that_shows_the_notice_sends_nothing_and_the_next_one_does() {
    let sink = HttpSink::start(Reply::status(202));
    let user = User::new(&sink.url());
    user.write_config(&format!("endpoint = \"{}\"\n", sink.url()));
    // The notice is shown only on a terminal.
    let mut first = user.command(&["--", "sh", "-c", "kill -SEGV $$"], &[]);
    first.stdout(Stdio::null());
    let (_, terminal) = common::run_on_terminal(&mut first);
    assert!(String::from_utf8_lossy(&terminal).contains("a note on crash reports, shown once"));
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(sink.connections(), 0, "the first run sent something");
    assert!(user.flushers().is_empty());
    user.run(&["--", "true"], &[]);
    assert!(sink.wait_for_requests(1, Duration::from_secs(20)));
    assert!(
        eventually(Duration::from_secs(10), || user.pending() == 0),
        "{}",
        user.describe()
    );
    let request = &sink.requests()[0];
    assert_eq!(request.path, "/v1/crash");
    let report: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
    assert_eq!(report["error_class"], "SIGSEGV");
    assert_eq!(request.header("Idempotency-Key"), report["id"].as_str());
}

#[test]
fn before_the_notice_was_shown_nothing_is_sent_until_telemetry_on() {
    let sink = HttpSink::start(Reply::status(202));
    let user = User::new(&sink.url());
    user.write_config(&format!("endpoint = \"{}\"\n", sink.url()));
    // stderr into a pipe, as in CI: nobody was told, so nothing may leave.
    let crashed = user.crash(&[]);
    assert!(
        crashed.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&crashed.stderr)
    );
    user.run(&["--", "true"], &[]);
    assert!(user.flushers().is_empty(), "a flusher started before the notice");
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(sink.connections(), 0, "a report left before the notice was shown");
    assert_eq!(user.pending(), 1, "the report waits in the outbox");
    // A flusher started by hand obeys the same rule.
    let mut flusher = Command::new(env!("CARGO_BIN_EXE_lokiwrap-flush"));
    let flush = common::as_user(&mut flusher, user.home.path()).status().unwrap();
    assert!(flush.success());
    assert_eq!(sink.connections(), 0, "lokiwrap-flush sent before the notice was shown");

    let on = user.run(&["telemetry", "on"], &[]);
    assert!(on.status.success(), "{}", String::from_utf8_lossy(&on.stderr));
    user.run(&["--", "true"], &[]);
    assert!(
        sink.wait_for_requests(1, Duration::from_secs(20)),
        "nothing was sent after telemetry on: {}",
        user.describe()
    );
    assert!(
        eventually(Duration::from_secs(10), || user.pending() == 0),
        "{}",
        user.describe()
    );
    let report: serde_json::Value = serde_json::from_slice(&sink.requests()[0].body).unwrap();
    assert_eq!(report["error_class"], "SIGSEGV");
}

#[test]
fn a_collector_that_hangs_or_refuses_does_not_slow_the_tool() {
    let hanging = HttpSink::start(Reply::never());
    let refused = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        drop(listener);
        url
    };
    for endpoint in [hanging.url(), refused] {
        let user = User::new(&endpoint);
        user.crash(&[]);
        let started = Instant::now();
        let out = user.run(&["--", "false"], &[]);
        let took = started.elapsed();
        assert_eq!(out.status.code(), Some(1));
        // With no endpoint this takes a few milliseconds; the bound only has to catch waiting
        // on the network (the client's timeouts are several seconds).
        assert!(
            took < Duration::from_secs(2),
            "{endpoint}: lokiwrap -- false took {took:?}"
        );
    }
}

#[test]
fn twenty_processes_crashing_at_once_deliver_every_report_exactly_once() {
    let sink = HttpSink::start(Reply::status(202));
    let user = User::new(&sink.url());
    let children: Vec<_> = (0..20)
        .map(|_| {
            user.command(&["--", "sh", "-c", "kill -SEGV $$"], &[])
                .stderr(Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut child in children {
        child.wait().unwrap();
    }
    assert!(
        eventually(Duration::from_secs(30), || sink.distinct_keys().len() == 20),
        "{} of 20 reports arrived",
        sink.distinct_keys().len()
    );
    assert!(eventually(Duration::from_secs(10), || user.pending() == 0));
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(sink.requests().len(), 20, "a report was sent twice");
}

#[test]
fn a_flusher_killed_mid_send_loses_nothing_and_nothing_counts_twice() {
    let sink = HttpSink::start(Reply::status(202).after(Duration::from_secs(5)));
    let user = User::new(&sink.url());
    user.crash(&[]);
    user.run(&["--", "true"], &[]);
    assert!(sink.wait_for_requests(1, Duration::from_secs(20)), "no send started");
    let flushers = user.flushers();
    assert!(!flushers.is_empty(), "the flusher is not running");
    for &pid in &flushers {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
    }
    // kill() only queues the signal; the lock is released when the process is really gone.
    let gone = |pid: &i32| {
        !std::path::Path::new(&format!("/proc/{pid}/cmdline")).exists()
            || std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| s.contains(") Z "))
    };
    assert!(
        eventually(Duration::from_secs(10), || flushers.iter().all(gone)),
        "the flusher outlived SIGKILL"
    );
    assert_eq!(user.pending(), 1, "the report was lost with the flusher");
    sink.set_reply(Reply::status(202));
    let out = user.run(&["crash", "submit"], &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(user.pending(), 0);
    assert_eq!(sink.distinct_keys().len(), 1, "the collector counts the report once");
}

#[test]
fn crash_submit_sends_now_with_one_line_per_report() {
    let sink = HttpSink::start(Reply::status(202));
    let user = User::new(&sink.url());
    // Reports made while telemetry was off wait in the outbox until the user sends them.
    user.crash(&[("DO_NOT_TRACK", "1")]);
    user.crash(&[("DO_NOT_TRACK", "1")]);
    let stored: Vec<Vec<u8>> = user.report_files().iter().map(|p| std::fs::read(p).unwrap()).collect();
    assert_eq!(stored.len(), 2);
    let out = user.run(&["crash", "submit"], &[]);
    assert!(out.status.success());
    let lines: Vec<String> = String::from_utf8_lossy(&out.stderr).lines().map(String::from).collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(lines.iter().all(|l| l.ends_with(" sent")), "{lines:?}");
    let mut bodies: Vec<Vec<u8>> = sink.requests().into_iter().map(|r| r.body).collect();
    bodies.sort();
    let mut expected = stored;
    expected.sort();
    assert_eq!(bodies, expected, "the collector got exactly the stored bytes");
}

#[test]
fn telemetry_debug_shows_the_payload_and_sends_nothing() {
    let sink = HttpSink::start(Reply::status(202));
    let user = User::new(&sink.url());
    let out = user.crash(&[("LOKIWRAP_TELEMETRY_DEBUG", "1")]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("would send") && stderr.contains("\"error_class\":\"SIGSEGV\""),
        "{stderr}"
    );
    std::thread::sleep(Duration::from_millis(1000));
    assert_eq!(sink.connections(), 0);
    assert_eq!(user.pending(), 1);
}

#[test]
fn a_configuration_file_that_cannot_be_parsed_sends_nothing() {
    // It might have said telemetry = "off": lokiwrap cannot tell, so it sends nothing.
    let sink = HttpSink::start(Reply::status(202));
    let user = User::new(&sink.url());
    user.write_config("notice_shown = true\ntelemetry = \"off\"\ncapture = [\n");
    let out = user.crash(&[("LOKIWRAP_ENDPOINT", &sink.url())]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("nothing is sent until it is fixed: line 3"), "{stderr}");
    assert!(
        !stderr.contains("a note on crash reports"),
        "the notice is not repeated: {stderr}"
    );
    user.run(&["--", "true"], &[("LOKIWRAP_ENDPOINT", &sink.url())]);
    assert!(user.flushers().is_empty());
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(sink.connections(), 0);
    let status = user.run(&["telemetry", "status", "--json"], &[]);
    assert!(String::from_utf8_lossy(&status.stdout).starts_with("{\"enabled\":false,\"decided_by\":\"config\""));
}
