//! Sending queued reports to a collector: one flusher per outbox sends what is due, deletes a
//! report only once the collector has taken it, and keeps the rest on a backoff schedule that
//! survives process death. Only valid reports scrubbed with the current rules are ever sent.

mod detach;
mod http;
mod schedule;
pub mod submit;

pub use http::CRASH_PATH;

use std::fs::OpenOptions;
use std::io::{self, ErrorKind, Read};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::outbox::{Entry, Outbox};
use crate::report::payload::Report;
use crate::report::scrub::{RULES_VERSION, Scrubber};

pub use detach::spawn_detached_flusher;

/// The program that sends reports, `lokiwrap-flush`, installed next to `lokiwrap`. Sending is
/// a program of its own so that the network and TLS code is never loaded with a wrapped tool:
/// it would cost every run start-up time while being needed only after some of them.
pub fn flusher_program() -> io::Result<std::path::PathBuf> {
    let exe = std::env::current_exe()?;
    let flusher = exe.with_file_name("lokiwrap-flush");
    if flusher.is_file() {
        Ok(flusher)
    } else {
        Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("{} is missing; reinstall lokiwrap (both programs)", flusher.display()),
        ))
    }
}
pub use schedule::Retry;

use http::{Answer, Collector};
use schedule::{State, backoff_secs, describe_wait, unix_now};

/// A report is dropped, unsent, once this many attempts have failed.
pub const MAX_ATTEMPTS: u32 = 12;
/// A report captured longer ago than this is dropped, unsent: a crash that old is news to nobody.
pub const MAX_AGE_SECS: u64 = 7 * 24 * 60 * 60;
/// Spaces out requests when many reports are waiting, so a flusher coming back online does not
/// burst them at the collector.
const PAUSE_BETWEEN_SENDS: Duration = Duration::from_millis(100);
/// No new request starts after a flush has run this long; what is left waits for the next one.
/// With the request timeout this bounds a flusher's life, whatever the collector does.
const FLUSH_BUDGET: Duration = Duration::from_secs(60);

/// Where to send, and whether to only show what would be sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The collector's base URL, e.g. `https://collector.example.com`; reports go to
    /// `{endpoint}/v1/crash`.
    pub endpoint: String,
    /// Print each payload that would be sent to stderr, and send, delete and reschedule nothing.
    pub debug: bool,
}

/// What happened to one report in a flush.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sent {
    /// The collector took it (2xx), and it left the outbox.
    Delivered,
    /// Still in the outbox, to be tried again later; says why, e.g. `503 Service Unavailable,
    /// retry in 60 s`.
    Kept(String),
    /// Removed from the outbox unsent, or refused by the collector; says why.
    Dropped(String),
    /// Not due yet: its next attempt is scheduled later.
    Skipped,
    /// Printed to stderr in debug mode, not sent.
    Shown,
}

/// The outcome for one report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    pub id: String,
    pub result: Sent,
}

/// Sends every report that is due (all of them when `force` is true, ignoring backoff), oldest
/// first, holding the outbox's flusher lock throughout, so no report is ever in flight twice.
///
/// Returns `None` at once when another flusher holds the lock. `only_id` limits the flush to the
/// report with exactly that id (resolve a prefix with `Outbox::get` first). `progress` is called
/// once per report as soon as its outcome is known. Fails when the endpoint is not an http or
/// https URL (before touching the outbox), or when the outbox or the schedule cannot be read or
/// written.
pub fn flush(
    outbox: &Outbox,
    settings: &Settings,
    force: bool,
    only_id: Option<&str>,
    progress: &mut dyn FnMut(&Attempt),
) -> io::Result<Option<Vec<Attempt>>> {
    let collector = Collector::new(&settings.endpoint)?;
    let Some(_lock) = outbox.try_lock_flusher()? else {
        return Ok(None);
    };
    let entries = outbox.list()?;
    let mut state = State::load(outbox.dir());
    if !settings.debug {
        // Reports the user cleared or the outbox pruned leave no schedule behind.
        let scheduled = state.reports.len();
        state
            .reports
            .retain(|id, _| entries.iter().any(|entry| &entry.id == id));
        if state.reports.len() != scheduled {
            state.save(outbox.dir())?;
        }
    }
    let mut flusher = Flusher {
        outbox,
        collector,
        state,
        debug: settings.debug,
        force,
        started: Instant::now(),
        last_request: None,
        halted: None,
        scrubber: None,
    };
    let mut attempts = Vec::new();
    for entry in entries
        .into_iter()
        .filter(|entry| only_id.is_none_or(|id| entry.id == id))
    {
        let Some(result) = flusher.handle(&entry)? else {
            continue;
        };
        let attempt = Attempt { id: entry.id, result };
        progress(&attempt);
        attempts.push(attempt);
    }
    Ok(Some(attempts))
}

