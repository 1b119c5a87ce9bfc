//! Where a failure is filed, and which failures are never filed because filing them could
//! loop: failures of the hotfix route itself, a `kernel.plugin_error` about delivering
//! `kernel.plugin_error`, and events the collector's own bot caused.
//! Plugin ids and URLs are compared in the normal form of `names.rs`.

use super::config::HotfixConfig;
use super::event::PluginErrorEvent;
use super::names::{normalise_url, self_id, valid_repo_name};

/// The event the kernel emits; a failure while delivering it must not be reported again.
pub const PLUGIN_ERROR_EVENT: &str = "kernel.plugin_error";

/// Whether any of the names is the hotfix route itself.
pub fn is_self<'a>(cfg: &HotfixConfig, names: impl IntoIterator<Item = &'a str>) -> bool {
    // The config stores `self_ids` normalised; normalising again keeps a hand-built config right.
    let own: Vec<String> = cfg.self_ids.iter().filter_map(|id| self_id(id)).collect();
    names
        .into_iter()
        .filter_map(self_id)
        .any(|name| own.iter().any(|own| own.eq_ignore_ascii_case(&name)))
}

/// Whether the failing dispatch was itself the delivery of a `kernel.plugin_error`. The kernel
/// does not recurse on those, but a subscriber that reported them would feed itself.
pub fn is_error_event_loop(github_event: Option<&str>) -> bool {
    github_event.is_some_and(|event| {
        let event = event.trim();
        event.eq_ignore_ascii_case(PLUGIN_ERROR_EVENT)
            || event
                .get(..PLUGIN_ERROR_EVENT.len() + 1)
                .is_some_and(|head| head.eq_ignore_ascii_case("kernel.plugin_error."))
    })
}

/// The kernel's plugin id when its own handler fails.
pub const KERNEL_PLUGIN_ID: &str = "ubiquity-os/ubiquity-os-kernel";

/// Whether a failure is the kernel's own (`plugin.type = "kernel"`, or the kernel's id) rather
/// than a plugin's. `plugin_id` is normalised (see `names.rs`).
pub fn is_kernel_failure(plugin_type: Option<&str>, plugin_id: &str) -> bool {
    plugin_type.is_some_and(|kind| kind.trim().eq_ignore_ascii_case("kernel"))
        || plugin_id.eq_ignore_ascii_case(KERNEL_PLUGIN_ID)
}

/// Whether the login is the collector's own bot.
pub fn is_own_bot(cfg: &HotfixConfig, login: Option<&str>) -> bool {
    match (&cfg.bot_login, login) {
        (Some(own), Some(login)) => own.eq_ignore_ascii_case(login.trim()),
        _ => false,
    }
}

/// Where an issue about this plugin failure goes, lower-cased `owner/repo`:
/// 1. `plugin.owner/plugin.repo` when the event names them (always for workflow plugins);
/// 2. for a plugin dispatched by URL, the longest `[hotfix.plugin_repos]` prefix of its URL;
/// 3. `plugin.settings.with.sourceRepo`.
///
/// A candidate must be a well-formed repository name; a malformed one is skipped, not fixed.
pub fn target_repo(event: &PluginErrorEvent, cfg: &HotfixConfig) -> Option<String> {
    let plugin = &event.plugin;
    let named = match (&plugin.owner, &plugin.repo) {
        (Some(owner), Some(repo)) => Some(format!("{}/{}", owner.trim(), repo.trim())),
        _ => None,
    };
    let mapped = normalise_url(&plugin.id).and_then(|url| mapped_repo(&url, cfg));
    let source_repo = plugin
        .settings
        .as_ref()
        .and_then(|settings| settings.with.as_ref())
        .and_then(|with| with.source_repo.clone());
    [named, mapped, source_repo]
        .into_iter()
        .flatten()
        .map(|repo| repo.trim().to_string())
        .find(|repo| valid_repo_name(repo))
        .map(|repo| repo.to_ascii_lowercase())
}

/// Whether plugin failures may be filed in `repo` (lower-cased `owner/repo`): every repository
/// when `target_repos` is empty, else one it names, whole or by its owner.
pub fn in_target_repos(cfg: &HotfixConfig, repo: &str) -> bool {
    let owner = repo.split_once('/').map_or(repo, |(owner, _)| owner);
    cfg.target_repos.is_empty()
        || cfg.target_repos.iter().any(|entry| {
            let whole = if entry.contains('/') { repo } else { owner };
            whole.eq_ignore_ascii_case(entry)
        })
}

