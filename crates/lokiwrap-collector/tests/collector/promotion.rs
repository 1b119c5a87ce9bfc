//! Promotion and guarded auto-fix, with the real collector, the fake GitHub and real git
//! repositories: a confirmed or frequent crash gets a sanitised public issue linked both ways;
//! auto-fix runs the fixer and the tests in a fresh worktree, pushes a branch and opens a pull
//! request, within a daily cap that survives restarts, never while the kill switch is on, and
//! never merges.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::common::collector::{Collector, post, post_from, report};
use crate::common::fake_github::{FakeGithub, TEST_TOKEN};
use crate::common::git_repos::repositories;
use lokiwrap_collector::hotfix::webhook::sign;
use serde_json::json;

const SECRET: &str = "webhook-secret-for-tests";

fn base_config(fake: &FakeGithub, extra: &str) -> String {
    format!(
        "[github]\napi_url = \"{}\"\ntriage_repo = \"acme/triage\"\nwrite_interval_ms = 20\nnotify_interval_ms = 20\n\
         update_interval_secs = 1\n{extra}",
        fake.url
    )
}

fn start_in(dir: tempfile::TempDir, config: &str) -> Collector {
    Collector::start_in(
        dir,
        config,
        &[
            ("LOKIWRAP_GITHUB_TOKEN", TEST_TOKEN),
            ("LOKIWRAP_WEBHOOK_SECRET", SECRET),
        ],
    )
}

/// A maintainer puts `label` on a triage issue: GitHub's `issues` webhook.
fn label_issue(collector: &Collector, fake: &FakeGithub, number: u64, label: &str) -> u16 {
    let issue = fake
        .issues("acme/triage")
        .into_iter()
        .find(|i| i.number == number)
        .unwrap();
    let event = json!({
        "action": "labeled",
        "label": {"name": label},
        "issue": {"number": number, "body": issue.body},
        "repository": {"full_name": "acme/triage"},
        "sender": {"login": "maintainer", "type": "User"}
    })
    .to_string();
    reqwest::blocking::Client::new()
        .post(format!("{}/github/webhook", collector.url))
        .header("content-type", "application/json")
        .header("x-github-event", "issues")
        .header("x-github-delivery", format!("label-{number}"))
        .header("x-hub-signature-256", sign(SECRET.as_bytes(), event.as_bytes()))
        .body(event)
        .send()
        .unwrap()
        .status()
        .as_u16()
}

/// Files one crash issue per class and returns their numbers in order.
fn file_crashes(collector: &Collector, fake: &FakeGithub, classes: &[&str]) -> Vec<u64> {
    for class in classes {
        post(&collector.url, report("npm", class, &["run"]).to_string().as_bytes());
    }
    assert!(fake.wait_for(
        "POST",
        "/repos/acme/triage/issues",
        classes.len(),
        Duration::from_secs(20)
    ));
    let mut numbers: Vec<u64> = fake.issues("acme/triage").iter().map(|i| i.number).collect();
    numbers.sort();
    numbers
}

#[test]
fn a_crash_reaching_the_threshold_gets_one_sanitised_public_issue_linked_both_ways() {
    let fake = FakeGithub::start();
    let config = base_config(&fake, "[promotion]\npublic_repo = \"acme/public\"\nthreshold = 3\n");
    let collector = start_in(tempfile::tempdir().unwrap(), &config);
    let mut leaky = report("npm", "TypeError", &["run"]);
    leaky["tool_version"] = json!("10.2.0 jane.doe@example.com");
    // The threshold counts distinct senders: one sender repeating itself promotes nothing.
    for _ in 0..5 {
        let mut again = report("npm", "TypeError", &["run"]);
        again["tool_version"] = leaky["tool_version"].clone();
        post_from(2, &collector.url, again.to_string().as_bytes());
    }
    let mut again = report("npm", "TypeError", &["run"]);
    again["tool_version"] = leaky["tool_version"].clone();
    post_from(3, &collector.url, again.to_string().as_bytes());
    assert!(fake.wait_for("POST", "/repos/acme/triage/issues", 1, Duration::from_secs(20)));
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        fake.count("POST", "/repos/acme/public/issues"),
        0,
        "promoted before the threshold: six reports from two senders"
    );
    post_from(4, &collector.url, leaky.to_string().as_bytes());
    assert!(fake.wait_for("POST", "/repos/acme/public/issues", 1, Duration::from_secs(20)));
    assert!(fake.wait_for(
        "POST",
        "/repos/acme/triage/issues/*/comments",
        1,
        Duration::from_secs(10)
    ));

    let public = &fake.issues("acme/public")[0];
    let body = public.body.clone().unwrap();
    assert!(
        body.contains("TypeError") && body.contains("| Occurrences | 7 |"),
        "{body}"
    );
    assert!(body.contains("lokiwrap-public"), "{body}");
    for private in ["acme/triage", "lokiwrap-fingerprint", "jane.doe", "example.com"] {
        assert!(
            !body.contains(private),
            "{private} leaked into the public issue: {body}"
        );
    }
    let triage = &fake.issues("acme/triage")[0];
    assert_eq!(triage.comments.len(), 1);
    assert!(
        triage.comments[0]
            .body
            .contains(&format!("acme/public/issues/{}", public.number))
    );
    // More occurrences never promote twice.
    post(
        &collector.url,
        report("npm", "TypeError", &["run"]).to_string().as_bytes(),
    );
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(fake.count("POST", "/repos/acme/public/issues"), 1);
}

