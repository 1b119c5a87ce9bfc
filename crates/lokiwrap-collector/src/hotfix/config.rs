//! The `[hotfix]` table of the collector's TOML. Every value is checked while the file is read,
//! so a config that loads is one the routing code can trust: repository names are well formed
//! and lower-cased, mentions are mentions, and auto-merge cannot be turned on.
//!
//! ```toml
//! [hotfix]
//! enabled = true                         # default false: nothing is filed until turned on
//! modes = ["issue"]                      # default ["issue"]; "pr" turns on guarded auto-fix
//! issue_labels = ["bug", "autofix"]      # default ["bug"]
//! notify = ["@team-bot"]                 # default []: @login or @org/team
//! allowlist_repos = ["owner/plugin"]     # default []: no workflow run is filed
//! self_ids = ["owner/daemon-hotfix"]     # default []: plugin ids, URLs or repositories
//! bot_login = "lokiwrap-collector[bot]"  # default none
//! webhook_secret_env = "LOKIWRAP_WEBHOOK_SECRET"  # the default
//! max_new_issues_per_repo_per_hour = 10  # the default
//! window_hours = 24                      # the default
//! store_raw_payloads = false             # the default
//! kernel_public_key_file = "/etc/lokiwrap/kernel.pem"  # default none: inputs are not verified
//! require_kernel_token = false           # the default; true refuses inputs without an expiry
//! kernel_ref = "https://collector.example.dev/v1/events"  # default none: ref not checked
//! kernel_public_key_file = "/etc/lokiwrap/kernel.pem"  # default none: see allow_unsigned_events
//! allow_unsigned_events = false          # the default; true needs target_repos and no key file
//! target_repos = ["owner", "owner/repo"] # default []: plugin failures may go to any repository
//! kernel_repo = "owner/kernel-triage"    # default: github.triage_repo; the kernel's own failures
//! [hotfix.plugin_repos]                  # default {}: HTTP plugin URL prefix -> repository
//! "https://plugin.example.workers.dev" = "owner/plugin"
//! [hotfix.risk_policy]
//! auto_merge = false                     # must be false
//! max_autofix_per_day = 3                # the default
//! ```

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Deserializer};

