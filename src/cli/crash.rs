//! `lokiwrap crash`: what the local outbox holds, exactly as it would be sent. Reports are
//! data and go to stdout; messages go to stderr.

use std::io::{IsTerminal, Write};

use clap::{Args, Subcommand};

use crate::config::Config;
use crate::consent;
use crate::deliver::{self, Sent, Settings};
use crate::messages;
use crate::outbox::{self, Outbox};
use crate::percent_encode::percent_encode;
use crate::report::payload::Report;

pub const EXAMPLES: &str = "\
Examples:
  lokiwrap crash                     # a table of the reports waiting in the outbox
  lokiwrap crash list --json         # every report, as a JSON array
  lokiwrap crash show 3f2a           # one report, byte for byte as it would be sent
  lokiwrap crash clear               # delete every report (or: clear ID)
  lokiwrap crash submit              # send now, one line per report (or: submit ID)";

const LIST_EXAMPLES: &str = "\
Examples:
  lokiwrap crash list          # id, time, tool, error class and exit of each report
  lokiwrap crash list --json   # every report in full";

const SHOW_EXAMPLE: &str = "\
Example:
  lokiwrap crash show 3f2a     # a unique prefix of the id is enough";

const SUBMIT_EXAMPLES: &str = "\
Examples:
  lokiwrap crash submit              # every report, one line each
  lokiwrap crash submit 3f2a --yes   # this one, even though telemetry is off";

const CLEAR_EXAMPLES: &str = "\
Examples:
  lokiwrap crash clear 3f2a    # one report
  lokiwrap crash clear         # all of them";

#[derive(Debug, Args)]
pub struct CrashArgs {
    #[command(subcommand)]
    pub action: Option<CrashAction>,
}

#[derive(Debug, Subcommand)]
pub enum CrashAction {
    /// A table of the reports in the outbox (the default).
    #[command(after_help = LIST_EXAMPLES)]
    List {
        /// Every report in full, as a JSON array.
        #[arg(long)]
        json: bool,
    },
    /// One report, exactly the bytes that would be sent.
    #[command(after_help = SHOW_EXAMPLE)]
    Show {
        /// The report's id, or a unique prefix of it.
        id: String,
    },
    /// Send reports now, in the foreground. Without an endpoint, print each report and a
    /// prefilled new-issue link instead.
    #[command(after_help = SUBMIT_EXAMPLES)]
    Submit {
        /// The report's id or a unique prefix; all reports when omitted.
        id: Option<String>,
        /// Send even though telemetry is off (says which switch it overrides).
        #[arg(long)]
        yes: bool,
    },
    /// Delete one report, or all of them.
    #[command(after_help = CLEAR_EXAMPLES)]
    Clear {
        /// The report's id or a unique prefix; all reports when omitted.
        id: Option<String>,
    },
}

fn open_outbox() -> Result<Outbox, i32> {
    match outbox::default_dir() {
        Some(dir) => Ok(Outbox::new(dir)),
        None => {
            messages::error("no state directory for the outbox: set HOME or XDG_STATE_HOME");
            Err(1)
        }
    }
}

pub fn run(args: CrashArgs) -> i32 {
    let outbox = match open_outbox() {
        Ok(outbox) => outbox,
        Err(status) => return status,
    };
    let result = match args.action.unwrap_or(CrashAction::List { json: false }) {
        CrashAction::List { json: false } => list_table(&outbox),
        CrashAction::List { json: true } => list_json(&outbox),
        CrashAction::Show { id } => show(&outbox, &id),
        CrashAction::Clear { id } => clear(&outbox, id.as_deref()),
        CrashAction::Submit { id, yes } => submit(&outbox, id.as_deref(), yes),
    };
    match result {
        Ok(status) => status,
        Err(problem) => {
            messages::error(format_args!("crash: {problem}"));
            1
        }
    }
}

