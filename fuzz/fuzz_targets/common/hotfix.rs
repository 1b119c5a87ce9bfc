//! What the hotfix targets share: the configuration they run under and the invariants every
//! filed failure keeps by design.

use lokiwrap_collector::config::Config;
use lokiwrap_collector::fuzzing::marker_key;
use lokiwrap_collector::hotfix::{Failure, HotfixConfig, Ignored, issue_body};

/// Filing on, one workflow repository allowed, the route itself and the collector's bot
/// excluded, one plugin URL mapped: read by the collector's own configuration parser.
pub fn config() -> HotfixConfig {
    Config::parse(
        r#"
        [hotfix]
        enabled = true
        allowlist_repos = ["ubiquity-os-marketplace/daemon-pricing"]
        self_ids = ["ubiquity-os-marketplace/daemon-hotfix"]
        bot_login = "lokiwrap-collector[bot]"
        [hotfix.plugin_repos]
        "https://plugin.example.workers.dev" = "owner/plugin"
        "#,
    )
    .expect("the fuzz targets' configuration")
    .hotfix
}

/// `owner/name` as GitHub allows it, lower-cased: it goes into API paths and links unescaped.
fn well_formed_repo(name: &str) -> bool {
    let Some((owner, repo)) = name.split_once('/') else {
        return false;
    };
    let allowed = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'_' | b'.');
    (1..=39).contains(&owner.len())
        && (1..=100).contains(&repo.len())
        && owner.bytes().all(allowed)
        && repo.bytes().all(allowed)
        && ![".", ".."].contains(&owner)
        && ![".", ".."].contains(&repo)
}

pub fn check(result: Result<Failure, Ignored>) {
    let failure = match result {
        Ok(failure) => failure,
        Err(ignored) => {
            assert!(
                !ignored.message.chars().any(char::is_control),
                "control character in {ignored:?}"
            );
            return;
        }
    };
    assert!(well_formed_repo(&failure.repo), "filed in {:?}", failure.repo);
    assert!(
        !failure.title.chars().any(char::is_control),
        "control character in the title {:?}",
        failure.title
    );
    // The documented cap is 256 characters; GitHub's is 256 too.
    let title_chars = failure.title.chars().count();
    assert!(
        title_chars <= 256,
        "a title of {title_chars} characters: {:?}",
        failure.title
    );
    assert_eq!(failure.cluster_key.len(), 64, "{:?}", failure.cluster_key);
    assert!(failure.cluster_key.bytes().all(|b| b.is_ascii_hexdigit()));
    let body = issue_body(&failure.details, 1, "2026-12-03T00:00:00Z", "2026-12-03T00:00:00Z", &[]);
    assert_eq!(
        marker_key(&body).as_deref(),
        Some(failure.cluster_key.as_str()),
        "the body's marker does not read back: {body}"
    );
}
