//! Delivery against a real HTTP server on loopback: what is sent, what is kept, what is dropped,
//! and that no report is lost or counted twice when flushers overlap or die.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::http_sink::{HttpSink, Reply};
use lokiwrap::deliver::{self, Attempt, MAX_ATTEMPTS, Sent, Settings};
use lokiwrap::outbox::Outbox;
use lokiwrap::report::payload::{self, Report};
use lokiwrap::report::scrub::RULES_VERSION;

/// Tells `helper_process` what to do when the test binary runs itself as a helper.
const ROLE: &str = "LOKIWRAP_DELIVERY_TEST_ROLE";
const HELPER_DIR: &str = "LOKIWRAP_DELIVERY_TEST_DIR";
const HELPER_ENDPOINT: &str = "LOKIWRAP_DELIVERY_TEST_ENDPOINT";
const HELPER_DEBUG: &str = "LOKIWRAP_DELIVERY_TEST_DEBUG";
/// Where `helper_detached_probe` writes what it found out about its own process.
const PROBE_FILE: &str = "LOKIWRAP_DELIVERY_TEST_PROBE";
/// The probe writes only once this file exists (or after 20 s).
const PROBE_RELEASE: &str = "LOKIWRAP_DELIVERY_TEST_RELEASE";
/// Generous: a flush that meets a dead or silent collector is bounded by 3 s and 10 s timeouts.
const TIMEOUT_BOUND: Duration = Duration::from_secs(15);

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

fn report_with(captured_at: u64, frames: &[&str], rules_version: u32) -> Report {
    let frames: Vec<String> = frames.iter().map(|frame| frame.to_string()).collect();
    Report {
        schema: payload::SCHEMA,
        id: payload::new_id().unwrap(),
        captured_at: payload::rfc3339_utc(captured_at),
        os: "linux".into(),
        arch: "x86_64".into(),
        lokiwrap_version: "0.1.0".into(),
        tool: "python3".into(),
        tool_version: None,
        runtime: Some("python".into()),
        error_class: "ValueError".into(),
        fingerprint: payload::fingerprint("python3", "ValueError", &frames),
        stack_signature: frames,
        exit_code: Some(1),
        signal: None,
        friction_kind: None,
        phase: None,
        project_id_hash: None,
        rules_version,
        redactions_count: 0,
    }
}

/// Stores a fresh valid report captured a minute ago; returns its id and bytes.
fn put_report(outbox: &Outbox) -> (String, Vec<u8>) {
    let captured_at = now() - 60;
    let report = report_with(captured_at, &["helper", "main", "<module>"], RULES_VERSION);
    let bytes = report.to_bytes();
    outbox.put(&report.id, captured_at, &bytes).unwrap();
    (report.id, bytes)
}

fn settings(endpoint: &str) -> Settings {
    Settings {
        endpoint: endpoint.to_owned(),
        debug: false,
    }
}

fn flush(outbox: &Outbox, endpoint: &str, force: bool) -> Vec<Attempt> {
    deliver::flush(outbox, &settings(endpoint), force, None, &mut |_| {})
        .unwrap()
        .expect("no other flusher holds the lock")
}

fn new_outbox() -> (tempfile::TempDir, Outbox) {
    let dir = tempfile::tempdir().unwrap();
    let outbox = Outbox::new(dir.path().join("outbox"));
    (dir, outbox)
}

fn kept_reason(attempt: &Attempt) -> &str {
    match &attempt.result {
        Sent::Kept(why) => why,
        other => panic!("expected the report to be kept, got {other:?}"),
    }
}

fn dropped_reason(attempt: &Attempt) -> &str {
    match &attempt.result {
        Sent::Dropped(why) => why,
        other => panic!("expected the report to be dropped, got {other:?}"),
    }
}

/// This test binary, run as a helper process doing only `helper_process`'s `role`.
fn helper(role: &str, outbox: &Outbox, endpoint: &str) -> Command {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args(["--exact", "helper_process", "--nocapture", "--test-threads=1"])
        .env(ROLE, role)
        .env(HELPER_DIR, outbox.dir())
        .env(HELPER_ENDPOINT, endpoint);
    command
}

