//! A crash report as the collector receives it: parsed, checked, scrubbed and checked again.
//! Nothing may panic, a report whose fields are valid stays valid through the scrub, and a
//! second scrub changes nothing.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use lokiwrap_report::payload::Report;
use lokiwrap_report::scrub::Scrubber;
use lokiwrap_report::scrub_report;

static SCRUBBER: LazyLock<Scrubber> = LazyLock::new(Scrubber::new);

fuzz_target!(|data: &[u8]| {
    // The strict parse the client's outbox uses: a valid fingerprint is required.
    if let Ok(report) = Report::from_bytes(data) {
        assert_eq!(report.validate_fields(), Ok(()));
        check_scrub(report);
    }
    // The collector's ingest: the fingerprint is recomputed after the scrub, so any report
    // whose fields are valid gets this far. (A mutated report almost never keeps a matching
    // SHA-256, so without this the scrub would hardly ever be reached.)
    if let Ok(report) = serde_json::from_slice::<Report>(data)
        && report.validate_fields().is_ok()
    {
        check_scrub(report);
    }
});

fn check_scrub(mut report: Report) {
    scrub_report(&mut report, &SCRUBBER);
    if let Err(why) = report.validate() {
        panic!("a valid report is invalid after the scrub: {why}: {report:?}");
    }
    let once = report.clone();
    let again = scrub_report(&mut report, &SCRUBBER);
    assert_eq!(again, 0, "a scrubbed report was scrubbed again: {once:?}");
    assert_eq!(report, once, "a second scrub changed the report");
}
