//! One report, one HTTP request: the collector's URL, a client with hard timeouts, and what the
//! collector's answer means for the report (taken, try later, or never).

use std::io::{self, ErrorKind};
use std::time::Duration;

use ureq::Agent;
use ureq::http::header::{CONTENT_TYPE, LOCATION, RETRY_AFTER};
use ureq::http::{HeaderMap, StatusCode};
use url::Url;

use super::schedule::MAX_RETRY_AFTER_SECS;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// Bounds a whole request, connect included, so a collector that accepts and never answers
/// costs at most this.
const TOTAL_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a 429 without `Retry-After` asks us to wait (the Sentry transports read it the same way).
const BARE_429_WAIT_SECS: u64 = 60;
/// The path lokiwrap adds to the endpoint to send a report.
pub const CRASH_PATH: &str = "v1/crash";
const USER_AGENT: &str = concat!("lokiwrap/", env!("CARGO_PKG_VERSION"));

/// What the collector's answer means for the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// 2xx: the collector has it.
    Taken,
    /// Keep it and try again later.
    Later {
        why: String,
        /// The wait the collector asked for (429, 503), in seconds.
        retry_after: Option<u64>,
        /// The collector is unreachable or overloaded, so other reports would fare no better now.
        collector_unavailable: bool,
    },
    /// A 4xx other than 408 and 429: this report will never be accepted.
    Refused(String),
}

/// The collector's crash endpoint and a client to reach it.
pub struct Collector {
    agent: Agent,
    url: Url,
}

impl Collector {
    /// Fails when the endpoint is not an http or https URL, saying how to write one.
    pub fn new(endpoint: &str) -> io::Result<Collector> {
        let url = crash_url(endpoint).map_err(|problem| io::Error::new(ErrorKind::InvalidInput, problem))?;
        let agent = Agent::config_builder()
            .timeout_connect(Some(CONNECT_TIMEOUT))
            .timeout_global(Some(TOTAL_TIMEOUT))
            .user_agent(USER_AGENT)
            // A redirected POST may turn into a GET without its body; the user should fix the
            // endpoint instead, and the message says so.
            .max_redirects(0)
            // Every status is an answer to read, not an error.
            .http_status_as_error(false)
            .build()
            .into();
        Ok(Collector { agent, url })
    }

    /// Posts one report. `now` (seconds since the epoch) turns a `Retry-After` date into a wait.
    pub fn send(&self, id: &str, body: &[u8], now: u64) -> Answer {
        let sent = self
            .agent
            .post(self.url.as_str())
            .header(CONTENT_TYPE, "application/json")
            .header("Idempotency-Key", id)
            .send(body);
        match sent {
            Ok(response) => answer_for(response.status().as_u16(), response.headers(), now),
            Err(err) => Answer::Later {
                why: self.describe_failure(&err),
                retry_after: None,
                collector_unavailable: true,
            },
        }
    }

    fn describe_failure(&self, err: &ureq::Error) -> String {
        let host = self.url.host_str().unwrap_or("the collector");
        if is_connect_failure(err) {
            format!("cannot connect to {host}: {}", root_cause(err))
        } else if matches!(err, ureq::Error::Timeout(_)) {
            format!("no answer from {host} within {} s", TOTAL_TIMEOUT.as_secs())
        } else {
            format!("request to {host} failed: {}", root_cause(err))
        }
    }
}

