//! What every store must do, written once and run against each backend: `tests!(backend())`
//! in a backend's test module makes one test per behaviour here. `backend()` gives `None` when
//! the backend cannot run on this machine (PostgreSQL without `LOKIWRAP_TEST_POSTGRES`).

use lokiwrap_report::payload::{Report, sample_report};

use super::{DAY, HOUR, IssueLink, Kind, Occurrence, Received, RollupKey, Store, Stored, StoredEvent, Tally};

/// One empty database of a backend, which can be opened (and opened again) as a store.
pub trait Backend {
    /// Opens the database; each call is a new store on the same data, as after a restart.
    fn open(&self) -> Box<dyn Store>;
    /// Every source as stored, read from the database itself.
    fn stored_sources(&self) -> Vec<String>;
}

/// One `#[test]` per behaviour below, each on a fresh database from `$backend`.
macro_rules! tests {
    ($backend:expr) => {
        $crate::store::conformance::tests!(@each $backend;
            a_crashs_senders_are_counted_once_each_within_and_across_batches,
            repeats_count_once_per_id_and_keep_one_job,
            a_job_stays_when_occurrences_arrive_during_its_sync,
            the_store_survives_a_reopen,
            sources_are_counted_once_each_and_kept_only_hashed,
            merged_failures_are_counted_on_the_subject_they_went_to,
            a_subject_is_found_by_its_issue_in_any_case_of_the_repository,
            a_daily_cap_holds_across_a_reopen,
            a_confirmation_counts_once_and_queues_a_sync,
            the_budget_and_the_report_ids_are_pruned_by_age,
            a_store_of_one_collector_or_the_elected_one_leads,
            events_are_rolled_up_by_hour_and_day_and_survive_a_reopen,
            the_top_subjects_are_the_busiest_seen_lately,
            a_parked_job_says_why_until_it_is_rescheduled,
            kept_events_are_listed_newest_first_and_pruned_by_age,
        );
    };
    (@each $backend:expr; $($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                if let Some(backend) = $backend {
                    $crate::store::conformance::$name(&backend);
                }
            }
        )*
    };
}
pub(crate) use tests;

fn report(error_class: &str) -> Report {
    let mut report = sample_report("npm", error_class, &["main"]);
    report.tool_version = Some("10.2.0".into());
    report.runtime = Some("node".into());
    report
}

fn received(report: &Report, at: i64) -> Received {
    Received {
        report: report.clone(),
        received_at: at,
        sync: true,
        source: format!("address:192.0.2.{}", at % 7),
    }
}

fn failure(key: &str, id: &str, at: i64) -> Occurrence {
    Occurrence {
        key: key.into(),
        kind: Kind::PluginFailure,
        repo: "acme/plugin".into(),
        details: serde_json::json!({"plugin": "acme/plugin"}),
        id: Some(id.into()),
        source: "address:192.0.2.1".into(),
        received_at: at,
        raw: None,
        window_secs: 100,
    }
}

fn link(repo: &str, number: u64) -> IssueLink {
    IssueLink {
        repo: repo.into(),
        number,
        state: "open".into(),
        state_reason: None,
        closed_at: None,
        etag: None,
    }
}

pub fn a_crashs_senders_are_counted_once_each_within_and_across_batches(backend: &dyn Backend) {
    let store = backend.open();
    let from = |sender: &str| {
        let mut item = received(&report("TypeError"), 100);
        item.report.id = lokiwrap_report::payload::new_id().unwrap();
        item.source = format!("address:{sender}");
        item
    };
    let key = report("TypeError").fingerprint;
    let sources = |store: &dyn Store| store.subject(&key).unwrap().unwrap().sources;
    store.ingest(&[from("a"), from("a"), from("b")]).unwrap();
    assert_eq!(sources(&*store), 2);
    // Known pairs may be skipped from memory; a new sender still counts.
    store.ingest(&[from("a"), from("b"), from("a")]).unwrap();
    assert_eq!(sources(&*store), 2);
    store.ingest(&[from("b"), from("c")]).unwrap();
    assert_eq!(sources(&*store), 3);
    // A reopened store has no memory of pairs, and the database still counts each once.
    drop(store);
    let store = backend.open();
    store.ingest(&[from("a"), from("c"), from("d")]).unwrap();
    assert_eq!(sources(&*store), 4);
}