#[test]
fn a_maintainers_confirmed_label_promotes_at_once_and_the_kill_switch_stops_it() {
    let fake = FakeGithub::start();
    let dir = tempfile::tempdir().unwrap();
    let kill = dir.path().join("stop");
    let config = base_config(
        &fake,
        &format!(
            "[promotion]\npublic_repo = \"acme/public\"\nkill_switch_file = \"{}\"\n",
            kill.display()
        ),
    );
    let collector = start_in(dir, &config);
    let numbers = file_crashes(&collector, &fake, &["TypeError", "RangeError"]);
    std::fs::write(&kill, "").unwrap();
    assert_eq!(label_issue(&collector, &fake, numbers[0], "confirmed"), 202);
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        fake.count("POST", "/repos/acme/public/issues"),
        0,
        "promoted with the kill switch on"
    );

    std::fs::remove_file(&kill).unwrap();
    assert_eq!(label_issue(&collector, &fake, numbers[1], "wontfix"), 202);
    assert_eq!(label_issue(&collector, &fake, numbers[1], "confirmed"), 202);
    assert!(fake.wait_for("POST", "/repos/acme/public/issues", 1, Duration::from_secs(20)));
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(fake.issues("acme/public").len(), 1);
    assert!(fake.issues("acme/public")[0].title.contains("RangeError"));
}

fn autofix_config(fake: &FakeGithub, clone: &Path, test: &str, cap: u32) -> String {
    base_config(
        fake,
        &format!(
            "[hotfix]\nmodes = [\"issue\", \"pr\"]\n[hotfix.risk_policy]\nmax_autofix_per_day = {cap}\n\
             [promotion]\npublic_repo = \"acme/public\"\n\
             [autofix]\nrepo_dir = \"{}\"\ndry_run = false\ntimeout_secs = 60\n\
             command = [\"sh\", \"-c\", \"echo handled > FIX && git add FIX && git -c user.name=f -c user.email=f@example.invalid commit -qm 'Handle {{key}}'\"]\n\
             test_command = [\"sh\", \"-c\", \"{test}\"]\n",
            clone.display()
        ),
    )
}

