//! The collector's settings: one TOML file (`--config`), every key optional, flags override it.
//! Secrets never live in the file, only the names of the environment variables that hold them.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address and port to listen on.
    pub listen: String,
    /// The SQLite file; absent = `collector.sqlite` in the platform data directory.
    pub database: Option<PathBuf>,
    /// The environment variable holding the bearer token for `/v1/stats`; unset = no stats.
    pub admin_token_env: String,
    /// Largest request body read, in bytes; a larger one gets 413.
    pub body_limit: usize,
    /// Peers whose `X-Forwarded-For` is believed (a reverse proxy in front of the collector).
    pub trusted_proxies: Vec<IpAddr>,
    pub limits: Limits,
    pub github: Github,
    /// Largest body read on `/v1/events` and `/github/webhook` (kernel events and GitHub
    /// webhooks are bigger than reports).
    pub events_body_limit: usize,
    /// Plugin failures and failed workflow runs (`POST /v1/events`, `POST /github/webhook`).
    pub hotfix: super::hotfix::HotfixConfig,
    pub promotion: Promotion,
    pub autofix: Autofix,
}

/// Promotion: a triage issue that reaches `threshold` occurrences, or that a maintainer labels
/// `confirm_label`, gets a sanitised issue in the public repository, linked both ways.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Promotion {
    /// Absent = no promotion.
    pub public_repo: Option<String>,
    /// Occurrences that promote by themselves; 0 = only the label promotes.
    pub threshold: u64,
    /// The label (seen through the `issues` webhook) that promotes at once.
    pub confirm_label: String,
    pub labels: Vec<String>,
    /// While this file exists, nothing is promoted and no auto-fix runs or writes: the kill
    /// switch, effective at once without a restart.
    pub kill_switch_file: Option<PathBuf>,
}

/// Guarded auto-fix for promoted subjects, on when `hotfix.modes` has `"pr"`: run `command` in
/// a fresh worktree of `repo_dir`, require `test_command` to pass, push a branch and open a pull
/// request. It never merges; `hotfix.risk_policy.max_autofix_per_day` caps the runs.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Autofix {
    /// A clone of the public repository whose `origin` accepts the fix branches.
    pub repo_dir: Option<PathBuf>,
    /// The fixer, e.g. `["loki", "start", "{issue_url}"]`; `{issue_url}`, `{issue_number}`,
    /// `{repo}` and `{key}` are filled in.
    pub command: Vec<String>,
    /// Must exit 0 in the worktree after the fixer ran, or no pull request is opened.
    pub test_command: Vec<String>,
    /// Limit for each of the two commands.
    pub timeout_secs: u64,
    pub base_branch: String,
    /// Run and test, but push nothing and open no pull request.
    pub dry_run: bool,
}

impl Default for Promotion {
    fn default() -> Promotion {
        Promotion {
            public_repo: None,
            threshold: 0,
            confirm_label: "confirmed".into(),
            labels: vec!["bug".into()],
            kill_switch_file: None,
        }
    }
}

impl Default for Autofix {
    fn default() -> Autofix {
        Autofix {
            repo_dir: None,
            command: Vec::new(),
            test_command: Vec::new(),
            timeout_secs: 1800,
            base_branch: "main".into(),
            dry_run: true,
        }
    }
}

