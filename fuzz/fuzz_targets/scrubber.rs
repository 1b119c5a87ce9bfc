//! The scrubber on any text: no panic, and its output is a fixed point: scrubbing it again
//! gives the same text and no redaction.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use lokiwrap_report::scrub::Scrubber;

static SCRUBBER: LazyLock<Scrubber> = LazyLock::new(Scrubber::new);

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let once = SCRUBBER.scrub(text);
    let twice = SCRUBBER.scrub(&once.text);
    assert_eq!(twice.text, once.text, "a second scrub changed the text of {text:?}");
    assert_eq!(twice.redactions, 0, "a second scrub redacted in {:?}", once.text);
});
