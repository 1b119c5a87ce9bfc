//! Stack-trace recognisers: find the last crash in the tail of a tool's stderr and
//! reduce it to the runtime, the error class and a few normalised function names.
//! Messages, paths and line numbers never leave this module.

mod frames;
mod go;
mod jvm;
mod node;
mod php;
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
    Php,
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
            Runtime::Php => "php",
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

const RECOGNISERS: [Recogniser; 7] = [
    python::find_last,
    node::find_last,
    rust::find_last,
    go::find_last,
    jvm::find_last,
    ruby::find_last,
    php::find_last,
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
    b"Node.js v",
    b"Fatal error: ",
    b"Parse error: ",
    b"--trace-uncaught",
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
            Runtime::Php,
        ]
        .map(Runtime::name);
        assert_eq!(names, ["python", "node", "rust", "go", "jvm", "ruby", "php"]);
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

    /// Lines every recogniser reacts to, its own runtime's and the others', for building
    /// inputs that make a careless recogniser rescan what it has read.
    const VOCABULARY: &[&str] = &[
        "Traceback (most recent call last):",
        "  File \"/app/a.py\", line 3, in load",
        "    load()",
        "ValueError: bad",
        "  + Exception Group Traceback (most recent call last):",
        "  | ExceptionGroup: x (1 sub-exception)",
        "  +-+---------------- 1 ----------------",
        "    | Traceback (most recent call last):",
        "    | Exception Group Traceback (most recent call last):",
        "    +------------------------------------",
        "Error: boom",
        "    at main (/app/x.js:1:1)",
        "/app/x.js:3",
        "  throw x;",
        "  ^",
        "{ name: 'E' }",
        "(Use `node --trace-uncaught ...` to show where the exception was thrown)",
        "Node.js v20.0.0",
        "thread 'main' panicked at src/main.rs:1:1:",
        "stack backtrace:",
        "   0: myapp::main",
        "      [... omitted 2 frames ...]",
        "panic: boom",
        "goroutine 1 [running]:",
        "main.main()",
        "\t/app/main.go:9 +0x45",
        "Exception in thread \"main\" java.lang.IllegalStateException: x",
        "com.acme.Error: x",
        "\tat com.acme.Main.main(Main.java:3)",
        "        at org.junit.Assert.fail(Assert.java:89)",
        "Caused by: java.io.IOException: y",
        "\tSuppressed: java.io.IOException: z",
        "\t... 3 more",
        "a.rb:1:in `f': x (RuntimeError)",
        "-:in `each': x (KeyError)",
        "\tfrom -:in `each'",
        "PHP Fatal error:  Uncaught Exception: x in /app/a.php:3",
        "Fatal error: Uncaught Exception: x",
        "Stack trace:",
        "#0 /app/a.php(4): f()",
        "#1 {main}",
        "Next LogicException: y in /app/a.php:9",
        "  thrown in /app/a.php on line 3",
        "PHP Fatal error:  Allowed memory size exhausted in /app/a.php on line 5",
        "",
        "plain output",
    ];

    /// The fastest of three runs of one recogniser over `input`.
    fn fastest(recognise: Recogniser, input: &str) -> std::time::Duration {
        let lines: Vec<&str> = input.split('\n').collect();
        (0..3)
            .map(|_| {
                let started = std::time::Instant::now();
                let _ = recognise(&lines);
                started.elapsed()
            })
            .min()
            .unwrap_or_default()
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(6))]

        /// Any mixture of trace lines, repeated up to 1 MiB, is read by every recogniser in
        /// time proportional to its length: eight times the input costs about eight times
        /// the time, far from the 64 times of a scan that rereads what it has read.
        #[test]
        fn every_recogniser_reads_a_mebibyte_in_linear_time(
            picks in proptest::collection::vec(0..VOCABULARY.len(), 1..48),
        ) {
            let unit: String = picks.iter().map(|&pick| format!("{}\n", VOCABULARY[pick])).collect();
            let small = unit.repeat((128 * 1024 / unit.len()).max(1));
            let large = small.repeat(8);
            proptest::prop_assert!(large.len() <= 1024 * 1024 + 8 * unit.len());
            for (at, recognise) in RECOGNISERS.iter().enumerate() {
                let small_time = fastest(*recognise, &small).max(std::time::Duration::from_millis(1));
                let large_time = fastest(*recognise, &large);
                proptest::prop_assert!(
                    large_time < small_time * 32,
                    "recogniser {at}: {small_time:?} for 128 KiB but {large_time:?} for 1 MiB of {unit:?}"
                );
            }
        }
    }
}
