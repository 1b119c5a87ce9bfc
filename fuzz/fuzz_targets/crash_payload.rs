//! A crash report as the collector receives it: parsed, checked, scrubbed and checked again.
//! Nothing may panic, a report whose fields are valid stays valid through the scrub, and a
//! second scrub changes nothing.
//!
//! And a report as the client builds it, from whatever the tool printed (nothing is checked
//! before the scrub, so control characters and overlong fields come in too): what it would
//! send, the collector's scrub finds nothing more in.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use lokiwrap_report::payload::Report;
use lokiwrap_report::scrub::Scrubber;
use lokiwrap_report::scrub_report;

static SCRUBBER: LazyLock<Scrubber> = LazyLock::new(Scrubber::new);

fuzz_target!(|data: &[u8]| {
    // The strict parse of the client's outbox: it requires a matching fingerprint, which a
    // mutated report almost never keeps, so the scrub is reached through the parse below.
    if let Ok(report) = Report::from_bytes(data) {
        assert_eq!(report.validate_fields(), Ok(()));
    }
    let Ok(report) = serde_json::from_slice::<Report>(data) else {
        return;
    };
    // The collector's ingest: the fingerprint is recomputed after the scrub.
    if report.validate_fields().is_ok() {
        let mut received = report.clone();
        scrub_report(&mut received, &SCRUBBER);
        if let Err(why) = received.validate() {
            panic!("a valid report is invalid after the scrub: {why}: {received:?}");
        }
        check_rescrub(received);
    }
    // The client: any strings, scrubbed, then sent.
    let mut built = report;
    scrub_report(&mut built, &SCRUBBER);
    check_rescrub(built);
});

/// Scrubbing again, as the collector does on receipt, finds nothing and changes nothing.
fn check_rescrub(mut report: Report) {
    let once = report.clone();
    let again = scrub_report(&mut report, &SCRUBBER);
    assert_eq!(again, 0, "a scrubbed report was scrubbed again: {once:?}");
    assert_eq!(report, once, "a second scrub changed the report");
}