/// `{endpoint}/v1/crash`, for an endpoint given as the collector's base URL (a trailing slash or
/// a path prefix is fine).
pub fn crash_url(endpoint: &str) -> Result<Url, String> {
    const FIX: &str = "set the endpoint to the collector's base URL, e.g. https://collector.example.com";
    let trimmed = endpoint.trim();
    let mut url = Url::parse(trimmed).map_err(|err| format!("endpoint {trimmed:?} is not a URL ({err}); {FIX}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "endpoint {trimmed:?} uses {}:, but reports are only sent over http or https; {FIX}",
            url.scheme()
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!("endpoint {trimmed:?} has no host; {FIX}"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!(
            "endpoint {trimmed:?} has a query or fragment, which cannot be combined with the report path; {FIX}"
        ));
    }
    let path = format!("{}/{CRASH_PATH}", url.path().trim_end_matches('/'));
    url.set_path(&path);
    Ok(url)
}

fn answer_for(status: u16, headers: &HeaderMap, now: u64) -> Answer {
    let label = match StatusCode::from_u16(status).ok().and_then(|s| s.canonical_reason()) {
        Some(reason) => format!("{status} {reason}"),
        None => status.to_string(),
    };
    let retry_after = || {
        headers
            .get(RETRY_AFTER)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| retry_after_secs(value, now))
            .map(|secs| secs.min(MAX_RETRY_AFTER_SECS))
    };
    match status {
        200..=299 => Answer::Taken,
        429 => Answer::Later {
            why: label,
            retry_after: Some(retry_after().unwrap_or(BARE_429_WAIT_SECS)),
            collector_unavailable: true,
        },
        503 => Answer::Later {
            why: label,
            retry_after: retry_after(),
            collector_unavailable: true,
        },
        300..=399 => {
            let target = headers.get(LOCATION).and_then(|value| value.to_str().ok());
            let why = match target {
                Some(target) => format!("{label}, redirected to {target}; set the endpoint to the collector's address"),
                None => format!("{label}; set the endpoint to the collector's address"),
            };
            Answer::Later {
                why,
                retry_after: None,
                collector_unavailable: false,
            }
        }
        // No such endpoint: the address is wrong, not the report. Kept until it is fixed.
        404 | 405 => Answer::Later {
            why: format!(
                "{label}: nothing takes reports at this address; set the endpoint to the collector's base URL \
                 (lokiwrap adds /v1/crash)"
            ),
            retry_after: None,
            collector_unavailable: true,
        },
        400..=499 if status != 408 => Answer::Refused(format!("the collector refused it with {label}")),
        _ => Answer::Later {
            why: label,
            retry_after: None,
            collector_unavailable: false,
        },
    }
}

/// A `Retry-After` value as a wait in seconds: either a number of seconds or an HTTP date.
fn retry_after_secs(value: &str, now: u64) -> Option<u64> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        return Some(value.parse().unwrap_or(u64::MAX));
    }
    parse_http_date(value).map(|at| at.saturating_sub(now))
}

/// Seconds since the epoch for an HTTP date in any of the three forms RFC 9110 asks recipients
/// to accept: `Sun, 06 Nov 1994 08:49:37 GMT`, `Sunday, 06-Nov-94 08:49:37 GMT` and
/// `Sun Nov  6 08:49:37 1994`.
fn parse_http_date(text: &str) -> Option<u64> {
    let at = httpdate::parse_http_date(text).ok()?;
    at.duration_since(std::time::UNIX_EPOCH)
        .ok()
        .map(|since| since.as_secs())
}

/// Whether the request failed before a connection to the collector was made: nothing was sent.
fn is_connect_failure(err: &ureq::Error) -> bool {
    match err {
        ureq::Error::Timeout(ureq::Timeout::Connect | ureq::Timeout::Resolve)
        | ureq::Error::HostNotFound
        | ureq::Error::ConnectionFailed => true,
        ureq::Error::Io(io) => matches!(
            io.kind(),
            ErrorKind::ConnectionRefused
                | ErrorKind::HostUnreachable
                | ErrorKind::NetworkUnreachable
                | ErrorKind::AddrNotAvailable
        ),
        _ => false,
    }
}

