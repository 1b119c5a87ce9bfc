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
    /// The SQLite file, or a `postgres://` URL; absent = `collector.sqlite` in the platform
    /// data directory.
    pub database: Option<PathBuf>,
    /// The environment variable holding the bearer token for `/v1/stats`; unset = no stats.
    pub admin_token_env: String,
    /// The environment variable holding the read token of `/dashboard` and `/metrics` (HTTP
    /// Basic with any user name and the token as password, or a bearer token); unset = both
    /// answer 404.
    pub dashboard_token_env: String,
    /// A second address serving only `/metrics`, without a token (for a scraper on a network
    /// the operator firewalls); absent = none.
    pub metrics_listen: Option<String>,
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
    /// Distinct sources (client addresses; for signed events, deliveries) that promote by
    /// themselves, at most 64; 0 = only the label promotes.
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
///
/// The two commands act on what a report said, so they are contained: they start with an
/// empty environment but for `AUTOFIX_ENV` (`PATH`, `HOME`, `LANG`, `LC_ALL`, `TMPDIR`, `USER`,
/// `LOGNAME`, `TZ`) and `pass_env`, never the collector's secrets, in a session of their own,
/// and everything they started is killed when their run ends, however it ends (done, failed,
/// timed out, or the kill switch). No report text reaches their arguments: the placeholders are
/// values the collector made, and the fixer reads the report in the public issue at
/// `{issue_url}`, whose title and body were scrubbed and sanitised. The commit and the pull
/// request are titled `Fix lokiwrap crash KEY` (or `failure`), never with report text.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Autofix {
    /// A clone of the public repository whose `origin` accepts the fix branches. Pushing uses
    /// the clone's own credentials (an SSH key or a credential helper), not the collector's.
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
    /// Environment variables the commands get besides `AUTOFIX_ENV`, by name (a fixer's API
    /// key, say). Naming one of the collector's secret variables (`github.token_env`,
    /// `hotfix.webhook_secret_env`, `admin_token_env`) is refused at start.
    pub pass_env: Vec<String>,
}

