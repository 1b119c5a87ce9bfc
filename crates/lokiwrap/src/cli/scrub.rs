//! `lokiwrap scrub`: the report scrubber as a filter, stdin to stdout. Useful before pasting a
//! log into an issue, and the way to see exactly what the scrubber removes.

use std::io::{Read, Write};

use clap::Args;

use crate::messages;
use crate::report::{project, scrub::Scrubber};

pub const EXAMPLES: &str = "\
Examples:
  lokiwrap scrub < build.log > build.scrubbed.log
  printf 'token ghp_%s\\n' $(printf 'a%.0s' $(seq 36)) | lokiwrap scrub
  lokiwrap scrub --count < app.log >/dev/null      # how many redactions, on stderr";

#[derive(Debug, Args)]
pub struct ScrubArgs {
    /// Also print the number of redactions on stderr.
    #[arg(long)]
    pub count: bool,
}

pub fn run(args: ScrubArgs) -> i32 {
    let mut input = Vec::new();
    if let Err(e) = std::io::stdin().read_to_end(&mut input) {
        messages::error(format_args!("scrub: cannot read stdin: {e}"));
        return 1;
    }
    // The local repository's owner and name are scrubbed too, as in reports.
    let names = std::env::current_dir()
        .ok()
        .and_then(|dir| project::project_of(&dir))
        .map(|p| p.names);
    let scrubber = Scrubber::with_literals(&names.unwrap_or_default());
    let text = String::from_utf8_lossy(&input);
    let scrubbed = scrubber.scrub(&text);
    if let Err(e) = std::io::stdout().write_all(scrubbed.text.as_bytes()) {
        messages::error(format_args!("scrub: cannot write stdout: {e}"));
        return 1;
    }
    if args.count {
        eprintln!("lokiwrap: scrub: {} redactions", scrubbed.redactions);
    }
    0
}
