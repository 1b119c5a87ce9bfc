//! When each queued report may be tried again: attempts so far and the next attempt time, kept
//! in one small file in the outbox (`.delivery.json`) so that the schedule survives the flusher's
//! death. Only the flusher writes it, under the outbox's flusher lock.

use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::io::{self, Read};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// A dotfile without the report suffix pattern, so `Outbox::list` never takes it for a report.
pub const STATE_FILE: &str = ".delivery.json";
/// Starts like the outbox's own temporary files, so the outbox's cleanup removes one left by a
/// flusher that died between writing and renaming.
const STATE_TEMP_PREFIX: &str = ".tmp-delivery";

/// The first retry waits this long; each further one twice as long as the one before.
const FIRST_DELAY_SECS: u64 = 60;
/// No retry waits longer than this on our own account.
const MAX_DELAY_SECS: u64 = 6 * 60 * 60;
/// A collector may ask for a longer pause than our own backoff, but not for more than a day.
pub const MAX_RETRY_AFTER_SECS: u64 = 24 * 60 * 60;
/// A schedule further ahead than any delay we set comes from a clock that was wrong (or set
/// back since); it is ignored rather than holding a report for years.
const MAX_PLAUSIBLE_WAIT_SECS: u64 = MAX_RETRY_AFTER_SECS + 60 * 60;

/// Where one report stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Retry {
    /// Attempts started so far, counted before each request goes out: a flusher killed in the
    /// middle of a request still counts it, so a report that kills the flusher cannot be retried
    /// forever.
    pub attempts: u32,
    /// Earliest time of the next attempt, in seconds since the Unix epoch.
    pub next_attempt_at: u64,
}

/// The whole delivery state of one outbox.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    /// No report is tried before this time: the collector could not be reached, or asked
    /// everyone to wait (429, 503).
    #[serde(default)]
    pub paused_until: u64,
    /// By report id. A report without an entry has never been tried and is due.
    #[serde(default)]
    pub reports: BTreeMap<String, Retry>,
}

impl State {
    /// The state kept in `dir`. A missing or unreadable file is an empty state: the worst that
    /// can happen is that reports are tried sooner than planned.
    pub fn load(dir: &Path) -> State {
        let mut bytes = Vec::new();
        let read = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(dir.join(STATE_FILE))
            .and_then(|mut file| file.read_to_end(&mut bytes));
        match read {
            Ok(_) => serde_json::from_slice(&bytes).unwrap_or_default(),
            Err(_) => State::default(),
        }
    }

    /// Replaces the state file atomically: readers see the old state or the new one, never half.
    pub fn save(&self, dir: &Path) -> io::Result<()> {
        let bytes = serde_json::to_vec(self).unwrap_or_default();
        crate::atomic_file::replace(&dir.join(STATE_FILE), &bytes, STATE_TEMP_PREFIX, 0o600).map_err(|err| {
            io::Error::new(
                err.kind(),
                format!(
                    "cannot save the delivery schedule in {}: {err}; check that the directory is writable and the \
                     disk has space",
                    dir.display()
                ),
            )
        })
    }

    /// Whether the report may be tried at `now` without forcing.
    pub fn is_due(&self, id: &str, now: u64) -> bool {
        let waits_until = |at: u64| at > now && at - now <= MAX_PLAUSIBLE_WAIT_SECS;
        if waits_until(self.paused_until) {
            return false;
        }
        !self
            .reports
            .get(id)
            .is_some_and(|retry| waits_until(retry.next_attempt_at))
    }

    pub fn attempts(&self, id: &str) -> u32 {
        self.reports.get(id).map_or(0, |retry| retry.attempts)
    }
}

/// The wait after the `attempts`-th failed attempt (1 for the first): one minute, doubling,
/// capped at six hours, and shortened by up to a fifth at random so that many clients that failed
/// together do not all come back in the same second.
pub fn backoff_secs(attempts: u32) -> u64 {
    let doublings = attempts.saturating_sub(1).min(20);
    let delay = FIRST_DELAY_SECS.saturating_mul(1 << doublings).min(MAX_DELAY_SECS);
    let random = getrandom::u64().unwrap_or_else(|_| unix_now_nanos());
    delay - random % (delay / 5 + 1)
}

pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs())
}

fn unix_now_nanos() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.subsec_nanos().into())
}

/// Says how long a wait is, for messages: `45 s`, `12 min`, `3 h 10 min`.
pub fn describe_wait(secs: u64) -> String {
    match secs {
        0..120 => format!("{secs} s"),
        120..7200 => format!("{} min", secs.div_ceil(60)),
        _ => format!("{} h {} min", secs / 3600, secs % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_a_minute_up_to_six_hours_and_jitters_downwards_only() {
        for (attempts, full) in [(1, 60), (2, 120), (3, 240), (9, 15_360), (10, 6 * 3600), (40, 6 * 3600)] {
            for _ in 0..50 {
                let delay = backoff_secs(attempts);
                assert!(delay <= full && delay >= full - full / 5, "{attempts}: {delay}");
            }
        }
    }

    #[test]
    fn a_schedule_in_the_future_holds_a_report_unless_implausibly_far() {
        let mut state = State::default();
        state.reports.insert(
            "a".into(),
            Retry {
                attempts: 1,
                next_attempt_at: 1_000,
            },
        );
        assert!(!state.is_due("a", 999));
        assert!(state.is_due("a", 1_000));
        assert!(state.is_due("b", 0));
        state.paused_until = 1_000_000;
        assert!(!state.is_due("b", 999_999));
        assert!(state.is_due("b", 1_000_000 - MAX_PLAUSIBLE_WAIT_SECS - 1));
    }

    #[test]
    fn only_report_names_give_ids() {
        let dir = tempfile::tempdir().unwrap();
        for name in [
            "00000000001795000000-0a-b.json",
            STATE_FILE,
            ".tmp-deliveryAb12Cd",
            ".lock",
            "00000000001795000000-.json",
            "0000000001795000000-ab.json",
        ] {
            std::fs::write(dir.path().join(name), "{}").unwrap();
        }
        assert_eq!(crate::outbox::Outbox::new(dir.path().to_path_buf()).ids(), ["0a-b"]);
    }

    #[test]
    fn waits_read_naturally() {
        assert_eq!(describe_wait(60), "60 s");
        assert_eq!(describe_wait(600), "10 min");
        assert_eq!(describe_wait(6 * 3600 + 120), "6 h 2 min");
    }
}
