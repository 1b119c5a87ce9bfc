//! Watching what the tool printed on stderr: stack traces and friction.

pub mod friction;
pub mod stderr_watch;
pub mod trace;
