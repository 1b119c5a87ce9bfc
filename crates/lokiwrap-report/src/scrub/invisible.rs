//! Characters that show nothing: control characters and Unicode's format and default-ignorable
//! characters (zero-width spaces and joiners, bidi controls, the soft hyphen, variation
//! selectors, tags). Inside a token they split it where no rule can see it whole
//! (`ghp_…\x07…`); in a title a bidi override turns the text around. Line breaks and tabs are
//! layout, not hidden, and stay; a carriage return stays only as part of `\r\n`, since alone it
//! only moves a terminal's cursor back over what it wrote.

use std::borrow::Cow;
use std::ops::Range;

/// Whether `c` is removed wherever text is shown. A carriage return counts as one; only
/// [`remove_invisible`] knows the `\r\n` it is kept in.
pub fn is_invisible(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t') || is_format(c)
}

/// Unicode's format characters (general category Cf) that show nothing, and the other
/// default-ignorable code points: fillers, variation selectors, tags.
fn is_format(c: char) -> bool {
    matches!(
        c,
        '\u{ad}'
            | '\u{34f}'
            | '\u{61c}'
            | '\u{115f}'
            | '\u{1160}'
            | '\u{17b4}'
            | '\u{17b5}'
            | '\u{180b}'..='\u{180f}'
            | '\u{200b}'..='\u{200f}'
            | '\u{202a}'..='\u{202e}'
            | '\u{2060}'..='\u{206f}'
            | '\u{3164}'
            | '\u{fe00}'..='\u{fe0f}'
            | '\u{feff}'
            | '\u{ffa0}'
            | '\u{fff0}'..='\u{fffb}'
            | '\u{1bca0}'..='\u{1bca3}'
            | '\u{1d173}'..='\u{1d17a}'
            | '\u{e0000}'..='\u{e0fff}'
    )
}

/// Whether the character at `at` (which is `c`) goes: every invisible one but a `\r` before `\n`.
fn removed(text: &str, at: usize, c: char) -> bool {
    is_invisible(c) && !(c == '\r' && text[at + 1..].starts_with('\n'))
}

/// `text` without its invisible characters, glued where they were: a token split by one is
/// whole again. Borrows when there is none.
pub fn remove_invisible(text: Cow<'_, str>) -> Cow<'_, str> {
    let hidden = spans(&text);
    if hidden.is_empty() {
        return text;
    }
    Cow::Owned(without(&text, &hidden))
}

/// Whether byte `b` can start an invisible character: an ASCII control but a line break or
/// tab, DEL, or any byte of a non-ASCII character. Printable ASCII never can.
const fn may_hide(b: u8) -> bool {
    (b < 0x20 && b != b'\n' && b != b'\t') || b >= 0x7f
}

/// Where the invisible characters of `text` are, in order. Runs of printable ASCII, most of
/// any log, are skipped a block at a time; only the characters from a byte that may hide
/// one are decoded.
pub(super) fn spans(text: &str) -> Vec<Range<usize>> {
    const BLOCK: usize = 32;
    let bytes = text.as_bytes();
    let mut hidden = Vec::new();
    // Always a character boundary: everything skipped is ASCII.
    let mut at = 0;
    while at < bytes.len() {
        let block = &bytes[at..bytes.len().min(at + BLOCK)];
        // No early exit, so that the test over the block compiles to vector code.
        if !block.iter().fold(false, |any, &b| any | may_hide(b)) {
            at += block.len();
            continue;
        }
        let Some(offset) = block.iter().position(|&b| may_hide(b)) else {
            at += block.len();
            continue;
        };
        at += offset;
        let c = text[at..].chars().next().unwrap_or_default();
        if removed(text, at, c) {
            hidden.push(at..at + c.len_utf8());
        }
        at += c.len_utf8();
    }
    hidden
}

/// `text` with the `hidden` spans (from [`spans`]) cut out.
pub(super) fn without(text: &str, hidden: &[Range<usize>]) -> String {
    let mut kept = String::with_capacity(text.len());
    let mut from = 0;
    for span in hidden {
        kept.push_str(&text[from..span.start]);
        from = span.end;
    }
    kept.push_str(&text[from..]);
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    fn removed_from(text: &str) -> String {
        remove_invisible(Cow::Borrowed(text)).into_owned()
    }

    #[test]
    fn controls_and_format_characters_go_and_layout_stays() {
        assert_eq!(removed_from("a\u{7}b\u{0}c\u{7f}d\u{85}e\u{9b}f"), "abcdef");
        assert_eq!(removed_from("a\u{200b}b\u{feff}c\u{ad}d\u{2060}e\u{e0041}f"), "abcdef");
        assert_eq!(
            removed_from("Error\u{202e})gnp.exe(\u{2066}x\u{2069}\u{61c}"),
            "Error)gnp.exe(x"
        );
        assert_eq!(removed_from("one\ntwo\tthree\r\nfour"), "one\ntwo\tthree\r\nfour");
        assert_eq!(removed_from("50%\r100%\r\r\nend\r"), "50%100%\r\nend");
    }

    #[test]
    fn text_without_any_is_borrowed() {
        assert!(matches!(
            remove_invisible(Cow::Borrowed("plain é 𝐀 \u{3000}\r\n")),
            Cow::Borrowed(_)
        ));
        assert!(spans("plain\r\n").is_empty());
        assert_eq!(spans("lone\r\u{200b}"), [4..5, 5..8]);
    }

    /// The block-wise scan finds what a scan of every character finds.
    #[test]
    fn spans_match_a_scan_of_every_character() {
        let slow = |text: &str| -> Vec<Range<usize>> {
            text.char_indices()
                .filter(|&(at, c)| removed(text, at, c))
                .map(|(at, c)| at..at + c.len_utf8())
                .collect()
        };
        let pieces = [
            "a",
            "plain text ",
            "\u{7}",
            "\r",
            "\n",
            "\r\n",
            "\t",
            "é",
            "\u{200b}",
            "\u{85}",
            "\u{7f}",
            "文",
            "𝐀",
            "\u{e0041}",
        ];
        let mut seed = 7u64;
        for _ in 0..2000 {
            let mut text = String::new();
            for _ in 0..(seed % 40) {
                seed = seed
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                text.push_str(pieces[(seed >> 33) as usize % pieces.len()]);
            }
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            assert_eq!(spans(&text), slow(&text), "{text:?}");
        }
    }
}
