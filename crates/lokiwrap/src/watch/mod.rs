//! Watching what the tool printed (stderr, or both streams when they share one place): stack
//! traces and friction.

pub mod friction;
pub mod output_watch;
pub mod trace;
