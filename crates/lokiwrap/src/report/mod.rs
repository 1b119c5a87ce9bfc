//! Turning a run into a report: the policy that decides, the whitelisted payload, scrubbing,
//! the fingerprint and the project id.

pub mod policy;
pub mod project;

pub use lokiwrap_report::{payload, scrub, scrub_report};

use payload::Report;
use policy::Finding;
use scrub::Scrubber;

/// What is known about a finished run, before scrubbing.
pub struct RunFacts<'a> {
    /// The program's basename, as invoked.
    pub tool: &'a str,
    pub finding: Finding,
    pub exit_code: Option<i32>,
    pub signal: Option<&'static str>,
    /// `LOKIWRAP_PHASE`, if set.
    pub phase: Option<String>,
    pub project_id_hash: Option<String>,
    /// Words to redact wherever they appear: the local git remote's owner and repository.
    pub private_names: Vec<String>,
    pub captured_at: u64,
}

/// Longest phase label kept; anything else in `LOKIWRAP_PHASE` is dropped rather than sent.
const MAX_PHASE_CHARS: usize = 64;

/// Builds the report: every string passes through the scrubber, and the fingerprint is
/// computed from the scrubbed values.
pub fn build(facts: RunFacts<'_>, id: String) -> Result<Report, String> {
    let mut report = Report {
        schema: payload::SCHEMA,
        id,
        captured_at: payload::rfc3339_utc(facts.captured_at),
        os: std::env::consts::OS.to_string(),
        arch: std::env::consts::ARCH.to_string(),
        lokiwrap_version: env!("CARGO_PKG_VERSION").to_string(),
        tool: facts.tool.to_string(),
        tool_version: None,
        runtime: facts.finding.runtime.map(String::from),
        error_class: facts.finding.error_class,
        stack_signature: facts.finding.frames.into_iter().take(payload::MAX_FRAMES).collect(),
        exit_code: facts.exit_code,
        signal: facts.signal.map(String::from),
        friction_kind: facts.finding.friction.map(|kind| kind.name().to_string()),
        phase: facts.phase.as_deref().and_then(phase_label),
        project_id_hash: facts.project_id_hash,
        fingerprint: String::new(),
        rules_version: 0,
        redactions_count: 0,
    };
    let redactions = scrub_report(&mut report, &Scrubber::with_literals(&facts.private_names));
    report.redactions_count = u32::try_from(redactions).unwrap_or(u32::MAX);
    report.validate()?;
    Ok(report)
}

/// A phase is a short label (`build`, `deploy:staging`); anything else is not sent.
fn phase_label(raw: &str) -> Option<String> {
    let label = raw.trim();
    let ok = !label.is_empty()
        && label.chars().count() <= MAX_PHASE_CHARS
        && label.chars().all(|c| c.is_ascii_alphanumeric() || "._:/-".contains(c));
    ok.then(|| label.to_string())
}
