//! Watching what the tool printed on stderr: stack traces and friction.

pub mod friction;
pub mod trace;
