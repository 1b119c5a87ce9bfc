//! The one environment variable lokiwrap adds: `LOKIWRAP_DEPTH`, how many lokiwrap launchers
//! stand above this process. A nested lokiwrap (a shimmed `rustc` run by a wrapped `cargo`)
//! becomes a pure pass-through, and a loop between wrappers stops instead of forking forever.

use std::ffi::OsString;

pub const VAR: &str = "LOKIWRAP_DEPTH";

/// Beyond this many nested launchers, two wrappers on PATH are calling each other.
pub const MAX_DEPTH: u32 = 32;

/// How many lokiwrap launchers stand above this process (0 when none).
pub fn current_depth() -> u32 {
    std::env::var(VAR).ok().and_then(|v| v.trim().parse().ok()).unwrap_or(0)
}

/// The value the child gets.
pub fn child_value(depth: u32) -> OsString {
    OsString::from((depth + 1).to_string())
}
