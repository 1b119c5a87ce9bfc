//! Reports end to end: a real tool crashes or shows friction under lokiwrap, and the user
//! reads exactly what was kept with `lokiwrap crash`. Every test has its own HOME and XDG
//! directories.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::lokiwrap;
use serde_json::Value;

/// An isolated user: home, config and state directories of its own.
struct User {
    home: tempfile::TempDir,
}

impl User {
    /// A user who has seen the first-run notice.
    fn new() -> User {
        let user = User {
            home: tempfile::tempdir().unwrap(),
        };
        user.write_config("");
        user
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.home.path().join(rel)
    }

    fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = Command::new(program);
        common::as_user(&mut cmd, self.home.path());
        cmd
    }

    /// `lokiwrap -- ARGS`, with stdin closed.
    fn wrapped(&self, args: &[&str]) -> Output {
        self.command(lokiwrap())
            .arg("--")
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    fn lokiwrap(&self, args: &[&str]) -> Output {
        self.command(lokiwrap())
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    fn reports(&self) -> Vec<Value> {
        let out = self.lokiwrap(&["crash", "list", "--json"]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice::<Vec<Value>>(&out.stdout).unwrap()
    }

    fn outbox(&self) -> PathBuf {
        self.path(".local/state/lokiwrap/outbox")
    }

    /// The report files in the outbox, as stored.
    fn stored(&self) -> Vec<String> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.outbox())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .filter(|p| !p.file_name().unwrap().to_string_lossy().starts_with('.'))
            .collect();
        files.sort();
        files.iter().map(|p| std::fs::read_to_string(p).unwrap()).collect()
    }

    fn write_config(&self, text: &str) {
        common::write_config(self.home.path(), &format!("notice_shown = true\n{text}"));
    }
}

fn write_script(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

const PYTHON_CRASH: &str = "\
import sys
def helper(token):
    raise ValueError('bad value ' + token + ' for ' + sys.argv[1])
def main():
    helper('ghp_' + 'A' * 36)
main()
";

#[test]
fn a_python_crash_is_reported_with_class_and_frames_and_nothing_else() {
    let user = User::new();
    let script = write_script(user.home.path(), "crashy.py", PYTHON_CRASH);
    let out = user.wrapped(&["python3", &script, "alice@example.com"]);
    assert_eq!(out.status.code(), Some(1), "the tool's exit status is kept");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("ValueError: bad value"),
        "stderr is relayed"
    );

    let reports = user.reports();
    assert_eq!(reports.len(), 1);
    let r = &reports[0];
    assert_eq!(r["tool"], "python3");
    assert_eq!(r["runtime"], "python");
    assert_eq!(r["error_class"], "ValueError");
    assert_eq!(r["stack_signature"], serde_json::json!(["helper", "main", "<module>"]));
    assert_eq!(r["exit_code"], 1);
    assert_eq!(r["signal"], Value::Null);
    assert_eq!(r["schema"], 1);
    // The stored bytes hold exactly the whitelist, in its documented order.
    let stored = &user.stored()[0];
    let mut fields: Vec<(usize, &str)> = r
        .as_object()
        .unwrap()
        .keys()
        .map(|k| (stored.find(&format!("\"{k}\":")).unwrap(), k.as_str()))
        .collect();
    fields.sort();
    let fields: Vec<&str> = fields.into_iter().map(|(_, k)| k).collect();
    assert_eq!(
        fields,
        [
            "schema",
            "id",
            "captured_at",
            "os",
            "arch",
            "lokiwrap_version",
            "tool",
            "tool_version",
            "runtime",
            "error_class",
            "stack_signature",
            "exit_code",
            "signal",
            "friction_kind",
            "phase",
            "project_id_hash",
            "fingerprint",
            "rules_version",
            "redactions_count"
        ]
    );
    // Nothing of the message, the arguments, the token or the path is kept anywhere.
    for text in user.stored() {
        for secret in [
            "bad value",
            "alice",
            "ghp_",
            "crashy",
            user.home.path().to_str().unwrap(),
        ] {
            assert!(!text.contains(secret), "{secret:?} leaked into {text}");
        }
    }
}

#[test]
fn a_crash_after_megabytes_of_output_is_still_recognised() {
    // The trace is at the end of a long stderr: the tail must be the end of the stream.
    let user = User::new();
    let script = write_script(
        user.home.path(),
        "noisy.py",
        "import sys\nsys.stderr.write('x' * 3000000 + '\\n' + 'progress\\r' * 50000)\n\
         def helper():\n    raise ValueError('late')\nhelper()\n",
    );
    let out = user.wrapped(&["python3", &script]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stderr.len() > 3_000_000);
    let r = &user.reports()[0];
    assert_eq!(r["error_class"], "ValueError");
    assert_eq!(r["stack_signature"], serde_json::json!(["helper", "<module>"]));
}

