//! Hotfix routing end to end: kernel `kernel.plugin_error` events and GitHub `workflow_run`
//! webhooks posted to the real collector, issues filed on the fake GitHub. The seed's MVP
//! acceptance: one issue per failure cluster in the failing plugin's repository, duplicates
//! counted, no loops, and a per-repository limit on new issues.

use std::path::PathBuf;
use std::time::Duration;

use crate::common::collector::Collector;
use crate::common::fake_github::{FakeGithub, TEST_TOKEN};
use lokiwrap_collector::hotfix::webhook::sign;
use serde_json::{Value, json};

const SECRET: &str = "webhook-secret-for-tests";
const PLUGIN_REPO: &str = "ubiquity-os-marketplace/command-start-stop";
const WORKFLOW_REPO: &str = "ubiquity-os-marketplace/daemon-pricing";

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/hotfix")
        .join(name)
}

fn event(name: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(fixture(name)).unwrap()).unwrap()
}

fn config(fake: &FakeGithub, extra: &str) -> String {
    format!(
        "[github]\napi_url = \"{}\"\nwrite_interval_ms = 20\nnotify_interval_ms = 20\nupdate_interval_secs = 1\n\
         [hotfix]\nenabled = true\nissue_labels = [\"bug\", \"autofix\"]\nnotify = [\"@team-bot\"]\n\
         allowlist_repos = [\"{WORKFLOW_REPO}\"]\nself_ids = [\"owner/daemon-hotfix\"]\n\
         bot_login = \"lokiwrap-collector[bot]\"\nmax_new_issues_per_repo_per_hour = 3\n\
         target_repos = [\"ubiquity-os-marketplace\"]\n{extra}",
        fake.url
    )
}

/// A collector that takes unsigned events, as the fixtures are.
fn start(fake: &FakeGithub, extra: &str) -> Collector {
    start_with(fake, &format!("allow_unsigned_events = true\n{extra}"))
}

fn start_with(fake: &FakeGithub, extra: &str) -> Collector {
    Collector::start(
        &config(fake, extra),
        &[
            ("LOKIWRAP_GITHUB_TOKEN", TEST_TOKEN),
            ("LOKIWRAP_WEBHOOK_SECRET", SECRET),
        ],
    )
}

fn post_event(collector: &Collector, body: &Value) -> (u16, String) {
    let response = reqwest::blocking::Client::new()
        .post(format!("{}/v1/events", collector.url))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .unwrap();
    (response.status().as_u16(), response.text().unwrap())
}

fn post_webhook(collector: &Collector, body: &Value, delivery: &str, signature: Option<String>) -> u16 {
    let bytes = body.to_string();
    let signature = signature.unwrap_or_else(|| sign(SECRET.as_bytes(), bytes.as_bytes()));
    reqwest::blocking::Client::new()
        .post(format!("{}/github/webhook", collector.url))
        .header("content-type", "application/json")
        .header("x-github-event", "workflow_run")
        .header("x-github-delivery", delivery)
        .header("x-hub-signature-256", signature)
        .body(bytes)
        .send()
        .unwrap()
        .status()
        .as_u16()
}

/// The same failure as the fixture, in another delivery.
fn redelivered(mut event: Value, n: usize) -> Value {
    event["trigger"]["deliveryId"] = json!(format!("00000000-0000-4000-8000-{n:012}"));
    event["stateId"] = json!(format!("state-{n}"));
    event
}

fn issues_created(fake: &FakeGithub, repo: &str) -> usize {
    fake.count("POST", &format!("/repos/{repo}/issues"))
}

#[test]
fn a_5xx_from_an_http_plugin_gives_exactly_one_issue_in_its_repository() {
    let fake = FakeGithub::start();
    let collector = start(&fake, "");
    let (status, body) = post_event(&collector, &event("kernel_plugin_error.json"));
    assert_eq!((status, body.as_str()), (202, "{}"));
    assert!(fake.wait_for(
        "POST",
        &format!("/repos/{PLUGIN_REPO}/issues"),
        1,
        Duration::from_secs(20)
    ));
    let issues = fake.issues(PLUGIN_REPO);
    assert_eq!(issues.len(), 1);
    let issue = &issues[0];
    let text = issue.body.clone().unwrap();
    assert!(text.contains("<!-- lokiwrap-cluster: "), "{text}");
    assert!(text.contains("502"), "{text}");
    assert!(text.contains("@team-bot"), "{text}");
    assert!(
        text.contains("5a0c7e10-efb2-11f0-9a3b-6d2c1e8f4a7b"),
        "the delivery id is a correlation id: {text}"
    );
    assert_eq!(issue.labels, ["bug", "autofix"]);
    assert!(fake.problems().is_empty(), "{:?}", fake.problems());
    // Nothing else was filed anywhere, and no request carried the kernel's auth token.
    assert_eq!(fake.count("POST", "/repos/*/*/issues"), 1);
}

