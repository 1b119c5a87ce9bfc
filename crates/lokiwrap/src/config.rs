//! The user's configuration, `config.toml` in the platform configuration directory
//! (`$XDG_CONFIG_HOME/lokiwrap/config.toml` on Linux). It is read only after the tool has
//! started, never on the launcher's hot path; a broken file is reported in one line and
//! treated as empty, so the tool always runs.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

use crate::watch::friction::{FrictionRule, Thresholds};

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// `"off"`: nothing is ever sent (`lokiwrap telemetry off` writes this).
    pub telemetry: Switch,
    /// The collector's base URL; reports are sent to `{endpoint}/v1/crash`.
    pub endpoint: Option<String>,
    /// `owner/name` of the repository where `lokiwrap crash submit` suggests opening an issue
    /// when no endpoint is set.
    pub repository: Option<String>,
    /// Set once the first-run notice has been shown; it is never shown again.
    pub notice_shown: bool,
    /// `"off"` keeps reports out of the local outbox too.
    pub capture: Capture,
    /// Non-zero exit codes that make a report even without a recognised crash.
    pub report_exit_codes: ExitCodes,
    pub friction: FrictionConfig,
    /// Settings for one tool, by its name (`[tools.npm]`).
    pub tools: BTreeMap<String, ToolConfig>,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Switch {
    #[default]
    On,
    Off,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Capture {
    #[default]
    On,
    Off,
}

/// Which non-zero exit codes make a report on their own: none (the default, since grep, diff
/// and test runners exit non-zero by design), any, or a list.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub enum ExitCodes {
    #[default]
    None,
    Any,
    Only(Vec<i32>),
}

impl ExitCodes {
    pub fn includes(&self, code: i32) -> bool {
        match self {
            ExitCodes::None => false,
            ExitCodes::Any => code != 0,
            ExitCodes::Only(codes) => codes.contains(&code),
        }
    }
}

