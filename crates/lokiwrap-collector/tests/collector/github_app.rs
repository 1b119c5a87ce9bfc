//! The collector as a GitHub App, end to end: a real collector files crashes into repositories
//! of different installations on the fake GitHub, which checks the App's JWT against its public
//! key, issues installation tokens that expire, and journals which installation's token each
//! request carried.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::common::collector::{Collector, binary, post, report};
use crate::common::fake_github::{Call, FakeGithub, TEST_TOKEN};

const APP_ID: u64 = 31337;
const REPO_A: &str = "org-a/tool-a";
const REPO_B: &str = "org-b/tool-b";
const WAIT: Duration = Duration::from_secs(20);

fn key_file(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/github_app")
        .join(name)
}

/// Crashes of `tool-a` go to `REPO_A`, of `tool-b` to `REPO_B`, filed as the App.
fn app_settings(api_url: &str) -> String {
    format!(
        "[limits]\nper_ip_per_minute = 100000\nper_project_per_minute = 100000\n\n\
         [github]\napi_url = \"{api_url}\"\nlabels = [\"crash-report\"]\nwrite_interval_ms = 20\n\
         notify_interval_ms = 20\nupdate_interval_secs = 1\nrequest_timeout_secs = 5\n\n\
         [github.tool_repos]\ntool-a = \"{REPO_A}\"\ntool-b = \"{REPO_B}\"\n\n\
         [github.app]\napp_id = {APP_ID}\nprivate_key_file = \"{}\"\nnot_installed_recheck_secs = 1\n",
        key_file("app_test_private_key.pem").display()
    )
}

fn start(fake: &FakeGithub) -> Collector {
    // At debug level: whatever the collector or its HTTP client would say, no secret is in it.
    Collector::start(&app_settings(&fake.url), &[("LOKIWRAP_LOG", "debug")])
}

fn crash(collector: &Collector, tool: &str, class: &str) {
    let body = report(tool, class, &["main.py:1"]).to_string();
    let (status, _, answer) = post(&collector.url, body.as_bytes());
    assert_eq!((status, answer.as_str()), (202, "{}"));
}

fn calls_to(fake: &FakeGithub, repo: &str) -> Vec<Call> {
    let prefix = format!("/repos/{repo}/");
    fake.journal()
        .into_iter()
        .filter(|call| call.path.starts_with(&prefix) && !call.path.ends_with("/installation"))
        .collect()
}

fn bearer(call: &Call) -> String {
    call.headers["authorization"].trim_start_matches("Bearer ").to_string()
}

/// Neither an installation token, nor a JWT the App signed, nor a line of its key is in the
/// collector's logs.
fn assert_no_secret_in_logs(collector: &Collector, fake: &FakeGithub) {
    let logs = collector.logs();
    let issued = fake.issued_tokens();
    assert!(!issued.is_empty(), "tokens were issued");
    for (_, token) in &issued {
        assert!(!logs.contains(token.as_str()), "an installation token is in the logs");
    }
    let jwts: Vec<String> = fake
        .journal()
        .iter()
        .filter(|call| call.path.ends_with("/installation") || call.path.ends_with("/access_tokens"))
        .map(bearer)
        .collect();
    assert!(!jwts.is_empty());
    for jwt in &jwts {
        assert!(!logs.contains(jwt.as_str()), "the App's JWT is in the logs");
        // Its signature alone is a credential for as long as the JWT lives.
        assert!(!logs.contains(jwt.rsplit('.').next().unwrap()));
    }
    let key = std::fs::read_to_string(key_file("app_test_private_key.pem")).unwrap();
    for line in key.lines().filter(|line| !line.starts_with("-----")) {
        assert!(!logs.contains(line), "a line of the App's private key is in the logs");
    }
    assert!(!logs.contains("PRIVATE KEY-----"), "the App's key is in the logs");
}

/// Waits until `repo` has been sent `count` new issues, or fails with the collector's logs.
fn wait_for_issues(fake: &FakeGithub, collector: &Collector, repo: &str, count: usize) {
    assert!(
        fake.wait_for("POST", &format!("/repos/{repo}/issues"), count, WAIT),
        "{}",
        collector.logs()
    );
}

