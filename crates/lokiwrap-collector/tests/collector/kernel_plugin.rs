//! The collector as the UbiquityOS kernel sees it: a plugin registered by URL, whose manifest
//! the kernel fetches from `{url}/manifest.json` before it posts signed inputs to `{url}`; the
//! kernel's own failures filed for the kernel's triage; a kernel that signs without its token.

use std::time::Duration;

use crate::common::collector::Collector;
use crate::common::fake_github::{FakeGithub, TEST_TOKEN};
use crate::common::kernel::{Token, fixture, public_key_file, signed_inputs};
use serde_json::{Value, json};

const PLUGIN_REPO: &str = "ubiquity-os-marketplace/command-start-stop";

fn plugin_error() -> Value {
    serde_json::from_str(&std::fs::read_to_string(fixture("kernel_plugin_error.json")).unwrap()).unwrap()
}

fn signed_collector(fake: &FakeGithub, extra: &str) -> Collector {
    let config = format!(
        "[github]\napi_url = \"{}\"\nwrite_interval_ms = 20\nnotify_interval_ms = 20\n\
         [hotfix]\nenabled = true\nkernel_public_key_file = \"{}\"\n{extra}",
        fake.url,
        public_key_file().display()
    );
    Collector::start(&config, &[("LOKIWRAP_GITHUB_TOKEN", TEST_TOKEN)])
}

/// Posts to `url` as the kernel does; the status, content type and body.
fn kernel_post(url: &str, inputs: &Value) -> (u16, String, String) {
    let response = reqwest::blocking::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .body(inputs.to_string())
        .send()
        .unwrap();
    let kind = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (response.status().as_u16(), kind, response.text().unwrap())
}

#[test]
fn the_kernel_finds_the_manifest_at_the_registered_url_and_gets_json_for_its_inputs() {
    let fake = FakeGithub::start();
    let collector = signed_collector(&fake, "");
    // The URL the README tells operators to write in .ubiquity-os.config.yml, and the same with
    // the trailing slash an operator may add: the kernel trims it for the manifest, not for the
    // dispatch.
    let registered = format!("{}/v1/events", collector.url);
    for plugin_url in [registered.clone(), format!("{registered}/")] {
        let response = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap()
            .get(format!("{}/manifest.json", plugin_url.trim_end_matches('/')))
            .send()
            .unwrap();
        assert_eq!(response.status(), 200, "{plugin_url}");
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/json")
        );
        let manifest: Value = response.json().unwrap();
        assert_eq!(manifest["ubiquity:listeners"], json!(["kernel.plugin_error"]));
        assert_eq!(manifest["skipBotEvents"], json!(false));
        assert_eq!(manifest["short_name"], json!("lokiwrap-collector"));
        assert!(manifest["name"].as_str().is_some_and(|n| !n.is_empty()));
        assert!(manifest["description"].as_str().is_some_and(|d| !d.is_empty()));
        assert_eq!(manifest["configuration"]["type"], json!("object"));

        let inputs = signed_inputs("kernel.plugin_error", &plugin_error(), Token::Absent);
        let (status, kind, body) = kernel_post(&plugin_url, &inputs);
        // The same event twice is one delivery, so the second counts nothing new: its 2xx says
        // the route took it.
        assert!((200..300).contains(&status), "{plugin_url}: {status} {body}");
        assert!(kind.starts_with("application/json"), "{kind}");
        serde_json::from_str::<Value>(&body).expect("the kernel needs a JSON answer");
    }
    assert!(fake.wait_for(
        "POST",
        &format!("/repos/{PLUGIN_REPO}/issues"),
        1,
        Duration::from_secs(20)
    ));
}