/// `LOKIWRAP_TELEMETRY_DEBUG=1`: show what would be sent, send nothing.
pub fn debug_requested() -> bool {
    std::env::var("LOKIWRAP_TELEMETRY_DEBUG").is_ok_and(|v| !matches!(v.trim(), "" | "0" | "false" | "no" | "off"))
}

/// Passes one background flusher makes at most, however fast new reports arrive.
const MAX_FLUSH_PASSES: usize = 10;

/// `lokiwrap-flush` with no arguments: sends what is due. It checks the switch again (the user
/// may have turned telemetry off since the run that started it).
pub fn run_in_background() -> i32 {
    let (config, _) = crate::config::Config::load();
    let Some(endpoint) = crate::consent::sending_endpoint(&config) else {
        return 0;
    };
    let Some(dir) = crate::outbox::default_dir() else {
        return 0;
    };
    let settings = Settings {
        endpoint,
        debug: debug_requested(),
    };
    let outbox = Outbox::new(dir);
    // A report written while this flusher held the lock was announced by a flusher that found
    // the lock taken and left: look again after each pass, until nothing new is due.
    for _ in 0..MAX_FLUSH_PASSES {
        match flush(&outbox, &settings, false, None, &mut |_| {}) {
            Ok(Some(_)) if !settings.debug && reports_due(&outbox) => continue,
            Ok(_) => return 0,
            Err(_) => return 1,
        }
    }
    0
}

/// Whether any report is due now, from the file names and the schedule alone (no report is
/// opened), so a caller can skip starting a flusher.
pub fn reports_due(outbox: &Outbox) -> bool {
    let ids = outbox.ids();
    if ids.is_empty() {
        return false;
    }
    let state = State::load(outbox.dir());
    let now = unix_now();
    ids.iter().any(|id| state.is_due(id, now))
}

/// The schedule of a report that has been tried and is still waiting; `None` for one never tried.
pub fn retry_state(outbox: &Outbox, id: &str) -> Option<Retry> {
    State::load(outbox.dir()).reports.get(id).copied()
}

/// One flush in progress.
struct Flusher<'a> {
    outbox: &'a Outbox,
    collector: Collector,
    state: State,
    debug: bool,
    force: bool,
    started: Instant,
    last_request: Option<Instant>,
    /// Set when the collector is unreachable or asked everyone to wait: the reports after that
    /// are kept untried, with this reason.
    halted: Option<String>,
    /// Built the first time a report needs scrubbing again.
    scrubber: Option<Scrubber>,
}