/// Does nothing in a normal test run. In a helper process started by a test, it plays the part
/// named by `ROLE`: `flush` runs one flush of the given outbox; `spawn` starts a detached
/// flusher (which runs `helper_detached_probe`) and checks that no child is left behind.
#[test]
fn helper_process() {
    let Ok(role) = std::env::var(ROLE) else { return };
    match role.as_str() {
        "flush" => {
            let settings = Settings {
                endpoint: std::env::var(HELPER_ENDPOINT).unwrap(),
                debug: std::env::var(HELPER_DEBUG).is_ok(),
            };
            let outbox = Outbox::new(std::env::var(HELPER_DIR).unwrap().into());
            deliver::flush(&outbox, &settings, false, None, &mut |_| {}).unwrap();
        }
        "spawn" => {
            deliver::spawn_detached_flusher(
                &std::env::current_exe().unwrap(),
                &["--exact", "helper_detached_probe", "--test-threads=1"],
            )
            .unwrap();
            // The intermediate process is reaped and the flusher is not our child: nothing is
            // left to become a zombie of ours.
            assert_eq!(
                nix::sys::wait::waitpid(None, Some(nix::sys::wait::WaitPidFlag::WNOHANG)),
                Err(nix::errno::Errno::ECHILD)
            );
        }
        other => panic!("unknown helper role {other}"),
    }
}

/// Does nothing in a normal test run. As a detached flusher started by `helper_process`, waits
/// for the test to release it, then writes down its session and where its stdio goes.
#[test]
fn helper_detached_probe() {
    let Ok(probe) = std::env::var(PROBE_FILE) else { return };
    let release = Path::new(&probe).with_file_name(PROBE_RELEASE);
    let deadline = Instant::now() + Duration::from_secs(20);
    while !release.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let null = nix::sys::stat::stat("/dev/null").unwrap();
    let is_null = |stat: nix::sys::stat::FileStat| stat.st_rdev == null.st_rdev && stat.st_ino == null.st_ino;
    let stdio_null = is_null(nix::sys::stat::fstat(std::io::stdin()).unwrap())
        && is_null(nix::sys::stat::fstat(std::io::stdout()).unwrap())
        && is_null(nix::sys::stat::fstat(std::io::stderr()).unwrap());
    let text = format!(
        "pid={} sid={} stdio_null={stdio_null}\n",
        nix::unistd::getpid(),
        nix::unistd::getsid(None).unwrap()
    );
    let temp = Path::new(&probe).with_extension("tmp");
    std::fs::write(&temp, text).unwrap();
    std::fs::rename(temp, probe).unwrap();
}

#[test]
fn delivered_reports_are_removed_and_the_collector_saw_the_stored_bytes_and_headers() {
    let (_dir, outbox) = new_outbox();
    let sink = HttpSink::start(Reply::status(202));
    let stored = [put_report(&outbox), put_report(&outbox)];
    assert!(deliver::reports_due(&outbox));

    let mut progress = Vec::new();
    let attempts = deliver::flush(&outbox, &settings(&format!("{}/", sink.url())), false, None, &mut |a| {
        progress.push(a.clone())
    })
    .unwrap()
    .unwrap();

    assert_eq!(attempts, progress, "progress reports each outcome once");
    assert_eq!(attempts.len(), 2);
    assert!(attempts.iter().all(|a| a.result == Sent::Delivered), "{attempts:?}");
    let requests = sink.requests();
    assert_eq!(requests.len(), 2);
    for (id, bytes) in &stored {
        let request = requests
            .iter()
            .find(|r| r.header("Idempotency-Key") == Some(id))
            .unwrap_or_else(|| panic!("report {id} was not sent"));
        assert_eq!(request.method, "POST");
        assert_eq!(request.path, "/v1/crash");
        assert_eq!(&request.body, bytes, "the body is the stored bytes, unchanged");
        assert_eq!(request.header("Content-Type"), Some("application/json"));
        assert_eq!(
            request.header("User-Agent"),
            Some(concat!("lokiwrap/", env!("CARGO_PKG_VERSION")))
        );
    }
    assert!(outbox.list().unwrap().is_empty());
    assert!(!deliver::reports_due(&outbox));
    assert!(
        outbox.dir().join(".delivery.json").exists(),
        "the schedule is kept next to the reports, and the outbox does not list it"
    );
}

