//! The two payloads the hotfix route reads, as the kernel and GitHub send them: the kernel's
//! `kernel.plugin_error` event and GitHub's `workflow_run` webhook. Both are read leniently:
//! extra fields are ignored (senders add fields over time), and an optional field of the wrong
//! type counts as absent instead of rejecting the event. Only what routing cannot do without
//! is required: the plugin and the error, or the run and its repository.
//!
//! Nothing here is trusted or scrubbed yet; `mod.rs` scrubs every string it passes on.
#![allow(
    dead_code,
    reason = "the payloads are written out as their senders document them; routing reads a part"
)]

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};

/// `kernel.plugin_error`, as built by the kernel's `buildKernelPluginErrorPayload`, plus the
/// optional fields of the original proposal (`stack`, `raw`, `manifest`, `responseSnippet`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PluginErrorEvent {
    #[serde(default, deserialize_with = "lenient")]
    pub event: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub timestamp: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub state_id: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub environment: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub config_path: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub config: Option<ConfigInfo>,
    #[serde(default, deserialize_with = "lenient")]
    pub kernel: Option<KernelInfo>,
    #[serde(default, deserialize_with = "lenient")]
    pub source: Option<SourceInfo>,
    #[serde(default, deserialize_with = "lenient")]
    pub trigger: Option<TriggerInfo>,
    pub plugin: PluginInfo,
    pub error: ErrorInfo,
    #[serde(default, deserialize_with = "lenient")]
    pub context: Option<ContextInfo>,
    #[serde(default, deserialize_with = "lenient")]
    pub log_trail: Option<LogTrail>,
    #[serde(default, deserialize_with = "lenient")]
    pub repository: Option<RepositoryInfo>,
    #[serde(default, deserialize_with = "lenient")]
    pub installation: Option<InstallationInfo>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ConfigInfo {
    #[serde(default, deserialize_with = "lenient")]
    pub path: Option<String>,
    #[serde(default, deserialize_with = "lenient_list")]
    pub sources: Vec<ConfigSource>,
}

