//! A marker quoted by someone else must not stand for the collector's own. Reported text can
//! quote any marker, and anyone can open an issue that does: neither may take over another
//! subject's issue, its de-duplication after a lost store, or its promotion to the public
//! repository.

use std::time::Duration;

use crate::common::collector::{Collector, post, report};
use crate::common::fake_github::{APP_LOGIN, FakeGithub, TEST_TOKEN};
use lokiwrap_collector::hotfix::webhook::sign;
use serde_json::{Value, json};

const SECRET: &str = "webhook-secret-for-tests";
const TRIAGE: &str = "acme/triage";
const PLUGIN: &str = "acme/plugin";
const PUBLIC: &str = "acme/public";
const WAIT: Duration = Duration::from_secs(20);

fn config(fake: &FakeGithub) -> String {
    format!(
        "[github]\napi_url = \"{}\"\ntriage_repo = \"{TRIAGE}\"\ncreator = \"{APP_LOGIN}\"\n\
         write_interval_ms = 20\nnotify_interval_ms = 20\nupdate_interval_secs = 1\n\
         [hotfix]\nenabled = true\nallow_unsigned_events = true\ntarget_repos = [\"acme\"]\n\
         [promotion]\npublic_repo = \"{PUBLIC}\"\n",
        fake.url
    )
}

fn start_in(dir: tempfile::TempDir, fake: &FakeGithub) -> Collector {
    Collector::start_in(
        dir,
        &config(fake),
        &[
            ("LOKIWRAP_GITHUB_TOKEN", TEST_TOKEN),
            ("LOKIWRAP_WEBHOOK_SECRET", SECRET),
        ],
    )
}

fn fingerprint_marker(key: &str) -> String {
    format!("<!-- lokiwrap-fingerprint: {key} -->")
}

/// A plugin failure in `PLUGIN` whose message quotes `quoted`.
fn quoting_event(quoted: &str, delivery: &str) -> Value {
    json!({
        "event": "kernel.plugin_error",
        "stateId": format!("state-{delivery}"),
        "trigger": {"githubEvent": "issue_comment.created", "deliveryId": delivery},
        "plugin": {"type": "workflow", "id": "acme/plugin:compute.yml@main", "owner": "acme", "repo": "plugin"},
        "error": {
            "message": format!("the plugin failed:\n{quoted}\n<!-- lokiwrap-public: {} -->", "0".repeat(64)),
            "status": 500,
            "category": "workflow"
        }
    })
}

fn post_event(collector: &Collector, event: &Value) {
    let status = reqwest::blocking::Client::new()
        .post(format!("{}/v1/events", collector.url))
        .header("content-type", "application/json")
        .body(event.to_string())
        .send()
        .unwrap()
        .status();
    assert_eq!(status, 202);
}

/// GitHub's `issues` webhook: `confirmed` put on issue `number` of `repo`, written by `author`.
fn label_confirmed(collector: &Collector, repo: &str, number: u64, author: &str, body: &str) {
    let event = json!({
        "action": "labeled",
        "label": {"name": "confirmed"},
        "issue": {"number": number, "body": body, "user": {"login": author}},
        "repository": {"full_name": repo},
        "sender": {"login": "maintainer", "type": "User"}
    })
    .to_string();
    let status = reqwest::blocking::Client::new()
        .post(format!("{}/github/webhook", collector.url))
        .header("content-type", "application/json")
        .header("x-github-event", "issues")
        .header("x-github-delivery", format!("label-{repo}-{number}-{author}"))
        .header("x-hub-signature-256", sign(SECRET.as_bytes(), event.as_bytes()))
        .body(event)
        .send()
        .unwrap()
        .status();
    assert_eq!(status, 202);
}

/// Files one crash in `TRIAGE` and returns its fingerprint and issue number.
fn file_crash(collector: &Collector, fake: &FakeGithub) -> (String, u64) {
    let crash = report("npm", "TypeError", &["render"]);
    post(&collector.url, crash.to_string().as_bytes());
    assert!(fake.wait_for("POST", &format!("/repos/{TRIAGE}/issues"), 1, WAIT));
    let key = crash["fingerprint"].as_str().unwrap().to_string();
    let number = fake.issues(TRIAGE)[0].number;
    (key, number)
}

fn promoted_crashes(collector: &Collector) -> i64 {
    collector.query_one(
        "SELECT count(*) FROM subjects WHERE kind = 'crash' AND (confirmed = 1 OR public_number IS NOT NULL)",
    )
}