/// The innermost error's message: "Connection refused (os error 111)" says more than the
/// layers of wrapping around it.
fn root_cause(err: &ureq::Error) -> String {
    let mut cause: &dyn std::error::Error = err;
    while let Some(source) = cause.source() {
        cause = source;
    }
    cause.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::payload::rfc3339_utc;

    #[test]
    fn the_crash_url_is_under_the_endpoint_with_or_without_a_slash() {
        for (endpoint, url) in [
            ("http://127.0.0.1:8080", "http://127.0.0.1:8080/v1/crash"),
            ("http://127.0.0.1:8080/", "http://127.0.0.1:8080/v1/crash"),
            (
                "https://c.example.com/lokiwrap/",
                "https://c.example.com/lokiwrap/v1/crash",
            ),
            (" https://c.example.com ", "https://c.example.com/v1/crash"),
        ] {
            assert_eq!(crash_url(endpoint).unwrap().as_str(), url);
        }
    }

    #[test]
    fn endpoints_other_than_http_and_https_are_refused_with_the_fix() {
        for endpoint in [
            "ftp://c.example.com",
            "file:///tmp/x",
            "localhost:8080",
            "c.example.com",
            "",
        ] {
            let problem = crash_url(endpoint).unwrap_err();
            assert!(problem.contains("https://collector.example.com"), "{problem}");
        }
        assert!(crash_url("https://c.example.com/?key=1").is_err());
    }

    #[test]
    fn http_dates_in_all_three_forms_parse() {
        let expected = 784_111_777;
        assert_eq!(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), Some(expected));
        assert_eq!(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), Some(expected));
        assert_eq!(parse_http_date("Sun Nov  6 08:49:37 1994"), Some(expected));
        assert_eq!(parse_http_date("Sun, 06 Nov 1994 08:49 GMT"), None);
        assert_eq!(parse_http_date("tomorrow"), None);
        assert_eq!(parse_http_date("Mon, 06 Nov 1994 08:49:37 GMT"), None);
        for seconds in [0, 951_782_400, 1_795_000_000, 4_102_444_800] {
            let date = rfc3339_utc(seconds);
            let (ymd, hms) = date.trim_end_matches('Z').split_once('T').unwrap();
            let [y, m, d]: [&str; 3] = ymd.split('-').collect::<Vec<_>>().try_into().unwrap();
            let month = [
                "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
            ][m.parse::<usize>().unwrap() - 1];
            // 1970-01-01 was a Thursday; the parser checks that the weekday fits the date.
            let weekday = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][(seconds / 86_400 % 7) as usize];
            let http = format!("{weekday}, {d} {month} {y} {hms} GMT");
            assert_eq!(parse_http_date(&http), Some(seconds), "{http}");
        }
    }

    #[test]
    fn retry_after_is_seconds_or_a_date_and_a_past_date_means_now() {
        assert_eq!(retry_after_secs(" 120 ", 0), Some(120));
        assert_eq!(retry_after_secs("Sun, 06 Nov 1994 08:50:37 GMT", 784_111_777), Some(60));
        assert_eq!(retry_after_secs("Sun, 06 Nov 1994 08:49:37 GMT", 784_111_800), Some(0));
        assert_eq!(retry_after_secs("-5", 0), None);
    }

    #[test]
    fn answers_map_to_what_happens_to_the_report() {
        let none = HeaderMap::new();
        assert_eq!(answer_for(202, &none, 0), Answer::Taken);
        assert!(matches!(answer_for(400, &none, 0), Answer::Refused(_)));
        assert!(matches!(answer_for(413, &none, 0), Answer::Refused(_)));
        // A wrong address loses nothing: the report waits for the endpoint to be fixed.
        assert!(matches!(answer_for(404, &none, 0), Answer::Later { why, .. } if why.contains("base URL")));
        assert!(matches!(
            answer_for(408, &none, 0),
            Answer::Later {
                collector_unavailable: false,
                ..
            }
        ));
        assert!(matches!(
            answer_for(429, &none, 0),
            Answer::Later {
                retry_after: Some(60),
                ..
            }
        ));
        let mut huge = HeaderMap::new();
        huge.insert(RETRY_AFTER, "99999999999".parse().unwrap());
        assert!(matches!(
            answer_for(503, &huge, 0),
            Answer::Later { retry_after: Some(secs), collector_unavailable: true, .. } if secs == MAX_RETRY_AFTER_SECS
        ));
        assert!(matches!(
            answer_for(500, &huge, 0),
            Answer::Later { retry_after: None, .. }
        ));
    }
}
