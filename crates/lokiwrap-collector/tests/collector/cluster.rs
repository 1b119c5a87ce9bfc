//! Several collectors on one PostgreSQL database, as an organisation runs them behind a load
//! balancer: any of them accepts any report, and the cluster files one issue per subject with
//! its GitHub writes paced as one, even when the collector making them is killed.
//!
//! Needs a PostgreSQL server: `LOKIWRAP_TEST_POSTGRES=postgres://USER:PASSWORD@127.0.0.1:5432/postgres`
//! naming a role with CREATEDB. Without it the test says so and passes, unless
//! `LOKIWRAP_REQUIRE_POSTGRES=1` (as in CI), where it fails.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::common::collector::{Collector, report};
use crate::common::fake_github::{Call, FakeGithub, Issue, TEST_TOKEN};
use lokiwrap_collector::testing::TestDatabase;
use serde_json::{Value, json};

const TRIAGE: &str = "acme/triage";
const WRITE_INTERVAL: Duration = Duration::from_millis(200);
const WAIT: Duration = Duration::from_secs(90);
/// Reports sent before the collector making the GitHub writes is killed: half of them.
const KILL_AFTER: usize = 530;
/// Issues the first writer files before it is killed, so that it dies in the middle of its
/// writes and its successor has issues left to file and to bring up to date. The kill follows
/// the fifth creation within milliseconds, so it mostly lands before the store links that
/// issue: the successor must find it by its marker rather than file it again.
const FILED_BEFORE_KILL: usize = 5;

fn config(api_url: &str) -> String {
    format!(
        "[limits]\nper_ip_per_minute = 100000\nper_project_per_minute = 100000\n\n\
         [github]\napi_url = \"{api_url}\"\ntriage_repo = \"{TRIAGE}\"\n\
         write_interval_ms = {}\nnotify_interval_ms = {}\nupdate_interval_secs = 1\nrate_limit_wait_secs = 1\n\
         request_timeout_secs = 5\nambiguous_retry_secs = 1\n",
        WRITE_INTERVAL.as_millis(),
        WRITE_INTERVAL.as_millis(),
    )
}

fn fingerprint(crash: &Value) -> String {
    crash["fingerprint"].as_str().unwrap().to_string()
}

fn again(crash: &Value) -> Value {
    let mut next = crash.clone();
    next["id"] = json!(lokiwrap_report::payload::new_id().unwrap());
    next
}

fn issues_of(issues: &[Issue], fingerprint: &str) -> Vec<Issue> {
    let marker = format!("<!-- lokiwrap-fingerprint: {fingerprint} -->");
    issues
        .iter()
        .filter(|issue| issue.body.as_deref().is_some_and(|body| body.contains(&marker)))
        .cloned()
        .collect()
}

fn occurrences(issue: &Issue) -> Option<u64> {
    issue
        .body
        .as_deref()?
        .lines()
        .find_map(|line| line.strip_prefix("| Occurrences | ")?.strip_suffix(" |")?.parse().ok())
}

/// The index of the collector that logged taking the GitHub writer lock, waiting for one.
fn leader(collectors: &[Collector]) -> usize {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let leading: Vec<usize> = (0..collectors.len())
            .filter(|&i| collectors[i].logs().contains("now makes the GitHub writes"))
            .collect();
        match leading.as_slice() {
            [one] => return *one,
            [] if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
            _ => panic!(
                "expected one collector to make the GitHub writes, found {leading:?}:\n{}",
                collectors
                    .iter()
                    .map(Collector::logs)
                    .collect::<Vec<_>>()
                    .join("\n---\n")
            ),
        }
    }
}

