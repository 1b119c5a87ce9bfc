//! The one switch and the first-run notice, as a user meets them: environment variables,
//! `lokiwrap telemetry`, and what lokiwrap prints the first time it runs.

mod common;

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

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

    /// `lokiwrap ARGS` with stdin and stderr on a terminal and stdout into a file: returns the
    /// exit code, what reached the terminal, and stdout.
    fn on_terminal(&self, args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String, Vec<u8>) {
        let stdout = self.home.path().join("stdout");
        let mut cmd = self.command(args, env);
        cmd.stdout(std::fs::File::create(&stdout).unwrap());
        let (status, terminal) = common::run_on_terminal(&mut cmd);
        (
            status.code(),
            String::from_utf8(terminal).unwrap(),
            std::fs::read(&stdout).unwrap(),
        )
    }

    fn notice_recorded(&self) -> bool {
        std::fs::read_to_string(self.config_file()).is_ok_and(|text| text.contains("notice_shown = true"))
    }
}

/// A tool that writes to both streams and fails.
const TOOL: [&str; 3] = ["sh", "-c", "echo out; echo err >&2; exit 3"];

/// Every opt-out, as an environment variable or the configuration file.
const OPT_OUTS: [(&str, &str); 4] = [
    ("DO_NOT_TRACK", "1"),
    ("LOKIWRAP_TELEMETRY", "off"),
    ("LOKI_TELEMETRY", "off"),
    ("LOKI_TELEMETRY_DISABLED", "true"),
];

/// The tool's stderr, unwrapped, written to a file.
fn unwrapped_stderr_in_a_file(dir: &std::path::Path) -> Vec<u8> {
    let path = dir.join("unwrapped.err");
    let status = Command::new(TOOL[0])
        .args(&TOOL[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&path).unwrap())
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(3));
    std::fs::read(path).unwrap()
}

#[test]
fn status_says_enabled_by_default_with_no_endpoint_and_nothing_pending() {
    let user = User::new();
    assert_eq!(
        user.status(&[]),
        serde_json::json!({"enabled": true, "decided_by": "default", "endpoint": null, "pending": 0, "waits_for_notice": true})
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
        serde_json::json!({"enabled": true, "decided_by": "default", "endpoint": null, "pending": 0, "waits_for_notice": false})
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
fn on_a_terminal_the_notice_is_shown_once_after_the_tools_output() {
    let user = User::new();
    let (code, terminal, stdout) = user.on_terminal(&["--", "sh", "-c", "echo out; echo err >&2; exit 3"], &[]);
    assert_eq!(code, Some(3));
    assert_eq!(stdout, b"out\n", "never on stdout");
    assert!(
        terminal.starts_with("err\r\nlokiwrap: a note on crash reports, shown once."),
        "{terminal}"
    );
    for promise in [
        "lokiwrap crash",
        "lokiwrap privacy",
        "lokiwrap telemetry off",
        "DO_NOT_TRACK=1",
    ] {
        assert!(terminal.contains(promise), "the notice mentions {promise}");
    }
    assert!(user.notice_recorded());
    let (_, second, _) = user.on_terminal(&["--", "sh", "-c", "echo err >&2"], &[]);
    assert_eq!(second, "err\r\n", "shown once");
}

#[test]
fn stderr_into_a_file_or_pipe_gets_no_notice_whatever_the_settings() {
    let scratch = tempfile::tempdir().unwrap();
    let unwrapped = unwrapped_stderr_in_a_file(scratch.path());
    // A fresh user with no settings, a CI job, and each opt-out (environment, then file).
    let mut cases: Vec<(Vec<(&str, &str)>, &str)> = vec![(vec![], ""), (vec![("CI", "true")], "")];
    cases.extend(OPT_OUTS.iter().map(|&switch| (vec![switch], "")));
    cases.push((vec![], "telemetry = \"off\"\n"));
    for (env, config) in &cases {
        let user = User::new();
        common::write_config(user.home.path(), config);
        let err = user.home.path().join("wrapped.err");
        let mut wrapped = user.command(&[&["--"][..], &TOOL[..]].concat(), env);
        let status = wrapped
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&err).unwrap())
            .status()
            .unwrap();
        assert_eq!(status.code(), Some(3), "{env:?} {config:?}");
        assert_eq!(
            std::fs::read(&err).unwrap(),
            unwrapped,
            "{env:?} {config:?}: stderr in a file is the tool's alone"
        );
        let piped = user.run(&[&["--"][..], &TOOL[..]].concat(), env);
        assert_eq!(
            piped.stderr, unwrapped,
            "{env:?} {config:?}: stderr in a pipe is the tool's alone"
        );
        assert!(
            !user.notice_recorded(),
            "{env:?} {config:?}: the notice was never shown"
        );
    }
}

#[test]
fn with_an_opt_out_no_notice_appears_on_a_terminal_either() {
    for env in OPT_OUTS {
        let user = User::new();
        let (code, terminal, _) = user.on_terminal(&["--", "true"], &[env]);
        assert_eq!(code, Some(0));
        assert_eq!(terminal, "", "{env:?}");
        assert!(!user.notice_recorded(), "{env:?}");
    }
    let user = User::new();
    common::write_config(user.home.path(), "telemetry = \"off\"\n");
    let (_, terminal, _) = user.on_terminal(&["--", "true"], &[]);
    assert_eq!(terminal, "", "telemetry = \"off\" in the configuration file");
    // Once the opt-out is gone sending could happen, so the notice is still due.
    common::write_config(user.home.path(), "");
    let (_, terminal, _) = user.on_terminal(&["--", "true"], &[]);
    assert!(terminal.contains("a note on crash reports"), "{terminal}");
}

#[test]
fn telemetry_on_counts_as_having_read_the_notice() {
    let user = User::new();
    assert_eq!(user.status(&[])["waits_for_notice"], true);
    let text = String::from_utf8(user.run(&["telemetry", "status"], &[]).stdout).unwrap();
    assert!(
        text.contains("sending:         waits until the one-time notice has been shown on a terminal")
            && text.contains("lokiwrap telemetry on"),
        "{text}"
    );
    let on = user.run(&["telemetry", "on"], &[]);
    assert!(on.status.success(), "{}", String::from_utf8_lossy(&on.stderr));
    assert!(user.notice_recorded());
    assert_eq!(user.status(&[])["waits_for_notice"], false);
    let text = String::from_utf8(user.run(&["telemetry", "status"], &[]).stdout).unwrap();
    assert!(!text.contains("sending:"), "{text}");
    let (_, terminal, _) = user.on_terminal(&["--", "true"], &[]);
    assert_eq!(terminal, "", "no notice after telemetry on");
}

#[test]
fn the_notice_is_not_shown_again_after_an_opt_out() {
    let user = User::new();
    let (_, first, _) = user.on_terminal(&["--", "true"], &[]);
    assert!(first.contains("a note on crash reports"), "{first}");
    user.run(&["telemetry", "off"], &[]);
    let (_, later, _) = user.on_terminal(&["--", "true"], &[("DO_NOT_TRACK", "1")]);
    assert_eq!(later, "");
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
