//! Which failures are the same failure. A plugin failure's key is the plugin id without its
//! `@ref`, the error category and the SHA-256 of the normalised message; a workflow run's is
//! the repository, the workflow and the conclusion. Keys are 64 hex characters.
//!
//! Normalising removes what differs between occurrences of one failure: URLs, UUIDs, hex
//! hashes, IP addresses, ports and numbers become placeholders, and whitespace collapses. The
//! HTTP status is the exception: the kernel's `HTTP (target: <url>) 502: ...` keeps its
//! status, written `HTTP 502: ...`, because a 404 (nothing deployed) and a 500 (the handler
//! threw) are different failures with different fixes, and the kernel's own test form
//! `HTTP 502: ...` must give the same key as the real one.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::LazyLock;

use regex::{Captures, Regex};
use sha2::{Digest, Sha256};

use lokiwrap_report::payload::hex;

/// Bump when the key's inputs or normal form change: old and new keys then never mix.
const KEY_VERSION: &str = "lokiwrap-hotfix/1";

/// `HTTP 502: ...`, `HTTP (target: https://x) 502: ...` and the kernel's `HTTP 502` without a
/// colon; the group is the status.
static HTTP_PREFIX: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\s*HTTP\s*(?:\([^)\n]*\)\s*)?([1-5][0-9]{2})\b\s*:?\s*").expect("static regex"));
static URL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"(?i)\b[a-z][a-z0-9+.-]*://[^\s<>"'`()\[\]{}]+"#).expect("static regex"));
static UUID: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b").expect("static regex")
});
/// A run of IPv6-looking characters with at least two colons; parsing decides.
static IPV6: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[0-9A-Fa-f.]*:[0-9A-Fa-f.]*:[0-9A-Fa-f:.]*").expect("static regex"));
static IPV4: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\b").expect("static regex"));
static HEX: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?i)\b(?:0x)?[0-9a-f]{7,128}\b").expect("static regex"));
static PORT: LazyLock<Regex> = LazyLock::new(|| Regex::new(r":[0-9]{1,5}\b").expect("static regex"));
static NUMBER: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"[0-9]+(?:\.[0-9]+)*").expect("static regex"));
static SPACE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\s+").expect("static regex"));

/// The HTTP status of a failure: `error.status` when it is one, else the status in the
/// message. The kernel's `readHttpStatus` only knows `^HTTP\s+(\d{3})`, so for real worker
/// failures (`HTTP (target: <url>) 502: ...`) it sends `status: null`.
pub fn http_status(status: Option<u64>, message: &str) -> Option<u16> {
    status
        .and_then(|status| u16::try_from(status).ok())
        .filter(|status| (100..=599).contains(status))
        .or_else(|| status_in_message(message))
}

fn status_in_message(message: &str) -> Option<u16> {
    HTTP_PREFIX
        .captures(message)
        .and_then(|captures| captures.get(1))
        .and_then(|status| status.as_str().parse().ok())
}

/// The message with everything that varies between occurrences replaced by placeholders.
pub fn normalise_message(message: &str) -> String {
    let (prefix, body) = match HTTP_PREFIX.captures(message) {
        Some(captures) => {
            let whole = captures.get(0).map_or(0, |m| m.end());
            let status = captures.get(1).map_or("", |m| m.as_str());
            (format!("HTTP {status}: "), &message[whole..])
        }
        None => (String::new(), message),
    };
    let text = URL.replace_all(body, |caps: &Captures<'_>| {
        let url = &caps[0];
        // Sentence punctuation after a URL is not part of it.
        let kept = url.trim_end_matches(['.', ',', ';', ':', '!', '?']);
        format!("<url>{}", &url[kept.len()..])
    });
    let text = UUID.replace_all(&text, "<uuid>");
    let text = replace_ipv6(&text);
    let text = IPV4.replace_all(&text, |caps: &Captures<'_>| {
        if caps[0].parse::<Ipv4Addr>().is_ok() {
            "<ip>".to_string()
        } else {
            caps[0].to_string()
        }
    });
    let text = HEX.replace_all(&text, |caps: &Captures<'_>| {
        let word = &caps[0];
        let digits = word.trim_start_matches("0x").trim_start_matches("0X");
        // A hash has both digits and letters: `1234567` is a number, `defaced` a word.
        if digits.bytes().any(|b| b.is_ascii_digit()) && digits.bytes().any(|b| b.is_ascii_alphabetic()) {
            "<sha>".to_string()
        } else {
            word.to_string()
        }
    });
    let text = PORT.replace_all(&text, ":<port>");
    let text = NUMBER.replace_all(&text, "<num>");
    let text = SPACE.replace_all(&text, " ");
    format!("{prefix}{}", text.trim())
}