/// One configuration file the kernel merged: `owner/repo`, path and blob sha.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ConfigSource {
    #[serde(default, deserialize_with = "lenient")]
    pub owner: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub repo: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub path: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub sha: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct KernelInfo {
    #[serde(default, deserialize_with = "lenient")]
    pub commit: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub version: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceInfo {
    #[serde(default, deserialize_with = "lenient")]
    pub kernel_repo: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub environment: Option<String>,
}

/// The GitHub event whose handling failed.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TriggerInfo {
    /// `issue_comment.created`, ...
    #[serde(default, deserialize_with = "lenient")]
    pub github_event: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub delivery_id: Option<String>,
    /// `owner/repo`.
    #[serde(default, deserialize_with = "lenient")]
    pub repo: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub issue_or_pr: Option<u64>,
    /// Login of the event's sender.
    #[serde(default, deserialize_with = "lenient")]
    pub actor: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PluginInfo {
    /// `workflow`, `http` or `kernel`; other values are kept as they are.
    #[serde(rename = "type", default, deserialize_with = "lenient")]
    pub kind: Option<String>,
    /// `owner/repo:workflowId@ref` for a workflow plugin, the URL for an HTTP plugin.
    pub id: String,
    #[serde(default, deserialize_with = "lenient")]
    pub owner: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub repo: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub workflow_id: Option<String>,
    #[serde(rename = "ref", default, deserialize_with = "lenient")]
    pub git_ref: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub settings: Option<PluginSettings>,
    #[serde(default, deserialize_with = "lenient")]
    pub manifest: Option<Manifest>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct PluginSettings {
    #[serde(rename = "with", default, deserialize_with = "lenient")]
    pub with: Option<PluginWith>,
}

/// The only `with` keys the kernel forwards (`safePluginWith`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PluginWith {
    #[serde(default, deserialize_with = "lenient")]
    pub source_repo: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub source_ref: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Manifest {
    #[serde(default, deserialize_with = "lenient")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub version: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ErrorInfo {
    /// At most 280 characters plus `...` from the kernel, already stripped of bearer and
    /// GitHub tokens there; scrubbed again here.
    #[serde(default, deserialize_with = "lenient")]
    pub message: Option<String>,
    /// Null for real HTTP worker failures: see `cluster::http_status`.
    #[serde(default, deserialize_with = "lenient")]
    pub status: Option<u64>,
    /// `workflow`, `http`, `kernel`; the proposal also named `dispatch`, `timeout` and
    /// `validation`. Unknown values are kept.
    #[serde(default, deserialize_with = "lenient")]
    pub category: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub stack: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub raw: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContextInfo {
    #[serde(default, deserialize_with = "lenient")]
    pub request_id: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub retry_count: Option<u64>,
    #[serde(default, deserialize_with = "lenient")]
    pub response_snippet: Option<String>,
}

/// The kernel's log lines for the failing request: at most 40 of at most 240 characters.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogTrail {
    #[serde(default, deserialize_with = "lenient")]
    pub request_id: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub started_at: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub duration_ms: Option<f64>,
    #[serde(default, deserialize_with = "lenient_list")]
    pub lines: Vec<String>,
}

/// The repository the kernel authenticated for (`with.sourceRepo` or the trigger's).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RepositoryInfo {
    #[serde(default, deserialize_with = "lenient")]
    pub owner: Option<Account>,
    #[serde(default, deserialize_with = "lenient")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub full_name: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Account {
    #[serde(default, deserialize_with = "lenient")]
    pub login: Option<String>,
    #[serde(rename = "type", default, deserialize_with = "lenient")]
    pub kind: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct InstallationInfo {
    #[serde(default, deserialize_with = "lenient")]
    pub id: Option<u64>,
}

/// GitHub's `workflow_run` webhook (`X-GitHub-Event: workflow_run`).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct WorkflowRunEvent {
    /// `requested`, `in_progress` or `completed`.
    pub action: String,
    pub workflow_run: WorkflowRun,
    #[serde(default, deserialize_with = "lenient")]
    pub workflow: Option<Workflow>,
    pub repository: Repository,
    #[serde(default, deserialize_with = "lenient")]
    pub sender: Option<Account>,
    #[serde(default, deserialize_with = "lenient")]
    pub installation: Option<InstallationInfo>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct WorkflowRun {
    #[serde(default, deserialize_with = "lenient")]
    pub id: Option<u64>,
    #[serde(default, deserialize_with = "lenient")]
    pub name: Option<String>,
    /// `.github/workflows/compute.yml`: stable across renames of the workflow's `name`.
    #[serde(default, deserialize_with = "lenient")]
    pub path: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub display_title: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub head_branch: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub head_sha: Option<String>,
    /// What started the run: `push`, `workflow_dispatch`, ...
    #[serde(default, deserialize_with = "lenient")]
    pub event: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub status: Option<String>,
    /// Null until the run completes.
    #[serde(default, deserialize_with = "lenient")]
    pub conclusion: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub html_url: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub run_number: Option<u64>,
    #[serde(default, deserialize_with = "lenient")]
    pub run_attempt: Option<u64>,
    #[serde(default, deserialize_with = "lenient")]
    pub workflow_id: Option<u64>,
    #[serde(default, deserialize_with = "lenient")]
    pub created_at: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub updated_at: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub run_started_at: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub actor: Option<Account>,
    #[serde(default, deserialize_with = "lenient")]
    pub triggering_actor: Option<Account>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Workflow {
    #[serde(default, deserialize_with = "lenient")]
    pub id: Option<u64>,
    #[serde(default, deserialize_with = "lenient")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub path: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Repository {
    /// `owner/repo`.
    pub full_name: String,
    #[serde(default, deserialize_with = "lenient")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub owner: Option<Account>,
}

/// A field that is absent, null, or of a type we do not expect reads as `None`: one odd
/// optional field must not cost the whole failure report.
fn lenient<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    let value = serde_json::Value::deserialize(deserializer)?;
    Ok(serde_json::from_value(value).ok())
}

/// A list keeps the elements that read as `T` and drops the others.
fn lenient_list<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    let value = serde_json::Value::deserialize(deserializer)?;
    Ok(match value {
        serde_json::Value::Array(items) => items
            .into_iter()
            .filter_map(|item| serde_json::from_value(item).ok())
            .collect(),
        _ => Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLUGIN_ERROR: &str = include_str!("../../tests/fixtures/hotfix/kernel_plugin_error.json");
    const WORKFLOW_RUN: &str = include_str!("../../tests/fixtures/hotfix/workflow_run_failure.json");

    #[test]
    fn the_kernel_fixture_reads_every_field() {
        let event: PluginErrorEvent = serde_json::from_str(PLUGIN_ERROR).expect("fixture");
        assert_eq!(event.event.as_deref(), Some("kernel.plugin_error"));
        assert!(event.timestamp.is_some() && event.state_id.is_some());
        assert_eq!(event.environment.as_deref(), Some("production"));
        assert!(event.config_path.is_some());
        let config = event.config.expect("config");
        assert!(config.path.is_some());
        assert_eq!(config.sources.len(), 2);
        assert!(config.sources.iter().all(|s| s.sha.is_some()));
        assert!(event.kernel.and_then(|k| k.commit).is_some());
        assert_eq!(
            event.source.and_then(|s| s.kernel_repo).as_deref(),
            Some("ubiquity-os/ubiquity-os-kernel")
        );
        let trigger = event.trigger.expect("trigger");
        assert_eq!(trigger.github_event.as_deref(), Some("issue_comment.created"));
        assert_eq!(trigger.issue_or_pr, Some(42));
        assert!(trigger.delivery_id.is_some() && trigger.repo.is_some() && trigger.actor.is_some());
        assert_eq!(event.plugin.kind.as_deref(), Some("http"));
        assert!(event.plugin.id.starts_with("https://"));
        assert!(event.plugin.git_ref.is_some());
        assert!(
            event
                .plugin
                .settings
                .and_then(|s| s.with)
                .and_then(|w| w.source_repo)
                .is_some()
        );
        assert_eq!(event.error.status, None);
        assert_eq!(event.error.category.as_deref(), Some("http"));
        assert!(
            event
                .error
                .message
                .expect("message")
                .starts_with("HTTP (target: https://")
        );
        let context = event.context.expect("context");
        assert_eq!(context.retry_count, Some(0));
        assert!(context.request_id.is_some());
        let trail = event.log_trail.expect("log trail");
        assert!(trail.request_id.is_some() && trail.started_at.is_some() && trail.duration_ms.is_some());
        assert!(!trail.lines.is_empty());
        let repository = event.repository.expect("repository");
        assert!(repository.full_name.is_some() && repository.name.is_some());
        assert!(repository.owner.and_then(|o| o.login).is_some());
        assert!(event.installation.and_then(|i| i.id).is_some());
    }

    #[test]
    fn the_workflow_run_fixture_reads() {
        let event: WorkflowRunEvent = serde_json::from_str(WORKFLOW_RUN).expect("fixture");
        assert_eq!(event.action, "completed");
        assert_eq!(event.workflow_run.conclusion.as_deref(), Some("failure"));
        assert_eq!(
            event.workflow_run.path.as_deref(),
            Some(".github/workflows/compute.yml")
        );
        assert!(event.workflow_run.id.is_some() && event.workflow_run.head_sha.is_some());
        assert!(event.workflow.is_some());
        assert!(!event.repository.full_name.is_empty());
        assert!(event.sender.and_then(|s| s.login).is_some());
    }

    #[test]
    fn extra_fields_and_unknown_categories_are_accepted() {
        let event: PluginErrorEvent = serde_json::from_str(
            r#"{"event":"kernel.plugin_error","novel":{"x":[1,2]},
                "plugin":{"id":"o/r:compute.yml@main","type":"edge","extra":true},
                "error":{"message":"boom","category":"validation","status":null,"stack":"at x"}}"#,
        )
        .expect("lenient");
        assert_eq!(event.error.category.as_deref(), Some("validation"));
        assert_eq!(event.plugin.kind.as_deref(), Some("edge"));
        assert_eq!(event.error.stack.as_deref(), Some("at x"));
    }

    #[test]
    fn a_field_of_the_wrong_type_reads_as_absent() {
        let event: PluginErrorEvent = serde_json::from_str(
            r#"{"plugin":{"id":"o/r","owner":7},"error":{"message":3,"status":"502"},
                "trigger":{"issueOrPr":"12","repo":"o/r"},"logTrail":{"lines":["a",1,null,"b"]},
                "context":"x","installation":{"id":-1}}"#,
        )
        .expect("lenient");
        assert_eq!(event.plugin.owner, None);
        assert_eq!(event.error.message, None);
        assert_eq!(event.error.status, None);
        let trigger = event.trigger.expect("trigger");
        assert_eq!(trigger.issue_or_pr, None);
        assert_eq!(trigger.repo.as_deref(), Some("o/r"));
        assert_eq!(event.log_trail.expect("trail").lines, vec!["a", "b"]);
        assert!(event.context.is_none());
        assert_eq!(event.installation.and_then(|i| i.id), None);
    }

    #[test]
    fn the_plugin_and_the_error_are_required() {
        assert!(serde_json::from_str::<PluginErrorEvent>(r#"{"error":{}}"#).is_err());
        assert!(serde_json::from_str::<PluginErrorEvent>(r#"{"plugin":{"id":"o/r"}}"#).is_err());
        assert!(serde_json::from_str::<PluginErrorEvent>(r#"{"plugin":{},"error":{}}"#).is_err());
        assert!(serde_json::from_str::<WorkflowRunEvent>(r#"{"action":"completed","workflow_run":{}}"#).is_err());
    }
}