impl Flusher<'_> {
    /// The outcome for one report; `None` if it left the outbox since the listing.
    fn handle(&mut self, entry: &Entry) -> io::Result<Option<Sent>> {
        let now = unix_now();
        // Read again right before sending: the user may have cleared it meanwhile.
        let Some(bytes) = read_report(&entry.path)? else {
            return Ok(None);
        };
        let report = match Report::from_bytes(&bytes) {
            Ok(report) if report.id == entry.id => report,
            Ok(report) => {
                let why = format!("its id {} differs from its file name, so it was never sent", report.id);
                return self.drop_report(entry, why).map(Some);
            }
            Err(problem) => {
                let why = format!("not a valid report ({problem}), so it was never sent");
                return self.drop_report(entry, why).map(Some);
            }
        };
        let age = now.saturating_sub(entry.captured_at);
        if age > MAX_AGE_SECS {
            let why = format!(
                "captured {} days ago; reports older than {} days are not sent",
                age / 86_400,
                MAX_AGE_SECS / 86_400
            );
            return self.drop_report(entry, why).map(Some);
        }
        let tried = self.state.attempts(&entry.id);
        if tried >= MAX_ATTEMPTS {
            let why = format!("gave up after {tried} attempts");
            return self.drop_report(entry, why).map(Some);
        }
        if !self.force && !self.state.is_due(&entry.id, now) {
            return Ok(Some(Sent::Skipped));
        }
        if let Some(why) = &self.halted {
            return Ok(Some(Sent::Kept(why.clone())));
        }
        if self.started.elapsed() > FLUSH_BUDGET {
            let why = format!(
                "not tried: this flush reached its {} s limit; the next one sends it",
                FLUSH_BUDGET.as_secs()
            );
            return Ok(Some(Sent::Kept(why)));
        }
        let bytes = if report.rules_version < RULES_VERSION {
            match self.scrub_again(report, entry) {
                Ok(bytes) => bytes,
                Err(problem) => {
                    let why = format!("could not be scrubbed with the current rules ({problem}), so it was never sent");
                    return self.drop_report(entry, why).map(Some);
                }
            }
        } else {
            bytes
        };
        if self.debug {
            eprintln!("lokiwrap: would send {}", String::from_utf8_lossy(&bytes));
            return Ok(Some(Sent::Shown));
        }
        self.send(entry, &bytes, tried + 1).map(Some)
    }

    /// Sends a report as its `attempt`-th attempt and acts on the answer.
    fn send(&mut self, entry: &Entry, bytes: &[u8], attempt: u32) -> io::Result<Sent> {
        if let Some(last) = self.last_request {
            std::thread::sleep(PAUSE_BETWEEN_SENDS.saturating_sub(last.elapsed()));
        }
        // The attempt is on disk before the request leaves: if this process dies mid-request,
        // the next flusher knows and keeps to the schedule.
        let backoff = backoff_secs(attempt);
        self.schedule(&entry.id, attempt, unix_now() + backoff)?;
        let answer = self.collector.send(&entry.id, bytes, unix_now());
        self.last_request = Some(Instant::now());
        match answer {
            Answer::Taken => {
                if let Err(err) = self.outbox.remove(&entry.id) {
                    // The schedule keeps its place in line; the collector ignores a second copy
                    // with the same Idempotency-Key.
                    return Ok(Sent::Kept(format!(
                        "delivered, but it could not be removed from the outbox ({err}); it will be sent again \
                         and the collector will ignore the copy"
                    )));
                }
                self.forget(&entry.id)?;
                Ok(Sent::Delivered)
            }
            Answer::Refused(why) => self.drop_report(entry, why),
            Answer::Later {
                why,
                retry_after,
                collector_unavailable,
            } => {
                if attempt >= MAX_ATTEMPTS {
                    return self.drop_report(entry, format!("gave up after {attempt} attempts; the last: {why}"));
                }
                let wait = retry_after.unwrap_or(backoff);
                let next = unix_now() + wait;
                if collector_unavailable {
                    self.state.paused_until = next;
                    self.halted = Some(format!("not tried: the collector is not taking reports now ({why})"));
                }
                self.schedule(&entry.id, attempt, next)?;
                Ok(Sent::Kept(format!("{why}, retry in {}", describe_wait(wait))))
            }
        }
    }

    /// Scrubs every string of an older report with the current rules and, outside debug mode,
    /// stores the result in place of the old one before it is sent.
    fn scrub_again(&mut self, report: Report, entry: &Entry) -> Result<Vec<u8>, String> {
        let scrubber = self.scrubber.get_or_insert_with(Scrubber::new);
        let bytes = rescrub(scrubber, report)?.to_bytes();
        if !self.debug {
            self.outbox
                .put(&entry.id, entry.captured_at, &bytes)
                .map_err(|err| err.to_string())?;
        }
        Ok(bytes)
    }

    /// Removes a report that will never be sent. In debug mode nothing is removed: it is only
    /// said what would happen.
    fn drop_report(&mut self, entry: &Entry, why: String) -> io::Result<Sent> {
        if self.debug {
            return Ok(Sent::Kept(format!(
                "{why}; it would be dropped, but debug mode deletes nothing"
            )));
        }
        self.outbox.remove(&entry.id)?;
        self.forget(&entry.id)?;
        Ok(Sent::Dropped(why))
    }

    fn schedule(&mut self, id: &str, attempts: u32, next_attempt_at: u64) -> io::Result<()> {
        let retry = Retry {
            attempts,
            next_attempt_at,
        };
        self.state.reports.insert(id.to_owned(), retry);
        self.state.save(self.outbox.dir())
    }

    fn forget(&mut self, id: &str) -> io::Result<()> {
        if self.state.reports.remove(id).is_some() {
            self.state.save(self.outbox.dir())?;
        }
        Ok(())
    }
}