use super::names::{normalise_url, self_id, valid_owner_name, valid_repo_name};

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HotfixConfig {
    /// Off by default: an absent or empty `[hotfix]` table files nothing.
    pub enabled: bool,
    #[serde(deserialize_with = "modes")]
    pub modes: Vec<Mode>,
    #[serde(deserialize_with = "labels")]
    pub issue_labels: Vec<String>,
    /// Mentions written at the end of a new issue, each `@login` or `@org/team`.
    #[serde(deserialize_with = "mentions")]
    pub notify: Vec<String>,
    /// Repositories whose failed workflow runs are filed, lower-cased `owner/repo`. Empty
    /// means none: a webhook for every repository of an installation must not file issues
    /// everywhere by default.
    #[serde(deserialize_with = "repo_names")]
    pub allowlist_repos: Vec<String>,
    /// The hotfix route itself: plugin ids (`owner/repo:workflow@ref`), plugin URLs or
    /// repositories. Stored without `@ref` and `:workflow`, lower-cased; a failure that
    /// names one of them is never filed, so a failing route cannot feed itself.
    #[serde(deserialize_with = "self_ids")]
    pub self_ids: Vec<String>,
    /// The collector's own GitHub login. Events it caused are ignored: filing an issue about
    /// a failure the collector's own write triggered would loop.
    #[serde(deserialize_with = "bot_login")]
    pub bot_login: Option<String>,
    /// Name of the environment variable holding the webhook secret; the secret itself never
    /// lives in the file.
    #[serde(deserialize_with = "env_name")]
    pub webhook_secret_env: String,
    /// New issues one repository may receive per hour; further clusters wait.
    #[serde(deserialize_with = "issues_per_hour")]
    pub max_new_issues_per_repo_per_hour: u32,
    /// Occurrences of one cluster within this many hours count as the same episode.
    #[serde(deserialize_with = "window_hours")]
    pub window_hours: u32,
    /// Keep the raw event next to the cluster (for replay). Off: raw payloads may hold more
    /// than the scrubbed fields the issue shows.
    pub store_raw_payloads: bool,
    /// PEM file with the kernel's RSA public key. When set, the collector accepts the
    /// kernel's signed plugin inputs and checks their signature.
    pub kernel_public_key_file: Option<PathBuf>,
    /// Refuse signed inputs that carry no `ubiquityKernelToken`: without one, nothing says
    /// when inputs were signed, so a captured request could be replayed for ever.
    pub require_kernel_token: bool,
    /// The `ref` the kernel dispatches this collector with (its `/v1/events` URL as written in
    /// the kernel's configuration); inputs signed for any other plugin are refused. Absent =
    /// not checked.
    pub kernel_ref: Option<String>,
    /// Take `kernel.plugin_error` events without the kernel's signature (no
    /// `kernel_public_key_file`). Whoever reaches `POST /v1/events` writes such an event, the
    /// repository it names included, so this is allowed only together with `target_repos`.
    pub allow_unsigned_events: bool,
    /// The only repositories plugin failures are filed in, signed or not: `owner` (every
    /// repository of that owner) or `owner/repo`, lower-cased. Empty = wherever the event says,
    /// which only a signed event may decide.
    #[serde(deserialize_with = "target_repos")]
    pub target_repos: Vec<String>,
    /// HTTP plugin URL prefix to `owner/repo`, for plugins the event does not name a
    /// repository for. Keys are normalised like plugin URLs; the longest matching prefix wins.
    #[serde(deserialize_with = "plugin_repos")]
    pub plugin_repos: BTreeMap<String, String>,
    /// Where failures of the kernel itself (`plugin.type = "kernel"`) are filed, lower-cased
    /// `owner/repo`: the kernel's triage, never the repository whose event triggered it.
    /// Absent = `github.triage_repo` (filled in when the file is read); neither = not filed.
    #[serde(deserialize_with = "kernel_repo")]
    pub kernel_repo: Option<String>,
    pub risk_policy: RiskPolicy,
}

impl Default for HotfixConfig {
    fn default() -> Self {
        HotfixConfig {
            enabled: false,
            modes: vec![Mode::Issue],
            issue_labels: vec!["bug".to_string()],
            notify: Vec::new(),
            allowlist_repos: Vec::new(),
            self_ids: Vec::new(),
            bot_login: None,
            webhook_secret_env: "LOKIWRAP_WEBHOOK_SECRET".to_string(),
            max_new_issues_per_repo_per_hour: 10,
            window_hours: 24,
            store_raw_payloads: false,
            kernel_public_key_file: None,
            require_kernel_token: false,
            kernel_ref: None,
            allow_unsigned_events: false,
            target_repos: Vec::new(),
            plugin_repos: BTreeMap::new(),
            kernel_repo: None,
            risk_policy: RiskPolicy::default(),
        }
    }
}

impl HotfixConfig {
    /// What verified kernel inputs must satisfy besides their signature.
    pub fn kernel_checks(&self) -> super::signature::KernelChecks {
        super::signature::KernelChecks {
            require_token: self.require_kernel_token,
            expected_ref: self.kernel_ref.as_ref().map(|r| r.trim().to_string()),
        }
    }

    /// Whether guarded auto-fix (`"pr"` in `modes`) is on.
    pub fn autofix_enabled(&self) -> bool {
        self.modes.contains(&Mode::Pr)
    }