#[test]
fn crash_show_prints_exactly_the_stored_bytes() {
    let user = User::new();
    let script = write_script(user.home.path(), "crashy.py", PYTHON_CRASH);
    user.wrapped(&["python3", &script, "x"]);
    let stored = user.stored()[0].clone().into_bytes();
    let id = user.reports()[0]["id"].as_str().unwrap().to_string();
    let out = user.lokiwrap(&["crash", "show", &id[..6]]);
    assert!(out.status.success());
    assert_eq!(out.stdout, stored);
    let table = String::from_utf8(user.lokiwrap(&["crash"]).stdout).unwrap();
    assert!(
        table.contains(&id[..8]) && table.contains("ValueError") && table.contains("python3"),
        "{table}"
    );
}

#[test]
fn the_same_crash_on_two_machines_has_the_same_fingerprint() {
    let a = User::new();
    let b = User::new();
    for user in [&a, &b] {
        let script = write_script(user.home.path(), "crashy.py", PYTHON_CRASH);
        user.wrapped(&["python3", &script, "x"]);
    }
    let (ra, rb) = (&a.reports()[0], &b.reports()[0]);
    assert_eq!(ra["fingerprint"], rb["fingerprint"]);
    assert_ne!(ra["id"], rb["id"]);
}

#[test]
fn a_crash_signal_is_reported_by_its_name() {
    let user = User::new();
    let out = user.wrapped(&["sh", "-c", "kill -SEGV $$"]);
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(out.status.signal(), Some(libc::SIGSEGV));
    let r = &user.reports()[0];
    assert_eq!(r["error_class"], "SIGSEGV");
    assert_eq!(r["signal"], "SIGSEGV");
    assert_eq!(r["exit_code"], Value::Null);
    assert_eq!(r["tool"], "sh");
}

#[test]
fn interrupts_and_ordinary_failures_make_no_report() {
    let user = User::new();
    user.wrapped(&["sh", "-c", "kill -INT $$"]);
    user.wrapped(&["sh", "-c", "kill -TERM $$"]);
    user.wrapped(&["sh", "-c", "exit 130"]);
    user.wrapped(&["python3", "-c", "raise KeyboardInterrupt"]);
    user.wrapped(&["grep", "-q", "needle", "/dev/null"]);
    user.wrapped(&["true"]);
    assert!(user.reports().is_empty());
    assert!(!user.outbox().exists(), "a run without a report writes nothing");
}

#[test]
fn a_reader_that_goes_away_makes_no_report() {
    let user = User::new();
    // The issue's own example, and one that always outruns `head`: 200 kB of lines, more
    // than a pipe holds, so python3 is still writing when head has read its line and left.
    for code in [r#"print("x"*100000)"#, r#"print("x\n"*100000)"#] {
        let mut wrapped = user
            .command(lokiwrap())
            .args(["--", "python3", "-c", code])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // The Command is a temporary, so the pipe's read end lives only in head.
        let head = Command::new("head")
            .arg("-1")
            .stdin(Stdio::from(wrapped.stdout.take().unwrap()))
            .output()
            .unwrap();
        let out = wrapped.wait_with_output().unwrap();
        assert!(head.status.success());
        assert!(head.stdout.starts_with(b"x") && head.stdout.ends_with(b"x\n"));
        let stderr = String::from_utf8_lossy(&out.stderr);
        if code.contains("\\n") {
            assert_eq!(out.status.code(), Some(1), "{stderr}");
            assert!(
                stderr.contains("BrokenPipeError"),
                "python3 met the broken pipe: {stderr}"
            );
        }
    }
    assert!(user.reports().is_empty(), "{:?}", user.reports());
    assert!(!user.outbox().exists(), "nothing was written to the outbox");
}

#[test]
fn configured_exit_codes_make_a_report_for_that_tool() {
    let user = User::new();
    user.write_config("[tools.grep]\nreport_exit_codes = [2]\n");
    user.wrapped(&["grep", "-q", "needle", "/dev/null"]); // exit 1: not configured
    user.wrapped(&["grep", "needle", "/no/such/file"]); // exit 2
    let reports = user.reports();
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0]["error_class"], "exit:2");
    assert_eq!(reports[0]["exit_code"], 2);
}

#[test]
fn a_retry_loop_is_reported_as_friction_even_when_the_tool_succeeds() {
    let user = User::new();
    let out = user.wrapped(&[
        "sh",
        "-c",
        "for i in 1 2 3; do echo 'Retrying in 1 seconds' >&2; done; exit 0",
    ]);
    assert!(out.status.success());
    let r = &user.reports()[0];
    assert_eq!(r["error_class"], "friction:retry_loop");
    assert_eq!(r["friction_kind"], "retry_loop");
    assert_eq!(r["exit_code"], 0);

    let quiet = User::new();
    quiet.wrapped(&[
        "sh",
        "-c",
        "echo 'Retrying in 1 seconds' >&2; echo 'Retrying in 1 seconds' >&2",
    ]);
    assert!(quiet.reports().is_empty(), "two retries are below the threshold");
}

