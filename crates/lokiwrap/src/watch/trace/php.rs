//! PHP uncaught exceptions and fatal errors, as the CLI prints them: logged to stderr by
//! Debian's `php-cli` (`PHP Fatal error:  Uncaught X: msg in /app/x.php:9`) or shown
//! without the `PHP ` prefix (`Fatal error: Uncaught ...`, no php.ini), then `Stack trace:`
//! and `#0 /app/x.php(4): Ledger->amount()` frames down to `#4 {main}`. Chained exceptions
//! follow as `Next Y: msg in ...` sections; the last one is the exception that ended the
//! program. Fatal errors without an exception (memory exhausted, a parse error) have no
//! frames.
//!
//! A `#N` line names the function called and the place it was called from, so a
//! function's own code is where the frame above it was called (or, for `#0`, where the
//! exception was raised). Functions running in `vendor/`, in a `.phar`, inside PHP itself
//! (`[internal function]`) or in PHPUnit are not the program's own. Namespace separators
//! become dots (`App.Storage.boot`), and closures are `{closure}` whatever the version.

use std::sync::LazyLock;

use regex::Regex;

use super::frames::{self, Frame};
use super::{Crash, Found, Runtime};

/// `PHP Fatal error:  Uncaught App\Error: message in /app/x.php:9`; the message may go on
/// over several lines.
static UNCAUGHT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:PHP )?Fatal error: +Uncaught ([A-Za-z_\\][A-Za-z0-9_\\]*)(?::|$)").expect("static regex")
});

/// `Next App\Error: message in /app/x.php:16`: the exception that wrapped the one above.
static NEXT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^Next ([A-Za-z_\\][A-Za-z0-9_\\]*)(?::|$)").expect("static regex"));

/// Fatal errors that are not exceptions: `Allowed memory size ... exhausted`, timeouts.
static FATAL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(?:PHP )?Fatal error: +.* on line \d+\s*$").expect("static regex"));

static PARSE_ERROR: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(?:PHP )?Parse error: +.* on line \d+\s*$").expect("static regex"));

/// The end of an exception's message: ` in /app/x.php:9`.
static RAISED_AT: LazyLock<Regex> = LazyLock::new(|| Regex::new(r" in (.+):(\d+)\s*$").expect("static regex"));

/// `#0 /app/x.php(4): Ledger->amount()`, `#1 [internal function]: f()`, `#2 {main}`.
static FRAME_LINE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^#\d+ (?:(.+?)(?:\((\d+)\))?: (.+)|\{main\})\s*$").expect("static regex"));

/// `{closure}`, and PHP 8.4's `{closure:/app/x.php:12}` or `{closure:Ledger::balance():4}`.
static CLOSURE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\{closure[^}]*\}").expect("static regex"));

const INTERNAL: &str = "[internal function]";

/// How far below the header `Stack trace:` may be (multi-line messages).
const MAX_MESSAGE_LINES: usize = 100;

pub(super) fn find_last(lines: &[&str]) -> Option<Found> {
    let mut last = None;
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let (class, frames, end) = if let Some(caps) = UNCAUGHT.captures(line) {
            let Some(mut section) = read_section(lines, i, caps[1].to_string()) else {
                i += 1;
                continue;
            };
            // Each `Next` section wraps the one before it; the last was thrown last.
            while let Some(next) = next_section(lines, section.end) {
                section = next;
            }
            let mut end = section.end;
            if lines
                .get(end)
                .is_some_and(|line| line.trim_start().starts_with("thrown in "))
            {
                end += 1;
            }
            (section.class, section.frames, end)
        } else if PARSE_ERROR.is_match(line) {
            ("ParseError".to_string(), Vec::new(), i + 1)
        } else if FATAL.is_match(line) {
            ("fatal error".to_string(), Vec::new(), i + 1)
        } else {
            i += 1;
            continue;
        };
        last = Some(Found {
            start: i,
            end,
            crash: Crash {
                runtime: Runtime::Php,
                error_class: class.replace('\\', ".").trim_start_matches('.').to_string(),
                frames: frames::finish(frames),
                broken_pipe: false,
            },
        });
        i = end.max(i + 1);
    }
    last
}

struct Section {
    class: String,
    /// Innermost first.
    frames: Vec<Frame>,
    /// First line after the frames.
    end: usize,
}

/// A `Next` section after a blank line, if one follows.
fn next_section(lines: &[&str], from: usize) -> Option<Section> {
    let at = (from..lines.len().min(from + 2)).find(|&at| !lines[at].trim().is_empty())?;
    let caps = NEXT.captures(lines[at])?;
    read_section(lines, at, caps[1].to_string())
}

