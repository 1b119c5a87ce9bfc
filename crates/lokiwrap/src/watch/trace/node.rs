//! Node.js uncaught errors: an `Error: message` line followed by `    at ...` frames.
//! Node prints the throwing source line and a caret above the error, which tells us
//! where the error line is even when the message spans several lines.
//!
//! Some crashes print no `at` line at all: a thrown string, number or plain object, an
//! instance of a class that is not an `Error`, or any error when the stack trace limit is
//! 0 (`[RangeError: Maximum call stack size exceeded]`). The location, source and caret
//! lines above the value still mark them, and the value gives the class: its `name`
//! property or constructor for objects, `string` or `number` for primitives.

use std::sync::LazyLock;

use regex::Regex;

use super::frames::{self, ANONYMOUS, Frame};
use super::{Crash, Found, Runtime};

/// Top-level frames are indented exactly four spaces; nested `[cause]` stacks are deeper.
/// The last frame ends with ` {` when Node prints the error's extra properties.
static AT_LINE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^    at (.+?)(?: \{)?\s*$").expect("static regex"));

/// Node elides frames a cause shares with its parent; the stack continues after it.
static ELIDED_LINE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^    \.\.\. \d+ lines? matching cause stack trace \.\.\.$").expect("static regex"));

/// `TypeError: msg`, `TypeError [ERR_X]: msg`, `Error` with no message.
static ERROR_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:Uncaught )?([A-Za-z_$][A-Za-z0-9_$]*)(?: \[[A-Za-z0-9_]+\])?(?::.*)?$").expect("static regex")
});

/// The caret under the throwing source line.
static CARET_LINE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^\s*\^+\s*$").expect("static regex"));

/// `file.js:12` or `node:events:502` above the throwing source line.
static SOURCE_LOCATION: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^\S+:\d+$").expect("static regex"));

static ALIAS: LazyLock<Regex> = LazyLock::new(|| Regex::new(r" \[as [^\]]*\]$").expect("static regex"));

/// How far above the frames the error line may be (long multi-line messages).
const MAX_HEADER_DISTANCE: usize = 64;

pub(super) fn find_last(lines: &[&str]) -> Option<Found> {
    let mut last = None;
    let mut previous_run_end = 0;
    let mut i = 0;
    while i < lines.len() {
        if !AT_LINE.is_match(lines[i]) {
            i += 1;
            continue;
        }
        let run_start = i;
        let mut raw = Vec::new();
        while i < lines.len() {
            if let Some(caps) = AT_LINE.captures(lines[i]) {
                raw.push(parse_frame(&caps[1]));
            } else if !ELIDED_LINE.is_match(lines[i]) {
                break;
            }
            i += 1;
        }
        if let Some((start, class)) = error_line(lines, previous_run_end, run_start) {
            last = Some(Found {
                start,
                end: i,
                crash: Crash {
                    runtime: Runtime::Node,
                    error_class: class,
                    frames: frames::finish(raw),
                    broken_pipe: false,
                },
            });
        }
        previous_run_end = i;
    }
    let without_frames = find_last_without_frames(lines);
    match (last, without_frames) {
        (Some(with), Some(without)) if without.start < with.start => Some(with),
        (with, None) => with,
        (_, without) => without,
    }
}

/// `[RangeError: msg]`: an error without a stack, as `util.inspect` prints it.
static BRACKETED_ERROR: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\[([A-Za-z_$][A-Za-z0-9_$]*)(?::.*)?\]$").expect("static regex"));