fn list_table(outbox: &Outbox) -> Result<i32, String> {
    let entries = outbox.list().map_err(|e| e.to_string())?;
    if entries.is_empty() {
        eprintln!("lokiwrap: no reports in {}", outbox.dir().display());
        return Ok(0);
    }
    let mut out =
        String::from("ID        CAPTURED              TOOL              WHAT                            EXIT\n");
    for entry in &entries {
        match Report::from_bytes(&entry.bytes) {
            Ok(r) => {
                let exit = r
                    .signal
                    .clone()
                    .or(r.exit_code.map(|c| c.to_string()))
                    .unwrap_or_default();
                out.push_str(&format!(
                    "{:<9} {:<21} {:<17} {:<31} {}\n",
                    &r.id[..8],
                    r.captured_at,
                    truncate(&r.tool, 17),
                    truncate(&r.error_class, 31),
                    exit
                ));
            }
            Err(problem) => out.push_str(&format!("{:<9} (unreadable: {problem})\n", short(&entry.id))),
        }
    }
    write_stdout(out.as_bytes())
}

fn list_json(outbox: &Outbox) -> Result<i32, String> {
    let mut reports = Vec::new();
    for entry in outbox.list().map_err(|e| e.to_string())? {
        match serde_json::from_slice::<serde_json::Value>(&entry.bytes) {
            Ok(value) => reports.push(value),
            Err(e) => messages::warn_once(format_args!("skipping {}: not JSON ({e})", entry.path.display())),
        }
    }
    let mut text = serde_json::to_string_pretty(&reports).map_err(|e| e.to_string())?;
    text.push('\n');
    write_stdout(text.as_bytes())
}

fn show(outbox: &Outbox, id: &str) -> Result<i32, String> {
    let Some(entry) = outbox.get(id).map_err(|e| e.to_string())? else {
        return Err(format!(
            "no report {id} in {}; `lokiwrap crash` lists them",
            outbox.dir().display()
        ));
    };
    write_stdout(&entry.bytes)?;
    // Exactly the bytes; a newline only for a person's terminal, so the prompt starts clean.
    if std::io::stdout().is_terminal() {
        write_stdout(b"\n")?;
    }
    Ok(0)
}

fn clear(outbox: &Outbox, id: Option<&str>) -> Result<i32, String> {
    match id {
        Some(id) => {
            let entry = outbox.get(id).map_err(|e| e.to_string())?;
            let Some(entry) = entry else {
                return Err(format!(
                    "no report {id} in {}; `lokiwrap crash` lists them",
                    outbox.dir().display()
                ));
            };
            outbox.remove(&entry.id).map_err(|e| e.to_string())?;
            eprintln!("lokiwrap: deleted report {}", entry.id);
        }
        None => {
            let removed = outbox.clear().map_err(|e| e.to_string())?;
            eprintln!(
                "lokiwrap: deleted {removed} report{}",
                if removed == 1 { "" } else { "s" }
            );
        }
    }
    Ok(0)
}

fn write_stdout(bytes: &[u8]) -> Result<i32, String> {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Ok(()) => Ok(0),
        // A closed pipe (`| head`) is the reader's choice, not an error.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(0),
        Err(e) => Err(format!("cannot write stdout: {e}")),
    }
}

fn truncate(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        text.to_string()
    } else {
        text.chars().take(width - 1).chain(std::iter::once('…')).collect()
    }
}

fn short(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}

fn submit(outbox: &Outbox, id: Option<&str>, yes: bool) -> Result<i32, String> {
    let (config, _) = Config::load();
    if config.endpoint().is_some() {
        // Sending is lokiwrap-flush's job; it checks the switch and prints one line per report.
        use std::os::unix::process::CommandExt;
        let flusher = crate::deliver::flusher_program().map_err(|e| e.to_string())?;
        let mut cmd = std::process::Command::new(&flusher);
        cmd.arg("submit").args(id).args(yes.then_some("--yes"));
        return Err(format!("cannot start {}: {}", flusher.display(), cmd.exec()));
    }
    prepare_submit(outbox, id, yes, &config)?;
    print_for_manual_filing(outbox, id, config.repository.as_deref())
}

/// `lokiwrap-flush submit [ID] [--yes]`: sends now, in the foreground, one line per report.
pub fn send_now(id: Option<&str>, yes: bool) -> i32 {
    let result = open_outbox().map_err(|_| String::new()).and_then(|outbox| {
        let (config, _) = Config::load();
        prepare_submit(&outbox, id, yes, &config)?;
        match config.endpoint() {
            Some(endpoint) => send_with_progress(&outbox, id, endpoint),
            None => print_for_manual_filing(&outbox, id, config.repository.as_deref()),
        }
    });
    match result {
        Ok(status) => status,
        Err(problem) if problem.is_empty() => 1,
        Err(problem) => {
            messages::error(format_args!("crash: {problem}"));
            1
        }
    }
}

