//! Rust panics: `thread 'main' (123) panicked at src/main.rs:3:5:` (Rust 1.91+; older
//! releases omit the thread id or quote the message), optionally followed by a
//! `stack backtrace:` in short or full form. Symbols are normalised across manglings.

use std::sync::LazyLock;

use regex::Regex;

use super::frames::{self, Frame};
use super::{Crash, Found, Runtime};

static HEADER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^thread '.*'(?: \(\d+\))? panicked at ").expect("static regex"));

/// `  2: myapp::helper` (short) or `  16:     0x5600 - myapp::helper::h0123...` (full).
static FRAME_LINE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\s*\d+:\s+(?:0x[0-9a-fA-F]+ - )?(.+?)\s*$").expect("static regex"));

static LOCATION_LINE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^\s+at (.+)$").expect("static regex"));

/// `      [... omitted 2 frames ...]`: a short backtrace (Rust 1.86+) leaves out the frames
/// between a nested pair of std's short-backtrace markers and goes on below.
static OMITTED_LINE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\s+\[\.\.\. omitted \d+ frames? \.\.\.\]\s*$").expect("static regex"));

/// Legacy-mangling hash suffix.
static HASH_SUFFIX: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"::h[0-9a-f]{16}$").expect("static regex"));

/// v0-mangling crate disambiguator: `std[e28293b1aa0f68bd]::`.
static DISAMBIGUATOR: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"([A-Za-z0-9_])\[[0-9a-f]{1,32}\]").expect("static regex"));

/// `{{closure}}` (legacy) and `{closure#0}` (v0), likewise for other compiler-made items.
static LEGACY_SPECIAL: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\{\{([A-Za-z_]+)\}\}").expect("static regex"));
static V0_SPECIAL: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\{([A-Za-z_:]+)#\d+\}").expect("static regex"));

/// How far below the header the backtrace may start (multi-line panic messages).
const MAX_MESSAGE_LINES: usize = 200;

/// Crates whose frames are the runtime, not the program.
const RUNTIME_CRATES: [&str; 6] = ["std", "core", "alloc", "__rustc", "panic_unwind", "panic_abort"];

pub(super) fn find_last(lines: &[&str]) -> Option<Found> {
    let mut last = None;
    let mut i = 0;
    while i < lines.len() {
        if !HEADER.is_match(lines[i]) {
            i += 1;
            continue;
        }
        let start = i;
        let (raw, end) = read_backtrace(lines, start + 1);
        let end = end.max(start + 1);
        last = Some(Found {
            start,
            end,
            crash: Crash {
                runtime: Runtime::Rust,
                error_class: "panic".to_string(),
                frames: frames::finish(raw),
                broken_pipe: false,
            },
        });
        i = end;
    }
    last
}

/// Skips the message and reads the backtrace, if one follows. Returns the frames and
/// the first line after the panic's output.
fn read_backtrace(lines: &[&str], from: usize) -> (Vec<Frame>, usize) {
    let limit = lines.len().min(from + MAX_MESSAGE_LINES);
    let mut i = from;
    while i < limit {
        let line = lines[i];
        if HEADER.is_match(line) {
            return (Vec::new(), i);
        }
        if line.starts_with("note: run with `RUST_BACKTRACE") {
            return (Vec::new(), i + 1);
        }
        if line.trim_end() == "stack backtrace:" {
            break;
        }
        i += 1;
    }
    if i >= limit {
        return (Vec::new(), from);
    }
    i += 1;
    let mut raw: Vec<Frame> = Vec::new();
    while i < lines.len() {
        let line = lines[i];
        if let Some(caps) = LOCATION_LINE.captures(line) {
            if is_dependency_path(&caps[1])
                && let Some(frame) = raw.last_mut()
            {
                frame.own = false;
            }
        } else if let Some(caps) = FRAME_LINE.captures(line) {
            let name = normalise(&caps[1]);
            let own = !is_runtime_symbol(&name);
            raw.push(Frame::new(name, own));
        } else if !OMITTED_LINE.is_match(line) {
            break;
        }
        i += 1;
    }
    (raw, i)
}

/// Sources from the registry or git checkouts are installed crates.
fn is_dependency_path(path: &str) -> bool {
    let path = path.replace('\\', "/");
    path.contains("/.cargo/registry/") || path.contains("/.cargo/git/")
}

/// One name per function whatever the mangling, build or machine.
fn normalise(symbol: &str) -> String {
    let name = HASH_SUFFIX.replace(symbol.trim(), "");
    let name = DISAMBIGUATOR.replace_all(&name, "$1");
    let name = LEGACY_SPECIAL.replace_all(&name, "{$1}");
    let name = V0_SPECIAL.replace_all(&name, "{$1}");
    let name = strip_generic_args(&name);
    unwrap_inherent_impl(&name)
}

/// Drops `<...>` argument lists written after a name (`Vec<T>`, `foo::<u32>`): v0
/// mangling prints concrete types where legacy prints parameters. A `<` that opens
/// a qualified path (`<T as Trait>::f`) is kept.
fn strip_generic_args(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut depth = 0usize;
    let mut previous: Option<char> = None;
    for c in name.chars() {
        if depth > 0 {
            match c {
                '<' => depth += 1,
                '>' if previous != Some('-') => depth -= 1,
                _ => {}
            }
        } else if c == '<' && previous.is_some_and(|p| p.is_alphanumeric() || p == '_' || p == ':') {
            if out.ends_with("::") {
                out.truncate(out.len() - 2);
            }
            depth = 1;
        } else {
            out.push(c);
        }
        previous = Some(c);
    }
    out
}

/// `<myapp::Cache>::get` (v0) is written `myapp::Cache::get` by legacy mangling.
fn unwrap_inherent_impl(name: &str) -> String {
    if let Some(close) = qualified_head_end(name) {
        let inner = &name[1..close];
        if !inner.contains(" as ") {
            return format!("{inner}{}", &name[close + 1..]);
        }
    }
    name.to_string()
}

/// Index of the `>` closing a leading `<`, if the name starts with one.
fn qualified_head_end(name: &str) -> Option<usize> {
    if !name.starts_with('<') {
        return None;
    }
    let mut depth = 0usize;
    let mut previous = ' ';
    for (at, c) in name.char_indices() {
        match c {
            '<' => depth += 1,
            '>' if previous != '-' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return Some(at);
                }
            }
            _ => {}
        }
        previous = c;
    }
    None
}

