//! What lokiwrap tells the user about itself, on stderr. A wrapped run prints at most one
//! warning line of lokiwrap's own: the tool's output is the user's, not ours.

use std::fmt::Display;
use std::sync::atomic::{AtomicBool, Ordering};

static WARNED: AtomicBool = AtomicBool::new(false);

/// Prints `lokiwrap: warning: …` unless a warning was already printed by this process.
pub fn warn_once(what: impl Display) {
    if !WARNED.swap(true, Ordering::Relaxed) {
        eprintln!("lokiwrap: warning: {what}");
    }
}

/// Prints `lokiwrap: …`, for failures that end lokiwrap.
pub fn error(what: impl Display) {
    eprintln!("lokiwrap: {what}");
}