impl Promotion {
    /// The kill switch is on: promotion and auto-fix stop.
    pub fn stopped(&self) -> bool {
        self.kill_switch_file.as_ref().is_some_and(|path| path.exists())
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Reports accepted per source address per minute; more get 429.
    pub per_ip_per_minute: u32,
    /// Reports accepted per project (`project_id_hash`) per minute, from any address.
    pub per_project_per_minute: u32,
    /// Addresses or projects tracked at once per limiter; beyond it, new ones wait for the next
    /// minute. Bounds the limiter's memory whatever the clients send.
    pub max_tracked_keys: usize,
    /// Report ids remembered for de-duplication, in days.
    pub report_id_days: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Github {
    pub api_url: String,
    /// The environment variable holding the token (fine-grained, or an App installation token,
    /// with Issues: write).
    pub token_env: String,
    /// Where crash issues go; absent (and no `tool_repos`) = store and count, file nothing.
    pub triage_repo: Option<String>,
    /// The login the token files issues as (`my-app[bot]` for an App, the user for a personal
    /// token). When set, only issues it opened are adopted or closed when recovering, and only
    /// on those does the confirm label promote.
    pub creator: Option<String>,
    /// Labels put on every issue the collector files. The first one is how the collector finds
    /// its own issues again if its store is lost, so there must be at least one.
    pub labels: Vec<String>,
    /// Per-tool repositories, by tool name; others go to `triage_repo`.
    pub tool_repos: BTreeMap<String, String>,
    /// At most one counter update per issue in this many seconds.
    pub update_interval_secs: u64,
    /// Least time between two writes to GitHub.
    pub write_interval_ms: u64,
    /// Least time between two writes that notify people (new issue, new comment).
    pub notify_interval_ms: u64,
    /// Writes per rolling hour; GitHub allows 500 content-creating requests per hour.
    pub hourly_budget: u32,
    /// Reopen issues closed as "not planned" when they recur.
    pub reopen_not_planned: bool,
    /// Wait after a rate-limit answer that names no time, doubled on each repeat.
    pub rate_limit_wait_secs: u64,
    /// Least wait before a write that got no clear answer is looked up and tried again: GitHub's
    /// lists can take a while to show a new issue.
    pub ambiguous_retry_secs: u64,
    /// How long a reading of a repository's issues is trusted; after it, the next new issue
    /// there lists them again (and closes any duplicate filed while lists lagged).
    pub relist_secs: u64,
    /// Tries per job before it is parked for an hour (it is never dropped).
    pub max_attempts: u32,
    /// Timeout of one GitHub request.
    pub request_timeout_secs: u64,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            listen: "127.0.0.1:8080".into(),
            database: None,
            admin_token_env: "LOKIWRAP_ADMIN_TOKEN".into(),
            body_limit: 64 * 1024,
            trusted_proxies: Vec::new(),
            limits: Limits::default(),
            github: Github::default(),
            events_body_limit: 1024 * 1024,
            hotfix: super::hotfix::HotfixConfig::default(),
            promotion: Promotion::default(),
            autofix: Autofix::default(),
        }
    }
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            per_ip_per_minute: 120,
            per_project_per_minute: 600,
            max_tracked_keys: 100_000,
            report_id_days: 30,
        }
    }
}

impl Default for Github {
    fn default() -> Github {
        Github {
            api_url: "https://api.github.com".into(),
            token_env: "LOKIWRAP_GITHUB_TOKEN".into(),
            triage_repo: None,
            creator: None,
            labels: vec!["crash-report".into()],
            tool_repos: BTreeMap::new(),
            update_interval_secs: 600,
            write_interval_ms: 1000,
            notify_interval_ms: 3000,
            hourly_budget: 400,
            reopen_not_planned: false,
            rate_limit_wait_secs: 60,
            ambiguous_retry_secs: 60,
            relist_secs: 3600,
            max_attempts: 8,
            request_timeout_secs: 30,
        }
    }
}

/// The flags of `lokiwrap-collector`, applied over the file.
#[derive(Debug, Default)]
pub struct Overrides {
    pub listen: Option<String>,
    pub database: Option<PathBuf>,
}

