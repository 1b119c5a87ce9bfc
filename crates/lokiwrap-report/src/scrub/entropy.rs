//! The catch-all for free text that leaves the machine: a token of at least
//! `MIN_CHARS` characters that looks random (letters and digits mixed, high Shannon entropy)
//! is taken for a secret even when no rule knows its shape. It runs only when a caller asks
//! for it (`Scrubber::scrub_free_text`), after the rules.
//!
//! What ordinary output is full of and must survive was measured on captured output of real
//! programs (`tests/fixtures/scrub/benign/`, `examples/scrub_figures.rs`) and is exempt:
//! - hex of any length, dashes allowed: commit and content hashes, UUIDs, build ids, addresses;
//! - tokens made of words, numbers and hashes joined by `_ - + = ~ /`: identifiers, file and
//!   crate names (`build_script_build-67228cd19e374ab2`), target triples, pseudo-versions,
//!   paths whose every component is such a word;
//! - base64 after `base64,` (data URIs) and subresource integrity (`sha512-…`), and base64
//!   blocks (two or more full-width lines in a row: certificates, attachments);
//! - mangled symbols (`_ZN4core3ptr…`).
//!
//! A dot ends a token, so dotted versions and host names are never candidates; each part of
//! a dotted token is judged alone.

use std::ops::Range;

/// Shorter tokens are too often words, numbers and ids to judge.
const MIN_CHARS: usize = 20;

/// Bits per character a candidate must reach. Random base62 text of 20 characters has about
/// 4.0 (it cannot have more than log2 of its length); identifiers with repeated letters stay
/// well below.
const MIN_ENTROPY: f64 = 3.5;

pub(super) const REPLACEMENT: &str = "[REDACTED:high_entropy]";

const fn is_candidate_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'_' | b'-' | b'~')
}

/// The spans of `text` the catch-all would replace, sorted and disjoint.
pub(super) fn claims(text: &str) -> Vec<Range<usize>> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        if !is_candidate_byte(bytes[at]) {
            at += 1;
            continue;
        }
        let start = at;
        while at < bytes.len() && is_candidate_byte(bytes[at]) {
            at += 1;
        }
        if at - start >= MIN_CHARS
            && let Some(span) = judge(text, start..at)
        {
            out.push(span);
        }
    }
    out
}

/// The part of the run `range` to replace, if it looks like a secret.
fn judge(text: &str, range: Range<usize>) -> Option<Range<usize>> {
    let run = &text[range.clone()];
    // Leading slashes and dashes belong to paths and flags, trailing `=` to padding.
    let core_start = run.len() - run.trim_start_matches(['/', '-', '+', '=', '_']).len();
    let core = run[core_start..].trim_end_matches(['=', '/', '-', '_']);
    if core.len() < MIN_CHARS {
        return None;
    }
    let head = &text[..range.start];
    if head.ends_with("base64,") || is_integrity(core) || is_mangled(core) || in_base64_block(text, range.clone()) {
        return None;
    }
    if core.split(['/', '_', '-', '+', '=', '~']).all(is_wordish) {
        return None;
    }
    if !looks_random(core) {
        return None;
    }
    let start = range.start + core_start;
    Some(start..start + core.len())
}

/// `sha512-…` and friends: a content hash in base64, as npm lock files and HTML carry them.
fn is_integrity(core: &str) -> bool {
    ["sha1-", "sha256-", "sha384-", "sha512-"]
        .iter()
        .any(|prefix| core.starts_with(prefix))
}

/// Itanium and Rust v0 mangled symbols.
fn is_mangled(core: &str) -> bool {
    let core = core.trim_start_matches('_');
    (core.starts_with("ZN") || core.starts_with('R')) && core[1..].bytes().take(3).any(|b| b.is_ascii_digit())
}

/// Whether the run fills its line and a neighbouring line is also one long base64 run: a
/// base64 block (a certificate, an attachment, an image), not a secret on its own.
fn in_base64_block(text: &str, range: Range<usize>) -> bool {
    let line_start = text[..range.start].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[range.end..].find('\n').map_or(text.len(), |i| range.end + i);
    if text[line_start..line_end].trim() != &text[range.clone()] || range.len() < 60 {
        return false;
    }
    let is_block_line = |line: &str| {
        let line = line.trim();
        line.len() >= 60
            && line
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='))
    };
    let previous = text[..line_start.saturating_sub(1)].rsplit('\n').next();
    let next = text.get(line_end + 1..).and_then(|rest| rest.split('\n').next());
    (line_start > 0 && previous.is_some_and(is_block_line)) || next.is_some_and(is_block_line)
}