#[test]
fn a_user_friction_rule_from_the_config_counts() {
    let user = User::new();
    user.write_config("[[friction.rules]]\nkind = \"gate_failure\"\npattern = \"house style violated\"\n");
    user.wrapped(&["sh", "-c", "echo 'house style violated in 3 files' >&2; exit 1"]);
    assert_eq!(user.reports()[0]["error_class"], "friction:gate_failure");
}

#[test]
fn capture_off_keeps_the_outbox_empty() {
    let user = User::new();
    user.write_config("capture = \"off\"\n");
    user.wrapped(&["sh", "-c", "kill -SEGV $$"]);
    assert!(user.reports().is_empty());
}

#[test]
fn the_phase_label_is_kept_and_anything_else_in_it_is_not() {
    let user = User::new();
    user.command(lokiwrap())
        .args(["--", "sh", "-c", "kill -ABRT $$"])
        .env("LOKIWRAP_PHASE", "deploy:staging")
        .status()
        .unwrap();
    user.command(lokiwrap())
        .args(["--", "sh", "-c", "kill -ABRT $$"])
        .env("LOKIWRAP_PHASE", "/home/alice secret")
        .status()
        .unwrap();
    // Both were captured in the same second, so their order in the outbox is not defined.
    let mut phases: Vec<String> = user.reports().iter().map(|r| r["phase"].to_string()).collect();
    phases.sort();
    assert_eq!(phases, vec!["\"deploy:staging\"".to_string(), "null".to_string()]);
}

#[test]
fn inside_a_git_repository_the_project_is_a_hash_and_its_names_are_scrubbed() {
    let user = User::new();
    let repo = user.path("work/acme-widgets");
    std::fs::create_dir_all(&repo).unwrap();
    let git = |args: &[&str]| {
        assert!(
            Command::new("git")
                .args(args)
                .current_dir(&repo)
                .output()
                .unwrap()
                .status
                .success()
        )
    };
    git(&["init", "-q"]);
    git(&["remote", "add", "origin", "git@github.com:sekrit-org/acme-widgets.git"]);
    let script = write_script(
        &repo,
        "crash.py",
        "def acme_widgets():\n    raise ValueError('x')\nacme_widgets()\n",
    );
    user.command(lokiwrap())
        .args(["--", "python3", &script])
        .current_dir(&repo)
        .output()
        .unwrap();
    let r = &user.reports()[0];
    let hash = r["project_id_hash"].as_str().expect("a project hash");
    assert_eq!(hash.len(), 64);
    use sha2::Digest;
    let expected: String = sha2::Sha256::digest(b"github.com/sekrit-org/acme-widgets")
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(hash, expected, "the hash of the normalised origin URL");
    let bytes = &user.stored()[0];
    assert!(
        !bytes.contains("sekrit-org") && !bytes.contains("acme-widgets"),
        "{bytes}"
    );
}

#[test]
fn an_unwritable_state_directory_costs_one_warning_and_never_the_exit_status() {
    let user = User::new();
    std::fs::create_dir_all(user.path(".local")).unwrap();
    std::fs::write(user.path(".local/state"), "a file where a directory should be").unwrap();
    let out = user.wrapped(&["sh", "-c", "echo tool-output >&2; kill -SEGV $$"]);
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(out.status.signal(), Some(libc::SIGSEGV));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let ours: Vec<&str> = stderr.lines().filter(|l| l.starts_with("lokiwrap:")).collect();
    assert_eq!(ours.len(), 1, "{stderr}");
    assert!(
        ours[0].starts_with("lokiwrap: warning: the crash report was not saved"),
        "{stderr}"
    );
    assert!(stderr.starts_with("tool-output\n"));
}

#[test]
fn crash_clear_deletes_one_or_all() {
    let user = User::new();
    for _ in 0..3 {
        user.wrapped(&["sh", "-c", "kill -SEGV $$"]);
    }
    let ids: Vec<String> = user
        .reports()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    assert!(user.lokiwrap(&["crash", "clear", &ids[0]]).status.success());
    assert_eq!(user.reports().len(), 2);
    let out = user.lokiwrap(&["crash", "clear"]);
    assert_eq!(String::from_utf8_lossy(&out.stderr), "lokiwrap: deleted 2 reports\n");
    assert!(user.reports().is_empty());
    let out = user.lokiwrap(&["crash", "show", "deadbeef"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("lokiwrap crash` lists them"));
}

#[test]
fn lokiwrap_scrub_filters_stdin_to_stdout() {
    let user = User::new();
    let mut child = user
        .command(lokiwrap())
        .arg("scrub")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    let token = format!("ghp_{}", "B".repeat(36));
    write!(
        child.stdin.take().unwrap(),
        "push failed for bob@example.org with {token} in /home/bob/src\nplain line\n"
    )
    .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        !text.contains(&token) && !text.contains("bob@example.org") && !text.contains("/home/bob"),
        "{text}"
    );
    assert!(text.ends_with("plain line\n"), "{text}");
}
