//! `POST /v1/crash` as clients and attackers meet it, against the real collector on loopback:
//! what is stored, what is answered, what is counted, and what never reaches the store or the
//! logs.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

use crate::common::collector::{Collector, file_contains, post, post_from, post_with, report};
use serde_json::json;

fn stored_reports(collector: &Collector) -> i64 {
    collector.query_one("SELECT count(*) FROM report_ids")
}

#[test]
fn a_valid_report_is_answered_202_and_stored_once() {
    let collector = Collector::start("", &[]);
    let body = report("python3", "FileNotFoundError", &["load", "main"]);
    let (status, _, answer) = post(&collector.url, body.to_string().as_bytes());
    assert_eq!((status, answer.as_str()), (202, "{}"));
    assert_eq!(collector.query_one("SELECT count FROM subjects"), 1);
    let stats = collector.stats();
    assert_eq!(stats["accepted"], 1);
    assert_eq!(stats["fingerprints"], 1);
    // No repository configured: nothing is queued for GitHub.
    assert_eq!(stats["github_queue_depth"], 0);
}

#[test]
fn the_same_report_id_twice_counts_once() {
    let collector = Collector::start("", &[]);
    let body = report("npm", "TypeError", &["run"]).to_string();
    assert_eq!(post(&collector.url, body.as_bytes()).0, 202);
    assert_eq!(post(&collector.url, body.as_bytes()).0, 202);
    assert_eq!(collector.query_one("SELECT count FROM subjects"), 1);
    assert_eq!(collector.stats()["duplicate_id"], 1);
}

#[test]
fn every_malformed_body_gets_202_nothing_stored_and_its_own_count() {
    let collector = Collector::start("", &[]);
    let valid = report("npm", "TypeError", &["run"]);
    let mut unknown = valid.clone();
    unknown["argv"] = json!(["--token", "x"]);
    let mut nested_unknown = report("npm", "TypeError", &["run"]);
    nested_unknown["stack_signature"] = json!([{"frame": "run", "locals": "x"}]);
    let mut missing = report("npm", "TypeError", &["run"]);
    missing.as_object_mut().unwrap().remove("phase");
    let mut wrong = report("npm", "TypeError", &["run"]);
    wrong["exit_code"] = json!("one");
    let json_type = [("content-type", "application/json")];
    type Case<'a> = (Vec<u8>, Vec<(&'a str, &'a str)>, &'a str);
    let cases: Vec<Case> = vec![
        (
            unknown.to_string().into_bytes(),
            json_type.to_vec(),
            "rejected_unknown_field",
        ),
        (
            missing.to_string().into_bytes(),
            json_type.to_vec(),
            "rejected_missing_field",
        ),
        (
            wrong.to_string().into_bytes(),
            json_type.to_vec(),
            "rejected_wrong_type",
        ),
        (
            nested_unknown.to_string().into_bytes(),
            json_type.to_vec(),
            "rejected_wrong_type",
        ),
        (b"{\"schema\": 1,".to_vec(), json_type.to_vec(), "rejected_malformed"),
        (Vec::new(), json_type.to_vec(), "rejected_empty"),
        (
            valid.to_string().into_bytes(),
            vec![("content-type", "text/plain")],
            "rejected_content_type",
        ),
        (
            valid.to_string().into_bytes(),
            vec![("content-type", "application/json"), ("content-encoding", "gzip")],
            "rejected_encoding",
        ),
    ];
    let client = reqwest::blocking::Client::new();
    for (body, headers, _) in &cases {
        let (status, _, answer) = post_with(&client, &collector.url, body, headers);
        assert_eq!((status, answer.as_str()), (202, "{}"));
    }
    assert_eq!(stored_reports(&collector), 0);
    let stats = collector.stats();
    for (_, _, metric) in &cases {
        assert!(stats["dropped"][metric].as_u64().unwrap() >= 1, "{metric}: {stats:#}");
    }
    assert_eq!(stats["dropped"]["rejected_wrong_type"], 2);
    assert_eq!(stats["accepted"], 0);
}

#[test]
fn a_body_over_the_cap_is_refused_with_413_and_never_read_whole() {
    let collector = Collector::start("body_limit = 4096\n", &[]);
    let mut big = report("npm", "TypeError", &["run"]);
    big["error_class"] = json!("x".repeat(5000));
    let (status, _, _) = post(&collector.url, big.to_string().as_bytes());
    assert_eq!(status, 413);

    // A chunked body with no length that passes the cap mid-stream: the collector answers 413
    // and closes the connection while the client is still sending.
    let address = collector.url.trim_start_matches("http://").to_string();
    let mut stream = TcpStream::connect(&address).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    stream.set_write_timeout(Some(Duration::from_secs(5))).unwrap();
    let head = format!(
        "POST /v1/crash HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).unwrap();
    let chunk = format!("{:x}\r\n{}\r\n", 1024, "a".repeat(1024));
    let mut sent = 0;
    for _ in 0..64 * 1024 {
        if stream.write_all(chunk.as_bytes()).is_err() {
            break;
        }
        sent += 1024;
    }
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.to_ascii_lowercase().contains("connection: close"), "{answer}");
    // Only the socket buffers' worth was taken after the answer, not the 64 MiB offered.
    assert!(sent < 32 * 1024 * 1024, "the collector read the whole endless body");
    assert_eq!(stored_reports(&collector), 0);
    assert_eq!(collector.stats()["dropped"]["dropped_oversize"], 2);
}