#[test]
fn a_server_error_keeps_the_report_until_its_retry_is_due_and_force_sends_it_anyway() {
    let (_dir, outbox) = new_outbox();
    let sink = HttpSink::start(Reply::status(500));
    let (id, _) = put_report(&outbox);

    let before = now();
    let attempts = flush(&outbox, &sink.url(), false);
    assert!(kept_reason(&attempts[0]).contains("500"), "{attempts:?}");
    let retry = deliver::retry_state(&outbox, &id).unwrap();
    assert_eq!(retry.attempts, 1);
    // The first retry is a minute out, shortened by at most a fifth.
    assert!((before + 48..=now() + 60).contains(&retry.next_attempt_at), "{retry:?}");
    assert!(!deliver::reports_due(&outbox));

    let attempts = flush(&outbox, &sink.url(), false);
    assert_eq!(attempts[0].result, Sent::Skipped);
    assert_eq!(sink.requests().len(), 1, "a report is not retried before its time");

    sink.set_reply(Reply::status(202));
    let attempts = flush(&outbox, &sink.url(), true);
    assert_eq!(attempts[0].result, Sent::Delivered);
    assert_eq!(sink.requests().len(), 2);
    assert!(outbox.list().unwrap().is_empty());
    assert_eq!(deliver::retry_state(&outbox, &id), None);
}

#[test]
fn a_429_with_retry_after_seconds_holds_every_report_until_then() {
    let (_dir, outbox) = new_outbox();
    let sink = HttpSink::start(Reply::status(429).header("Retry-After", "120"));
    let (first, _) = put_report(&outbox);
    let (second, _) = put_report(&outbox);

    let before = now();
    // Forced, as `lokiwrap crash submit` does: even then the rate limit ends the flush.
    let attempts = flush(&outbox, &sink.url(), true);
    let outcome = |id: &str| attempts.iter().find(|a| a.id == id).unwrap();
    let tried = if sink.requests()[0].header("Idempotency-Key") == Some(&first) {
        first.as_str()
    } else {
        second.as_str()
    };
    let untried = if tried == first { &second } else { &first };
    assert!(
        kept_reason(outcome(tried)).contains("429 Too Many Requests, retry in 2 min"),
        "{attempts:?}"
    );
    assert!(kept_reason(outcome(untried)).contains("not tried"), "{attempts:?}");
    assert_eq!(sink.requests().len(), 1, "a rate limit stops the flush");
    assert!(deliver::retry_state(&outbox, tried).unwrap().next_attempt_at >= before + 120);
    assert_eq!(
        deliver::retry_state(&outbox, untried),
        None,
        "an untried report has no attempt"
    );
    assert!(
        !deliver::reports_due(&outbox),
        "the collector's wait holds every report"
    );

    let attempts = flush(&outbox, &sink.url(), false);
    assert!(attempts.iter().all(|a| a.result == Sent::Skipped), "{attempts:?}");
    assert_eq!(sink.requests().len(), 1);
    assert_eq!(outbox.list().unwrap().len(), 2);
}

#[test]
fn a_503_with_retry_after_as_an_http_date_is_honoured() {
    let (_dir, outbox) = new_outbox();
    let until = now() + 3600;
    let sink = HttpSink::start(Reply::status(503).header("Retry-After", &http_date(until)));
    let (id, _) = put_report(&outbox);

    let attempts = flush(&outbox, &sink.url(), false);
    assert!(kept_reason(&attempts[0]).contains("503"), "{attempts:?}");
    let retry = deliver::retry_state(&outbox, &id).unwrap();
    assert!(retry.next_attempt_at >= until, "{retry:?}, until {until}");
    assert!(!deliver::reports_due(&outbox));
}

#[test]
fn a_400_drops_the_report() {
    let (_dir, outbox) = new_outbox();
    let sink = HttpSink::start(Reply::status(400));
    let (id, _) = put_report(&outbox);

    let attempts = flush(&outbox, &sink.url(), false);
    assert!(dropped_reason(&attempts[0]).contains("400"), "{attempts:?}");
    assert_eq!(sink.requests().len(), 1);
    assert!(outbox.list().unwrap().is_empty());
    assert_eq!(deliver::retry_state(&outbox, &id), None);
}