pub fn repeats_count_once_per_id_and_keep_one_job(backend: &dyn Backend) {
    let store = backend.open();
    let first = report("TypeError");
    let mut second = report("TypeError");
    second.os = "macos".into();
    let outcomes = store
        .ingest(&[received(&first, 100), received(&second, 105), received(&first, 106)])
        .unwrap();
    assert_eq!(outcomes, [Stored::New, Stored::Repeat, Stored::DuplicateId]);
    let subject = store.subject(&first.fingerprint).unwrap().unwrap();
    assert_eq!((subject.count, subject.first_seen, subject.last_seen), (2, 100, 105));
    assert_eq!(subject.details["tool"], "npm");
    let tallies = store.tallies(&first.fingerprint).unwrap();
    assert!(tallies.contains(&Tally {
        dimension: "os_arch".into(),
        value: "macos/x86_64".into(),
        count: 1
    }));
    assert!(tallies.contains(&Tally {
        dimension: "tool_version".into(),
        value: "10.2.0".into(),
        count: 2
    }));
    assert_eq!(store.figures().unwrap().queue_depth, 1);
    assert_eq!(store.due_job(99).unwrap(), None);
    assert_eq!(store.due_job(100).unwrap().unwrap().key, first.fingerprint);
    // An id seen in an earlier batch counts no more, and a batch of only those is all duplicates.
    assert_eq!(store.ingest(&[received(&first, 107)]).unwrap(), [Stored::DuplicateId]);
    assert_eq!(store.subject(&first.fingerprint).unwrap().unwrap().count, 2);
}

pub fn a_job_stays_when_occurrences_arrive_during_its_sync(backend: &dyn Backend) {
    let store = backend.open();
    let crash = report("RangeError");
    store.ingest(&[received(&crash, 10)]).unwrap();
    store.ingest(&[received(&report("RangeError"), 11)]).unwrap();
    store.finish_job(&crash.fingerprint, 1, 12, 600).unwrap();
    assert_eq!(store.due_job(600).unwrap().unwrap().due_at, 600);
    store.reschedule(&crash.fingerprint, 700, 3).unwrap();
    assert_eq!(store.next_due_at().unwrap(), Some(700));
    assert_eq!(store.due_job(700).unwrap().unwrap().attempts, 3);
    store.finish_job(&crash.fingerprint, 2, 700, 1200).unwrap();
    assert_eq!(store.next_due_at().unwrap(), None);
    assert_eq!(store.subject(&crash.fingerprint).unwrap().unwrap().synced_count, 2);
    store.ingest(&[received(&report("RangeError"), 13)]).unwrap();
    store.drop_job(&crash.fingerprint).unwrap();
    assert_eq!(store.next_due_at().unwrap(), None);
}

pub fn the_store_survives_a_reopen(backend: &dyn Backend) {
    let crash = report("KeyError");
    {
        let store = backend.open();
        store.ingest(&[received(&crash, 1)]).unwrap();
        let mut link = link("acme/triage", 7);
        link.etag = Some("\"abc\"".into());
        store.link_issue(&crash.fingerprint, Some(&link)).unwrap();
        store.bump("issues_created", 1).unwrap();
        store.bump("issues_created", 2).unwrap();
        store.record_write(50).unwrap();
        store.record_creation("acme/triage", 60).unwrap();
        store.link_public(&crash.fingerprint, "acme/public", 9).unwrap();
        store.set_autofix(&crash.fingerprint, "running").unwrap();
    }
    let store = backend.open();
    let subject = store.subject(&crash.fingerprint).unwrap().unwrap();
    let issue = subject.issue.unwrap();
    assert_eq!((issue.number, issue.etag.as_deref()), (7, Some("\"abc\"")));
    assert_eq!(subject.public_issue, Some(("acme/public".into(), 9)));
    assert_eq!(store.figures().unwrap().counters["issues_created"], 3);
    assert_eq!(store.figures().unwrap().subjects, 1);
    assert_eq!(store.writes_since(0).unwrap(), (1, Some(50)));
    assert_eq!(store.writes_since(51).unwrap(), (0, None));
    assert_eq!(store.creations_since("acme/triage", 60).unwrap(), 1);
    assert_eq!(store.creations_since("acme/triage", 61).unwrap(), 0);
    store.link_issue(&crash.fingerprint, None).unwrap();
    assert_eq!(store.subject(&crash.fingerprint).unwrap().unwrap().issue, None);
    store.check().unwrap();
}

