//! lokiwrap: run a command-line tool unchanged, and report its crashes and friction
//! privately. The binary in `main.rs` dispatches; each module here owns one concern,
//! and data flows one way: launch → watch → report.

mod atomic_file;
pub mod capture;
pub mod cli;
mod config;
mod consent;
pub mod deliver;
pub mod launch;
pub mod messages;
pub mod outbox;
pub mod report;
mod shim;
pub mod watch;