/// IPv6 addresses that parse, stand apart from identifiers and hold a digit (`a::b` and
/// `Error::new` are Rust paths, not addresses).
fn replace_ipv6(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for found in IPV6.find_iter(text) {
        let candidate = found.as_str().trim_end_matches(['.', ':']);
        let glued = text[..found.start()]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_alphanumeric() || c == '_');
        if glued || !candidate.bytes().any(|b| b.is_ascii_digit()) || candidate.parse::<Ipv6Addr>().is_err() {
            continue;
        }
        out.push_str(&text[last..found.start()]);
        out.push_str("<ip>");
        last = found.start() + candidate.len();
    }
    out.push_str(&text[last..]);
    out
}

/// The key of a plugin failure. `plugin_id` is the normalised id (no `@ref`), `category` the
/// error category as sent (compared lower-cased), `message` the scrubbed error message.
pub fn plugin_key(plugin_id: &str, category: &str, message: &str) -> String {
    let message_hash = hex(&Sha256::digest(normalise_message(message).as_bytes()));
    key(&[
        "plugin",
        plugin_id,
        &category.trim().to_ascii_lowercase(),
        &message_hash,
    ])
}

/// The key of a failed workflow run: `repo` lower-cased `owner/repo`, `workflow` its path
/// (or name), `conclusion` as GitHub sends it.
pub fn workflow_run_key(repo: &str, workflow: &str, conclusion: &str) -> String {
    key(&[
        "workflow_run",
        &repo.to_ascii_lowercase(),
        workflow,
        &conclusion.to_ascii_lowercase(),
    ])
}

