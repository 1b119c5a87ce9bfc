//! lokiwrap-collector: receives lokiwrap reports, scrubs and validates them again, de-duplicates
//! them by fingerprint and files one GitHub issue per fingerprint. See README → Collector.

use clap::Parser;
use lokiwrap_collector::{self as collector, cli::Args, cli::Command, config::Config, config::Overrides};

fn main() {
    let args = Args::parse();
    let serving = matches!(args.command, None | Some(Command::Serve));
    // The inspection commands print to stdout; their logs (a schema upgrade, say) only when asked.
    let default_level = if serving { "info" } else { "warn" };
    let filter = tracing_subscriber::EnvFilter::try_from_env("LOKIWRAP_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level));
    tracing_subscriber::fmt()
        .json()
        .with_writer(std::io::stderr)
        .with_env_filter(filter)
        .init();
    if !serving && args.listen.is_some() {
        eprintln!("lokiwrap-collector: --listen is for serving; leave it out of `events` and `crashes`");
        std::process::exit(2);
    }
    let overrides = Overrides {
        listen: args.listen,
        database: args.database,
    };
    let config = Config::load(args.config.as_deref(), overrides);
    let result = match args.command {
        Some(command) if !serving => {
            let result = config.and_then(|config| collector::run_command(&command, &config, args.config.as_deref()));
            if let Err(error) = result {
                eprintln!("lokiwrap-collector: {error}");
                std::process::exit(1);
            }
            return;
        }
        _ => config.and_then(collector::run),
    };
    if let Err(error) = result {
        tracing::error!(%error, "lokiwrap-collector cannot run");
        eprintln!("lokiwrap-collector: {error}");
        std::process::exit(1);
    }
}
