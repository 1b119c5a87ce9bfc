//! The routing decisions end to end, on the shared fixtures in `tests/fixtures/hotfix/`.

use serde_json::{Value, json};

use super::*;

const PLUGIN_ERROR: &str = include_str!("../../tests/fixtures/hotfix/kernel_plugin_error.json");
const WORKFLOW_PLUGIN_ERROR: &str = include_str!("../../tests/fixtures/hotfix/kernel_plugin_error_workflow.json");
const WORKFLOW_RUN: &str = include_str!("../../tests/fixtures/hotfix/workflow_run_failure.json");

const SECRETS: &[&str] = &[
    "ghp_0123456789abcdefghijABCDEFGHIJ012345",
    "ghs_0123456789abcdefghijABCDEFGHIJ012345",
    "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123",
    "alice.liddell@example.org",
    "/home/alice/",
];

fn cfg(extra: &str) -> HotfixConfig {
    #[derive(serde::Deserialize)]
    struct Collector {
        hotfix: HotfixConfig,
    }
    toml::from_str::<Collector>(&format!(
        "[hotfix]\nenabled = true\nallowlist_repos = [\"ubiquity-os-marketplace/daemon-pricing\"]\n\
         self_ids = [\"ubiquity-os-marketplace/daemon-hotfix\"]\nbot_login = \"lokiwrap-collector[bot]\"\n{extra}"
    ))
    .expect("test config")
    .hotfix
}

fn fixture(text: &str) -> Value {
    serde_json::from_str(text).expect("fixture json")
}

/// The fixture with `value` at each JSON pointer.
fn with(text: &str, changes: &[(&str, Value)]) -> Vec<u8> {
    let mut event = fixture(text);
    for (pointer, value) in changes {
        let (parent, key) = pointer.rsplit_once('/').expect("pointer");
        let object = event
            .pointer_mut(parent)
            .and_then(Value::as_object_mut)
            .expect("parent object");
        object.insert(key.to_string(), value.clone());
    }
    serde_json::to_vec(&event).expect("json")
}

fn plugin(bytes: &[u8]) -> Result<Failure, Ignored> {
    from_plugin_error(bytes, &cfg(""))
}

fn ignored(result: Result<Failure, Ignored>) -> IgnoreReason {
    match result {
        Ok(failure) => panic!("filed unexpectedly: {}", failure.title),
        Err(ignored) => ignored.reason,
    }
}

fn body_of(failure: &Failure) -> String {
    issue_body(
        &failure.details,
        3,
        "2026-01-12T09:14:03Z",
        "2026-01-12T10:02:11Z",
        &["@team-bot".to_string()],
    )
}

#[test]
fn a_real_http_worker_failure_goes_to_its_source_repo_with_status_502() {
    let failure = plugin(PLUGIN_ERROR.as_bytes()).expect("filed");
    assert_eq!(failure.kind, FailureKind::Plugin);
    assert_eq!(failure.repo, "ubiquity-os-marketplace/command-start-stop");
    assert_eq!(failure.cluster_key.len(), 64);
    assert_eq!(failure.cluster_key, failure.details.cluster_key);
    let FailureSource::Plugin(source) = &failure.details.source else {
        panic!("plugin source");
    };
    assert_eq!(source.status, Some(502), "status: null is read from the message");
    assert_eq!(source.category, "http");
    assert_eq!(
        source.plugin_id,
        "https://command-start-stop-main.ubiquity-os.workers.dev"
    );
    assert_eq!(source.config_sources.len(), 2);
    assert_eq!(failure.details.log_trail.len(), 5);
    assert_eq!(
        failure.title,
        format!(
            "Plugin failure: https://command-start-stop-main.ubiquity-os.workers.dev (http 502) [{}]",
            &failure.cluster_key[..8]
        )
    );
}

#[test]
fn a_workflow_plugin_failure_goes_to_the_plugins_repo() {
    let failure = plugin(WORKFLOW_PLUGIN_ERROR.as_bytes()).expect("filed");
    assert_eq!(failure.repo, "ubiquity-os-marketplace/daemon-pricing");
    let FailureSource::Plugin(source) = &failure.details.source else {
        panic!("plugin source");
    };
    assert_eq!(source.plugin_id, "ubiquity-os-marketplace/daemon-pricing:compute.yml");
    assert_eq!(source.status, Some(404));
    assert_eq!(source.git_ref.as_deref(), Some("v1.4.2"));
}

