//! The report as lokiwrap writes it and the collector reads it: the whitelisted payload and its
//! validation, the fingerprint and report id, the scrub rules with their version, and the UTC
//! times and percent-encoding both sides speak. Both sides depend on this crate, never on each
//! other.

pub mod payload;
pub mod percent_encode;
pub mod scrub;
pub mod utc;

use payload::Report;
use scrub::Scrubber;

/// Passes every text field of a report through the scrubber (this is the one list of the
/// fields that are scrubbed), keeps each within the payload's limits, recomputes the
/// fingerprint from the results and marks the current rules. Returns the redactions made.
/// The client runs it before a report is written, the collector again when one arrives.
pub fn scrub_report(report: &mut Report, scrubber: &Scrubber) -> usize {
    let mut redactions = 0usize;
    let mut clean = |text: &str| {
        let scrubbed = scrubber.scrub(text);
        redactions += scrubbed.redactions;
        cap(&scrubbed.text)
    };
    report.tool = clean(&report.tool);
    report.tool_version = report.tool_version.as_deref().map(&mut clean);
    report.runtime = report.runtime.as_deref().map(&mut clean);
    report.error_class = clean(&report.error_class);
    report.stack_signature = report.stack_signature.iter().map(|frame| clean(frame)).collect();
    report.signal = report.signal.as_deref().map(&mut clean);
    report.friction_kind = report.friction_kind.as_deref().map(&mut clean);
    report.phase = report.phase.as_deref().map(&mut clean);
    report.fingerprint = payload::fingerprint(&report.tool, &report.error_class, &report.stack_signature);
    report.rules_version = scrub::RULES_VERSION;
    redactions
}

/// Keeps a string within the payload's length limit and free of control characters.
fn cap(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_control())
        .take(payload::MAX_FIELD_CHARS)
        .collect()
}
