//! `lokiwrap crash`: what the local outbox holds, exactly as it would be sent. Reports are
//! data and go to stdout; messages go to stderr.

use std::io::IsTerminal;

use clap::{Args, Subcommand};

use crate::config::Config;
use crate::deliver::submit;
use crate::messages;
use crate::outbox::Outbox;
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

pub fn run(args: CrashArgs) -> i32 {
    let outbox = match submit::open_outbox() {
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
            Err(problem) => out.push_str(&format!("{:<9} (unreadable: {problem})\n", submit::short(&entry.id))),
        }
    }
    submit::write_stdout(out.as_bytes())
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
    submit::write_stdout(text.as_bytes())
}

fn show(outbox: &Outbox, id: &str) -> Result<i32, String> {
    let Some(entry) = outbox.get(id).map_err(|e| e.to_string())? else {
        return Err(format!(
            "no report {id} in {}; `lokiwrap crash` lists them",
            outbox.dir().display()
        ));
    };
    submit::write_stdout(&entry.bytes)?;
    // Exactly the bytes; a newline only for a person's terminal, so the prompt starts clean.
    if std::io::stdout().is_terminal() {
        submit::write_stdout(b"\n")?;
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

fn truncate(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        text.to_string()
    } else {
        text.chars().take(width - 1).chain(std::iter::once('…')).collect()
    }
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
    submit::prepare(outbox, id, yes, &config)?;
    submit::print_for_manual_filing(outbox, id, config.repository.as_deref())
}
