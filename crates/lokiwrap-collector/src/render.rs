//! The text of crash issues, and the hidden markers that tie an issue to its subject. Every
//! value shown was scrubbed on the way in; it is shown in code spans so that nothing in it can
//! mention a person, link, or break the layout.
//!
//! A marker is the whole first line of a body the collector writes, and is read there only:
//! reported text shown below it may quote a marker, and has its name defused besides, so
//! neither a crash nor a failure can pass for another.

use std::borrow::Cow;

use std::sync::LazyLock;

use regex::Regex;

use super::store::{Subject, Tally};
use lokiwrap_report::scrub::is_invisible;
use lokiwrap_report::utc::rfc3339_utc_signed;

const FINGERPRINT: &str = "lokiwrap-fingerprint";
const CLUSTER: &str = "lokiwrap-cluster";
const PUBLIC: &str = "lokiwrap-public";

pub fn fingerprint_marker(key: &str) -> String {
    format!("<!-- {FINGERPRINT}: {key} -->")
}

pub fn cluster_marker(key: &str) -> String {
    format!("<!-- {CLUSTER}: {key} -->")
}

pub fn public_marker(key: &str) -> String {
    format!("<!-- {PUBLIC}: {key} -->")
}

/// The key of the collector's marker in an issue body, of either kind: the first line, when it
/// is exactly a marker. A crash issue written before markers moved there has its marker as its
/// last line instead; see [`legacy_crash_key`].
pub fn marker_key(body: &str) -> Option<String> {
    let first = body.lines().next()?;
    parse_marker(first, FINGERPRINT)
        .or_else(|| parse_marker(first, CLUSTER))
        .or_else(|| legacy_crash_key(body))
}

/// The key when `line` is exactly `<!-- NAME: KEY -->`, KEY being 64 lower-case hex digits.
fn parse_marker(line: &str, name: &str) -> Option<String> {
    let key = line
        .strip_prefix("<!-- ")?
        .strip_prefix(name)?
        .strip_prefix(": ")?
        .strip_suffix(" -->")?;
    let hex = key.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    (key.len() == 64 && hex).then(|| key.to_string())
}

/// The first and closing lines of a crash body as collectors wrote them before the marker moved
/// to the first line. Frozen: they describe issues already on GitHub.
const LEGACY_CRASH_OPENING: &str = "Reported by lokiwrap: the same crash, grouped by its fingerprint. Only \
                                    whitelisted, scrubbed fields are shown; see PRIVACY.md.";
const LEGACY_CRASH_CLOSING: &str =
    "The occurrence count above is updated by the collector; it does not comment per occurrence.";

/// The fingerprint of a crash issue in the old shape: that opening line, that closing line, a
/// blank line, and the marker as the last line, whose key the table's fingerprint row shows. In
/// that shape every reported value sits inside a single line of the table or the frames list,
/// so none can be a line of its own, let alone the first or the last.
fn legacy_crash_key(body: &str) -> Option<String> {
    let lines: Vec<&str> = body.lines().collect();
    let [opening, .., closing, blank, last] = lines.as_slice() else {
        return None;
    };
    let key = parse_marker(last, FINGERPRINT)?;
    let row = format!("| Fingerprint | `{key}` |");
    let shaped = *opening == LEGACY_CRASH_OPENING
        && *closing == LEGACY_CRASH_CLOSING
        && blank.is_empty()
        && lines.contains(&row.as_str());
    shaped.then_some(key)
}

/// Reported text with the markers' names defused (a non-breaking hyphen for the hyphen): it
/// reads the same, and never passes for a marker.
pub fn defuse_markers(text: &str) -> Cow<'_, str> {
    if !text.contains("lokiwrap-") {
        return Cow::Borrowed(text);
    }
    let mut defused = text.to_string();
    for name in [FINGERPRINT, CLUSTER, PUBLIC] {
        defused = defused.replace(name, &name.replace('-', "\u{2011}"));
    }
    Cow::Owned(defused)
}

