//! The issue's title and body. Every value from an event arrives scrubbed (see `mod.rs`);
//! here it is also kept inert as markdown: single-line values go into code spans and
//! multi-line ones into fenced blocks whose fence is longer than any backtick run inside, so
//! event text can neither mention anyone, link anywhere nor end a block early. Only the
//! configured `notify` mentions (validated when the config is read) are written bare.
//!
//! The first line of the body is the hidden marker `<!-- lokiwrap-cluster: KEY -->`, which
//! recovers the key → issue mapping from GitHub (`collector::render::marker_key` reads it back,
//! from the first line only); event text that quotes any marker's name has it defused (see
//! `mod.rs`), so it cannot pass for a marker.

use std::fmt::Write as _;

use lokiwrap_report::scrub::is_invisible;

use super::{FailureDetails, FailureSource, PluginFailure, WorkflowRunFailure};

/// GitHub refuses titles over 256 characters.
const MAX_TITLE_CHARS: usize = 256;

/// The hidden marker line for a cluster key: the collector's, which recovery reads back.
pub fn marker(cluster_key: &str) -> String {
    crate::render::cluster_marker(cluster_key)
}

/// `Plugin failure: <plugin> (http 502) [1a2b3c4d]` or
/// `Workflow failure: <workflow> in <repo> (failure) [1a2b3c4d]`.
pub fn issue_title(details: &FailureDetails) -> String {
    let short_key = details.cluster_key.get(..8).unwrap_or(&details.cluster_key);
    let (head, subject, tail) = match &details.source {
        FailureSource::Plugin(plugin) => {
            let status = plugin.status.map(|s| format!(" {s}")).unwrap_or_default();
            (
                "Plugin failure: ",
                plugin.plugin_id.clone(),
                format!(" ({}{status}) [{short_key}]", plugin.category),
            )
        }
        FailureSource::WorkflowRun(run) => (
            "Workflow failure: ",
            format!("{} in {}", run.workflow_name, run.repo),
            format!(" ({}) [{short_key}]", run.conclusion),
        ),
    };
    // Event text is scrubbed, which removes them; a stored one from before must not turn a
    // title around either.
    let subject: String = subject.chars().filter(|&c| !is_invisible(c)).collect();
    let tail: String = tail.chars().filter(|&c| !is_invisible(c)).collect();
    let room = MAX_TITLE_CHARS.saturating_sub(head.chars().count() + tail.chars().count());
    let subject = if subject.chars().count() > room {
        let cut: String = subject.chars().take(room.saturating_sub(1)).collect();
        format!("{cut}…")
    } else {
        subject
    };
    format!("{head}{subject}{tail}")
}

/// The issue body for a cluster, with its occurrence count and first and last sightings (as
/// the store records them) and the configured mentions.
pub fn issue_body(
    details: &FailureDetails,
    occurrences: u64,
    first_seen: &str,
    last_seen: &str,
    notify: &[String],
) -> String {
    let mut body = String::new();
    body.push_str(&marker(&details.cluster_key));
    body.push_str("\n\n### Summary\n\n");
    body.push_str(&summary(details));
    body.push_str("\n\n");
    if let Some(at) = &details.occurred_at {
        let _ = writeln!(body, "- Failed at: {}", code(at));
    }
    if let Some(environment) = &details.environment {
        let _ = writeln!(body, "- Environment: {}", code(environment));
    }
    let _ = writeln!(
        body,
        "- Occurrences: **{occurrences}** (first seen {}, last seen {})",
        code(first_seen),
        code(last_seen)
    );

    match &details.source {
        FailureSource::Plugin(plugin) => plugin_sections(&mut body, details, plugin),
        FailureSource::WorkflowRun(run) => run_sections(&mut body, run),
    }

    body.push_str("\n### Suggested next steps\n\n");
    for step in next_steps(details) {
        let _ = writeln!(body, "- {step}");
    }
    let mentions: Vec<&str> = notify
        .iter()
        .map(String::as_str)
        .filter(|m| is_plain_mention(m))
        .collect();
    if !mentions.is_empty() {
        let _ = write!(body, "\ncc {}\n", mentions.join(" "));
    }
    body
}

