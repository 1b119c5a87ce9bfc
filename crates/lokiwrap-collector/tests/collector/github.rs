//! The collector's GitHub issues, end to end: a real `lokiwrap-collector` receives reports over
//! loopback and its sync worker talks to the fake GitHub. Each test checks the exact calls
//! GitHub received (the journal) and what a maintainer would see there (the fake's issues).

use std::net::TcpListener;
use std::sync::Barrier;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::common::collector::{Collector, post, post_with, report};
use crate::common::fake_github::{APP_LOGIN, Call, FakeGithub, Fault, FaultKind, Issue, TEST_TOKEN};
use serde_json::{Value, json};

const TRIAGE: &str = "acme/triage";
const LABELS: [&str; 2] = ["crash-report", "lokiwrap"];
/// Longest wait for the worker to get somewhere; the tests pass in a fraction of it.
const WAIT: Duration = Duration::from_secs(20);

/// The collector's configuration against `api_url`, with small timings and `github` appended to
/// the `[github]` table (a `[github.tool_repos]` table may follow it there).
fn settings(api_url: &str, github: &str) -> String {
    format!(
        "[limits]\nper_ip_per_minute = 100000\nper_project_per_minute = 100000\n\n\
         [github]\napi_url = \"{api_url}\"\ntriage_repo = \"{TRIAGE}\"\nlabels = [\"{}\", \"{}\"]\n\
         write_interval_ms = 50\nnotify_interval_ms = 100\nupdate_interval_secs = 1\nrate_limit_wait_secs = 1\n\
         request_timeout_secs = 5\nambiguous_retry_secs = 1\n{github}",
        LABELS[0], LABELS[1]
    )
}

const TOKEN_ENV: [(&str, &str); 1] = [("LOKIWRAP_GITHUB_TOKEN", TEST_TOKEN)];

fn start(fake: &FakeGithub, github: &str) -> Collector {
    Collector::start(&settings(&fake.url, github), &TOKEN_ENV)
}

fn send(collector: &Collector, crash: &Value) {
    let (status, _, answer) = post(&collector.url, crash.to_string().as_bytes());
    assert_eq!((status, answer.as_str()), (202, "{}"));
}

/// Another occurrence of the same crash: the same fields under a new report id.
fn again(crash: &Value) -> Value {
    let mut next = crash.clone();
    next["id"] = json!(lokiwrap_report::payload::new_id().unwrap());
    next
}

fn fingerprint(crash: &Value) -> String {
    crash["fingerprint"].as_str().unwrap().to_string()
}

fn marker(fingerprint: &str) -> String {
    format!("<!-- lokiwrap-fingerprint: {fingerprint} -->")
}

/// Waits until the worker has no job left: every occurrence received is on GitHub.
fn settled(collector: &Collector) -> Value {
    collector.wait_for_stats(WAIT, |stats| stats["github_queue_depth"] == 0)
}

