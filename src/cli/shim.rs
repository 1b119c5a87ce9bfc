//! `lokiwrap shim`: wrap every invocation of a tool through PATH, and undo it.

use clap::{Args, Subcommand};

use crate::messages;
use crate::shim::{self, Added, Shims};

pub const EXAMPLES: &str = "\
Examples:
  lokiwrap shim add npm cargo         # links in the shims directory, named like the tools
  eval \"$(lokiwrap shim env bash)\"    # put the shims first on PATH (add this to ~/.bashrc)
  npm --version                       # now runs through lokiwrap
  lokiwrap shim list                  # each shim and the real tool it runs
  lokiwrap shim remove npm cargo      # undo";

const ADD_EXAMPLES: &str = "\
Examples:
  lokiwrap shim add npm cargo        # wrap every npm and cargo run through PATH
  lokiwrap shim add --force mytool   # before mytool is installed";

const REMOVE_EXAMPLE: &str = "\
Example:
  lokiwrap shim remove npm cargo     # npm and cargo run unwrapped again";

const LIST_EXAMPLE: &str = "\
Example:
  lokiwrap shim list                 # one line per shim: npm<TAB>/usr/bin/npm";

const ENV_EXAMPLES: &str = "\
Examples:
  eval \"$(lokiwrap shim env bash)\"   # in ~/.bashrc (zsh: the same with zsh, in ~/.zshrc)
  lokiwrap shim env fish | source    # in ~/.config/fish/config.fish";

#[derive(Debug, Args)]
pub struct ShimArgs {
    #[command(subcommand)]
    pub action: ShimAction,
}

#[derive(Debug, Subcommand)]
pub enum ShimAction {
    /// Wrap these tools: create a shim for each.
    #[command(after_help = ADD_EXAMPLES)]
    Add {
        #[arg(required = true, value_name = "TOOL")]
        tools: Vec<String>,
        /// Create the shim even if the tool is not on PATH yet.
        #[arg(long)]
        force: bool,
    },
    /// Stop wrapping these tools: remove their shims.
    #[command(after_help = REMOVE_EXAMPLE)]
    Remove {
        #[arg(required = true, value_name = "TOOL")]
        tools: Vec<String>,
    },
    /// The shims, and the real tool each one runs.
    #[command(after_help = LIST_EXAMPLE)]
    List,
    /// Print the line that puts the shims directory first on PATH, for `eval`.
    #[command(after_help = ENV_EXAMPLES)]
    Env {
        /// bash, zsh or fish (default: from $SHELL).
        shell: Option<String>,
    },
}

pub fn run(args: ShimArgs) -> i32 {
    let Some(dir) = shim::default_dir() else {
        messages::error("shim: no data directory for the shims: set HOME or XDG_DATA_HOME");
        return 1;
    };
    let lokiwrap = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(e) => {
            messages::error(format_args!("shim: cannot find lokiwrap's own executable: {e}"));
            return 1;
        }
    };
    let shims = Shims { dir, lokiwrap };
    match args.action {
        ShimAction::Add { tools, force } => each(&tools, |tool| {
            shims.add(tool, force).map(|added| match added {
                Added::Created => eprintln!("lokiwrap: {tool} is wrapped ({})", shims.dir.join(tool).display()),
                Added::AlreadyThere => eprintln!("lokiwrap: {tool} was already wrapped"),
            })
        }),
        ShimAction::Remove { tools } => each(&tools, |tool| {
            shims
                .remove(tool)
                .map(|()| eprintln!("lokiwrap: {tool} is no longer wrapped"))
        }),
        ShimAction::List => match shims.list() {
            // Stdout stays a list (empty here) for scripts; the hint is for the person.
            Ok(list) if list.is_empty() => {
                eprintln!("lokiwrap: no shims yet; add one with: lokiwrap shim add TOOL");
                0
            }
            Ok(list) => {
                for (name, real) in list {
                    let real = real.map_or("(no such tool on PATH)".to_string(), |p| p.display().to_string());
                    println!("{name}\t{real}");
                }
                0
            }
            Err(e) => {
                messages::error(format_args!("shim: cannot read {}: {e}", shims.dir.display()));
                1
            }
        },
        ShimAction::Env { shell } => {
            let shell = shell.unwrap_or_else(|| {
                let from_env = std::env::var("SHELL").unwrap_or_default();
                let name = from_env.rsplit('/').next().unwrap_or("bash").to_string();
                if name.is_empty() { "bash".into() } else { name }
            });
            match shim::env_line(&shell, &shims.dir) {
                Ok(line) => {
                    println!("{line}");
                    0
                }
                Err(problem) => {
                    messages::error(format_args!("shim env: {problem}"));
                    2
                }
            }
        }
    }
}

/// Applies `action` to every tool, reporting each failure; fails if any did.
fn each(tools: &[String], mut action: impl FnMut(&str) -> Result<(), String>) -> i32 {
    let mut status = 0;
    for tool in tools {
        if let Err(problem) = action(tool) {
            messages::error(format_args!("shim: {problem}"));
            status = 1;
        }
    }
    status
}