#[test]
fn a_refused_connection_keeps_the_report_and_returns_quickly() {
    let (_dir, outbox) = new_outbox();
    let closed_port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let (id, _) = put_report(&outbox);

    let started = Instant::now();
    let attempts = flush(&outbox, &format!("http://127.0.0.1:{closed_port}"), false);
    assert!(started.elapsed() < TIMEOUT_BOUND, "took {:?}", started.elapsed());
    assert!(kept_reason(&attempts[0]).contains("cannot connect"), "{attempts:?}");
    assert_eq!(outbox.list().unwrap().len(), 1);
    assert_eq!(deliver::retry_state(&outbox, &id).unwrap().attempts, 1);
}

#[test]
fn a_collector_that_never_answers_keeps_the_report_within_the_timeout() {
    let (_dir, outbox) = new_outbox();
    let sink = HttpSink::start(Reply::never());
    let (id, _) = put_report(&outbox);

    let started = Instant::now();
    let attempts = flush(&outbox, &sink.url(), false);
    assert!(started.elapsed() < TIMEOUT_BOUND, "took {:?}", started.elapsed());
    assert!(kept_reason(&attempts[0]).contains("no answer"), "{attempts:?}");
    assert_eq!(sink.requests().len(), 1);
    assert_eq!(outbox.list().unwrap().len(), 1);
    assert_eq!(deliver::retry_state(&outbox, &id).unwrap().attempts, 1);
}

#[test]
fn invalid_reports_are_dropped_and_never_sent() {
    let (_dir, outbox) = new_outbox();
    let sink = HttpSink::start(Reply::status(202));
    let garbage_id = payload::new_id().unwrap();
    outbox
        .put(&garbage_id, now(), br#"{"schema":1,"argv":["--password","hunter2"]}"#)
        .unwrap();
    // A valid report stored under another report's id: its Idempotency-Key would lie.
    let impostor_id = payload::new_id().unwrap();
    let impostor = report_with(now(), &["main"], RULES_VERSION);
    outbox.put(&impostor_id, now(), &impostor.to_bytes()).unwrap();
    let (good, _) = put_report(&outbox);

    let attempts = flush(&outbox, &sink.url(), false);
    let outcome = |id: &str| &attempts.iter().find(|a| a.id == id).unwrap().result;
    assert!(matches!(outcome(&garbage_id), Sent::Dropped(why) if why.contains("not a valid report")));
    assert!(matches!(outcome(&impostor_id), Sent::Dropped(why) if why.contains("differs")));
    assert_eq!(outcome(&good), &Sent::Delivered);
    let requests = sink.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].header("Idempotency-Key"), Some(good.as_str()));
    assert!(outbox.list().unwrap().is_empty());
}

#[test]
fn a_report_scrubbed_with_older_rules_is_scrubbed_again_before_it_leaves() {
    let (_dir, outbox) = new_outbox();
    let sink = HttpSink::start(Reply::status(500));
    let secret = format!("ghp_{}", "Tk".repeat(18));
    let captured_at = now() - 60;
    let old = report_with(captured_at, &["main", &format!("login({secret})")], 0);
    assert!(
        Report::from_bytes(&old.to_bytes()).is_ok(),
        "the planted report is valid"
    );
    outbox.put(&old.id, captured_at, &old.to_bytes()).unwrap();

    flush(&outbox, &sink.url(), false);
    let stored = outbox.get(&old.id).unwrap().unwrap();
    let rewritten = Report::from_bytes(&stored.bytes).expect("the rewritten report is valid");
    assert_eq!(rewritten.rules_version, RULES_VERSION, "written back before sending");
    assert!(rewritten.redactions_count >= 1);
    assert_ne!(rewritten.fingerprint, old.fingerprint);

    sink.set_reply(Reply::status(202));
    let attempts = flush(&outbox, &sink.url(), true);
    assert_eq!(attempts[0].result, Sent::Delivered);
    let requests = sink.requests();
    assert_eq!(requests.len(), 2);
    for request in &requests {
        let body = String::from_utf8_lossy(&request.body);
        assert!(!body.contains(&secret), "the secret left the machine: {body}");
        assert_eq!(Report::from_bytes(&request.body).unwrap(), rewritten);
    }
}

