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
