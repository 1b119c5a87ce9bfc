//! Hotfix routing: turns a UbiquityOS `kernel.plugin_error` event or a failed GitHub
//! `workflow_run` into a [`Failure`] (one cluster key, one target repository, the scrubbed
//! details of an issue), or says why it is [`Ignored`]. Pure logic: no I/O, no clock, no
//! GitHub calls; the server stores failures and the worker files them.
//!
//! The flow for a plugin error: (optionally [`signature::verify_kernel_inputs`]) →
//! [`from_plugin_error`] → store by `cluster_key` → [`render::issue_body`]. For a workflow
//! run: [`webhook::verify_signature`] → [`from_workflow_run`] → the same. Every string an
//! event carries goes through the report scrubber before it reaches a `Failure`.

pub(crate) mod cluster;
pub(crate) mod config;
pub(crate) mod event;
pub(crate) mod manifest;
pub(crate) mod names;
pub(crate) mod render;
pub(crate) mod route;
pub(crate) mod signature;
pub mod webhook;

#[cfg(test)]
mod props;

use std::sync::LazyLock;

use crate::render::defuse_markers;
use lokiwrap_report::scrub::Scrubber;

pub use config::{HotfixConfig, Mode, RiskPolicy};
use event::{PluginErrorEvent, WorkflowRunEvent};
pub use render::{issue_body, issue_title};

/// One failure to file: the issue for `cluster_key` in `repo`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// 64 hex characters; see [`cluster`].
    pub cluster_key: String,
    pub kind: FailureKind,
    /// Lower-cased `owner/repo`, well formed.
    pub repo: String,
    /// The issue title, scrubbed; at most 256 characters.
    pub title: String,
    pub details: FailureDetails,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// A `kernel.plugin_error`: the kernel failed to dispatch to a plugin.
    Plugin,
    /// A failed GitHub Actions run in an allowlisted repository.
    WorkflowRun,
}

impl FailureKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::Plugin => "plugin",
            FailureKind::WorkflowRun => "workflow_run",
        }
    }
}

/// Everything the issue body shows, already scrubbed and capped. Text fields are single lines
/// unless they say otherwise.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FailureDetails {
    pub cluster_key: String,
    /// When the failure happened, as the sender wrote it.
    pub occurred_at: Option<String>,
    pub environment: Option<String>,
    pub correlation: Correlation,
    pub trigger: Option<Trigger>,
    pub source: FailureSource,
    /// The kernel's log lines for the failing request, each scrubbed; at most 40.
    pub log_trail: Vec<String>,
}

/// Ids that find the failure in the kernel's and GitHub's logs.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Correlation {
    pub state_id: Option<String>,
    pub delivery_id: Option<String>,
    pub request_id: Option<String>,
}