/// Reads the message (to `Stack trace:`) and the frames of the exception whose header is
/// line `header`.
fn read_section(lines: &[&str], header: usize, class: String) -> Option<Section> {
    let limit = lines.len().min(header + 1 + MAX_MESSAGE_LINES);
    let trace = (header + 1..limit)
        .take_while(|&at| !UNCAUGHT.is_match(lines[at]))
        .find(|&at| lines[at].trim_end() == "Stack trace:")?;
    let raised_at = RAISED_AT
        .captures(lines[trace - 1])
        .map(|caps| (caps[1].to_string(), caps[2].to_string()));
    let mut calls: Vec<(Option<String>, Option<String>, String)> = Vec::new();
    let mut at = trace + 1;
    while let Some(caps) = lines.get(at).and_then(|line| FRAME_LINE.captures(line)) {
        let place = caps.get(1).map(|m| m.as_str().to_string());
        let line_no = caps.get(2).map(|m| m.as_str().to_string());
        let function = caps.get(3).map_or("{main}", |m| m.as_str());
        calls.push((place, line_no, function.to_string()));
        at += 1;
    }
    let mut frames = Vec::with_capacity(calls.len());
    for (k, (place, line_no, function)) in calls.iter().enumerate() {
        // Where this function's own code is: the call made by the frame above it.
        let runs_in = if k == 0 {
            match &raised_at {
                // Raised on the very line that called it: a function of PHP itself.
                Some((file, line)) if Some(file) == place.as_ref() && Some(line) == line_no.as_ref() => {
                    Some(INTERNAL.to_string())
                }
                Some((file, _)) => Some(file.clone()),
                None => None,
            }
        } else {
            calls[k - 1].0.clone()
        };
        let name = function_name(function);
        let own = runs_in.as_deref().is_none_or(is_own_place) && !name.starts_with("PHPUnit.");
        frames.push(Frame::new(name, own));
    }
    Some(Section { class, frames, end: at })
}

/// `App\Storage\boot(Array, 'x')` → `App.Storage.boot`: arguments never leave.
fn function_name(call: &str) -> String {
    let call = CLOSURE.replace_all(call.trim(), "{closure}");
    let name = call.split('(').next().unwrap_or_default();
    name.replace('\\', ".").trim_start_matches('.').to_string()
}

fn is_own_place(place: &str) -> bool {
    let place = place.replace('\\', "/");
    !(place == INTERNAL || place.contains("/vendor/") || place.starts_with("phar://"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_lose_arguments_namespaces_and_closure_locations() {
        assert_eq!(function_name("Ledger->amount(Array, 'secret')"), "Ledger->amount");
        assert_eq!(function_name("App\\Storage\\boot()"), "App.Storage.boot");
        assert_eq!(function_name("{closure:/srv/app/x.php:12}()"), "{closure}");
        assert_eq!(function_name("{closure:Ledger::balance():4}()"), "{closure}");
        assert_eq!(function_name("\\strlen()"), "strlen");
    }

    #[test]
    fn vendor_phar_and_internal_code_is_not_own() {
        assert!(!is_own_place("/srv/app/vendor/guzzle/src/Client.php"));
        assert!(!is_own_place("phar:///usr/local/bin/composer/src/Cli.php"));
        assert!(!is_own_place(INTERNAL));
        assert!(is_own_place("/srv/app/src/Ledger.php"));
    }

    #[test]
    fn frames_of_vendor_code_and_phpunit_are_skipped() {
        let lines = [
            "PHP Fatal error:  Uncaught RuntimeException: timeout in /srv/app/vendor/http/Client.php:80",
            "Stack trace:",
            "#0 /srv/app/src/Api.php(12): Http\\Client->send()",
            "#1 /srv/app/vendor/phpunit/phpunit/src/Framework/TestCase.php(1200): App\\Api->fetch()",
            "#2 /srv/app/vendor/phpunit/phpunit/src/Framework/TestRunner.php(40): PHPUnit\\Framework\\TestCase->runTest()",
            "#3 {main}",
            "  thrown in /srv/app/vendor/http/Client.php on line 80",
        ];
        let found = find_last(&lines).expect("crash");
        assert_eq!(found.crash.error_class, "RuntimeException");
        assert_eq!(found.crash.frames, ["App.Api->fetch"]);
        assert_eq!(found.end, lines.len());
    }
}