#[test]
fn the_kernels_own_failures_go_to_its_triage_never_to_the_triggering_repository() {
    let mut failure = plugin_error();
    failure["plugin"] = json!({
        "type": "kernel",
        "id": "ubiquity-os/ubiquity-os-kernel",
        "owner": "ubiquity",
        "repo": "devpool-directory",
    });
    failure["error"]["message"] = json!("TypeError: cannot read properties of undefined (reading 'with')");
    for (labels, extra, expected) in [
        (
            "[\"bug\", \"autofix\"]",
            "kernel_repo = \"acme/Kernel-Triage\"\n",
            "acme/kernel-triage",
        ),
        // No kernel_repo: the triage repository.
        ("[\"bug\", \"autofix\"]", "", "acme/triage"),
        // `autofix` alone, in any case, is still not put on it.
        ("[\"AutoFix\"]", "", "acme/triage"),
    ] {
        let fake = FakeGithub::start();
        let config = format!(
            "[github]\napi_url = \"{}\"\ntriage_repo = \"acme/triage\"\nwrite_interval_ms = 20\n\
             notify_interval_ms = 20\n[hotfix]\nenabled = true\nissue_labels = {labels}\n\
             allow_unsigned_events = true\ntarget_repos = [\"ubiquity\"]\n{extra}",
            fake.url
        );
        let collector = Collector::start(&config, &[("LOKIWRAP_GITHUB_TOKEN", TEST_TOKEN)]);
        assert_eq!(crate::common::collector::post_event(&collector.url, &failure), 202);
        assert!(
            fake.wait_for("POST", &format!("/repos/{expected}/issues"), 1, Duration::from_secs(20)),
            "{}",
            collector.logs()
        );
        let issues = fake.issues(expected);
        assert_eq!(issues.len(), 1);
        assert_eq!(issues[0].labels, ["bug"], "a kernel failure is not for auto-fix");
        assert!(
            issues[0].title.contains("ubiquity-os/ubiquity-os-kernel"),
            "{}",
            issues[0].title
        );
        assert_eq!(fake.count("POST", "/repos/ubiquity/devpool-directory/issues"), 0);
        assert_eq!(fake.count("POST", "/repos/*/*/issues"), 1);
    }
}

#[test]
fn a_kernel_failure_with_nowhere_to_go_is_ignored_and_counted() {
    let fake = FakeGithub::start();
    let mut failure = plugin_error();
    failure["plugin"] = json!({"type": "kernel", "id": "ubiquity-os/ubiquity-os-kernel",
        "owner": "ubiquity", "repo": "devpool-directory"});
    let config = format!(
        "[github]\napi_url = \"{}\"\n[hotfix]\nenabled = true\nallow_unsigned_events = true\n\
         target_repos = [\"ubiquity\"]\n",
        fake.url
    );
    let collector = Collector::start(&config, &[("LOKIWRAP_GITHUB_TOKEN", TEST_TOKEN)]);
    assert_eq!(crate::common::collector::post_event(&collector.url, &failure), 202);
    collector.wait_for_stats(Duration::from_secs(10), |s| {
        s["hotfix"]["hotfix_ignored_no_kernel_repo"] == 1
    });
    assert!(collector.logs().contains("kernel_repo"), "{}", collector.logs());
    assert_eq!(fake.count("POST", "/repos/*/*/issues"), 0);
}

#[test]
fn inputs_with_a_null_kernel_token_count_as_missing_not_as_a_bad_signature() {
    let fake = FakeGithub::start();
    let collector = signed_collector(&fake, "");
    let inputs = signed_inputs("kernel.plugin_error", &plugin_error(), Token::Null);
    assert_eq!(crate::common::collector::post_event(&collector.url, &inputs), 202);
    let stats = collector.wait_for_stats(Duration::from_secs(10), |s| s["hotfix"]["hotfix_accepted"] == 1);
    assert_eq!(stats["hotfix"]["hotfix_missing_kernel_token"], 1);
    assert_eq!(stats["hotfix"]["hotfix_bad_signature"], 0);
    assert!(collector.logs().contains("misconfigured"), "{}", collector.logs());
    // A forgery with a null token is still a bad signature.
    let mut forged = inputs.clone();
    forged["stateId"] = json!("someone-else");
    assert_eq!(crate::common::collector::post_event(&collector.url, &forged), 202);
    let stats = collector.wait_for_stats(Duration::from_secs(10), |s| s["hotfix"]["hotfix_bad_signature"] == 1);
    assert_eq!(stats["hotfix"]["hotfix_missing_kernel_token"], 1);

    // Where a token is required, the inputs are refused, still as a missing token.
    let fake = FakeGithub::start();
    let strict = signed_collector(&fake, "require_kernel_token = true\n");
    assert_eq!(crate::common::collector::post_event(&strict.url, &inputs), 202);
    let stats = strict.wait_for_stats(Duration::from_secs(10), |s| {
        s["hotfix"]["hotfix_ignored_missing_token"] == 1
    });
    assert_eq!(stats["hotfix"]["hotfix_missing_kernel_token"], 1);
    assert_eq!(stats["hotfix"]["hotfix_bad_signature"], 0);
    assert_eq!(stats["hotfix"]["hotfix_accepted"], 0);
}