#[test]
fn secrets_in_every_field_never_reach_the_store_or_the_logs() {
    let collector = Collector::start("", &[("LOKIWRAP_LOG", "debug")]);
    let secrets = [
        "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
        "ghs_abcdefghijklmnopqrstuvwxyz0123456789",
        "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRS",
        "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl",
        "jane.doe@example.com",
        "203.0.113.77",
        "2001:db8:85a3::8a2e:370:7334",
        "/home/janedoe/",
        "https://api.example.com/v1?token=s3cr3tvalue",
    ];
    for secret in secrets {
        let mut leaky = report("npm", "TypeError", &["run"]);
        for field in ["tool_version", "runtime", "error_class", "friction_kind", "phase"] {
            leaky[field] = json!(format!("{field} {secret}"));
        }
        leaky["stack_signature"] = json!([format!("frame {secret}"), "main"]);
        let (status, _, _) = post(&collector.url, leaky.to_string().as_bytes());
        assert_eq!(status, 202, "{secret}");
    }
    let stats = collector.stats();
    assert_eq!(
        stats["accepted"],
        secrets.len() as u64,
        "{stats:#}\n{}",
        collector.logs()
    );
    assert_eq!(stats["scrub_misses"], secrets.len() as u64);
    let wal = collector.database().with_extension("sqlite-wal");
    for secret in secrets {
        let probe = secret.trim_end_matches('/');
        assert!(
            !file_contains(&collector.database(), probe),
            "{secret} is in the database"
        );
        assert!(!file_contains(&wal, probe), "{secret} is in the database's log");
        assert!(!collector.logs().contains(probe), "{secret} is in the logs");
    }
}

#[test]
fn a_forged_fingerprint_cannot_merge_two_crashes() {
    let collector = Collector::start("", &[]);
    let first = report("npm", "TypeError", &["run"]);
    let mut second = report("npm", "RangeError", &["parse"]);
    second["fingerprint"] = first["fingerprint"].clone();
    post(&collector.url, first.to_string().as_bytes());
    post(&collector.url, second.to_string().as_bytes());
    assert_eq!(collector.query_one("SELECT count(*) FROM subjects"), 2);
    assert_eq!(collector.stats()["fingerprint_replaced"], 1);
}

#[test]
fn one_address_over_its_rate_gets_429_and_another_address_does_not() {
    let collector = Collector::start("[limits]\nper_ip_per_minute = 3\n", &[]);
    let client = reqwest::blocking::Client::new();
    let json_type = [("content-type", "application/json")];
    for _ in 0..3 {
        let body = report("npm", "TypeError", &["run"]).to_string();
        assert_eq!(post_with(&client, &collector.url, body.as_bytes(), &json_type).0, 202);
    }
    let body = report("npm", "TypeError", &["run"]).to_string();
    let (status, retry_after, _) = post_with(&client, &collector.url, body.as_bytes(), &json_type);
    assert_eq!(status, 429);
    let retry_after: u64 = retry_after.expect("Retry-After").parse().unwrap();
    assert!((1..=60).contains(&retry_after));

    let other = reqwest::blocking::Client::builder()
        .local_address("127.0.0.2".parse().ok())
        .build()
        .unwrap();
    let body = report("npm", "TypeError", &["run"]).to_string();
    assert_eq!(post_with(&other, &collector.url, body.as_bytes(), &json_type).0, 202);
    let stats = collector.stats();
    assert_eq!(stats["dropped"]["dropped_rate_ip"], 1);
    assert_eq!(stats["accepted"], 4);
}

#[test]
fn a_flood_of_one_project_from_one_address_does_not_silence_its_other_senders() {
    // Anyone can compute a public project's id: a per-project total would let one sender use
    // it all up. The project's limit holds per address, so the flood is refused and the other
    // senders' reports of the same project are not.
    let collector = Collector::start("[limits]\nper_project_per_minute = 2\n", &[]);
    let mut body = report("npm", "TypeError", &["run"]);
    body["project_id_hash"] = json!("a".repeat(64));
    let mut send = |last: u8| {
        body["id"] = json!(lokiwrap_report::payload::new_id().unwrap());
        post_from(last, &collector.url, body.to_string().as_bytes()).0
    };
    let flood: Vec<u16> = (0..4).map(|_| send(2)).collect();
    assert_eq!(flood, [202, 202, 429, 429]);
    let others: Vec<u16> = (3..=6).map(&mut send).collect();
    assert_eq!(
        others,
        [202, 202, 202, 202],
        "the flood silenced the project's other senders"
    );
    assert_eq!(collector.stats()["dropped"]["dropped_rate_project"], 2);
    assert_eq!(stored_reports(&collector), 6);
}

