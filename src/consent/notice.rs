//! The first-run notice: told once per user, on stderr, after the first wrapped run (so it
//! never lands in the middle of a tool's screen), never as a prompt. Only a person reads it, so
//! it is shown only when stderr is a terminal: a file or pipe (CI logs, `2>err.log`) gets
//! nothing added. It is not shown at all when a switch turns sending off. A sentinel in the
//! configuration file records that it was shown; until then nothing is sent (see
//! `consent::sending_endpoint`), and nothing is sent in the run that showed it either.

use std::io::IsTerminal;

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

/// Shows the notice on a terminal, unless it was shown before or sending is switched off.
/// Returns whether it was shown now.
pub fn show_once(config: &Config) -> bool {
    if config.notice_shown || !std::io::stderr().is_terminal() || !super::decide(config).enabled {
        return false;
    }
    eprint!("{TEXT}");
    if let Err(problem) = persist::set("notice_shown", true) {
        messages::warn_once(format_args!("the note above may show again: {problem}"));
    }
    true
}
