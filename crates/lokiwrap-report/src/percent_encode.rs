//! Percent-encoding for the URLs built by hand: the issue links `lokiwrap crash` prints and the
//! collector's GitHub queries.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// What RFC 3986 leaves unreserved besides letters and digits.
const NOT_UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// Encodes everything but the unreserved characters of RFC 3986.
pub fn percent_encode(text: &str) -> String {
    utf8_percent_encode(text, NOT_UNRESERVED).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_unreserved_characters_stay() {
        assert_eq!(percent_encode("crash report&x"), "crash%20report%26x");
        assert_eq!(percent_encode("a-b.c_d~e/é"), "a-b.c_d~e%2F%C3%A9");
    }
}
