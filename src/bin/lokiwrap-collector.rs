//! lokiwrap-collector: receives lokiwrap reports, scrubs and validates them again, de-duplicates
//! them by fingerprint and files one GitHub issue per fingerprint. See README → Collector.

use std::path::PathBuf;

use clap::Parser;
use lokiwrap::collector::{self, config::Config, config::Overrides};

/// Receives lokiwrap crash reports and files one GitHub issue per crash fingerprint.
#[derive(Parser)]
#[command(
    name = "lokiwrap-collector",
    version,
    after_help = "Example:\n  LOKIWRAP_GITHUB_TOKEN=... lokiwrap-collector --config /etc/lokiwrap/collector.toml\n  \
                  lokiwrap-collector --listen 127.0.0.1:8080 --database ./collector.sqlite\n\n\
                  Logs are JSON lines on stderr; LOKIWRAP_LOG=debug shows every dropped report."
)]
struct Args {
    /// The TOML configuration (an example is packaging/collector.toml).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Address and port to listen on; overrides `listen` in the file.
    #[arg(long, value_name = "ADDR")]
    listen: Option<String>,
    /// The SQLite database file; overrides `database` in the file.
    #[arg(long, value_name = "PATH")]
    database: Option<PathBuf>,
}

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