#[test]
fn duplicates_differing_in_urls_ids_and_numbers_update_one_issue_and_a_new_category_does_not() {
    let fake = FakeGithub::start();
    let collector = start(&fake, "");
    let base = event("kernel_plugin_error.json");
    let message = |url: &str, uuid: &str, ip: &str, sha: &str, ms: u32| {
        format!("HTTP (target: {url}) 502: error code: 502 request {uuid} from {ip} at {sha} after {ms} ms")
    };
    let messages = [
        message(
            "https://command-start-stop-main.ubiquity-os.workers.dev",
            "3f2504e0-4f89-41d3-9a0c-0305e82c3301",
            "10.1.2.3",
            "9fceb02d0ae598e95dc970b74767f19372d61af8",
            120,
        ),
        message(
            "https://command-start-stop-main.ubiquity-os.workers.dev/run?id=77",
            "6ba7b810-9dad-41d1-80b4-00c04fd430c8",
            "192.168.0.9",
            "1c2d3e4f5a6",
            7,
        ),
        message(
            "http://127.0.0.1:8443/x",
            "00000000-0000-4000-8000-000000000001",
            "2001:db8::1",
            "4b825dc642cb",
            99999,
        ),
    ];

    for (n, message) in messages.iter().enumerate() {
        let mut variant = redelivered(base.clone(), n);
        variant["error"]["message"] = json!(message);
        assert_eq!(post_event(&collector, &variant).0, 202);
    }
    assert!(fake.wait_for(
        "POST",
        &format!("/repos/{PLUGIN_REPO}/issues"),
        1,
        Duration::from_secs(20)
    ));
    // The counter reaches 3 on the one issue (updated at most once a second).
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !fake.issues(PLUGIN_REPO)[0]
        .body
        .clone()
        .unwrap_or_default()
        .contains("Occurrences: **3**")
    {
        assert!(
            std::time::Instant::now() < deadline,
            "subjects {} counts {}: {}",
            collector.query_one("SELECT count(*) FROM subjects"),
            collector.query_one("SELECT sum(count) FROM subjects"),
            collector.logs()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(issues_created(&fake, PLUGIN_REPO), 1);

    let mut other_category = redelivered(base, 10);
    other_category["error"]["category"] = json!("kernel");
    post_event(&collector, &other_category);
    assert!(fake.wait_for(
        "POST",
        &format!("/repos/{PLUGIN_REPO}/issues"),
        2,
        Duration::from_secs(20)
    ));
    assert_eq!(fake.issues(PLUGIN_REPO).len(), 2);
}

#[test]
fn plugin_ids_differing_only_by_ref_are_one_cluster() {
    let fake = FakeGithub::start();
    let collector = start(&fake, "");
    for (n, git_ref) in ["v1.4.2", "main", "development"].iter().enumerate() {
        let mut variant = redelivered(event("kernel_plugin_error_workflow.json"), n);
        variant["plugin"]["id"] = json!(format!("{WORKFLOW_REPO}:compute.yml@{git_ref}"));
        variant["plugin"]["ref"] = json!(git_ref);
        post_event(&collector, &variant);
    }
    collector.wait_for_stats(Duration::from_secs(20), |s| s["hotfix"]["hotfix_accepted"] == 3);
    assert!(fake.wait_for(
        "POST",
        &format!("/repos/{WORKFLOW_REPO}/issues"),
        1,
        Duration::from_secs(20)
    ));
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(fake.issues(WORKFLOW_REPO).len(), 1);
    assert_eq!(collector.query_one("SELECT count FROM subjects"), 3);
}

#[test]
fn the_routes_own_failures_and_loop_events_make_no_issue_and_no_call() {
    let fake = FakeGithub::start();
    let collector = start(&fake, "");
    let mut own = event("kernel_plugin_error_workflow.json");
    own["plugin"] = json!({
        "type": "workflow", "id": "owner/daemon-hotfix:compute.yml@main", "owner": "owner",
        "repo": "daemon-hotfix", "workflowId": "compute.yml", "ref": "main"
    });
    let mut about_itself = event("kernel_plugin_error.json");
    about_itself["trigger"]["githubEvent"] = json!("kernel.plugin_error");
    let mut by_our_bot = event("workflow_run_failure.json");
    by_our_bot["sender"] = json!({"login": "lokiwrap-collector[bot]", "type": "Bot"});
    assert_eq!(post_event(&collector, &own).0, 202);
    assert_eq!(post_event(&collector, &about_itself).0, 202);
    assert_eq!(post_webhook(&collector, &by_our_bot, "d-bot", None), 202);
    let stats = collector.wait_for_stats(Duration::from_secs(10), |s| {
        s["hotfix"]["hotfix_ignored_self_failure"] == 1
            && s["hotfix"]["hotfix_ignored_loop_event"] == 1
            && s["hotfix"]["hotfix_ignored_own_bot"] == 1
    });
    assert_eq!(stats["fingerprints"], 0);
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        fake.journal().is_empty(),
        "{:?}",
        fake.journal().iter().map(|c| &c.path).collect::<Vec<_>>()
    );
}

#[test]
fn a_failed_run_of_an_allowlisted_workflow_gives_one_issue_and_others_are_ignored() {
    let fake = FakeGithub::start();
    let collector = start(&fake, "");
    let failed = event("workflow_run_failure.json");
    assert_eq!(post_webhook(&collector, &failed, "d-1", None), 202);
    assert_eq!(post_webhook(&collector, &failed, "d-1", None), 202, "a redelivery");
    let mut again = failed.clone();
    again["workflow_run"]["id"] = json!(99_999_999);
    assert_eq!(post_webhook(&collector, &again, "d-2", None), 202);

    let mut succeeded = failed.clone();
    succeeded["workflow_run"]["conclusion"] = json!("success");
    let mut elsewhere = failed.clone();
    elsewhere["repository"]["full_name"] = json!("someone/else");
    elsewhere["repository"]["name"] = json!("else");
    elsewhere["repository"]["owner"]["login"] = json!("someone");
    assert_eq!(post_webhook(&collector, &succeeded, "d-3", None), 202);
    assert_eq!(post_webhook(&collector, &elsewhere, "d-4", None), 202);
    assert_eq!(post_webhook(&collector, &failed, "d-5", Some("sha256=00".into())), 401);

    assert!(fake.wait_for(
        "POST",
        &format!("/repos/{WORKFLOW_REPO}/issues"),
        1,
        Duration::from_secs(20)
    ));
    let stats = collector.wait_for_stats(Duration::from_secs(10), |s| s["hotfix"]["hotfix_accepted"] == 2);
    assert_eq!(stats["duplicate_id"], 1);
    assert_eq!(stats["hotfix"]["hotfix_ignored_conclusion_not_failure"], 1);
    assert_eq!(stats["hotfix"]["hotfix_ignored_not_allowlisted"], 1);
    assert_eq!(stats["hotfix"]["hotfix_bad_signature"], 1);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(fake.count("POST", "/repos/*/*/issues"), 1);
    assert_eq!(fake.issues(WORKFLOW_REPO).len(), 1);
}

/// Letters only, so that normalising (numbers, hex) cannot merge two of them.
fn word(n: usize) -> String {
    let letters = "ghijklmnopqrstuvwxyz".as_bytes();
    format!("{}{}", letters[n % 20] as char, letters[n / 20 % 20] as char)
}

#[test]
fn a_burst_of_mixed_events_files_no_more_issues_than_the_repository_limit_allows() {
    let fake = FakeGithub::start();
    let collector = start(
        &fake,
        "[limits]\nper_ip_per_minute = 100000\nevents_per_ip_per_minute = 100000\n",
    );
    let base = event("kernel_plugin_error.json");
    let loop_event = {
        let mut e = base.clone();
        e["trigger"]["githubEvent"] = json!("kernel.plugin_error");
        e
    };
    let clusters = 50;
    // Every tenth event is a loop event, so stages 0, 10, 20, 30 and 40 never occur: 45 clusters.
    let distinct = 45;
    for n in 0..1000 {
        let body = match n % 10 {
            // One in ten is a loop event, to be ignored.
            0 => loop_event.clone(),
            _ => {
                let mut e = redelivered(base.clone(), n);
                e["error"]["message"] = json!(format!("worker failed in stage {} after {n} ms", word(n % clusters)));
                e
            }
        };
        assert_eq!(post_event(&collector, &body).0, 202);
    }
    // Everything distinct is stored; the repository gets at most its limit of new issues and
    // the other clusters are counted on the newest one.
    let stats = collector.wait_for_stats(Duration::from_secs(30), |s| {
        s["github_queue_depth"] == 0 && s["issues"]["hotfix_merged"] == distinct - 3
    });
    assert_eq!(stats["hotfix"]["hotfix_ignored_loop_event"], 100);
    assert_eq!(issues_created(&fake, PLUGIN_REPO), 3, "{stats:#}");
    assert_eq!(fake.count("POST", "/repos/*/*/issues"), 3);
    let newest = fake.issues(PLUGIN_REPO).into_iter().max_by_key(|i| i.number).unwrap();
    assert!(
        newest
            .body
            .unwrap()
            .contains("Also counted here: 42 other failure clusters")
    );
    assert_eq!(
        fake.count("POST", "/repos/*/*/issues/*/comments"),
        0,
        "no comment per occurrence"
    );
}

#[test]
fn signed_kernel_inputs_are_verified_and_bad_ones_dropped_with_202() {
    let fake = FakeGithub::start();
    let key = fixture("kernel_test_public_key.pem");
    let collector = start_with(&fake, &format!("kernel_public_key_file = \"{}\"\n", key.display()));
    let signed = event("signed_inputs_without_token.json");
    let mut tampered = signed.clone();
    tampered["stateId"] = json!("someone-else");
    // Signed with a token that expired long ago.
    let stale = event("signed_inputs.json");
    let plain = event("kernel_plugin_error.json");
    for body in [&tampered, &stale, &plain] {
        assert_eq!(post_event(&collector, body), (202, "{}".to_string()));
    }
    collector.wait_for_stats(Duration::from_secs(10), |s| s["hotfix"]["hotfix_bad_signature"] == 3);
    assert_eq!(post_event(&collector, &signed).0, 202);
    assert!(fake.wait_for(
        "POST",
        &format!("/repos/{PLUGIN_REPO}/issues"),
        1,
        Duration::from_secs(20)
    ));
    let stats = collector.stats();
    assert_eq!(stats["hotfix"]["hotfix_accepted"], 1);
    let body = fake.issues(PLUGIN_REPO)[0].body.clone().unwrap();
    for call in fake.journal() {
        let sent = call.body.map(|b| b.to_string()).unwrap_or_default();
        assert!(!sent.contains("ghs_"), "an installation token reached GitHub: {sent}");
    }
    assert!(body.contains("502"));
}

#[test]
fn a_failure_back_after_a_quiet_window_is_announced_once_on_its_open_issue() {
    let fake = FakeGithub::start();
    let collector = start(&fake, "window_hours = 1\n");
    let base = event("kernel_plugin_error.json");
    post_event(&collector, &redelivered(base.clone(), 1));
    assert!(fake.wait_for(
        "POST",
        &format!("/repos/{PLUGIN_REPO}/issues"),
        1,
        Duration::from_secs(20)
    ));
    // A repeat within the window is only counted.
    post_event(&collector, &redelivered(base.clone(), 2));
    collector.wait_for_stats(Duration::from_secs(20), |s| s["issues"]["issues_updated"] == 1);
    // Two quiet hours later (the store's clock moved back), it comes back.
    rusqlite::Connection::open(collector.database())
        .unwrap()
        .execute("UPDATE subjects SET last_seen = last_seen - 7200", [])
        .unwrap();
    post_event(&collector, &redelivered(base.clone(), 3));
    assert!(fake.wait_for("POST", "/repos/*/*/issues/*/comments", 1, Duration::from_secs(20)));
    let comments = &fake.issues(PLUGIN_REPO)[0].comments;
    assert_eq!(comments.len(), 1);
    assert!(comments[0].body.contains("back after 2 hours"), "{}", comments[0].body);
    post_event(&collector, &redelivered(base, 4));
    collector.wait_for_stats(Duration::from_secs(20), |s| s["issues"]["issues_updated"] == 3);
    assert_eq!(fake.issues(PLUGIN_REPO)[0].comments.len(), 1, "announced twice");
}
