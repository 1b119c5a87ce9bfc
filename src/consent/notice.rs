//! The first-run notice: told once per user, on stderr, after the first wrapped run (so it
//! never lands in the middle of a tool's screen), never as a prompt. A sentinel in the
//! configuration file records that it was shown; nothing is sent in the run that showed it.

use super::persist;
use crate::config::Config;
use crate::messages;

/// What lokiwrap collects and how to stop it. Every statement here must stay true of the
/// code: the fields are those of `report::payload::Report`.
pub const TEXT: &str = "\
lokiwrap: a note on crash reports, shown once.
  When a tool you run through lokiwrap crashes or gets stuck (retry or rate-limit loops,
  failed quality gates), lokiwrap keeps a small report: the tool's name, os and arch,
  versions, the error type, up to five function names, the exit code or signal, and
  hashes for grouping. Never your code, arguments, output, paths, keys, repository
  names or environment. See them with: lokiwrap crash
  Reports are sent only to a collector you configure (endpoint in config.toml or
  LOKIWRAP_ENDPOINT), and never in the run that showed this note.
  Everything it may send: lokiwrap privacy (PRIVACY.md).
  Turn sending off at any time: lokiwrap telemetry off (or set DO_NOT_TRACK=1).
";

/// Shows the notice unless it was shown before. Returns whether it was shown now.
pub fn show_once(config: &Config) -> bool {
    if config.notice_shown {
        return false;
    }
    eprint!("{TEXT}");
    if let Err(problem) = persist::set("notice_shown", true) {
        messages::warn_once(format_args!("the note above may show again: {problem}"));
    }
    true
}
