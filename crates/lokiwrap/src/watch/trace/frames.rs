//! Rules every recogniser shares once it has read raw frames: keep the program's own
//! frames when there are any, collapse recursion, cap the count, and make sure nothing
//! that looks like a file path survives into a frame name.

use std::sync::LazyLock;

use regex::Regex;

/// A report carries at most this many frames, innermost first.
pub(super) const MAX_FRAMES: usize = 5;

/// Generic-heavy symbols can run to kilobytes; a name is for grouping, not reading.
const MAX_NAME_BYTES: usize = 200;

/// What a frame becomes when its name is empty or unusable.
pub(super) const ANONYMOUS: &str = "<anonymous>";

/// A separator followed by a path-like character; operators such as Ruby's `/` do not match.
static PATH_LIKE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"[/\\][\w.~-]").expect("static regex"));

/// One frame as read from a trace, already normalised by its recogniser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Frame {
    pub name: String,
    /// False for runtime, standard library and installed-package frames.
    pub own: bool,
}

impl Frame {
    pub(super) fn new(name: impl Into<String>, own: bool) -> Frame {
        Frame { name: name.into(), own }
    }
}

/// Turns raw frames (innermost first) into the names a report carries.
pub(super) fn finish(frames: Vec<Frame>) -> Vec<String> {
    let any_own = frames.iter().any(|frame| frame.own);
    let mut names: Vec<String> = Vec::new();
    for frame in &frames {
        if any_own && !frame.own {
            continue;
        }
        let name = sanitise(&frame.name);
        if names.last() == Some(&name) {
            continue;
        }
        if names.len() == MAX_FRAMES {
            break;
        }
        names.push(name);
    }
    names
}

/// Last line of defence for privacy and size: a name never carries a path.
fn sanitise(name: &str) -> String {
    let trimmed = name.trim();
    if trimmed.is_empty() || PATH_LIKE.is_match(trimmed) {
        return ANONYMOUS.to_string();
    }
    if trimmed.len() <= MAX_NAME_BYTES {
        return trimmed.to_string();
    }
    let mut end = MAX_NAME_BYTES;
    while !trimmed.is_char_boundary(end) {
        end -= 1;
    }
    trimmed[..end].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn own(name: &str) -> Frame {
        Frame::new(name, true)
    }

    fn lib(name: &str) -> Frame {
        Frame::new(name, false)
    }

    #[test]
    fn keeps_only_own_frames_when_there_are_some() {
        let frames = vec![lib("json.loads"), own("load"), lib("runpy"), own("main")];
        assert_eq!(finish(frames), ["load", "main"]);
    }

    #[test]
    fn falls_back_to_all_frames_without_own_ones() {
        let frames = vec![lib("a"), lib("b")];
        assert_eq!(finish(frames), ["a", "b"]);
    }

    #[test]
    fn collapses_recursion_and_caps_at_five() {
        let mut frames = vec![own("walk"); 50];
        frames.extend(["a", "b", "c", "d", "e", "f"].map(own));
        assert_eq!(finish(frames), ["walk", "a", "b", "c", "d"]);
    }

    #[test]
    fn never_lets_a_path_through() {
        let frames = vec![own("Object./home/alice/x"), own("C:\\Users\\x"), own("Integer#/")];
        assert_eq!(finish(frames), [ANONYMOUS, "Integer#/"]);
    }

    #[test]
    fn truncates_long_names_on_a_char_boundary() {
        let long = "é".repeat(150);
        let out = finish(vec![own(&long)]);
        assert!(out[0].len() <= MAX_NAME_BYTES);
        assert!(long.starts_with(&out[0]));
    }
}
