//! Turning a request body into a report the store may keep: strict parse, the client's checks
//! again, a second scrub with the client's rules, and the fingerprint recomputed here. Every way
//! a body can fail has its own name, counted in `/v1/stats`.

use lokiwrap_report::payload::Report;
use lokiwrap_report::scrub::Scrubber;
use lokiwrap_report::scrub_report;

/// Why a body was read but not stored. The names are the metric names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejected {
    ContentType,
    Encoding,
    Empty,
    Malformed,
    UnknownField,
    MissingField,
    WrongType,
    Invalid,
}

impl Rejected {
    pub const ALL: [Rejected; 8] = [
        Rejected::ContentType,
        Rejected::Encoding,
        Rejected::Empty,
        Rejected::Malformed,
        Rejected::UnknownField,
        Rejected::MissingField,
        Rejected::WrongType,
        Rejected::Invalid,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Rejected::ContentType => "rejected_content_type",
            Rejected::Encoding => "rejected_encoding",
            Rejected::Empty => "rejected_empty",
            Rejected::Malformed => "rejected_malformed",
            Rejected::UnknownField => "rejected_unknown_field",
            Rejected::MissingField => "rejected_missing_field",
            Rejected::WrongType => "rejected_wrong_type",
            Rejected::Invalid => "rejected_invalid",
        }
    }
}

/// A report fit to store, with what the second look found.
#[derive(Debug)]
pub struct Accepted {
    pub report: Report,
    /// Redactions the collector made that the client had not: a gap in the client's rules.
    pub missed_redactions: usize,
    /// The client sent a fingerprint other than the one recomputed here.
    pub fingerprint_replaced: bool,
}

/// Only `application/json` (any parameters) and no content encoding are read: a compressed body
/// would need a second cap after inflating, and clients never compress.
pub fn check_headers(content_type: Option<&str>, content_encoding: Option<&str>) -> Result<(), Rejected> {
    let json = content_type
        .and_then(|value| value.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"));
    if !json {
        return Err(Rejected::ContentType);
    }
    match content_encoding.map(str::trim) {
        None | Some("") => Ok(()),
        Some(value) if value.eq_ignore_ascii_case("identity") => Ok(()),
        Some(_) => Err(Rejected::Encoding),
    }
}

pub fn accept(body: &[u8], scrubber: &Scrubber) -> Result<Accepted, Rejected> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(Rejected::Empty);
    }
    let mut report: Report = serde_json::from_slice(body).map_err(|e| classify(&e))?;
    report.validate_fields().map_err(|_| Rejected::Invalid)?;
    let client_fingerprint = std::mem::take(&mut report.fingerprint);
    let missed_redactions = scrub_report(&mut report, scrubber);
    // Fail closed: whatever the scrub did must still be a valid report.
    report.validate().map_err(|_| Rejected::Invalid)?;
    let fingerprint_replaced = client_fingerprint != report.fingerprint;
    Ok(Accepted {
        report,
        missed_redactions,
        fingerprint_replaced,
    })
}

fn classify(error: &serde_json::Error) -> Rejected {
    use serde_json::error::Category;
    match error.classify() {
        Category::Syntax | Category::Eof | Category::Io => Rejected::Malformed,
        Category::Data => {
            let text = error.to_string();
            if text.starts_with("unknown field") {
                Rejected::UnknownField
            } else if text.starts_with("missing field") {
                Rejected::MissingField
            } else {
                Rejected::WrongType
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lokiwrap_report::payload::{fingerprint, sample_report};
    use serde_json::{Value, json};

    fn sample() -> Value {
        let report = sample_report("python3", "FileNotFoundError", &["load", "main"]);
        serde_json::from_slice(&report.to_bytes()).unwrap()
    }

    fn verdict(value: &Value) -> Result<Accepted, Rejected> {
        accept(value.to_string().as_bytes(), &Scrubber::new())
    }

    #[test]
    fn a_clean_report_is_accepted_unchanged() {
        let value = sample();
        let accepted = verdict(&value).unwrap();
        assert_eq!(accepted.missed_redactions, 0);
        assert!(!accepted.fingerprint_replaced);
        assert_eq!(accepted.report.fingerprint, value["fingerprint"]);
    }

    #[test]
    fn each_way_of_being_wrong_has_its_own_name() {
        let mut unknown = sample();
        unknown["argv"] = json!(["x"]);
        assert_eq!(verdict(&unknown).unwrap_err(), Rejected::UnknownField);
        let mut missing = sample();
        missing.as_object_mut().unwrap().remove("signal");
        assert_eq!(verdict(&missing).unwrap_err(), Rejected::MissingField);
        let mut wrong = sample();
        wrong["exit_code"] = json!("1");
        assert_eq!(verdict(&wrong).unwrap_err(), Rejected::WrongType);
        let mut invalid = sample();
        invalid["exit_code"] = json!(300);
        assert_eq!(verdict(&invalid).unwrap_err(), Rejected::Invalid);
        assert_eq!(
            accept(b"{\"schema\":", &Scrubber::new()).unwrap_err(),
            Rejected::Malformed
        );
        assert_eq!(accept(b" \n", &Scrubber::new()).unwrap_err(), Rejected::Empty);
        assert_eq!(check_headers(Some("text/plain"), None), Err(Rejected::ContentType));
        assert_eq!(check_headers(None, None), Err(Rejected::ContentType));
        assert_eq!(
            check_headers(Some("application/json"), Some("gzip")),
            Err(Rejected::Encoding)
        );
        assert_eq!(check_headers(Some("application/json; charset=utf-8"), None), Ok(()));
    }

    #[test]
    fn a_secret_the_client_missed_is_scrubbed_and_the_fingerprint_follows() {
        let mut leaky = sample();
        leaky["error_class"] = json!("TokenError ghp_abcdefghijklmnopqrstuvwxyz0123456789");
        leaky["fingerprint"] = json!(fingerprint(
            "python3",
            "TokenError ghp_abcdefghijklmnopqrstuvwxyz0123456789",
            &["load".into(), "main".into()]
        ));
        let accepted = verdict(&leaky).unwrap();
        assert!(
            !accepted.report.error_class.contains("ghp_"),
            "{}",
            accepted.report.error_class
        );
        assert!(accepted.missed_redactions >= 1);
        assert!(accepted.fingerprint_replaced);
        assert!(accepted.report.validate().is_ok());
    }

    #[test]
    fn a_forged_fingerprint_is_replaced_so_crashes_cannot_be_merged() {
        let mut forged = sample();
        forged["fingerprint"] = json!("0".repeat(64));
        let accepted = verdict(&forged).unwrap();
        assert!(accepted.fingerprint_replaced);
        assert_eq!(accepted.report.fingerprint, sample()["fingerprint"]);
    }
}
