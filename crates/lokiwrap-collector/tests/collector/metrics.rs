//! `GET /metrics`, as a Prometheus server scraping a real collector would see it: who may read
//! it, that its counts are exactly what was sent, and that the text is Prometheus's format.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::common::collector::{Collector, post, report};
use crate::common::fake_github::{FakeGithub, TEST_TOKEN};

const TOKEN: &str = "dashboard-token-for-tests";

fn with_token() -> Collector {
    Collector::start("", &[("LOKIWRAP_DASHBOARD_TOKEN", TOKEN)])
}

fn get(url: &str, authorization: Option<&str>) -> reqwest::blocking::Response {
    let mut request = reqwest::blocking::Client::new().get(format!("{url}/metrics"));
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    request.send().unwrap()
}

fn basic(user: &str, password: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{user}:{password}")))
}

/// The scrape's samples, `name{labels}` to value, after checking every line's shape and that
/// `prometheus-parse` reads the whole text.
fn samples(text: &str) -> BTreeMap<String, f64> {
    let name = r"[a-zA-Z_:][a-zA-Z0-9_:]*";
    let help = regex::Regex::new(&format!(r"^# HELP {name} \S.*$")).unwrap();
    let kind = regex::Regex::new(&format!(r"^# TYPE {name} (counter|gauge|histogram|summary|untyped)$")).unwrap();
    let sample = regex::Regex::new(&format!(
        r#"^({name}(\{{{name}="(?:[^"\\]|\\.)*"(?:,{name}="(?:[^"\\]|\\.)*")*\}})?) (\S+)$"#
    ))
    .unwrap();
    let mut found = BTreeMap::new();
    for line in text.lines().filter(|line| !line.is_empty()) {
        if help.is_match(line) || kind.is_match(line) {
            continue;
        }
        let captures = sample
            .captures(line)
            .unwrap_or_else(|| panic!("not a Prometheus text line: {line:?}"));
        let value = &captures[3];
        let parsed: f64 = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            other => other.parse().unwrap_or_else(|_| panic!("not a number in {line:?}")),
        };
        assert!(
            found.insert(captures[1].to_string(), parsed).is_none(),
            "series twice: {line}"
        );
    }
    let lines = text.lines().map(|line| Ok(line.to_string()));
    let parsed = prometheus_parse::Scrape::parse(lines).expect("prometheus-parse reads the scrape");
    assert!(!parsed.samples.is_empty());
    found
}

fn value(samples: &BTreeMap<String, f64>, series: &str) -> f64 {
    *samples.get(series).unwrap_or_else(|| {
        panic!(
            "{series} is not in the scrape: {:#?}",
            samples.keys().collect::<Vec<_>>()
        )
    })
}

#[test]
fn metrics_need_the_dashboard_token_as_bearer_or_basic_password() {
    let collector = with_token();
    for refused in [
        None,
        Some("Bearer wrong-token".to_string()),
        Some(format!("Bearer {TOKEN}x")),
        Some(basic("prometheus", "wrong-token")),
        // The token as a user name is not a password.
        Some(basic(TOKEN, "")),
    ] {
        let answer = get(&collector.url, refused.as_deref());
        assert_eq!(answer.status(), 401, "{refused:?}");
        let challenge = answer.headers()["www-authenticate"].to_str().unwrap().to_string();
        assert!(challenge.starts_with("Basic "), "{challenge}");
        assert!(!answer.text().unwrap().contains("lokiwrap_collector_"));
    }
    for accepted in [format!("Bearer {TOKEN}"), basic("prometheus", TOKEN), basic("", TOKEN)] {
        let answer = get(&collector.url, Some(&accepted));
        assert_eq!(answer.status(), 200, "{accepted}");
        let content_type = answer.headers()["content-type"].to_str().unwrap().to_string();
        assert!(content_type.starts_with("text/plain; version=0.0.4"), "{content_type}");
        let scraped = samples(&answer.text().unwrap());
        assert_eq!(value(&scraped, "lokiwrap_collector_reports_accepted_total"), 0.0);
    }
}

#[test]
fn metrics_are_off_without_a_token() {
    let collector = Collector::start("", &[]);
    let answer = get(&collector.url, Some("Bearer anything"));
    assert_eq!(answer.status(), 404);
    let message = answer.text().unwrap();
    assert!(
        message.contains("LOKIWRAP_DASHBOARD_TOKEN") && message.contains("metrics_listen"),
        "{message}"
    );
}

