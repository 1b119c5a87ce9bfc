//! lokiwrap-collector: the server that receives reports, scrubs and validates them again,
//! de-duplicates them by fingerprint and files one GitHub issue per fingerprint. The request
//! path only writes to the store; a single background worker makes every GitHub call.

mod access;
mod autofix;
pub mod cli;
pub mod config;
mod confirm;
mod connections;
mod dashboard;
mod github;
mod github_app;
mod health;
pub mod hotfix;
mod ingest;
mod limits;
mod metrics;
mod render;
mod replay;
mod server;
mod stats;
mod store;
mod sync;
#[doc(hidden)]
pub mod testing;
mod throttle;
mod wake;
mod writer;

use std::sync::Arc;

use config::Config;
use limits::Limiter;
use server::App;
use stats::Stats;
use store::{PostgresStore, SqliteStore, Store};
use sync::Worker;
use wake::{Wake, unix_now};
use writer::Writer;

/// Runs the collector until SIGINT or SIGTERM. Errors are the operator's to fix and say how.
pub fn run(config: Config) -> Result<(), String> {
    let config = Arc::new(config);
    // The identity first: a bad App key or two identities are refused before anything opens.
    let credentials = github::Credentials::from_config(&config)?;
    let address = config.listen_addr()?;
    let (store, database) = open_store(&config)?;
    let github = if config.uses_github() {
        let credentials = credentials.ok_or_else(|| {
            format!(
                "issues are to be filed but {} is not set and there is no [github.app]; export a GitHub token with \
                 Issues: write, or configure [github.app], or remove github.triage_repo and github.tool_repos \
                 (and hotfix.enabled) to only store reports",
                config.github.token_env
            )
        })?;
        let timeout = std::time::Duration::from_secs(config.github.request_timeout_secs.max(1));
        Some((
            github::GitHub::new(&config.github.api_url, credentials.clone(), timeout)?,
            credentials,
            timeout,
        ))
    } else {
        None
    };
    let admin_token = std::env::var(&config.admin_token_env)
        .ok()
        .filter(|t| !t.trim().is_empty());
    let dashboard_token = std::env::var(&config.dashboard_token_env)
        .ok()
        .filter(|t| !t.trim().is_empty());
    let webhook_secret = std::env::var(&config.hotfix.webhook_secret_env)
        .ok()
        .filter(|t| !t.is_empty());
    let kernel_key = match &config.hotfix.kernel_public_key_file {
        Some(path) => Some(hotfix::signature::KernelPublicKey::from_pem_file(path).map_err(|e| e.to_string())?),
        None => None,
    };
    let wake = Arc::new(Wake::default());
    let (writer, writer_thread) = Writer::start(store.clone(), wake.clone())?;
    let mut autofix_thread = None;
    let worker_thread = match github {
        Some((github, credentials, timeout)) => {
            let autofix = if config.autofix_on() {
                let client = github::GitHub::new(&config.github.api_url, credentials, timeout)?;
                let (requests, thread) = autofix::Autofixer::start(config.clone(), store.clone(), client)?;
                autofix_thread = Some(thread);
                Some(requests)
            } else {
                None
            };
            let worker = Worker::new(store.clone(), github, config.clone(), wake.clone(), autofix);
            let thread = std::thread::Builder::new()
                .name("github-sync".into())
                .spawn(move || worker.run())
                .map_err(|e| format!("cannot start the GitHub sync worker: {e}"))?;
            Some(thread)
        }
        None => None,
    };
    let limits = &config.limits;
    let parallel = std::thread::available_parallelism().map_or(2, usize::from);
    let app = Arc::new(App {
        per_ip: Limiter::per_minute(limits.per_ip_per_minute, limits.max_tracked_keys),
        per_project: Limiter::per_minute(limits.per_project_per_minute, limits.max_tracked_keys),
        events_per_ip: Limiter::per_minute(limits.events_per_ip_per_minute, limits.max_tracked_keys),
        webhooks_per_ip: Limiter::per_minute(limits.webhooks_per_ip_per_minute, limits.max_tracked_keys),
        heavy: tokio::sync::Semaphore::new(parallel),
        health: health::Health::default(),
        store_errors: throttle::Throttled::new("the store cannot write", std::time::Duration::from_secs(60)),
        config: config.clone(),
        scrubber: Arc::new(lokiwrap_report::scrub::Scrubber::new()),
        stats: Arc::new(Stats::new(lokiwrap_report::utc::rfc3339_utc_signed(unix_now()))),
        store: store.clone(),
        writer,
        admin_token,
        dashboard_token,
        webhook_secret,
        kernel_key,
        wake: wake.clone(),
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    let served = runtime.block_on(serve(app, address, store, &config, &database));
    wake.stop();
    drop(runtime);
    let _ = writer_thread.join();
    if let Some(thread) = worker_thread {
        let _ = thread.join();
    }
    // The worker held the only sender: the auto-fix thread ends after its current run.
    if let Some(thread) = autofix_thread {
        let _ = thread.join();
    }
    served
}

/// The configured store, and how to name it in logs and messages: a PostgreSQL URL only with
/// its password masked.
fn open_store(config: &Config) -> Result<(Arc<dyn Store>, String), String> {
    let database = config.database_path()?;
    Ok(match database.to_str().filter(|d| store::is_postgres_url(d)) {
        Some(url) => {
            let store = PostgresStore::open(url)?;
            let shown = store.shown().to_string();
            (Arc::new(store), shown)
        }
        None => (Arc::new(SqliteStore::open(&database)?), database.display().to_string()),
    })
}

/// Runs a subcommand other than `serve` (`events ...`, `crashes ...`), printing to stdout.
/// `config_file` is only named in messages.
pub fn run_command(
    command: &cli::Command,
    config: &Config,
    config_file: Option<&std::path::Path>,
) -> Result<(), String> {
    match command {
        cli::Command::Serve => Err("serve is run with lokiwrap_collector::run".into()),
        cli::Command::Events(events) => replay::events(events, config, config_file),
        cli::Command::Crashes(crashes) => replay::crashes(crashes, config),
    }
}

async fn serve(
    app: Arc<App>,
    address: std::net::SocketAddr,
    store: Arc<dyn Store>,
    config: &Config,
    database: &str,
) -> Result<(), String> {
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .map_err(|e| format!("cannot listen on {address}: {e}; choose another with --listen"))?;
    let bound = listener.local_addr().map_err(|e| e.to_string())?;
    let metrics_server = match config.metrics_addr()? {
        Some(address) => Some(serve_metrics(app.clone(), address).await?),
        None => None,
    };
    tracing::info!(
        address = %bound,
        database = %database,
        files_issues = config.files_issues(),
        "lokiwrap-collector listening"
    );
    let retention = i64::from(config.limits.report_id_days) * 86_400;
    let pruning = tokio::spawn(async move {
        let mut every = tokio::time::interval(std::time::Duration::from_secs(3600));
        loop {
            every.tick().await;
            let store = store.clone();
            let now = unix_now();
            let pruned = tokio::task::spawn_blocking(move || store.prune(now - retention, now)).await;
            if let Ok(Err(error)) = pruned {
                tracing::error!(%error, "cannot prune old report ids");
            }
        }
    });
    let limits = connections::ConnectionLimits {
        max_connections: config.limits.max_connections,
        per_address: config.limits.connections_per_address,
        header_timeout: std::time::Duration::from_secs(config.limits.header_timeout_secs),
        lifetime: std::time::Duration::from_secs(config.limits.connection_lifetime_secs),
    }
    .fitted_to_descriptors();
    if limits.max_connections < config.limits.max_connections {
        tracing::warn!(
            connections = limits.max_connections,
            configured = config.limits.max_connections,
            "the descriptor limit allows fewer connections than limits.max_connections; raise LimitNOFILE (ulimit -n)"
        );
    }
    let counts: Arc<dyn connections::Counts> = app.stats.clone();
    let trusted = Arc::new(config.trusted_proxies.clone());
    connections::serve(
        listener,
        server::router(app),
        limits,
        trusted,
        counts,
        shutdown_signal(),
    )
    .await;
    let served = Ok(());
    pruning.abort();
    if let Some(server) = metrics_server {
        server.abort();
    }
    tracing::info!("lokiwrap-collector stopped");
    served
}

/// Serves `/metrics` without a token on `metrics_listen`, until aborted.
async fn serve_metrics(app: Arc<App>, address: std::net::SocketAddr) -> Result<tokio::task::JoinHandle<()>, String> {
    let listener = tokio::net::TcpListener::bind(address).await.map_err(|e| {
        format!("cannot listen on {address} for metrics: {e}; choose another metrics_listen, or remove it")
    })?;
    let bound = listener.local_addr().map_err(|e| e.to_string())?;
    tracing::info!(address = %bound, "serving /metrics without a token (metrics_listen): firewall this address");
    let router = metrics::router(app);
    Ok(tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, router).await {
            tracing::error!(%error, "the metrics listener stopped");
        }
    }))
}

async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}

/// Entry points for the fuzz targets in `fuzz/`; not part of the collector's interface.
#[doc(hidden)]
pub mod fuzzing {
    pub use crate::hotfix::signature::{
        InputsRejected, KernelPublicKey, MAX_EVENT_PAYLOAD_BYTES, SIGNED_FIELDS, VerifiedInputs, verify_kernel_inputs,
    };
    pub use crate::render::marker_key;
}