/// The GitHub event whose handling failed.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Trigger {
    /// `issue_comment.created`, ...
    pub event: Option<String>,
    /// `owner/repo`, only when well formed.
    pub repo: Option<String>,
    pub number: Option<u64>,
    /// `https://github.com/owner/repo/issues/N` (GitHub redirects it for pull requests).
    pub url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum FailureSource {
    Plugin(PluginFailure),
    WorkflowRun(WorkflowRunFailure),
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PluginFailure {
    /// Without its `@ref`.
    pub plugin_id: String,
    /// `http`, `workflow`, `kernel` or what the sender wrote.
    pub plugin_type: Option<String>,
    pub git_ref: Option<String>,
    pub workflow_id: Option<String>,
    /// Lower-cased; `unknown` when absent.
    pub category: String,
    /// `error.status`, else the status in the message.
    pub status: Option<u16>,
    /// May span lines; at most 2,000 characters.
    pub message: String,
    /// May span lines.
    pub stack: Option<String>,
    /// May span lines.
    pub response_snippet: Option<String>,
    pub retry_count: Option<u64>,
    pub kernel_commit: Option<String>,
    /// The configuration the kernel ran with: its path, then `owner/repo:path@sha` per source.
    pub config_path: Option<String>,
    pub config_sources: Vec<String>,
    /// `name version` from the plugin's manifest, when sent.
    pub manifest: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WorkflowRunFailure {
    /// `owner/repo`, as filed.
    pub repo: String,
    pub workflow_name: String,
    pub workflow_path: Option<String>,
    /// `failure`, `timed_out` or `startup_failure`.
    pub conclusion: String,
    pub run_id: Option<u64>,
    pub run_number: Option<u64>,
    pub run_attempt: Option<u64>,
    pub run_url: Option<String>,
    pub head_branch: Option<String>,
    pub head_sha: Option<String>,
    /// What started the run: `push`, `workflow_dispatch`, ...
    pub event: Option<String>,
}

/// Why an event is not filed; `reason.as_str()` names a metric.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ignored {
    pub reason: IgnoreReason,
    /// One line for the log, scrubbed.
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IgnoreReason {
    /// `hotfix.enabled` is false.
    Disabled,
    /// Not the expected JSON shape.
    Malformed,
    /// A `kernel.plugin_error` about delivering `kernel.plugin_error`.
    LoopEvent,
    /// A failure of the hotfix route itself (`hotfix.self_ids`).
    SelfFailure,
    /// Caused by the collector's own bot (`hotfix.bot_login`).
    OwnBot,
    /// A workflow run in a repository outside `hotfix.allowlist_repos`.
    NotAllowlisted,
    /// A `workflow_run` event that is not `completed`.
    NotCompleted,
    /// A completed run that did not fail (success, neutral, skipped, cancelled, ...).
    ConclusionNotFailure,
    /// No well-formed repository to file in.
    NoTargetRepo,
    /// A plugin failure for a repository outside `hotfix.target_repos`.
    NotInTargetRepos,
    /// A failure of the kernel itself, with neither `hotfix.kernel_repo` nor a triage repository.
    NoKernelRepo,
}

impl IgnoreReason {
    pub fn as_str(self) -> &'static str {
        match self {
            IgnoreReason::Disabled => "disabled",
            IgnoreReason::Malformed => "malformed",
            IgnoreReason::LoopEvent => "loop_event",
            IgnoreReason::SelfFailure => "self_failure",
            IgnoreReason::OwnBot => "own_bot",
            IgnoreReason::NotAllowlisted => "not_allowlisted",
            IgnoreReason::NotCompleted => "not_completed",
            IgnoreReason::ConclusionNotFailure => "conclusion_not_failure",
            IgnoreReason::NoTargetRepo => "no_target_repo",
            IgnoreReason::NotInTargetRepos => "not_in_target_repos",
            IgnoreReason::NoKernelRepo => "no_kernel_repo",
        }
    }
}

impl Ignored {
    fn new(reason: IgnoreReason, message: impl AsRef<str>) -> Ignored {
        Ignored {
            reason,
            message: clean_line(message.as_ref(), 300),
        }
    }
}

/// Whether stored failure details (a subject's `details`) are a failure of the kernel itself:
/// those go to the kernel's triage and never to auto-fix.
pub fn is_kernel_failure(details: &serde_json::Value) -> bool {
    serde_json::from_value::<FailureDetails>(details.clone()).is_ok_and(|details| match &details.source {
        FailureSource::Plugin(plugin) => route::is_kernel_failure(plugin.plugin_type.as_deref(), &plugin.plugin_id),
        FailureSource::WorkflowRun(_) => false,
    })
}

impl std::fmt::Display for Ignored {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.reason.as_str(), self.message)
    }
}

impl std::error::Error for Ignored {}

/// Conclusions that are a failure worth an issue. `cancelled` is someone's decision,
/// `action_required` waits for a person; neither is a bug.
const FAILED_CONCLUSIONS: &[&str] = &["failure", "timed_out", "startup_failure"];

/// Caps on what one failure can put into an issue; GitHub refuses bodies over 65,536.
const MAX_MESSAGE_CHARS: usize = 2_000;
const MAX_BLOCK_CHARS: usize = 4_000;
const MAX_LOG_LINES: usize = 40;
const MAX_LOG_LINE_CHARS: usize = 300;
const MAX_FIELD_CHARS: usize = 200;
const MAX_CONFIG_SOURCES: usize = 10;

