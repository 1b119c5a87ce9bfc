//! Percent-encoding for the URLs built by hand: the issue links `lokiwrap crash` prints and the
//! collector's GitHub queries.

/// Encodes everything but the unreserved characters of RFC 3986.
pub fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
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
