//! A `kernel.plugin_error` body as the events endpoint receives it, with hotfix filing on. No
//! panic; a failure is filed only in a well-formed repository, under a title that fits GitHub's
//! and cannot break the issue list; and the issue body's marker reads back as its cluster key.
#![no_main]

#[path = "common/hotfix.rs"]
mod hotfix;

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use lokiwrap_collector::hotfix::{HotfixConfig, from_plugin_error};

static CONFIG: LazyLock<HotfixConfig> = LazyLock::new(hotfix::config);

fuzz_target!(|data: &[u8]| {
    hotfix::check(from_plugin_error(data, &CONFIG));
});
