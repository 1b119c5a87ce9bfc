//! The plugin manifest the UbiquityOS kernel fetches from `{url}/manifest.json` before it
//! lists or dispatches to an HTTP plugin. The collector is registered with the URL of
//! `POST /v1/events`, so the manifest is `GET /v1/events/manifest.json`.

use serde_json::{Value, json};

use super::config::HotfixConfig;
use super::route::PLUGIN_ERROR_EVENT;

/// The manifest, as JSON. `skipBotEvents` is false: a failure triggered by a bot account (a
/// plugin's own comment, a scheduled job) is a failure all the same, and with the kernel's
/// default it would be dropped before dispatch. `homepage_url` is `hotfix.kernel_ref` when set:
/// the URL the kernel dispatches to, when the collector is reached through another name.
pub fn manifest(cfg: &HotfixConfig) -> Value {
    let mut manifest = json!({
        "name": "lokiwrap collector",
        "short_name": "lokiwrap-collector",
        "description": "Files one GitHub issue per cluster of UbiquityOS plugin failures \
                        (kernel.plugin_error), in the failing plugin's repository; the kernel's own \
                        failures go to the kernel's triage repository.",
        "ubiquity:listeners": [PLUGIN_ERROR_EVENT],
        "skipBotEvents": false,
        "configuration": configuration_schema(),
    });
    if let Some(url) = cfg.kernel_ref.as_deref().map(str::trim).filter(|url| !url.is_empty()) {
        manifest["homepage_url"] = Value::from(url);
    }
    manifest
}

/// The `with` keys of the collector's own plugin entry. Where failures are filed is the
/// collector's configuration (`[hotfix]`), not the kernel's: a repository's configuration must
/// not redirect another repository's failures. So the collector honours no `with` key, and the
/// schema says so, for the kernel to refuse a typo instead of it being silently ignored.
fn configuration_schema() -> Value {
    json!({
        "type": "object",
        "properties": {},
        "additionalProperties": false,
        "default": {},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_manifest_listens_to_plugin_errors_from_bots_too() {
        let plain = manifest(&HotfixConfig::default());
        assert_eq!(plain["ubiquity:listeners"], json!(["kernel.plugin_error"]));
        assert_eq!(plain["skipBotEvents"], json!(false));
        assert_eq!(plain["configuration"]["additionalProperties"], json!(false));
        assert!(plain.get("homepage_url").is_none());
        let cfg = HotfixConfig {
            kernel_ref: Some("https://collector.example.dev/v1/events".into()),
            ..HotfixConfig::default()
        };
        assert_eq!(
            manifest(&cfg)["homepage_url"],
            json!("https://collector.example.dev/v1/events")
        );
    }
}