/// NUL-separated parts: no part can contain the separator of another and shift a boundary.
fn key(parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(KEY_VERSION.as_bytes());
    for part in parts {
        hasher.update([0]);
        hasher.update(part.as_bytes());
    }
    hex(&hasher.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kernels_real_message_form_gives_the_status() {
        let message = "HTTP (target: https://command-start-stop-main.ubiquity-os.workers.dev) 502: error code: 502";
        assert_eq!(http_status(None, message), Some(502));
        assert_eq!(http_status(None, "HTTP 502: bad gateway"), Some(502));
        assert_eq!(http_status(None, "HTTP 404"), Some(404));
        assert_eq!(http_status(Some(503), message), Some(503));
        assert_eq!(http_status(Some(70000), "HTTP 500: x"), Some(500));
        assert_eq!(http_status(None, "upstream said HTTP 502: x"), None);
        assert_eq!(http_status(None, "HTTP 999: x"), None);
        assert_eq!(http_status(None, "Not Found"), None);
    }

    #[test]
    fn each_varying_part_becomes_a_placeholder() {
        for (message, normal) in [
            ("fetch https://api.example.dev/v1/x?id=3 failed.", "fetch <url> failed."),
            ("state 3f6c2a9e-8d41-4b7a-9c55-1e2f0a7d4b13 lost", "state <uuid> lost"),
            ("commit 9b1d3c7 missing", "commit <sha> missing"),
            ("blob 0x1a2b3c4d5e bad", "blob <sha> bad"),
            ("peer 10.0.12.7 reset", "peer <ip> reset"),
            ("peer fe80::1 reset", "peer <ip> reset"),
            ("peer 2001:db8::8a2e:370:7334 reset", "peer <ip> reset"),
            ("connect localhost:8787 refused", "connect localhost:<port> refused"),
            ("took 1532 ms after 3 retries", "took <num> ms after <num> retries"),
            ("  many \t\n spaces  ", "many spaces"),
        ] {
            assert_eq!(normalise_message(message), normal, "{message}");
        }
    }

    #[test]
    fn words_and_paths_are_not_taken_for_hashes_or_addresses() {
        assert_eq!(normalise_message("defaced accepted"), "defaced accepted");
        assert_eq!(normalise_message("Error::new failed"), "Error::new failed");
        assert_eq!(normalise_message("at 12:30:45"), "at <num>:<port>:<port>");
        assert_eq!(normalise_message("999.1.1.1"), "<num>");
    }

    #[test]
    fn the_http_prefix_keeps_its_status_and_loses_its_target() {
        assert_eq!(
            normalise_message("HTTP (target: https://a.dev) 502: error code: 502"),
            "HTTP 502: error code: <num>"
        );
        assert_eq!(
            plugin_key("p", "http", "HTTP (target: https://a.dev) 502: Unexpected error"),
            plugin_key("p", "http", "HTTP 502: Unexpected error")
        );
        assert_ne!(
            plugin_key("p", "http", "HTTP 502: Unexpected error"),
            plugin_key("p", "http", "HTTP 404: Unexpected error")
        );
    }

    #[test]
    fn messages_differing_only_in_varying_parts_share_a_key() {
        let a = plugin_key(
            "https://a.dev",
            "http",
            "HTTP (target: https://a.dev) 500: request 3f6c2a9e-8d41-4b7a-9c55-1e2f0a7d4b13 to \
             https://api.github.com/repos/o/r/issues/12 from 10.0.0.1:4431 at sha 9b1d3c7e2f failed after 1200ms",
        );
        let b = plugin_key(
            "https://a.dev",
            "http",
            "HTTP (target: https://b.dev) 500: request 0e1d2c3b-4a59-4687-9f1e-2d3c4b5a6978 to \
             https://api.github.com/repos/o/r/issues/99 from 192.168.4.20:80 at sha 0a1b2c3d4e failed after 3ms",
        );
        assert_eq!(a, b);
        assert_eq!(a.len(), 64);
        assert!(a.bytes().all(|b| b.is_ascii_hexdigit()));
    }

    #[test]
    fn category_plugin_and_message_each_split_clusters() {
        let base = plugin_key("o/r:compute.yml", "http", "boom");
        assert_ne!(base, plugin_key("o/r:compute.yml", "workflow", "boom"));
        assert_ne!(base, plugin_key("o/r:other.yml", "http", "boom"));
        assert_ne!(base, plugin_key("o/r:compute.yml", "http", "bang"));
        assert_eq!(base, plugin_key("o/r:compute.yml", " HTTP ", "boom"));
    }

    #[test]
    fn key_parts_cannot_shift_into_each_other() {
        assert_ne!(plugin_key("a", "bc", "m"), plugin_key("ab", "c", "m"));
        assert_ne!(
            workflow_run_key("o/r", "a", "failure"),
            workflow_run_key("o/r", "a\0failure", "")
        );
    }

    #[test]
    fn workflow_run_keys_ignore_repo_case_and_split_on_conclusion() {
        let key = workflow_run_key("Owner/Plugin", ".github/workflows/compute.yml", "failure");
        assert_eq!(
            key,
            workflow_run_key("owner/plugin", ".github/workflows/compute.yml", "failure")
        );
        assert_ne!(
            key,
            workflow_run_key("owner/plugin", ".github/workflows/compute.yml", "timed_out")
        );
        assert_ne!(
            key,
            workflow_run_key("owner/plugin", ".github/workflows/test.yml", "failure")
        );
    }
}