pub fn sources_are_counted_once_each_and_kept_only_hashed(backend: &dyn Backend) {
    let store = backend.open();
    let mut one = failure(&"a".repeat(64), "1", 100);
    for id in 0..5 {
        one.id = Some(format!("same-sender-{id}"));
        store.record(&one).unwrap();
    }
    let subject = store.subject(&one.key).unwrap().unwrap();
    assert_eq!((subject.count, subject.sources), (5, 1));
    for n in 0..100 {
        one.id = Some(format!("sender-{n}"));
        one.source = format!("address:198.51.100.{n}");
        store.record(&one).unwrap();
    }
    let subject = store.subject(&one.key).unwrap().unwrap();
    assert_eq!(subject.sources, crate::config::MAX_COUNTED_SOURCES);
    // Crash reports from many senders stop at the same cap, in one batch or many.
    let crash = report("CapError");
    let many: Vec<Received> = (0..100)
        .map(|n| {
            let mut item = received(&crash, 100);
            item.report.id = format!("crash-{n}");
            item.source = format!("address:203.0.113.{n}");
            item
        })
        .collect();
    store.ingest(&many[..40]).unwrap();
    store.ingest(&many[40..]).unwrap();
    assert_eq!(
        store.subject(&crash.fingerprint).unwrap().unwrap().sources,
        crate::config::MAX_COUNTED_SOURCES
    );
    drop(store);
    let stored = backend.stored_sources();
    assert_eq!(stored.len() as u64, 2 * crate::config::MAX_COUNTED_SOURCES);
    assert!(
        stored
            .iter()
            .all(|s| !s.contains("198.51") && !s.contains("192.0") && !s.contains("203.0")),
        "{stored:?}"
    );
}

pub fn merged_failures_are_counted_on_the_subject_they_went_to(backend: &dyn Backend) {
    let store = backend.open();
    assert_eq!(store.record(&failure("a", "d1", 10)).unwrap(), Stored::New);
    assert_eq!(store.record(&failure("a", "d1", 11)).unwrap(), Stored::DuplicateId);
    assert_eq!(store.record(&failure("b", "d2", 12)).unwrap(), Stored::New);
    store.link_issue("a", Some(&link("acme/plugin", 3))).unwrap();
    assert_eq!(
        store
            .newest_with_issue("acme/plugin", &[Kind::PluginFailure])
            .unwrap()
            .as_deref(),
        Some("a")
    );
    assert_eq!(store.newest_with_issue("acme/plugin", &[Kind::Crash]).unwrap(), None);
    store.merge_into("b", "a", 13).unwrap();
    store.record(&failure("b", "d3", 14)).unwrap();
    assert_eq!(store.subject("a").unwrap().unwrap().count, 3);
    assert_eq!(store.merged_keys("a").unwrap(), ["b"]);
    assert_eq!(store.due_job(100).unwrap().unwrap().key, "a");
    assert_eq!(store.subject("a").unwrap().unwrap().quiet_return, None);
    store.record(&failure("a", "d4", 500)).unwrap();
    assert_eq!(store.subject("a").unwrap().unwrap().quiet_return, Some(486));
    store.clear_quiet_return("a").unwrap();
    assert_eq!(store.subject("a").unwrap().unwrap().quiet_return, None);
    store.add_occurrences("a", 10, 5).unwrap();
    let subject = store.subject("a").unwrap().unwrap();
    assert_eq!((subject.count, subject.first_seen), (14, 5));
}

pub fn a_subject_is_found_by_its_issue_in_any_case_of_the_repository(backend: &dyn Backend) {
    let store = backend.open();
    let crash = report("TypeError");
    store.ingest(&[received(&crash, 100)]).unwrap();
    assert!(
        store.subject_by_issue("acme/triage", 7).unwrap().is_none(),
        "not filed yet"
    );
    store
        .link_issue(&crash.fingerprint, Some(&link("acme/triage", 7)))
        .unwrap();
    let found = store.subject_by_issue("Acme/Triage", 7).unwrap().unwrap();
    assert_eq!(found.key, crash.fingerprint);
    assert!(store.subject_by_issue("acme/other", 7).unwrap().is_none());
    assert!(store.subject_by_issue("acme/triage", 8).unwrap().is_none());
    assert!(store.subject_by_issue("acme/triag", 7).unwrap().is_none());
}

