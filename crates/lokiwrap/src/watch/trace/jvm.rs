//! JVM exceptions: `Exception in thread "main" java.lang.X: msg` (or a bare
//! `com.acme.X: msg` printed by `printStackTrace`, indented by build tools such as Gradle)
//! followed by `at` frames, indented with a tab or with spaces. `Caused by:` and
//! `Suppressed:` sections belong to it; the top-level exception gives the class.
//!
//! Frames of the JDK (reflection included) and of test and web frameworks (JUnit, TestNG,
//! Spring, servlet containers, Kotlin and Scala runtimes) are not the program's own, so a
//! failed assertion is named after the test, not `org.junit.Assert.fail`. When a framework
//! wraps the program's exception (the top-level exception was thrown by framework code), the
//! frames come from the first cause the program's own code threw, its `... N more` frames
//! filled in from the exception that encloses it.

use std::sync::LazyLock;

use regex::Regex;

use super::frames::{self, Frame};
use super::{Crash, Found, Runtime};

/// The thread name is matched lazily so a quote in the message cannot move the class.
static THREAD_HEADER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"^Exception in thread ".*?" ([A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*)(?::.*)?$"#)
        .expect("static regex")
});

/// A qualified class name starting a line, as `printStackTrace` writes it; build tools
/// indent it.
static BARE_HEADER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^([ \t]*)([A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)+)(?::.*)?$").expect("static regex"));

/// `\tat [loader/][module[@version]/]pkg.Class.method(File.java:12)`, or the same indented
/// with spaces. Module and loader names never contain `$`, so a lambda class
/// (`X$$Lambda$14/0x...`) is not a prefix; a method name never contains a space, so a
/// Node frame (`at f (file.js:1:2)`) is not a JVM frame.
static AT_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[ \t]+at (?:(?:[\w.-]+/)?(?:[\w.-]+(?:@[\w.+-]+)?)?/)?([^\s(]+)\(.*\)\s*$").expect("static regex")
});

/// `\t... 3 more`: the rest of a cause's frames are the enclosing exception's last three.
static MORE_LINE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[ \t]+\.\.\. (\d+) (?:more|common frames omitted)\s*$").expect("static regex"));

/// Hidden lambda classes: `$$Lambda$14/0x0000000800c03000`, `$$Lambda/0x...`, Java 8's
/// `$$Lambda$1/764977973`.
static LAMBDA_CLASS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\$\$Lambda(?:\$\d+)?(?:/(?:0x)?[0-9a-fA-F]+)?").expect("static regex"));

/// Synthetic lambda bodies: `lambda$main$0`.
static LAMBDA_METHOD: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(lambda\$[\w$]*?)\$\d+\b").expect("static regex"));

/// The JDK, its reflection and generated accessors included.
const RUNTIME_PACKAGES: [&str; 5] = ["java.", "javax.", "jdk.", "sun.", "com.sun."];

/// Test runners, web frameworks, servlet containers and language runtimes that call the
/// program's code: never the place a crash is named after.
const FRAMEWORK_PACKAGES: [&str; 24] = [
    "org.junit.",
    "junit.",
    "org.opentest4j.",
    "org.testng.",
    "org.springframework.",
    "jakarta.",
    "org.apache.catalina.",
    "org.apache.tomcat.",
    "org.apache.coyote.",
    "org.eclipse.jetty.",
    "io.undertow.",
    "io.micronaut.",
    "io.quarkus.",
    "io.netty.",
    "org.gradle.",
    "org.apache.maven.",
    "org.mockito.",
    "net.bytebuddy.",
    "com.intellij.rt.",
    "kotlin.",
    "kotlinx.",
    "scala.",
    "groovy.",
    "org.codehaus.groovy.",
];

/// How far below a header the first frame may be (multi-line messages).
const MAX_MESSAGE_LINES: usize = 100;