/// The repository of the longest `plugin_repos` prefix of a normalised URL. A prefix matches
/// whole path segments only: `https://a.dev/x` covers `https://a.dev/x/y`, not
/// `https://a.dev/xy`, and `https://a.dev` does not cover `https://a.dev.evil.example`.
fn mapped_repo(url: &str, cfg: &HotfixConfig) -> Option<String> {
    cfg.plugin_repos
        .iter()
        .filter(|(prefix, _)| {
            url.strip_prefix(prefix.as_str())
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        })
        .max_by_key(|(prefix, _)| prefix.len())
        .map(|(_, repo)| repo.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hotfix::event::{PluginInfo, PluginSettings, PluginWith};
    use crate::hotfix::names::{normalise_plugin_id, plugin_repo_of};

    fn cfg(toml_text: &str) -> HotfixConfig {
        #[derive(serde::Deserialize)]
        struct Collector {
            hotfix: HotfixConfig,
        }
        toml::from_str::<Collector>(toml_text).expect("test config").hotfix
    }

    fn http_plugin(id: &str, source_repo: Option<&str>) -> PluginErrorEvent {
        PluginErrorEvent {
            plugin: PluginInfo {
                kind: Some("http".into()),
                id: id.into(),
                settings: source_repo.map(|repo| PluginSettings {
                    with: Some(PluginWith {
                        source_repo: Some(repo.into()),
                        source_ref: None,
                    }),
                }),
                ..PluginInfo::default()
            },
            ..PluginErrorEvent::default()
        }
    }

    #[test]
    fn repo_names_follow_github() {
        for ok in ["o/r", "Owner-1/repo.name_2", "a/.github", "ubiquity-os/.ubiquity-os"] {
            assert!(valid_repo_name(ok), "{ok}");
        }
        for bad in [
            "",
            "o",
            "/r",
            "o/",
            "o/r/x",
            "o r/x",
            "o/..",
            "./r",
            "o/r?x",
            "[REDACTED:github_token]/r",
        ] {
            assert!(!valid_repo_name(bad), "{bad}");
        }
        assert!(!valid_repo_name(&format!("{}/r", "a".repeat(40))));
    }

    #[test]
    fn urls_lose_credentials_query_and_trailing_slash() {
        assert_eq!(
            normalise_url("HTTPS://User:pw@Plugin.Example.dev/Path/?token=x#f").as_deref(),
            Some("https://plugin.example.dev/Path")
        );
        assert_eq!(
            normalise_url("http://127.0.0.1:9090").as_deref(),
            Some("http://127.0.0.1:9090")
        );
        assert_eq!(normalise_url("ftp://x"), None);
        assert_eq!(normalise_url("https://"), None);
        assert_eq!(normalise_url("https://a b"), None);
        assert_eq!(normalise_url("owner/repo"), None);
    }

    #[test]
    fn plugin_ids_lose_their_ref_and_case() {
        assert_eq!(
            normalise_plugin_id("Owner/Repo:compute.yml@v1.2.3").as_deref(),
            Some("owner/repo:compute.yml")
        );
        assert_eq!(
            normalise_plugin_id("owner/repo:compute.yml@main"),
            normalise_plugin_id("owner/repo:compute.yml@3f2a9c1")
        );
        assert_eq!(normalise_plugin_id("o/r").as_deref(), Some("o/r"));
        assert_eq!(normalise_plugin_id("https://a.dev/").as_deref(), Some("https://a.dev"));
        assert_eq!(normalise_plugin_id("  "), None);
        assert_eq!(normalise_plugin_id("@main"), None);
        assert_eq!(plugin_repo_of("o/r:compute.yml").as_deref(), Some("o/r"));
        assert_eq!(plugin_repo_of("https://a.dev"), None);
    }

    #[test]
    fn self_failures_match_without_ref_workflow_or_case() {
        let cfg = cfg("[hotfix]\nself_ids = [\"owner/daemon-hotfix\", \"https://hotfix.example.dev\"]\n");
        assert!(is_self(&cfg, ["Owner/Daemon-Hotfix:compute.yml@v2"]));
        assert!(is_self(&cfg, ["owner/daemon-hotfix@main"]));
        assert!(is_self(&cfg, ["https://HOTFIX.example.dev/"]));
        assert!(!is_self(&cfg, ["owner/daemon-hotfix-2"]));
        assert!(!is_self(&cfg, ["https://hotfix.example.dev.evil.example"]));
        assert!(!is_self(&cfg, ["owner/plugin:compute.yml@main", ""]));
    }

    #[test]
    fn an_error_about_delivering_the_error_event_is_a_loop() {
        assert!(is_error_event_loop(Some("kernel.plugin_error")));
        assert!(is_error_event_loop(Some(" Kernel.Plugin_Error ")));
        assert!(is_error_event_loop(Some("kernel.plugin_error.created")));
        assert!(!is_error_event_loop(Some("kernel.plugin_errors")));
        assert!(!is_error_event_loop(Some("issue_comment.created")));
        assert!(!is_error_event_loop(None));
    }

    #[test]
    fn the_own_bot_is_recognised_case_insensitively() {
        let cfg = cfg("[hotfix]\nbot_login = \"lokiwrap-collector[bot]\"\n");
        assert!(is_own_bot(&cfg, Some("Lokiwrap-Collector[bot]")));
        assert!(!is_own_bot(&cfg, Some("octocat")));
        assert!(!is_own_bot(&cfg, None));
        assert!(!is_own_bot(&HotfixConfig::default(), Some("lokiwrap-collector[bot]")));
    }

    #[test]
    fn a_workflow_plugin_goes_to_its_own_repo() {
        let mut event = http_plugin("owner/plugin:compute.yml@main", Some("other/source"));
        event.plugin.kind = Some("workflow".into());
        event.plugin.owner = Some("Owner".into());
        event.plugin.repo = Some("Plugin".into());
        assert_eq!(
            target_repo(&event, &HotfixConfig::default()).as_deref(),
            Some("owner/plugin")
        );
    }

    #[test]
    fn an_http_plugin_goes_to_the_longest_mapped_prefix_then_its_source_repo() {
        let cfg = cfg(r#"
            [hotfix.plugin_repos]
            "https://plugins.example.dev" = "owner/catch-all"
            "https://plugins.example.dev/start-stop" = "owner/start-stop"
            "#);
        let event = http_plugin("https://plugins.example.dev/start-stop/v2", Some("owner/source"));
        assert_eq!(target_repo(&event, &cfg).as_deref(), Some("owner/start-stop"));
        let event = http_plugin("https://plugins.example.dev/start-stopper", Some("owner/source"));
        assert_eq!(target_repo(&event, &cfg).as_deref(), Some("owner/catch-all"));
        let event = http_plugin("https://elsewhere.example.dev", Some("Owner/Source"));
        assert_eq!(target_repo(&event, &cfg).as_deref(), Some("owner/source"));
        let event = http_plugin("https://plugins.example.dev.evil.example", None);
        assert_eq!(target_repo(&event, &cfg), None);
    }

    #[test]
    fn owner_and_repo_in_the_event_win_over_the_map() {
        let cfg = cfg("[hotfix.plugin_repos]\n\"https://a.dev\" = \"owner/mapped\"\n");
        let mut event = http_plugin("https://a.dev", Some("owner/source"));
        event.plugin.owner = Some("owner".into());
        event.plugin.repo = Some("named".into());
        assert_eq!(target_repo(&event, &cfg).as_deref(), Some("owner/named"));
    }

    #[test]
    fn target_repos_name_whole_repositories_or_every_repository_of_an_owner() {
        let cfg = cfg("[hotfix]\ntarget_repos = [\"acme\", \"other/one\"]\n");
        for inside in ["acme/x", "ACME/y", "other/one"] {
            assert!(in_target_repos(&cfg, inside), "{inside}");
        }
        for outside in ["evil/repo", "acme-evil/x", "acm/x", "other/two", "other/one-more"] {
            assert!(!in_target_repos(&cfg, outside), "{outside}");
        }
        assert!(in_target_repos(&HotfixConfig::default(), "any/repo"), "none named: any");
    }

    #[test]
    fn malformed_candidates_are_skipped() {
        let mut event = http_plugin("https://a.dev", Some("not a repo"));
        assert_eq!(target_repo(&event, &HotfixConfig::default()), None);
        event.plugin.owner = Some("owner".into());
        event.plugin.repo = Some("../x".into());
        assert_eq!(target_repo(&event, &HotfixConfig::default()), None);
    }
}
