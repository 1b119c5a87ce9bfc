//! Go panics and fatal errors: `panic: ...` (possibly `[recovered]` with nested
//! panics) or `fatal error: ...`, then `goroutine N [running]:` and pairs of lines
//! naming a function and its file. Only the first goroutine, the failing one, counts.

use std::sync::LazyLock;

use regex::Regex;

use super::frames::{self, Frame};
use super::{Crash, Found, Runtime};

static HEADER: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^(panic|fatal error): ").expect("static regex"));

/// `goroutine 1 [running]:`; with GOTRACEBACK=system Go adds `gp=... m=...` fields.
static GOROUTINE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^goroutine \d+ (?:.* )?\[[^\]]*\]:\s*$").expect("static regex"));

/// `\t/path/to/file.go:12 +0x1d`
static FILE_LINE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^\t(.+):\d+(?: .*)?$").expect("static regex"));

/// Closure suffixes differ between compilers and edits: `.func1`, `.func1.2`,
/// `.func1.func2`, and `glob..func1` for package-level closures. All become `.func`:
/// `main.main.func1.2` is `main.main.func`, `main.glob..func3` is `main.glob.func`.
static CLOSURE_SUFFIX: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?:\.+func\d+(?:\.\d+)*)+").expect("static regex"));

/// How far below the header the goroutine line may be (multi-line panic values).
const MAX_MESSAGE_LINES: usize = 200;

/// First elements of standard-library import paths.
const STDLIB_ROOTS: [&str; 51] = [
    "archive",
    "bufio",
    "builtin",
    "bytes",
    "cmp",
    "compress",
    "container",
    "context",
    "crypto",
    "database",
    "debug",
    "embed",
    "encoding",
    "errors",
    "expvar",
    "flag",
    "fmt",
    "go",
    "hash",
    "html",
    "image",
    "index",
    "internal",
    "io",
    "iter",
    "log",
    "maps",
    "math",
    "mime",
    "net",
    "os",
    "path",
    "plugin",
    "reflect",
    "regexp",
    "runtime",
    "slices",
    "sort",
    "strconv",
    "strings",
    "structs",
    "sync",
    "syscall",
    "testing",
    "text",
    "time",
    "unicode",
    "unique",
    "unsafe",
    "vendor",
    "weak",
];

pub(super) fn find_last(lines: &[&str]) -> Option<Found> {
    let mut last = None;
    let mut i = 0;
    while i < lines.len() {
        let Some(caps) = HEADER.captures(lines[i]) else {
            i += 1;
            continue;
        };
        let start = i;
        let class = caps[1].to_string();
        let Some(goroutine) = find_goroutine(lines, start + 1) else {
            i += 1;
            continue;
        };
        let (raw, end) = read_frames(lines, goroutine + 1);
        last = Some(Found {
            start,
            end,
            crash: Crash {
                runtime: Runtime::Go,
                error_class: class,
                frames: frames::finish(raw),
                broken_pipe: false,
            },
        });
        i = end;
    }
    last
}

/// The goroutine line after a header, unless another header comes first.
fn find_goroutine(lines: &[&str], from: usize) -> Option<usize> {
    let limit = lines.len().min(from + MAX_MESSAGE_LINES);
    (from..limit)
        .take_while(|&at| !HEADER.is_match(lines[at]))
        .find(|&at| GOROUTINE.is_match(lines[at]))
}

/// Function/file line pairs until the goroutine's stack ends (`created by`, blank line).
fn read_frames(lines: &[&str], from: usize) -> (Vec<Frame>, usize) {
    let mut raw = Vec::new();
    let mut i = from;
    while i < lines.len() {
        let line = lines[i];
        if line.starts_with("...") {
            i += 1;
            continue;
        }
        let file = lines.get(i + 1).and_then(|next| FILE_LINE.captures(next));
        match (function_name(line), file) {
            (Some(function), Some(file)) => {
                raw.push(frame(function, &file[1]));
                i += 2;
            }
            _ => break,
        }
    }
    (raw, i)
}

/// `main.(*Cache).Put(0x0?, {...})` without its argument list; `None` for other lines.
fn function_name(line: &str) -> Option<&str> {
    if line.is_empty()
        || line.starts_with(char::is_whitespace)
        || line.starts_with("created by ")
        || !line.ends_with(')')
    {
        return None;
    }
    let open = line.rfind('(')?;
    let name = &line[..open];
    (!name.is_empty()).then_some(name)
}

fn frame(function: &str, file: &str) -> Frame {
    let last_slash = function.rfind('/').map_or(0, |at| at + 1);
    let package_end = function[last_slash..]
        .find('.')
        .map_or(function.len(), |at| last_slash + at);
    let package = &function[..package_end];
    let root = package.split('/').next().unwrap_or(package);
    let is_stdlib = STDLIB_ROOTS.contains(&root);
    let file = file.replace('\\', "/");
    let is_installed = file.contains("/pkg/mod/") || file.contains("/vendor/");
    // Runtime entry points print without a package (`panic(...)`, `goexit`).
    let has_package = package_end < function.len();
    let own = has_package && !is_stdlib && !is_installed;
    let short = CLOSURE_SUFFIX.replace_all(&function[last_slash..], ".func");
    Frame::new(short, own)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(function_line: &str) -> String {
        frame(function_name(function_line).expect("function line"), "/src/x.go").name
    }

    #[test]
    fn names_are_cut_and_normalised() {
        assert_eq!(name("main.(*Cache).Put(0x0?, {0x465a3a?, 0x0?})"), "main.(*Cache).Put");
        assert_eq!(name("github.com/acme/app/store.Open(...)"), "store.Open");
        assert_eq!(name("main.main.func1()"), "main.main.func");
        assert_eq!(name("main.main.func1.2()"), "main.main.func");
        assert_eq!(name("main.main.func1.func2()"), "main.main.func");
        assert_eq!(name("main.glob..func3({0x1, 0x2})"), "main.glob.func");
        assert_eq!(name("main.myfunc1()"), "main.myfunc1");
    }

    #[test]
    fn runtime_and_stdlib_are_not_own() {
        assert!(!frame("runtime.gopanic", "/usr/lib/go/src/runtime/panic.go").own);
        assert!(!frame("panic", "/usr/lib/go/src/runtime/panic.go").own);
        assert!(!frame("encoding/json.(*decodeState).object", "/go/src/x.go").own);
        assert!(
            !frame(
                "golang.org/x/sync/errgroup.(*Group).Go.func1",
                "/root/go/pkg/mod/golang.org/x/sync@v0.1.0/errgroup/errgroup.go"
            )
            .own
        );
        assert!(frame("main.main", "/home/u/app/main.go").own);
        assert!(frame("github.com/acme/app/store.Open", "/home/u/app/store/store.go").own);
    }

    #[test]
    fn header_without_goroutine_is_not_a_crash() {
        let lines = ["panic: this is only a log line", "", "done"];
        assert!(find_last(&lines).is_none());
    }
}
