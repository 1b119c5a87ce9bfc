//! The text of crash issues, and the hidden marker that ties an issue to its fingerprint. Every
//! value shown was scrubbed on the way in; it is shown in code spans so that nothing in it can
//! mention a person, link, or break the layout.

use super::store::{Subject, Tally};
use lokiwrap_report::scrub::is_invisible;
use lokiwrap_report::utc::rfc3339_utc_signed;

const FINGERPRINT_MARKER: &str = "<!-- lokiwrap-fingerprint: ";
const CLUSTER_MARKER: &str = "<!-- lokiwrap-cluster: ";

pub fn fingerprint_marker(key: &str) -> String {
    format!("{FINGERPRINT_MARKER}{key} -->")
}

pub fn cluster_marker(key: &str) -> String {
    format!("{CLUSTER_MARKER}{key} -->")
}

/// The key in an issue body's marker, of either kind. The collector writes its marker after
/// everything else, and a reported value shown above it may quote marker text, so only the last
/// marker in the body counts.
pub fn marker_key(body: &str) -> Option<String> {
    let start = [FINGERPRINT_MARKER, CLUSTER_MARKER]
        .iter()
        .filter_map(|marker| body.rfind(marker).map(|at| at + marker.len()))
        .max()?;
    let key: String = body[start..].chars().take_while(char::is_ascii_hexdigit).collect();
    (key.len() == 64 && body[start + key.len()..].starts_with(" -->")).then_some(key)
}

/// The occurrence count an issue body shows, in either kind of body.
pub fn count_in_body(body: &str) -> Option<u64> {
    ["| Occurrences | ", "Occurrences: **"].iter().find_map(|label| {
        let start = body.find(label)? + label.len();
        body[start..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect::<String>()
            .parse()
            .ok()
    })
}

/// A value as inline code: backticks cannot end the span early, newlines cannot start a block,
/// a pipe cannot end a table cell (GitHub splits cells on it even inside code), and zero-width
/// or bidi characters cannot disguise it.
pub fn code(value: &str) -> String {
    let clean: String = value
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
        "Reported by lokiwrap: the same crash, grouped by its fingerprint. Only whitelisted, scrubbed fields \
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
         The occurrence count above is updated by the collector; it does not comment per occurrence.\n\n\
         {marker}\n",
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

pub fn public_marker(key: &str) -> String {
    format!("<!-- lokiwrap-public: {key} -->")
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
    fn a_marker_quoted_in_a_value_is_not_the_issues_marker() {
        let mut quoting = subject();
        quoting.details["error_class"] = json!(format!("Error {}", fingerprint_marker(&"cd".repeat(32))));
        quoting.details["stack_signature"] = json!([cluster_marker(&"ef".repeat(32))]);
        assert_eq!(marker_key(&crash_body(&quoting, &[])), Some("ab".repeat(32)));
    }

    #[test]
    fn the_count_is_read_back_from_either_body() {
        assert_eq!(count_in_body(&crash_body(&subject(), &[])), Some(3));
        assert_eq!(count_in_body("- Occurrences: **41** (first seen"), Some(41));
        assert_eq!(count_in_body("no count here"), None);
    }

    #[test]
    fn a_marker_must_be_whole() {
        assert_eq!(marker_key("<!-- lokiwrap-fingerprint: abc -->"), None);
        let cluster = cluster_marker(&"c".repeat(64));
        assert_eq!(marker_key(&format!("text\n{cluster}")), Some("c".repeat(64)));
    }
}