#[test]
fn an_event_quoting_another_subjects_marker_gets_its_own_issue_and_cannot_promote_it() {
    let fake = FakeGithub::start();
    let collector = start_in(tempfile::tempdir().unwrap(), &fake);
    let (crash_key, crash_issue) = file_crash(&collector, &fake);

    post_event(&collector, &quoting_event(&fingerprint_marker(&crash_key), "d-1"));
    assert!(
        fake.wait_for("POST", &format!("/repos/{PLUGIN}/issues"), 1, WAIT),
        "{}",
        collector.logs()
    );
    let issue = fake.issues(PLUGIN).remove(0);
    let body = issue.body.clone().unwrap();
    let first = body.lines().next().unwrap();
    assert!(
        first.starts_with("<!-- lokiwrap-cluster: ") && first.ends_with(" -->"),
        "{body}"
    );
    for quoted in ["<!-- lokiwrap-fingerprint:", "<!-- lokiwrap-public:"] {
        assert!(
            !body.contains(quoted),
            "the quoted marker stands in the body as written: {body}"
        );
    }

    // A maintainer confirms the failure: the failure is promoted, not the crash it quoted.
    label_confirmed(&collector, PLUGIN, issue.number, APP_LOGIN, &body);
    assert!(
        fake.wait_for("POST", &format!("/repos/{PUBLIC}/issues"), 1, WAIT),
        "{}",
        collector.logs()
    );
    std::thread::sleep(Duration::from_millis(500));
    let public = fake.issues(PUBLIC);
    assert_eq!(public.len(), 1);
    assert!(public[0].title.starts_with("Plugin failure"), "{}", public[0].title);
    assert_eq!(
        promoted_crashes(&collector),
        0,
        "the quoted crash was confirmed or promoted"
    );
    assert_eq!(fake.count("*", &format!("/repos/{TRIAGE}/issues/{crash_issue}")), 0);
    assert_eq!(fake.count("POST", &format!("/repos/{PLUGIN}/issues")), 1);
}

#[test]
fn a_marker_quoted_in_another_repository_or_by_another_author_confirms_nothing() {
    let fake = FakeGithub::start();
    let collector = start_in(tempfile::tempdir().unwrap(), &fake);
    let (crash_key, crash_issue) = file_crash(&collector, &fake);
    let quoting = format!("{}\n\nIs this the same crash?\n", fingerprint_marker(&crash_key));
    let elsewhere = fake.seed_issue("acme/other", "same crash?", &quoting, &["crash-report"], "mallory");
    assert_eq!(elsewhere, crash_issue, "the same number in another repository");
    let beside = fake.seed_issue(TRIAGE, "same crash?", &quoting, &["crash-report"], "mallory");

    label_confirmed(&collector, "acme/other", elsewhere, "mallory", &quoting);
    label_confirmed(&collector, "acme/other", elsewhere, APP_LOGIN, &quoting);
    label_confirmed(&collector, TRIAGE, beside, "mallory", &quoting);
    // The collector's own issue, but as written by someone else.
    label_confirmed(&collector, TRIAGE, crash_issue, "mallory", &quoting);
    collector.wait_for_stats(WAIT, |s| s["hotfix"]["confirm_refused"] == 4);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(promoted_crashes(&collector), 0);
    assert_eq!(fake.count("POST", &format!("/repos/{PUBLIC}/issues")), 0);

    // The collector's own issue, confirmed, is promoted (its repository named in another case).
    let body = fake.issues(TRIAGE)[0].body.clone().unwrap();
    label_confirmed(&collector, "Acme/Triage", crash_issue, APP_LOGIN, &body);
    assert!(
        fake.wait_for("POST", &format!("/repos/{PUBLIC}/issues"), 1, WAIT),
        "{}",
        collector.logs()
    );
    assert!(fake.issues(PUBLIC)[0].title.starts_with("TypeError in npm"));
}

#[test]
fn after_a_lost_store_a_cluster_whose_text_quoted_a_marker_gets_no_second_issue() {
    let fake = FakeGithub::start();
    let collector = start_in(tempfile::tempdir().unwrap(), &fake);
    let quoted = fingerprint_marker(&"ab".repeat(32));
    post_event(&collector, &quoting_event(&quoted, "d-1"));
    assert!(
        fake.wait_for("POST", &format!("/repos/{PLUGIN}/issues"), 1, WAIT),
        "{}",
        collector.logs()
    );
    let number = fake.issues(PLUGIN)[0].number;
    drop(collector.stop());

    // A fresh database: the collector finds its issue by the marker it wrote.
    let collector = start_in(tempfile::tempdir().unwrap(), &fake);
    post_event(&collector, &quoting_event(&quoted, "d-2"));
    collector.wait_for_stats(WAIT, |s| {
        s["hotfix"]["hotfix_accepted"] == 1 && s["github_queue_depth"] == 0
    });
    assert_eq!(
        fake.count("POST", &format!("/repos/{PLUGIN}/issues")),
        1,
        "a second issue was filed"
    );
    assert!(fake.count("PATCH", &format!("/repos/{PLUGIN}/issues/{number}")) >= 1);
    assert_eq!(
        collector.query_one(&format!(
            "SELECT count(*) FROM subjects WHERE issue_repo = '{PLUGIN}' AND issue_number = {number}"
        )),
        1
    );
}
