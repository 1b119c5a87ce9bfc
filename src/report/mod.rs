//! Turning a run into a report: scrubbing, and the project a report comes from.

pub mod project;
pub mod scrub;
