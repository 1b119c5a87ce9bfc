//! The one switch for all telemetry. Sending is off when any source says so, and the decision
//! names the source that decided, so `lokiwrap telemetry status` can say why. Values are read
//! so that mistakes fail safe: a typo turns telemetry off, never on.

pub mod notice;
pub mod persist;

use crate::config::{Config, Switch};

/// Where the decision came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    DoNotTrack,
    LokiwrapTelemetry,
    LokiTelemetry,
    LokiTelemetryDisabled,
    ConfigFile,
    Default,
}

impl Source {
    pub fn name(self) -> &'static str {
        match self {
            Source::DoNotTrack => "DO_NOT_TRACK",
            Source::LokiwrapTelemetry => "LOKIWRAP_TELEMETRY",
            Source::LokiTelemetry => "LOKI_TELEMETRY",
            Source::LokiTelemetryDisabled => "LOKI_TELEMETRY_DISABLED",
            Source::ConfigFile => "config",
            Source::Default => "default",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// Whether reports may leave the machine.
    pub enabled: bool,
    pub decided_by: Source,
}

/// Values that leave a "disable" variable without effect; anything else disables.
const NOT_DISABLING: &[&str] = &["", "0", "false", "no", "off"];
/// Values that leave an "on/off" variable on; anything else (`off`, `0`, a typo) disables.
const STAYS_ON: &[&str] = &["", "on", "1", "true", "yes"];

/// Decides from the environment (passed in, for tests) and the configuration file.
pub fn decide_with(env: impl Fn(&str) -> Option<String>, config: &Config) -> Decision {
    let normal = |name: &str| env(name).map(|v| v.trim().to_ascii_lowercase());
    let checks: [(Source, &str, &[&str]); 4] = [
        (Source::DoNotTrack, "DO_NOT_TRACK", NOT_DISABLING),
        (Source::LokiwrapTelemetry, "LOKIWRAP_TELEMETRY", STAYS_ON),
        (Source::LokiTelemetry, "LOKI_TELEMETRY", STAYS_ON),
        (Source::LokiTelemetryDisabled, "LOKI_TELEMETRY_DISABLED", NOT_DISABLING),
    ];
    for (source, name, harmless) in checks {
        if let Some(value) = normal(name)
            && !harmless.contains(&value.as_str())
        {
            return Decision {
                enabled: false,
                decided_by: source,
            };
        }
    }
    if config.telemetry == Switch::Off {
        return Decision {
            enabled: false,
            decided_by: Source::ConfigFile,
        };
    }
    Decision {
        enabled: true,
        decided_by: Source::Default,
    }
}

/// The decision for this process.
pub fn decide(config: &Config) -> Decision {
    decide_with(|name| std::env::var(name).ok(), config)
}

/// What `telemetry status` and `doctor` say while `waits_for_notice` holds.
pub const WAITING_FOR_NOTICE: &str = "waits until the one-time notice has been shown on a terminal; \
     to start now: lokiwrap telemetry on";

/// Whether sending is allowed but waits for the user to be told: the first-run notice has not
/// been shown on a terminal, and `lokiwrap telemetry on` was not run. A run whose stderr goes to
/// a file or pipe (CI, cron) tells nobody, so it must not be the one that starts sending.
pub fn waits_for_notice(config: &Config) -> bool {
    !config.notice_shown && decide(config).enabled
}

/// Where reports may be sent now: the endpoint, if one is set, sending is allowed, and the
/// user has been told (see `waits_for_notice`).
pub fn sending_endpoint(config: &Config) -> Option<String> {
    config
        .endpoint()
        .filter(|_| config.notice_shown && decide(config).enabled)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(vars: &[(&str, &str)], config: &Config) -> Decision {
        let vars: Vec<(String, String)> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        decide_with(
            |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()),
            config,
        )
    }

    #[test]
    fn do_not_track_disables_unless_it_says_no() {
        let config = Config::default();
        for value in ["1", "true", "yes", "ture", "anything", " 1 "] {
            assert_eq!(
                with(&[("DO_NOT_TRACK", value)], &config).decided_by,
                Source::DoNotTrack,
                "{value}"
            );
        }
        for value in ["", "0", "false", "no", "off", "FALSE", " Off "] {
            assert!(with(&[("DO_NOT_TRACK", value)], &config).enabled, "{value}");
        }
    }

    #[test]
    fn each_switch_is_named_when_it_decides() {
        let config = Config::default();
        assert_eq!(
            with(&[("LOKIWRAP_TELEMETRY", "off")], &config).decided_by,
            Source::LokiwrapTelemetry
        );
        assert_eq!(
            with(&[("LOKIWRAP_TELEMETRY", "0")], &config).decided_by,
            Source::LokiwrapTelemetry
        );
        assert_eq!(
            with(&[("LOKIWRAP_TELEMETRY", "of")], &config).decided_by,
            Source::LokiwrapTelemetry
        );
        assert!(with(&[("LOKIWRAP_TELEMETRY", "on")], &config).enabled);
        assert_eq!(
            with(&[("LOKI_TELEMETRY", "off")], &config).decided_by,
            Source::LokiTelemetry
        );
        assert_eq!(
            with(&[("LOKI_TELEMETRY_DISABLED", "true")], &config).decided_by,
            Source::LokiTelemetryDisabled
        );
        assert!(with(&[("LOKI_TELEMETRY_DISABLED", "false")], &config).enabled);
        let off = Config::parse("telemetry = \"off\"").unwrap();
        assert_eq!(with(&[], &off).decided_by, Source::ConfigFile);
        assert_eq!(
            with(&[], &Config::default()),
            Decision {
                enabled: true,
                decided_by: Source::Default
            }
        );
    }

    #[test]
    fn nothing_is_sent_before_the_user_was_told() {
        let told = Config::parse("notice_shown = true\nendpoint = \"http://127.0.0.1:9\"").unwrap();
        let untold = Config::parse("endpoint = \"http://127.0.0.1:9\"").unwrap();
        // Whatever this process's environment says about the switch itself.
        assert_eq!(sending_endpoint(&untold), None);
        assert!(!waits_for_notice(&told));
    }

    #[test]
    fn an_environment_switch_wins_over_the_file_in_naming() {
        let off = Config::parse("telemetry = \"off\"").unwrap();
        assert_eq!(with(&[("DO_NOT_TRACK", "1")], &off).decided_by, Source::DoNotTrack);
    }
}