fn summary(details: &FailureDetails) -> String {
    match &details.source {
        FailureSource::Plugin(plugin) => {
            let kind = plugin
                .plugin_type
                .as_deref()
                .map(|t| format!("{} ", code(t)))
                .unwrap_or_default();
            let mut text = format!("The {kind}plugin {} failed", code(&plugin.plugin_id));
            match plugin.status {
                Some(status) => {
                    let _ = write!(text, " with HTTP {status}");
                }
                None => {
                    let _ = write!(text, " ({})", code(&plugin.category));
                }
            }
            if let Some(trigger) = &details.trigger {
                if let Some(event) = &trigger.event {
                    let _ = write!(text, " while the kernel handled {}", code(event));
                }
                if let Some(link) = trigger_link(trigger) {
                    let _ = write!(text, " for {link}");
                }
            }
            text.push('.');
            text
        }
        FailureSource::WorkflowRun(run) => {
            let path = run
                .workflow_path
                .as_deref()
                .map(|p| format!(" ({})", code(p)))
                .unwrap_or_default();
            format!(
                "Workflow {}{path} in {} concluded {}.",
                code(&run.workflow_name),
                code(&run.repo),
                code(&run.conclusion)
            )
        }
    }
}

fn trigger_link(trigger: &super::Trigger) -> Option<String> {
    match (&trigger.repo, trigger.number, &trigger.url) {
        (Some(repo), Some(number), Some(url)) => Some(format!("[{repo}#{number}]({url})")),
        (Some(repo), _, _) => Some(code(repo)),
        _ => None,
    }
}

fn plugin_sections(body: &mut String, details: &FailureDetails, plugin: &PluginFailure) {
    body.push_str("\n### Correlation\n\n");
    let ids = &details.correlation;
    let mut any = false;
    for (name, value) in [
        ("stateId", &ids.state_id),
        ("deliveryId", &ids.delivery_id),
        ("requestId", &ids.request_id),
    ] {
        if let Some(value) = value {
            let _ = writeln!(body, "- {name}: {}", code(value));
            any = true;
        }
    }
    if let Some(link) = details.trigger.as_ref().and_then(trigger_link) {
        let _ = writeln!(body, "- Triggered by: {link}");
        any = true;
    }
    if !any {
        body.push_str("- The event carried no correlation ids.\n");
    }

    body.push_str("\n### Error\n\n");
    let _ = writeln!(body, "- Plugin: {}", code(&plugin.plugin_id));
    for (name, value) in [
        ("Type", &plugin.plugin_type),
        ("Ref", &plugin.git_ref),
        ("Workflow", &plugin.workflow_id),
        ("Manifest", &plugin.manifest),
    ] {
        if let Some(value) = value {
            let _ = writeln!(body, "- {name}: {}", code(value));
        }
    }
    let _ = writeln!(body, "- Category: {}", code(&plugin.category));
    if let Some(status) = plugin.status {
        let _ = writeln!(body, "- HTTP status: {status}");
    }
    if let Some(retries) = plugin.retry_count {
        let _ = writeln!(body, "- Retries: {retries}");
    }
    if let Some(commit) = &plugin.kernel_commit {
        let _ = writeln!(body, "- Kernel commit: {}", code(commit));
    }
    if let Some(path) = &plugin.config_path {
        let _ = writeln!(body, "- Configuration: {}", code(path));
    }
    for source in &plugin.config_sources {
        let _ = writeln!(body, "  - from {}", code(source));
    }
    body.push('\n');
    body.push_str(&fenced(if plugin.message.is_empty() {
        "(no message)"
    } else {
        &plugin.message
    }));
    if let Some(snippet) = &plugin.response_snippet {
        body.push_str("\nResponse:\n\n");
        body.push_str(&fenced(snippet));
    }
    if let Some(stack) = &plugin.stack {
        body.push_str("\n<details><summary>Stack</summary>\n\n");
        body.push_str(&fenced(stack));
        body.push_str("\n</details>\n");
    }
    if !details.log_trail.is_empty() {
        let _ = write!(
            body,
            "\n<details><summary>Kernel log trail ({} lines)</summary>\n\n",
            details.log_trail.len()
        );
        body.push_str(&fenced(&details.log_trail.join("\n")));
        body.push_str("\n</details>\n");
    }

    body.push_str("\n### Replay\n\n");
    let trigger = details.trigger.as_ref();
    let event = trigger.and_then(|t| t.event.as_deref());
    let mut step = 1;
    if let Some(delivery) = &ids.delivery_id {
        let what = event.map(|e| format!(" {}", code(e))).unwrap_or_default();
        let _ = writeln!(
            body,
            "{step}. Redeliver GitHub delivery {} (the kernel's GitHub App settings → Advanced → Recent \
             Deliveries → Redeliver): the kernel dispatches the same{what} event to the plugin again.",
            code(delivery)
        );
        step += 1;
    }
    match trigger.and_then(trigger_link) {
        Some(link) => {
            let _ = writeln!(body, "{step}. Or repeat the action that triggered it on {link}.");
        }
        None => {
            let _ = writeln!(body, "{step}. Or repeat the action that triggered the plugin.");
        }
    }
    step += 1;
    if let Some(workflow) = &plugin.workflow_id {
        let at = plugin
            .git_ref
            .as_deref()
            .map(|r| format!(" at {}", code(r)))
            .unwrap_or_default();
        let _ = writeln!(
            body,
            "{step}. The kernel dispatches {}{at} with inputs it signs per dispatch: replay through the kernel \
             rather than re-running an old run.",
            code(workflow)
        );
    }
}

