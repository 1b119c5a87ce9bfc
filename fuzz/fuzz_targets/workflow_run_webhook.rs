//! A GitHub `workflow_run` webhook as the webhook endpoint receives it: first the signature
//! check, then the event itself with hotfix filing on. The first bytes, up to a line break,
//! are the `X-Hub-Signature-256` header; the rest is the body.
//!
//! No panic; a signature verifies only when it is the body's HMAC; a failure is filed only in
//! an allowlisted, well-formed repository, under a title that fits, and its issue's marker
//! reads back.
#![no_main]

#[path = "common/hotfix.rs"]
mod hotfix;

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use lokiwrap_collector::hotfix::webhook::{sign, verify_signature};
use lokiwrap_collector::hotfix::{HotfixConfig, from_workflow_run};

static CONFIG: LazyLock<HotfixConfig> = LazyLock::new(hotfix::config);

const SECRET: &[u8] = b"It's a Secret to Everybody";

fuzz_target!(|data: &[u8]| {
    let (header, body) = match data.iter().position(|&b| b == b'\n') {
        Some(end) => (Some(&data[..end]), &data[end + 1..]),
        None => (None, data),
    };
    let header = header.map(String::from_utf8_lossy);
    let verified = verify_signature(SECRET, body, header.as_deref());
    if verified.is_ok() {
        // Only a header that is the body's HMAC verifies; the mutator cannot forge one, so
        // this holds only for seeds, whose headers were signed with SECRET.
        let expected = sign(SECRET, body);
        let given = header.as_deref().unwrap_or_default().trim();
        assert!(
            given.eq_ignore_ascii_case(&expected),
            "{given:?} verified, expected {expected:?}"
        );
    }
    assert!(verify_signature(b"", body, header.as_deref()).is_err());
    // The event is parsed whether or not it verified, to reach the parser with any body.
    let result = from_workflow_run(body, &CONFIG);
    if let Ok(failure) = &result {
        assert!(
            CONFIG.allowlist_repos.contains(&failure.repo),
            "filed in {:?}, which is not allowlisted",
            failure.repo
        );
    }
    hotfix::check(result);
});