#[test]
fn the_scrape_counts_exactly_what_was_sent_and_agrees_with_stats() {
    let collector = with_token();
    let mut bodies = Vec::new();
    for n in 0..5 {
        bodies.push(report("npm", &format!("Error{n}"), &["main", "run"]).to_string());
    }
    for body in &bodies {
        assert_eq!(post(&collector.url, body.as_bytes()).0, 202);
    }
    // Two resends of reports already stored, and three bodies that are not reports.
    for body in &bodies[..2] {
        assert_eq!(post(&collector.url, body.as_bytes()).0, 202);
    }
    for _ in 0..3 {
        assert_eq!(post(&collector.url, b"{not json").0, 202);
    }
    // A path nobody routes: counted as unmatched, never under its own name.
    let client = reqwest::blocking::Client::new();
    let stray = client
        .get(format!("{}/wp-admin/attacker-chosen-9f2e", collector.url))
        .send()
        .unwrap();
    assert_eq!(stray.status(), 404);

    let text = get(&collector.url, Some(&format!("Bearer {TOKEN}"))).text().unwrap();
    let scraped = samples(&text);
    assert_eq!(value(&scraped, "lokiwrap_collector_reports_accepted_total"), 5.0);
    assert_eq!(value(&scraped, "lokiwrap_collector_reports_duplicate_total"), 2.0);
    assert_eq!(
        value(
            &scraped,
            "lokiwrap_collector_reports_dropped_total{reason=\"rejected_malformed\"}"
        ),
        3.0
    );
    assert_eq!(
        value(
            &scraped,
            "lokiwrap_collector_reports_dropped_total{reason=\"dropped_oversize\"}"
        ),
        0.0
    );
    assert_eq!(value(&scraped, "lokiwrap_collector_scrub_misses_total"), 0.0);
    assert_eq!(value(&scraped, "lokiwrap_collector_store_errors_total"), 0.0);
    // Every post to /v1/crash was timed under its route, once each.
    assert_eq!(
        value(
            &scraped,
            "lokiwrap_collector_http_request_duration_seconds_count{route=\"/v1/crash\"}"
        ),
        10.0
    );
    assert_eq!(
        value(
            &scraped,
            "lokiwrap_collector_http_request_duration_seconds_bucket{route=\"/v1/crash\",le=\"+Inf\"}"
        ),
        10.0
    );
    assert_eq!(
        value(
            &scraped,
            "lokiwrap_collector_http_request_duration_seconds_count{route=\"unmatched\"}"
        ),
        1.0
    );
    assert!(!text.contains("wp-admin"), "a raw path became a label:\n{text}");
    // Nothing is filed here: the queue is empty and the whole budget left.
    assert_eq!(value(&scraped, "lokiwrap_collector_github_queue_depth"), 0.0);
    assert_eq!(value(&scraped, "lokiwrap_collector_github_budget_left"), 400.0);
    assert_eq!(value(&scraped, "lokiwrap_collector_subjects"), 5.0);
    assert_eq!(value(&scraped, "lokiwrap_collector_store_readable"), 1.0);

    // /v1/stats reads the same counts.
    let stats = collector.stats();
    assert_eq!(stats["accepted"], 5);
    assert_eq!(stats["duplicate_id"], 2);
    assert_eq!(stats["dropped"]["rejected_malformed"], 3);
    assert_eq!(stats["fingerprints"], 5);
}

#[test]
fn github_writes_are_counted_by_kind_and_answer_and_spend_the_budget() {
    let fake = FakeGithub::start();
    let config = format!(
        "[github]\napi_url = \"{}\"\ntriage_repo = \"acme/triage\"\nwrite_interval_ms = 50\n\
         notify_interval_ms = 50\nhourly_budget = 100\n",
        fake.url
    );
    let collector = Collector::start(
        &config,
        &[
            ("LOKIWRAP_GITHUB_TOKEN", TEST_TOKEN),
            ("LOKIWRAP_DASHBOARD_TOKEN", TOKEN),
        ],
    );
    let crash = report("npm", "TypeError", &["main"]);
    assert_eq!(post(&collector.url, crash.to_string().as_bytes()).0, 202);
    let deadline = Instant::now() + Duration::from_secs(20);
    let scraped = loop {
        let text = get(&collector.url, Some(&format!("Bearer {TOKEN}"))).text().unwrap();
        let scraped = samples(&text);
        let created = scraped
            .get("lokiwrap_collector_github_requests_total{answer=\"2xx\",kind=\"create\"}")
            .copied();
        if created == Some(1.0) && scraped.get("lokiwrap_collector_github_queue_depth") == Some(&0.0) {
            break scraped;
        }
        assert!(
            Instant::now() < deadline,
            "no issue filed:\n{text}\n{}",
            collector.logs()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(fake.count("POST", "/repos/acme/triage/issues"), 1);
    assert_eq!(
        value(&scraped, "lokiwrap_collector_issues{action=\"issues_created\"}"),
        1.0
    );
    let budget = value(&scraped, "lokiwrap_collector_github_budget_left");
    assert!(budget < 100.0, "the create spent none of the budget: {budget}");
}

#[test]
fn metrics_listen_serves_without_a_token_on_its_own_address() {
    let collector = Collector::start("metrics_listen = \"127.0.0.1:0\"\n", &[]);
    // The main address still wants the token, which is unset.
    assert_eq!(get(&collector.url, None).status(), 404);
    let deadline = Instant::now() + Duration::from_secs(10);
    let address = loop {
        let logs = collector.logs();
        let found = logs
            .lines()
            .filter(|line| line.contains("metrics_listen"))
            .find_map(|line| {
                let entry: serde_json::Value = serde_json::from_str(line).ok()?;
                entry["fields"]["address"].as_str().map(String::from)
            });
        if let Some(address) = found {
            break address;
        }
        assert!(Instant::now() < deadline, "no metrics listener in the logs:\n{logs}");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_ne!(format!("http://{address}"), collector.url);
    assert_eq!(
        post(&collector.url, report("npm", "E", &["main"]).to_string().as_bytes()).0,
        202
    );
    let answer = get(&format!("http://{address}"), None);
    assert_eq!(answer.status(), 200);
    let scraped = samples(&answer.text().unwrap());
    assert_eq!(value(&scraped, "lokiwrap_collector_reports_accepted_total"), 1.0);
    // Only /metrics is served there: reports still go to the main address alone.
    let (status, _, _) = post(&format!("http://{address}"), b"{}");
    assert_eq!(status, 404);
}