fn run_sections(body: &mut String, run: &WorkflowRunFailure) {
    body.push_str("\n### Run\n\n");
    if let Some(url) = &run.run_url {
        // The link text is ours: a workflow's name could hold markdown or a mention.
        let number = run.run_number.map(|n| format!(" #{n}")).unwrap_or_default();
        let _ = writeln!(body, "- Run: [run{number}]({url})");
    }
    for (name, value) in [
        ("Run id", run.run_id),
        ("Run number", run.run_number),
        ("Attempt", run.run_attempt),
    ] {
        if let Some(value) = value {
            let _ = writeln!(body, "- {name}: {value}");
        }
    }
    if let Some(branch) = &run.head_branch {
        let _ = writeln!(body, "- Branch: {}", code(branch));
    }
    if let Some(sha) = &run.head_sha {
        let _ = writeln!(body, "- Commit: {}", code(sha));
    }
    if let Some(event) = &run.event {
        let _ = writeln!(body, "- Started by: {}", code(event));
    }

    body.push_str("\n### Replay\n\n");
    let mut step = 1;
    if let Some(id) = run.run_id {
        let _ = writeln!(
            body,
            "{step}. Re-run the failed jobs: {}, or *Re-run failed jobs* on the run's page.",
            code(&format!("gh run rerun {id} --failed --repo {}", run.repo))
        );
        step += 1;
    }
    match &run.head_sha {
        Some(sha) => {
            let _ = writeln!(
                body,
                "{step}. Reproduce on the same commit: {}, then run the workflow's steps locally.",
                code(&format!("git checkout {sha}"))
            );
        }
        None => {
            let _ = writeln!(
                body,
                "{step}. Reproduce on the run's commit by running the workflow's steps locally."
            );
        }
    }
}

