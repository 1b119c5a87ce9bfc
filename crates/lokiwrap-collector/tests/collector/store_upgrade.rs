//! The store upgrades itself: a database written by the first collector release (its schema as
//! that release created it, copied from its source) or by any later build that predates schema
//! versions is upgraded in place at start, losing nothing; the queued GitHub jobs still run. A
//! database written by a newer collector is refused and left as it was.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::common::collector::Collector;
use crate::common::fake_github::{APP_LOGIN, FakeGithub, TEST_TOKEN};
use rusqlite::{Connection, params};

const TRIAGE: &str = "acme/triage";
const WAIT: Duration = Duration::from_secs(20);
/// The schema version today's collector records: the number of the last file under
/// `migrations/sqlite/`.
const NEWEST: i64 = 7;

/// The first release's `SCHEMA`, as `git show b661e79:src/collector/store/sqlite.rs` has it.
const FIRST_RELEASE_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS subjects (
    key TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    repo TEXT,
    details TEXT NOT NULL,
    count INTEGER NOT NULL,
    first_seen INTEGER NOT NULL,
    last_seen INTEGER NOT NULL,
    issue_repo TEXT,
    issue_number INTEGER,
    issue_state TEXT,
    issue_state_reason TEXT,
    issue_closed_at INTEGER,
    issue_etag TEXT,
    synced_count INTEGER NOT NULL DEFAULT 0,
    synced_at INTEGER
);
CREATE TABLE IF NOT EXISTS tallies (
    key TEXT NOT NULL,
    dimension TEXT NOT NULL,
    value TEXT NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (key, dimension, value)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS report_ids (
    id TEXT PRIMARY KEY,
    received_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS report_ids_by_time ON report_ids (received_at);
CREATE TABLE IF NOT EXISTS sync_jobs (
    key TEXT PRIMARY KEY,
    due_at INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS sync_jobs_by_due ON sync_jobs (due_at);
CREATE TABLE IF NOT EXISTS github_writes (at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS github_writes_by_time ON github_writes (at);
CREATE TABLE IF NOT EXISTS counters (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;
";

const FILED: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const UNFILED: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

fn marker(key: &str) -> String {
    format!("<!-- lokiwrap-fingerprint: {key} -->")
}

fn details(tool: &str, error_class: &str) -> String {
    serde_json::json!({
        "tool": tool,
        "error_class": error_class,
        "stack_signature": ["main", "run"],
        "runtime": "python",
        "friction_kind": null,
        "signal": null,
    })
    .to_string()
}

/// A first-release database in `dir`: a crash already filed as issue `issue` with 3 of its 5
/// occurrences on it, one not filed yet, their breakdowns, report ids, counters, and a queued
/// sync job for each.
fn first_release_database(dir: &Path, issue: u64) {
    let db = Connection::open(dir.join("collector.sqlite")).unwrap();
    db.execute_batch(FIRST_RELEASE_SCHEMA).unwrap();
    db.execute(
        "INSERT INTO subjects (key, kind, details, count, first_seen, last_seen, issue_repo, issue_number,
             issue_state, synced_count, synced_at)
         VALUES (?1, 'crash', ?2, 5, 1000, 2000, ?3, ?4, 'open', 3, 1500)",
        params![FILED, details("pytool", "ValueError"), TRIAGE, issue as i64],
    )
    .unwrap();
    db.execute(
        "INSERT INTO subjects (key, kind, details, count, first_seen, last_seen) VALUES (?1, 'crash', ?2, 2, 1100, 1900)",
        params![UNFILED, details("nodetool", "TypeError")],
    )
    .unwrap();
    for (key, value, count) in [(FILED, "0.1.0", 5), (UNFILED, "0.1.0", 2)] {
        db.execute(
            "INSERT INTO tallies (key, dimension, value, count) VALUES (?1, 'lokiwrap_version', ?2, ?3)",
            params![key, value, count],
        )
        .unwrap();
    }
    // Received just now: older ids are pruned at start, as they should be.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    for n in 0..7 {
        db.execute(
            "INSERT INTO report_ids (id, received_at) VALUES (?1, ?2)",
            params![format!("report-{n}"), now - n],
        )
        .unwrap();
    }
    db.execute("INSERT INTO counters (name, value) VALUES ('accepted', 7)", [])
        .unwrap();
    for key in [FILED, UNFILED] {
        db.execute("INSERT INTO sync_jobs (key, due_at, attempts) VALUES (?1, 0, 0)", [key])
            .unwrap();
    }
}

fn settings(api_url: &str) -> String {
    format!(
        "[github]\napi_url = \"{api_url}\"\ntriage_repo = \"{TRIAGE}\"\n\
         write_interval_ms = 50\nnotify_interval_ms = 100\nupdate_interval_secs = 1\nrate_limit_wait_secs = 1\n\
         request_timeout_secs = 5\nambiguous_retry_secs = 1\n"
    )
}

fn query(path: &Path, sql: &str) -> i64 {
    let db = Connection::open(path).unwrap();
    db.query_row(sql, [], |row| row.get(0)).unwrap()
}

#[test]
fn a_first_release_database_is_upgraded_and_its_queue_drains() {
    let fake = FakeGithub::start();
    let issue = fake.seed_issue(
        TRIAGE,
        "ValueError in pytool (aaaaaaaaaaaa)",
        &format!("| Occurrences | 3 |\n\n{}\n", marker(FILED)),
        &["crash-report", "lokiwrap"],
        APP_LOGIN,
    );
    let dir = tempfile::tempdir().unwrap();
    first_release_database(dir.path(), issue);

    let collector = Collector::start_in(dir, &settings(&fake.url), &[("LOKIWRAP_GITHUB_TOKEN", TEST_TOKEN)]);
    let stats = collector.wait_for_stats(WAIT, |stats| stats["github_queue_depth"] == 0);
    assert_eq!(stats["fingerprints"], 2, "{stats:#}");
    let issues = fake.issues(TRIAGE);
    let filed = issues.iter().find(|i| i.number == issue).expect("the filed issue");
    assert!(
        filed.body.as_deref().unwrap().contains("| Occurrences | 5 |"),
        "the queued update did not reach the issue: {filed:#?}"
    );
    let new: Vec<_> = issues
        .iter()
        .filter(|i| i.body.as_deref().is_some_and(|body| body.contains(&marker(UNFILED))))
        .collect();
    assert_eq!(new.len(), 1, "the queued crash was not filed once: {issues:#?}");
    assert!(new[0].body.as_deref().unwrap().contains("| Occurrences | 2 |"));

    let database = collector.database();
    let dir = collector.stop();
    let count = |sql: &str| query(&database, sql);
    assert_eq!(count("PRAGMA user_version"), NEWEST);
    assert_eq!(count(&format!("SELECT count FROM subjects WHERE key = '{FILED}'")), 5);
    assert_eq!(count(&format!("SELECT count FROM subjects WHERE key = '{UNFILED}'")), 2);
    assert_eq!(
        count(&format!("SELECT issue_number FROM subjects WHERE key = '{FILED}'")),
        issue as i64
    );
    assert_eq!(count("SELECT sum(count) FROM tallies"), 7);
    assert_eq!(count("SELECT count(*) FROM report_ids"), 7);
    assert_eq!(count("SELECT value FROM counters WHERE name = 'accepted'"), 7);
    assert_eq!(count("SELECT count(*) FROM sync_jobs"), 0);
    assert_eq!(
        count("SELECT count(*) FROM subjects WHERE confirmed = 0 AND quiet_return IS NULL"),
        2
    );
    drop(dir);
}

/// Builds after the first release added columns without recording a version: a database from
/// each of them starts (the defect was `no such column: filed_at`) and ends at the newest.
#[test]
fn databases_of_builds_without_a_recorded_version_are_upgraded() {
    let steps = [
        include_str!("../../migrations/sqlite/0001_first_release.sql"),
        include_str!("../../migrations/sqlite/0002_failures_and_repository_limits.sql"),
        include_str!("../../migrations/sqlite/0003_promotion_and_autofix.sql"),
        include_str!("../../migrations/sqlite/0004_quiet_return.sql"),
    ];
    for applied in 1..=steps.len() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("collector.sqlite");
        let db = Connection::open(&path).unwrap();
        for step in &steps[..applied] {
            db.execute_batch(step).unwrap();
        }
        db.execute(
            "INSERT INTO subjects (key, kind, details, count, first_seen, last_seen) VALUES ('k', 'crash', '{}', 4, 1, 2)",
            [],
        )
        .unwrap();
        drop(db);
        let collector = Collector::start_in(dir, "", &[]);
        let stats = collector.stats();
        assert_eq!(stats["fingerprints"], 1, "after {applied} steps: {stats:#}");
        let database = collector.database();
        let _dir = collector.stop();
        assert_eq!(query(&database, "PRAGMA user_version"), NEWEST, "after {applied} steps");
        assert_eq!(query(&database, "SELECT count FROM subjects WHERE key = 'k'"), 4);
    }
}

#[test]
fn a_database_from_a_newer_collector_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("collector.sqlite");
    let db = Connection::open(&path).unwrap();
    db.execute_batch(FIRST_RELEASE_SCHEMA).unwrap();
    db.pragma_update(None, "user_version", NEWEST + 1).unwrap();
    drop(db);
    let output = Command::new(crate::common::collector::binary())
        .args(["--listen", "127.0.0.1:0", "--database"])
        .arg(&path)
        .env_remove("LOKIWRAP_GITHUB_TOKEN")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(&format!("schema version {}", NEWEST + 1)), "{stderr}");
    assert!(stderr.contains("a newer lokiwrap-collector wrote it"), "{stderr}");
    assert!(stderr.contains("left untouched"), "{stderr}");
    assert!(!stderr.contains("permissions"), "{stderr}");
    assert_eq!(query(&path, "PRAGMA user_version"), NEWEST + 1);
    assert_eq!(
        query(
            &path,
            "SELECT count(*) FROM pragma_table_info('subjects') WHERE name = 'filed_at'"
        ),
        0
    );
}
