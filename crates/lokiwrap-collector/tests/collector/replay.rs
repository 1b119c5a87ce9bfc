//! `lokiwrap-collector events ...` and `crashes show` against the database a real collector
//! wrote: what an operator sees when looking back at a stored failure, replaying it through
//! today's configuration, or sending it to another collector.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::common::collector::{Collector, binary, post, report};
use crate::common::fake_github::{FakeGithub, TEST_TOKEN};
use crate::common::kernel;
use serde_json::Value;

const PLUGIN_REPO: &str = "ubiquity-os-marketplace/command-start-stop";
const PLUGIN_URL: &str = "https://command-start-stop-main.ubiquity-os.workers.dev";
/// A GitHub token in the event's log trail: the collector's scrub must keep it out of the store.
const LEAKED: &str = "ghp_R3plAyT0k3nInALogLine0123456789abcde";
const WAIT: Duration = Duration::from_secs(20);

fn config(fake: &FakeGithub, hotfix: &str) -> String {
    format!(
        "[github]\napi_url = \"{}\"\nwrite_interval_ms = 20\nnotify_interval_ms = 20\n\
         [hotfix]\nenabled = true\nallow_unsigned_events = true\ntarget_repos = [\"ubiquity-os-marketplace\"]\n{hotfix}",
        fake.url
    )
}

fn plugin_error() -> Value {
    let path = kernel::fixture("kernel_plugin_error.json");
    let mut event: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let lines = event["logTrail"]["lines"].as_array_mut().unwrap();
    lines.push(format!("2026-01-12T09:14:03.470Z DEBUG retrying with Authorization: token {LEAKED}").into());
    event
}