#[test]
fn forwarded_for_counts_only_from_a_trusted_proxy() {
    let json_type = |xff: &'static str| vec![("content-type", "application/json"), ("x-forwarded-for", xff)];
    let client = reqwest::blocking::Client::new();
    let untrusting = Collector::start("[limits]\nper_ip_per_minute = 1\n", &[]);
    let trusting = Collector::start(
        "trusted_proxies = [\"127.0.0.1\"]\n[limits]\nper_ip_per_minute = 1\n",
        &[],
    );
    let answers = |collector: &Collector| -> Vec<u16> {
        ["198.51.100.1", "198.51.100.2", "198.51.100.3"]
            .iter()
            .map(|xff| {
                let body = report("npm", "TypeError", &["run"]).to_string();
                post_with(&client, &collector.url, body.as_bytes(), &json_type(xff)).0
            })
            .collect()
    };
    // Spoofed addresses from an untrusted peer are one client.
    assert_eq!(answers(&untrusting), [202, 429, 429]);
    // Behind a trusted proxy each forwarded address is its own client.
    assert_eq!(answers(&trusting), [202, 202, 202]);
}

#[test]
fn health_and_stats_answer_and_stats_need_the_admin_token() {
    let collector = Collector::start("", &[]);
    let client = reqwest::blocking::Client::new();
    let health = client.get(format!("{}/healthz", collector.url)).send().unwrap();
    assert_eq!(health.status(), 200);
    let anonymous = client.get(format!("{}/v1/stats", collector.url)).send().unwrap();
    assert_eq!(anonymous.status(), 401);
    let wrong = client
        .get(format!("{}/v1/stats", collector.url))
        .bearer_auth("guess")
        .send()
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let stats = collector.stats();
    for key in ["accepted", "dropped", "fingerprints", "issues", "github_queue_depth"] {
        assert!(stats.get(key).is_some(), "{key} missing from {stats:#}");
    }
    for key in ["issues_created", "issues_updated", "issues_reopened"] {
        assert_eq!(stats["issues"][key], 0);
    }
}

#[test]
fn a_lokiwrap_crash_report_arrives_in_the_collector() {
    let Some(client) = crate::common::lokiwrap() else {
        eprintln!("skipped: lokiwrap is not built next to lokiwrap-collector; run cargo test --workspace");
        return;
    };
    let collector = Collector::start("", &[]);
    let home = tempfile::tempdir().unwrap();
    let endpoint = &collector.url;
    crate::common::write_config(
        home.path(),
        &format!("notice_shown = true\nendpoint = \"{endpoint}\"\n"),
    );
    let status = crate::common::lokiwrap_as(
        &client,
        home.path(),
        &["--", "sh", "-c", "echo 'Traceback (most recent call last):' >&2; echo '  File \"x.py\", line 1, in <module>' >&2; echo 'ValueError: boom' >&2; exit 1"],
    )
    .stderr(std::process::Stdio::null())
    .status()
    .unwrap();
    assert_eq!(status.code(), Some(1));
    let stats = collector.wait_for_stats(Duration::from_secs(20), |stats| stats["accepted"] == 1);
    assert_eq!(stats["fingerprints"], 1, "{stats:#}");
    let class: String = rusqlite::Connection::open(collector.database())
        .unwrap()
        .query_row(
            "SELECT json_extract(details, '$.error_class') FROM subjects",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(class, "ValueError");
}

#[test]
fn configuration_mistakes_stop_the_collector_with_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let run = |config: &str| {
        let path = dir.path().join("collector.toml");
        std::fs::write(&path, config).unwrap();
        let output = Command::new(crate::common::collector::binary())
            .arg("--config")
            .arg(&path)
            .args(["--listen", "127.0.0.1:0", "--database"])
            .arg(dir.path().join("db.sqlite"))
            .env_remove("LOKIWRAP_GITHUB_TOKEN")
            .output()
            .unwrap();
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let (code, stderr) = run("listen = \"127.0.0.1:8080\"\nlisen = 1\n");
    assert_eq!(code, Some(1));
    assert!(stderr.contains("lisen"), "{stderr}");
    let (code, stderr) = run("[github]\ntriage_repo = \"acme/triage\"\n");
    assert_eq!(code, Some(1));
    assert!(stderr.contains("LOKIWRAP_GITHUB_TOKEN is not set"), "{stderr}");
}
