//! The command line: one definition (clap) that also yields help, completions and the man
//! page, plus the fast path that recognises a wrapped run without building that definition.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

pub mod crash;
pub mod doctor;
pub mod scrub;
pub mod shim;
pub mod telemetry;

use clap::{Parser, Subcommand};

use crate::launch::Launch;

/// lokiwrap's own subcommands. Any other first word is a program to run.
pub const SUBCOMMANDS: &[&str] = &["crash", "doctor", "scrub", "shim", "telemetry", "privacy", "help"];

const EXAMPLES: &str = "\
Examples:
  lokiwrap -- python3 -c 'import sys; sys.exit(3)'; echo $?    # prints 3
  lokiwrap cargo build --release                              # no `--` needed
  ln -s $(command -v lokiwrap) ~/shims/npm                     # a PATH shim for npm

The tool keeps its stdin, stdout, stderr bytes, terminal, signals and exit status.
Nested lokiwrap launches (see LOKIWRAP_DEPTH) pass straight through.";

/// Run a command-line tool unchanged, with private crash and friction reporting.
#[derive(Debug, Parser)]
#[command(name = "lokiwrap", version, after_help = EXAMPLES, args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// The program to run and its arguments. After `--`, every word belongs to the program.
    #[arg(value_name = "PROGRAM", trailing_var_arg = true)]
    pub program: Vec<OsString>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// See and delete the reports kept in the local outbox.
    #[command(after_help = crash::EXAMPLES)]
    Crash(crash::CrashArgs),
    /// Filter stdin to stdout through the same scrubber that reports go through.
    #[command(after_help = scrub::EXAMPLES)]
    Scrub(scrub::ScrubArgs),
    /// Wrap every invocation of a tool through PATH (and undo it).
    #[command(after_help = shim::EXAMPLES)]
    Shim(shim::ShimArgs),
    /// Turn sending reports off or on, and see what decides it.
    #[command(after_help = telemetry::EXAMPLES)]
    Telemetry(telemetry::TelemetryArgs),
    /// Check the configuration, outbox, telemetry switch, endpoint and shims; say how to fix each problem.
    #[command(after_help = doctor::EXAMPLES)]
    Doctor,
    /// Print PRIVACY.md: every field a report may hold, and what is never collected.
    #[command(after_help = "Example:\n  lokiwrap privacy | less")]
    Privacy,
}

/// What an invocation asks for.
pub enum Invocation {
    /// Run a program (as `lokiwrap [--] PROGRAM …` or through a shim).
    Run(Launch),
    /// Anything else: parsed by the full command-line definition.
    Command,
}

/// Decides from argv alone, without building the clap definition, whether this is a wrapped
/// run: the hot path pays for no parsing beyond a few string comparisons.
pub fn classify(args: &[OsString]) -> Invocation {
    let Some(argv0) = args.first() else {
        return Invocation::Command;
    };
    let invoked_as = Path::new(argv0).file_name().unwrap_or(argv0.as_os_str());
    if !invoked_as.as_bytes().starts_with(b"lokiwrap") {
        // A shim: lokiwrap under the tool's name. Every argument belongs to the tool.
        return Invocation::Run(Launch {
            program: invoked_as.to_owned(),
            argv0: argv0.clone(),
            args: args[1..].to_vec(),
        });
    }
    match args.get(1).map(|a| a.as_bytes()) {
        Some(b"--") if args.len() > 2 => Invocation::Run(launch_from(&args[2..])),
        Some(first) if !first.starts_with(b"-") && !is_subcommand(&args[1]) => Invocation::Run(launch_from(&args[1..])),
        _ => Invocation::Command,
    }
}

fn is_subcommand(word: &OsStr) -> bool {
    SUBCOMMANDS.iter().any(|name| word == OsStr::new(name))
}

fn launch_from(words: &[OsString]) -> Launch {
    Launch {
        program: words[0].clone(),
        argv0: words[0].clone(),
        args: words[1..].to_vec(),
    }
}