pub fn a_daily_cap_holds_across_a_reopen(backend: &dyn Backend) {
    {
        let store = backend.open();
        assert_eq!(store.count_daily("autofix", 20_000, 2).unwrap(), Some(1));
        assert_eq!(store.count_daily("autofix", 20_000, 2).unwrap(), Some(2));
    }
    let store = backend.open();
    assert_eq!(store.count_daily("autofix", 20_000, 2).unwrap(), None);
    assert_eq!(store.count_daily("autofix", 20_001, 2).unwrap(), Some(1));
    assert_eq!(store.count_daily("other", 20_001, 0).unwrap(), None);
}

pub fn a_confirmation_counts_once_and_queues_a_sync(backend: &dyn Backend) {
    let store = backend.open();
    let crash = report("ConfirmError");
    store.ingest(&[received(&crash, 100)]).unwrap();
    store.finish_job(&crash.fingerprint, 1, 100, 200).unwrap();
    assert_eq!(store.next_due_at().unwrap(), None);
    assert!(store.confirm(&crash.fingerprint, 300).unwrap());
    assert!(!store.confirm(&crash.fingerprint, 301).unwrap(), "already confirmed");
    assert!(store.subject(&crash.fingerprint).unwrap().unwrap().confirmed);
    assert_eq!(store.next_due_at().unwrap(), Some(300));
    assert!(!store.confirm("no-such-subject", 300).unwrap());
}

pub fn the_budget_and_the_report_ids_are_pruned_by_age(backend: &dyn Backend) {
    let store = backend.open();
    let crash = report("PruneError");
    let old = received(&crash, 100);
    store.ingest(std::slice::from_ref(&old)).unwrap();
    store.record_write(10_000).unwrap();
    store.record_write(13_000).unwrap();
    store.prune(101, 14_000).unwrap();
    assert_eq!(store.writes_since(0).unwrap(), (1, Some(13_000)));
    // The id is forgotten: the same report counts again.
    assert_eq!(store.ingest(&[old]).unwrap(), [Stored::Repeat]);
}

pub fn a_store_of_one_collector_or_the_elected_one_leads(backend: &dyn Backend) {
    let store = backend.open();
    assert!(store.lead().unwrap());
    assert!(store.lead().unwrap());
}

/// Each event counts once in its hour and once in its day, in a batch or alone, and a repeated
/// report id not at all.
pub(crate) fn events_are_rolled_up_by_hour_and_day_and_survive_a_reopen(backend: &impl Backend) {
    let store = backend.open();
    let day = 20_000 * DAY;
    let crash = report("TypeError");
    let mut friction = report("retry_loop");
    friction.friction_kind = Some("retry_loop".into());
    let batch = [
        received(&crash, day + 10),
        received(&report("TypeError"), day + 20),
        received(&crash, day + 30),
        received(&friction, day + HOUR + 5),
    ];
    store.ingest(&batch).unwrap();
    store.ingest(&[received(&report("TypeError"), day + DAY + 1)]).unwrap();
    store
        .record(&failure("cluster-a", "delivery-1", day + 2 * HOUR))
        .unwrap();
    let store = backend.open();
    let mut hours: Vec<(i64, String, String, u64)> = store
        .rollups(HOUR, day, day + DAY)
        .unwrap()
        .into_iter()
        .map(|r| (r.bucket - day, r.key.series, r.key.version, r.count))
        .collect();
    hours.sort();
    assert_eq!(
        hours,
        [
            (0, "crash".into(), "10.2.0".into(), 2),
            (HOUR, "friction:retry_loop".into(), "10.2.0".into(), 1),
            (2 * HOUR, "plugin_failure".into(), String::new(), 1),
        ]
    );
    let days = store.rollups(DAY, day, day + 2 * DAY).unwrap();
    let on = |bucket: i64, series: &str| {
        days.iter()
            .filter(|r| r.bucket == bucket && r.key.series == series)
            .map(|r| r.count)
            .sum::<u64>()
    };
    assert_eq!((on(day, "crash"), on(day + DAY, "crash")), (2, 1));
    assert!(days.iter().all(|r| r.key
        == RollupKey {
            name: r.key.name.clone(),
            ..r.key.clone()
        }));
    assert!(
        days.iter()
            .filter(|r| r.key.series == "crash")
            .all(|r| r.key.name == "npm")
    );
}

