//! `lokiwrap doctor`: a healthy setup passes, and each kind of problem is named with its fix.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::process::Output;

struct User {
    home: tempfile::TempDir,
    tools: tempfile::TempDir,
}

impl User {
    fn new(config: &str) -> User {
        let user = User {
            home: tempfile::tempdir().unwrap(),
            tools: tempfile::tempdir().unwrap(),
        };
        common::write_config(user.home.path(), &format!("notice_shown = true\n{config}"));
        let tool = user.tools.path().join("tool");
        std::fs::write(&tool, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755)).unwrap();
        user
    }

    fn shims(&self) -> String {
        self.home
            .path()
            .join(".local/share/lokiwrap/shims")
            .display()
            .to_string()
    }

    fn run(&self, args: &[&str], path: &str) -> Output {
        common::lokiwrap_as(self.home.path(), args, &[("PATH", path)])
            .output()
            .unwrap()
    }

    fn doctor(&self, path: &str) -> (i32, String) {
        let out = self.run(&["doctor"], path);
        (out.status.code().unwrap(), String::from_utf8(out.stdout).unwrap())
    }
}

#[test]
fn a_healthy_setup_has_no_problems() {
    let user = User::new("");
    let (code, report) = user.doctor("/usr/bin:/bin");
    assert_eq!(code, 0, "{report}");
    for line in [
        "version",
        "config",
        "outbox",
        "telemetry          on (decided by default)",
        "no problems found",
    ] {
        assert!(report.contains(line), "{line}: {report}");
    }
}

#[test]
fn before_the_notice_doctor_says_sending_waits_and_how_to_start_it() {
    let user = User::new("");
    let (_, report) = user.doctor("/usr/bin:/bin");
    assert!(!report.contains("sending"), "{report}");
    common::write_config(user.home.path(), "");
    let (code, report) = user.doctor("/usr/bin:/bin");
    assert_eq!(code, 0, "waiting is no problem: {report}");
    assert!(
        report.contains("  sending            waits until the one-time notice has been shown on a terminal")
            && report.contains("to start now: lokiwrap telemetry on"),
        "{report}"
    );
    // With sending switched off there is nothing to wait for.
    let off = common::lokiwrap_as(
        user.home.path(),
        &["doctor"],
        &[("DO_NOT_TRACK", "1"), ("PATH", "/usr/bin:/bin")],
    )
    .output()
    .unwrap();
    let report = String::from_utf8_lossy(&off.stdout);
    assert!(!report.contains("sending"), "{report}");
}

#[test]
fn a_broken_configuration_is_a_problem_with_its_fix() {
    let user = User::new("capture = [\n");
    let (code, report) = user.doctor("/usr/bin:/bin");
    assert_eq!(code, 1);
    assert!(
        report.contains("✗ config") && report.contains("fix:") && report.contains("line 2"),
        "{report}"
    );
}

#[test]
fn the_endpoint_is_contacted_only_when_sending_is_allowed() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let up = format!("http://{}", listener.local_addr().unwrap());
    let user = User::new(&format!("endpoint = \"{up}\"\n"));
    let (code, report) = user.doctor("/usr/bin:/bin");
    assert_eq!(code, 0, "{report}");
    assert!(report.contains("reachable at"), "{report}");

    drop(listener);
    let user = User::new(&format!("endpoint = \"{up}/\"\n"));
    let (code, report) = user.doctor("/usr/bin:/bin");
    assert_eq!(code, 1);
    assert!(
        report.contains("✗ endpoint") && report.contains("cannot connect"),
        "{report}"
    );

    let doubled = User::new(&format!("endpoint = \"{up}/v1/crash\"\ntelemetry = \"off\"\n"));
    let (code, report) = doubled.doctor("/usr/bin:/bin");
    assert_eq!(code, 1);
    assert!(report.contains("remove /v1/crash"), "{report}");

    let off = User::new(&format!("endpoint = \"{up}\"\ntelemetry = \"off\"\n"));
    let (code, report) = off.doctor("/usr/bin:/bin");
    assert_eq!(code, 0, "{report}");
    assert!(report.contains("not contacted: telemetry is off"), "{report}");
}

#[test]
fn shims_off_path_or_behind_the_real_tool_are_problems() {
    let user = User::new("");
    let tools = user.tools.path().display().to_string();
    assert!(
        user.run(&["shim", "add", "tool"], &format!("{tools}:/usr/bin:/bin"))
            .status
            .success()
    );

    let (code, report) = user.doctor(&format!("{tools}:/usr/bin:/bin"));
    assert_eq!(code, 1);
    assert!(
        report.contains("is not on PATH") && report.contains("lokiwrap shim env"),
        "{report}"
    );

    let (code, report) = user.doctor(&format!("{tools}:{}:/usr/bin:/bin", user.shims()));
    assert_eq!(code, 1);
    assert!(
        report.contains("comes before the shims on PATH, so tool runs unwrapped"),
        "{report}"
    );

    let (code, report) = user.doctor(&format!("{}:{tools}:/usr/bin:/bin", user.shims()));
    assert_eq!(code, 0, "{report}");
    assert!(
        report
            .lines()
            .any(|l| l.trim_start().starts_with("shim tool") && l.ends_with(&format!("runs {tools}/tool"))),
        "{report}"
    );
}

#[test]
fn a_closed_pipe_ends_a_subcommand_quietly_as_it_ends_ls() {
    use std::os::unix::process::ExitStatusExt;
    let user = User::new("");
    for args in [&["doctor"][..], &["privacy"][..]] {
        // `lokiwrap doctor | head -0`: the reader is gone before the first line is written.
        let (reader, writer) = nix::unistd::pipe().unwrap();
        drop(reader);
        let output = common::lokiwrap_as(user.home.path(), args, &[])
            .stdout(std::process::Stdio::from(writer))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert_eq!(
            output.status.signal(),
            Some(libc::SIGPIPE),
            "{args:?}: {:?} {stderr}",
            output.status
        );
    }
}