fn next_steps(details: &FailureDetails) -> Vec<String> {
    let mut steps = Vec::new();
    match &details.source {
        FailureSource::Plugin(plugin) => {
            let request = details
                .correlation
                .request_id
                .as_deref()
                .map(|id| format!(" for requestId {}", code(id)))
                .unwrap_or_default();
            match plugin.status {
                Some(500..=599) => steps.push(format!(
                    "Search the plugin's logs{request} around the failure time: the plugin SDK answers 500 \
                     \"Unexpected error\" when the handler throws, and a 502, 503 or 504 from the platform means \
                     the worker crashed, was overloaded or timed out."
                )),
                Some(404) if plugin.category != "workflow" => steps.push(
                    "Check that the plugin is deployed at the address the kernel dispatches to (the manifest's \
                     `homepage_url`, or the configured URL)."
                        .to_string(),
                ),
                Some(400) => steps.push(
                    "The plugin SDK answers 400 to a body it cannot read or an invalid signature: check that the \
                     plugin's `KERNEL_PUBLIC_KEY` is this kernel's and that the plugin SDK is current."
                        .to_string(),
                ),
                Some(401 | 403) => steps.push(
                    "The request was refused: check the plugin's authentication settings and the kernel app's \
                     permissions on this repository."
                        .to_string(),
                ),
                Some(429) => steps.push(
                    "The plugin or an API it calls rate-limited the request: check its quotas and retry policy."
                        .to_string(),
                ),
                _ => {}
            }
            match plugin.category.as_str() {
                "workflow" => steps.push(
                    "Check that the workflow file exists on the default branch of the plugin's repository and that \
                     the kernel's GitHub App is installed there with Actions write access."
                        .to_string(),
                ),
                "kernel" => steps.push(format!(
                    "The kernel itself failed{request}: look the request up in the kernel's logs; it is filed here \
                     because the kernel named this repository."
                )),
                _ => {}
            }
            steps.push(
                "Replay the event against a local copy of the plugin and add a regression test that reproduces the \
                 failure before fixing it."
                    .to_string(),
            );
        }
        FailureSource::WorkflowRun(run) => {
            steps.push("Open the run's logs and find the first failing step.".to_string());
            match run.conclusion.as_str() {
                "timed_out" => steps.push(
                    "The run hit its time limit: look for a step that hangs, or raise `timeout-minutes` if the work \
                     really takes longer."
                        .to_string(),
                ),
                "startup_failure" => steps.push(
                    "The run could not start: the workflow file is likely invalid, or a required secret, runner or \
                     permission is missing."
                        .to_string(),
                ),
                _ => {}
            }
            let branch = run
                .head_branch
                .as_deref()
                .map(|b| format!(" on {}", code(b)))
                .unwrap_or_default();
            steps.push(format!(
                "Compare with the last successful run of this workflow{branch} to find the change that broke it."
            ));
            steps.push("Add a test that reproduces the failure before fixing it.".to_string());
        }
    }
    steps
}

/// A code span that holds `text` whatever backticks it contains (CommonMark: the delimiter is
/// a backtick run longer than any inside; a space pads text that starts or ends with one).
fn code(text: &str) -> String {
    let text = text.replace(['\n', '\r'], " ");
    if text.is_empty() {
        return "(empty)".to_string();
    }
    let fence = "`".repeat(longest_backtick_run(&text) + 1);
    let pad = if text.starts_with('`') || text.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{text}{pad}{fence}")
}

/// A fenced block that `text` cannot close early.
fn fenced(text: &str) -> String {
    let fence = "`".repeat((longest_backtick_run(text) + 1).max(3));
    format!("{fence}text\n{text}\n{fence}\n")
}

fn longest_backtick_run(text: &str) -> usize {
    text.split(|c| c != '`').map(str::len).max().unwrap_or(0)
}

/// Mirrors the config's check, so a hand-built config cannot smuggle markdown in either.
fn is_plain_mention(text: &str) -> bool {
    text.len() > 1
        && text.starts_with('@')
        && text[1..]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_spans_hold_any_backticks() {
        assert_eq!(code("a"), "`a`");
        assert_eq!(code("a`b"), "``a`b``");
        assert_eq!(code("`x"), "`` `x ``");
        assert_eq!(code(""), "(empty)");
        assert_eq!(code("a\nb"), "`a b`");
        assert_eq!(fenced("x ``` y"), "````text\nx ``` y\n````\n");
        assert_eq!(fenced("x"), "```text\nx\n```\n");
    }

    #[test]
    fn the_marker_reads_back_as_the_collectors() {
        use crate::render::marker_key;
        let key = "a".repeat(64);
        assert_eq!(marker_key(&format!("{}\nrest", marker(&key))), Some(key));
        assert_eq!(marker_key(&marker("abc")), None);
        assert_eq!(marker_key(""), None);
    }

    #[test]
    fn mentions_are_plain() {
        assert!(is_plain_mention("@team-bot"));
        assert!(is_plain_mention("@org/team"));
        assert!(!is_plain_mention("@x [y](z)"));
        assert!(!is_plain_mention("team"));
    }
}