pub(crate) fn the_top_subjects_are_the_busiest_seen_lately(backend: &impl Backend) {
    let store = backend.open();
    let old = report("OldError");
    let busy = report("BusyError");
    let quiet = report("QuietError");
    let mut batch: Vec<Received> = (0..5).map(|n| received(&report("OldError"), 100 + n)).collect();
    batch[0] = received(&old, 100);
    batch.extend((0..3).map(|n| received(&report("BusyError"), 10_000 + n)));
    batch.push(received(&busy, 10_010));
    batch.push(received(&quiet, 10_020));
    store.ingest(&batch).unwrap();
    let top: Vec<(String, u64)> = store
        .top_subjects(5_000, 10)
        .unwrap()
        .into_iter()
        .map(|s| (s.key, s.count))
        .collect();
    assert_eq!(top, [(busy.fingerprint.clone(), 4), (quiet.fingerprint.clone(), 1)]);
    assert_eq!(store.top_subjects(0, 1).unwrap()[0].key, old.fingerprint);
}

pub(crate) fn a_parked_job_says_why_until_it_is_rescheduled(backend: &impl Backend) {
    let store = backend.open();
    let crash = report("TypeError");
    store.ingest(&[received(&crash, 100)]).unwrap();
    store
        .park(
            &crash.fingerprint,
            3_700,
            "the GitHub App is not installed on its repository",
        )
        .unwrap();
    let parked = store.parked_jobs().unwrap();
    assert_eq!(parked.len(), 1);
    assert_eq!(
        (parked[0].due_at, parked[0].reason.as_str()),
        (3_700, "the GitHub App is not installed on its repository")
    );
    store.reschedule(&crash.fingerprint, 3_800, 1).unwrap();
    assert!(store.parked_jobs().unwrap().is_empty());
}

pub fn kept_events_are_listed_newest_first_and_pruned_by_age(backend: &dyn Backend) {
    let store = backend.open();
    let kept = |key: &str, id: &str, at: i64| Occurrence {
        raw: Some(format!("{{\"event\":\"{id}\"}}")),
        ..failure(key, id, at)
    };
    assert_eq!(
        store.record(&kept("cluster-a", "delivery-1", 100)).unwrap(),
        Stored::New
    );
    assert_eq!(
        store.record(&kept("cluster-b", "delivery-2", 200)).unwrap(),
        Stored::New
    );
    // Not kept: without a payload, and a resent delivery.
    assert_eq!(
        store.record(&failure("cluster-a", "delivery-3", 300)).unwrap(),
        Stored::Repeat
    );
    assert_eq!(
        store.record(&kept("cluster-a", "delivery-1", 400)).unwrap(),
        Stored::DuplicateId
    );
    let store = backend.open();
    let listed = store.events(10).unwrap();
    let shown: Vec<(&str, i64, &str)> = listed
        .iter()
        .map(|e| (e.key.as_str(), e.received_at, e.payload.as_str()))
        .collect();
    assert_eq!(
        shown,
        [
            ("cluster-b", 200, "{\"event\":\"delivery-2\"}"),
            ("cluster-a", 100, "{\"event\":\"delivery-1\"}"),
        ]
    );
    assert!(listed[0].id > listed[1].id);
    assert_eq!(store.events(1).unwrap().len(), 1);
    let newest: StoredEvent = store.event(listed[0].id).unwrap().unwrap();
    assert_eq!(newest, listed[0]);
    assert_eq!(
        (newest.kind, newest.repo.as_str()),
        (Kind::PluginFailure, "acme/plugin")
    );
    assert_eq!(store.event(listed[0].id + 1000).unwrap(), None);
    store.prune(150, 10_000).unwrap();
    let left: Vec<String> = store.events(10).unwrap().into_iter().map(|e| e.key).collect();
    assert_eq!(left, ["cluster-b"]);
}