#[test]
fn a_mapped_url_prefix_wins_over_the_source_repo() {
    let cfg = cfg(
        "[hotfix.plugin_repos]\n\"https://command-start-stop-main.ubiquity-os.workers.dev\" = \"acme/start-stop\"\n",
    );
    let failure = from_plugin_error(PLUGIN_ERROR.as_bytes(), &cfg).expect("filed");
    assert_eq!(failure.repo, "acme/start-stop");
}

#[test]
fn an_http_plugin_without_any_repo_is_not_filed_and_says_how_to_fix_it() {
    let bytes = with(PLUGIN_ERROR, &[("/plugin/settings", Value::Null)]);
    let err = plugin(&bytes).expect_err("no repo");
    assert_eq!(err.reason, IgnoreReason::NoTargetRepo);
    assert!(err.message.contains("hotfix.plugin_repos"), "{err}");
}

#[test]
fn ref_variants_share_a_cluster() {
    let keys: Vec<String> = ["@v1.4.2", "@main", "@4c2e8a1f0b3d", ""]
        .iter()
        .map(|suffix| {
            let bytes = with(
                WORKFLOW_PLUGIN_ERROR,
                &[
                    (
                        "/plugin/id",
                        json!(format!("Ubiquity-OS-Marketplace/daemon-pricing:compute.yml{suffix}")),
                    ),
                    ("/plugin/ref", json!(suffix.trim_start_matches('@'))),
                ],
            );
            plugin(&bytes).expect("filed").cluster_key
        })
        .collect();
    assert!(keys.windows(2).all(|pair| pair[0] == pair[1]), "{keys:?}");
}

#[test]
fn messages_differing_only_in_varying_parts_share_a_cluster_and_categories_split_it() {
    let key = |message: &str, category: &str| {
        plugin(&with(
            PLUGIN_ERROR,
            &[("/error/message", json!(message)), ("/error/category", json!(category))],
        ))
        .expect("filed")
        .cluster_key
    };
    let a = key(
        "HTTP (target: https://a.workers.dev) 502: upstream 10.0.0.1:8443 failed for state \
         3f6c2a9e-8d41-4b7a-9c55-1e2f0a7d4b13 at 9b1d3c7e2f after 120 ms",
        "http",
    );
    let b = key(
        "HTTP (target: https://b.workers.dev) 502: upstream 172.16.3.9:443 failed for state \
         0e1d2c3b-4a59-4687-9f1e-2d3c4b5a6978 at 0a1b2c3d4e after 7 ms",
        "http",
    );
    let test_form = key(
        "HTTP 502: upstream 10.0.0.1:8443 failed for state 3f6c2a9e-8d41-4b7a-9c55-1e2f0a7d4b13 at 9b1d3c7e2f \
         after 120 ms",
        "http",
    );
    assert_eq!(a, b);
    assert_eq!(a, test_form, "the kernel's test form and its real form are one cluster");
    assert_ne!(
        a,
        key("HTTP (target: https://a.workers.dev) 502: upstream failed", "timeout")
    );
    assert_ne!(
        a,
        key(
            "HTTP (target: https://a.workers.dev) 502: something else entirely",
            "http"
        )
    );
}

#[test]
fn secrets_that_differ_per_request_do_not_split_a_cluster() {
    let key = |token: &str| {
        plugin(&with(
            PLUGIN_ERROR,
            &[(
                "/error/message",
                json!(format!("HTTP 401: bad credentials Bearer {token}")),
            )],
        ))
        .expect("filed")
        .cluster_key
    };
    assert_eq!(key("abcDEF123456ghiJKL"), key("zyxWVU987654tsrQPO"));
}

#[test]
fn unknown_categories_types_and_fields_are_filed() {
    let bytes = with(
        PLUGIN_ERROR,
        &[
            ("/error/category", json!("Validation")),
            ("/plugin/type", json!("edge")),
            ("/brandNew", json!({"nested": [1, 2, 3]})),
            ("/error/stack", json!("Error: boom\n    at handler (src/index.ts:10:5)")),
        ],
    );
    let failure = plugin(&bytes).expect("filed");
    let FailureSource::Plugin(source) = &failure.details.source else {
        panic!("plugin source");
    };
    assert_eq!(source.category, "validation");
    assert_eq!(source.plugin_type.as_deref(), Some("edge"));
    assert!(body_of(&failure).contains("at handler (src/index.ts:10:5)"));
}

