//! The dashboard as one HTML page: server-rendered, inline SVG sparklines, no script and no
//! external asset, so it works offline and behind strict firewalls. Every value from the store
//! is escaped; the Content-Security-Policy allows nothing but the page's own style sheet.

use std::fmt::Write as _;
use std::sync::LazyLock;

use base64::Engine as _;
use sha2::{Digest, Sha256};

use super::{Board, IssueRef, SeriesRow, SourceRow, Window};

const STYLE: &str = "\
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:24px;color:#1f2328;background:#fff}\
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:28px 0 8px}\
nav a{margin-right:12px}nav a.on{font-weight:600;color:#1f2328;text-decoration:none}\
.meta{color:#59636e;margin:0 0 8px}\
table{border-collapse:collapse;width:100%;max-width:1200px}\
th,td{text-align:left;padding:5px 10px;border-bottom:1px solid #d1d9e0;vertical-align:middle}\
th{font-weight:600;color:#59636e;font-size:12px;text-transform:uppercase;letter-spacing:.03em}\
td.n{text-align:right;font-variant-numeric:tabular-nums}\
.up{color:#cf222e}.down{color:#1a7f37}.flat{color:#59636e}\
.state{display:inline-block;border-radius:10px;padding:0 8px;font-size:12px;color:#fff}\
.open{background:#1a7f37}.closed{background:#8250df}.promoted{background:#0969da}\
.empty{color:#59636e;font-style:italic}code{font-size:12px}\
";

/// The policy: no script, no frame, no form, nothing fetched; only the style sheet above, by
/// its hash.
pub static CONTENT_SECURITY_POLICY: LazyLock<String> = LazyLock::new(|| {
    let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(STYLE.as_bytes()));
    format!(
        "default-src 'none'; style-src 'sha256-{hash}'; img-src 'none'; script-src 'none'; \
         form-action 'none'; frame-ancestors 'none'; base-uri 'none'"
    )
});

/// The whole page for one view.
pub fn render(board: &Board) -> String {
    let mut html = String::with_capacity(32 * 1024);
    let unit = if board.window == Window::Day { "hour" } else { "day" };
    let _ = write!(
        html,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>lokiwrap collector: last {}</title><style>{STYLE}</style></head><body>\
         <h1>lokiwrap collector</h1><p class=\"meta\">Generated {} UTC, one point per {unit}.</p><nav>",
        window_words(board.window),
        escape(&when(board.generated_at)),
    );
    for window in [Window::Day, Window::Fortnight] {
        let class = if window == board.window { " class=\"on\"" } else { "" };
        let _ = write!(
            html,
            "<a{class} href=\"?window={}\">last {}</a>",
            window.name(),
            window_words(window)
        );
    }
    html.push_str("<a href=\"dashboard.json?window=");
    html.push_str(board.window.name());
    html.push_str("\">JSON</a></nav>");

    sources(&mut html, board, unit);
    friction(&mut html, &board.friction, unit);
    top(&mut html, board);
    queue(&mut html, board);
    html.push_str("</body></html>\n");
    html
}

fn sources(html: &mut String, board: &Board, unit: &str) {
    html.push_str("<h2>Tools and plugins</h2>");
    if board.sources.is_empty() {
        html.push_str("<p class=\"empty\">No events in this window or the one before.</p>");
        return;
    }
    html.push_str("<table><thead><tr><th>Tool or plugin</th><th>Kind</th><th>Events</th><th>Per ");
    html.push_str(unit);
    html.push_str("</th><th>Change</th><th>By version</th></tr></thead><tbody>");
    for row in &board.sources {
        let SourceRow {
            kind,
            name,
            events,
            previous,
            series,
            versions,
        } = row;
        let split: Vec<String> = versions
            .iter()
            .map(|v| {
                let version = if v.version.is_empty() { "unknown" } else { &v.version };
                format!("<code>{}</code> {}", escape(version), v.events)
            })
            .collect();
        let _ = write!(
            html,
            "<tr><td>{}</td><td>{kind}</td><td class=\"n\">{events}</td><td>{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
            escape(name),
            sparkline(series, name, unit),
            change(*events, *previous),
            split.join(", "),
        );
    }
    html.push_str("</tbody></table>");
}

