//! GitHub webhook authentication: `X-Hub-Signature-256: sha256=<hex>` is the HMAC-SHA256 of
//! the raw body under the webhook secret. The comparison is constant-time (`hmac`'s
//! `verify_slice`), so the time taken says nothing about how much of a guess was right.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// Why a webhook signature was refused; `as_str` is a short name for a metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookRejected {
    /// No secret is configured: every delivery is refused rather than trusted.
    NoSecret,
    /// The request has no `X-Hub-Signature-256` header.
    MissingHeader,
    /// The header does not start with `sha256=`.
    MissingPrefix,
    /// The part after `sha256=` is not 64 hex digits.
    NotHex,
    /// Well formed, but not the body's signature under our secret.
    Mismatch,
}

impl WebhookRejected {
    pub fn as_str(self) -> &'static str {
        match self {
            WebhookRejected::NoSecret => "webhook_no_secret",
            WebhookRejected::MissingHeader => "webhook_missing_signature",
            WebhookRejected::MissingPrefix => "webhook_signature_prefix",
            WebhookRejected::NotHex => "webhook_signature_not_hex",
            WebhookRejected::Mismatch => "webhook_signature_mismatch",
        }
    }
}

impl std::fmt::Display for WebhookRejected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            WebhookRejected::NoSecret => {
                "no webhook secret is configured: set the variable named by hotfix.webhook_secret_env"
            }
            WebhookRejected::MissingHeader => "the request has no X-Hub-Signature-256 header",
            WebhookRejected::MissingPrefix => "X-Hub-Signature-256 does not start with sha256=",
            WebhookRejected::NotHex => "X-Hub-Signature-256 is not sha256= followed by 64 hex digits",
            WebhookRejected::Mismatch => {
                "X-Hub-Signature-256 does not match the body: the webhook secret differs from the GitHub App's"
            }
        })
    }
}

impl std::error::Error for WebhookRejected {}

/// Checks `X-Hub-Signature-256` (the header's value, if any) against the raw request body.
pub fn verify_signature(secret: &[u8], body: &[u8], header: Option<&str>) -> Result<(), WebhookRejected> {
    if secret.is_empty() {
        return Err(WebhookRejected::NoSecret);
    }
    let header = header.ok_or(WebhookRejected::MissingHeader)?;
    let hex_digest = header
        .trim()
        .strip_prefix("sha256=")
        .ok_or(WebhookRejected::MissingPrefix)?;
    let expected = decode_hex_32(hex_digest).ok_or(WebhookRejected::NotHex)?;
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret).map_err(|_| WebhookRejected::NoSecret)?;
    mac.update(body);
    mac.verify_slice(&expected).map_err(|_| WebhookRejected::Mismatch)
}

/// The signature header GitHub would send for this body; for tests and fake senders.
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    let mut mac = match <Hmac<Sha256> as KeyInit>::new_from_slice(secret) {
        Ok(mac) => mac,
        // HMAC takes keys of any length; this arm is never taken.
        Err(_) => return String::new(),
    };
    mac.update(body);
    format!("sha256={}", lokiwrap_report::payload::hex(&mac.finalize().into_bytes()))
}

fn decode_hex_32(text: &str) -> Option<[u8; 32]> {
    let bytes = text.as_bytes();
    if bytes.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (slot, pair) in out.iter_mut().zip(bytes.chunks_exact(2)) {
        let high = (pair[0] as char).to_digit(16)?;
        let low = (pair[1] as char).to_digit(16)?;
        *slot = (high * 16 + low) as u8;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// GitHub's documented example: secret "It's a Secret to Everybody", payload "Hello, World!".
    const GITHUB_EXAMPLE: &str = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

    #[test]
    fn githubs_documented_vector_verifies() {
        let secret = b"It's a Secret to Everybody";
        assert_eq!(sign(secret, b"Hello, World!"), GITHUB_EXAMPLE);
        assert_eq!(verify_signature(secret, b"Hello, World!", Some(GITHUB_EXAMPLE)), Ok(()));
        let upper = format!("sha256={}", GITHUB_EXAMPLE["sha256=".len()..].to_ascii_uppercase());
        assert_eq!(verify_signature(secret, b"Hello, World!", Some(&upper)), Ok(()));
    }

    #[test]
    fn a_changed_body_or_secret_is_a_mismatch() {
        let secret = b"It's a Secret to Everybody";
        assert_eq!(
            verify_signature(secret, b"Hello, World?", Some(GITHUB_EXAMPLE)),
            Err(WebhookRejected::Mismatch)
        );
        assert_eq!(
            verify_signature(b"another secret", b"Hello, World!", Some(GITHUB_EXAMPLE)),
            Err(WebhookRejected::Mismatch)
        );
    }

    #[test]
    fn malformed_headers_are_named() {
        let secret = b"s";
        let digest = &GITHUB_EXAMPLE["sha256=".len()..];
        assert_eq!(
            verify_signature(secret, b"x", None),
            Err(WebhookRejected::MissingHeader)
        );
        assert_eq!(
            verify_signature(secret, b"x", Some(digest)),
            Err(WebhookRejected::MissingPrefix)
        );
        assert_eq!(
            verify_signature(secret, b"x", Some(&format!("sha1={digest}"))),
            Err(WebhookRejected::MissingPrefix)
        );
        assert_eq!(
            verify_signature(secret, b"x", Some("sha256=abc")),
            Err(WebhookRejected::NotHex)
        );
        assert_eq!(
            verify_signature(secret, b"x", Some(&format!("sha256={}", "g".repeat(64)))),
            Err(WebhookRejected::NotHex)
        );
        assert_eq!(
            verify_signature(secret, b"x", Some(&format!("sha256={}", "é".repeat(32)))),
            Err(WebhookRejected::NotHex)
        );
    }

    #[test]
    fn without_a_secret_nothing_verifies() {
        assert_eq!(
            verify_signature(b"", b"Hello, World!", Some(&sign(b"", b"Hello, World!"))),
            Err(WebhookRejected::NoSecret)
        );
    }
}