impl Config {
    /// Reads the file (if any), applies the flags and checks the result.
    pub fn load(path: Option<&Path>, overrides: Overrides) -> Result<Config, String> {
        let mut config = match path {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| format!("cannot read the config file {}: {e}", path.display()))?;
                Config::parse(&text).map_err(|e| format!("{}: {e}", path.display()))?
            }
            None => Config::default(),
        };
        if let Some(listen) = overrides.listen {
            config.listen = listen;
        }
        if let Some(database) = overrides.database {
            config.database = Some(database);
        }
        config.check()?;
        Ok(config)
    }

    pub fn parse(text: &str) -> Result<Config, String> {
        let config: Config = toml::from_str(text).map_err(|e| format!("not a valid collector configuration: {e}"))?;
        config.check()?;
        Ok(config)
    }

    fn check(&self) -> Result<(), String> {
        self.listen_addr()?;
        if self.body_limit < 1024 {
            return Err(format!(
                "body_limit = {} is too small for one report; use at least 1024",
                self.body_limit
            ));
        }
        let github = &self.github;
        let repos = github
            .triage_repo
            .iter()
            .chain(github.tool_repos.values())
            .chain(&self.promotion.public_repo);
        for repo in repos {
            if !super::hotfix::names::valid_repo_name(repo) {
                return Err(format!("\"{repo}\" is not a repository; write it as \"owner/name\""));
            }
        }
        if github.labels.is_empty() {
            return Err("github.labels is empty; the collector needs one label to find its own issues again".into());
        }
        if github.hourly_budget == 0 || github.hourly_budget >= 500 {
            return Err(format!(
                "github.hourly_budget = {} must be between 1 and 499: GitHub allows 500 content-creating requests an hour",
                github.hourly_budget
            ));
        }
        if !github.api_url.starts_with("http://") && !github.api_url.starts_with("https://") {
            return Err(format!("github.api_url = \"{}\" is not an http(s) URL", github.api_url));
        }
        self.hotfix.check_unsigned_events()?;
        if self.hotfix.autofix_enabled() {
            let autofix = &self.autofix;
            if self.promotion.public_repo.is_none() || autofix.repo_dir.is_none() || autofix.command.is_empty() {
                return Err(
                    "hotfix.modes has \"pr\" but auto-fix is not set up: give promotion.public_repo, \
                            autofix.repo_dir and autofix.command (and autofix.test_command)"
                        .into(),
                );
            }
            if autofix.test_command.is_empty() {
                return Err("autofix.test_command is empty: a fix is only proposed after its tests pass".into());
            }
        }
        if self.limits.per_ip_per_minute == 0 || self.limits.per_project_per_minute == 0 {
            return Err("limits: a per-minute limit of 0 would refuse every report; raise it".into());
        }
        Ok(())
    }

    pub fn listen_addr(&self) -> Result<SocketAddr, String> {
        self.listen.parse().map_err(|_| {
            format!(
                "listen = \"{}\" is not an address and port, such as 127.0.0.1:8080",
                self.listen
            )
        })
    }

    /// The database file: the configured one, or `collector.sqlite` in the data directory.
    pub fn database_path(&self) -> Result<PathBuf, String> {
        if let Some(path) = &self.database {
            return Ok(path.clone());
        }
        directories::ProjectDirs::from("", "", "lokiwrap")
            .map(|dirs| dirs.data_dir().join("collector.sqlite"))
            .ok_or_else(|| "no home directory to keep the database in; give one with --database PATH".into())
    }

    /// True when some repository is configured for crashes, so crash issues are to be filed.
    pub fn files_issues(&self) -> bool {
        self.github.triage_repo.is_some() || !self.github.tool_repos.is_empty()
    }

    /// True when the sync worker has anything to file: crashes, or failures routed by `[hotfix]`.
    pub fn uses_github(&self) -> bool {
        self.files_issues() || self.hotfix.enabled
    }

    /// True when guarded auto-fix may run.
    pub fn autofix_on(&self) -> bool {
        self.hotfix.autofix_enabled() && self.promotion.public_repo.is_some()
    }

    /// The repository a tool's crashes go to.
    pub fn repo_for_tool(&self, tool: &str) -> Option<&str> {
        self.github
            .tool_repos
            .get(tool)
            .or(self.github.triage_repo.as_ref())
            .map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_file_means_the_defaults_and_nothing_filed() {
        let config = Config::parse("").unwrap();
        assert_eq!(config.listen, "127.0.0.1:8080");
        assert!(!config.files_issues());
        assert_eq!(config.github.labels, ["crash-report"]);
    }

    #[test]
    fn the_packaged_example_is_valid() {
        let text = include_str!("../../../packaging/collector.toml");
        // As shipped it files nothing, so it starts without a token.
        assert!(!Config::parse(text).unwrap().files_issues());
        let filing = text.replace("# triage_repo = ", "triage_repo = ");
        assert_eq!(
            Config::parse(&filing).unwrap().github.triage_repo.as_deref(),
            Some("owner/name")
        );
    }

    #[test]
    fn tools_route_to_their_own_repository() {
        let config = Config::parse(
            "[github]\ntriage_repo = \"acme/triage\"\n[github.tool_repos]\nloki = \"acme/loki-telemetry\"\n",
        )
        .unwrap();
        assert_eq!(config.repo_for_tool("loki"), Some("acme/loki-telemetry"));
        assert_eq!(config.repo_for_tool("npm"), Some("acme/triage"));
    }

    #[test]
    fn mistakes_are_named_with_their_fix() {
        let unknown = Config::parse("lisen = \"x\"").unwrap_err();
        assert!(unknown.contains("lisen"), "{unknown}");
        let repo = Config::parse("[github]\ntriage_repo = \"triage\"").unwrap_err();
        assert!(repo.contains("owner/name"), "{repo}");
        let budget = Config::parse("[github]\nhourly_budget = 600").unwrap_err();
        assert!(budget.contains("between 1 and 499"), "{budget}");
        let listen = Config::parse("listen = \"8080\"").unwrap_err();
        assert!(listen.contains("127.0.0.1:8080"), "{listen}");
    }
}