/// The environment variables every auto-fix command is given, when the collector has them:
/// enough to find programs, a home, a locale, a temporary directory, the user and the time zone.
pub const AUTOFIX_ENV: [&str; 8] = ["PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "USER", "LOGNAME", "TZ"];

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
            pass_env: Vec::new(),
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
    /// Reports accepted per project (`project_id_hash`) per minute from one address. Counted per
    /// address because a project's id can be computed by anyone: a total per project would let
    /// one sender silence everybody else's reports of it.
    pub per_project_per_minute: u32,
    /// `POST /v1/events` requests accepted per source address per minute: events are larger
    /// and dearer to read than reports.
    pub events_per_ip_per_minute: u32,
    /// `POST /github/webhook` requests accepted per source address per minute.
    pub webhooks_per_ip_per_minute: u32,
    /// Addresses or projects tracked at once per limiter; when full, the one seen least
    /// recently is forgotten. Bounds the limiters' memory whatever the clients send.
    pub max_tracked_keys: usize,
    /// Connections open at once; more are closed as soon as they are accepted. Never more than
    /// the descriptor limit (`LimitNOFILE`) allows, less 64.
    pub max_connections: usize,
    /// Connections open at once from one address (an IPv6 /64); not applied to
    /// `trusted_proxies`.
    pub connections_per_address: usize,
    /// Seconds a client has to send a request's head; also how long an idle kept-alive
    /// connection stays open.
    pub header_timeout_secs: u64,
    /// Seconds a client has to send a request's whole body.
    pub body_timeout_secs: u64,
    /// Seconds after which a connection is closed once its current request is answered.
    pub connection_lifetime_secs: u64,
    /// Report ids remembered for de-duplication, in days.
    pub report_id_days: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Github {
    /// The REST API's base URL. The token goes with every request, and only to this URL's
    /// origin (a redirect elsewhere is not followed), so it must be `https://`; `http://` is
    /// accepted only for a loopback host (127.0.0.0/8, ::1, localhost).
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
    /// `[github.app]`: file as a GitHub App (each repository with its installation's token)
    /// instead of with `token_env`'s token; setting both is refused at start.
    pub app: Option<super::github_app::AppConfig>,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            listen: "127.0.0.1:8080".into(),
            database: None,
            admin_token_env: "LOKIWRAP_ADMIN_TOKEN".into(),
            dashboard_token_env: "LOKIWRAP_DASHBOARD_TOKEN".into(),
            metrics_listen: None,
            body_limit: 64 * 1024,
            trusted_proxies: Vec::new(),
            limits: Limits::default(),
            github: Github::default(),
            events_body_limit: 256 * 1024,
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
            per_project_per_minute: 60,
            events_per_ip_per_minute: 30,
            webhooks_per_ip_per_minute: 600,
            max_tracked_keys: 100_000,
            max_connections: 4096,
            connections_per_address: 64,
            header_timeout_secs: 10,
            body_timeout_secs: 15,
            connection_lifetime_secs: 300,
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
            app: None,
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
        let mut config: Config =
            toml::from_str(text).map_err(|e| format!("not a valid collector configuration: {e}"))?;
        if config.hotfix.kernel_repo.is_none() {
            config.hotfix.kernel_repo = config.github.triage_repo.as_ref().map(|r| r.to_ascii_lowercase());
        }
        config.check()?;
        Ok(config)
    }

    fn check(&self) -> Result<(), String> {
        self.listen_addr()?;
        self.metrics_addr()?;
        for (key, name) in [
            ("admin_token_env", &self.admin_token_env),
            ("dashboard_token_env", &self.dashboard_token_env),
        ] {
            if !is_env_name(name) {
                return Err(format!(
                    "{key}: {name:?} is not an environment variable name such as LOKIWRAP_DASHBOARD_TOKEN: use \
                     letters, digits and _ (the token itself belongs in that variable, not in this file)"
                ));
            }
        }
        in_range("body_limit", self.body_limit, 1024, 1 << 20)?;
        in_range("events_body_limit", self.events_body_limit, 4096, 8 << 20)?;
        self.limits.check()?;
        for (key, path) in [
            ("promotion.kill_switch_file", self.promotion.kill_switch_file.as_ref()),
            ("autofix.repo_dir", self.autofix.repo_dir.as_ref()),
        ] {
            if let Some(path) = path
                && !path.is_absolute()
            {
                return Err(format!(
                    "{key} = \"{}\" is a relative path, which would depend on the directory the collector \
                     starts in; write it as an absolute path",
                    path.display()
                ));
            }
        }
        if self.promotion.threshold > MAX_COUNTED_SOURCES {
            return Err(format!(
                "promotion.threshold = {} counts distinct sources, of which at most {MAX_COUNTED_SOURCES} are \
                 remembered per subject; use a threshold between 0 and {MAX_COUNTED_SOURCES}",
                self.promotion.threshold
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
        check_api_url(&github.api_url)?;
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
        for name in &self.autofix.pass_env {
            if !is_env_name(name) {
                return Err(format!(
                    "autofix.pass_env: {name:?} is not an environment variable name such as FIXER_API_KEY"
                ));
            }
            if let Some(key) = self
                .secret_env()
                .into_iter()
                .find_map(|(key, secret)| (secret == name).then_some(key))
            {
                return Err(format!(
                    "autofix.pass_env names {name}, the collector's secret ({key}); remove it: the auto-fix \
                     commands act on report text and must never see the collector's secrets"
                ));
            }
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

    /// The address of the second, token-less `/metrics` listener, when `metrics_listen` is set.
    pub fn metrics_addr(&self) -> Result<Option<SocketAddr>, String> {
        let Some(listen) = &self.metrics_listen else {
            return Ok(None);
        };
        let address: SocketAddr = listen
            .parse()
            .map_err(|_| format!("metrics_listen = \"{listen}\" is not an address and port, such as 127.0.0.1:9100"))?;
        if self
            .listen_addr()
            .is_ok_and(|main| main == address && address.port() != 0)
        {
            return Err(format!(
                "metrics_listen = \"{listen}\" is the address reports are sent to; /metrics without a token \
                 needs an address of its own, such as 127.0.0.1:9100"
            ));
        }
        Ok(Some(address))
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

    /// The environment variables holding the collector's secrets, with the keys naming them.
    pub fn secret_env(&self) -> [(&'static str, &str); 4] {
        [
            ("github.token_env", &self.github.token_env),
            ("hotfix.webhook_secret_env", &self.hotfix.webhook_secret_env),
            ("admin_token_env", &self.admin_token_env),
            ("dashboard_token_env", &self.dashboard_token_env),
        ]
    }

    /// The environment of an auto-fix command: `AUTOFIX_ENV` and `autofix.pass_env`, as far as
    /// `lookup` has them, and never a secret, whatever its name.
    pub fn autofix_env(
        &self,
        lookup: impl Fn(&str) -> Option<std::ffi::OsString>,
    ) -> Vec<(String, std::ffi::OsString)> {
        let secrets = self.secret_env();
        AUTOFIX_ENV
            .iter()
            .copied()
            .chain(self.autofix.pass_env.iter().map(String::as_str))
            .filter(|name| !secrets.iter().any(|(_, secret)| secret == name))
            .filter_map(|name| Some((name.to_string(), lookup(name)?)))
            .collect()
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

/// Whether `name` can name an environment variable: letters, digits and `_`, not starting with
/// a digit.
fn is_env_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Distinct sources remembered per subject; promotion thresholds count up to it.
pub const MAX_COUNTED_SOURCES: u64 = 64;

/// `Err` naming the key, its value and the range, when `value` is outside `min..=max`.
fn in_range<T: PartialOrd + std::fmt::Display>(key: &str, value: T, min: T, max: T) -> Result<(), String> {
    if value < min || value > max {
        return Err(format!(
            "{key} = {value} is out of range; use a value from {min} to {max}"
        ));
    }
    Ok(())
}

impl Limits {
    fn check(&self) -> Result<(), String> {
        for (key, value) in [
            ("limits.per_ip_per_minute", self.per_ip_per_minute),
            ("limits.per_project_per_minute", self.per_project_per_minute),
            ("limits.events_per_ip_per_minute", self.events_per_ip_per_minute),
            ("limits.webhooks_per_ip_per_minute", self.webhooks_per_ip_per_minute),
        ] {
            // 0 would refuse everything; a huge value turns the limit off, the operator's call.
            in_range(key, value, 1, u32::MAX)?;
        }
        in_range("limits.max_tracked_keys", self.max_tracked_keys, 1000, 10_000_000)?;
        in_range("limits.max_connections", self.max_connections, 16, 1_000_000)?;
        in_range(
            "limits.connections_per_address",
            self.connections_per_address,
            1,
            self.max_connections,
        )?;
        in_range("limits.header_timeout_secs", self.header_timeout_secs, 1, 300)?;
        in_range("limits.body_timeout_secs", self.body_timeout_secs, 1, 600)?;
        in_range(
            "limits.connection_lifetime_secs",
            self.connection_lifetime_secs,
            10,
            86_400,
        )?;
        in_range("limits.report_id_days", self.report_id_days, 1, 3650)?;
        Ok(())
    }
}

/// The token goes with every request to `github.api_url`, so it must be `https://`; plain
/// `http://` only to this machine (a local stand-in or proxy), where nobody on the way reads it.
fn check_api_url(api_url: &str) -> Result<(), String> {
    let url = reqwest::Url::parse(api_url).map_err(|e| {
        format!("github.api_url = \"{api_url}\" is not a URL ({e}); write it as https://api.github.com")
    })?;
    match url.scheme() {
        "https" => Ok(()),
        "http" if url.host_str().is_some_and(is_loopback) => Ok(()),
        "http" => Err(format!(
            "github.api_url = \"{api_url}\" would send the GitHub token unencrypted; use https:// \
             (plain http:// is accepted only for 127.0.0.1, ::1 or localhost)"
        )),
        _ => Err(format!(
            "github.api_url = \"{api_url}\" is not an http(s) URL; write it as https://api.github.com"
        )),
    }
}

/// 127.0.0.0/8, ::1 or `localhost`, as a URL's host is written (IPv6 in brackets).
fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.eq_ignore_ascii_case("localhost") || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
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

    #[test]
    fn settings_out_of_range_are_refused_with_the_key_named() {
        for (text, key) in [
            ("[limits]\nmax_tracked_keys = 0", "limits.max_tracked_keys"),
            ("events_body_limit = 0", "events_body_limit"),
            ("events_body_limit = 1000000000", "events_body_limit"),
            ("body_limit = 10", "body_limit"),
            ("[limits]\nper_project_per_minute = 0", "limits.per_project_per_minute"),
            ("[limits]\nheader_timeout_secs = 0", "limits.header_timeout_secs"),
            (
                "[limits]\nconnections_per_address = 100000",
                "limits.connections_per_address",
            ),
            ("[promotion]\nkill_switch_file = \"stop\"", "promotion.kill_switch_file"),
            ("[promotion]\nthreshold = 1000", "promotion.threshold"),
            ("dashboard_token_env = \"my token\"", "dashboard_token_env"),
            ("admin_token_env = \"\"", "admin_token_env"),
            ("metrics_listen = \"9100\"", "metrics_listen"),
            (
                "listen = \"127.0.0.1:9100\"\nmetrics_listen = \"127.0.0.1:9100\"",
                "metrics_listen",
            ),
        ] {
            let error = Config::parse(text).unwrap_err();
            assert!(error.contains(key), "{text}: {error}");
        }
    }

    #[test]
    fn auto_fix_commands_get_the_allowlist_and_pass_env_but_never_a_secret() {
        let config =
            Config::parse("admin_token_env = \"HOME\"\n[autofix]\npass_env = [\"FIXER_API_KEY\", \"ABSENT\"]\n")
                .unwrap();
        let env = config.autofix_env(|name| (name != "ABSENT").then(|| format!("value of {name}").into()));
        let names: Vec<&str> = env.iter().map(|(name, _)| name.as_str()).collect();
        // HOME holds the admin token here, so it is withheld too.
        assert_eq!(
            names,
            [
                "PATH",
                "LANG",
                "LC_ALL",
                "TMPDIR",
                "USER",
                "LOGNAME",
                "TZ",
                "FIXER_API_KEY"
            ]
        );
        for secret in [
            "LOKIWRAP_GITHUB_TOKEN",
            "LOKIWRAP_WEBHOOK_SECRET",
            "LOKIWRAP_ADMIN_TOKEN",
            "LOKIWRAP_DASHBOARD_TOKEN",
        ] {
            let error = Config::parse(&format!("[autofix]\npass_env = [\"{secret}\"]\n")).unwrap_err();
            assert!(error.contains(secret) && error.contains("remove it"), "{error}");
        }
        let renamed =
            Config::parse("[github]\ntoken_env = \"GH_TOKEN\"\n[autofix]\npass_env = [\"GH_TOKEN\"]\n").unwrap_err();
        assert!(renamed.contains("github.token_env"), "{renamed}");
        let odd = Config::parse("[autofix]\npass_env = [\"A=B\"]\n").unwrap_err();
        assert!(odd.contains("autofix.pass_env"), "{odd}");
    }

    #[test]
    fn plain_http_to_github_is_refused_unless_it_stays_on_this_machine() {
        let api = |url: &str| Config::parse(&format!("[github]\napi_url = \"{url}\"\n"));
        for remote in [
            "http://api.github.com",
            "http://10.0.0.1:8080",
            "http://127.0.0.1.evil.example",
            "http://[::2]:80",
            "http://localhost.evil.example",
        ] {
            let error = api(remote).unwrap_err();
            assert!(
                error.contains("github.api_url") && error.contains("https://"),
                "{error}"
            );
        }
        for local in [
            "https://api.github.com",
            "https://ghe.example/api/v3",
            "http://127.0.0.1:9000",
            "http://127.8.9.10",
            "http://[::1]:9000",
            "http://localhost:9000",
            "http://LOCALHOST",
        ] {
            assert!(api(local).is_ok(), "{local}: {:?}", api(local).err());
        }
        let other = api("ftp://api.github.com").unwrap_err();
        assert!(other.contains("https://api.github.com"), "{other}");
    }
}
