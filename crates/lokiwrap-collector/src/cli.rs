//! The command line of `lokiwrap-collector`: one definition for its `--help`, its man page
//! (`packaging/man/lokiwrap-collector.1`, written by `cargo run -p lokiwrap-collector --example generate_docs`).

use std::path::PathBuf;

use clap::Parser;

/// Receives lokiwrap crash reports and plugin failures, and files one GitHub issue per crash
/// fingerprint or failure cluster.
#[derive(Parser)]
#[command(
    name = "lokiwrap-collector",
    version,
    after_help = "Example:\n  LOKIWRAP_GITHUB_TOKEN=... lokiwrap-collector --config /etc/lokiwrap/collector.toml\n  \
                  lokiwrap-collector --listen 127.0.0.1:8080 --database ./collector.sqlite\n\n\
                  Logs are JSON lines on stderr; LOKIWRAP_LOG=debug shows every dropped report."
)]
pub struct Args {
    /// The TOML configuration (an example is packaging/collector.toml).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Address and port to listen on; overrides `listen` in the file.
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
    /// The SQLite database file, or a PostgreSQL URL (postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE,
    /// the password from PGPASSWORD when the URL has none); overrides `database` in the file.
    #[arg(long, value_name = "PATH|URL")]
    pub database: Option<PathBuf>,
}
