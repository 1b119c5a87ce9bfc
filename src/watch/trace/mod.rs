//! Stack-trace recognisers: find the last crash in the tail of a tool's stderr and
//! reduce it to the runtime, the error class and a few normalised function names.
//! Messages, paths and line numbers never leave this module.

mod frames;
mod go;
mod jvm;
mod node;
mod python;
mod ruby;
mod rust;

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::Regex;

/// The runtime whose crash format was recognised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runtime {
    Python,
    Node,
    Rust,
    Go,
    Jvm,
    Ruby,
}

impl Runtime {
    /// Stable lowercase name, as used in reports.
    pub fn name(self) -> &'static str {
        match self {
            Runtime::Python => "python",
            Runtime::Node => "node",
            Runtime::Rust => "rust",
            Runtime::Go => "go",
            Runtime::Jvm => "jvm",
            Runtime::Ruby => "ruby",
        }
    }
}

/// A recognised crash, stripped of everything but names.
#[derive(Debug, Clone, PartialEq)]
pub struct Crash {
    pub runtime: Runtime,
    /// The exception or type name as printed (`ValueError`, `java.lang.IllegalStateException`),
    /// `panic` for Rust and Go panics, `fatal error` for Go runtime fatal errors.
    pub error_class: String,
    /// At most five function names, innermost (crash site) first: the program's own
    /// frames when it has any, consecutive repeats collapsed, and names normalised so
    /// the same code gives the same name on every machine and build (see each runtime).
    pub frames: Vec<String>,
    /// Whether the crash's own lines say that a write found no reader (`Broken pipe`,
    /// `EPIPE`), as when the tool's output goes to `head -1`. Set by `parse_last_crash`; only
    /// this fact leaves the module, never the message that told it.
    pub broken_pipe: bool,
}

/// A crash and the lines its output spans, so recognisers can be compared.
struct Found {
    start: usize,
    /// First line after the crash's output.
    end: usize,
    crash: Crash,
}

/// Each recogniser scans every line on its own and reports the last crash it saw.
type Recogniser = fn(&[&str]) -> Option<Found>;

const RECOGNISERS: [Recogniser; 6] = [
    python::find_last,
    node::find_last,
    rust::find_last,
    go::find_last,
    jvm::find_last,
    ruby::find_last,
];

/// Colour and style escapes (Ruby highlights its error line on a terminal).
static ANSI_ESCAPE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\x1b\[[0-9;?]*[ -/]*[@-~]").expect("static regex"));

/// Recognise the LAST crash in a bounded tail of stderr (up to 64 KiB; may start
/// mid-line or mid-UTF-8 char).
///
/// When several traces are present the one that starts last wins, so ordinary output
/// around a trace and earlier logged traces do not matter. A trace printed inside
/// another crash's message (a child's traceback in a Node `Command failed` error) is
/// part of that crash. Returns `None` when no complete crash header is visible.
pub fn parse_last_crash(tail: &[u8]) -> Option<Crash> {
    if !has_trace_marker(tail) {
        return None;
    }
    let text = String::from_utf8_lossy(tail);
    let lines: Vec<Cow<'_, str>> = text.split('\n').map(clean_line).collect();
    let lines: Vec<&str> = lines.iter().map(|line| line.as_ref()).collect();
    let mut candidates: Vec<Found> = RECOGNISERS.iter().filter_map(|recognise| recognise(&lines)).collect();
    let is_enclosed = |inner: &Found| {
        candidates
            .iter()
            .any(|outer| outer.start < inner.start && inner.start < outer.end)
    };
    let last = (0..candidates.len())
        .filter(|&at| !is_enclosed(&candidates[at]))
        .max_by_key(|&at| candidates[at].start)?;
    let found = candidates.swap_remove(last);
    let mut crash = found.crash;
    crash.broken_pipe = lines[found.start..found.end.min(lines.len())]
        .iter()
        .any(|line| BROKEN_PIPE.is_match(line));
    Some(crash)
}

/// How each runtime words a write to a pipe whose reader has gone: Python's `BrokenPipeError:
/// [Errno 32] Broken pipe`, Rust's `failed printing to stdout: Broken pipe (os error 32)`,
/// Node's `Error: write EPIPE`, Ruby's `(Errno::EPIPE)`, Go's `write |1: broken pipe`, the
/// JVM's `java.io.IOException: Broken pipe`.
static BROKEN_PIPE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i:\bbroken pipe\b)|\bEPIPE\b").expect("static regex"));

