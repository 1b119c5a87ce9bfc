//! lokiwrap-collector: receives lokiwrap reports, scrubs and validates them again, de-duplicates
//! them by fingerprint and files one GitHub issue per fingerprint. See README → Collector.

use clap::Parser;
use lokiwrap_collector::{self as collector, cli::Args, config::Config, config::Overrides};

fn main() {
    let args = Args::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_env("LOKIWRAP_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .json()
        .with_writer(std::io::stderr)
        .with_env_filter(filter)
        .init();
    let overrides = Overrides {
        listen: args.listen,
        database: args.database,
    };
    let result = Config::load(args.config.as_deref(), overrides).and_then(collector::run);
    if let Err(error) = result {
        tracing::error!(%error, "lokiwrap-collector cannot run");
        eprintln!("lokiwrap-collector: {error}");
        std::process::exit(1);
    }
}