#[test]
fn failures_of_the_hotfix_route_itself_are_ignored() {
    for (pointer, value) in [
        (
            "/plugin/settings/with/sourceRepo",
            "Ubiquity-OS-Marketplace/Daemon-Hotfix",
        ),
        ("/plugin/id", "ubiquity-os-marketplace/daemon-hotfix:compute.yml@v9"),
    ] {
        let bytes = with(PLUGIN_ERROR, &[(pointer, json!(value))]);
        assert_eq!(ignored(plugin(&bytes)), IgnoreReason::SelfFailure, "{pointer}");
    }
    let by_url = cfg("").clone();
    let by_url = HotfixConfig {
        self_ids: vec!["https://command-start-stop-main.ubiquity-os.workers.dev".to_string()],
        ..by_url
    };
    assert_eq!(
        ignored(from_plugin_error(PLUGIN_ERROR.as_bytes(), &by_url)),
        IgnoreReason::SelfFailure
    );
    let mapped = cfg(
        "[hotfix.plugin_repos]\n\"https://command-start-stop-main.ubiquity-os.workers.dev\" = \
         \"ubiquity-os-marketplace/daemon-hotfix\"\n",
    );
    assert_eq!(
        ignored(from_plugin_error(PLUGIN_ERROR.as_bytes(), &mapped)),
        IgnoreReason::SelfFailure,
        "a target that is the route's own repo"
    );
}

#[test]
fn an_error_about_delivering_kernel_plugin_error_is_ignored() {
    let bytes = with(PLUGIN_ERROR, &[("/trigger/githubEvent", json!("kernel.plugin_error"))]);
    assert_eq!(ignored(plugin(&bytes)), IgnoreReason::LoopEvent);
}

#[test]
fn a_failure_our_bot_caused_is_ignored() {
    let bytes = with(PLUGIN_ERROR, &[("/trigger/actor", json!("LokiWrap-Collector[bot]"))]);
    assert_eq!(ignored(plugin(&bytes)), IgnoreReason::OwnBot);
}

#[test]
fn a_failure_for_a_repository_outside_target_repos_is_ignored() {
    let outside = cfg("target_repos = [\"acme\"]\n");
    assert_eq!(
        ignored(from_plugin_error(PLUGIN_ERROR.as_bytes(), &outside)),
        IgnoreReason::NotInTargetRepos
    );
    let inside = cfg("target_repos = [\"Ubiquity-OS-Marketplace\"]\n");
    let failure = from_plugin_error(PLUGIN_ERROR.as_bytes(), &inside).expect("filed");
    assert_eq!(failure.repo, "ubiquity-os-marketplace/command-start-stop");
}

#[test]
fn nothing_is_filed_when_disabled() {
    let off = HotfixConfig::default();
    assert_eq!(
        ignored(from_plugin_error(PLUGIN_ERROR.as_bytes(), &off)),
        IgnoreReason::Disabled
    );
    assert_eq!(
        ignored(from_workflow_run(WORKFLOW_RUN.as_bytes(), &off)),
        IgnoreReason::Disabled
    );
}