/// The occurrence count an issue body shows, in either kind of body: read from its own line,
/// the first that starts with the label (reported values above it are inside other lines).
pub fn count_in_body(body: &str) -> Option<u64> {
    body.lines().find_map(|line| {
        let rest = ["| Occurrences | ", "- Occurrences: **"]
            .iter()
            .find_map(|label| line.strip_prefix(label))?;
        rest.chars()
            .take_while(char::is_ascii_digit)
            .collect::<String>()
            .parse()
            .ok()
    })
}

/// A value as inline code: backticks cannot end the span early, newlines cannot start a block,
/// a pipe cannot end a table cell (GitHub splits cells on it even inside code), zero-width or
/// bidi characters cannot disguise it, and a quoted marker stays a quote.
pub fn code(value: &str) -> String {
    let clean: String = defuse_markers(value)
        .chars()
        .filter(|&c| c.is_control() || !is_invisible(c))
        .map(|c| match c {
            '`' => '\'',
            '|' => '¦',
            c if c.is_control() => '\'',
            c => c,
        })
        .collect();
    format!("`{clean}`")
}

fn text(subject: &Subject, field: &str) -> Option<String> {
    subject.details.get(field).and_then(|v| v.as_str()).map(String::from)
}

/// The stack signature's frames, each as inline code.
fn frames(subject: &Subject) -> Vec<String> {
    subject
        .details
        .get("stack_signature")
        .and_then(|v| v.as_array())
        .map(|frames| frames.iter().filter_map(|f| f.as_str()).map(code).collect())
        .unwrap_or_default()
}

pub fn crash_title(subject: &Subject) -> String {
    let error_class = text(subject, "error_class").unwrap_or_else(|| "crash".into());
    let tool = text(subject, "tool").unwrap_or_else(|| "a tool".into());
    let short: String = subject.key.chars().take(12).collect();
    let title = format!("{error_class} in {tool} ({short})");
    // A bidi control could turn the title around (`Error\u{202e})gnp.exe(`).
    title.chars().filter(|&c| !is_invisible(c)).take(256).collect()
}

fn tallies_line(tallies: &[Tally], dimension: &str) -> String {
    let shown: Vec<String> = tallies
        .iter()
        .filter(|tally| tally.dimension == dimension)
        .take(8)
        .map(|tally| format!("{} ({})", code(&tally.value), tally.count))
        .collect();
    if shown.is_empty() {
        "unknown".into()
    } else {
        shown.join(", ")
    }
}

pub fn crash_body(subject: &Subject, tallies: &[Tally]) -> String {
    let detail = |field: &str| text(subject, field).map_or_else(|| "none".into(), |v| code(&v));
    let frames = frames(subject);
    let frames = if frames.is_empty() {
        "No frames: the tool ended without a recognised stack trace.".to_string()
    } else {
        frames
            .iter()
            .enumerate()
            .map(|(i, frame)| format!("{}. {frame}", i + 1))
            .collect::<Vec<_>>()
            .join("\n")
    };
    format!(
        "{marker}\n\n\
         Reported by lokiwrap: the same crash, grouped by its fingerprint. Only whitelisted, scrubbed fields \
         are shown; see PRIVACY.md.\n\n\
         | | |\n|---|---|\n\
         | Tool | {tool} |\n\
         | Tool versions | {tool_versions} |\n\
         | lokiwrap versions | {lokiwrap_versions} |\n\
         | OS / arch | {os_arch} |\n\
         | Error class | {error_class} |\n\
         | Runtime | {runtime} |\n\
         | Friction | {friction} |\n\
         | Signal | {signal} |\n\
         | Occurrences | {count} |\n\
         | First seen | {first} |\n\
         | Last seen | {last} |\n\
         | Fingerprint | {fingerprint} |\n\n\
         Stack signature (innermost last):\n\n{frames}\n\n\
         The occurrence count above is updated by the collector; it does not comment per occurrence.\n",
        tool = detail("tool"),
        tool_versions = tallies_line(tallies, "tool_version"),
        lokiwrap_versions = tallies_line(tallies, "lokiwrap_version"),
        os_arch = tallies_line(tallies, "os_arch"),
        error_class = detail("error_class"),
        runtime = detail("runtime"),
        friction = detail("friction_kind"),
        signal = detail("signal"),
        count = subject.count,
        first = rfc3339_utc_signed(subject.first_seen),
        last = rfc3339_utc_signed(subject.last_seen),
        fingerprint = code(&subject.key),
        marker = fingerprint_marker(&subject.key),
    )
}

