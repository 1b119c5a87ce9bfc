//! lokiwrap's entry point: decide from argv whether this is a wrapped run (the hot path: no
//! configuration, no regex, no network before the child is spawned) or a subcommand.

use std::ffi::OsString;

use std::panic::AssertUnwindSafe;

use lokiwrap::capture;
use lokiwrap::cli::{self, Invocation};
use lokiwrap::launch::{self, Launch, Outcome};
use lokiwrap::watch::output_watch::OutputWatch;

// Runs before Rust's runtime ignores SIGPIPE and reopens closed standard descriptors, so the
// child can inherit exactly what the caller gave lokiwrap. It lives in the binary because the
// linker keeps an initialiser of the binary's own, while one in a library may be dropped.
#[cfg(target_os = "linux")]
#[used]
#[unsafe(link_section = ".init_array")]
static RECORD_BEFORE_MAIN: extern "C" fn() = launch::inherited::record_before_main;

#[cfg(target_vendor = "apple")]
#[used]
#[unsafe(link_section = "__DATA,__mod_init_func")]
static RECORD_BEFORE_MAIN: extern "C" fn() = launch::inherited::record_before_main;

fn main() {
    let args: Vec<OsString> = std::env::args_os().collect();
    match cli::classify(&args) {
        Invocation::Run(run) => run_wrapped(run),
        Invocation::Command => {
            if let Some(run) = cli::parse(args) {
                run_wrapped(run);
            }
        }
    }
}

fn run_wrapped(run: Launch) -> ! {
    let tool = capture::tool_name(&run.program);
    let mut watch = OutputWatch::new(capture::friction_setup(tool.clone()));
    match launch::run(&run, &mut watch) {
        Outcome::Ran(reason) => {
            // Whatever happens while reporting, lokiwrap ends as the tool did.
            let _ = std::panic::catch_unwind(AssertUnwindSafe(|| capture::after_run(&tool, reason, &mut watch)));
            launch::exit_like(reason)
        }
        Outcome::DidNotStart(status) => std::process::exit(status),
    }
}