    /// Whether events may arrive as they are: an unsigned event picks its own repository, so
    /// the collector takes them only when told to and only for the repositories it names. `Err`
    /// says what to change; checked before the collector starts.
    pub fn check_unsigned_events(&self) -> Result<(), String> {
        if !self.enabled {
            return Ok(());
        }
        match (&self.kernel_public_key_file, self.allow_unsigned_events) {
            (Some(_), true) => Err(
                "hotfix.allow_unsigned_events = true and hotfix.kernel_public_key_file are both set: with the key \
                 only signed events are taken. Remove hotfix.allow_unsigned_events (keep hotfix.target_repos to \
                 limit signed events too), or remove the key file to take unsigned events"
                    .to_string(),
            ),
            (None, allowed) if !allowed || self.target_repos.is_empty() => Err(
                "hotfix is enabled without hotfix.kernel_public_key_file, so anyone who can reach POST /v1/events \
                 would choose the repository an issue is filed in. Set hotfix.kernel_public_key_file to the \
                 kernel's public key, or set hotfix.allow_unsigned_events = true together with \
                 hotfix.target_repos = [\"owner\", \"owner/repo\"] naming where unsigned events may file issues"
                    .to_string(),
            ),
            _ => Ok(()),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// File and update one issue per failure cluster.
    Issue,
    /// Also propose a fix as a pull request, within `risk_policy`.
    Pr,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RiskPolicy {
    /// Always false: the collector never merges. `true` is refused when the file is read.
    #[serde(deserialize_with = "auto_merge")]
    pub auto_merge: bool,
    pub max_autofix_per_day: u32,
}

impl Default for RiskPolicy {
    fn default() -> Self {
        RiskPolicy {
            auto_merge: false,
            max_autofix_per_day: 3,
        }
    }
}

fn invalid<E: serde::de::Error>(message: String) -> E {
    E::custom(message)
}

fn kernel_repo<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    let repo = String::deserialize(deserializer)?;
    let repo = repo.trim();
    if !valid_repo_name(repo) {
        return Err(invalid(format!(
            "hotfix.kernel_repo = {repo:?} is not a repository; write it as \"owner/name\", where the kernel's \
             own failures are triaged"
        )));
    }
    Ok(Some(repo.to_ascii_lowercase()))
}

fn auto_merge<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    if bool::deserialize(deserializer)? {
        return Err(invalid(
            "hotfix.risk_policy.auto_merge = true is not supported: the collector never merges a pull request. \
             Set it to false or remove the key"
                .to_string(),
        ));
    }
    Ok(false)
}

fn modes<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<Mode>, D::Error> {
    let modes = Vec::<Mode>::deserialize(deserializer)?;
    if modes.is_empty() {
        return Err(invalid(
            "hotfix.modes is empty: use [\"issue\"], or set hotfix.enabled = false to file nothing".to_string(),
        ));
    }
    Ok(modes)
}

fn labels<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    let labels = Vec::<String>::deserialize(deserializer)?;
    for label in &labels {
        // GitHub's own limit is 50 characters; a comma would split the label in some APIs.
        if label.trim().is_empty() || label.chars().count() > 50 || label.contains(',') {
            return Err(invalid(format!(
                "hotfix.issue_labels: {label:?} is not a usable label: use 1 to 50 characters without commas"
            )));
        }
    }
    Ok(labels)
}

fn mentions<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    let mentions = Vec::<String>::deserialize(deserializer)?;
    for mention in &mentions {
        if !is_mention(mention) {
            return Err(invalid(format!(
                "hotfix.notify: {mention:?} is not a mention: write @login or @org/team"
            )));
        }
    }
    Ok(mentions)
}

/// `@login` or `@org/team`: only these go verbatim into an issue body, so nothing else can be
/// smuggled in as markdown.
fn is_mention(text: &str) -> bool {
    let Some(rest) = text.strip_prefix('@') else {
        return false;
    };
    let (login, team) = match rest.split_once('/') {
        Some((login, team)) => (login, Some(team)),
        None => (rest, None),
    };
    let login_ok = !login.is_empty()
        && login.len() <= 39
        && !login.starts_with('-')
        && login.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    let team_ok = team.is_none_or(|team| {
        !team.is_empty()
            && team.len() <= 100
            && team
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    });
    login_ok && team_ok
}