/// A promoted subject's public issue: only the per-fingerprint facts, no triage internals
/// (no correlation ids, log trail, configuration, trigger or private repository). The caller
/// scrubs it once more and adds the public marker.
pub fn public_body(subject: &Subject, tallies: &[Tally]) -> String {
    let text = |field: &str| subject.details.get(field).and_then(|v| v.as_str()).map(code);
    let seen = |at: i64| rfc3339_utc_signed(at);
    let mut rows = vec![("Occurrences", subject.count.to_string())];
    match subject.kind {
        super::store::Kind::Crash => {
            rows.insert(0, ("Tool", text("tool").unwrap_or_default()));
            rows.insert(1, ("Error class", text("error_class").unwrap_or_default()));
            rows.push(("Tool versions", tallies_line(tallies, "tool_version")));
            rows.push(("OS / arch", tallies_line(tallies, "os_arch")));
        }
        _ => {
            let source = subject.details.get("source").cloned().unwrap_or_default();
            let inner = source
                .get("Plugin")
                .or_else(|| source.get("WorkflowRun"))
                .cloned()
                .unwrap_or_default();
            for (label, field) in [
                ("Plugin", "plugin_id"),
                ("Category", "category"),
                ("Repository", "repo"),
                ("Workflow", "workflow_name"),
                ("Conclusion", "conclusion"),
            ] {
                if let Some(value) = inner.get(field).and_then(|v| v.as_str()) {
                    rows.insert(rows.len() - 1, (label, code(value)));
                }
            }
            if let Some(status) = inner.get("status").and_then(|v| v.as_u64()) {
                rows.insert(rows.len() - 1, ("HTTP status", status.to_string()));
            }
        }
    }
    rows.push(("First seen", seen(subject.first_seen)));
    rows.push(("Last seen", seen(subject.last_seen)));
    let table: String = rows
        .iter()
        .map(|(label, value)| format!("| {label} | {value} |\n"))
        .collect();
    let frames = frames(subject);
    let frames = if frames.is_empty() {
        String::new()
    } else {
        format!("\nStack signature: {}\n", frames.join(" → "))
    };
    format!(
        "Reported through lokiwrap and confirmed for public tracking. Only scrubbed, whitelisted facts are \
         shown.\n\n| | |\n|---|---|\n{table}{frames}"
    )
}

/// Longest public issue title, in characters.
const PUBLIC_TITLE_CHARS: usize = 120;

/// `[label](target)` or `![label](target)`, to keep as the label alone.
static MARKDOWN_LINK: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"!?\[([^\]]*)\]\([^)]*\)").expect("static regex"));
/// What GitHub would show as a link: a URL with a scheme, or one that starts `www.`.
static URL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)\b(?:[a-z][a-z0-9+.-]*:/+|www\.)\S*").expect("static regex"));
/// Characters that break a line, or that are invisible and change how the text around them reads:
/// controls, format characters (bidirectional overrides and isolates, zero-width characters) and
/// line and paragraph separators.
static INVISIBLE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]").expect("static regex"));
static INVISIBLE_IN_BLOCK: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]&&[^\n\t]]").expect("static regex"));

/// A public issue's title from text a report carried: one line of at most 120 characters that
/// cannot mention anyone (`@` becomes the full-width `＠`, which GitHub does not read as a
/// mention), link anywhere (links keep their label, URLs are dropped) or reorder what is shown
/// around it (controls and format characters become spaces).
pub fn public_title(text: &str) -> String {
    let text = MARKDOWN_LINK.replace_all(text, "$1");
    let text = URL.replace_all(&text, "");
    let text = INVISIBLE.replace_all(&text, " ");
    let text = text.replace('@', "＠").replace("](", "] (");
    let words: Vec<&str> = text.split_whitespace().collect();
    let line = words.join(" ");
    if line.chars().count() <= PUBLIC_TITLE_CHARS {
        return line;
    }
    let cut: String = line.chars().take(PUBLIC_TITLE_CHARS - 1).collect();
    format!("{}…", cut.trim_end())
}

