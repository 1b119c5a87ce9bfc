//! Real git repositories for the auto-fix tests: a bare `origin` and the collector's clone.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Runs git in `dir` as a throwaway identity; its stdout. Panics if git fails.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.invalid",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .output()
        .unwrap();
    assert!(output.status.success(), "git {args:?}");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A bare `origin` with one commit on `main`, and a clone of it for the collector.
pub fn repositories(root: &Path) -> (PathBuf, PathBuf) {
    let origin = root.join("origin.git");
    let clone = root.join("clone");
    std::fs::create_dir_all(&origin).unwrap();
    git(&origin, &["init", "-q", "--bare"]);
    git(
        root,
        &["clone", "-q", origin.to_str().unwrap(), clone.to_str().unwrap()],
    );
    std::fs::write(clone.join("README"), "tool\n").unwrap();
    git(&clone, &["add", "README"]);
    git(&clone, &["commit", "-qm", "start"]);
    git(&clone, &["push", "-q", "origin", "HEAD:main"]);
    (origin, clone)
}