/// A part of an identifier or path that a person or a build tool chose: letters only (a word
/// or camel-case words), digits only, hex (a hash), or a short word with a number (`x86`,
/// `utf8`, `v2`, `64bit`, `1nodesource1`, `highlight4v5`), or a hex literal (`0x10c0`):
/// random text switches between letters and digits far more often.
fn is_wordish(part: &str) -> bool {
    if part.is_empty() || part.len() < 6 {
        return true;
    }
    let letters = part.bytes().all(|b| b.is_ascii_alphabetic());
    let digits = part.bytes().all(|b| b.is_ascii_digit());
    let hex = part.bytes().all(|b| b.is_ascii_hexdigit())
        && (part.bytes().all(|b| !b.is_ascii_uppercase()) || part.bytes().all(|b| !b.is_ascii_lowercase()));
    // Switches between letters and digits.
    let runs = part
        .as_bytes()
        .windows(2)
        .filter(|w| w[0].is_ascii_digit() != w[1].is_ascii_digit())
        .count();
    let literal = part.len() > 2 && part.starts_with("0x") && part[2..].bytes().all(|b| b.is_ascii_hexdigit());
    let few_switches = runs <= 2 || (runs <= 3 && part.len() <= 16) || runs * 7 <= part.len();
    letters || digits || hex || literal || few_switches
}

/// Mixed letters and digits with high Shannon entropy.
fn looks_random(core: &str) -> bool {
    let bytes = core.as_bytes();
    let digits = bytes.iter().filter(|b| b.is_ascii_digit()).count();
    let letters = bytes.iter().filter(|b| b.is_ascii_alphabetic()).count();
    if digits == 0 || letters == 0 {
        return false;
    }
    // Hex with dashes (UUIDs, hashes) whatever its length.
    if bytes.iter().all(|b| b.is_ascii_hexdigit() || *b == b'-') {
        return false;
    }
    shannon_entropy(bytes) >= MIN_ENTROPY
}

fn shannon_entropy(bytes: &[u8]) -> f64 {
    let mut counts = [0u32; 256];
    for &b in bytes {
        counts[usize::from(b)] += 1;
    }
    let n = bytes.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / n;
            -p * p.log2()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claimed(text: &str) -> Vec<&str> {
        claims(text).into_iter().map(|r| &text[r]).collect()
    }

    #[test]
    fn random_tokens_are_claimed() {
        assert_eq!(
            claimed("failed: aZ3kP9qL2xW7mN4vB8cR1tY6"),
            ["aZ3kP9qL2xW7mN4vB8cR1tY6"]
        );
        assert_eq!(
            claimed("key q7x2m9p4k8w3z6v1n5b0c7x2m9p4k8w3 end"),
            ["q7x2m9p4k8w3z6v1n5b0c7x2m9p4k8w3"]
        );
        assert_eq!(
            claimed("(Xy8/Qp3+Lm7Zr2Kd9Tn4Wb6Hc1Fv5Gs0Je8Aa==)"),
            ["Xy8/Qp3+Lm7Zr2Kd9Tn4Wb6Hc1Fv5Gs0Je8Aa"]
        );
    }

    #[test]
    fn ordinary_long_tokens_are_left_alone() {
        for text in [
            "commit 9fceb02d0ae598e95dc970b74767f19372d61af8",
            "uuid 123e4567-e89b-12d3-a456-426614174000",
            "build_script_build-67228cd19e374ab2",
            "x86_64-unknown-linux-gnu and v0.0.0-20210101120000-abcdef123456",
            "/usr/lib/x86_64-linux-gnu/libstdc++.so.6",
            "\"integrity\": \"sha512-Xy8Qp3Lm7Zr2Kd9Tn4Wb6Hc1Fv5Gs0Je8AaXy8Qp3Lm7Zr2Kd9Tn4Wb6Hc1==\"",
            "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAEgAAAAbCAMAAADoKTksAAAAGFBMVEX",
            "_ZN4core3ptr85drop_in_place17h0be520bdeb30de61E",
            "test_scrubbed_vectors_do_not_change_when_scrubbed_again",
            "ThisIsAVeryLongCamelCaseTypeName and CARGO_PKG_VERSION_MAJOR",
        ] {
            assert!(claimed(text).is_empty(), "{text}: {:?}", claimed(text));
        }
    }

    #[test]
    fn base64_blocks_are_left_alone_but_one_line_is_not() {
        let line = "q7X2m9P4k8W3z6V1n5B0cT2m9P4k8W3z6V1n5B0qLpRsTuVwXyZaBcDeFgHiJkL+";
        assert!(claimed(&format!("{line}\n{line}\n")).is_empty());
        assert_eq!(claimed(&format!("x\n{line}\ny")), [line]);
    }

    #[test]
    fn entropy_is_measured_in_bits_per_character() {
        assert!(shannon_entropy(b"aaaa") < 0.01);
        assert!((shannon_entropy(b"abcd") - 2.0).abs() < 1e-9);
    }
}
