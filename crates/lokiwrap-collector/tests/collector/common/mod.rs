//! Shared support for the collector's integration tests: a real collector process, a fake
//! GitHub on loopback, and the client where a test follows a report from end to end.
#![allow(dead_code)]

pub mod collector;
pub mod fake_github;
pub mod git_repos;
pub mod kernel;

use std::path::{Path, PathBuf};
use std::process::Command;

/// The client, `lokiwrap`, built next to the collector by `cargo test --workspace`. It belongs
/// to another package, so cargo cannot name it here; `None` when only the collector was built.
pub fn lokiwrap() -> Option<PathBuf> {
    let client = collector::binary().with_file_name("lokiwrap");
    client.is_file().then_some(client)
}

/// `lokiwrap ARGS` run as a user whose home is `home`: configuration and state under it, none of
/// the caller's opt-out, endpoint, debug, phase or nesting variables, and stdin closed.
pub fn lokiwrap_as(client: &Path, home: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(client);
    cmd.env("HOME", home)
        .env("XDG_STATE_HOME", home.join(".local/state"))
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .current_dir(home)
        .args(args)
        .stdin(std::process::Stdio::null());
    for var in [
        "DO_NOT_TRACK",
        "LOKIWRAP_TELEMETRY",
        "LOKI_TELEMETRY",
        "LOKI_TELEMETRY_DISABLED",
        "LOKIWRAP_ENDPOINT",
        "LOKIWRAP_TELEMETRY_DEBUG",
        "LOKIWRAP_PHASE",
        "LOKIWRAP_DEPTH",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

/// Writes `text` as the configuration file of the user whose home is `home`.
pub fn write_config(home: &Path, text: &str) {
    let dir = home.join(".config/lokiwrap");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("config.toml"), text).unwrap();
}
