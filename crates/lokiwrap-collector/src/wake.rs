//! What the collector's threads share to keep time and to wake each other: the clock every
//! stored time is read from, and the doorbell that wakes the GitHub worker when a job is queued
//! or the collector stops. Server, writer, worker and auto-fix all depend on this module and on
//! none of each other for it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

/// Wakes the worker when a job is queued or the collector is stopping.
#[derive(Default)]
pub struct Wake {
    pending: Mutex<bool>,
    signal: Condvar,
    stop: AtomicBool,
}

impl Wake {
    pub fn notify(&self) {
        *self.pending.lock().unwrap_or_else(|p| p.into_inner()) = true;
        self.signal.notify_all();
    }

    pub fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
        self.notify();
    }

    pub fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// Waits up to `timeout`, or less when notified. Returns false when stopping.
    pub fn wait(&self, timeout: Duration) -> bool {
        let pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        let (mut pending, _) = self
            .signal
            .wait_timeout_while(pending, timeout, |pending| !*pending && !self.stopping())
            .unwrap_or_else(|p| p.into_inner());
        *pending = false;
        !self.stopping()
    }

    /// Sleeps the whole `duration` unless stopping. Returns false when stopping.
    pub fn sleep(&self, duration: Duration) -> bool {
        let until = Instant::now() + duration;
        while let Some(left) = until.checked_duration_since(Instant::now()).filter(|d| !d.is_zero()) {
            let pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
            let _ = self.signal.wait_timeout_while(pending, left, |_| !self.stopping());
            if self.stopping() {
                return false;
            }
        }
        !self.stopping()
    }
}

/// Seconds since 1970, as the store keeps times; 0 if the clock is before 1970.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
