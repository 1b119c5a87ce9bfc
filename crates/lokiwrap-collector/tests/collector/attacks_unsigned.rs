//! Unsigned events must not choose where issues go. Without the kernel's key anyone who can
//! reach `POST /v1/events` writes the event, so the collector starts that way only when told to,
//! and then files only in the repositories `hotfix.target_repos` names.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::collector::{Collector, binary, post_event};
use crate::common::fake_github::{FakeGithub, TEST_TOKEN};
use serde_json::{Value, json};

fn config(fake: &FakeGithub, hotfix: &str) -> String {
    format!(
        "[github]\napi_url = \"{}\"\nwrite_interval_ms = 20\nnotify_interval_ms = 20\n[hotfix]\nenabled = true\n{hotfix}",
        fake.url
    )
}

/// Runs the collector with `config` and waits for it to end; `None` when it kept running (then
/// it is killed).
fn run_to_exit(config: &str) -> Option<(std::process::ExitStatus, String)> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("collector.toml");
    std::fs::write(&path, config).unwrap();
    let mut child = Command::new(binary())
        .args(["--listen", "127.0.0.1:0", "--config"])
        .arg(&path)
        .arg("--database")
        .arg(dir.path().join("collector.sqlite"))
        .env("LOKIWRAP_GITHUB_TOKEN", TEST_TOKEN)
        .env_remove("LOKIWRAP_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut stderr = String::new();
            std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
            return Some((status, stderr));
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn hotfix_without_a_kernel_key_refuses_to_start_unless_unsigned_events_are_limited_to_named_repositories() {
    let fake = FakeGithub::start();
    for hotfix in [
        "",
        "allow_unsigned_events = true\n",
        "allow_unsigned_events = true\ntarget_repos = []\n",
        "target_repos = [\"acme\"]\n",
    ] {
        let Some((status, stderr)) = run_to_exit(&config(&fake, hotfix)) else {
            panic!("the collector started with hotfix on, no kernel key and {hotfix:?}");
        };
        assert!(!status.success(), "{hotfix:?}: {stderr}");
        for key in [
            "hotfix.allow_unsigned_events",
            "hotfix.target_repos",
            "kernel_public_key_file",
        ] {
            assert!(
                stderr.contains(key),
                "{hotfix:?}: the message does not name {key}: {stderr}"
            );
        }
    }
    for bad in ["\"acme/x/y\"", "\"\"", "\"acme x\"", "\"acme/..\""] {
        let hotfix = format!("allow_unsigned_events = true\ntarget_repos = [{bad}]\n");
        let Some((status, stderr)) = run_to_exit(&config(&fake, &hotfix)) else {
            panic!("the collector started with target_repos = [{bad}]");
        };
        assert!(
            !status.success() && stderr.contains("hotfix.target_repos"),
            "{bad}: {stderr}"
        );
    }
    assert!(
        fake.journal().is_empty(),
        "a collector that should not start called GitHub"
    );
}

fn event_for(owner: &str, repo: &str, n: usize) -> Value {
    json!({
        "event": "kernel.plugin_error",
        "stateId": format!("state-{n}"),
        "trigger": {"githubEvent": "issue_comment.created", "deliveryId": format!("delivery-{n}")},
        "plugin": {"type": "workflow", "id": format!("{owner}/{repo}:compute.yml@main"), "owner": owner, "repo": repo},
        "error": {"message": format!("the plugin failed in step {n}"), "status": 500, "category": "workflow"}
    })
}

#[test]
fn an_unsigned_event_naming_a_repository_outside_target_repos_files_nothing() {
    let fake = FakeGithub::start();
    let collector = Collector::start(
        &config(&fake, "allow_unsigned_events = true\ntarget_repos = [\"Acme\"]\n"),
        &[("LOKIWRAP_GITHUB_TOKEN", TEST_TOKEN)],
    );
    assert_eq!(post_event(&collector.url, &event_for("evil", "repo", 1)), 202);
    assert_eq!(post_event(&collector.url, &event_for("acme-evil", "x", 2)), 202);
    collector.wait_for_stats(Duration::from_secs(10), |s| {
        s["hotfix"]["hotfix_ignored_not_in_target_repos"] == 2
    });
    assert_eq!(post_event(&collector.url, &event_for("ACME", "x", 3)), 202);
    assert!(
        fake.wait_for("POST", "/repos/acme/x/issues", 1, Duration::from_secs(20)),
        "{}",
        collector.logs()
    );
    std::thread::sleep(Duration::from_millis(300));
    let stats = collector.stats();
    assert_eq!(stats["hotfix"]["hotfix_accepted"], 1, "{stats:#}");
    assert_eq!(stats["fingerprints"], 1, "{stats:#}");
    let posts: Vec<String> = fake
        .journal()
        .into_iter()
        .filter(|call| call.method == "POST")
        .map(|call| call.path)
        .collect();
    assert_eq!(posts, ["/repos/acme/x/issues"]);
}
