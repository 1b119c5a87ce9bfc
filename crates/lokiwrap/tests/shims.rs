//! `lokiwrap shim`: a new user wraps a real tool through PATH, sees its crash reported, and
//! undoes it.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Output, Stdio};

use common::{lokiwrap, text};

struct User {
    home: tempfile::TempDir,
    tools: tempfile::TempDir,
}

impl User {
    fn new() -> User {
        let user = User {
            home: tempfile::tempdir().unwrap(),
            tools: tempfile::tempdir().unwrap(),
        };
        common::write_config(user.home.path(), "notice_shown = true\n");
        user
    }

    fn shims(&self) -> std::path::PathBuf {
        self.home.path().join(".local/share/lokiwrap/shims")
    }

    /// A tool of the user's, on PATH after the shims.
    fn install_tool(&self, name: &str, script: &str) {
        let path = self.tools.path().join(name);
        std::fs::write(&path, format!("#!/bin/sh\n{script}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    fn path_var(&self) -> String {
        format!("{}:/usr/bin:/bin", self.tools.path().display())
    }

    fn lokiwrap(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new(lokiwrap());
        common::as_user(&mut cmd, self.home.path());
        cmd.args(args)
            .env("PATH", self.path_var())
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    /// `sh -c SCRIPT` in a shell that ran `eval "$(lokiwrap shim env sh)"` first.
    fn shell(&self, script: &str) -> Output {
        let setup = format!("eval \"$('{}' shim env sh)\"; {script}", lokiwrap().display());
        let mut cmd = Command::new("sh");
        common::as_user(&mut cmd, self.home.path());
        cmd.args(["-c", &setup])
            .env("PATH", self.path_var())
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }
}

#[test]
fn a_shimmed_tool_runs_wrapped_through_path_and_its_crash_is_reported() {
    let user = User::new();
    user.install_tool("mytool", "echo \"depth=$LOKIWRAP_DEPTH args=$*\"; kill -SEGV $$");
    let added = user.lokiwrap(&["shim", "add", "mytool"]);
    assert!(added.status.success(), "{}", text(&added.stderr));
    assert!(text(&added.stderr).contains("mytool is wrapped"));

    let run = user.shell("mytool a b");
    assert_eq!(
        text(&run.stdout),
        "depth=1 args=a b\n",
        "the tool ran under lokiwrap, arguments intact"
    );
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(
        run.status.code(),
        Some(128 + libc::SIGSEGV),
        "the shell saw the tool's death by SIGSEGV"
    );

    let reports: Vec<serde_json::Value> =
        serde_json::from_slice(&user.lokiwrap(&["crash", "list", "--json"]).stdout).unwrap();
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0]["tool"], "mytool");
    assert_eq!(reports[0]["error_class"], "SIGSEGV");
    let _ = run.status.signal();

    let list = text(&user.lokiwrap(&["shim", "list"]).stdout);
    assert_eq!(
        list,
        format!("mytool\t{}\n", user.tools.path().join("mytool").display())
    );

    assert!(user.lokiwrap(&["shim", "remove", "mytool"]).status.success());
    assert!(!user.shims().join("mytool").exists());
    assert_eq!(text(&user.shell("mytool").stdout), "depth= args=\n", "unwrapped again");
}

#[test]
fn a_tool_that_is_not_on_path_is_refused_unless_forced() {
    let user = User::new();
    let refused = user.lokiwrap(&["shim", "add", "nosuchtool"]);
    assert_eq!(refused.status.code(), Some(1));
    let message = text(&refused.stderr);
    assert!(
        message.contains("nosuchtool is not on PATH") && message.contains("--force"),
        "{message}"
    );
    assert!(!user.shims().join("nosuchtool").exists());
    assert!(
        user.lokiwrap(&["shim", "add", "--force", "nosuchtool"])
            .status
            .success()
    );
    assert_eq!(
        text(&user.lokiwrap(&["shim", "list"]).stdout),
        "nosuchtool\t(no such tool on PATH)\n"
    );
}

#[test]
fn shim_list_with_no_shims_says_so_and_how_to_add_one() {
    let user = User::new();
    let out = user.lokiwrap(&["shim", "list"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(text(&out.stdout), "", "stdout stays an empty list for scripts");
    assert_eq!(
        text(&out.stderr),
        "lokiwrap: no shims yet; add one with: lokiwrap shim add TOOL\n"
    );
    // The same once the last shim is gone and its directory is left empty.
    user.install_tool("mytool", "true");
    assert!(user.lokiwrap(&["shim", "add", "mytool"]).status.success());
    assert!(user.lokiwrap(&["shim", "remove", "mytool"]).status.success());
    assert!(user.shims().is_dir());
    let out = user.lokiwrap(&["shim", "list"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stderr).contains("no shims yet"), "{}", text(&out.stderr));
}

#[test]
fn only_lokiwrap_links_are_ever_touched() {
    let user = User::new();
    user.install_tool("tool", "true");
    std::fs::create_dir_all(user.shims()).unwrap();
    std::fs::write(user.shims().join("tool"), "someone else's file").unwrap();
    let added = user.lokiwrap(&["shim", "add", "tool"]);
    assert_eq!(added.status.code(), Some(1));
    assert!(text(&added.stderr).contains("is not a lokiwrap shim"));
    let removed = user.lokiwrap(&["shim", "remove", "tool"]);
    assert_eq!(removed.status.code(), Some(1));
    assert_eq!(
        std::fs::read_to_string(user.shims().join("tool")).unwrap(),
        "someone else's file"
    );
    for bad in ["../x", "lokiwrap", "-n"] {
        let out = user.lokiwrap(&["shim", "add", "--force", "--", bad]);
        assert_eq!(out.status.code(), Some(1), "{bad}: {}", text(&out.stderr));
    }
}

#[test]
fn shim_env_prints_a_line_for_each_shell() {
    let user = User::new();
    let dir = user.shims().display().to_string();
    assert_eq!(
        text(&user.lokiwrap(&["shim", "env", "bash"]).stdout),
        format!("export PATH='{dir}'\":$PATH\"\n")
    );
    assert_eq!(
        text(&user.lokiwrap(&["shim", "env", "fish"]).stdout),
        format!("set -gx PATH '{dir}' $PATH\n")
    );
    let out = user.lokiwrap(&["shim", "env", "tcsh"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("choose bash, zsh or fish"));
    // The line really puts the shims first.
    let path = text(&user.shell("echo \"$PATH\"").stdout);
    assert!(path.starts_with(&format!("{dir}:")), "{path}");
}