/// Runtime frames: bare C symbols (`main`, `_start`, `<unknown>`, `rust_begin_unwind`)
/// and paths whose crates, both the type's and the trait's in `<T as Trait>`, all
/// belong to the standard library. Generic parameters (`<F as FnOnce>`) name no crate.
fn is_runtime_symbol(name: &str) -> bool {
    if !name.contains("::") {
        return true;
    }
    let mut roots = Vec::new();
    collect_crate_roots(name, &mut roots, 0);
    roots.iter().all(|root| RUNTIME_CRATES.contains(root))
}

/// Bounded so that pathological nesting cannot recurse deeply.
const MAX_NESTING: usize = 8;

fn collect_crate_roots<'a>(path: &'a str, roots: &mut Vec<&'a str>, nesting: usize) {
    if nesting > MAX_NESTING {
        return;
    }
    let Some(close) = qualified_head_end(path) else {
        roots.extend(crate_root(path));
        return;
    };
    let inner = &path[1..close];
    let (self_type, trait_path) = match inner.find(" as ") {
        Some(at) => (&inner[..at], Some(&inner[at + 4..])),
        None => (inner, None),
    };
    for part in [Some(self_type), trait_path].into_iter().flatten() {
        let part = strip_type_prefixes(part);
        if part.starts_with('<') {
            collect_crate_roots(part, roots, nesting + 1);
        } else {
            roots.extend(crate_root(part));
        }
    }
}

/// `&mut dyn core::Any` names the crate `core`.
fn strip_type_prefixes(mut part: &str) -> &str {
    loop {
        let before = part.len();
        part = part.trim_start_matches(['&', '*', '(', '[', ' ']);
        for prefix in ["mut ", "const ", "dyn "] {
            if let Some(rest) = part.strip_prefix(prefix) {
                part = rest;
            }
        }
        if part.len() == before {
            return part;
        }
    }
}

/// The leading identifier when it is followed by `::`.
fn crate_root(path: &str) -> Option<&str> {
    let end = path
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(path.len());
    (end > 0 && path[end..].starts_with("::")).then(|| &path[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_hashes_and_disambiguators() {
        assert_eq!(normalise("myapp::helper::h1a2b3c4d5e6f7a8b"), "myapp::helper");
        assert_eq!(
            normalise("myapp[53849e38c06e9bc8]::parse_all::{closure#0}"),
            "myapp::parse_all::{closure}"
        );
        assert_eq!(
            normalise("myapp::parse_all::{{closure}}"),
            "myapp::parse_all::{closure}"
        );
    }

    #[test]
    fn generic_arguments_do_not_split_names() {
        assert_eq!(
            normalise("<core[c1f1]::result::Result<u32, core[c1f1]::num::ParseIntError>>::expect"),
            "core::result::Result::expect"
        );
        assert_eq!(
            normalise("core::result::Result<T,E>::expect"),
            "core::result::Result::expect"
        );
        assert_eq!(normalise("myapp::convert::<u32>"), "myapp::convert");
        assert_eq!(
            normalise("<fn() -> u32 as core::ops::function::FnOnce<()>>::call_once"),
            "<fn() -> u32 as core::ops::function::FnOnce>::call_once"
        );
    }

    #[test]
    fn runtime_frames_are_recognised() {
        for name in [
            "__rustc::rust_begin_unwind",
            "rust_begin_unwind",
            "core::panicking::panic_fmt",
            "std::sys::backtrace::__rust_begin_short_backtrace",
            "<core::fmt::rt::Argument>::fmt",
            "<&mut alloc::string::String as core::fmt::Write>::write_fmt",
            "<F as core::ops::function::FnOnce>::call_once",
            "<fn() as core::ops::function::FnOnce>::call_once",
            "main",
            "__libc_start_main_impl",
            "<unknown>",
        ] {
            assert!(is_runtime_symbol(&normalise(name)), "{name}");
        }
        for name in [
            "myapp::helper",
            "<myapp::Port as core::fmt::Display>::fmt",
            "<alloc::vec::Vec<T> as myapp::Summary>::summary",
            "<&myapp::Port as core::fmt::Debug>::fmt",
        ] {
            assert!(!is_runtime_symbol(&normalise(name)), "{name}");
        }
    }

    #[test]
    fn old_quoted_header_is_a_panic() {
        let lines = ["thread 'main' panicked at 'boom', src/main.rs:2:5"];
        let found = find_last(&lines).expect("crash");
        assert_eq!(found.crash.error_class, "panic");
        assert!(found.crash.frames.is_empty());
    }
}
