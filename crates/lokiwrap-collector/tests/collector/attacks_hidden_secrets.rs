//! Invisible characters must not carry a secret past the scrubber, nor disguise an issue's
//! title. A token split by a control or format character is no token to a pattern, and became
//! one again once the character was dropped after scrubbing; a bidi override turns a title
//! around. Reports and events go to the real collector here, and what reaches the fake GitHub
//! is searched for every piece of every secret.

use std::time::Duration;

use crate::common::collector::{Collector, post, report};
use crate::common::fake_github::{FakeGithub, TEST_TOKEN};
use serde_json::{Value, json};

/// Generated tokens, each as the pieces an invisible character splits it into.
const GITHUB_TOKEN: [&str; 2] = ["ghp_Q7wErTy8uIoP3aSdFg", "H5jKlZx2cVbN9mQwEr"];
const AWS_KEY_ID: [&str; 2] = ["AKIAQWERTYUI", "OPZXCVBN"];
const JWT: [&str; 2] = [
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIx",
    "MjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
];
const STRIPE_KEY: [&str; 2] = ["sk_live_4eC39H", "qLyjWDarjtT1zdp7dcT4"];

/// Characters that must never reach an issue: controls other than line breaks and tabs,
/// zero-width and bidi controls.
fn invisible(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t')
        || matches!(c, '\u{ad}' | '\u{61c}' | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}')
        || matches!(c, '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{2069}' | '\u{feff}')
}

fn split(pieces: [&str; 2], by: char) -> String {
    format!("{}{by}{}", pieces[0], pieces[1])
}

/// Every title and body the collector sent to GitHub.
fn texts_sent(fake: &FakeGithub) -> Vec<String> {
    fake.journal()
        .into_iter()
        .filter_map(|call| call.body)
        .flat_map(|body| {
            ["title", "body"]
                .into_iter()
                .filter_map(|field| body.get(field).and_then(Value::as_str).map(String::from))
                .collect::<Vec<_>>()
        })
        .collect()
}

fn assert_nothing_hidden_got_through(fake: &FakeGithub) {
    let texts = texts_sent(fake);
    assert!(!texts.is_empty(), "nothing reached GitHub");
    for text in &texts {
        for piece in [GITHUB_TOKEN, AWS_KEY_ID, JWT, STRIPE_KEY].concat() {
            // The tail of a piece: neither half of a token is left, glued or not.
            let tail = &piece[piece.len() - 8..];
            assert!(!text.contains(tail), "{piece:?} reached GitHub: {text:?}");
        }
        assert!(
            !text.chars().any(invisible),
            "an invisible character reached GitHub: {text:?}"
        );
    }
}

#[test]
fn a_crash_report_cannot_split_a_secret_or_turn_its_title_around_with_invisible_characters() {
    let fake = FakeGithub::start();
    let collector = Collector::start(
        &format!(
            "[github]\napi_url = \"{}\"\ntriage_repo = \"acme/triage\"\nwrite_interval_ms = 20\nnotify_interval_ms = 20\n",
            fake.url
        ),
        &[("LOKIWRAP_GITHUB_TOKEN", TEST_TOKEN)],
    );
    let mut hidden = report(
        "npm",
        &format!("Error\u{202e})gnp.exe( {}", split(GITHUB_TOKEN, '\u{200b}')),
        &[&split(AWS_KEY_ID, '\u{feff}'), &split(JWT, '\u{ad}')],
    );
    hidden["tool_version"] = json!(split(STRIPE_KEY, '\u{2066}'));
    // Glued to a word once the mark is gone, a whole token must still be caught.
    hidden["runtime"] = json!(format!("node\u{61c}{}", GITHUB_TOKEN.concat()));
    // Control characters are refused in a report; such a report files nothing.
    let control = report("npm", &split(GITHUB_TOKEN, '\u{7}'), &[&split(AWS_KEY_ID, '\u{0}')]);
    assert_eq!(post(&collector.url, control.to_string().as_bytes()).0, 202);
    assert_eq!(post(&collector.url, hidden.to_string().as_bytes()).0, 202);
    assert!(
        fake.wait_for("POST", "/repos/acme/triage/issues", 1, Duration::from_secs(20)),
        "{}",
        collector.logs()
    );
    std::thread::sleep(Duration::from_millis(300));
    assert_nothing_hidden_got_through(&fake);
    let issue = &fake.issues("acme/triage")[0];
    assert!(
        issue.title.starts_with("Error)gnp.exe( [REDACTED:github_token] in npm"),
        "{}",
        issue.title
    );
    let body = issue.body.clone().unwrap();
    for marker in ["github_token", "aws_access_key_id", "jwt", "stripe_key"] {
        assert!(
            body.contains(&format!("[REDACTED:{marker}]")),
            "{marker} not redacted: {body}"
        );
    }
}

#[test]
fn a_plugin_event_cannot_split_a_secret_or_turn_its_title_around_with_invisible_characters() {
    let fake = FakeGithub::start();
    let collector = Collector::start(
        &format!(
            "[github]\napi_url = \"{}\"\nwrite_interval_ms = 20\nnotify_interval_ms = 20\n\
             [hotfix]\nenabled = true\nallow_unsigned_events = true\ntarget_repos = [\"acme\"]\n",
            fake.url
        ),
        &[("LOKIWRAP_GITHUB_TOKEN", TEST_TOKEN)],
    );
    let event = json!({
        "event": "kernel.plugin_error",
        "stateId": split(STRIPE_KEY, '\u{7f}'),
        // Glued to a word once the mark is gone, a whole key must still be caught.
        "environment": format!("production\u{202d}{}", AWS_KEY_ID.concat()),
        "trigger": {"githubEvent": format!("issue_comment.created {}", split(JWT, '\u{1b}')), "deliveryId": "d-1"},
        "plugin": {"type": "workflow", "id": "acme/plugin:compute.yml@main", "owner": "acme", "repo": "plugin"},
        "error": {
            "message": format!(
                "push failed with {} and {} and {}",
                split(GITHUB_TOKEN, '\u{7}'),
                split(AWS_KEY_ID, '\u{0}'),
                split(JWT, '\u{7f}')
            ),
            "stack": format!("at push ({})\r\nat main", split(STRIPE_KEY, '\u{200b}')),
            "status": 500,
            "category": "http\u{202e})gnp.exe("
        },
        "context": {"responseSnippet": format!("key {} denied", split(AWS_KEY_ID, '\u{85}'))},
        "logTrail": {"lines": [format!("token {}", split(GITHUB_TOKEN, '\r'))]}
    });
    let response = reqwest::blocking::Client::new()
        .post(format!("{}/v1/events", collector.url))
        .header("content-type", "application/json")
        .body(event.to_string())
        .send()
        .unwrap();
    assert_eq!(response.status(), 202);
    assert!(
        fake.wait_for("POST", "/repos/acme/plugin/issues", 1, Duration::from_secs(20)),
        "{}",
        collector.logs()
    );
    assert_nothing_hidden_got_through(&fake);
    let issue = &fake.issues("acme/plugin")[0];
    assert!(issue.title.contains("(http)gnp.exe( 500)"), "{}", issue.title);
    let body = issue.body.clone().unwrap();
    for marker in ["github_token", "aws_access_key_id", "jwt", "stripe_key"] {
        assert!(
            body.contains(&format!("[REDACTED:{marker}]")),
            "{marker} not redacted: {body}"
        );
    }
}
