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
        // The scrubber takes control and invisible characters out before its rules look, so a
        // token split by one is caught whole.
        let scrubbed = scrubber.scrub(text);
        redactions += scrubbed.redactions;
        let mut text = scrubbed.text.into_owned();
        if text.contains(char::is_control) {
            // Line breaks and tabs survive the scrub, and the payload has none. As spaces they
            // can bring a key next to its value, so the result is scrubbed once more.
            let blanked: String = text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
            let again = scrubber.scrub(&blanked);
            redactions += again.redactions;
            text = again.text.into_owned();
        }
        fit(text, scrubber, &mut redactions)
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

/// Rounds of cutting and scrubbing again in [`fit`] before its last cut is kept as it is.
const MAX_FIT_ROUNDS: usize = 8;

/// Keeps scrubbed text within the payload's length limit. Cutting can make text that a rule
/// matches where the whole did not (`a@b.org2` cut to `a@b.org`, an address), and the
/// collector's scrub of the report would redact it and count a redaction the client missed: so
/// a cut text is scrubbed again, and cut again, until a scrub finds nothing. One round is the
/// rule; each further one follows a redaction the previous cut made possible.
fn fit(mut text: String, scrubber: &Scrubber, redactions: &mut usize) -> String {
    for _ in 0..MAX_FIT_ROUNDS {
        let Some(cut) = cut_to_limit(&text, scrubber) else {
            return text;
        };
        let again = scrubber.scrub(cut);
        if again.redactions == 0 {
            return cut.to_string();
        }
        *redactions += again.redactions;
        text = again.text.into_owned();
    }
    if let Some(cut) = cut_to_limit(&text, scrubber) {
        return cut.to_string();
    }
    text
}

/// The longest start of `text` within the length limit that does not cut a marker in two
/// (half of one, `[REDACTED:url_query_secre`, is no marker and would be redacted again);
/// `None` when all of it fits.
fn cut_to_limit<'a>(text: &'a str, scrubber: &Scrubber) -> Option<&'a str> {
    let (cut, _) = text.char_indices().nth(payload::MAX_FIELD_CHARS)?;
    // A marker holds no `[` but its first character: only the last one before the cut can
    // open a marker that the cut goes through.
    let cut = text[..cut]
        .rfind('[')
        .filter(|&open| scrubber.marker_end(text, open).is_some_and(|end| end > cut))
        .unwrap_or(cut);
    Some(&text[..cut])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_marker_at_the_length_limit_is_not_cut_in_two() {
        let scrubber = Scrubber::new();
        let secret = "https://example.com/p?sig=abcdef0123456789";
        let marker = "[REDACTED:url_query_secret]";
        // Every position of the marker around the limit: before it, across it, after it.
        for pad in 200..payload::MAX_FIELD_CHARS {
            let mut report = payload::sample_report("tool", "Error", &[]);
            report.stack_signature = vec![format!("{}{secret}", "x".repeat(pad))];
            assert_eq!(scrub_report(&mut report, &scrubber), 1);
            let frame = report.stack_signature[0].clone();
            assert!(frame.chars().count() <= payload::MAX_FIELD_CHARS, "{frame}");
            assert!(
                frame.ends_with(marker) || !frame.contains("[REDACTED"),
                "pad {pad}: a marker was cut: {frame}"
            );
            let once = report.clone();
            assert_eq!(scrub_report(&mut report, &scrubber), 0, "pad {pad}: {frame}");
            assert_eq!(report, once);
        }
    }

    #[test]
    fn text_that_becomes_a_secret_when_cut_at_the_limit_is_scrubbed() {
        let scrubber = Scrubber::new();
        // Not an address: a top-level domain has no digit. Cut before the `2`, it is one.
        let tail = " alice@example.org2";
        let mut report = payload::sample_report("tool", "Error", &[]);
        report.stack_signature = vec![format!(
            "{}{tail}",
            "x".repeat(payload::MAX_FIELD_CHARS + 1 - tail.len())
        )];
        assert_eq!(scrubber.scrub(&report.stack_signature[0]).redactions, 0);
        assert_eq!(scrub_report(&mut report, &scrubber), 1);
        assert!(report.stack_signature[0].ends_with(" [email]"), "{report:?}");
        let sent = report.clone();
        assert_eq!(scrub_report(&mut report, &scrubber), 0);
        assert_eq!(report, sent);
    }

    #[test]
    fn a_control_character_inside_a_secret_does_not_join_it_back_together() {
        let scrubber = Scrubber::new();
        let token = "ghp_0123456789abcdefghijABCDEFGHIJ012345";
        let mut report = payload::sample_report("tool", "Error", &[]);
        report.error_class = format!("Error {}\u{7}{}", &token[..20], &token[20..]);
        report.stack_signature = vec![
            format!("key {}\u{8}{} x", &token[..10], &token[10..]),
            format!("\u{1b}[31m{token}\u{1b}[0m\r\nnext"),
        ];
        scrub_report(&mut report, &scrubber);
        for field in report.stack_signature.iter().chain([&report.error_class]) {
            // Not the token, and not its pieces either.
            assert!(
                !field.contains(&token[..10]) && !field.contains(&token[20..]),
                "{field:?}"
            );
            assert!(!field.contains(char::is_control), "{field:?}");
        }
        assert_eq!(report.stack_signature[1], "[REDACTED:github_token]  next");
        // What the client sends, the collector's scrub finds nothing more in.
        let sent = report.clone();
        assert_eq!(scrub_report(&mut report, &scrubber), 0);
        assert_eq!(report, sent);
    }
}