/// Polls `done` until it holds, or panics naming `what`.
fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !done() {
        assert!(Instant::now() < deadline, "never happened: {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The issues of `repo` whose body carries the marker of `fingerprint`.
fn issues_of(fake: &FakeGithub, repo: &str, fingerprint: &str) -> Vec<Issue> {
    let marker = marker(fingerprint);
    fake.issues(repo)
        .into_iter()
        .filter(|issue| issue.body.as_deref().is_some_and(|body| body.contains(&marker)))
        .collect()
}

/// The one issue of `repo` for `fingerprint`.
fn the_issue(fake: &FakeGithub, repo: &str, fingerprint: &str) -> Issue {
    let mut found = issues_of(fake, repo, fingerprint);
    assert_eq!(
        found.len(),
        1,
        "{repo} should hold one issue for {fingerprint}: {found:#?}"
    );
    found.remove(0)
}

/// The occurrence count an issue body shows.
fn occurrences(issue: &Issue) -> u64 {
    issue
        .body
        .as_deref()
        .unwrap_or_default()
        .lines()
        .find_map(|line| line.strip_prefix("| Occurrences | ")?.strip_suffix(" |")?.parse().ok())
        .unwrap_or_else(|| panic!("no occurrence count in {:?}", issue.body))
}

/// `METHOD /path` of each call, in order.
fn calls(journal: &[Call]) -> Vec<String> {
    journal
        .iter()
        .map(|call| format!("{} {}", call.method, call.path))
        .collect()
}

/// Writes reached GitHub at least `write_interval_ms` (50) apart, and those that notify people
/// (a new issue, a new comment) at least `notify_interval_ms` (100) apart.
fn assert_paced(journal: &[Call]) {
    let spaced = |calls: Vec<&Call>, least: Duration| {
        for pair in calls.windows(2) {
            let gap = pair[1].at - pair[0].at;
            assert!(gap >= least, "{} then {} after {gap:?}", pair[0].path, pair[1].path);
        }
    };
    let writes: Vec<&Call> = journal.iter().filter(|call| call.method != "GET").collect();
    let notifying = writes.iter().copied().filter(|call| call.method == "POST").collect();
    spaced(writes, Duration::from_millis(50));
    spaced(notifying, Duration::from_millis(100));
}

fn assert_no_problems(fake: &FakeGithub) {
    assert!(fake.problems().is_empty(), "{:#?}", fake.problems());
}

/// The issue the store links a fingerprint to, as (repository, number). GitHub may have
/// answered the create a moment before the collector commits the link: waits up to 20 s.
fn linked(collector: &Collector, fingerprint: &str) -> (String, u64) {
    let db = rusqlite::Connection::open_with_flags(collector.database(), rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let link = db
            .query_row(
                "SELECT issue_repo, issue_number FROM subjects WHERE key = ?1",
                [fingerprint],
                |row| Ok((row.get::<_, Option<String>>(0)?, row.get::<_, Option<i64>>(1)?)),
            )
            .unwrap();
        if let (Some(repo), Some(number)) = link {
            return (repo, number as u64);
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the store never linked {fingerprint} to an issue"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits for the wall clock's next whole second. The store and GitHub keep times in whole
/// seconds, and an occurrence reopens an issue only when it is later than the close.
fn next_second() {
    let since = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    std::thread::sleep(
        Duration::from_nanos(1_000_000_000 - u64::from(since.subsec_nanos())) + Duration::from_millis(5),
    );
}

/// When a journaled call arrived, on the wall clock.
fn wall_time(at: Instant) -> SystemTime {
    SystemTime::now() - at.elapsed()
}

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

#[test]
fn the_first_report_files_one_labelled_issue_with_the_marker() {
    let fake = FakeGithub::start();
    let collector = start(&fake, "");
    let crash = report("npm", "TypeError", &["parse", "main"]);
    let key = fingerprint(&crash);
    send(&collector, &crash);
    let stats = settled(&collector);
    assert_eq!(stats["issues"]["issues_created"], 1);

    let journal = fake.journal();
    // It looks for an issue of its own first, then files one.
    assert_eq!(
        calls(&journal),
        ["GET /repos/acme/triage/issues", "POST /repos/acme/triage/issues"]
    );
    let create = journal[1].body.as_ref().unwrap();
    assert_eq!(create["title"], format!("TypeError in npm ({})", &key[..12]));
    assert_eq!(create["labels"], json!(LABELS));
    assert!(create["body"].as_str().unwrap().contains(&marker(&key)), "{create:#}");
    for call in &journal {
        assert_eq!(call.headers["authorization"], format!("Bearer {TEST_TOKEN}"));
        assert_eq!(call.headers["accept"], "application/vnd.github+json");
        assert_eq!(call.headers["x-github-api-version"], "2022-11-28");
        assert!(call.headers["user-agent"].starts_with("lokiwrap-collector/"));
    }
    assert_no_problems(&fake);

    let issue = the_issue(&fake, TRIAGE, &key);
    assert_eq!((issue.state.as_str(), issue.user.as_str()), ("open", APP_LOGIN));
    assert_eq!(issue.labels, LABELS);
    assert!(issue.comments.is_empty());
    assert_eq!(occurrences(&issue), 1);
    assert_eq!(linked(&collector, &key), (TRIAGE.to_string(), issue.number));
}

#[test]
fn secrets_in_a_report_reach_no_request_to_github() {
    let fake = FakeGithub::start();
    let collector = start(&fake, "");
    // What is planted, and the part of it that must never be seen.
    let secrets = [
        (
            "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
            "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
        ),
        ("jane.doe@example.com", "jane.doe@example.com"),
        ("/home/janedoe/project/main.py", "janedoe"),
        (
            "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl",
            "eyJhbGciOiJIUzI1NiJ9",
        ),
    ];
    let mut leaks = Vec::new();
    for (secret, _) in secrets {
        let mut leaky = report("npm", "TypeError", &["run"]);
        for field in ["tool_version", "runtime", "error_class", "friction_kind", "phase"] {
            leaky[field] = json!(format!("{field} {secret}"));
        }
        leaky["stack_signature"] = json!([format!("frame {secret}"), "main"]);
        send(&collector, &leaky);
        leaks.push(leaky);
    }
    settled(&collector);
    // A repeat of each, so that updates are sent as well as new issues.
    for leaky in &leaks {
        send(&collector, &again(leaky));
    }
    settled(&collector);
    assert_eq!(fake.count("POST", "/repos/acme/triage/issues"), secrets.len());
    assert_eq!(fake.count("PATCH", "/repos/acme/triage/issues/*"), secrets.len());

    let journal = fake.journal();
    let shown = fake.issues(TRIAGE);
    for (secret, probe) in secrets {
        for call in &journal {
            let sent = call.body.as_ref().map(Value::to_string).unwrap_or_default();
            assert!(!sent.contains(probe), "{secret} was sent: {sent}");
            assert!(!call.query.contains(probe), "{secret} was sent in {}", call.query);
        }
        for issue in &shown {
            assert!(!issue.title.contains(probe), "{secret} is in {}", issue.title);
            assert!(!issue.body.as_deref().unwrap_or_default().contains(probe));
        }
    }
    assert_paced(&fake.journal());
    assert_no_problems(&fake);
}

/// POSTs every body at once from `threads` clients; each must get 202.
fn post_concurrently(url: &str, bodies: &[String], threads: usize) {
    let start = Barrier::new(threads);
    std::thread::scope(|scope| {
        for chunk in bodies.chunks(bodies.len().div_ceil(threads)) {
            let start = &start;
            scope.spawn(move || {
                let client = reqwest::blocking::Client::new();
                start.wait();
                for body in chunk {
                    let (status, _, _) =
                        post_with(&client, url, body.as_bytes(), &[("content-type", "application/json")]);
                    assert_eq!(status, 202);
                }
            });
        }
    });
}

#[test]
fn a_thousand_concurrent_reports_make_one_issue_and_few_updates() {
    let fake = FakeGithub::start();
    let collector = start(&fake, "");
    let crash = report("python3", "KeyError", &["lookup", "main"]);
    let key = fingerprint(&crash);
    let bodies: Vec<String> = (0..1000).map(|_| again(&crash).to_string()).collect();
    // The first half races the first sync; the second comes once the issue exists.
    post_concurrently(&collector.url, &bodies[..500], 20);
    assert!(fake.wait_for("POST", "/repos/acme/triage/issues", 1, WAIT));
    post_concurrently(&collector.url, &bodies[500..], 20);
    assert_eq!(collector.query_one("SELECT count FROM subjects"), 1000);

    wait_until("the issue shows 1000 occurrences", || {
        issues_of(&fake, TRIAGE, &key)
            .first()
            .is_some_and(|issue| occurrences(issue) == 1000)
    });
    settled(&collector);
    let journal = fake.journal();
    assert_eq!(fake.count("POST", "/repos/acme/triage/issues"), 1);
    assert_eq!(fake.issues(TRIAGE).len(), 1);
    assert_eq!(fake.count("POST", "/issues/*/comments"), 0);
    // Counter updates are coalesced: at most one per interval (1 s, counted in whole seconds).
    let writes: Vec<&Call> = journal.iter().filter(|call| call.method != "GET").collect();
    let span = writes.last().unwrap().at - writes[0].at;
    let updates = fake.count("PATCH", "/repos/acme/triage/issues/*");
    assert!(updates >= 1);
    assert!(
        updates as u64 <= span.as_secs() + 2,
        "{updates} updates in {span:?}: {:#?}",
        calls(&journal)
    );
    assert_paced(&fake.journal());
    assert_no_problems(&fake);
}

#[test]
fn a_repeat_updates_the_body_once_and_never_comments() {
    let fake = FakeGithub::start();
    let collector = start(&fake, "");
    let crash = report("cargo", "panic", &["build", "main"]);
    let key = fingerprint(&crash);
    send(&collector, &crash);
    settled(&collector);
    let number = the_issue(&fake, TRIAGE, &key).number;
    let before = fake.journal().len();

    send(&collector, &again(&crash));
    let stats = settled(&collector);
    let journal = fake.journal();
    let path = format!("/repos/acme/triage/issues/{number}");
    assert_eq!(
        calls(&journal[before..]),
        [format!("GET {path}"), format!("PATCH {path}")]
    );
    let update = journal.last().unwrap().body.as_ref().unwrap();
    assert_eq!(
        update.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["body"],
        "{update:#}"
    );
    let issue = the_issue(&fake, TRIAGE, &key);
    assert_eq!(occurrences(&issue), 2);
    assert_eq!(issue.state, "open");
    assert!(issue.comments.is_empty());
    assert_eq!(fake.count("POST", "/issues/*/comments"), 0);
    assert_eq!(stats["issues"]["issues_updated"], 1);
    assert_no_problems(&fake);
}

#[test]
fn a_completed_issue_that_recurs_is_reopened_once_with_one_comment() {
    let fake = FakeGithub::start();
    let collector = start(&fake, "");
    let crash = report("npm", "RangeError", &["resolve"]);
    let key = fingerprint(&crash);
    send(&collector, &crash);
    settled(&collector);
    let number = the_issue(&fake, TRIAGE, &key).number;
    fake.close_issue(TRIAGE, number, "completed");
    next_second();

    send(&collector, &again(&crash));
    let stats = settled(&collector);
    let path = format!("/repos/acme/triage/issues/{number}");
    let journal = fake.journal();
    let reopen: Vec<&Call> = journal
        .iter()
        .filter(|call| call.method == "PATCH" && call.path == path)
        .collect();
    assert_eq!(reopen.len(), 1);
    let reopen = reopen[0].body.as_ref().unwrap();
    assert_eq!(
        (&reopen["state"], &reopen["state_reason"]),
        (&json!("open"), &json!("reopened"))
    );
    let issue = the_issue(&fake, TRIAGE, &key);
    assert_eq!(
        (issue.state.as_str(), issue.state_reason.as_deref()),
        ("open", Some("reopened"))
    );
    assert_eq!(issue.comments.len(), 1);
    assert!(
        issue.comments[0].body.contains("reopened"),
        "{}",
        issue.comments[0].body
    );
    assert_eq!(occurrences(&issue), 2);
    assert_eq!(stats["issues"]["issues_reopened"], 1);

    // Again while it is open: counted, neither reopened nor commented.
    send(&collector, &again(&crash));
    let stats = settled(&collector);
    let update = fake.journal().last().unwrap().clone();
    assert_eq!((update.method.as_str(), update.path.as_str()), ("PATCH", path.as_str()));
    assert!(
        update.body.as_ref().unwrap().get("state").is_none(),
        "{:#?}",
        update.body
    );
    let issue = the_issue(&fake, TRIAGE, &key);
    assert_eq!(occurrences(&issue), 3);
    assert_eq!(issue.comments.len(), 1);
    assert_eq!(fake.count("POST", "/issues/*/comments"), 1);
    assert_eq!(stats["issues"]["issues_reopened"], 1);
    assert_paced(&fake.journal());
    assert_no_problems(&fake);
}

#[test]
fn a_not_planned_issue_is_counted_but_stays_closed_unless_configured() {
    let fake = FakeGithub::start();
    let collector = start(&fake, "");
    let crash = report("npm", "SyntaxError", &["parse"]);
    let key = fingerprint(&crash);
    send(&collector, &crash);
    settled(&collector);
    let number = the_issue(&fake, TRIAGE, &key).number;
    fake.close_issue(TRIAGE, number, "not_planned");
    next_second();
    for expected in [2, 3] {
        send(&collector, &again(&crash));
        settled(&collector);
        let issue = the_issue(&fake, TRIAGE, &key);
        assert_eq!(occurrences(&issue), expected);
        assert_eq!(
            (issue.state.as_str(), issue.state_reason.as_deref()),
            ("closed", Some("not_planned"))
        );
        assert!(issue.comments.is_empty());
    }
    for call in fake.journal().iter().filter(|call| call.method == "PATCH") {
        assert!(call.body.as_ref().unwrap().get("state").is_none(), "{:#?}", call.body);
    }
    assert_eq!(fake.count("POST", "/issues/*/comments"), 0);
    assert_no_problems(&fake);

    let reopening = FakeGithub::start();
    let collector = start(&reopening, "reopen_not_planned = true\n");
    send(&collector, &crash);
    settled(&collector);
    let number = the_issue(&reopening, TRIAGE, &key).number;
    reopening.close_issue(TRIAGE, number, "not_planned");
    next_second();
    send(&collector, &again(&crash));
    settled(&collector);
    let issue = the_issue(&reopening, TRIAGE, &key);
    assert_eq!(
        (issue.state.as_str(), issue.state_reason.as_deref()),
        ("open", Some("reopened"))
    );
    assert_eq!(issue.comments.len(), 1);
    assert_no_problems(&reopening);
}

#[test]
fn a_lost_store_finds_its_issue_again_instead_of_filing_another() {
    let fake = FakeGithub::start();
    let config = settings(&fake.url, "");
    let collector = Collector::start(&config, &TOKEN_ENV);
    let crash = report("go", "nil pointer dereference", &["handler", "main"]);
    let key = fingerprint(&crash);
    send(&collector, &crash);
    settled(&collector);
    let number = the_issue(&fake, TRIAGE, &key).number;

    let dir = collector.stop();
    for file in ["collector.sqlite", "collector.sqlite-wal", "collector.sqlite-shm"] {
        let _ = std::fs::remove_file(dir.path().join(file));
    }
    // The new store first sees the crash after the issue was filed (times are whole seconds).
    std::thread::sleep(Duration::from_millis(1100));
    let collector = Collector::start_in(dir, &config, &TOKEN_ENV);
    let before = fake.journal().len();
    send(&collector, &again(&crash));
    send(&collector, &again(&crash));
    settled(&collector);

    // It looks its issues up once, then only reads and updates the one it found (twice when
    // the second report came in after the first update).
    let journal = fake.journal();
    let path = format!("/repos/acme/triage/issues/{number}");
    let after = calls(&journal[before..]);
    assert_eq!(after[0], "GET /repos/acme/triage/issues");
    let update = [format!("GET {path}"), format!("PATCH {path}")];
    assert!(after[1..].chunks(2).all(|pair| pair == update), "{after:#?}");
    // Recovery lists its labelled issues, open and closed, rather than searching.
    let listing = &journal[before].query;
    assert!(
        listing.contains("state=all") && listing.contains("labels=crash-report"),
        "{listing}"
    );
    assert_eq!(fake.count("POST", "/repos/acme/triage/issues"), 1);
    // The count carries on from the issue's: one before the loss, two after.
    assert_eq!(occurrences(&the_issue(&fake, TRIAGE, &key)), 3);
    assert_eq!(linked(&collector, &key), (TRIAGE.to_string(), number));
    assert_no_problems(&fake);
}

#[test]
fn recovery_keeps_the_oldest_of_two_issues_with_one_marker_and_closes_the_other() {
    let fake = FakeGithub::start();
    let crash = report("go", "index out of range", &["parse", "main"]);
    let key = fingerprint(&crash);
    let body = format!("{}\n\nAn earlier filing.\n", marker(&key));
    let unrelated = fake.seed_issue(
        TRIAGE,
        "A maintainer's own issue",
        "no marker",
        &["crash-report"],
        "octocat",
    );
    let kept = fake.seed_issue(TRIAGE, "index out of range", &body, &LABELS, APP_LOGIN);
    let stray = fake.seed_issue(TRIAGE, "index out of range", &body, &LABELS, APP_LOGIN);
    let collector = start(&fake, "");
    send(&collector, &crash);
    let stats = settled(&collector);

    let kept_path = format!("/repos/acme/triage/issues/{kept}");
    let stray_path = format!("/repos/acme/triage/issues/{stray}");
    assert_eq!(
        calls(&fake.journal()),
        [
            "GET /repos/acme/triage/issues".to_string(),
            format!("PATCH {stray_path}"),
            format!("GET {kept_path}"),
            format!("PATCH {kept_path}"),
        ]
    );
    let issues = fake.issues(TRIAGE);
    let state = |number: u64| {
        let issue = issues.iter().find(|issue| issue.number == number).unwrap();
        (issue.state.clone(), issue.state_reason.clone())
    };
    assert_eq!(state(stray), ("closed".to_string(), Some("not_planned".to_string())));
    assert_eq!(state(kept), ("open".to_string(), None));
    assert_eq!(state(unrelated), ("open".to_string(), None));
    let kept_issue = issues.iter().find(|issue| issue.number == kept).unwrap();
    assert_eq!(occurrences(kept_issue), 1);
    assert_eq!(linked(&collector, &key), (TRIAGE.to_string(), kept));
    assert_eq!(stats["issues"]["duplicates_closed"], 1);
    assert_eq!(fake.count("POST", "/repos/acme/triage/issues"), 0);
    assert_paced(&fake.journal());
    assert_no_problems(&fake);
}

#[test]
fn a_create_answered_502_after_it_happened_is_looked_up_not_repeated() {
    let fake = FakeGithub::start();
    fake.inject(Fault::on(
        "POST",
        "/repos/acme/triage/issues",
        FaultKind::AfterWrite { status: 502 },
    ));
    let collector = start(&fake, "");
    let crash = report("ruby", "NoMethodError", &["call", "main"]);
    let key = fingerprint(&crash);
    send(&collector, &crash);
    assert!(fake.wait_for("PATCH", "/repos/acme/triage/issues/*", 1, WAIT));
    settled(&collector);

    let journal = fake.journal();
    assert_eq!(
        calls(&journal),
        [
            "GET /repos/acme/triage/issues",
            "POST /repos/acme/triage/issues",
            "GET /repos/acme/triage/issues",
            "GET /repos/acme/triage/issues/1",
            "PATCH /repos/acme/triage/issues/1",
        ]
    );
    assert_eq!(journal[1].status, 502);
    let issue = the_issue(&fake, TRIAGE, &key);
    assert_eq!(fake.issues(TRIAGE).len(), 1);
    assert_eq!(linked(&collector, &key), (TRIAGE.to_string(), issue.number));
    assert_no_problems(&fake);
}

#[test]
fn a_deleted_or_gone_issue_is_filed_again_and_a_moved_one_is_followed() {
    let fake = FakeGithub::start();
    let collector = start(&fake, "");
    let deleted = report("npm", "DeletedError", &["main"]);
    let gone = report("npm", "GoneError", &["main"]);
    let moved = report("npm", "MovedError", &["main"]);
    for crash in [&deleted, &gone, &moved] {
        send(&collector, crash);
    }
    settled(&collector);
    let number = |crash: &Value| the_issue(&fake, TRIAGE, &fingerprint(crash)).number;
    let (deleted_number, gone_number, moved_number) = (number(&deleted), number(&gone), number(&moved));
    fake.delete_issue(TRIAGE, deleted_number);
    fake.gone_issue(TRIAGE, gone_number);
    let elsewhere = "acme/elsewhere";
    let moved_to = fake.transfer_issue(TRIAGE, moved_number, elsewhere);

    for crash in [&deleted, &gone, &moved] {
        send(&collector, &again(crash));
    }
    let stats = settled(&collector);
    assert_eq!(stats["issues"]["issues_recreated"], 2);
    assert_eq!(fake.count("POST", "/repos/acme/triage/issues"), 5);
    for (crash, old) in [(&deleted, deleted_number), (&gone, gone_number)] {
        let key = fingerprint(crash);
        let issue = the_issue(&fake, TRIAGE, &key);
        assert_ne!(issue.number, old);
        assert_eq!(occurrences(&issue), 2);
        assert_eq!(linked(&collector, &key), (TRIAGE.to_string(), issue.number));
    }
    let statuses = |path: &str| -> Vec<u16> {
        fake.journal()
            .iter()
            .filter(|call| call.method == "GET" && call.path == path)
            .map(|call| call.status)
            .collect()
    };
    assert_eq!(statuses(&format!("/repos/acme/triage/issues/{deleted_number}")), [404]);
    assert_eq!(statuses(&format!("/repos/acme/triage/issues/{gone_number}")), [410]);

    // The moved issue is updated where it now lives; nothing is filed for it.
    let key = fingerprint(&moved);
    assert!(issues_of(&fake, TRIAGE, &key).is_empty());
    let issue = the_issue(&fake, elsewhere, &key);
    assert_eq!(issue.number, moved_to);
    assert_eq!(occurrences(&issue), 2);
    assert_eq!(linked(&collector, &key), (elsewhere.to_string(), moved_to));
    assert_eq!(fake.count("POST", "/repos/acme/elsewhere/issues"), 0);
    let old_path = format!("/repos/acme/triage/issues/{moved_number}");
    assert_eq!(statuses(&old_path), [301]);
    // The next occurrence goes straight to the new address.
    send(&collector, &again(&moved));
    settled(&collector);
    assert_eq!(statuses(&old_path), [301]);
    assert_eq!(occurrences(&the_issue(&fake, elsewhere, &key)), 3);
    assert_paced(&fake.journal());
    assert_no_problems(&fake);
}

/// The call right after the first one answered `status` to a request for `path`.
fn after_refusal<'a>(journal: &'a [Call], path: &str, status: u16) -> (&'a Call, &'a Call) {
    let at = journal
        .iter()
        .position(|call| call.path == path && call.status == status)
        .unwrap_or_else(|| panic!("no {status} for {path}: {:#?}", calls(journal)));
    (&journal[at], &journal[at + 1])
}

#[test]
fn rate_limits_stop_every_request_until_the_time_github_names() {
    let fake = FakeGithub::start();
    let collector = start(&fake, "");
    let create = "/repos/acme/triage/issues";

    // Secondary limit: 403 with retry-after.
    fake.inject(Fault::secondary_rate_limit("POST", create, 2));
    let first = report("npm", "EACCES", &["install"]);
    send(&collector, &first);
    settled(&collector);
    let journal = fake.journal();
    let (refused, next) = after_refusal(&journal, create, 403);
    assert!(
        next.at - refused.at >= Duration::from_secs(2),
        "{:?}",
        next.at - refused.at
    );
    assert_eq!((next.method.as_str(), next.status), ("POST", 201));
    the_issue(&fake, TRIAGE, &fingerprint(&first));

    // Primary limit: no retry-after, the budget spent until x-ratelimit-reset.
    let reset = unix_now() + 3;
    fake.inject(Fault::on(
        "POST",
        create,
        FaultKind::Respond {
            status: 403,
            headers: vec![
                ("x-ratelimit-limit".into(), "5000".into()),
                ("x-ratelimit-remaining".into(), "0".into()),
                ("x-ratelimit-used".into(), "5000".into()),
                ("x-ratelimit-reset".into(), reset.to_string()),
            ],
            body: json!({"message": "API rate limit exceeded for installation ID 1.", "status": "403"}).to_string(),
        },
    ));
    let second = report("npm", "ENOENT", &["install"]);
    send(&collector, &second);
    settled(&collector);
    let journal = fake.journal();
    let (limited, _) = journal
        .iter()
        .enumerate()
        .filter(|(_, call)| call.status == 403)
        .nth(1)
        .unwrap();
    let next = &journal[limited + 1];
    let resumed = wall_time(next.at).duration_since(UNIX_EPOCH).unwrap();
    assert!(
        resumed + Duration::from_millis(20) >= Duration::from_secs(reset),
        "resumed at {resumed:?}, the limit reset at {reset}"
    );
    assert_eq!(fake.issues(TRIAGE).len(), 2);
    assert_no_problems(&fake);
}

#[test]
fn a_burst_of_new_crashes_stays_within_the_hourly_budget_and_paced() {
    let fake = FakeGithub::start();
    let collector = start(&fake, "hourly_budget = 5\n");
    for i in 0..20 {
        send(&collector, &report("npm", &format!("Error{i}"), &["main"]));
    }
    wait_until("the worker waits for its hourly budget", || {
        collector.logs().contains("the hourly GitHub budget is spent")
    });
    let journal = fake.journal();
    let writes: Vec<&Call> = journal.iter().filter(|call| call.method != "GET").collect();
    assert_eq!(writes.len(), 5, "{:#?}", calls(&journal));
    assert!(
        writes
            .iter()
            .all(|call| call.method == "POST" && call.path == "/repos/acme/triage/issues")
    );
    assert_paced(&journal);
    assert_eq!(collector.stats()["github_queue_depth"], 15);

    // Ingest goes on while the worker waits, and what it takes is queued.
    for i in 20..25 {
        send(&collector, &report("npm", &format!("Error{i}"), &["main"]));
    }
    let stats = collector.stats();
    assert_eq!(
        (stats["accepted"].as_u64(), stats["fingerprints"].as_u64()),
        (Some(25), Some(25))
    );
    assert_eq!(stats["github_queue_depth"], 20);
    assert_eq!(fake.journal().iter().filter(|call| call.method != "GET").count(), 5);
    assert_no_problems(&fake);
}

#[test]
fn issue_reads_are_conditional_and_a_304_keeps_the_cached_state() {
    let fake = FakeGithub::start();
    let collector = start(&fake, "");
    let crash = report("pip", "ResolutionImpossible", &["resolve"]);
    let key = fingerprint(&crash);
    send(&collector, &crash);
    settled(&collector);
    let number = the_issue(&fake, TRIAGE, &key).number;
    let path = format!("/repos/acme/triage/issues/{number}");
    // Nobody touches the issue between two updates: what the collector wrote last is current.
    for _ in 0..2 {
        send(&collector, &again(&crash));
        settled(&collector);
    }
    // A maintainer closes it: the next read is a fresh copy, and the recurrence reopens it.
    fake.close_issue(TRIAGE, number, "completed");
    next_second();
    send(&collector, &again(&crash));
    settled(&collector);

    let journal = fake.journal();
    let reads: Vec<&Call> = journal
        .iter()
        .filter(|call| call.method == "GET" && call.path == path)
        .collect();
    for read in &reads {
        assert!(read.headers.contains_key("if-none-match"), "{read:#?}");
    }
    assert_eq!(
        reads.iter().map(|read| read.status).collect::<Vec<_>>(),
        [304, 304, 200]
    );
    // After a 304 the cached state (open) stands: the update only sets the body.
    let updates: Vec<&Value> = journal
        .iter()
        .filter(|call| call.method == "PATCH" && call.path == path)
        .map(|call| call.body.as_ref().unwrap())
        .collect();
    assert_eq!(updates.len(), 3);
    assert!(updates[..2].iter().all(|update| update.get("state").is_none()));
    assert_eq!(updates[2]["state"], "open");
    let issue = the_issue(&fake, TRIAGE, &key);
    assert_eq!((occurrences(&issue), issue.state.as_str()), (4, "open"));
    assert_no_problems(&fake);
}

#[test]
fn a_job_queued_before_a_crash_files_one_issue_after_the_restart() {
    let fake = FakeGithub::start();
    // GitHub unreachable: a port nothing listens on.
    let closed = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let crash = report("node", "TypeError", &["render", "main"]);
    let key = fingerprint(&crash);
    let collector = Collector::start(&settings(&closed, ""), &TOKEN_ENV);
    send(&collector, &crash);
    assert_eq!(collector.stats()["github_queue_depth"], 1);
    let dir = collector.kill();

    let collector = Collector::start_in(dir, &settings(&fake.url, ""), &TOKEN_ENV);
    assert!(fake.wait_for("POST", "/repos/acme/triage/issues", 1, WAIT));
    settled(&collector);
    assert_eq!(fake.count("POST", "/repos/acme/triage/issues"), 1);
    let issue = the_issue(&fake, TRIAGE, &key);
    assert_eq!(linked(&collector, &key), (TRIAGE.to_string(), issue.number));
    assert_no_problems(&fake);
}

#[test]
fn each_tool_is_filed_in_its_own_repository() {
    let fake = FakeGithub::start();
    let collector = start(&fake, "[github.tool_repos]\nnpm = \"acme/npm-telemetry\"\n");
    let npm = report("npm", "TypeError", &["install"]);
    let python = report("python3", "ValueError", &["main"]);
    send(&collector, &npm);
    send(&collector, &python);
    settled(&collector);
    assert_eq!(fake.count("POST", "/repos/acme/npm-telemetry/issues"), 1);
    assert_eq!(fake.count("POST", "/repos/acme/triage/issues"), 1);
    the_issue(&fake, "acme/npm-telemetry", &fingerprint(&npm));
    the_issue(&fake, TRIAGE, &fingerprint(&python));
    assert!(issues_of(&fake, TRIAGE, &fingerprint(&npm)).is_empty());
    assert!(issues_of(&fake, "acme/npm-telemetry", &fingerprint(&python)).is_empty());
    assert_no_problems(&fake);
}

#[test]
fn a_rate_limit_on_the_reopen_comment_is_waited_out_like_any_other() {
    let fake = FakeGithub::start();
    let collector = start(&fake, "");
    let crash = report("npm", "EPIPE", &["write"]);
    let key = fingerprint(&crash);
    send(&collector, &crash);
    settled(&collector);
    let number = the_issue(&fake, TRIAGE, &key).number;
    let comments = format!("/repos/acme/triage/issues/{number}/comments");
    fake.inject(Fault::secondary_rate_limit("POST", &comments, 2));
    fake.close_issue(TRIAGE, number, "completed");
    next_second();
    send(&collector, &again(&crash));
    // Another crash is waiting behind it: it must wait for the limit too.
    send(&collector, &report("npm", "EPERM", &["write"]));
    settled(&collector);

    let journal = fake.journal();
    let (refused, next) = after_refusal(&journal, &comments, 403);
    assert!(next.at - refused.at >= Duration::from_secs(2), "{:#?}", calls(&journal));
    let issue = the_issue(&fake, TRIAGE, &key);
    assert_eq!(issue.state, "open");
    assert_eq!(issue.comments.len(), 1);
    assert_no_problems(&fake);
}

#[test]
fn a_marker_quoted_in_a_report_cannot_claim_another_crashs_issue() {
    let fake = FakeGithub::start();
    let config = settings(&fake.url, "");
    let collector = Collector::start(&config, &TOKEN_ENV);
    let victim = report("npm", "TypeError", &["render"]);
    let victim_key = fingerprint(&victim);
    // Filed first, and its error class quotes the victim's marker.
    let quoting = report("npm", &format!("Error {}", marker(&victim_key)), &["render"]);
    send(&collector, &quoting);
    settled(&collector);
    send(&collector, &victim);
    settled(&collector);
    let quoting_issue = fake
        .issues(TRIAGE)
        .into_iter()
        .find(|issue| issue.title.starts_with("Error "))
        .expect("the quoting report's issue");
    let victim_issue = issues_of(&fake, TRIAGE, &victim_key)
        .into_iter()
        .find(|issue| issue.title.starts_with("TypeError"))
        .unwrap();

    // The store is lost, so the collector finds its issues again by their markers.
    let dir = collector.stop();
    for file in ["collector.sqlite", "collector.sqlite-wal", "collector.sqlite-shm"] {
        let _ = std::fs::remove_file(dir.path().join(file));
    }
    let collector = Collector::start_in(dir, &config, &TOKEN_ENV);
    send(&collector, &again(&victim));
    settled(&collector);
    assert_eq!(
        linked(&collector, &victim_key),
        (TRIAGE.to_string(), victim_issue.number)
    );
    for issue in fake.issues(TRIAGE) {
        assert_eq!(issue.state, "open", "#{} was closed", issue.number);
    }
    assert_eq!(
        fake.count("*", &format!("/repos/acme/triage/issues/{}", quoting_issue.number)),
        0
    );
    assert_no_problems(&fake);
}

#[test]
fn a_moved_issue_deleted_at_its_new_place_is_filed_again_once() {
    let fake = FakeGithub::start();
    let collector = start(&fake, "");
    let crash = report("npm", "ETIMEDOUT", &["fetch"]);
    let key = fingerprint(&crash);
    send(&collector, &crash);
    settled(&collector);
    let number = the_issue(&fake, TRIAGE, &key).number;
    let moved_to = fake.transfer_issue(TRIAGE, number, "acme/elsewhere");
    send(&collector, &again(&crash));
    settled(&collector);
    assert_eq!(linked(&collector, &key), ("acme/elsewhere".to_string(), moved_to));

    fake.delete_issue("acme/elsewhere", moved_to);
    send(&collector, &again(&crash));
    settled(&collector);
    let issue = the_issue(&fake, TRIAGE, &key);
    assert_eq!(occurrences(&issue), 3);
    assert_eq!(fake.count("POST", "/repos/acme/triage/issues"), 2);
    assert_eq!(linked(&collector, &key), (TRIAGE.to_string(), issue.number));
    assert_paced(&fake.journal());
    assert_no_problems(&fake);
}

#[test]
fn with_a_creator_set_a_persons_issue_quoting_the_marker_is_neither_adopted_nor_closed() {
    let fake = FakeGithub::start();
    let crash = report("go", "slice bounds out of range", &["decode", "main"]);
    let key = fingerprint(&crash);
    let quoted = format!("Is this the same as the bot's?\n\n{}\n", marker(&key));
    let persons = fake.seed_issue(TRIAGE, "slice bounds", &quoted, &LABELS, "octocat");
    let collector = start(&fake, &format!("creator = \"{APP_LOGIN}\"\n"));
    send(&collector, &crash);
    settled(&collector);
    let listing = fake.journal().into_iter().find(|c| c.method == "GET").unwrap();
    assert!(
        listing.query.contains("creator=lokiwrap-collector%5Bbot%5D"),
        "{}",
        listing.query
    );
    assert_eq!(
        fake.count("POST", "/repos/acme/triage/issues"),
        1,
        "the collector filed its own issue"
    );
    let issues = fake.issues(TRIAGE);
    let person = issues.iter().find(|i| i.number == persons).unwrap();
    assert_eq!(person.state, "open");
    assert!(person.comments.is_empty());
    assert_eq!(fake.count("PATCH", &format!("/repos/acme/triage/issues/{persons}")), 0);
}

#[test]
fn a_duplicate_filed_while_githubs_lists_lagged_is_closed_when_they_catch_up() {
    let fake = FakeGithub::start();
    // The create happens but its answer is lost, and GitHub's lists show a new issue only after
    // 6 s: the lookup 5 s later cannot see it, so a second issue is filed.
    fake.set_listing_lag(6);
    fake.inject(Fault::on(
        "POST",
        "/repos/acme/triage/issues",
        FaultKind::AfterWrite { status: 502 },
    ));
    let collector = start(&fake, "relist_secs = 1\n");
    let crash = report("go", "deadlock", &["wait", "main"]);
    let key = fingerprint(&crash);
    send(&collector, &crash);
    assert!(fake.wait_for("POST", "/repos/acme/triage/issues", 2, Duration::from_secs(30)));
    assert_eq!(issues_of(&fake, TRIAGE, &key).len(), 2);
    let (_, linked_number) = linked(&collector, &key);

    // Once both show in lists, the next new crash in the repository lists them again.
    std::thread::sleep(Duration::from_secs(7));
    send(&collector, &report("go", "stack overflow", &["recurse", "main"]));
    assert!(fake.wait_for("POST", "/repos/acme/triage/issues", 3, Duration::from_secs(30)));
    let issues = issues_of(&fake, TRIAGE, &key);
    let open: Vec<u64> = issues.iter().filter(|i| i.state == "open").map(|i| i.number).collect();
    assert_eq!(
        open,
        [linked_number],
        "the issue the store tracks stays open, the other is closed"
    );
    assert_eq!(collector.stats()["issues"]["duplicates_closed"], 1);
}
