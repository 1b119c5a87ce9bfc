//! `/v1/events` and `/github/webhook` under attack: large events sent in parallel must not
//! stall other requests, and a signed webhook replayed with new delivery ids must count once.

use std::time::{Duration, Instant};

use crate::common::collector::{Collector, post_event};
use crate::common::fake_github::{FakeGithub, TEST_TOKEN};
use lokiwrap_collector::hotfix::webhook::sign;
use serde_json::{Value, json};

const SECRET: &str = "webhook-secret-for-tests";

fn fixture(name: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/hotfix")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// A collector with `top` before its tables and `extra` at the end of `[hotfix]`.
fn start_with(fake: &FakeGithub, top: &str, extra: &str) -> Collector {
    let config = format!(
        "{top}[github]\napi_url = \"{}\"\nwrite_interval_ms = 20\nnotify_interval_ms = 20\n\
         [hotfix]\nenabled = true\nallow_unsigned_events = true\ntarget_repos = [\"ubiquity-os-marketplace\"]\n\
         allowlist_repos = [\"ubiquity-os-marketplace/daemon-pricing\"]\n{extra}",
        fake.url
    );
    Collector::start(
        &config,
        &[
            ("LOKIWRAP_GITHUB_TOKEN", TEST_TOKEN),
            ("LOKIWRAP_WEBHOOK_SECRET", SECRET),
        ],
    )
}

fn start(fake: &FakeGithub, extra: &str) -> Collector {
    start_with(fake, "", extra)
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

#[test]
fn large_events_in_parallel_do_not_stall_health() {
    let fake = FakeGithub::start();
    let collector = start_with(
        &fake,
        "events_body_limit = 1048576\n",
        "[limits]\nevents_per_ip_per_minute = 100000\n",
    );
    // A 0.9 MB message, words and numbers the scrubber must look at.
    let mut event = fixture("kernel_plugin_error.json");
    let words: String = (0..90_000).map(|n| format!("stage{n} ")).collect();
    event["error"]["message"] = json!(words[..900_000]);
    let body = event.to_string();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let senders: Vec<_> = (0..8)
        .map(|_| {
            let (url, body, stop) = (collector.url.clone(), body.clone(), stop.clone());
            std::thread::spawn(move || {
                let client = reqwest::blocking::Client::new();
                let mut sent = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let answer = client
                        .post(format!("{url}/v1/events"))
                        .header("content-type", "application/json")
                        .body(body.clone())
                        .send();
                    assert_eq!(answer.unwrap().status(), 202);
                    sent += 1;
                }
                sent
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    let client = reqwest::blocking::Client::new();
    let probes: Vec<Duration> = (0..20)
        .map(|_| {
            let started = Instant::now();
            let status = client
                .get(format!("{}/healthz", collector.url))
                .send()
                .unwrap()
                .status();
            assert_eq!(status, 200);
            let took = started.elapsed();
            std::thread::sleep(Duration::from_millis(100));
            took
        })
        .collect();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let sent: usize = senders.into_iter().map(|sender| sender.join().unwrap()).sum();
    assert!(sent >= 8, "the senders did not get through: {sent}");
    let slowest = probes.iter().max().copied().unwrap();
    assert!(
        median(probes.clone()) < Duration::from_millis(100) && slowest < Duration::from_secs(1),
        "/healthz under {sent} large events: median {:?}, slowest {slowest:?}",
        median(probes)
    );
}

fn post_webhook(collector: &Collector, body: &str, delivery: &str) -> u16 {
    reqwest::blocking::Client::new()
        .post(format!("{}/github/webhook", collector.url))
        .header("content-type", "application/json")
        .header("x-github-event", "workflow_run")
        .header("x-github-delivery", delivery)
        .header("x-hub-signature-256", sign(SECRET.as_bytes(), body.as_bytes()))
        .body(body.to_string())
        .send()
        .unwrap()
        .status()
        .as_u16()
}

#[test]
fn a_signed_run_replayed_with_new_delivery_ids_counts_once_and_the_route_is_rate_limited() {
    let fake = FakeGithub::start();
    let collector = start(&fake, "[limits]\nwebhooks_per_ip_per_minute = 10\n");
    let failed = fixture("workflow_run_failure.json").to_string();
    for n in 0..8 {
        assert_eq!(
            post_webhook(&collector, &failed, &format!("replayed-delivery-{n}")),
            202
        );
    }
    let stats = collector.wait_for_stats(Duration::from_secs(10), |s| s["hotfix"]["hotfix_accepted"] == 1);
    assert_eq!(stats["duplicate_id"], 7, "{stats:#}");
    assert_eq!(collector.query_one("SELECT max(count) FROM subjects"), 1);
    // A new attempt of the same run is a new occurrence.
    let mut retried: Value = serde_json::from_str(&failed).unwrap();
    retried["workflow_run"]["run_attempt"] = json!(2);
    assert_eq!(post_webhook(&collector, &retried.to_string(), "attempt-2"), 202);
    assert_eq!(
        collector.wait_for_stats(Duration::from_secs(10), |s| s["hotfix"]["hotfix_accepted"] == 2)["duplicate_id"],
        7
    );
    // The route has its own rate: ten a minute here, and nine were sent.
    assert_eq!(post_webhook(&collector, &failed, "the-tenth"), 202);
    assert_eq!(post_webhook(&collector, &failed, "over-the-rate"), 429);
}

#[test]
fn signed_inputs_without_an_expiry_or_for_another_plugin_can_be_refused() {
    let key = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hotfix/kernel_test_public_key.pem");
    // Signed, but with no ubiquityKernelToken: nothing says when, so it never expires.
    let unattested = fixture("signed_inputs_without_token.json");
    let own_ref = unattested["ref"].as_str().unwrap().to_string();
    for (extra, filed) in [
        ("require_kernel_token = true\n".to_string(), false),
        (
            "kernel_ref = \"https://another-plugin.example.dev\"\n".to_string(),
            false,
        ),
        (format!("kernel_ref = \"{own_ref}\"\n"), true),
    ] {
        let fake = FakeGithub::start();
        let config = format!(
            "[github]\napi_url = \"{}\"\n[hotfix]\nenabled = true\nkernel_public_key_file = \"{}\"\n{extra}",
            fake.url,
            key.display()
        );
        let collector = Collector::start(&config, &[("LOKIWRAP_GITHUB_TOKEN", TEST_TOKEN)]);
        assert_eq!(post_event(&collector.url, &unattested), 202);
        let counter = if filed {
            "hotfix_accepted"
        } else {
            "hotfix_bad_signature"
        };
        collector.wait_for_stats(Duration::from_secs(10), |s| s["hotfix"][counter] == 1);
        assert_eq!(
            collector.stats()["hotfix"]["hotfix_accepted"],
            u64::from(filed),
            "{extra}"
        );
    }
}