/// `text` as a fenced code block that no line of it can close, without the characters that
/// would change how it reads: for output and commit subjects of a fixer that acted on a report.
pub fn fenced(text: &str) -> String {
    let clean = INVISIBLE_IN_BLOCK.replace_all(text, "");
    let longest = clean.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest.max(2) + 1);
    format!("{fence}text\n{}\n{fence}", clean.trim_end_matches('\n'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Kind;
    use serde_json::json;

    fn subject() -> Subject {
        Subject {
            key: "ab".repeat(32),
            kind: Kind::Crash,
            repo: None,
            details: json!({"tool": "npm", "error_class": "TypeError`\n@team", "stack_signature": ["a", "b"]}),
            count: 3,
            sources: 1,
            first_seen: 1_795_000_000,
            last_seen: 1_795_000_600,
            issue: None,
            synced_count: 0,
            synced_at: None,
            confirmed: false,
            public_issue: None,
            quiet_return: None,
        }
    }

    #[test]
    fn the_body_carries_the_marker_and_nothing_can_escape_its_code_span() {
        let body = crash_body(&subject(), &[]);
        assert_eq!(marker_key(&body), Some("ab".repeat(32)));
        assert!(body.contains("`TypeError''@team`"), "{body}");
        assert!(body.contains("| Occurrences | 3 |"));
        assert!(crash_title(&subject()).ends_with("(abababababab)"));
    }

    #[test]
    fn invisible_characters_cannot_disguise_a_title_or_a_value() {
        let mut disguised = subject();
        disguised.details["error_class"] = json!("Error\u{202e})gnp.exe(\u{200b}");
        assert!(
            crash_title(&disguised).starts_with("Error)gnp.exe( in npm"),
            "{}",
            crash_title(&disguised)
        );
        assert_eq!(code("a\u{2066}b\u{feff}\u{ad}c"), "`abc`");
    }

    #[test]
    fn a_pipe_in_a_value_cannot_add_a_table_cell() {
        let mut piped = subject();
        piped.details["error_class"] = json!("TypeError | Occurrences | 0");
        let body = crash_body(&piped, &[]);
        let row = body.lines().find(|line| line.starts_with("| Error class |")).unwrap();
        assert_eq!(row, "| Error class | `TypeError ¦ Occurrences ¦ 0` |");
    }

    #[test]
    fn a_marker_quoted_in_a_value_is_not_the_issues_marker_and_reads_as_a_quote() {
        let mut quoting = subject();
        quoting.details["error_class"] = json!(format!("Error {}", fingerprint_marker(&"cd".repeat(32))));
        quoting.details["stack_signature"] = json!([cluster_marker(&"ef".repeat(32)), public_marker(&"01".repeat(32))]);
        quoting.details["tool"] = json!(fingerprint_marker(&"cd".repeat(32)));
        let body = crash_body(&quoting, &[]);
        assert_eq!(marker_key(&body), Some("ab".repeat(32)));
        assert!(
            body.starts_with(&format!("{}\n", fingerprint_marker(&"ab".repeat(32)))),
            "{body}"
        );
        assert_eq!(body.matches("lokiwrap-").count(), 1, "{body}");
        assert!(body.contains("`<!-- lokiwrap\u{2011}fingerprint: cdcd"), "{body}");
    }

    #[test]
    fn the_count_is_read_back_from_either_body_and_only_from_its_own_line() {
        assert_eq!(count_in_body(&crash_body(&subject(), &[])), Some(3));
        assert_eq!(count_in_body("x\n- Occurrences: **41** (first seen"), Some(41));
        assert_eq!(count_in_body("no count here"), None);
        let quoting = "The plugin `x` failed while the kernel handled `Occurrences: **999** | Occurrences | 9`.\n\
                       - Occurrences: **2** (first seen";
        assert_eq!(count_in_body(quoting), Some(2));
    }

    #[test]
    fn a_public_title_cannot_mention_link_reorder_or_run_on() {
        let title = public_title(
            "@everyone [x](https://evil.example) \u{202e}gnp.exe\u{2066} see www.evil.example/a @org/team",
        );
        assert_eq!(title, "＠everyone x gnp.exe see ＠org/team");
        assert_eq!(public_title("a\u{2028}b\u{200b}c\td"), "a b c d");
        assert_eq!(public_title("ftp://x/y (mailto:a@b)"), "(mailto:a＠b)");
        let long = public_title(&"TypeError ".repeat(30));
        assert_eq!(long.chars().count(), 120);
        assert!(long.ends_with('…'));
    }

    #[test]
    fn a_fenced_block_cannot_be_closed_from_inside() {
        let block = fenced("ok\n```\n@everyone\n````\u{202e}x\n");
        assert!(
            block.starts_with("`````text\n") && block.ends_with("\n`````"),
            "{block}"
        );
        assert!(!block.contains('\u{202e}'));
        assert_eq!(fenced("plain"), "```text\nplain\n```");
    }

    #[test]
    fn only_a_whole_marker_on_the_first_line_counts() {
        let key = "c".repeat(64);
        let cluster = cluster_marker(&key);
        assert_eq!(marker_key(&format!("{cluster}\n\nrest")), Some(key.clone()));
        assert_eq!(marker_key(&format!("{cluster}\r\nrest")), Some(key.clone()));
        assert_eq!(marker_key(&cluster), Some(key.clone()));
        for not_first in [
            format!("text\n{cluster}"),
            format!("\n{cluster}"),
            format!(" {cluster}"),
        ] {
            assert_eq!(marker_key(&not_first), None, "{not_first:?}");
        }
        for malformed in [
            "<!-- lokiwrap-fingerprint: abc -->".to_string(),
            format!("<!-- lokiwrap-fingerprint: {} -->", "C".repeat(64)),
            format!("<!-- lokiwrap-fingerprint: {key} --> and more"),
            format!("<!-- lokiwrap-fingerprint: {key}0 -->"),
            public_marker(&key),
        ] {
            assert_eq!(marker_key(&malformed), None, "{malformed:?}");
        }
    }

    /// A crash body exactly as the collector wrote it before the marker moved to the first line.
    fn legacy_body(key: &str) -> String {
        format!(
            "{LEGACY_CRASH_OPENING}\n\n| | |\n|---|---|\n| Tool | `npm` |\n| Error class | `TypeError` |\n\
             | Occurrences | 3 |\n| Fingerprint | `{key}` |\n\nStack signature (innermost last):\n\n1. `a`\n\n\
             {LEGACY_CRASH_CLOSING}\n\n{}\n",
            fingerprint_marker(key)
        )
    }

    #[test]
    fn a_crash_issue_of_the_previous_shape_is_still_read() {
        let key = "ab".repeat(32);
        assert_eq!(marker_key(&legacy_body(&key)), Some(key.clone()));
        assert_eq!(count_in_body(&legacy_body(&key)), Some(3));
        let other = "cd".repeat(32);
        for changed in [
            // Its fingerprint row shows another key.
            legacy_body(&key).replace(
                &format!("| Fingerprint | `{key}` |"),
                &format!("| Fingerprint | `{other}` |"),
            ),
            // Anything after the marker.
            format!("{}more\n", legacy_body(&key)),
            // Another opening, or none.
            legacy_body(&key).replacen("Reported by", "Seen by", 1),
            format!("x\n{}", legacy_body(&key)),
            // The closing line is not right above it.
            legacy_body(&key).replace(&format!("{LEGACY_CRASH_CLOSING}\n\n"), ""),
            // A cluster marker at the end.
            legacy_body(&key).replace(&fingerprint_marker(&key), &cluster_marker(&key)),
        ] {
            assert_eq!(marker_key(&changed), None, "{changed}");
        }
    }

    #[test]
    fn every_marker_name_is_defused_in_reported_text() {
        let quoted = format!(
            "{} {} {}",
            fingerprint_marker("a"),
            cluster_marker("b"),
            public_marker("c")
        );
        let defused = defuse_markers(&quoted);
        assert!(!defused.contains("lokiwrap-"), "{defused}");
        assert_eq!(defused.replace('\u{2011}', "-"), quoted);
        assert!(matches!(defuse_markers("lokiwrap ok"), Cow::Borrowed(_)));
    }
}
