//! Logging a repeated failure once per interval, with how many times it happened since. A full
//! disk or an exhausted descriptor table fails every request the same way; one line per
//! request would bury everything else in the log and fill the disk further.

use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct Throttled {
    what: &'static str,
    every: Duration,
    state: Mutex<State>,
}

struct State {
    last_logged: Option<Instant>,
    suppressed: u64,
}

impl Throttled {
    pub fn new(what: &'static str, every: Duration) -> Throttled {
        Throttled {
            what,
            every,
            state: Mutex::new(State {
                last_logged: None,
                suppressed: 0,
            }),
        }
    }

    /// Logs `error` at ERROR, unless this failure was logged less than an interval ago; then it
    /// is only counted, and the next line logged says how many were left out.
    pub fn error(&self, error: &dyn std::fmt::Display) {
        if let Some(suppressed) = self.due() {
            tracing::error!(%error, suppressed, "{}", self.what);
        }
    }

    /// `Some(left out since the last line)` when a line is due now.
    fn due(&self) -> Option<u64> {
        let now = Instant::now();
        let mut state = self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if state
            .last_logged
            .is_some_and(|last| now.duration_since(last) < self.every)
        {
            state.suppressed += 1;
            return None;
        }
        state.last_logged = Some(now);
        Some(std::mem::take(&mut state.suppressed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_is_one_line_and_the_next_line_counts_it() {
        let throttled = Throttled::new("x", Duration::from_millis(50));
        assert_eq!(throttled.due(), Some(0));
        for _ in 0..6010 {
            assert_eq!(throttled.due(), None);
        }
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(throttled.due(), Some(6010));
        assert_eq!(throttled.due(), None);
    }
}