#[test]
fn issues_in_two_installations_repositories_each_use_their_installations_token() {
    let fake = FakeGithub::start();
    fake.enable_app(APP_ID);
    fake.install(1, &[REPO_A]);
    fake.install(2, &[REPO_B]);
    let collector = start(&fake);
    crash(&collector, "tool-a", "ValueError");
    crash(&collector, "tool-b", "KeyError");
    wait_for_issues(&fake, &collector, REPO_A, 1);
    wait_for_issues(&fake, &collector, REPO_B, 1);
    // A second crash in each: the cached tokens serve, no new one is asked for.
    crash(&collector, "tool-a", "TypeError");
    crash(&collector, "tool-b", "OSError");
    wait_for_issues(&fake, &collector, REPO_A, 2);
    wait_for_issues(&fake, &collector, REPO_B, 2);
    assert_eq!(fake.issues(REPO_A).len(), 2);
    assert_eq!(fake.issues(REPO_B).len(), 2);

    let issued = fake.issued_tokens();
    let token_of = |installation: u64| {
        let tokens: Vec<&String> = issued
            .iter()
            .filter(|(i, _)| *i == installation)
            .map(|(_, t)| t)
            .collect();
        assert_eq!(tokens.len(), 1, "one token per installation, cached: {issued:?}");
        tokens[0].clone()
    };
    let (token_a, token_b) = (token_of(1), token_of(2));
    for (repo, installation, token) in [(REPO_A, 1, &token_a), (REPO_B, 2, &token_b)] {
        let calls = calls_to(&fake, repo);
        assert!(calls.iter().filter(|c| c.method == "POST").count() >= 2);
        for call in &calls {
            assert_eq!(call.installation, Some(installation), "{} {}", call.method, call.path);
            assert_eq!(&bearer(call), token, "{} {}", call.method, call.path);
            assert!(
                call.status < 400,
                "{} {} answered {}",
                call.method,
                call.path,
                call.status
            );
        }
        assert_eq!(
            fake.count("GET", &format!("/repos/{repo}/installation")),
            1,
            "the installation is cached"
        );
    }
    assert_eq!(fake.count("POST", "/app/installations/*/access_tokens"), 2);
    assert!(fake.problems().is_empty(), "{:#?}", fake.problems());
    assert_no_secret_in_logs(&collector, &fake);
}

#[test]
fn a_token_refused_as_expired_is_replaced_once_and_the_write_succeeds() {
    let fake = FakeGithub::start();
    fake.enable_app(APP_ID);
    fake.install(1, &[REPO_A]);
    let collector = start(&fake);
    crash(&collector, "tool-a", "ValueError");
    wait_for_issues(&fake, &collector, REPO_A, 1);
    let first = fake.issued_tokens();
    assert_eq!(first.len(), 1);
    // GitHub no longer takes it, though its expires_at is an hour away.
    fake.expire_tokens();
    crash(&collector, "tool-a", "TypeError");
    wait_for_issues(&fake, &collector, REPO_A, 3);
    let issued = fake.issued_tokens();
    assert_eq!(issued.len(), 2, "one new token, asked for once: {issued:?}");
    let calls = calls_to(&fake, REPO_A);
    let refused: Vec<usize> = (0..calls.len()).filter(|&i| calls[i].status == 401).collect();
    assert_eq!(refused.len(), 1, "one refusal, then the new token");
    let (refusal, retry) = (&calls[refused[0]], &calls[refused[0] + 1]);
    assert_eq!(bearer(refusal), first[0].1);
    assert_eq!(
        (retry.method.as_str(), retry.path.as_str()),
        (refusal.method.as_str(), refusal.path.as_str())
    );
    assert_eq!(bearer(retry), issued[1].1);
    assert!(retry.status < 300, "the write went through: {}", retry.status);
    assert_eq!(fake.issues(REPO_A).len(), 2);
    assert_no_secret_in_logs(&collector, &fake);
}

#[test]
fn a_token_near_its_expiry_is_replaced_before_it_is_used() {
    let fake = FakeGithub::start();
    fake.enable_app(APP_ID);
    fake.install(1, &[REPO_A]);
    fake.set_token_lifetime(Duration::from_secs(4));
    let collector = start(&fake);
    crash(&collector, "tool-a", "ValueError");
    wait_for_issues(&fake, &collector, REPO_A, 1);
    assert_eq!(fake.issued_tokens().len(), 1);
    // Past half of its four seconds: the collector asks for a new one before GitHub refuses.
    std::thread::sleep(Duration::from_secs(3));
    crash(&collector, "tool-a", "TypeError");
    wait_for_issues(&fake, &collector, REPO_A, 2);
    assert!(fake.issued_tokens().len() >= 2);
    assert!(
        fake.journal().iter().all(|call| call.status != 401),
        "no request went out with an expired token"
    );
}

