//! The outbox is only ever a private directory of the user's: a real tool crashes under
//! lokiwrap with an outbox that others could write to, or with links planted in or for it.
//! The tool runs and keeps its exit status either way; the report lands only in a safe place.

mod common;

use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::Output;

/// A Python tool that dies of an uncaught exception, exit status 1.
const CRASH: &str = "def helper():\n    raise ValueError('boom')\nhelper()\n";

struct User {
    home: tempfile::TempDir,
}

impl User {
    fn new() -> User {
        let user = User {
            home: tempfile::tempdir().unwrap(),
        };
        common::write_config(user.home.path(), "notice_shown = true\n");
        user
    }

    fn outbox(&self) -> PathBuf {
        self.home.path().join(".local/state/lokiwrap/outbox")
    }

    fn run(&self, args: &[&str]) -> Output {
        common::lokiwrap_as(self.home.path(), args, &[]).output().unwrap()
    }

    fn crash_under_lokiwrap(&self) -> Output {
        self.run(&["--", "python3", "-c", CRASH])
    }

    /// The report files in `dir`, by name.
    fn reports_in(dir: &Path) -> Vec<String> {
        fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name.ends_with(".json") && !name.starts_with('.'))
            .collect()
    }
}

fn mode(path: &Path) -> u32 {
    fs::symlink_metadata(path).unwrap().permissions().mode() & 0o7777
}

#[test]
fn a_world_writable_outbox_of_ours_is_made_private_and_gets_the_report() {
    let user = User::new();
    fs::create_dir_all(user.outbox()).unwrap();
    fs::set_permissions(user.outbox(), fs::Permissions::from_mode(0o777)).unwrap();

    let out = user.crash_under_lokiwrap();
    assert_eq!(out.status.code(), Some(1), "the tool's exit status is kept");
    assert_eq!(mode(&user.outbox()), 0o700, "the outbox was tightened");
    assert_eq!(User::reports_in(&user.outbox()).len(), 1, "the report was kept");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("lokiwrap:"), "nothing to tell the user: {stderr}");
}

#[test]
fn a_lock_file_that_is_a_symlink_is_not_followed() {
    let user = User::new();
    fs::create_dir_all(user.outbox()).unwrap();
    fs::set_permissions(user.outbox(), fs::Permissions::from_mode(0o700)).unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    // A link to a file that does not exist yet: following it would create that file.
    let planted = elsewhere.path().join("planted");
    symlink(&planted, user.outbox().join(".lock")).unwrap();

    let out = user.crash_under_lokiwrap();
    assert_eq!(out.status.code(), Some(1), "the tool's exit status is kept");
    assert!(!planted.exists(), "the lock file's link was followed");
    assert_eq!(User::reports_in(&user.outbox()).len(), 1, "the report was kept");
    assert!(
        !fs::symlink_metadata(user.outbox().join(".lock")).unwrap().is_symlink(),
        "the planted link gave way to a lock file of our own"
    );
}

#[test]
fn an_outbox_that_is_a_symlink_is_refused_with_one_message_naming_it() {
    let user = User::new();
    let elsewhere = tempfile::tempdir().unwrap();
    fs::set_permissions(elsewhere.path(), fs::Permissions::from_mode(0o700)).unwrap();
    fs::create_dir_all(user.outbox().parent().unwrap()).unwrap();
    symlink(elsewhere.path(), user.outbox()).unwrap();

    let out = user.crash_under_lokiwrap();
    assert_eq!(out.status.code(), Some(1), "the tool's exit status is kept");
    assert!(
        User::reports_in(elsewhere.path()).is_empty(),
        "no report through the link"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    let ours: Vec<&str> = stderr.lines().filter(|l| l.starts_with("lokiwrap:")).collect();
    assert_eq!(ours.len(), 1, "one message: {stderr}");
    let outbox = user.outbox().display().to_string();
    assert!(
        ours[0].contains(&outbox) && ours[0].contains("symbolic link") && ours[0].contains("XDG_STATE_HOME"),
        "names the directory, the problem and the fix: {}",
        ours[0]
    );

    let crash = user.run(&["crash"]);
    assert_eq!(crash.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&crash.stderr);
    assert!(stderr.contains(&outbox) && stderr.contains("symbolic link"), "{stderr}");

    let doctor = user.run(&["doctor"]);
    assert_eq!(doctor.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&doctor.stdout);
    assert!(
        stdout.contains("✗ outbox") && stdout.contains("symbolic link") && stdout.contains("XDG_STATE_HOME"),
        "{stdout}"
    );
}