fn repo_names<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    let names = Vec::<String>::deserialize(deserializer)?;
    names
        .iter()
        .map(|name| {
            let trimmed = name.trim();
            if valid_repo_name(trimmed) {
                Ok(trimmed.to_ascii_lowercase())
            } else {
                Err(invalid(format!(
                    "hotfix.allowlist_repos: {name:?} is not a repository: write owner/repo"
                )))
            }
        })
        .collect()
}

fn target_repos<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    let entries = Vec::<String>::deserialize(deserializer)?;
    entries
        .iter()
        .map(|entry| {
            let trimmed = entry.trim();
            if valid_repo_name(trimmed) || valid_owner_name(trimmed) {
                Ok(trimmed.to_ascii_lowercase())
            } else {
                Err(invalid(format!(
                    "hotfix.target_repos: {entry:?} is neither an owner nor a repository: write owner or owner/repo"
                )))
            }
        })
        .collect()
}

fn self_ids<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    let ids = Vec::<String>::deserialize(deserializer)?;
    ids.iter()
        .map(|id| {
            self_id(id).ok_or_else(|| {
                invalid(format!(
                    "hotfix.self_ids: {id:?} is neither a plugin id, a plugin URL nor a repository: \
                     write owner/repo, owner/repo:workflow.yml@ref or https://host/path"
                ))
            })
        })
        .collect()
}

fn bot_login<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    let login = String::deserialize(deserializer)?;
    let trimmed = login.trim();
    let base = trimmed.strip_suffix("[bot]").unwrap_or(trimmed);
    if base.is_empty() || !base.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return Err(invalid(format!(
            "hotfix.bot_login: {login:?} is not a GitHub login: write e.g. \"my-app[bot]\""
        )));
    }
    Ok(Some(trimmed.to_string()))
}

fn env_name<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    let name = String::deserialize(deserializer)?;
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return Err(invalid(format!(
            "hotfix.webhook_secret_env: {name:?} is not an environment variable name: \
             use letters, digits and _ (the secret itself belongs in that variable, not in this file)"
        )));
    }
    Ok(name)
}

fn issues_per_hour<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u32, D::Error> {
    at_least_one(deserializer, "hotfix.max_new_issues_per_repo_per_hour")
}

fn window_hours<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u32, D::Error> {
    at_least_one(deserializer, "hotfix.window_hours")
}

fn at_least_one<'de, D: Deserializer<'de>>(deserializer: D, key: &str) -> Result<u32, D::Error> {
    let value = u32::deserialize(deserializer)?;
    if value == 0 {
        return Err(invalid(format!(
            "{key} must be at least 1 (to stop filing issues, set hotfix.enabled = false)"
        )));
    }
    Ok(value)
}

