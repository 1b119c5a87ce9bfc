//! The marker reader on any issue body, as GitHub returns it (anyone who can edit the issue
//! controls the text): no panic; a key read is 64 hex digits from a whole marker in the body;
//! and the collector's own marker, written last, is the one read whatever comes before it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lokiwrap_collector::fuzzing::marker_key;

const KEY: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

fuzz_target!(|data: &[u8]| {
    let Ok(body) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(key) = marker_key(body) {
        assert_eq!(key.len(), 64, "{body:?}");
        assert!(key.bytes().all(|b| b.is_ascii_hexdigit()), "{body:?}");
        assert!(
            ["fingerprint", "cluster"]
                .iter()
                .any(|kind| body.contains(&format!("<!-- lokiwrap-{kind}: {key} -->"))),
            "{key} read from {body:?}, which has no such marker"
        );
    }
    for kind in ["fingerprint", "cluster"] {
        let ours = format!("{body}\n<!-- lokiwrap-{kind}: {KEY} -->");
        assert_eq!(marker_key(&ours).as_deref(), Some(KEY), "{ours:?}");
    }
});