/// A `kernel.plugin_error` payload (the JSON the kernel dispatches, or the decompressed
/// `eventPayload` of verified inputs) as a failure to file.
pub fn from_plugin_error(bytes: &[u8], cfg: &HotfixConfig) -> Result<Failure, Ignored> {
    if !cfg.enabled {
        return Err(Ignored::new(IgnoreReason::Disabled, "hotfix.enabled is false"));
    }
    let event: PluginErrorEvent = serde_json::from_slice(bytes).map_err(|error| {
        Ignored::new(
            IgnoreReason::Malformed,
            format!("not a kernel.plugin_error payload: {error}"),
        )
    })?;
    if let Some(name) = event.event.as_deref()
        && !name.trim().eq_ignore_ascii_case(route::PLUGIN_ERROR_EVENT)
    {
        return Err(Ignored::new(
            IgnoreReason::Malformed,
            format!("event is {name:?}, not kernel.plugin_error"),
        ));
    }
    let trigger = event.trigger.as_ref();
    let github_event = trigger.and_then(|t| t.github_event.as_deref());
    if route::is_error_event_loop(github_event) {
        return Err(Ignored::new(
            IgnoreReason::LoopEvent,
            "a failure while delivering kernel.plugin_error is not reported again",
        ));
    }
    let Some(plugin_id) = names::normalise_plugin_id(&event.plugin.id) else {
        return Err(Ignored::new(IgnoreReason::Malformed, "plugin.id is empty or not an id"));
    };
    let named_repo = match (&event.plugin.owner, &event.plugin.repo) {
        (Some(owner), Some(repo)) => Some(format!("{owner}/{repo}")),
        _ => None,
    };
    let source_repo = event
        .plugin
        .settings
        .as_ref()
        .and_then(|s| s.with.as_ref())
        .and_then(|w| w.source_repo.clone());
    let plugin_type = event.plugin.kind.as_deref().map(|t| t.trim().to_ascii_lowercase());
    let own_names = [Some(plugin_id.clone()), named_repo, source_repo];
    if route::is_self(cfg, own_names.iter().flatten().map(String::as_str)) {
        return Err(Ignored::new(
            IgnoreReason::SelfFailure,
            format!("{plugin_id} is the hotfix route itself (hotfix.self_ids)"),
        ));
    }
    if route::is_own_bot(cfg, trigger.and_then(|t| t.actor.as_deref())) {
        return Err(Ignored::new(
            IgnoreReason::OwnBot,
            "the failing event was sent by hotfix.bot_login: filing it could loop",
        ));
    }
    let kernel = route::is_kernel_failure(plugin_type.as_deref(), &plugin_id);
    let repo = if kernel {
        // The kernel's own handler failed: its triage hears of it, never the repository whose
        // event it was handling (its owner cannot fix the kernel).
        let Some(repo) = cfg.kernel_repo.clone() else {
            return Err(Ignored::new(
                IgnoreReason::NoKernelRepo,
                "a failure of the kernel itself and no repository for it: set [hotfix] kernel_repo = \"owner/repo\" \
                 (or [github] triage_repo)",
            ));
        };
        repo
    } else {
        let Some(repo) = route::target_repo(&event, cfg) else {
            return Err(Ignored::new(
                IgnoreReason::NoTargetRepo,
                format!(
                    "no repository for {plugin_id}: the event names none; add its URL to [hotfix.plugin_repos] \
                 or set with.sourceRepo in the plugin's configuration"
                ),
            ));
        };
        repo
    };
    if route::is_self(cfg, [repo.as_str()]) {
        return Err(Ignored::new(
            IgnoreReason::SelfFailure,
            format!("{repo} is the hotfix route itself (hotfix.self_ids)"),
        ));
    }
    // `kernel_repo` is the operator's own choice, not the event's.
    if !kernel && !route::in_target_repos(cfg, &repo) {
        return Err(Ignored::new(
            IgnoreReason::NotInTargetRepos,
            format!("{repo} is not in hotfix.target_repos"),
        ));
    }

    let raw_message = event.error.message.as_deref().unwrap_or_default();
    let category = event
        .error
        .category
        .as_deref()
        .map(|c| c.trim().to_ascii_lowercase())
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| "unknown".to_string());
    // Scrubbed before hashing: a token that differs per request must not split the cluster.
    let cluster_key = cluster::plugin_key(&plugin_id, &category, &scrubber().scrub(raw_message).text);
    let details = FailureDetails {
        cluster_key: cluster_key.clone(),
        occurred_at: clean_opt(event.timestamp.as_deref()),
        environment: clean_opt(
            event
                .environment
                .as_deref()
                .or(event.source.as_ref().and_then(|s| s.environment.as_deref())),
        ),
        correlation: correlation_of(&event),
        trigger: trigger.map(|t| trigger_of(t.github_event.as_deref(), t.repo.as_deref(), t.issue_or_pr)),
        log_trail: event
            .log_trail
            .as_ref()
            .map(|trail| {
                trail
                    .lines
                    .iter()
                    .take(MAX_LOG_LINES)
                    .map(|line| clean_free_line(line, MAX_LOG_LINE_CHARS))
                    .collect()
            })
            .unwrap_or_default(),
        source: FailureSource::Plugin(plugin_failure_of(&event, &plugin_id, plugin_type.as_deref(), &category)),
    };
    Ok(Failure {
        title: render::issue_title(&details),
        cluster_key,
        kind: FailureKind::Plugin,
        repo,
        details,
    })
}