fn friction(html: &mut String, rows: &[SeriesRow], unit: &str) {
    html.push_str("<h2>Friction</h2>");
    if rows.is_empty() {
        html.push_str("<p class=\"empty\">No retry loops, rate-limit loops or gate failures in this window.</p>");
        return;
    }
    html.push_str("<table><thead><tr><th>Kind</th><th>Events</th><th>Per ");
    html.push_str(unit);
    html.push_str("</th><th>Change</th></tr></thead><tbody>");
    for row in rows {
        let label = row.name.replace('_', " ");
        let _ = write!(
            html,
            "<tr><td>{}</td><td class=\"n\">{}</td><td>{}</td><td class=\"n\">{}</td></tr>",
            escape(&label),
            row.events,
            sparkline(&row.series, &label, unit),
            change(row.events, row.previous),
        );
    }
    html.push_str("</tbody></table>");
}

fn top(html: &mut String, board: &Board) {
    html.push_str("<h2>Top crashes and failure clusters</h2>");
    if board.top.is_empty() {
        html.push_str("<p class=\"empty\">Nothing seen in this window.</p>");
        return;
    }
    html.push_str(
        "<table><thead><tr><th>What</th><th>Tool or plugin</th><th>Versions</th><th>First seen</th>\
         <th>Last seen</th><th>Count</th><th>Issue</th></tr></thead><tbody>",
    );
    for row in &board.top {
        let what = if row.what.is_empty() { row.kind } else { &row.what };
        let versions: Vec<String> = row
            .versions
            .iter()
            .map(|version| format!("<code>{}</code>", escape(version)))
            .collect();
        let mut issue = match &row.issue {
            Some(link) => issue_link(link, &link.state),
            None => "<span class=\"flat\">not filed yet</span>".to_string(),
        };
        if let Some(link) = &row.promoted {
            issue.push(' ');
            issue.push_str(&issue_link(link, "promoted"));
        }
        let _ = write!(
            html,
            "<tr><td>{}<br><code title=\"fingerprint\">{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td class=\"n\">{}</td><td>{issue}</td></tr>",
            escape(what),
            escape(row.key.get(..12).unwrap_or(&row.key)),
            escape(&row.name),
            versions.join(" "),
            escape(&when(row.first_seen)),
            escape(&when(row.last_seen)),
            row.count,
        );
    }
    html.push_str("</tbody></table>");
}

fn issue_link(link: &IssueRef, state: &str) -> String {
    let class = match state {
        "open" => "open",
        "promoted" => "promoted",
        _ => "closed",
    };
    format!(
        "<a href=\"{}\">{}#{}</a> <span class=\"state {class}\">{}</span>",
        escape(&link.url),
        escape(&link.repo),
        link.number,
        escape(state)
    )
}

fn queue(html: &mut String, board: &Board) {
    let queue = &board.queue;
    let _ = write!(
        html,
        "<h2>GitHub queue</h2><table><tbody>\
         <tr><th>Jobs waiting</th><td class=\"n\">{}</td></tr>\
         <tr><th>Writes in the last hour</th><td class=\"n\">{} of {}</td></tr>\
         <tr><th>Parked</th><td class=\"n\">{}</td></tr></tbody></table>",
        queue.depth,
        queue.writes_last_hour,
        queue.hourly_budget,
        queue.parked.len()
    );
    if queue.parked.is_empty() {
        return;
    }
    html.push_str("<table><thead><tr><th>Parked job</th><th>Until</th><th>Why</th></tr></thead><tbody>");
    for job in &queue.parked {
        let _ = write!(
            html,
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
            escape(job.key.get(..12).unwrap_or(&job.key)),
            escape(&when(job.until)),
            escape(&job.reason)
        );
    }
    html.push_str("</tbody></table>");
}

