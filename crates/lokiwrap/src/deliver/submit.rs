//! `lokiwrap-flush submit`: sending the outbox now, in the foreground, one line per report; and,
//! with no endpoint set, printing the reports with a link to file each by hand. `lokiwrap crash
//! submit` hands over to it, so both share the checks below.

use std::io::Write;

use lokiwrap_report::percent_encode::percent_encode;

use super::{Sent, Settings};
use crate::config::Config;
use crate::consent;
use crate::messages;
use crate::outbox::{self, Outbox};

pub(crate) fn open_outbox() -> Result<Outbox, i32> {
    match outbox::default_dir() {
        Some(dir) => Ok(Outbox::new(dir)),
        None => {
            messages::error("no state directory for the outbox: set HOME or XDG_STATE_HOME");
            Err(1)
        }
    }
}

/// `lokiwrap-flush submit [ID] [--yes]`: sends now, in the foreground, one line per report.
pub fn send_now(id: Option<&str>, yes: bool) -> i32 {
    let result = open_outbox().map_err(|_| String::new()).and_then(|outbox| {
        let (config, _) = Config::load();
        prepare(&outbox, id, yes, &config)?;
        match config.endpoint() {
            Some(endpoint) => send_with_progress(&outbox, id, endpoint),
            None => print_for_manual_filing(&outbox, id, config.repository.as_deref()),
        }
    });
    match result {
        Ok(status) => status,
        Err(problem) if problem.is_empty() => 1,
        Err(problem) => {
            messages::error(format_args!("crash: {problem}"));
            1
        }
    }
}

/// Checks the switch (saying which one `--yes` overrides) and that the named report exists.
pub(crate) fn prepare(outbox: &Outbox, id: Option<&str>, yes: bool, config: &Config) -> Result<(), String> {
    let decision = consent::decide(config);
    if !decision.enabled {
        if !yes {
            return Err(format!(
                "telemetry is off ({} decided); nothing was sent. To send anyway: lokiwrap crash submit --yes",
                decision.decided_by.name()
            ));
        }
        eprintln!(
            "lokiwrap: sending although {} turns telemetry off (--yes)",
            decision.decided_by.name()
        );
    }
    if let Some(id) = id
        && outbox.get(id).map_err(|e| e.to_string())?.is_none()
    {
        return Err(format!(
            "no report {id} in {}; `lokiwrap crash` lists them",
            outbox.dir().display()
        ));
    }
    Ok(())
}

fn send_with_progress(outbox: &Outbox, id: Option<&str>, endpoint: String) -> Result<i32, String> {
    let debug = super::debug_requested();
    let settings = Settings { endpoint, debug };
    let full_id = match id {
        Some(id) => outbox.get(id).map_err(|e| e.to_string())?.map(|e| e.id),
        None => None,
    };
    let mut failures = 0;
    let attempts = super::flush(outbox, &settings, true, full_id.as_deref(), &mut |attempt| {
        let short = attempt.id.get(..8).unwrap_or(&attempt.id);
        match &attempt.result {
            Sent::Delivered => eprintln!("lokiwrap: {short} sent"),
            Sent::Shown => eprintln!("lokiwrap: {short} shown, not sent (LOKIWRAP_TELEMETRY_DEBUG)"),
            Sent::Kept(why) => eprintln!("lokiwrap: {short} not sent, kept for later: {why}"),
            Sent::Dropped(why) => eprintln!("lokiwrap: {short} dropped: {why}"),
            Sent::Skipped => eprintln!("lokiwrap: {short} not due yet"),
        }
        if matches!(attempt.result, Sent::Kept(_) | Sent::Dropped(_)) {
            failures += 1;
        }
    });
    match attempts.map_err(|e| e.to_string())? {
        None => Err("another lokiwrap is sending reports right now; try again in a moment".into()),
        Some(list) if list.is_empty() => {
            eprintln!("lokiwrap: no reports to send");
            Ok(0)
        }
        Some(_) => Ok(if failures == 0 { 0 } else { 1 }),
    }
}

/// Phase-0 style filing: the report itself, and a link that opens a new issue with it.
pub(crate) fn print_for_manual_filing(
    outbox: &Outbox,
    id: Option<&str>,
    repository: Option<&str>,
) -> Result<i32, String> {
    let entries = match id {
        Some(id) => outbox.get(id).map_err(|e| e.to_string())?.into_iter().collect(),
        None => outbox.list().map_err(|e| e.to_string())?,
    };
    if entries.is_empty() {
        eprintln!("lokiwrap: no reports to submit");
        return Ok(0);
    }
    eprintln!("lokiwrap: no endpoint is set (endpoint in config.toml or LOKIWRAP_ENDPOINT): nothing was sent.");
    let mut out = String::new();
    for entry in entries {
        let Ok(report) = crate::report::payload::Report::from_bytes(&entry.bytes) else {
            continue;
        };
        let body = String::from_utf8_lossy(&entry.bytes).into_owned();
        out.push_str(&body);
        out.push('\n');
        match repository {
            Some(repo) => {
                let title = format!(
                    "{}: {} in {}",
                    report.error_class,
                    short(&report.fingerprint),
                    report.tool
                );
                let issue_body = format!("Crash report from lokiwrap:\n\n```json\n{body}\n```\n");
                out.push_str(&format!(
                    "https://github.com/{repo}/issues/new?title={}&body={}\n",
                    percent_encode(&title),
                    percent_encode(&issue_body)
                ));
            }
            None => eprintln!("lokiwrap: set repository = \"owner/name\" in config.toml for a ready-made issue link"),
        }
    }
    write_stdout(out.as_bytes())
}

pub(crate) fn write_stdout(bytes: &[u8]) -> Result<i32, String> {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Ok(()) => Ok(0),
        // A closed pipe (`| head`) is the reader's choice, not an error.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(0),
        Err(e) => Err(format!("cannot write stdout: {e}")),
    }
}

pub(crate) fn short(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}