fn plugin_repos<'de, D: Deserializer<'de>>(deserializer: D) -> Result<BTreeMap<String, String>, D::Error> {
    let map = BTreeMap::<String, String>::deserialize(deserializer)?;
    let mut checked = BTreeMap::new();
    for (url, repo) in map {
        let Some(prefix) = normalise_url(&url) else {
            return Err(invalid(format!(
                "hotfix.plugin_repos: {url:?} is not a plugin URL: write the http:// or https:// address the kernel \
                 dispatches to"
            )));
        };
        let repo_trimmed = repo.trim();
        if !valid_repo_name(repo_trimmed) {
            return Err(invalid(format!(
                "hotfix.plugin_repos: the repository for {url:?}, {repo:?}, is not a repository: write owner/repo"
            )));
        }
        checked.insert(prefix, repo_trimmed.to_ascii_lowercase());
    }
    Ok(checked)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    struct Collector {
        #[serde(default)]
        hotfix: HotfixConfig,
    }

    fn parse(text: &str) -> Result<HotfixConfig, String> {
        toml::from_str::<Collector>(text)
            .map(|c| c.hotfix)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn the_documented_example_loads() {
        let cfg = parse(
            r#"
            [hotfix]
            enabled = true
            modes = ["issue"]
            issue_labels = ["bug", "autofix"]
            notify = ["@team-bot"]
            allowlist_repos = ["Owner/Plugin"]
            self_ids = ["owner/daemon-hotfix"]
            bot_login = "lokiwrap-collector[bot]"
            webhook_secret_env = "LOKIWRAP_WEBHOOK_SECRET"
            max_new_issues_per_repo_per_hour = 10
            [hotfix.risk_policy]
            auto_merge = false
            max_autofix_per_day = 3
            "#,
        )
        .expect("example config");
        assert!(cfg.enabled);
        assert_eq!(cfg.modes, vec![Mode::Issue]);
        assert_eq!(cfg.issue_labels, vec!["bug", "autofix"]);
        assert_eq!(cfg.notify, vec!["@team-bot"]);
        assert_eq!(cfg.allowlist_repos, vec!["owner/plugin"]);
        assert_eq!(cfg.self_ids, vec!["owner/daemon-hotfix"]);
        assert_eq!(cfg.bot_login.as_deref(), Some("lokiwrap-collector[bot]"));
        assert_eq!(cfg.max_new_issues_per_repo_per_hour, 10);
        assert_eq!(cfg.window_hours, 24);
        assert!(!cfg.store_raw_payloads);
        assert!(!cfg.risk_policy.auto_merge);
        assert_eq!(cfg.risk_policy.max_autofix_per_day, 3);
        assert!(!cfg.autofix_enabled());
    }

    #[test]
    fn an_absent_table_is_the_documented_defaults_and_files_nothing() {
        let cfg = parse("").expect("empty config");
        assert_eq!(cfg, HotfixConfig::default());
        assert!(!cfg.enabled);
        assert_eq!(cfg.webhook_secret_env, "LOKIWRAP_WEBHOOK_SECRET");
        assert_eq!(parse("[hotfix]\n").expect("empty table"), HotfixConfig::default());
    }

    #[test]
    fn auto_merge_true_is_refused_with_the_key_named() {
        let err = parse("[hotfix.risk_policy]\nauto_merge = true\n").expect_err("auto_merge = true");
        assert!(err.contains("hotfix.risk_policy.auto_merge"), "{err}");
        assert!(err.contains("false"), "{err}");
    }

    #[test]
    fn unknown_keys_are_refused() {
        let err = parse("[hotfix]\nenable = true\n").expect_err("typo");
        assert!(err.contains("enable"), "{err}");
        let err = parse("[hotfix.risk_policy]\nautomerge = false\n").expect_err("typo");
        assert!(err.contains("automerge"), "{err}");
    }

    #[test]
    fn self_ids_lose_ref_and_workflow_and_case() {
        let cfg = parse(
            r#"
            [hotfix]
            self_ids = ["Owner/Daemon-Hotfix:compute.yml@v1.2", "https://Hotfix.Example.com/api/", "o/r@main"]
            "#,
        )
        .expect("self ids");
        assert_eq!(
            cfg.self_ids,
            vec!["owner/daemon-hotfix", "https://hotfix.example.com/api", "o/r"]
        );
    }

    #[test]
    fn malformed_values_are_refused_with_the_fix() {
        for (text, key) in [
            (
                "[hotfix]\nallowlist_repos = [\"not a repo\"]\n",
                "hotfix.allowlist_repos",
            ),
            ("[hotfix]\nallowlist_repos = [\"a/b/c\"]\n", "hotfix.allowlist_repos"),
            ("[hotfix]\nnotify = [\"team-bot\"]\n", "hotfix.notify"),
            ("[hotfix]\nnotify = [\"@x <img src=y>\"]\n", "hotfix.notify"),
            ("[hotfix]\nself_ids = [\"\"]\n", "hotfix.self_ids"),
            ("[hotfix]\nbot_login = \"a b\"\n", "hotfix.bot_login"),
            (
                "[hotfix]\nwebhook_secret_env = \"s3cr3t-value!\"\n",
                "hotfix.webhook_secret_env",
            ),
            ("[hotfix]\nmodes = []\n", "hotfix.modes"),
            ("[hotfix]\nissue_labels = [\"\"]\n", "hotfix.issue_labels"),
            ("[hotfix.plugin_repos]\n\"ftp://x\" = \"o/r\"\n", "hotfix.plugin_repos"),
            (
                "[hotfix.plugin_repos]\n\"https://x\" = \"nope\"\n",
                "hotfix.plugin_repos",
            ),
        ] {
            let err = parse(text).expect_err(text);
            assert!(err.contains(key), "{text}: {err}");
        }
        let err = parse("[hotfix]\nwindow_hours = 0\n").expect_err("zero window");
        assert!(err.contains("window_hours") && err.contains("at least 1"), "{err}");
        let err = parse("[hotfix]\nmodes = [\"merge\"]\n").expect_err("unknown mode");
        assert!(err.contains("merge"), "{err}");
    }

    #[test]
    fn plugin_repos_and_key_file_load() {
        let cfg = parse(
            r#"
            [hotfix]
            modes = ["issue", "pr"]
            kernel_public_key_file = "/etc/lokiwrap/kernel.pem"
            store_raw_payloads = true
            window_hours = 6
            [hotfix.plugin_repos]
            "https://Plugin.Example.workers.dev/" = "Owner/Plugin"
            "#,
        )
        .expect("plugin repos");
        assert!(cfg.autofix_enabled());
        assert_eq!(cfg.window_hours, 6);
        assert!(cfg.store_raw_payloads);
        assert_eq!(
            cfg.kernel_public_key_file.as_deref(),
            Some(std::path::Path::new("/etc/lokiwrap/kernel.pem"))
        );
        assert_eq!(
            cfg.plugin_repos
                .get("https://plugin.example.workers.dev")
                .map(String::as_str),
            Some("owner/plugin")
        );
    }

    #[test]
    fn target_repos_are_owners_or_repositories_in_lower_case() {
        let cfg = parse("[hotfix]\ntarget_repos = [\" Acme \", \"Other/Repo\"]\n").expect("target repos");
        assert_eq!(cfg.target_repos, vec!["acme", "other/repo"]);
        for bad in ["\"\"", "\"acme/x/y\"", "\"acme x\"", "\"acme/..\"", "\"..\""] {
            let text = format!("[hotfix]\ntarget_repos = [{bad}]\n");
            let err = parse(&text).expect_err(&text);
            assert!(err.contains("hotfix.target_repos"), "{text}: {err}");
        }
    }

    #[test]
    fn unsigned_events_need_to_be_allowed_and_limited_to_target_repos() {
        let check = |text: &str| {
            parse(&format!("[hotfix]\nenabled = true\n{text}"))
                .unwrap()
                .check_unsigned_events()
        };
        for refused in [
            "",
            "allow_unsigned_events = true\n",
            "target_repos = [\"acme\"]\n",
            "allow_unsigned_events = true\ntarget_repos = [\"acme\"]\nkernel_public_key_file = \"k.pem\"\n",
        ] {
            let err = check(refused).expect_err(refused);
            assert!(
                err.contains("hotfix.allow_unsigned_events") && err.contains("hotfix.kernel_public_key_file"),
                "{err}"
            );
        }
        assert_eq!(
            check("allow_unsigned_events = true\ntarget_repos = [\"acme\"]\n"),
            Ok(())
        );
        assert_eq!(check("kernel_public_key_file = \"k.pem\"\n"), Ok(()));
        assert_eq!(
            check("kernel_public_key_file = \"k.pem\"\ntarget_repos = [\"acme\"]\n"),
            Ok(())
        );
        assert_eq!(parse("").unwrap().check_unsigned_events(), Ok(()), "hotfix off");
    }

    #[test]
    fn mentions_are_logins_or_teams() {
        for ok in ["@a", "@team-bot", "@org/team_x.y", "@A1-b"] {
            assert!(is_mention(ok), "{ok}");
        }
        for bad in ["a", "@", "@-a", "@a/", "@a b", "@a/b/c", "@a)", "@a_b"] {
            assert!(!is_mention(bad), "{bad}");
        }
    }
}