/// A line over the buckets, scaled to the largest, with its last point marked; the numbers
/// themselves are in its accessible label.
fn sparkline(series: &[u64], name: &str, unit: &str) -> String {
    const WIDTH: f64 = 168.0;
    const HEIGHT: f64 = 30.0;
    let max = series.iter().copied().max().unwrap_or(0).max(1) as f64;
    let step = if series.len() > 1 {
        WIDTH / (series.len() - 1) as f64
    } else {
        0.0
    };
    let point = |at: usize, value: u64| (at as f64 * step, HEIGHT - 2.0 - (value as f64 / max) * (HEIGHT - 4.0));
    let points: Vec<String> = series
        .iter()
        .enumerate()
        .map(|(at, &value)| {
            let (x, y) = point(at, value);
            format!("{x:.1},{y:.1}")
        })
        .collect();
    let (last_x, last_y) = point(series.len().saturating_sub(1), series.last().copied().unwrap_or(0));
    let numbers: Vec<String> = series.iter().map(u64::to_string).collect();
    format!(
        "<svg width=\"{WIDTH}\" height=\"{HEIGHT}\" viewBox=\"-2 0 {} {HEIGHT}\" role=\"img\" \
         aria-label=\"{} per {unit}: {}\"><polygon points=\"0,{HEIGHT} {} {WIDTH},{HEIGHT}\" fill=\"#ddf4ff\"/>\
         <polyline points=\"{}\" fill=\"none\" stroke=\"#0969da\" stroke-width=\"1.5\"/>\
         <circle cx=\"{last_x:.1}\" cy=\"{last_y:.1}\" r=\"2.5\" fill=\"#0969da\"/></svg>",
        WIDTH + 4.0,
        escape(name),
        numbers.join(", "),
        points.join(" "),
        points.join(" "),
    )
}

/// Against the window before: `+35%`, `−20%`, `new`, or `–`.
fn change(events: u64, previous: u64) -> String {
    match (events, previous) {
        (0, 0) => "<span class=\"flat\">–</span>".to_string(),
        (_, 0) => "<span class=\"up\">new</span>".to_string(),
        _ => {
            let percent = (events as f64 - previous as f64) / previous as f64 * 100.0;
            let (class, sign) = match percent {
                p if p >= 0.5 => ("up", "+"),
                p if p <= -0.5 => ("down", "−"),
                _ => ("flat", "±"),
            };
            format!("<span class=\"{class}\">{sign}{:.0}%</span>", percent.abs())
        }
    }
}

fn window_words(window: Window) -> &'static str {
    match window {
        Window::Day => "24 hours",
        Window::Fortnight => "14 days",
    }
}

/// `2026-12-04 16:00`, UTC.
fn when(unix_seconds: i64) -> String {
    let text = lokiwrap_report::utc::rfc3339_utc_signed(unix_seconds);
    text.get(..16).unwrap_or(&text).replace('T', " ")
}

/// Text for HTML content and quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_leaves_no_markup() {
        assert_eq!(
            escape("<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
    }

    #[test]
    fn change_reads_like_a_person_would_say_it() {
        assert!(change(135, 100).contains("+35%"));
        assert!(change(80, 100).contains("−20%"));
        assert!(change(5, 0).contains("new"));
        assert!(change(0, 0).contains('–'));
    }

    #[test]
    fn the_sparkline_peaks_where_the_series_does() {
        let svg = sparkline(&[0, 10, 0], "tool", "hour");
        assert!(svg.contains("aria-label=\"tool per hour: 0, 10, 0\""), "{svg}");
        // The middle point is at the top (y = 2), the others at the bottom (y = 28).
        assert!(svg.contains("0.0,28.0 84.0,2.0 168.0,28.0"), "{svg}");
    }

    #[test]
    fn the_policy_names_the_style_sheet_by_hash_and_allows_no_script() {
        assert!(CONTENT_SECURITY_POLICY.contains("script-src 'none'"));
        assert!(CONTENT_SECURITY_POLICY.contains("style-src 'sha256-"));
        assert!(!CONTENT_SECURITY_POLICY.contains("unsafe-inline"));
    }
}