fn correlation_of(event: &PluginErrorEvent) -> Correlation {
    let context_request = event.context.as_ref().and_then(|c| c.request_id.as_deref());
    let trail_request = event.log_trail.as_ref().and_then(|l| l.request_id.as_deref());
    Correlation {
        state_id: clean_opt(event.state_id.as_deref()),
        delivery_id: clean_opt(event.trigger.as_ref().and_then(|t| t.delivery_id.as_deref())),
        request_id: clean_opt(context_request.or(trail_request)),
    }
}

fn plugin_failure_of(
    event: &PluginErrorEvent,
    plugin_id: &str,
    plugin_type: Option<&str>,
    category: &str,
) -> PluginFailure {
    let message = event.error.message.as_deref().unwrap_or_default();
    let context = event.context.as_ref();
    let config = event.config.as_ref();
    PluginFailure {
        plugin_id: clean_line(plugin_id, MAX_FIELD_CHARS),
        plugin_type: clean_opt(plugin_type),
        git_ref: clean_opt(event.plugin.git_ref.as_deref()),
        workflow_id: clean_opt(event.plugin.workflow_id.as_deref()),
        category: clean_line(category, 64),
        status: cluster::http_status(event.error.status, message),
        message: clean_block(message, MAX_MESSAGE_CHARS),
        stack: event.error.stack.as_deref().map(|s| clean_block(s, MAX_BLOCK_CHARS)),
        response_snippet: context
            .and_then(|c| c.response_snippet.as_deref())
            .map(|s| clean_block(s, MAX_BLOCK_CHARS)),
        retry_count: context.and_then(|c| c.retry_count),
        kernel_commit: clean_opt(event.kernel.as_ref().and_then(|k| k.commit.as_deref())),
        config_path: clean_opt(config.and_then(|c| c.path.as_deref()).or(event.config_path.as_deref())),
        config_sources: config
            .map(|config| {
                config
                    .sources
                    .iter()
                    .take(MAX_CONFIG_SOURCES)
                    .map(config_source_line)
                    .collect()
            })
            .unwrap_or_default(),
        manifest: event.plugin.manifest.as_ref().and_then(|manifest| {
            let parts: Vec<&str> = [manifest.name.as_deref(), manifest.version.as_deref()]
                .into_iter()
                .flatten()
                .collect();
            clean_opt(Some(&parts.join(" ")))
        }),
    }
}

/// `owner/repo:path@sha12`, the way a reader finds the file.
fn config_source_line(source: &event::ConfigSource) -> String {
    let part = |value: &Option<String>| value.as_deref().unwrap_or("?").trim().to_string();
    let at_sha = source
        .sha
        .as_deref()
        .map(|sha| format!("@{}", short_sha(sha)))
        .unwrap_or_default();
    clean_line(
        &format!(
            "{}/{}:{}{at_sha}",
            part(&source.owner),
            part(&source.repo),
            part(&source.path)
        ),
        MAX_FIELD_CHARS,
    )
}