/// What a terminal would show for one line: the text after the last carriage return
/// (progress bars redraw with `\r`, Windows ends lines with `\r\n`), without escapes.
fn clean_line(raw: &str) -> Cow<'_, str> {
    let raw = raw.strip_suffix('\r').unwrap_or(raw);
    let shown = match raw.rfind('\r') {
        Some(at) => &raw[at + 1..],
        None => raw,
    };
    if shown.contains('\x1b') {
        ANSI_ESCAPE.replace_all(shown, "")
    } else {
        Cow::Borrowed(shown)
    }
}

/// Text that every supported runtime prints in a crash: a tail without any of it holds no
/// trace, and is dismissed before a single regex is compiled (most failing runs of most tools).
const TRACE_MARKERS: &[&[u8]] = &[
    b"Traceback (most recent call last)",
    b"  File \"",
    b"    at ",
    b"panicked at",
    b"panic: ",
    b"goroutine ",
    b"fatal error:",
    b"\tat ",
    b"Exception in thread",
    b":in `",
    b":in '",
    b"Error",
    b"Exception",
];

fn has_trace_marker(tail: &[u8]) -> bool {
    TRACE_MARKERS
        .iter()
        .any(|marker| memchr::memmem::find(tail, marker).is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtime_names_are_stable() {
        let names = [
            Runtime::Python,
            Runtime::Node,
            Runtime::Rust,
            Runtime::Go,
            Runtime::Jvm,
            Runtime::Ruby,
        ]
        .map(Runtime::name);
        assert_eq!(names, ["python", "node", "rust", "go", "jvm", "ruby"]);
    }

    #[test]
    fn clean_line_keeps_what_a_terminal_shows() {
        assert_eq!(clean_line("50%\r100%\r"), "100%");
        assert_eq!(clean_line("\x1b[1mbold\x1b[m text"), "bold text");
        assert_eq!(clean_line("plain"), "plain");
    }

    #[test]
    fn a_crash_that_says_its_reader_went_away_is_marked_as_a_broken_pipe() {
        let cases: [&[u8]; 4] = [
            b"Traceback (most recent call last):\n  File \"<string>\", line 1, in <module>\n\
              BrokenPipeError: [Errno 32] Broken pipe\n",
            b"thread 'main' (15565) panicked at /rustc/5980/library/std/src/io/stdio.rs:1165:9:\n\
              failed printing to stdout: Broken pipe (os error 32)\n\
              note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\n",
            b"node:events:502\n      throw er; // Unhandled 'error' event\n      ^\n\n\
              Error: write EPIPE\n    at WriteWrap.onWriteComplete [as oncomplete] \
              (node:internal/stream_base_commons:95:16)\n",
            b"panic: write /dev/stdout: broken pipe\n\ngoroutine 1 [running]:\nmain.main()\n\
              \t/src/app/main.go:9 +0x45\nexit status 2\n",
        ];
        for stderr in cases {
            let crash = parse_last_crash(stderr).expect("a crash");
            assert!(crash.broken_pipe, "{}", String::from_utf8_lossy(stderr));
        }
    }

    #[test]
    fn only_the_crash_that_ended_the_run_counts_for_a_broken_pipe() {
        // An earlier logged broken pipe, and names that merely contain the letters, do not.
        let stderr = b"BrokenPipeError: [Errno 32] Broken pipe (retrying)\n\
            Traceback (most recent call last):\n  File \"/app/epipe.py\", line 3, in handle_EPIPE\n\
            ValueError: bad value\n";
        let crash = parse_last_crash(stderr).expect("a crash");
        assert_eq!(crash.error_class, "ValueError");
        assert!(!crash.broken_pipe);
    }

    #[test]
    fn nothing_recognisable_gives_none() {
        assert_eq!(parse_last_crash(b""), None);
        assert_eq!(parse_last_crash(b"all good\nbye\n"), None);
    }
}