/// The report at `path`, or `None` if it is gone. Never follows a symlink, as the outbox's own
/// reader does not.
fn read_report(path: &Path) -> io::Result<Option<Vec<u8>>> {
    let mut bytes = Vec::new();
    let read = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .and_then(|mut file| file.read_to_end(&mut bytes));
    match read {
        Ok(_) => Ok(Some(bytes)),
        Err(err) if err.kind() == ErrorKind::NotFound => Ok(None),
        Err(err) => Err(io::Error::new(
            err.kind(),
            format!("cannot read report {}: {err}", path.display()),
        )),
    }
}

/// The report with every string field scrubbed by `scrubber`, its fingerprint recomputed from
/// the results, marked with the current rules version, and its redactions added to the count.
fn rescrub(scrubber: &Scrubber, mut report: Report) -> Result<Report, String> {
    let redactions = crate::report::scrub_report(&mut report, scrubber);
    report.redactions_count = report
        .redactions_count
        .saturating_add(u32::try_from(redactions).unwrap_or(u32::MAX));
    report.validate()?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::payload;

    fn old_report(frames: &[&str]) -> Report {
        let frames: Vec<String> = frames.iter().map(|f| f.to_string()).collect();
        Report {
            schema: payload::SCHEMA,
            id: payload::new_id().unwrap(),
            captured_at: payload::rfc3339_utc(1_795_000_000),
            os: "linux".into(),
            arch: "x86_64".into(),
            lokiwrap_version: "0.1.0".into(),
            tool: "deploy".into(),
            tool_version: None,
            runtime: Some("python".into()),
            error_class: "RuntimeError".into(),
            fingerprint: payload::fingerprint("deploy", "RuntimeError", &frames),
            stack_signature: frames,
            exit_code: Some(1),
            signal: None,
            friction_kind: None,
            phase: Some("build".into()),
            project_id_hash: None,
            rules_version: 0,
            redactions_count: 2,
        }
    }

    #[test]
    fn rescrubbing_redacts_recomputes_the_fingerprint_and_counts() {
        let token = format!("ghp_{}", "a".repeat(36));
        let report = old_report(&["main", &format!("login {token}")]);
        let clean = rescrub(&Scrubber::new(), report).unwrap();
        assert!(
            !clean.stack_signature[1].contains(&token),
            "{:?}",
            clean.stack_signature
        );
        assert_eq!(clean.rules_version, RULES_VERSION);
        assert_eq!(clean.redactions_count, 3);
        assert_eq!(
            clean.fingerprint,
            payload::fingerprint(&clean.tool, &clean.error_class, &clean.stack_signature)
        );
    }

    #[test]
    fn rescrubbing_a_clean_report_changes_only_its_rules_version() {
        let report = old_report(&["main", "helper"]);
        let clean = rescrub(&Scrubber::new(), report.clone()).unwrap();
        assert_eq!(
            Report {
                rules_version: report.rules_version,
                ..clean
            },
            report
        );
    }
}