/// A GitHub `workflow_run` webhook body (already authenticated, see [`webhook`]) as a
/// failure to file.
pub fn from_workflow_run(bytes: &[u8], cfg: &HotfixConfig) -> Result<Failure, Ignored> {
    if !cfg.enabled {
        return Err(Ignored::new(IgnoreReason::Disabled, "hotfix.enabled is false"));
    }
    let event: WorkflowRunEvent = serde_json::from_slice(bytes)
        .map_err(|error| Ignored::new(IgnoreReason::Malformed, format!("not a workflow_run webhook: {error}")))?;
    if event.action != "completed" {
        return Err(Ignored::new(
            IgnoreReason::NotCompleted,
            format!("action is {:?}; only completed runs are filed", event.action),
        ));
    }
    let run = &event.workflow_run;
    let conclusion = run.conclusion.as_deref().unwrap_or("").trim().to_ascii_lowercase();
    if !FAILED_CONCLUSIONS.contains(&conclusion.as_str()) {
        return Err(Ignored::new(
            IgnoreReason::ConclusionNotFailure,
            format!("conclusion is {conclusion:?}, not failure, timed_out or startup_failure"),
        ));
    }
    if route::is_own_bot(cfg, event.sender.as_ref().and_then(|s| s.login.as_deref())) {
        return Err(Ignored::new(
            IgnoreReason::OwnBot,
            "the run was started by hotfix.bot_login: filing it could loop",
        ));
    }
    let full_name = event.repository.full_name.trim();
    if !names::valid_repo_name(full_name) {
        return Err(Ignored::new(
            IgnoreReason::NoTargetRepo,
            "repository.full_name is not owner/repo",
        ));
    }
    let repo = full_name.to_ascii_lowercase();
    if route::is_self(cfg, [repo.as_str()]) {
        return Err(Ignored::new(
            IgnoreReason::SelfFailure,
            format!("{repo} is the hotfix route itself (hotfix.self_ids)"),
        ));
    }
    if !cfg
        .allowlist_repos
        .iter()
        .any(|allowed| allowed.eq_ignore_ascii_case(&repo))
    {
        return Err(Ignored::new(
            IgnoreReason::NotAllowlisted,
            format!("{repo} is not in hotfix.allowlist_repos"),
        ));
    }

    let workflow = event.workflow.as_ref();
    let path = run
        .path
        .as_deref()
        .or(workflow.and_then(|w| w.path.as_deref()))
        .map(str::trim)
        .filter(|p| !p.is_empty());
    let name = run
        .name
        .as_deref()
        .or(workflow.and_then(|w| w.name.as_deref()))
        .map(str::trim)
        .filter(|n| !n.is_empty());
    let workflow_id = run.workflow_id.or(workflow.and_then(|w| w.id)).map(|id| id.to_string());
    // The path survives a rename of the workflow's `name`; the id survives neither better.
    let identity = path.or(name).or(workflow_id.as_deref()).unwrap_or("unknown");
    let cluster_key = cluster::workflow_run_key(&repo, identity, &conclusion);
    let details = FailureDetails {
        cluster_key: cluster_key.clone(),
        occurred_at: clean_opt(run.updated_at.as_deref().or(run.run_started_at.as_deref())),
        environment: None,
        correlation: Correlation::default(),
        trigger: None,
        log_trail: Vec::new(),
        source: FailureSource::WorkflowRun(WorkflowRunFailure {
            repo: repo.clone(),
            workflow_name: clean_line(name.or(path).unwrap_or("unknown workflow"), MAX_FIELD_CHARS),
            workflow_path: clean_opt(path),
            conclusion: conclusion.clone(),
            run_id: run.id,
            run_number: run.run_number,
            run_attempt: run.run_attempt,
            run_url: run.id.map(|id| run_url(&repo, id, run.html_url.as_deref())),
            head_branch: clean_opt(run.head_branch.as_deref()),
            head_sha: run
                .head_sha
                .as_deref()
                .filter(|sha| is_hex(sha))
                .map(str::to_ascii_lowercase),
            event: clean_opt(run.event.as_deref()),
        }),
    };
    Ok(Failure {
        title: render::issue_title(&details),
        cluster_key,
        kind: FailureKind::WorkflowRun,
        repo,
        details,
    })
}

