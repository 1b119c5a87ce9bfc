//! After a wrapped run: decide whether it makes a report, build it, and keep it in the local
//! outbox. All of this runs after the tool has exited and fails open: a problem costs at most
//! one warning line, never the tool's exit status. A run that makes no report reads no
//! configuration, compiles no rule and hashes nothing.

use std::path::Path;
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::config::{Capture, Config};
use crate::consent::{self, notice};
use crate::deliver;
use crate::launch::ExitReason;
use crate::messages;
use crate::outbox::{self, Outbox};
use crate::report::{self, RunFacts, payload, policy, project};
use crate::watch::output_watch::{FrictionSetup, OutputWatch};

/// The configuration, read once, at the first moment it is needed.
fn config() -> &'static (Config, Option<String>) {
    static CONFIG: OnceLock<(Config, Option<String>)> = OnceLock::new();
    CONFIG.get_or_init(Config::load)
}

/// The tool's name in reports: the basename of the program as invoked.
pub fn tool_name(program: &std::ffi::OsStr) -> String {
    Path::new(program)
        .file_name()
        .unwrap_or(program)
        .to_string_lossy()
        .into_owned()
}

/// Sets up the friction matcher when the tool first writes to stderr.
pub fn friction_setup(tool: String) -> FrictionSetup {
    Box::new(move || {
        let (config, _) = config();
        (config.friction_rules_for(&tool), config.friction.thresholds)
    })
}

/// Everything after a wrapped run: the report, the first-run notice, then delivery.
pub fn after_run(tool: &str, reason: ExitReason, watch: &mut OutputWatch) {
    // A bug here must not print a backtrace over the tool's output.
    std::panic::set_hook(Box::new(|_| {
        messages::warn_once("internal error while writing a crash report")
    }));
    report_run(tool, reason, watch);
    let (config, _) = config();
    // Nothing leaves the machine in the run that told the user what may leave it, nor before
    // the user was told (start_delivery checks that).
    if !notice::show_once(config) {
        start_delivery(config);
    }
}

/// Decides, builds and stores the run's report, if it makes one.
fn report_run(tool: &str, reason: ExitReason, watch: &mut OutputWatch) {
    let friction = watch.friction();
    if reason == ExitReason::Code(0) && friction.is_none() {
        return;
    }
    let (config, problem) = config();
    if let Some(problem) = problem {
        messages::warn_once(problem);
    }
    if let Some(error) = watch.rule_errors().first() {
        messages::warn_once(error);
    }
    let Some(finding) = policy::decide(reason, || watch.crash(), friction, config.exit_codes_for(tool)) else {
        return;
    };
    if config.capture_for(tool) == Capture::Off {
        return;
    }
    if let Err(problem) = store(tool, reason, finding) {
        messages::warn_once(format_args!("the crash report was not saved: {problem}"));
    }
}

fn store(tool: &str, reason: ExitReason, finding: policy::Finding) -> Result<(), String> {
    let captured_at = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let project = std::env::current_dir().ok().and_then(|dir| project::project_of(&dir));
    let facts = RunFacts {
        tool,
        finding,
        exit_code: match reason {
            ExitReason::Code(code) => Some(code),
            ExitReason::Signal(_) => None,
        },
        signal: match reason {
            ExitReason::Signal(signal) => Some(signal.as_str()),
            ExitReason::Code(_) => None,
        },
        phase: std::env::var("LOKIWRAP_PHASE").ok(),
        project_id_hash: project.as_ref().map(|p| p.id_hash.clone()),
        private_names: project.map(|p| p.names).unwrap_or_default(),
        captured_at,
    };
    let id = payload::new_id().map_err(|e| format!("no random id available ({e})"))?;
    let report = report::build(facts, id)?;
    let dir = outbox::default_dir().ok_or("no state directory (set HOME or XDG_STATE_HOME)")?;
    Outbox::new(dir)
        .put(&report.id, captured_at, &report.to_bytes())
        .map_err(|e| e.to_string())?;
    Ok(())
}

/// Starts a detached flusher when sending is allowed, an endpoint is set, the user has seen
/// the notice (or ran `lokiwrap telemetry on`) and a report is due. Otherwise no connection is
/// opened and no process is started; reports wait in the outbox.
fn start_delivery(config: &Config) {
    if consent::sending_endpoint(config).is_none() {
        return;
    }
    let Some(dir) = outbox::default_dir() else { return };
    let flusher = match deliver::flusher_program() {
        Ok(flusher) => flusher,
        Err(problem) => {
            messages::warn_once(format_args!("reports cannot be sent: {problem}"));
            return;
        }
    };
    if deliver::debug_requested() {
        // In the foreground: the point is to see what would be sent.
        let _ = std::process::Command::new(&flusher).status();
        return;
    }
    if deliver::reports_due(&Outbox::new(dir))
        && let Err(problem) = deliver::spawn_detached_flusher(&flusher, &[])
    {
        messages::warn_once(format_args!(
            "cannot start sending reports in the background: {problem}"
        ));
    }
}
