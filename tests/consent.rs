//! The one switch and the first-run notice, as a user meets them: environment variables,
//! `lokiwrap telemetry`, and what lokiwrap prints the first time it runs.

mod common;

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;

/// A user with a home, config and state directories of their own and no opt-out variables.
struct User {
    home: tempfile::TempDir,
}

impl User {
    fn new() -> User {
        User {
            home: tempfile::tempdir().unwrap(),
        }
    }

    fn config_file(&self) -> PathBuf {
        self.home.path().join(".config/lokiwrap/config.toml")
    }

    fn command(&self, args: &[&str], env: &[(&str, &str)]) -> Command {
        common::lokiwrap_as(self.home.path(), args, env)
    }

    fn run(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        self.command(args, env).output().unwrap()
    }

    fn status(&self, env: &[(&str, &str)]) -> Value {
        let out = self.run(&["telemetry", "status", "--json"], env);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// Marks the notice as seen, so a test about something else starts after the first run.
    fn seen_notice(&self) {
        common::write_config(self.home.path(), "notice_shown = true\n");
    }
}

#[test]
fn status_says_enabled_by_default_with_no_endpoint_and_nothing_pending() {
    let user = User::new();
    assert_eq!(
        user.status(&[]),
        serde_json::json!({"enabled": true, "decided_by": "default", "endpoint": null, "pending": 0})
    );
    let text = String::from_utf8(user.run(&["telemetry", "status"], &[]).stdout).unwrap();
    assert!(
        text.contains("telemetry:       on") && text.contains("decided by:      default"),
        "{text}"
    );
}

#[test]
fn every_switch_turns_sending_off_and_status_names_it() {
    let user = User::new();
    let cases = [
        (("DO_NOT_TRACK", "1"), "DO_NOT_TRACK"),
        (("DO_NOT_TRACK", "yes please"), "DO_NOT_TRACK"),
        (("LOKIWRAP_TELEMETRY", "off"), "LOKIWRAP_TELEMETRY"),
        (("LOKIWRAP_TELEMETRY", "false"), "LOKIWRAP_TELEMETRY"),
        (("LOKI_TELEMETRY", "off"), "LOKI_TELEMETRY"),
        (("LOKI_TELEMETRY_DISABLED", "true"), "LOKI_TELEMETRY_DISABLED"),
    ];
    for ((name, value), decided_by) in cases {
        let status = user.status(&[(name, value)]);
        assert_eq!(status["enabled"], false, "{name}={value}");
        assert_eq!(status["decided_by"], decided_by, "{name}={value}");
        assert_eq!(
            user.run(&["telemetry", "enabled"], &[(name, value)]).status.code(),
            Some(1)
        );
    }
    for (name, value) in [("DO_NOT_TRACK", "0"), ("DO_NOT_TRACK", ""), ("DO_NOT_TRACK", "false")] {
        assert_eq!(user.status(&[(name, value)])["enabled"], true, "{name}={value:?}");
    }
    let enabled = user.run(&["telemetry", "enabled"], &[]);
    assert_eq!(enabled.status.code(), Some(0));
    assert!(
        enabled.stdout.is_empty() && enabled.stderr.is_empty(),
        "enabled prints nothing"
    );
}

#[test]
fn telemetry_off_is_persisted_and_on_removes_it_keeping_the_rest_of_the_file() {
    let user = User::new();
    common::write_config(user.home.path(), "# my settings\nreport_exit_codes = [2] # keep this\n");
    assert!(user.run(&["telemetry", "off"], &[]).status.success());
    assert_eq!(user.status(&[])["decided_by"], "config");
    assert_eq!(user.status(&[])["enabled"], false);
    let text = std::fs::read_to_string(user.config_file()).unwrap();
    assert!(
        text.contains("# my settings") && text.contains("report_exit_codes = [2] # keep this"),
        "{text}"
    );
    assert!(text.contains("telemetry = \"off\""), "{text}");
    assert!(user.run(&["telemetry", "on"], &[]).status.success());
    assert_eq!(
        user.status(&[]),
        serde_json::json!({"enabled": true, "decided_by": "default", "endpoint": null, "pending": 0})
    );
    assert!(
        !std::fs::read_to_string(user.config_file())
            .unwrap()
            .contains("telemetry =")
    );
}

#[test]
fn the_endpoint_comes_from_the_environment_or_the_file() {
    let user = User::new();
    common::write_config(user.home.path(), "endpoint = \"https://collector.example/\"\n");
    assert_eq!(user.status(&[])["endpoint"], "https://collector.example/");
    assert_eq!(
        user.status(&[("LOKIWRAP_ENDPOINT", "http://127.0.0.1:9")])["endpoint"],
        "http://127.0.0.1:9"
    );
}

#[test]
fn the_first_run_notice_is_shown_once_on_stderr_after_the_tools_output() {
    let user = User::new();
    let first = user.run(&["--", "sh", "-c", "echo out; echo err >&2; exit 3"], &[]);
    assert_eq!(first.status.code(), Some(3));
    assert_eq!(first.stdout, b"out\n", "never on stdout");
    let stderr = String::from_utf8(first.stderr).unwrap();
    assert!(
        stderr.starts_with("err\nlokiwrap: a note on crash reports, shown once."),
        "{stderr}"
    );
    for promise in [
        "lokiwrap crash",
        "lokiwrap privacy",
        "lokiwrap telemetry off",
        "DO_NOT_TRACK=1",
    ] {
        assert!(stderr.contains(promise), "the notice mentions {promise}");
    }
    assert!(
        std::fs::read_to_string(user.config_file())
            .unwrap()
            .contains("notice_shown = true")
    );
    let second = user.run(&["--", "sh", "-c", "echo err >&2"], &[]);
    assert_eq!(second.stderr, b"err\n", "shown once");
}

#[test]
fn the_notice_is_not_shown_again_after_an_opt_out() {
    let user = User::new();
    user.run(&["--", "true"], &[]);
    user.run(&["telemetry", "off"], &[]);
    let out = user.run(&["--", "true"], &[("DO_NOT_TRACK", "1")]);
    assert!(out.stderr.is_empty(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn lokiwrap_privacy_prints_the_field_list_the_notice_points_to() {
    let user = User::new();
    user.seen_notice();
    let out = user.run(&["privacy"], &[]);
    let text = String::from_utf8(out.stdout).unwrap();
    for field in [
        "`schema`",
        "`stack_signature`",
        "`project_id_hash`",
        "`redactions_count`",
    ] {
        assert!(text.contains(field), "{field}");
    }
}

#[test]
fn crash_submit_obeys_the_opt_out_unless_told_otherwise() {
    let user = User::new();
    user.seen_notice();
    user.run(&["--", "sh", "-c", "kill -SEGV $$"], &[]);
    let refused = user.run(&["crash", "submit"], &[("DO_NOT_TRACK", "1")]);
    assert_eq!(refused.status.code(), Some(1));
    let message = String::from_utf8_lossy(&refused.stderr);
    assert!(
        message.contains("DO_NOT_TRACK") && message.contains("--yes"),
        "{message}"
    );
    // Without an endpoint, --yes prints the report and a ready-made issue link, sends nothing.
    std::fs::write(user.config_file(), "notice_shown = true\nrepository = \"acme/tool\"\n").unwrap();
    let manual = user.run(&["crash", "submit", "--yes"], &[("DO_NOT_TRACK", "1")]);
    let stderr = String::from_utf8_lossy(&manual.stderr);
    assert!(stderr.contains("sending although DO_NOT_TRACK"), "{stderr}");
    let stdout = String::from_utf8(manual.stdout).unwrap();
    assert!(stdout.contains("\"error_class\":\"SIGSEGV\""), "{stdout}");
    assert!(
        stdout.contains("https://github.com/acme/tool/issues/new?title=SIGSEGV"),
        "{stdout}"
    );
}