#[test]
fn a_repository_without_the_app_parks_its_jobs_and_is_filed_once_installed() {
    let fake = FakeGithub::start();
    fake.enable_app(APP_ID);
    fake.install(1, &[REPO_A]);
    let collector = start(&fake);
    crash(&collector, "tool-b", "KeyError");
    let stats = collector.wait_for_stats(WAIT, |s| s["issues"]["github_app_not_installed"].as_u64() >= Some(1));
    assert_eq!(stats["github_queue_depth"], 1);
    let logs = collector.logs();
    assert!(
        logs.lines()
            .any(|line| line.contains("not installed on org-b/tool-b") && line.contains("install the App")),
        "{logs}"
    );
    // The other installation's repository is not held up.
    crash(&collector, "tool-a", "ValueError");
    wait_for_issues(&fake, &collector, REPO_A, 1);
    // Looked up again, and still parked.
    collector.wait_for_stats(WAIT, |s| s["issues"]["github_app_not_installed"].as_u64() >= Some(2));
    assert_eq!(fake.count("*", &format!("/repos/{REPO_B}/issues")), 0);

    fake.install(2, &[REPO_B]);
    wait_for_issues(&fake, &collector, REPO_B, 1);
    let filed = calls_to(&fake, REPO_B);
    assert!(
        filed
            .iter()
            .all(|call| call.installation == Some(2) && call.status < 400)
    );
    assert_eq!(fake.issues(REPO_B).len(), 1);
    collector.wait_for_stats(WAIT, |s| s["github_queue_depth"] == 0);
    assert!(fake.problems().is_empty(), "{:#?}", fake.problems());
    assert_no_secret_in_logs(&collector, &fake);
}

/// Runs the collector with `config` and `env` until it exits; its status and stderr.
fn refused_at_start(config: &str, env: &[(&str, &str)]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("collector.toml");
    std::fs::write(&path, config).unwrap();
    let mut command = Command::new(binary());
    command
        .args(["--listen", "127.0.0.1:0", "--config"])
        .arg(&path)
        .arg("--database")
        .arg(dir.path().join("c.sqlite"))
        .env_remove("LOKIWRAP_GITHUB_TOKEN")
        .stdin(Stdio::null());
    for (name, value) in env {
        command.env(name, value);
    }
    let output = command.output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(!output.status.success(), "it started: {stderr}");
    stderr
}

#[test]
fn both_identities_a_bad_key_file_and_app_id_zero_are_refused_at_start() {
    let base = app_settings("https://api.github.com");
    let good_key = key_file("app_test_private_key.pem").display().to_string();
    let stderr = refused_at_start(&base, &[("LOKIWRAP_GITHUB_TOKEN", TEST_TOKEN)]);
    assert!(
        stderr.contains("[github.app]") && stderr.contains("LOKIWRAP_GITHUB_TOKEN"),
        "{stderr}"
    );
    assert!(!stderr.contains(TEST_TOKEN), "{stderr}");
    let dir = tempfile::tempdir().unwrap();
    let not_pem = dir.path().join("not.pem");
    std::fs::write(
        &not_pem,
        "-----BEGIN RSA PRIVATE KEY-----\nc2VjcmV0LWJ1dC1icm9rZW4=\n-----END RSA PRIVATE KEY-----\n",
    )
    .unwrap();
    for bad in [
        dir.path().join("absent.pem"),
        not_pem,
        key_file("app_test_public_key.pem"),
    ] {
        let config = base.replace(&good_key, &bad.display().to_string());
        let stderr = refused_at_start(&config, &[]);
        assert!(stderr.contains("github.app.private_key_file"), "{stderr}");
        assert!(!stderr.contains("c2VjcmV0LWJ1dC1icm9rZW4="), "{stderr}");
    }
    let stderr = refused_at_start(&base.replace(&format!("app_id = {APP_ID}"), "app_id = 0"), &[]);
    assert!(stderr.contains("github.app.app_id"), "{stderr}");
}