/// Parses and runs a non-run invocation. Returns a run when the definition finds one (the
/// fast path hands over `lokiwrap --` and option-led forms); otherwise exits.
pub fn parse(args: Vec<OsString>) -> Option<Launch> {
    let cli = Cli::parse_from(args);
    if cli.command.is_some() {
        end_quietly_on_a_closed_pipe();
    }
    let status = match cli.command {
        Some(Command::Crash(args)) => crash::run(args),
        Some(Command::Scrub(args)) => scrub::run(args),
        Some(Command::Telemetry(args)) => telemetry::run(args),
        Some(Command::Shim(args)) => shim::run(args),
        Some(Command::Doctor) => doctor::run(),
        Some(Command::Privacy) => {
            print!("{}", include_str!("../../../../PRIVACY.md"));
            0
        }
        None if !cli.program.is_empty() => return Some(launch_from(&cli.program)),
        None => {
            crate::messages::error("no program given. Usage: lokiwrap [--] PROGRAM [ARGS...]; see lokiwrap --help");
            2
        }
    };
    std::process::exit(status)
}

/// A subcommand's output piped into `head` ends it the way it ends `ls`: by SIGPIPE, quietly.
/// Rust ignores SIGPIPE, and `println!` then panics on the broken pipe. Only subcommands get
/// this: a wrapped tool inherits the disposition its caller gave lokiwrap.
fn end_quietly_on_a_closed_pipe() {
    use nix::sys::signal::{SigHandler, Signal, signal};
    // SAFETY: installs the default disposition, not a handler: no code runs on the signal, and
    // no other thread exists yet to race with the change.
    let _ = unsafe { signal(Signal::SIGPIPE, SigHandler::SigDfl) };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classify_words(words: &[&str]) -> Option<(String, String, Vec<String>)> {
        let args: Vec<OsString> = words.iter().map(OsString::from).collect();
        match classify(&args) {
            Invocation::Run(l) => Some((
                l.program.to_string_lossy().into(),
                l.argv0.to_string_lossy().into(),
                l.args.iter().map(|a| a.to_string_lossy().into()).collect(),
            )),
            Invocation::Command => None,
        }
    }

    #[test]
    fn everything_after_double_dash_is_the_program() {
        let run = classify_words(&["lokiwrap", "--", "grep", "--", "-v"]).unwrap();
        assert_eq!(run, ("grep".into(), "grep".into(), vec!["--".into(), "-v".into()]));
    }

    #[test]
    fn a_program_needs_no_double_dash() {
        let run = classify_words(&["/usr/bin/lokiwrap", "cargo", "--version"]).unwrap();
        assert_eq!(run.0, "cargo");
        assert_eq!(run.2, vec!["--version".to_string()]);
    }

    #[test]
    fn options_and_bare_invocations_go_to_the_parser() {
        assert!(classify_words(&["lokiwrap", "--help"]).is_none());
        assert!(classify_words(&["lokiwrap"]).is_none());
        assert!(classify_words(&["lokiwrap", "--"]).is_none());
    }

    #[test]
    fn a_shim_runs_its_own_name_with_argv0_as_typed() {
        let run = classify_words(&["/home/u/.local/share/lokiwrap/shims/npm", "install"]).unwrap();
        assert_eq!(run.0, "npm");
        assert_eq!(run.1, "/home/u/.local/share/lokiwrap/shims/npm");
        assert_eq!(run.2, vec!["install".to_string()]);
    }

    #[test]
    fn the_fast_path_knows_every_subcommand() {
        use clap::CommandFactory;
        let defined: Vec<String> = Cli::command()
            .get_subcommands()
            .map(|c| c.get_name().to_string())
            .collect();
        let mut known: Vec<String> = SUBCOMMANDS
            .iter()
            .filter(|s| **s != "help")
            .map(|s| s.to_string())
            .collect();
        let mut defined_sorted = defined.clone();
        defined_sorted.sort();
        known.sort();
        assert_eq!(known, defined_sorted);
    }
}