/// Checks the switch (saying which one `--yes` overrides) and that the named report exists.
fn prepare_submit(outbox: &Outbox, id: Option<&str>, yes: bool, config: &Config) -> Result<(), String> {
    let decision = consent::decide(config);
    if !decision.enabled {
        if !yes {
            return Err(format!(
                "telemetry is off ({} decided); nothing was sent. To send anyway: lokiwrap crash submit --yes",
                decision.decided_by.name()
            ));
        }
        eprintln!(
            "lokiwrap: sending although {} turns telemetry off (--yes)",
            decision.decided_by.name()
        );
    }
    if let Some(id) = id
        && outbox.get(id).map_err(|e| e.to_string())?.is_none()
    {
        return Err(format!(
            "no report {id} in {}; `lokiwrap crash` lists them",
            outbox.dir().display()
        ));
    }
    Ok(())
}

fn send_with_progress(outbox: &Outbox, id: Option<&str>, endpoint: String) -> Result<i32, String> {
    let debug = crate::deliver::debug_requested();
    let settings = Settings { endpoint, debug };
    let full_id = match id {
        Some(id) => outbox.get(id).map_err(|e| e.to_string())?.map(|e| e.id),
        None => None,
    };
    let mut failures = 0;
    let attempts = deliver::flush(outbox, &settings, true, full_id.as_deref(), &mut |attempt| {
        let short = attempt.id.get(..8).unwrap_or(&attempt.id);
        match &attempt.result {
            Sent::Delivered => eprintln!("lokiwrap: {short} sent"),
            Sent::Shown => eprintln!("lokiwrap: {short} shown, not sent (LOKIWRAP_TELEMETRY_DEBUG)"),
            Sent::Kept(why) => eprintln!("lokiwrap: {short} not sent, kept for later: {why}"),
            Sent::Dropped(why) => eprintln!("lokiwrap: {short} dropped: {why}"),
            Sent::Skipped => eprintln!("lokiwrap: {short} not due yet"),
        }
        if matches!(attempt.result, Sent::Kept(_) | Sent::Dropped(_)) {
            failures += 1;
        }
    });
    match attempts.map_err(|e| e.to_string())? {
        None => Err("another lokiwrap is sending reports right now; try again in a moment".into()),
        Some(list) if list.is_empty() => {
            eprintln!("lokiwrap: no reports to send");
            Ok(0)
        }
        Some(_) => Ok(if failures == 0 { 0 } else { 1 }),
    }
}

/// Phase-0 style filing: the report itself, and a link that opens a new issue with it.
fn print_for_manual_filing(outbox: &Outbox, id: Option<&str>, repository: Option<&str>) -> Result<i32, String> {
    let entries = match id {
        Some(id) => outbox.get(id).map_err(|e| e.to_string())?.into_iter().collect(),
        None => outbox.list().map_err(|e| e.to_string())?,
    };
    if entries.is_empty() {
        eprintln!("lokiwrap: no reports to submit");
        return Ok(0);
    }
    eprintln!("lokiwrap: no endpoint is set (endpoint in config.toml or LOKIWRAP_ENDPOINT): nothing was sent.");
    let mut out = String::new();
    for entry in entries {
        let Ok(report) = crate::report::payload::Report::from_bytes(&entry.bytes) else {
            continue;
        };
        let body = String::from_utf8_lossy(&entry.bytes).into_owned();
        out.push_str(&body);
        out.push('\n');
        match repository {
            Some(repo) => {
                let title = format!(
                    "{}: {} in {}",
                    report.error_class,
                    short(&report.fingerprint),
                    report.tool
                );
                let issue_body = format!("Crash report from lokiwrap:\n\n```json\n{body}\n```\n");
                out.push_str(&format!(
                    "https://github.com/{repo}/issues/new?title={}&body={}\n",
                    percent_encode(&title),
                    percent_encode(&issue_body)
                ));
            }
            None => eprintln!("lokiwrap: set repository = \"owner/name\" in config.toml for a ready-made issue link"),
        }
    }
    write_stdout(out.as_bytes())
}