fn autofix_state(collector: &Collector) -> Vec<String> {
    let db = rusqlite::Connection::open(collector.database()).unwrap();
    let mut statement = db
        .prepare("SELECT autofix FROM subjects WHERE autofix IS NOT NULL ORDER BY autofix")
        .unwrap();
    statement
        .query_map([], |row| row.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

fn remote_branches(origin: &Path) -> String {
    let output = Command::new("git")
        .arg("-C")
        .arg(origin)
        .args(["branch", "--list"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn auto_fix_opens_one_pull_request_within_the_daily_cap_across_restarts_and_never_merges() {
    let fake = FakeGithub::start();
    let root = tempfile::tempdir().unwrap();
    let (origin, clone) = repositories(root.path());
    let config = autofix_config(&fake, &clone, "test -f FIX", 1);
    let collector = start_in(tempfile::tempdir().unwrap(), &config);
    let numbers = file_crashes(&collector, &fake, &["TypeError", "RangeError", "KeyError"]);
    label_issue(&collector, &fake, numbers[0], "confirmed");
    assert!(
        fake.wait_for("POST", "/repos/acme/public/pulls", 1, Duration::from_secs(30)),
        "{}",
        collector.logs()
    );
    let pull = fake
        .journal()
        .into_iter()
        .find(|c| c.path == "/repos/acme/public/pulls")
        .unwrap();
    let body = pull.body.unwrap();
    assert_eq!(body["base"], "main");
    let head = body["head"].as_str().unwrap().to_string();
    assert!(head.starts_with("lokiwrap/fix-"), "{head}");
    assert!(remote_branches(&origin).contains(&head), "the branch was not pushed");
    let text = body["body"].as_str().unwrap();
    assert!(
        text.contains("not** merged automatically") && text.contains("test -f FIX"),
        "{text}"
    );

    // The second confirmed crash the same day is over the cap of one.
    label_issue(&collector, &fake, numbers[1], "confirmed");
    assert!(fake.wait_for("POST", "/repos/acme/public/issues", 2, Duration::from_secs(20)));
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !autofix_state(&collector).iter().any(|s| s.contains("daily cap")) {
        assert!(std::time::Instant::now() < deadline, "{:?}", autofix_state(&collector));
        std::thread::sleep(Duration::from_millis(100));
    }
    // A restart does not reset the cap.
    let dir = collector.stop();
    let collector = start_in(dir, &config);
    label_issue(&collector, &fake, numbers[2], "confirmed");
    assert!(fake.wait_for("POST", "/repos/acme/public/issues", 3, Duration::from_secs(20)));
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while autofix_state(&collector)
        .iter()
        .filter(|s| s.contains("daily cap"))
        .count()
        < 2
    {
        assert!(std::time::Instant::now() < deadline, "{:?}", autofix_state(&collector));
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(fake.count("POST", "/repos/acme/public/pulls"), 1);
    assert_eq!(
        fake.count("PUT", "/repos/*/*/pulls/*/merge"),
        0,
        "a merge endpoint was called"
    );
    assert_eq!(fake.count("POST", "/graphql"), 0, "auto-merge was requested");
}

#[test]
fn a_fix_whose_tests_fail_opens_no_pull_request() {
    let fake = FakeGithub::start();
    let root = tempfile::tempdir().unwrap();
    let (origin, clone) = repositories(root.path());
    let config = autofix_config(&fake, &clone, "exit 1", 3);
    let collector = start_in(tempfile::tempdir().unwrap(), &config);
    let numbers = file_crashes(&collector, &fake, &["TypeError"]);
    label_issue(&collector, &fake, numbers[0], "confirmed");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !autofix_state(&collector)
        .iter()
        .any(|s| s.contains("tests did not pass"))
    {
        assert!(
            std::time::Instant::now() < deadline,
            "{:?}\n{}",
            autofix_state(&collector),
            collector.logs()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(fake.count("POST", "/repos/acme/public/pulls"), 0);
    assert!(
        !remote_branches(&origin).contains("lokiwrap/fix-"),
        "a failing fix was pushed"
    );
}

/// The kernel's own failure is the kernel maintainers' to fix, not a program's: confirmed, it is
/// promoted like any subject, but no fix is tried. A crash confirmed after it is fixed, so the
/// auto-fix thread (which takes requests in order) would have run the kernel's first.
#[test]
fn a_confirmed_failure_of_the_kernel_itself_is_promoted_but_never_auto_fixed() {
    let fake = FakeGithub::start();
    let root = tempfile::tempdir().unwrap();
    let (_origin, clone) = repositories(root.path());
    let config = autofix_config(&fake, &clone, "test -f FIX", 3).replace(
        "[hotfix]\n",
        "[hotfix]\nenabled = true\nallow_unsigned_events = true\ntarget_repos = [\"ubiquity\"]\n\
         issue_labels = [\"bug\", \"autofix\"]\n",
    );
    let collector = start_in(tempfile::tempdir().unwrap(), &config);
    let fixture = crate::common::kernel::fixture("kernel_plugin_error.json");
    let mut failure: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(fixture).unwrap()).unwrap();
    failure["plugin"] = json!({"type": "kernel", "id": "ubiquity-os/ubiquity-os-kernel",
        "owner": "ubiquity", "repo": "devpool-directory"});
    assert_eq!(crate::common::collector::post_event(&collector.url, &failure), 202);
    assert!(
        fake.wait_for("POST", "/repos/acme/triage/issues", 1, Duration::from_secs(20)),
        "{}",
        collector.logs()
    );
    let kernel_issue = fake.issues("acme/triage")[0].number;
    label_issue(&collector, &fake, kernel_issue, "confirmed");
    assert!(
        fake.wait_for("POST", "/repos/acme/public/issues", 1, Duration::from_secs(20)),
        "{}",
        collector.logs()
    );

    post(
        &collector.url,
        report("npm", "TypeError", &["run"]).to_string().as_bytes(),
    );
    assert!(fake.wait_for("POST", "/repos/acme/triage/issues", 2, Duration::from_secs(20)));
    let crash_issue = fake
        .issues("acme/triage")
        .iter()
        .map(|issue| issue.number)
        .find(|&number| number != kernel_issue)
        .unwrap();
    label_issue(&collector, &fake, crash_issue, "confirmed");
    assert!(
        fake.wait_for("POST", "/repos/acme/public/pulls", 1, Duration::from_secs(30)),
        "{}",
        collector.logs()
    );
    std::thread::sleep(Duration::from_millis(500));
    let pulls: Vec<_> = fake
        .journal()
        .into_iter()
        .filter(|call| call.method == "POST" && call.path == "/repos/acme/public/pulls")
        .collect();
    assert_eq!(pulls.len(), 1, "one pull request, for the crash");
    let crash_public = fake
        .issues("acme/public")
        .into_iter()
        .find(|issue| issue.title.contains("TypeError"))
        .expect("the crash's public issue")
        .number;
    let body = pulls[0].body.as_ref().unwrap()["body"].as_str().unwrap().to_string();
    assert!(body.contains(&format!("Fixes #{crash_public}")), "{body}");
    assert_eq!(autofix_state(&collector).len(), 1, "{:?}", autofix_state(&collector));
}