#[test]
fn malformed_payloads_are_named_without_echoing_secrets() {
    for bytes in [
        &b""[..],
        b"not json",
        b"{}",
        b"[]",
        br#"{"plugin":{"id":""},"error":{}}"#,
        br#"{"event":"push","plugin":{"id":"o/r"},"error":{}}"#,
        br#"{"plugin":"ghp_0123456789abcdefghijABCDEFGHIJ012345","error":{}}"#,
    ] {
        let err = plugin(bytes).expect_err("malformed");
        assert_eq!(err.reason, IgnoreReason::Malformed, "{err}");
        assert!(!err.message.contains("ghp_0123"), "{err}");
    }
    let err = from_workflow_run(br#"{"action":"completed"}"#, &cfg("")).expect_err("malformed");
    assert_eq!(err.reason, IgnoreReason::Malformed);
}

#[test]
fn the_body_holds_everything_needed_to_act() {
    let failure = plugin(PLUGIN_ERROR.as_bytes()).expect("filed");
    let body = body_of(&failure);
    assert_eq!(
        crate::render::marker_key(&body).as_deref(),
        Some(failure.cluster_key.as_str())
    );
    assert!(body.starts_with(&format!("<!-- lokiwrap-cluster: {} -->\n", failure.cluster_key)));
    for needle in [
        "### Summary",
        "with HTTP 502",
        "`issue_comment.created`",
        "[ubiquity/devpool-directory#42](https://github.com/ubiquity/devpool-directory/issues/42)",
        "- Failed at: `2026-01-12T09:14:03.482Z`",
        "- Environment: `production`",
        "- Occurrences: **3** (first seen `2026-01-12T09:14:03Z`, last seen `2026-01-12T10:02:11Z`)",
        "- stateId: `3f6c2a9e-8d41-4b7a-9c55-1e2f0a7d4b13`",
        "- deliveryId: `5a0c7e10-efb2-11f0-9a3b-6d2c1e8f4a7b`",
        "- requestId: `b8d3f1a2-6c4e-4f19-8a7b-2d9e0c5f1a36`",
        "- Kernel commit: `7e1f2d3c4b5a69788796a5b4c3d2e1f0a9b8c7d6`",
        "  - from `ubiquity-os/.ubiquity-os:.github/.ubiquity-os.config.yml@9b1d3c7e2f4a`",
        "502: error code: 502",
        "Kernel log trail (5 lines)",
        "Error processing plugin; skipping",
        "### Replay",
        "Redeliver GitHub delivery `5a0c7e10-efb2-11f0-9a3b-6d2c1e8f4a7b`",
        "### Suggested next steps",
        "\ncc @team-bot\n",
    ] {
        assert!(body.contains(needle), "missing {needle:?} in\n{body}");
    }
}

#[test]
fn secrets_planted_in_every_string_never_reach_the_issue() {
    let mut event = fixture(PLUGIN_ERROR);
    let secrets = SECRETS.join(" ");
    plant(&mut event, &secrets);
    // Routing fields must stay routable, or nothing would be filed at all; the plugin URL
    // carries its secrets where a URL can.
    event["plugin"]["id"] = json!(
        "https://user:hunter2-sesame@command-start-stop-main.ubiquity-os.workers.dev/\
         ?token=ghp_0123456789abcdefghijABCDEFGHIJ012345&to=alice.liddell@example.org"
    );
    event["plugin"]["settings"]["with"]["sourceRepo"] = json!("ubiquity-os-marketplace/command-start-stop");
    event["event"] = json!("kernel.plugin_error");
    event["trigger"]["githubEvent"] = json!(format!("issue_comment.created {secrets}"));
    let bytes = serde_json::to_vec(&event).expect("json");
    let failure = plugin(&bytes).expect("still filed");
    let body = body_of(&failure);
    for secret in SECRETS {
        assert!(!body.contains(secret), "{secret} leaked into the body:\n{body}");
        assert!(!failure.title.contains(secret), "{secret} leaked into the title");
    }
    assert!(!body.contains("alice") && !body.contains("hunter2"), "{body}");

    let mut run = fixture(WORKFLOW_RUN);
    plant(&mut run, &secrets);
    run["action"] = json!("completed");
    run["workflow_run"]["conclusion"] = json!("failure");
    run["repository"]["full_name"] = json!("ubiquity-os-marketplace/daemon-pricing");
    run["sender"]["login"] = json!("octocat");
    let failure = from_workflow_run(&serde_json::to_vec(&run).expect("json"), &cfg("")).expect("still filed");
    let body = body_of(&failure);
    for secret in SECRETS {
        assert!(!body.contains(secret), "{secret} leaked into the body:\n{body}");
        assert!(!failure.title.contains(secret), "{secret} leaked into the title");
    }
}

#[test]
fn secrets_split_by_invisible_characters_never_reach_the_issue() {
    let tokens = &SECRETS[..3];
    for invisible in [
        '\u{0}', '\u{7}', '\u{7f}', '\u{85}', '\r', '\u{200b}', '\u{202e}', '\u{feff}',
    ] {
        let split: Vec<String> = tokens
            .iter()
            .map(|t| format!("{}{invisible}{}", &t[..t.len() / 2], &t[t.len() / 2..]))
            .collect();
        let mut event = fixture(PLUGIN_ERROR);
        plant(&mut event, &split.join(" "));
        event["plugin"]["id"] = json!("https://command-start-stop-main.ubiquity-os.workers.dev");
        event["plugin"]["settings"]["with"]["sourceRepo"] = json!("ubiquity-os-marketplace/command-start-stop");
        event["event"] = json!("kernel.plugin_error");
        event["trigger"]["githubEvent"] = json!(format!("issue_comment.created {}", split.join(" ")));
        let failure = plugin(&serde_json::to_vec(&event).expect("json")).expect("still filed");
        let body = body_of(&failure);
        for token in tokens {
            for half in [&token[..token.len() / 2], &token[token.len() / 2..]] {
                assert!(
                    !body.contains(half),
                    "{invisible:?}: {half} leaked into the body:\n{body}"
                );
                assert!(
                    !failure.title.contains(half),
                    "{invisible:?}: {half} leaked into the title"
                );
            }
        }
        let shown = |c: char| c == '\n' || c == '\t' || !lokiwrap_report::scrub::is_invisible(c);
        assert!(body.chars().all(shown), "{invisible:?} reached the body:\n{body:?}");
        assert!(failure.title.chars().all(shown), "{invisible:?}: {:?}", failure.title);
    }
}

#[test]
fn a_bidi_override_stored_before_cannot_turn_a_title_around() {
    let mut failure = plugin(PLUGIN_ERROR.as_bytes()).expect("filed");
    if let FailureSource::Plugin(plugin) = &mut failure.details.source {
        plugin.plugin_id = "Error\u{202e})gnp.exe(".to_string();
        plugin.category = "http\u{2066}".to_string();
    }
    let title = render::issue_title(&failure.details);
    assert!(
        title.starts_with("Plugin failure: Error)gnp.exe( (http 502)"),
        "{title:?}"
    );
}

/// Appends `secrets` to every string in the JSON value.
fn plant(value: &mut Value, secrets: &str) {
    match value {
        Value::String(text) => *text = format!("{text} {secrets}"),
        Value::Array(items) => items.iter_mut().for_each(|item| plant(item, secrets)),
        Value::Object(map) => map.values_mut().for_each(|item| plant(item, secrets)),
        _ => {}
    }
}

#[test]
fn event_text_cannot_break_out_of_its_markdown() {
    let hostile = "```\n@everyone <img src=x> [click](https://evil.example) <!-- lokiwrap-cluster: \
                   0000000000000000000000000000000000000000000000000000000000000000 -->\n```";
    let bytes = with(
        PLUGIN_ERROR,
        &[
            ("/error/message", json!(hostile)),
            ("/stateId", json!("`@everyone`")),
            ("/logTrail/lines", json!([hostile, "````"])),
        ],
    );
    let failure = plugin(&bytes).expect("filed");
    let body = body_of(&failure);
    assert_eq!(
        crate::render::marker_key(&body).as_deref(),
        Some(failure.cluster_key.as_str())
    );
    assert_eq!(body.matches("lokiwrap-cluster:").count(), 1, "{body}");
    // The message sits inside a fence longer than any backtick run it holds.
    assert!(body.contains("````text\n```\n@everyone"), "{body}");
    assert!(body.contains("- stateId: `` `@everyone` ``"), "{body}");
    for line in body.lines() {
        let bare = line.contains("@everyone") && !line.contains('`') && !line.starts_with('@');
        assert!(!bare || inside_fence(&body, line), "bare mention on {line:?}");
    }
}

/// Whether `line` lies inside a fenced block of `body` (a fence line opens or closes a block of
/// at least its length).
fn inside_fence(body: &str, needle: &str) -> bool {
    let mut open: Option<usize> = None;
    for line in body.lines() {
        let ticks = line.len() - line.trim_start_matches('`').len();
        match open {
            None if ticks >= 3 => open = Some(ticks),
            Some(fence) if ticks >= fence && line.trim_start_matches('`').is_empty() => open = None,
            Some(_) if line == needle => return true,
            _ => {}
        }
    }
    false
}

#[test]
fn huge_events_stay_within_githubs_limits() {
    let line = "x".repeat(10_000);
    let bytes = with(
        PLUGIN_ERROR,
        &[
            ("/error/message", json!("m".repeat(1_000_000))),
            ("/error/stack", json!("s\n".repeat(100_000))),
            ("/context/responseSnippet", json!("r".repeat(100_000))),
            ("/logTrail/lines", json!(vec![line; 1_000])),
            ("/plugin/id", json!(format!("https://a.dev/{}", "p".repeat(5_000)))),
        ],
    );
    let failure = plugin(&bytes).expect("filed");
    assert!(failure.title.chars().count() <= 256, "{}", failure.title.len());
    let body = body_of(&failure);
    assert!(body.chars().count() < 65_536, "{}", body.chars().count());
    assert_eq!(failure.details.log_trail.len(), 40);
}

#[test]
fn a_failed_run_in_an_allowlisted_repo_is_filed_there() {
    let failure = from_workflow_run(WORKFLOW_RUN.as_bytes(), &cfg("")).expect("filed");
    assert_eq!(failure.kind, FailureKind::WorkflowRun);
    assert_eq!(failure.repo, "ubiquity-os-marketplace/daemon-pricing");
    assert_eq!(
        failure.cluster_key,
        cluster::workflow_run_key(
            "ubiquity-os-marketplace/daemon-pricing",
            ".github/workflows/compute.yml",
            "failure"
        )
    );
    assert_eq!(
        failure.title,
        format!(
            "Workflow failure: Compute in ubiquity-os-marketplace/daemon-pricing (failure) [{}]",
            &failure.cluster_key[..8]
        )
    );
    let body = body_of(&failure);
    for needle in [
        "Workflow `Compute` (`.github/workflows/compute.yml`) in `ubiquity-os-marketplace/daemon-pricing` concluded \
         `failure`.",
        "- Run: [run #318](https://github.com/ubiquity-os-marketplace/daemon-pricing/actions/runs/12840576391)",
        "- Commit: `4c2e8a1f0b3d5e7a9c1b3d5f7e9a1c3b5d7f9e1a`",
        "`gh run rerun 12840576391 --failed --repo ubiquity-os-marketplace/daemon-pricing`",
        "`git checkout 4c2e8a1f0b3d5e7a9c1b3d5f7e9a1c3b5d7f9e1a`",
        "### Suggested next steps",
    ] {
        assert!(body.contains(needle), "missing {needle:?} in\n{body}");
    }
    assert_eq!(
        crate::render::marker_key(&body).as_deref(),
        Some(failure.cluster_key.as_str())
    );
}

#[test]
fn the_allowlist_is_case_insensitive_and_required() {
    let bytes = with(
        WORKFLOW_RUN,
        &[("/repository/full_name", json!("Ubiquity-OS-Marketplace/Daemon-Pricing"))],
    );
    assert_eq!(
        from_workflow_run(&bytes, &cfg("")).expect("filed").repo,
        "ubiquity-os-marketplace/daemon-pricing"
    );
    let bytes = with(WORKFLOW_RUN, &[("/repository/full_name", json!("someone/else"))]);
    assert_eq!(
        ignored(from_workflow_run(&bytes, &cfg(""))),
        IgnoreReason::NotAllowlisted
    );
    let mut empty = cfg("");
    empty.allowlist_repos.clear();
    assert_eq!(
        ignored(from_workflow_run(WORKFLOW_RUN.as_bytes(), &empty)),
        IgnoreReason::NotAllowlisted
    );
}

#[test]
fn only_failed_timed_out_and_unstartable_runs_are_filed() {
    let conclusion =
        |value: Value| from_workflow_run(&with(WORKFLOW_RUN, &[("/workflow_run/conclusion", value)]), &cfg(""));
    let mut keys = Vec::new();
    for failed in ["failure", "timed_out", "startup_failure"] {
        keys.push(conclusion(json!(failed)).expect(failed).cluster_key);
    }
    keys.dedup();
    assert_eq!(keys.len(), 3, "each conclusion is its own cluster");
    for fine in [
        json!("success"),
        json!("neutral"),
        json!("skipped"),
        json!("cancelled"),
        json!("action_required"),
        Value::Null,
    ] {
        assert_eq!(
            ignored(conclusion(fine.clone())),
            IgnoreReason::ConclusionNotFailure,
            "{fine}"
        );
    }
    let requested = with(WORKFLOW_RUN, &[("/action", json!("requested"))]);
    assert_eq!(
        ignored(from_workflow_run(&requested, &cfg(""))),
        IgnoreReason::NotCompleted
    );
}

#[test]
fn runs_of_the_route_itself_or_by_our_bot_are_ignored() {
    let own_repo = with(
        WORKFLOW_RUN,
        &[("/repository/full_name", json!("ubiquity-os-marketplace/daemon-hotfix"))],
    );
    let mut allow_all = cfg("");
    allow_all
        .allowlist_repos
        .push("ubiquity-os-marketplace/daemon-hotfix".to_string());
    assert_eq!(
        ignored(from_workflow_run(&own_repo, &allow_all)),
        IgnoreReason::SelfFailure
    );
    let by_bot = with(WORKFLOW_RUN, &[("/sender/login", json!("lokiwrap-collector[bot]"))]);
    assert_eq!(ignored(from_workflow_run(&by_bot, &cfg(""))), IgnoreReason::OwnBot);
}

#[test]
fn reruns_share_a_cluster_and_other_workflows_do_not() {
    let first = from_workflow_run(WORKFLOW_RUN.as_bytes(), &cfg("")).expect("filed");
    let rerun = with(
        WORKFLOW_RUN,
        &[
            ("/workflow_run/id", json!(12840999999_u64)),
            ("/workflow_run/run_attempt", json!(2)),
            (
                "/workflow_run/head_sha",
                json!("0a1b2c3d4e5f60718293a4b5c6d7e8f901234567"),
            ),
        ],
    );
    assert_eq!(
        from_workflow_run(&rerun, &cfg("")).expect("filed").cluster_key,
        first.cluster_key
    );
    let other = with(
        WORKFLOW_RUN,
        &[("/workflow_run/path", json!(".github/workflows/test.yml"))],
    );
    assert_ne!(
        from_workflow_run(&other, &cfg("")).expect("filed").cluster_key,
        first.cluster_key
    );
}

#[test]
fn a_run_link_for_another_repo_is_replaced_by_our_own() {
    let bytes = with(
        WORKFLOW_RUN,
        &[(
            "/workflow_run/html_url",
            json!("https://evil.example/phish/actions/runs/12840576391"),
        )],
    );
    let failure = from_workflow_run(&bytes, &cfg("")).expect("filed");
    let FailureSource::WorkflowRun(run) = &failure.details.source else {
        panic!("run source");
    };
    assert_eq!(
        run.run_url.as_deref(),
        Some("https://github.com/ubiquity-os-marketplace/daemon-pricing/actions/runs/12840576391")
    );
}

#[test]
fn ignore_reasons_have_metric_names() {
    let names: Vec<&str> = [
        IgnoreReason::Disabled,
        IgnoreReason::Malformed,
        IgnoreReason::LoopEvent,
        IgnoreReason::SelfFailure,
        IgnoreReason::OwnBot,
        IgnoreReason::NotAllowlisted,
        IgnoreReason::NotCompleted,
        IgnoreReason::ConclusionNotFailure,
        IgnoreReason::NoTargetRepo,
    ]
    .into_iter()
    .map(IgnoreReason::as_str)
    .collect();
    assert!(
        names
            .iter()
            .all(|n| n.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
    );
    let mut unique = names.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), names.len());
}

#[test]
fn a_workflow_name_cannot_mention_or_link() {
    let bytes = with(
        WORKFLOW_RUN,
        &[
            ("/workflow_run/name", json!("@everyone [click](https://evil.example)")),
            ("/workflow_run/head_branch", json!("@everyone")),
        ],
    );
    let failure = from_workflow_run(&bytes, &cfg("")).expect("filed");
    let body = body_of(&failure);
    for line in body.lines().filter(|line| line.contains("@everyone")) {
        assert!(line.contains("`@everyone"), "bare mention on {line:?}");
    }
    for line in body.lines().filter(|line| line.contains("evil.example")) {
        assert!(
            line.contains("`@everyone [click](https://evil.example)`"),
            "live link on {line:?}"
        );
    }
}
