//! Who may read the operator's pages (`/metrics`, the dashboard): whoever sends the token held
//! in the environment variable `dashboard_token_env` names, as `Authorization: Bearer TOKEN` or
//! as the password of HTTP Basic (any user name), which is what a browser or Prometheus's
//! `basic_auth` sends.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Whether `headers` carry `expected` as a bearer token or as a Basic password. The comparison
/// is of SHA-256 digests in constant time, so neither the first differing byte nor the token's
/// length shows in the time taken. An empty `expected` matches nothing.
pub fn read_token_matches(headers: &HeaderMap, expected: &str) -> bool {
    if expected.is_empty() {
        return false;
    }
    presented_token(headers).is_some_and(|given| same_secret(&given, expected))
}

/// Whether a presented secret is the expected one, comparing SHA-256 digests in constant time:
/// neither the first differing byte nor the secret's length shows in the time taken.
pub fn same_secret(given: &str, expected: &str) -> bool {
    let given = Sha256::digest(given.as_bytes());
    let expected = Sha256::digest(expected.as_bytes());
    bool::from(given.as_slice().ct_eq(expected.as_slice()))
}

/// The token in `Authorization`: a bearer token, or a Basic password.
fn presented_token(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, rest) = value.split_once(' ')?;
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("bearer") {
        return Some(rest.to_string());
    }
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = STANDARD.decode(rest).ok()?;
        let text = String::from_utf8(decoded).ok()?;
        let (_user, password) = text.split_once(':')?;
        return Some(password.to_string());
    }
    None
}

/// The answer to a request without the right token: `401` with a Basic challenge, so that a
/// browser asks for it.
pub fn challenge(what: &str) -> Response {
    let body = serde_json::json!({
        "error": format!("{what} needs the dashboard token: send Authorization: Bearer TOKEN, or HTTP Basic with any user name and the token as password")
    });
    let mut response = (StatusCode::UNAUTHORIZED, axum::Json(body)).into_response();
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Basic realm=\"lokiwrap-collector\", charset=\"UTF-8\""),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn bearer_and_basic_with_the_token_are_let_in() {
        assert!(read_token_matches(&with("Bearer s3cret"), "s3cret"));
        assert!(read_token_matches(&with("bearer s3cret"), "s3cret"));
        let basic = format!("Basic {}", STANDARD.encode("prometheus:s3cret"));
        assert!(read_token_matches(&with(&basic), "s3cret"));
        let no_user = format!("Basic {}", STANDARD.encode(":s3cret"));
        assert!(read_token_matches(&with(&no_user), "s3cret"));
    }

    #[test]
    fn anything_else_is_refused() {
        assert!(!read_token_matches(&HeaderMap::new(), "s3cret"));
        assert!(!read_token_matches(&with("Bearer s3cre"), "s3cret"));
        assert!(!read_token_matches(&with("Bearer s3cret2"), "s3cret"));
        assert!(!read_token_matches(&with("s3cret"), "s3cret"));
        assert!(!read_token_matches(&with("Token s3cret"), "s3cret"));
        // The token as the user name is not the password.
        let swapped = format!("Basic {}", STANDARD.encode("s3cret:"));
        assert!(!read_token_matches(&with(&swapped), "s3cret"));
        assert!(!read_token_matches(&with("Basic not-base64!"), "s3cret"));
        // No token configured: nothing matches, not even an empty one.
        assert!(!read_token_matches(&with("Bearer "), ""));
        let empty = format!("Basic {}", STANDARD.encode("user:"));
        assert!(!read_token_matches(&with(&empty), ""));
    }
}