impl<'de> Deserialize<'de> for ExitCodes {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Word(String),
            List(Vec<i32>),
        }
        match Raw::deserialize(deserializer)? {
            Raw::Word(word) if word == "any" => Ok(ExitCodes::Any),
            Raw::Word(word) if word == "none" => Ok(ExitCodes::None),
            Raw::Word(word) => Err(serde::de::Error::custom(format!(
                "report_exit_codes is \"any\", \"none\" or a list of numbers such as [1, 2], not \"{word}\""
            ))),
            Raw::List(codes) => Ok(ExitCodes::Only(codes)),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FrictionConfig {
    pub thresholds: Thresholds,
    /// Extra patterns for every tool.
    pub rules: Vec<FrictionRule>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ToolConfig {
    pub capture: Option<Capture>,
    pub report_exit_codes: Option<ExitCodes>,
    /// Extra friction patterns for this tool only.
    pub friction_rules: Vec<FrictionRule>,
}

impl Config {
    /// The configuration file's path, if the platform has a configuration directory.
    pub fn path() -> Option<PathBuf> {
        directories::ProjectDirs::from("", "", "lokiwrap").map(|dirs| dirs.config_dir().join("config.toml"))
    }

    /// The endpoint from `LOKIWRAP_ENDPOINT`, else from the file; empty means none.
    pub fn endpoint(&self) -> Option<String> {
        std::env::var("LOKIWRAP_ENDPOINT")
            .ok()
            .or_else(|| self.endpoint.clone())
            .map(|e| e.trim().to_string())
            .filter(|e| !e.is_empty())
    }

    /// Reads the file. A missing file is an empty configuration. An unreadable or invalid one
    /// comes back with the problem (and where to fix it) as the second value, and fails closed:
    /// it might have said `telemetry = "off"`, so it counts as saying so, and the first-run
    /// notice (which could not be recorded) is not repeated on every run.
    pub fn load() -> (Config, Option<String>) {
        let Some(path) = Config::path() else {
            return (Config::default(), None);
        };
        let problem = match std::fs::read_to_string(&path) {
            Ok(text) => match Config::parse(&text) {
                Ok(config) => return (config, None),
                Err(problem) => format!(
                    "{} is ignored and nothing is sent until it is fixed: {problem}",
                    path.display()
                ),
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return (Config::default(), None),
            Err(e) => format!(
                "cannot read {} ({e}), so nothing is sent until it can be read",
                path.display()
            ),
        };
        (
            Config {
                telemetry: Switch::Off,
                notice_shown: true,
                ..Config::default()
            },
            Some(problem),
        )
    }

    /// Parses the file's text; the error is one line: where, and what is wrong.
    pub fn parse(text: &str) -> Result<Config, String> {
        toml::from_str(text).map_err(|e| {
            let text = e.to_string();
            let place = text
                .lines()
                .next()
                .unwrap_or_default()
                .trim_start_matches("TOML parse error at ");
            let what = text
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty() && !l.contains('|'))
                .unwrap_or_default();
            if what.starts_with("TOML parse error") {
                what.to_string()
            } else {
                format!("{place}: {what}")
            }
        })
    }

    fn tool(&self, tool: &str) -> Option<&ToolConfig> {
        self.tools.get(tool)
    }

    pub fn capture_for(&self, tool: &str) -> Capture {
        self.tool(tool).and_then(|t| t.capture).unwrap_or(self.capture)
    }

    pub fn exit_codes_for(&self, tool: &str) -> &ExitCodes {
        self.tool(tool)
            .and_then(|t| t.report_exit_codes.as_ref())
            .unwrap_or(&self.report_exit_codes)
    }

    /// The global friction rules followed by the tool's own.
    pub fn friction_rules_for(&self, tool: &str) -> Vec<FrictionRule> {
        let mut rules = self.friction.rules.clone();
        if let Some(t) = self.tool(tool) {
            rules.extend(t.friction_rules.iter().cloned());
        }
        rules
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_file_is_the_defaults() {
        let config = Config::parse("").unwrap();
        assert_eq!(config.capture, Capture::On);
        assert!(!config.exit_codes_for("grep").includes(1));
    }

    #[test]
    fn per_tool_settings_override_the_global_ones() {
        let config = Config::parse(
            r#"
            report_exit_codes = [3]
            [friction]
            rules = [{ kind = "retry_loop", pattern = "waiting for lock" }]
            [friction.thresholds]
            retry_loop = 5
            [tools.npm]
            report_exit_codes = "any"
            capture = "off"
            friction_rules = [{ kind = "gate_failure", pattern = "audit failed" }]
            "#,
        )
        .unwrap();
        assert!(config.exit_codes_for("npm").includes(7));
        assert!(config.exit_codes_for("cargo").includes(3) && !config.exit_codes_for("cargo").includes(7));
        assert_eq!(config.capture_for("npm"), Capture::Off);
        assert_eq!(config.friction_rules_for("npm").len(), 2);
        assert_eq!(config.friction.thresholds.retry_loop, 5);
    }

    #[test]
    fn a_broken_file_is_named_on_one_line() {
        let err = Config::parse("capture = [\n").unwrap_err();
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains("line 1") && err.contains("unclosed array"), "{err}");
    }

    #[test]
    fn mistakes_are_named() {
        let err = Config::parse("report_exit_codes = \"some\"").unwrap_err();
        assert!(err.contains("\"any\", \"none\" or a list"), "{err}");
        let err = Config::parse("captrue = \"off\"").unwrap_err();
        assert!(err.contains("captrue"), "{err}");
    }

    #[test]
    fn the_readme_example_is_a_valid_configuration() {
        let readme = include_str!("../../../README.md");
        let start = readme
            .find("```toml\ncapture")
            .expect("the README shows a configuration")
            + "```toml\n".len();
        let end = start + readme[start..].find("```").unwrap();
        let config = Config::parse(&readme[start..end]).unwrap();
        assert_eq!(config.friction.rules.len(), 1);
        assert!(config.exit_codes_for("npm").includes(1));
        assert!(!config.exit_codes_for("git").includes(1));
    }
}