#[test]
fn three_collectors_file_one_paced_issue_per_crash_and_survive_a_killed_writer() {
    let Some(database) = TestDatabase::create() else {
        return;
    };
    let fake = FakeGithub::start();
    let settings = config(&fake.url);
    let env = [("LOKIWRAP_GITHUB_TOKEN", TEST_TOKEN)];
    let collectors: Vec<Collector> = (0..3)
        .map(|_| Collector::start_on(&database.url, &settings, &env))
        .collect();
    let urls: Vec<String> = collectors.iter().map(|c| c.url.clone()).collect();
    let writer = leader(&collectors);

    let popular = report("python3", "KeyError", &["lookup", "main"]);
    let others: Vec<Value> = (0..20)
        .map(|n| report("npm", &format!("Error{n}"), &["build", &format!("step{n}")]))
        .collect();
    let mut bodies: Vec<String> = (0..1000).map(|_| again(&popular).to_string()).collect();
    for other in &others {
        bodies.extend((0..3).map(|_| again(other).to_string()));
    }

    // Every report goes to the collectors in turn; one refused or cut off by the kill is sent
    // again, with the same id, to the next one that is up.
    let killed = AtomicUsize::new(usize::MAX);
    let filed_before_kill = AtomicUsize::new(0);
    let sent = AtomicUsize::new(0);
    let accepted = Mutex::new(0usize);
    let victim = Mutex::new(Some(collectors[writer].pid()));
    let creations = "/repos/acme/triage/issues";
    std::thread::scope(|scope| {
        for (thread, chunk) in bodies.chunks(bodies.len().div_ceil(12)).enumerate() {
            let (urls, killed, sent, accepted, victim) = (&urls, &killed, &sent, &accepted, &victim);
            let (fake, filed_before_kill) = (&fake, &filed_before_kill);
            scope.spawn(move || {
                let client = reqwest::blocking::Client::builder()
                    .timeout(Duration::from_secs(10))
                    .build()
                    .unwrap();
                for (n, body) in chunk.iter().enumerate() {
                    // Half-way through, once it has filed a few issues, the collector making
                    // the GitHub writes is killed.
                    if sent.fetch_add(1, Ordering::SeqCst) == KILL_AFTER
                        && let Some(pid) = victim.lock().unwrap().take()
                    {
                        assert!(
                            fake.wait_for("POST", creations, FILED_BEFORE_KILL, Duration::from_secs(30)),
                            "the first writer filed fewer than {FILED_BEFORE_KILL} issues in 30 s"
                        );
                        filed_before_kill.store(fake.count("POST", creations), Ordering::SeqCst);
                        nix::sys::signal::kill(
                            nix::unistd::Pid::from_raw(pid as i32),
                            nix::sys::signal::Signal::SIGKILL,
                        )
                        .unwrap();
                        killed.store(writer, Ordering::SeqCst);
                    }
                    let mut target = (thread + n) % urls.len();
                    let mut tries = 0;
                    loop {
                        if target != killed.load(Ordering::SeqCst) {
                            // A request cut off by the kill has no answer: it counts as not accepted.
                            let status = client
                                .post(format!("{}/v1/crash", urls[target]))
                                .header("content-type", "application/json")
                                .body(body.clone())
                                .send()
                                .map_or(0, |answer| answer.status().as_u16());
                            if status == 202 {
                                *accepted.lock().unwrap() += 1;
                                break;
                            }
                        }
                        tries += 1;
                        assert!(tries < 30, "no collector accepted a report");
                        target = (target + 1) % urls.len();
                        std::thread::sleep(Duration::from_millis(20));
                    }
                }
            });
        }
    });
    assert_eq!(*accepted.lock().unwrap(), bodies.len());
    assert_eq!(killed.load(Ordering::SeqCst), writer, "the writer was never killed");
    let filed_first = filed_before_kill.load(Ordering::SeqCst);
    assert!(
        filed_first < 21,
        "the first writer filed all 21 issues before it was killed: the take-over had nothing to file"
    );

    // One of the survivors takes over the writes and brings every issue up to date.
    let survivors: Vec<&Collector> = (0..3).filter(|&i| i != writer).map(|i| &collectors[i]).collect();
    let deadline = Instant::now() + WAIT;
    loop {
        let issues = fake.issues(TRIAGE);
        let done = issues_of(&issues, &fingerprint(&popular))
            .first()
            .is_some_and(|issue| occurrences(issue) == Some(1000))
            && others.iter().all(|other| {
                issues_of(&issues, &fingerprint(other))
                    .first()
                    .is_some_and(|issue| occurrences(issue) == Some(3))
            });
        if done {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the cluster never brought its issues up to date: {} issues\n{}",
            issues.len(),
            survivors.iter().map(|c| c.logs()).collect::<Vec<_>>().join("\n---\n")
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    let issues = fake.issues(TRIAGE);
    assert_eq!(issues.len(), 21, "one issue per crash, no duplicate: {issues:#?}");
    for crash in std::iter::once(&popular).chain(&others) {
        assert_eq!(issues_of(&issues, &fingerprint(crash)).len(), 1);
    }
    assert_eq!(fake.count("POST", creations), 21, "{filed_first} filed before the kill");
    let takeovers = survivors
        .iter()
        .filter(|c| c.logs().contains("now makes the GitHub writes"))
        .count();
    assert_eq!(takeovers, 1, "exactly one survivor took over the writes");

    // Paced as one: no two writes from the whole cluster closer than the interval.
    let journal = fake.journal();
    let writes: Vec<&Call> = journal.iter().filter(|call| call.method != "GET").collect();
    for pair in writes.windows(2) {
        let gap = pair[1].at - pair[0].at;
        assert!(
            gap >= WRITE_INTERVAL,
            "{} {} then {} {} after {gap:?}",
            pair[0].method,
            pair[0].path,
            pair[1].method,
            pair[1].path
        );
    }
    assert!(fake.problems().is_empty(), "{:#?}", fake.problems());

    // Each survivor's health is the shared store's, and its stats show the cluster's subjects,
    // queue and issues (the request counts are its own).
    for survivor in &survivors {
        let health = reqwest::blocking::get(format!("{}/healthz", survivor.url)).unwrap();
        assert_eq!(health.status(), 200, "{}", survivor.logs());
        let stats = survivor.wait_for_stats(WAIT, |stats| stats["github_queue_depth"] == 0);
        assert_eq!(stats["fingerprints"], 21, "{stats:#}");
        // Counted by both writers, in the store; an issue the first one filed as it was killed
        // is adopted by its successor rather than counted as created.
        let created = stats["issues"]["issues_created"].as_u64().unwrap();
        assert!((20..=21).contains(&created), "{stats:#}");
    }
}

/// `url` split into itself without a password, and the password.
fn without_password(url: &str) -> (String, String) {
    let (scheme, rest) = url.split_once("://").unwrap();
    let (user_info, tail) = rest.split_once('@').unwrap();
    let (user, password) = user_info.split_once(':').unwrap();
    (format!("{scheme}://{user}@{tail}"), password.to_string())
}

#[test]
fn the_password_may_come_from_pgpassword_and_a_wrong_one_is_named_but_never_shown() {
    let Some(database) = TestDatabase::create() else {
        return;
    };
    let (bare, password) = without_password(&database.url);
    let collector = Collector::start_on(&bare, "", &[("PGPASSWORD", &password)]);
    let health = reqwest::blocking::get(format!("{}/healthz", collector.url)).unwrap();
    assert_eq!(health.status(), 200, "{}", collector.logs());
    assert!(collector.logs().contains("lokiwrap-collector listening"));
    drop(collector);

    let wrong = "pg-wrong-password-x7";
    for (url, env) in [
        (bare.clone(), vec![("PGPASSWORD", wrong)]),
        (lokiwrap_collector::testing::with_password(&database.url, wrong), vec![]),
    ] {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("collector.toml"), "").unwrap();
        let output = std::process::Command::new(crate::common::collector::binary())
            .args(["--listen", "127.0.0.1:0", "--config"])
            .arg(dir.path().join("collector.toml"))
            .args(["--database", &url])
            .envs(env)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "started with a wrong password: {stderr}");
        assert!(stderr.contains("PostgreSQL refused the login"), "{stderr}");
        assert!(
            stderr.contains("PGPASSWORD"),
            "the message names where the password comes from: {stderr}"
        );
        assert!(!stderr.contains(wrong), "the password was shown: {stderr}");
    }
}