pub(super) fn find_last(lines: &[&str]) -> Option<Found> {
    let mut last = None;
    let mut i = 0;
    while i < lines.len() {
        let Some((class, indent, first_frame)) = header(lines, i) else {
            i += 1;
            continue;
        };
        let (top, mut at) = read_frames(lines, first_frame);
        let mut chain = vec![top];
        // Causes at the header's own indentation continue the chain; anything indented
        // deeper (suppressed exceptions and their causes) belongs to the same crash.
        while at < lines.len() {
            let line = lines[at];
            let trimmed = line.trim_start();
            if trimmed.starts_with("Caused by: ") && line.len() - trimmed.len() == indent {
                let (mut stack, next) = read_frames(lines, first_frame_line(lines, at + 1));
                if let (Some(enclosing), Some(more)) = (chain.last(), stack.more) {
                    stack
                        .frames
                        .extend_from_slice(&enclosing.frames[enclosing.frames.len().saturating_sub(more)..]);
                }
                chain.push(stack);
                at = next.max(at + 1);
            } else if is_nested_line(line) {
                at += 1;
            } else {
                break;
            }
        }
        let end = at.max(i + 1);
        let thrown_by_program = chain.iter().position(|stack| first_non_runtime_is_own(&stack.frames));
        let stack = chain.swap_remove(thrown_by_program.unwrap_or(0));
        last = Some(Found {
            start: i,
            end,
            crash: Crash {
                runtime: Runtime::Jvm,
                error_class: class,
                frames: frames::finish(stack.frames),
                broken_pipe: false,
            },
        });
        i = end;
    }
    last
}

/// The class, the header's indentation and the line of its first frame, when line `at`
/// starts an exception.
fn header(lines: &[&str], at: usize) -> Option<(String, usize, usize)> {
    let line = lines[at];
    if let Some(caps) = THREAD_HEADER.captures(line) {
        return Some((caps[1].to_string(), 0, first_frame_line(lines, at + 1)));
    }
    let caps = BARE_HEADER.captures(line)?;
    let next_is_frame = lines.get(at + 1).is_some_and(|next| AT_LINE.is_match(next));
    next_is_frame.then(|| (caps[2].to_string(), caps[1].len(), at + 1))
}

/// One exception's frames, innermost first, and how many more it shares with the
/// exception enclosing it.
struct Stack {
    frames: Vec<Frame>,
    more: Option<usize>,
}

/// Reads `at` lines from `from`, and a `... N more` line after them. Returns the stack
/// and the first line after it.
fn read_frames(lines: &[&str], from: usize) -> (Stack, usize) {
    let mut at = from;
    let mut frames = Vec::new();
    while let Some(caps) = lines.get(at).and_then(|line| AT_LINE.captures(line)) {
        frames.push(frame(&caps[1]));
        at += 1;
    }
    let more = lines
        .get(at)
        .and_then(|line| MORE_LINE.captures(line))
        .and_then(|caps| caps[1].parse().ok());
    if more.is_some() {
        at += 1;
    }
    (Stack { frames, more }, at)
}

/// Where an exception's frames start: the first `at` or `... N more` line below its
/// header, past a multi-line message and the blank line that may end it, or just below
/// the header when the exception carries no stack trace.
fn first_frame_line(lines: &[&str], from: usize) -> usize {
    let limit = lines.len().min(from + MAX_MESSAGE_LINES);
    (from..limit)
        .take_while(|&at| !is_section_start(lines[at]) && !THREAD_HEADER.is_match(lines[at]))
        .find(|&at| AT_LINE.is_match(lines[at]) || MORE_LINE.is_match(lines[at]))
        .unwrap_or(from)
}

/// Lines that continue an exception after its frames: causes, suppressed exceptions, and
/// their frames.
fn is_nested_line(line: &str) -> bool {
    is_section_start(line) || AT_LINE.is_match(line) || MORE_LINE.is_match(line)
}

fn is_section_start(line: &str) -> bool {
    let trimmed = line.trim_start();
    trimmed.starts_with("Caused by: ") || trimmed.starts_with("Suppressed: ")
}

/// Whether the innermost frame that is not the JDK's is the program's own: false when a
/// framework threw (or wrapped) the exception.
fn first_non_runtime_is_own(frames: &[Frame]) -> bool {
    frames
        .iter()
        .find(|frame| !is_runtime(&frame.name))
        .is_some_and(|frame| frame.own)
}

fn is_runtime(name: &str) -> bool {
    RUNTIME_PACKAGES.iter().any(|package| name.starts_with(package))
}

fn frame(method: &str) -> Frame {
    let name = LAMBDA_CLASS.replace_all(method.trim(), "$$$$Lambda");
    let name = LAMBDA_METHOD.replace_all(&name, "$1");
    let own = !is_runtime(&name) && !FRAMEWORK_PACKAGES.iter().any(|package| name.starts_with(package));
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
