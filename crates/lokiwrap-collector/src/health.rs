//! What `/healthz` knows about the store beyond a read: whether its last write went through. A
//! full disk or a read-only file still answers reads, while every report gets an error; health
//! must say so, or a load balancer keeps sending clients to a collector that cannot keep
//! anything.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A failure is forgotten after this long without another, so that a store that recovered
/// while no client wrote is not reported failing for ever.
const REMEMBERED: Duration = Duration::from_secs(300);

/// How long one look at the store answers `/healthz`: anyone may call it, and a flood of
/// calls must not become a flood of store reads.
const PROBE_FOR: Duration = Duration::from_secs(1);

#[derive(Default)]
pub struct Health {
    last_failure: Mutex<Option<(Instant, String)>>,
    /// The last read probe of the store: when, and its error if it failed.
    last_probe: Mutex<Option<(Instant, Option<String>)>>,
}

impl Health {
    pub fn failed(&self, error: &dyn std::fmt::Display) {
        *self.lock() = Some((Instant::now(), error.to_string()));
    }

    pub fn ok(&self) {
        let mut last = self.lock();
        if last.is_some() {
            *last = None;
        }
    }

    /// The last write's error, while it is the latest word on the store.
    pub fn failing(&self) -> Option<String> {
        self.lock()
            .as_ref()
            .filter(|(at, _)| at.elapsed() < REMEMBERED)
            .map(|(_, error)| error.clone())
    }

    /// The last probe's outcome while it is recent enough to answer with.
    pub fn recent_probe(&self) -> Option<Option<String>> {
        let probe = self.last_probe.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        probe
            .as_ref()
            .filter(|(at, _)| at.elapsed() < PROBE_FOR)
            .map(|(_, outcome)| outcome.clone())
    }

    pub fn probed(&self, outcome: Option<String>) {
        *self.last_probe.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some((Instant::now(), outcome));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<(Instant, String)>> {
        self.last_failure
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_write_is_reported_until_one_succeeds() {
        let health = Health::default();
        assert_eq!(health.failing(), None);
        health.failed(&"database or disk is full");
        assert_eq!(health.failing().as_deref(), Some("database or disk is full"));
        health.ok();
        assert_eq!(health.failing(), None);
    }
}
