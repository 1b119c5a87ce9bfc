//! Ruby uncaught exceptions: `file.rb:3:in 'label': message (Class)` then `\tfrom`
//! lines. Labels are quoted with a backtick before Ruby 3.4 and a quote since; causes
//! are printed after the exception in the same format, so the first block counts.

use std::sync::LazyLock;

use regex::Regex;

use super::frames::{self, Frame};
use super::{Crash, Found, Runtime};

/// `path:line:in 'label': rest`; what `rest` must look like is checked in code.
static HEADER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(.+?):(?:\d+:)?in [`'](.*?)': (.*?)\s*$").expect("static regex"));

/// `msg (ArgumentError)`; for multi-line messages the class ends the first line.
static CLASS_SUFFIX: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r" \(([A-Z][A-Za-z0-9_]*(?:::[A-Z][A-Za-z0-9_]*)*)\)$").expect("static regex"));

/// An exception with an empty message prints just its class.
static CLASS_ONLY: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[A-Z][A-Za-z0-9_]*(?:::[A-Z][A-Za-z0-9_]*)*$").expect("static regex"));

static FROM_LINE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\tfrom (.+?):(?:\d+:)?in [`'](.*)'\s*$").expect("static regex"));

/// Ruby 2.5-2.7 on a terminal printed frames above the header, outermost first.
static REVERSED_FROM_LINE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\t\s*\d+: from (.+?):(?:\d+:)?in [`'](.*)'\s*$").expect("static regex"));

/// `\t ... 10068 levels...` in deep recursion.
static ELIDED_LEVELS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\t\s*\.\.\. \d+ levels\.\.\.\s*$").expect("static regex"));

/// What Ruby prints for a `RuntimeError` with an empty message.
const UNHANDLED: &str = "unhandled exception";

/// How far below the header the `from` lines may start (message lines, code highlight).
const MAX_MESSAGE_LINES: usize = 50;

struct Header {
    class: String,
    frame: Frame,
}

pub(super) fn find_last(lines: &[&str]) -> Option<Found> {
    let mut last = None;
    let mut i = 0;
    while i < lines.len() {
        let Some(header) = parse_header(lines[i]) else {
            i += 1;
            continue;
        };
        let (above, start) = reversed_frames(lines, i);
        let mut raw = vec![header.frame];
        raw.extend(above);
        let (below, mut end) = from_frames(lines, i + 1);
        raw.extend(below);
        // A cause follows its exception directly, in the same format.
        while end < lines.len() && parse_header(lines[end]).is_some() {
            end = from_frames(lines, end + 1).1;
        }
        last = Some(Found {
            start,
            end,
            crash: Crash {
                runtime: Runtime::Ruby,
                error_class: header.class,
                frames: frames::finish(raw),
                broken_pipe: false,
            },
        });
        i = end;
    }
    last
}

fn parse_header(line: &str) -> Option<Header> {
    let caps = HEADER.captures(line)?;
    let path = caps.get(1)?.as_str();
    // A colon-space in the "path" means the line is prose that happens to match.
    if path.contains(": ") {
        return None;
    }
    let rest = caps.get(3)?.as_str();
    let class = if let Some(class) = CLASS_SUFFIX.captures(rest) {
        class[1].to_string()
    } else if CLASS_ONLY.is_match(rest) {
        rest.to_string()
    } else if rest == UNHANDLED {
        "RuntimeError".to_string()
    } else {
        return None;
    };
    Some(Header {
        class,
        frame: frame(path, caps.get(2)?.as_str()),
    })
}

/// `\tfrom` lines below the header, after any message or highlight lines. Returns the
/// frames and the first line after them (the line after the header if there are none).
fn from_frames(lines: &[&str], from: usize) -> (Vec<Frame>, usize) {
    let limit = lines.len().min(from + MAX_MESSAGE_LINES);
    let first = (from..limit)
        .take_while(|&at| parse_header(lines[at]).is_none())
        .find(|&at| FROM_LINE.is_match(lines[at]));
    let Some(mut at) = first else {
        return (Vec::new(), from);
    };
    let mut raw = Vec::new();
    while at < lines.len() {
        if let Some(caps) = FROM_LINE.captures(lines[at]) {
            raw.push(frame(&caps[1], &caps[2]));
        } else if !ELIDED_LEVELS.is_match(lines[at]) {
            break;
        }
        at += 1;
    }
    (raw, at)
}

/// Frames printed above the header (old terminal format), innermost first, and the
/// line where this crash's output starts.
fn reversed_frames(lines: &[&str], header: usize) -> (Vec<Frame>, usize) {
    let mut raw = Vec::new();
    let mut start = header;
    while start > 0 {
        let Some(caps) = REVERSED_FROM_LINE.captures(lines[start - 1]) else {
            break;
        };
        raw.push(frame(&caps[1], &caps[2]));
        start -= 1;
    }
    if !raw.is_empty() && start > 0 && lines[start - 1].starts_with("Traceback") {
        start -= 1;
    }
    (raw, start)
}

/// Standard library, gems and `<internal:...>` builtins are not the program's code.
fn frame(path: &str, label: &str) -> Frame {
    let path = path.replace('\\', "/");
    let own = !(path.starts_with("<internal:") || path.contains("/lib/ruby/") || path.contains("/gems/"));
    Frame::new(label.trim(), own)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_quote_styles_are_read() {
        let old = parse_header("a.rb:2:in `helper': secret (ArgumentError)").expect("header");
        assert_eq!(
            (old.class.as_str(), old.frame.name.as_str()),
            ("ArgumentError", "helper")
        );
        let new = parse_header("a.rb:2:in 'Object#helper': secret (ArgumentError)").expect("header");
        assert_eq!(
            (new.class.as_str(), new.frame.name.as_str()),
            ("ArgumentError", "Object#helper")
        );
    }

    #[test]
    fn class_comes_from_the_parenthesis_at_the_end() {
        let header = parse_header("a.rb:2:in `f': failed (Timeout) (Net::ReadTimeout)").expect("header");
        assert_eq!(header.class, "Net::ReadTimeout");
        assert_eq!(
            parse_header("a.rb:1:in `sleep': Interrupt").expect("header").class,
            "Interrupt"
        );
        assert_eq!(
            parse_header("a.rb:1:in `<main>': unhandled exception")
                .expect("header")
                .class,
            "RuntimeError"
        );
    }

    #[test]
    fn prose_and_compiler_output_are_not_headers() {
        assert!(parse_header("ValueError: x.rb:3:in 'f': y (Z)").is_none());
        assert!(parse_header("foo.c:3:5: error: bad thing (Something)").is_none());
        assert!(parse_header("a.rb:1:in `f': just a message").is_none());
    }
}