#[test]
fn of_two_flushes_at_once_only_one_sends() {
    let (_dir, outbox) = new_outbox();
    let sink = Arc::new(HttpSink::start(Reply::status(202).after(Duration::from_secs(1))));
    let (id, _) = put_report(&outbox);

    let first = {
        let (outbox, url) = (outbox.clone(), sink.url());
        std::thread::spawn(move || deliver::flush(&outbox, &settings(&url), true, None, &mut |_| {}).unwrap())
    };
    assert!(sink.wait_for_requests(1, Duration::from_secs(10)));
    let second = deliver::flush(&outbox, &settings(&sink.url()), true, None, &mut |_| {}).unwrap();
    assert_eq!(second, None, "the second flusher returns at once");

    let first = first.join().unwrap().unwrap();
    assert_eq!(first[0].result, Sent::Delivered);
    assert_eq!(sink.requests().len(), 1);
    assert_eq!(sink.distinct_keys(), [id]);
}

#[test]
fn a_report_is_given_up_after_the_attempt_cap() {
    let (_dir, outbox) = new_outbox();
    let sink = HttpSink::start(Reply::status(500));
    let (id, _) = put_report(&outbox);

    for attempt in 1..MAX_ATTEMPTS {
        let attempts = flush(&outbox, &sink.url(), true);
        kept_reason(&attempts[0]);
        assert_eq!(deliver::retry_state(&outbox, &id).unwrap().attempts, attempt);
    }
    let attempts = flush(&outbox, &sink.url(), true);
    assert!(dropped_reason(&attempts[0]).contains("gave up"), "{attempts:?}");
    assert_eq!(sink.requests().len(), MAX_ATTEMPTS as usize);
    assert!(outbox.list().unwrap().is_empty());
    assert_eq!(deliver::retry_state(&outbox, &id), None);
}

#[test]
fn a_report_older_than_a_week_is_dropped_unsent() {
    let (_dir, outbox) = new_outbox();
    let sink = HttpSink::start(Reply::status(202));
    let captured_at = now() - 8 * 24 * 3600;
    let old = report_with(captured_at, &["main"], RULES_VERSION);
    outbox.put(&old.id, captured_at, &old.to_bytes()).unwrap();

    let attempts = flush(&outbox, &sink.url(), true);
    assert!(dropped_reason(&attempts[0]).contains("days ago"), "{attempts:?}");
    assert_eq!(sink.connections(), 0);
    assert!(outbox.list().unwrap().is_empty());
}

#[test]
fn only_the_named_report_is_sent_when_one_is_named() {
    let (_dir, outbox) = new_outbox();
    let sink = HttpSink::start(Reply::status(202));
    let (first, _) = put_report(&outbox);
    let (second, _) = put_report(&outbox);

    let attempts = deliver::flush(&outbox, &settings(&sink.url()), true, Some(&second), &mut |_| {})
        .unwrap()
        .unwrap();
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0].id, second);
    assert_eq!(sink.distinct_keys(), [second]);
    let left: Vec<String> = outbox.list().unwrap().into_iter().map(|e| e.id).collect();
    assert_eq!(left, [first]);
}

#[test]
fn an_endpoint_that_is_not_http_is_refused_before_the_outbox_is_touched() {
    let (_dir, outbox) = new_outbox();
    for endpoint in ["ftp://collector.example.com", "collector.example.com"] {
        let err = deliver::flush(&outbox, &settings(endpoint), true, None, &mut |_| {}).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
        assert!(err.to_string().contains("https://"), "{err}");
    }
    assert!(!outbox.dir().exists());
}

