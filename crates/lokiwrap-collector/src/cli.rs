//! The command line of `lokiwrap-collector`: one definition for its `--help`, its man page
//! (`packaging/man/lokiwrap-collector.1`, written by `cargo run -p lokiwrap-collector --example generate_docs`).

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Receives lokiwrap crash reports and plugin failures, and files one GitHub issue per crash
/// fingerprint or failure cluster.
#[derive(Parser)]
#[command(
    name = "lokiwrap-collector",
    version,
    after_help = "Example:\n  LOKIWRAP_GITHUB_TOKEN=... lokiwrap-collector --config /etc/lokiwrap/collector.toml\n  \
                  lokiwrap-collector --listen 127.0.0.1:8080 --database ./collector.sqlite\n  \
                  lokiwrap-collector events list --config /etc/lokiwrap/collector.toml\n  \
                  lokiwrap-collector events replay 12 --config /etc/lokiwrap/collector.toml\n\n\
                  Without a subcommand it serves (as `serve`). Logs are JSON lines on stderr; LOKIWRAP_LOG=debug \
                  shows every dropped report."
)]
pub struct Args {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// The TOML configuration (an example is packaging/collector.toml).
    #[arg(long, value_name = "FILE", global = true)]
    pub config: Option<PathBuf>,
    /// Address and port to listen on; overrides `listen` in the file. Only for serving.
    #[arg(long, value_name = "ADDR", global = true)]
    pub listen: Option<String>,
    /// The SQLite database file, or a PostgreSQL URL (postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE,
    /// the password from PGPASSWORD when the URL has none); overrides `database` in the file.
    #[arg(long, value_name = "PATH|URL", global = true)]
    pub database: Option<PathBuf>,
}

#[derive(Subcommand)]
pub enum Command {
    /// Receive reports and file issues (what runs without a subcommand).
    Serve,
    /// Plugin failure events kept for replay (`hotfix.store_raw_payloads = true`).
    #[command(subcommand)]
    Events(EventsCommand),
    /// Crash fingerprints the store knows.
    #[command(subcommand)]
    Crashes(CrashesCommand),
}

#[derive(Subcommand)]
pub enum EventsCommand {
    /// The kept events, newest first: id, received time, cluster, repository.
    List {
        /// How many to show.
        #[arg(long, default_value_t = 20, value_name = "N")]
        limit: u32,
    },
    /// One kept event's JSON, as stored (scrubbed by the collector).
    Show {
        /// The event's id, as `events list` shows it.
        id: i64,
    },
    /// Runs a kept event through today's configuration and prints the issue it would file
    /// (the default, `--dry-run`), or posts it to another collector or plugin (`--to`).
    Replay {
        /// The event's id, as `events list` shows it.
        id: i64,
        /// Print the repository, title and body it would be filed with; touch neither GitHub
        /// nor the store. The default without `--to`.
        #[arg(long, conflicts_with = "to")]
        dry_run: bool,
        /// POST the event to this URL (another collector's /v1/events, or a plugin being
        /// developed) instead.
        #[arg(long, value_name = "URL")]
        to: Option<String>,
        /// Send it as the kernel's signed plugin inputs, signed with this RSA private key
        /// (PEM), for a receiver that checks signatures.
        #[arg(long, value_name = "FILE", requires = "to")]
        signing_key: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
pub enum CrashesCommand {
    /// What the store knows about a crash fingerprint, rendered as its issue is.
    Show {
        /// The fingerprint (64 hex characters; the hidden marker has it).
        fingerprint: String,
    },
}
