//! `lokiwrap telemetry`: the one switch, and what decides it. `enabled` lets scripts and other
//! programs (an installer, a dashboard, another telemetry client) obey the same switch.

use clap::{Args, Subcommand};

use crate::config::Config;
use crate::consent::{self, persist};
use crate::messages;
use crate::outbox::{self, Outbox};

pub const EXAMPLES: &str = "\
Examples:
  lokiwrap telemetry off             # nothing is ever sent; reports stay in the local outbox
  lokiwrap telemetry status --json   # {\"enabled\":false,\"decided_by\":\"config\",...}
  lokiwrap telemetry enabled && echo allowed   # exit 0 when sending is allowed, 1 when not";

const ON_EXAMPLE: &str = "\
Example:
  lokiwrap telemetry on       # says so if DO_NOT_TRACK or another switch still turns it off

It also counts as having read the first-run notice: sending no longer waits for the notice
to be shown on a terminal (a CI job's stderr is not one).";

const OFF_EXAMPLE: &str = "\
Example:
  lokiwrap telemetry off      # reports still wait in the local outbox: lokiwrap crash";

const STATUS_EXAMPLES: &str = "\
Examples:
  lokiwrap telemetry status          # on or off, what decided, endpoint, pending reports
  lokiwrap telemetry status --json   # {\"enabled\":true,\"decided_by\":\"default\",...}";

const ENABLED_EXAMPLE: &str = "\
Example:
  lokiwrap telemetry enabled && echo 'sending is allowed'";

#[derive(Debug, Args)]
pub struct TelemetryArgs {
    #[command(subcommand)]
    pub action: TelemetryAction,
}

#[derive(Debug, Subcommand)]
pub enum TelemetryAction {
    /// Allow sending (removes the switch that `off` wrote, and records the notice as read).
    #[command(after_help = ON_EXAMPLE)]
    On,
    /// Never send anything (written to config.toml).
    #[command(after_help = OFF_EXAMPLE)]
    Off,
    /// Whether sending is allowed, which setting decided, the endpoint and pending reports.
    #[command(after_help = STATUS_EXAMPLES)]
    Status {
        /// As one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Print nothing; exit 0 when sending is allowed, 1 when not.
    #[command(after_help = ENABLED_EXAMPLE)]
    Enabled,
}

pub fn run(args: TelemetryArgs) -> i32 {
    match args.action {
        TelemetryAction::On => switch(false),
        TelemetryAction::Off => switch(true),
        TelemetryAction::Status { json } => status(json),
        TelemetryAction::Enabled => {
            let (config, _) = Config::load();
            if consent::decide(&config).enabled { 0 } else { 1 }
        }
    }
}

fn switch(off: bool) -> i32 {
    let result = if off {
        persist::set("telemetry", "off")
    } else {
        // Asking for sending is as good as having read the notice about it.
        persist::update(&[("notice_shown", true.into())], &["telemetry"])
    };
    if let Err(problem) = result {
        messages::error(format_args!("telemetry: {problem}"));
        return 1;
    }
    let (config, _) = Config::load();
    let decision = consent::decide(&config);
    if off {
        eprintln!(
            "lokiwrap: telemetry is off: nothing will be sent. Reports still wait in the local outbox \
             (lokiwrap crash); capture = \"off\" in config.toml stops those too."
        );
    } else if decision.enabled {
        eprintln!("lokiwrap: telemetry is on: reports are sent to the configured endpoint, if any.");
    } else {
        eprintln!(
            "lokiwrap: the config no longer turns telemetry off, but {} still does.",
            decision.decided_by.name()
        );
    }
    0
}

fn status(json: bool) -> i32 {
    let (config, problem) = Config::load();
    if let Some(problem) = problem {
        messages::warn_once(problem);
    }
    let decision = consent::decide(&config);
    let endpoint = config.endpoint();
    let pending = outbox::default_dir().map(|dir| Outbox::new(dir).count()).unwrap_or(0);
    let waits_for_notice = consent::waits_for_notice(&config);
    if json {
        // A struct keeps the fields in the documented order.
        #[derive(serde::Serialize)]
        struct Status<'a> {
            enabled: bool,
            decided_by: &'a str,
            endpoint: Option<&'a str>,
            pending: usize,
            waits_for_notice: bool,
        }
        let status = Status {
            enabled: decision.enabled,
            decided_by: decision.decided_by.name(),
            endpoint: endpoint.as_deref(),
            pending,
            waits_for_notice,
        };
        println!("{}", serde_json::to_string(&status).unwrap_or_default());
    } else {
        println!("telemetry:       {}", if decision.enabled { "on" } else { "off" });
        println!("decided by:      {}", decision.decided_by.name());
        if waits_for_notice {
            println!("sending:         {}", consent::WAITING_FOR_NOTICE);
        }
        println!(
            "endpoint:        {}",
            endpoint.as_deref().unwrap_or("none (reports stay on this machine)")
        );
        println!("pending reports: {pending}");
    }
    0
}