#[test]
fn debug_mode_prints_the_payload_and_sends_and_deletes_nothing() {
    let (_dir, outbox) = new_outbox();
    let sink = HttpSink::start(Reply::status(202));
    let (id, bytes) = put_report(&outbox);
    let garbage_id = payload::new_id().unwrap();
    outbox.put(&garbage_id, now(), b"not a report").unwrap();

    let output = helper("flush", &outbox, &sink.url())
        .env(HELPER_DEBUG, "1")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let shown = format!("lokiwrap: would send {}", String::from_utf8_lossy(&bytes));
    assert!(stderr.contains(&shown), "{stderr}");
    assert_eq!(sink.connections(), 0, "debug mode opens no connection");
    assert_eq!(
        outbox.list().unwrap().len(),
        2,
        "debug mode deletes nothing, not even an invalid report"
    );
    assert_eq!(deliver::retry_state(&outbox, &id), None);
}

#[test]
fn a_flusher_killed_mid_request_loses_nothing_and_the_collector_counts_the_report_once() {
    let (_dir, outbox) = new_outbox();
    let sink = HttpSink::start(Reply::status(202).after(Duration::from_secs(30)));
    let (id, bytes) = put_report(&outbox);

    let mut flusher = helper("flush", &outbox, &sink.url())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    assert!(
        sink.wait_for_requests(1, Duration::from_secs(20)),
        "the flusher never sent"
    );
    flusher.kill().unwrap(); // SIGKILL, while the collector has not answered yet.
    flusher.wait().unwrap();

    let kept = outbox.get(&id).unwrap().expect("the report survives its flusher");
    assert_eq!(kept.bytes, bytes);
    assert_eq!(
        deliver::retry_state(&outbox, &id).unwrap().attempts,
        1,
        "the attempt was recorded before the request left"
    );
    assert!(
        !deliver::reports_due(&outbox),
        "the dead flusher's attempt keeps its backoff"
    );

    sink.set_reply(Reply::status(202));
    let attempts = flush(&outbox, &sink.url(), false);
    assert_eq!(attempts[0].result, Sent::Skipped);
    let attempts = flush(&outbox, &sink.url(), true);
    assert_eq!(attempts[0].result, Sent::Delivered);

    assert!(outbox.list().unwrap().is_empty());
    assert_eq!(sink.requests().len(), 2, "sent twice: the first answer never arrived");
    assert_eq!(sink.distinct_keys(), [id], "the collector counts it once");
}

#[test]
fn the_detached_flusher_runs_in_its_own_session_with_null_stdio_and_no_one_waits_for_it() {
    let dir = tempfile::tempdir().unwrap();
    let probe = dir.path().join("probe");
    let release = dir.path().join(PROBE_RELEASE);
    let outbox = Outbox::new(dir.path().join("outbox"));

    let started = Instant::now();
    // Piped output: if the flusher kept lokiwrap's stdout or stderr, reading them to the end
    // would wait for the flusher, which waits for the release below.
    let output = helper("spawn", &outbox, "http://127.0.0.1:9")
        .env(PROBE_FILE, &probe)
        .output()
        .unwrap();
    let waited = started.elapsed();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stdout));
    assert!(
        waited < Duration::from_secs(10),
        "the caller waited {waited:?} for its flusher"
    );
    assert!(
        !probe.exists(),
        "the flusher was still waiting when the caller was done"
    );

    std::fs::write(&release, "").unwrap();
    let text = common::wait_for_file(&probe);
    let field = |name: &str| -> String {
        text.split_whitespace()
            .find_map(|pair| pair.strip_prefix(&format!("{name}=")))
            .unwrap()
            .to_owned()
    };
    let own_session = nix::unistd::getsid(None).unwrap().to_string();
    assert_ne!(field("sid"), own_session, "{text}");
    assert_ne!(
        field("sid"),
        field("pid"),
        "a double fork leaves the flusher outside its session's lead: {text}"
    );
    assert_eq!(field("stdio_null"), "true", "{text}");
}

/// An IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), as a collector would send in `Retry-After`.
fn http_date(unix_seconds: u64) -> String {
    const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let rfc3339 = payload::rfc3339_utc(unix_seconds);
    let (year, month, day, time) = (&rfc3339[0..4], &rfc3339[5..7], &rfc3339[8..10], &rfc3339[11..19]);
    let weekday = WEEKDAYS[(unix_seconds / 86_400 % 7) as usize];
    let month = MONTHS[month.parse::<usize>().unwrap() - 1];
    format!("{weekday}, {day} {month} {year} {time} GMT")
}
