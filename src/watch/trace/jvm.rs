//! JVM exceptions: `Exception in thread "main" java.lang.X: msg` (or a bare
//! `com.acme.X: msg` printed by `printStackTrace`) followed by tab-indented `at` frames.
//! `Caused by:` and `Suppressed:` sections belong to it; the top-level exception counts.

use std::sync::LazyLock;

use regex::Regex;

use super::frames::{self, Frame};
use super::{Crash, Found, Runtime};

/// The thread name is matched lazily so a quote in the message cannot move the class.
static THREAD_HEADER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"^Exception in thread ".*?" ([A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*)(?::.*)?$"#)
        .expect("static regex")
});

/// A qualified class name alone on a line, as `printStackTrace` writes it.
static BARE_HEADER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^([A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)+)(?::.*)?$").expect("static regex"));

/// `\tat [loader/][module[@version]/]pkg.Class.method(File.java:12)`. Module and loader
/// names never contain `$`, so a lambda class (`X$$Lambda$14/0x...`) is not a prefix.
static AT_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\tat (?:(?:[\w.-]+/)?(?:[\w.-]+(?:@[\w.+-]+)?)?/)?(.+?)\(.*\)\s*$").expect("static regex")
});

/// Hidden lambda classes: `$$Lambda$14/0x0000000800c03000`, `$$Lambda/0x...`, Java 8's
/// `$$Lambda$1/764977973`.
static LAMBDA_CLASS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\$\$Lambda(?:\$\d+)?(?:/(?:0x)?[0-9a-fA-F]+)?").expect("static regex"));

/// Synthetic lambda bodies: `lambda$main$0`.
static LAMBDA_METHOD: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(lambda\$[\w$]*?)\$\d+\b").expect("static regex"));

const RUNTIME_PACKAGES: [&str; 5] = ["java.", "javax.", "jdk.", "sun.", "com.sun."];

/// How far below the header the first frame may be (multi-line messages).
const MAX_MESSAGE_LINES: usize = 100;

pub(super) fn find_last(lines: &[&str]) -> Option<Found> {
    let mut last = None;
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let first_frame = if let Some(caps) = THREAD_HEADER.captures(line) {
            Some((caps[1].to_string(), first_frame_line(lines, i + 1)))
        } else if let Some(caps) = BARE_HEADER.captures(line) {
            let next_is_frame = lines.get(i + 1).is_some_and(|next| AT_LINE.is_match(next));
            next_is_frame.then(|| (caps[1].to_string(), i + 1))
        } else {
            None
        };
        let Some((class, mut at)) = first_frame else {
            i += 1;
            continue;
        };
        let mut raw = Vec::new();
        while let Some(caps) = lines.get(at).and_then(|line| AT_LINE.captures(line)) {
            raw.push(frame(&caps[1]));
            at += 1;
        }
        let end = skip_nested_sections(lines, at.max(i + 1));
        last = Some(Found {
            start: i,
            end,
            crash: Crash {
                runtime: Runtime::Jvm,
                error_class: class,
                frames: frames::finish(raw),
                broken_pipe: false,
            },
        });
        i = end;
    }
    last
}

/// Where the top-level frames start: the first `at` line below the header, or just
/// below the header when the exception carries no stack trace.
fn first_frame_line(lines: &[&str], from: usize) -> usize {
    let limit = lines.len().min(from + MAX_MESSAGE_LINES);
    (from..limit)
        .take_while(|&at| !is_section_start(lines[at]) && !THREAD_HEADER.is_match(lines[at]))
        .find(|&at| AT_LINE.is_match(lines[at]))
        .unwrap_or(from)
}

/// `Caused by:` sections, tab-indented `Suppressed:` sections, nested frames and
/// `... N more` lines continue the same exception.
fn skip_nested_sections(lines: &[&str], mut at: usize) -> usize {
    while at < lines.len() && (is_section_start(lines[at]) || lines[at].starts_with('\t')) {
        at += 1;
    }
    at
}

fn is_section_start(line: &str) -> bool {
    line.starts_with("Caused by: ")
}

fn frame(method: &str) -> Frame {
    let name = LAMBDA_CLASS.replace_all(method.trim(), "$$$$Lambda");
    let name = LAMBDA_METHOD.replace_all(&name, "$1");
    let own = !RUNTIME_PACKAGES.iter().any(|package| name.starts_with(package));
    Frame::new(name, own)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(line: &str) -> Frame {
        let caps = AT_LINE.captures(line).expect("frame line");
        frame(&caps[1])
    }

    #[test]
    fn module_prefixes_and_lambdas_are_normalised() {
        assert_eq!(
            at("\tat java.base/java.lang.Integer.parseInt(Integer.java:668)"),
            Frame::new("java.lang.Integer.parseInt", false)
        );
        assert_eq!(at("\tat app//Demo.main(Demo.java:3)"), Frame::new("Demo.main", true));
        assert_eq!(
            at("\tat Lambda$$Lambda$14/0x0000000800c03000.accept(Unknown Source)"),
            Frame::new("Lambda$$Lambda.accept", true)
        );
        assert_eq!(
            at("\tat Lambda$$Lambda/0x000001f0a1003a00.run(Unknown Source)"),
            Frame::new("Lambda$$Lambda.run", true)
        );
        assert_eq!(
            at("\tat com.acme.Main.lambda$port$0(Main.java:10)"),
            Frame::new("com.acme.Main.lambda$port", true)
        );
        assert_eq!(
            at("\tat java.base@17.0.2/java.util.Objects.requireNonNull(Objects.java:233)"),
            Frame::new("java.util.Objects.requireNonNull", false)
        );
    }

    #[test]
    fn top_level_exception_wins_over_its_cause() {
        let lines = [
            "Exception in thread \"main\" java.lang.IllegalStateException: outer \"x\" y",
            "\tat Demo.load(Demo.java:10)",
            "Caused by: java.io.IOException: inner",
            "\tat Demo.read(Demo.java:5)",
            "\t... 1 more",
        ];
        let found = find_last(&lines).expect("crash");
        assert_eq!(found.crash.error_class, "java.lang.IllegalStateException");
        assert_eq!(found.crash.frames, ["Demo.load"]);
    }

    #[test]
    fn bare_header_needs_a_frame_below() {
        assert!(find_last(&["com.acme.Config: loaded", "done"]).is_none());
    }
}