/// `lokiwrap-collector ARGS`: exit code, stdout, stderr.
fn cli(args: &[&str]) -> (i32, String, String) {
    let output = Command::new(binary())
        .args(args)
        .env_remove("LOKIWRAP_LOG")
        .env_remove("LOKIWRAP_GITHUB_TOKEN")
        .output()
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn path(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// A collector that kept one plugin failure and one crash, stopped: its directory, and the
/// crash's fingerprint.
fn stored(fake: &FakeGithub) -> (tempfile::TempDir, String) {
    let collector = Collector::start(
        &config(fake, "store_raw_payloads = true\n"),
        &[("LOKIWRAP_GITHUB_TOKEN", TEST_TOKEN)],
    );
    let answer = reqwest::blocking::Client::new()
        .post(format!("{}/v1/events", collector.url))
        .header("content-type", "application/json")
        .body(plugin_error().to_string())
        .send()
        .unwrap();
    assert_eq!(answer.status(), 202);
    let crash = report("npm", "TypeError", &["main", "run"]);
    assert_eq!(post(&collector.url, crash.to_string().as_bytes()).0, 202);
    collector.wait_for_stats(WAIT, |stats| {
        stats["hotfix"]["hotfix_accepted"] == 1 && stats["accepted"] == 1
    });
    // Its issue is filed before the collector stops: what follows must add no call.
    assert!(fake.wait_for("POST", &format!("/repos/{PLUGIN_REPO}/issues"), 1, WAIT));
    let fingerprint = crash["fingerprint"].as_str().unwrap().to_string();
    (collector.stop(), fingerprint)
}

#[test]
fn a_kept_event_is_listed_shown_scrubbed_and_replayed_without_touching_github() {
    let fake = FakeGithub::start();
    let (dir, _) = stored(&fake);
    let config_file = dir.path().join("collector.toml");
    let database = dir.path().join("collector.sqlite");
    let calls = fake.journal().len();
    let base = ["--config", path(&config_file), "--database", path(&database)];

    let (code, listed, errors) = cli(&[&["events", "list"][..], &base].concat());
    assert_eq!(code, 0, "{errors}");
    let lines: Vec<&str> = listed.lines().collect();
    assert_eq!(lines.len(), 2, "{listed}");
    assert_eq!(lines[0], "ID\tRECEIVED\tCLUSTER\tREPOSITORY");
    let fields: Vec<&str> = lines[1].split('\t').collect();
    assert_eq!(fields.len(), 4, "{listed}");
    let id = fields[0];
    assert!(fields[1].ends_with('Z'), "{listed}");
    assert_eq!(fields[2].len(), 64, "{listed}");
    assert_eq!(fields[3], PLUGIN_REPO);

    let (code, shown, errors) = cli(&[&["events", "show", id][..], &base].concat());
    assert_eq!(code, 0, "{errors}");
    let event: Value = serde_json::from_str(&shown).unwrap();
    assert_eq!(event["plugin"]["id"], PLUGIN_URL);
    assert!(!shown.contains(LEAKED), "the kept event holds the token:\n{shown}");
    assert!(
        shown.contains("DEBUG retrying with Authorization"),
        "the line is kept, without its token:\n{shown}"
    );
    assert!(!crate::common::collector::file_contains(&database, LEAKED));

    let (code, replayed, errors) = cli(&[&["events", "replay", id][..], &base].concat());
    assert_eq!(code, 0, "{errors}");
    assert!(
        replayed.starts_with(&format!("repository: {PLUGIN_REPO}\n")),
        "{replayed}"
    );
    assert!(replayed.contains("\ntitle: Plugin failure: "), "{replayed}");
    assert!(
        replayed.contains(&format!("<!-- lokiwrap-cluster: {} -->", fields[2])),
        "{replayed}"
    );
    assert!(!replayed.contains(LEAKED));
    // --dry-run says the same.
    let (_, explicit, _) = cli(&[&["events", "replay", id, "--dry-run"][..], &base].concat());
    assert_eq!(explicit, replayed);

    // Today's routing sends this plugin's failures elsewhere: the replay follows it.
    let rerouted = dir.path().join("rerouted.toml");
    std::fs::write(
        &rerouted,
        config(
            &fake,
            &format!("[hotfix.plugin_repos]\n\"{PLUGIN_URL}\" = \"ubiquity-os-marketplace/start-stop-triage\"\n"),
        ),
    )
    .unwrap();
    let (code, moved, errors) = cli(&[
        "events",
        "replay",
        id,
        "--config",
        path(&rerouted),
        "--database",
        path(&database),
    ]);
    assert_eq!(code, 0, "{errors}");
    assert!(
        moved.starts_with("repository: ubiquity-os-marketplace/start-stop-triage\n"),
        "{moved}"
    );
    assert!(moved.contains(&format!("(when received it was routed to {PLUGIN_REPO})")));

    // Nothing of this reached GitHub.
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(fake.journal().len(), calls, "{:#?}", &fake.journal()[calls..]);

    let (code, _, errors) = cli(&[&["events", "show", "999"][..], &base].concat());
    assert_eq!(code, 1);
    assert!(
        errors.contains("no kept event 999") && errors.contains("events list"),
        "{errors}"
    );
}

#[test]
fn a_kept_event_is_replayed_to_a_collector_that_checks_signatures() {
    let fake = FakeGithub::start();
    let (dir, _) = stored(&fake);
    let receiver = Collector::start(
        &format!(
            "[github]\napi_url = \"{}\"\n[hotfix]\nenabled = true\nkernel_public_key_file = \"{}\"\n\
             target_repos = [\"ubiquity-os-marketplace\"]\n",
            fake.url,
            kernel::public_key_file().display()
        ),
        &[("LOKIWRAP_GITHUB_TOKEN", TEST_TOKEN)],
    );
    let to = format!("{}/v1/events", receiver.url);
    let database = dir.path().join("collector.sqlite");
    let (_, listed, _) = cli(&["events", "list", "--database", path(&database)]);
    let id = listed.lines().nth(1).unwrap().split('\t').next().unwrap().to_string();
    let config_file = dir.path().join("collector.toml");
    let base = ["--config", path(&config_file), "--database", path(&database)];

    // Unsigned, it is refused by a collector that wants the kernel's signature.
    let (code, _, errors) = cli(&[&["events", "replay", &id, "--to", &to][..], &base].concat());
    assert_eq!(code, 0, "{errors}");
    receiver.wait_for_stats(WAIT, |stats| stats["hotfix"]["hotfix_bad_signature"] == 1);
    assert_eq!(receiver.query_one("SELECT count(*) FROM subjects"), 0);

    let key: PathBuf = kernel::fixture("kernel_test_private_key.pem");
    let (code, posted, errors) = cli(&[
        &["events", "replay", &id, "--to", &to, "--signing-key", path(&key)][..],
        &base,
    ]
    .concat());
    assert_eq!(code, 0, "{errors}");
    assert!(posted.contains("as signed inputs: 202"), "{posted}");
    receiver.wait_for_stats(WAIT, |stats| stats["hotfix"]["hotfix_accepted"] == 1);
    assert_eq!(
        receiver.query_one(&format!(
            "SELECT count(*) FROM subjects WHERE kind = 'plugin_failure' AND repo = '{PLUGIN_REPO}'"
        )),
        1
    );

    let (code, _, errors) = cli(&[
        &[
            "events",
            "replay",
            &id,
            "--to",
            &to,
            "--signing-key",
            path(&config_file),
        ][..],
        &base,
    ]
    .concat());
    assert_eq!(code, 1);
    assert!(errors.contains("not an RSA private key in PEM"), "{errors}");
}

#[test]
fn a_crash_is_shown_as_its_issue_renders() {
    let fake = FakeGithub::start();
    let (dir, fingerprint) = stored(&fake);
    let database = dir.path().join("collector.sqlite");
    let (code, shown, errors) = cli(&["crashes", "show", &fingerprint, "--database", path(&database)]);
    assert_eq!(code, 0, "{errors}");
    assert!(shown.contains("\ntitle: TypeError in npm ("), "{shown}");
    assert!(
        shown.contains(&format!("<!-- lokiwrap-fingerprint: {fingerprint} -->")),
        "{shown}"
    );
    assert!(shown.contains("| Occurrences | 1 |"), "{shown}");
    assert!(shown.starts_with("repository: none"), "{shown}");

    let (code, _, errors) = cli(&["crashes", "show", "0123abcd", "--database", path(&database)]);
    assert_eq!(code, 1);
    assert!(
        errors.contains("no crash with fingerprint") && errors.contains("64 hex"),
        "{errors}"
    );
}

#[test]
fn without_kept_payloads_events_list_says_which_key_turns_them_on() {
    let collector = Collector::start("", &[]);
    let dir = collector.stop();
    let database = dir.path().join("collector.sqlite");
    let (code, out, errors) = cli(&["events", "list", "--database", path(&database)]);
    assert_eq!(code, 1, "{out}");
    assert!(
        errors.contains("hotfix.store_raw_payloads") && errors.contains("store_raw_payloads = true"),
        "{errors}"
    );
    // A path with no database is named, and not created.
    let missing = dir.path().join("nowhere.sqlite");
    let (code, _, errors) = cli(&["events", "list", "--database", path(&missing)]);
    assert_eq!(code, 1);
    assert!(errors.contains("no database at"), "{errors}");
    assert!(!missing.exists());
}
