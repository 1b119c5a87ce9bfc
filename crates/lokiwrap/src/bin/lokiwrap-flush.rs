//! lokiwrap-flush: sends the reports waiting in the outbox to the configured collector.
//! lokiwrap starts it detached after a run (no arguments), or `lokiwrap crash submit` runs it in
//! the foreground (`submit [ID] [--yes]`). It is a program of its own so that the network and
//! TLS code never loads with a wrapped tool.

use lokiwrap::{deliver, messages};

const HELP: &str = "\
Send the reports waiting in lokiwrap's outbox to the configured collector.

Usage: lokiwrap-flush [submit [ID] [--yes]]

lokiwrap starts it detached after a wrapped run; you do not need to run it yourself.

Examples:
  lokiwrap-flush                 # send the reports that are due, printing nothing
  lokiwrap-flush submit 3f2a     # what `lokiwrap crash submit 3f2a` runs: one line per report
";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    let status = match words.as_slice() {
        [] => deliver::run_in_background(),
        ["-h" | "--help"] => {
            print!("{HELP}");
            0
        }
        ["submit", rest @ ..] => {
            let yes = rest.contains(&"--yes");
            let ids: Vec<&str> = rest.iter().copied().filter(|w| *w != "--yes").collect();
            match ids.as_slice() {
                [] => deliver::submit::send_now(None, yes),
                [id] => deliver::submit::send_now(Some(id), yes),
                _ => usage(),
            }
        }
        _ => usage(),
    };
    std::process::exit(status)
}

fn usage() -> i32 {
    messages::error(
        "usage: lokiwrap-flush [submit [ID] [--yes]]; it is started by lokiwrap (see lokiwrap crash --help)",
    );
    2
}