/// The scrubber shared by every event: building one compiles its keyword search.
fn scrubber() -> &'static Scrubber {
    static SCRUBBER: LazyLock<Scrubber> = LazyLock::new(Scrubber::new);
    &SCRUBBER
}

/// Scrubbed, on one line, at most `max_chars` characters.
fn clean_line(text: &str, max_chars: usize) -> String {
    one_line(&scrubber().scrub(text).text, max_chars)
}

/// [`clean_line`] for free text bound for a plugin's repository (a log line): the scrubber's
/// catch-all also replaces random-looking tokens no rule knows (see PRIVACY.md).
fn clean_free_line(text: &str, max_chars: usize) -> String {
    one_line(&scrubber().scrub_free_text(text).text, max_chars)
}

fn one_line(scrubbed: &str, max_chars: usize) -> String {
    let one_line = scrubbed.split_whitespace().collect::<Vec<_>>().join(" ");
    let printable: String = one_line.chars().filter(|c| !c.is_control()).collect();
    defuse_markers(&truncate(&printable, max_chars)).into_owned()
}

/// Scrubbed with the catch-all for free text (the error message, stack and response), line
/// breaks kept, other control characters dropped, at most `max_chars`.
fn clean_block(text: &str, max_chars: usize) -> String {
    let scrubbed = scrubber().scrub_free_text(text);
    let printable: String = scrubbed
        .text
        .chars()
        .filter(|&c| c == '\n' || c == '\t' || !c.is_control())
        .collect();
    defuse_markers(&truncate(printable.trim_end(), max_chars)).into_owned()
}

/// `None` for absent or blank values.
fn clean_opt(text: Option<&str>) -> Option<String> {
    text.map(|t| clean_line(t, MAX_FIELD_CHARS)).filter(|t| !t.is_empty())
}

fn truncate(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

fn is_hex(text: &str) -> bool {
    (7..=64).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The first 12 characters of a blob or commit sha; anything else is cleaned as text.
fn short_sha(sha: &str) -> String {
    let sha = sha.trim();
    if is_hex(sha) {
        sha[..sha.len().min(12)].to_ascii_lowercase()
    } else {
        clean_line(sha, 64)
    }
}

fn trigger_of(event: Option<&str>, repo: Option<&str>, number: Option<u64>) -> Trigger {
    // A repository name goes into a link: it must be one, and scrubbing must not change it.
    let repo = repo
        .map(str::trim)
        .filter(|r| names::valid_repo_name(r) && scrubber().scrub(r).redactions == 0)
        .map(str::to_string);
    let url = match (&repo, number) {
        (Some(repo), Some(number)) => Some(format!("https://github.com/{repo}/issues/{number}")),
        _ => None,
    };
    Trigger {
        event: clean_opt(event),
        repo,
        number,
        url,
    }
}

/// GitHub's own run link when it is one for this repository and run, else github.com's.
fn run_url(repo: &str, run_id: u64, html_url: Option<&str>) -> String {
    let own = format!("https://github.com/{repo}/actions/runs/{run_id}");
    html_url
        .map(str::trim)
        .filter(|url| {
            url.strip_prefix("https://")
                .and_then(|rest| rest.split_once('/'))
                .is_some_and(|(host, path)| {
                    !host.is_empty()
                        && host
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
                        && path.eq_ignore_ascii_case(&format!("{repo}/actions/runs/{run_id}"))
                })
        })
        .map_or(own, str::to_string)
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod free_text_tests {
    use super::{clean_block, clean_free_line, clean_line};

    /// The kernel's message and log trail go into plugin repositories: a token no rule knows
    /// is replaced there, while structured fields keep the rules alone.
    #[test]
    fn free_text_fields_get_the_catch_all_and_structured_ones_do_not() {
        let token = "aZ3kP9qL2xW7mN4vB8cR1tY6";
        let text = format!("upstream said {token} is invalid");
        assert!(!clean_block(&text, 500).contains(token));
        assert!(!clean_free_line(&text, 500).contains(token));
        assert!(clean_line(&text, 500).contains(token));
    }
}
