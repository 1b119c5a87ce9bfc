//! Python tracebacks: `Traceback (most recent call last):`, the `File ..., in NAME`
//! frames (outermost first) and the final exception line. Chained exceptions print
//! several tracebacks; the last one is the exception that ended the program.

use std::sync::LazyLock;

use regex::Regex;

use super::frames::{self, Frame};
use super::{Crash, Found, Runtime};

static HEADER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^Traceback \(most recent call last\):\s*$").expect("static regex"));

static GROUP_HEADER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^  \+ Exception Group Traceback \(most recent call last\):\s*$").expect("static regex")
});

/// A frame (`, in NAME`) or, for syntax errors, just a location.
static FILE_LINE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"^  File "(.*)", line \d+(?:, in (.+))?$"#).expect("static regex"));

/// `ValueError: msg`, `json.decoder.JSONDecodeError: msg`, or a bare `KeyboardInterrupt`.
static EXCEPTION_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)(?::.*)?$").expect("static regex")
});

/// Interpreter and installed-package code: `.../lib/python3.11/...` (site-packages
/// included), Debian's `dist-packages`, and frozen bootstrap modules.
static LIBRARY_PATH: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:^|[/\\])lib[/\\]python\d+(?:\.\d+)?t?[/\\]|[/\\](?:site|dist)-packages[/\\]|^<frozen ")
        .expect("static regex")
});

/// Errors Python reports with a location but no traceback header.
const HEADERLESS_CLASSES: [&str; 3] = ["SyntaxError", "IndentationError", "TabError"];

pub(super) fn find_last(lines: &[&str]) -> Option<Found> {
    let mut last = None;
    let mut i = 0;
    if let Some(first) = truncated_start(lines) {
        match parse_body(lines, first) {
            Ok(body) => {
                last = Some(found(first, body.end, body.class, body.frames));
                i = body.end;
            }
            Err(stop) => i = stop,
        }
    }
    while i < lines.len() {
        let line = lines[i];
        if HEADER.is_match(line) {
            match parse_body(lines, i + 1) {
                Ok(body) => {
                    last = Some(found(i, body.end, body.class, body.frames));
                    i = body.end;
                }
                Err(stop) => i = stop,
            }
        } else if GROUP_HEADER.is_match(line) {
            let end = (i + 1..lines.len())
                .find(|&at| group_line(lines[at]).is_none())
                .unwrap_or(lines.len());
            if let Some(body) = parse_group(&lines[i + 1..end]) {
                last = Some(found(i, end, body.class, body.frames));
            }
            i = end;
        } else if is_location_only(line) {
            match parse_body(lines, i) {
                Ok(body) if HEADERLESS_CLASSES.contains(&body.class.as_str()) => {
                    last = Some(found(i, body.end, body.class, body.frames));
                    i = body.end;
                }
                Ok(body) => i = body.end,
                Err(stop) => i = stop.max(i + 1),
            }
        } else {
            i += 1;
        }
    }
    last
}

fn found(start: usize, end: usize, error_class: String, raw: Vec<Frame>) -> Found {
    Found {
        start,
        end,
        crash: Crash {
            runtime: Runtime::Python,
            error_class,
            frames: frames::finish(raw),
            broken_pipe: false,
        },
    }
}

struct Body {
    class: String,
    /// Innermost first.
    frames: Vec<Frame>,
    /// First line after the exception line.
    end: usize,
}

/// Reads `File` lines with their indented source and caret lines, then the exception
/// line. On failure returns the line where reading stopped, for the caller to examine
/// next: it may be the header of another traceback.
fn parse_body(lines: &[&str], from: usize) -> Result<Body, usize> {
    let mut frames = Vec::new();
    let mut saw_location = false;
    let mut i = from;
    while i < lines.len() {
        let line = lines[i];
        if let Some(caps) = FILE_LINE.captures(line) {
            saw_location = true;
            if let Some(name) = caps.get(2) {
                let path = caps.get(1).map_or("", |m| m.as_str());
                frames.push(Frame::new(normalise(name.as_str()), !LIBRARY_PATH.is_match(path)));
            }
        } else if !(line.starts_with(' ') || line.starts_with('\t')) {
            break;
        }
        i += 1;
    }
    let class = match lines.get(i).and_then(|line| EXCEPTION_LINE.captures(line)) {
        Some(caps) if saw_location => caps[1].to_string(),
        _ => return Err(i),
    };
    frames.reverse();
    Ok(Body {
        class,
        frames,
        end: i + 1,
    })
}

/// A tail that begins inside a traceback: frames are visible, the header was cut off.
/// Only the first line may be a fragment; anything else before the frames must be an
/// indented source line, otherwise the frames are not at the start of the tail.
fn truncated_start(lines: &[&str]) -> Option<usize> {
    for (i, line) in lines.iter().enumerate() {
        if FILE_LINE.captures(line).is_some_and(|caps| caps.get(2).is_some()) {
            return Some(i);
        }
        if i > 0 && !line.starts_with(' ') {
            return None;
        }
    }
    None
}

fn is_location_only(line: &str) -> bool {
    FILE_LINE.captures(line).is_some_and(|caps| caps.get(2).is_none())
}