/// `ConfigProblem { key: 'port' }`: an instance of a class that is not an `Error`.
static CLASS_INSTANCE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^([A-Za-z_$][A-Za-z0-9_$]*) [{\[]").expect("static regex"));

/// `name: 'MyCustomError'` inside a thrown plain object.
static NAME_PROPERTY: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\bname: '([A-Za-z_$][A-Za-z0-9_$]*)'").expect("static regex"));

static NUMBER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^-?(?:\d[\d_]*(?:\.\d+)?(?:e[+-]?\d+)?n?|Infinity|NaN)$").expect("static regex"));

/// Node's hint below a thrown primitive.
const PRIMITIVE_HINT: &str = "(Use `node --trace-uncaught ...` to show where the exception was thrown)";

/// How many lines an inspected value may span before it is no longer read.
const MAX_VALUE_LINES: usize = 64;

/// The last crash printed as location, source line, caret and the thrown value, with no
/// `at` line below the value (those are read by `find_last` itself).
fn find_last_without_frames(lines: &[&str]) -> Option<Found> {
    let mut last = None;
    let mut i = 0;
    while i + 3 < lines.len() {
        if !(SOURCE_LOCATION.is_match(lines[i]) && CARET_LINE.is_match(lines[i + 2])) {
            i += 1;
            continue;
        }
        let start = i;
        let mut at = i + 3;
        if lines[at].trim().is_empty() {
            at += 1;
        }
        let value_start = at;
        let limit = lines.len().min(value_start + MAX_VALUE_LINES);
        while at < limit && !lines[at].trim().is_empty() && lines[at] != PRIMITIVE_HINT && !AT_LINE.is_match(lines[at])
        {
            at += 1;
        }
        let value = &lines[value_start..at];
        let primitive = lines.get(at) == Some(&PRIMITIVE_HINT);
        let has_frames = lines.get(at).is_some_and(|line| AT_LINE.is_match(line));
        if primitive {
            at += 1;
        }
        while at < lines.len() && at < limit + 2 && lines[at].trim().is_empty() {
            at += 1;
        }
        if lines.get(at).is_some_and(|line| line.starts_with("Node.js v")) {
            at += 1;
        }
        let class = if has_frames {
            None
        } else {
            thrown_class(value, primitive)
        };
        if let Some(class) = class {
            last = Some(Found {
                start,
                end: at,
                crash: Crash {
                    runtime: Runtime::Node,
                    error_class: class,
                    frames: Vec::new(),
                    broken_pipe: false,
                },
            });
        }
        i = at.max(start + 1);
    }
    last
}

/// The class of a value thrown without a stack, from how Node printed it.
fn thrown_class(value: &[&str], primitive: bool) -> Option<String> {
    let first = value.first()?.trim_end();
    if primitive {
        let kind = match first {
            "true" | "false" => "boolean",
            "undefined" | "null" => first,
            _ if NUMBER.is_match(first) => "number",
            _ if first.starts_with("Symbol(") => "symbol",
            _ => "string",
        };
        return Some(kind.to_string());
    }
    if let Some(caps) = BRACKETED_ERROR.captures(first) {
        return Some(caps[1].to_string());
    }
    if first.starts_with('{') {
        let named = value.iter().find_map(|line| NAME_PROPERTY.captures(line));
        return Some(named.map_or_else(|| "Object".to_string(), |caps| caps[1].to_string()));
    }
    if let Some(caps) = CLASS_INSTANCE.captures(first).or_else(|| ERROR_LINE.captures(first)) {
        return Some(caps[1].to_string());
    }
    None
}

/// Finds the error line above a run of frames. Below the caret block it is the first
/// line; without a caret block it is the nearest line shaped like an error line.
fn error_line(lines: &[&str], floor: usize, run_start: usize) -> Option<(usize, String)> {
    let floor = floor.max(run_start.saturating_sub(MAX_HEADER_DISTANCE));
    let above = floor..run_start;
    if let Some(blank) = above.clone().rev().find(|&at| is_source_context_end(lines, at)) {
        let first = (blank + 1..run_start).find(|&at| !lines[at].trim().is_empty())?;
        return ERROR_LINE
            .captures(lines[first])
            .map(|caps| (first, caps[1].to_string()));
    }
    above
        .rev()
        .find_map(|at| ERROR_LINE.captures(lines[at]).map(|caps| (at, caps[1].to_string())))
}

/// The blank line that closes `file.js:12` / source line / caret.
fn is_source_context_end(lines: &[&str], at: usize) -> bool {
    lines[at].trim().is_empty()
        && ((at >= 1 && CARET_LINE.is_match(lines[at - 1])) || (at >= 2 && SOURCE_LOCATION.is_match(lines[at - 2])))
}

/// `Store.load (/x.js:9:11)`, `new Store (...)`, `async outer (...)`,
/// `Object.real [as alias] (...)`, or a bare location for an unnamed function.
fn parse_frame(text: &str) -> Frame {
    let (name, location) = match text.find(" (") {
        Some(at) if text.ends_with(')') => (&text[..at], &text[at + 2..text.len() - 1]),
        _ => ("", text),
    };
    let name = name.strip_prefix("async ").unwrap_or(name);
    let name = ALIAS.replace(name, "");
    let name = if name.trim().is_empty() {
        ANONYMOUS.to_string()
    } else {
        name.trim().to_string()
    };
    Frame::new(name, is_own_location(location))
}

/// Node internals (`node:`, old `internal/`), V8 builtins (`<anonymous>`, `native`,
/// `index 0` for `Promise.all`) and installed packages are not the program's code.
fn is_own_location(location: &str) -> bool {
    let location = location.trim();
    let in_node_modules = location.contains("/node_modules/") || location.contains("\\node_modules\\");
    !(location.starts_with("node:")
        || location.starts_with("internal/")
        || in_node_modules
        || location == "<anonymous>"
        || location == "native"
        || location.starts_with("index "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(text: &str) -> Frame {
        parse_frame(text)
    }

    #[test]
    fn frame_names_follow_the_spec() {
        assert_eq!(frame("Store.load (/p/x.js:9:11)"), Frame::new("Store.load", true));
        assert_eq!(frame("new Store (/p/x.js:5:10)"), Frame::new("new Store", true));
        assert_eq!(frame("async outer (/p/x.js:19:10)"), Frame::new("outer", true));
        assert_eq!(frame("/p/x.js:3:43"), Frame::new(ANONYMOUS, true));
        assert_eq!(
            frame("Object.real [as alias] (/p/x.js:1:1)"),
            Frame::new("Object.real", true)
        );
        assert_eq!(
            frame("Object.<anonymous> (/p/x.js:1:1)"),
            Frame::new("Object.<anonymous>", true)
        );
    }

    #[test]
    fn runtime_locations_are_not_own() {
        assert!(!frame("Module._compile (node:internal/modules/cjs/loader:1521:14)").own);
        assert!(!frame("Array.map (<anonymous>)").own);
        assert!(!frame("async Promise.all (index 0)").own);
        assert!(!frame("call (/p/node_modules/lib/index.js:4:10)").own);
        assert!(!frame("node:internal/main/run_main_module:28:49").own);
        assert!(frame("main (/p/node_modules_demo.js:1:1)").own);
    }

    #[test]
    fn class_drops_code_and_message() {
        let lines = [
            "TypeError [ERR_INVALID_ARG_TYPE]: The \"path\" argument must be of type string",
            "    at open (node:fs:1:1)",
        ];
        let found = find_last(&lines).expect("crash");
        assert_eq!(found.crash.error_class, "TypeError");
    }

    #[test]
    fn multi_line_message_below_caret() {
        let lines = [
            "node:child_process:966",
            "    throw err;",
            "    ^",
            "",
            "Error: Command failed: git status",
            "fatal: not a git repository",
            "",
            "    at checkExecSyncError (node:child_process:891:11)",
            "    at main (/p/x.js:3:1)",
        ];
        let found = find_last(&lines).expect("crash");
        assert_eq!(found.start, 4);
        assert_eq!(found.crash.error_class, "Error");
        assert_eq!(found.crash.frames, ["main"]);
    }
}