/// An exception group: its own traceback (`  | ` lines), then its sub-exceptions in boxes
/// drawn one level deeper (`    | `, separated by `+---- 2 ----` lines), groups nesting
/// further. The class is the group's, the one that ended the program; the frames are those
/// of the first sub-exception that has a traceback, innermost first, followed by the frames
/// of the groups that contain it, so a `TaskGroup`'s failure points at the task's code.
fn parse_group(block: &[&str]) -> Option<Body> {
    let own: Vec<&str> = block.iter().map_while(|line| strip_box_prefix(line, 2)).collect();
    let top = parse_body(&own, 0).ok()?;
    // Groups above the current sub-exception (indentation, frames), outermost first.
    let mut groups: Vec<(usize, Vec<Frame>)> = Vec::new();
    let mut leaf: Option<(usize, Vec<Frame>)> = None;
    let mut at = own.len();
    while at < block.len() {
        let Some((indent, text)) = group_line(block[at]) else {
            break;
        };
        at += 1;
        let Some(text) = text else {
            // A separator: the first sub-exception's box ends at the next one at its depth.
            if leaf.as_ref().is_some_and(|(depth, _)| indent <= *depth) {
                break;
            }
            continue;
        };
        let is_group = text == "Exception Group Traceback (most recent call last):";
        if !is_group && text != "Traceback (most recent call last):" {
            continue;
        }
        let body_lines: Vec<&str> = block[at..]
            .iter()
            .map_while(|line| strip_box_prefix(line, indent))
            .collect();
        let Ok(body) = parse_body(&body_lines, 0) else { continue };
        at += body.end;
        match &leaf {
            // A chained exception in the same box: the last traceback is the sub-exception.
            Some((depth, _)) if *depth == indent && !is_group => leaf = Some((indent, body.frames)),
            Some(_) => {}
            None if is_group => {
                groups.retain(|(depth, _)| *depth < indent);
                groups.push((indent, body.frames));
            }
            None => leaf = Some((indent, body.frames)),
        }
    }
    let mut frames = Vec::new();
    if let Some((depth, leaf_frames)) = leaf {
        frames.extend(leaf_frames);
        for (_, group_frames) in groups.into_iter().rev().filter(|(at, _)| *at < depth) {
            frames.extend(group_frames);
        }
    }
    frames.extend(top.frames);
    Some(Body { frames, ..top })
}

/// A line of an exception group's drawing: its indentation, and its text after `| `, or
/// `None` for a `+` separator line. Anything else ends the group.
fn group_line(line: &str) -> Option<(usize, Option<&str>)> {
    let indent = line.len() - line.trim_start_matches(' ').len();
    if indent < 2 {
        return None;
    }
    let rest = &line[indent..];
    if rest.starts_with('+') {
        Some((indent, None))
    } else if let Some(text) = rest.strip_prefix('|') {
        Some((indent, Some(text.strip_prefix(' ').unwrap_or(text))))
    } else {
        None
    }
}

/// The text of a line inside the box drawn at `indent`, without its `| ` prefix.
fn strip_box_prefix<'a>(line: &&'a str, indent: usize) -> Option<&'a str> {
    let rest = line.get(indent..)?;
    if !line[..indent].bytes().all(|byte| byte == b' ') {
        return None;
    }
    match rest.strip_prefix('|')? {
        "" => Some(""),
        text => text.strip_prefix(' '),
    }
}

/// Comprehension frames are named per kind and vanish in newer Pythons; one name
/// keeps reports from the same code together.
fn normalise(name: &str) -> String {
    match name.trim() {
        "<listcomp>" | "<dictcomp>" | "<setcomp>" => "<comprehension>".to_string(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Option<Crash> {
        let lines: Vec<&str> = text.lines().collect();
        find_last(&lines).map(|found| found.crash)
    }

    #[test]
    fn reads_class_and_frames_innermost_first() {
        let crash = parse(
            "Traceback (most recent call last):\n  File \"/home/u/a.py\", line 9, in <module>\n    main()\n  File \"/home/u/a.py\", line 6, in main\n    helper()\n  File \"/home/u/a.py\", line 2, in helper\n    raise ValueError('secret abc')\nValueError: secret abc\n",
        )
        .expect("crash");
        assert_eq!(crash.error_class, "ValueError");
        assert_eq!(crash.frames, ["helper", "main", "<module>"]);
    }

    #[test]
    fn class_never_comes_from_the_message() {
        let crash = parse(
            "Traceback (most recent call last):\n  File \"a.py\", line 1, in <module>\nValueError: KeyError: secret\n",
        )
        .expect("crash");
        assert_eq!(crash.error_class, "ValueError");
    }

    #[test]
    fn header_inside_a_log_line_is_not_a_crash() {
        assert_eq!(
            parse("starting\nINFO Traceback (most recent call last):\n  File \"a.py\", line 1, in f\nValueError: x\n"),
            None
        );
    }

    #[test]
    fn header_without_frames_is_not_a_crash() {
        assert_eq!(parse("Traceback (most recent call last):\nValueError: x\n"), None);
    }

    #[test]
    fn comprehensions_share_one_name() {
        assert_eq!(normalise("<listcomp>"), "<comprehension>");
        assert_eq!(normalise("<dictcomp>"), "<comprehension>");
        assert_eq!(normalise("<genexpr>"), "<genexpr>");
    }
}
