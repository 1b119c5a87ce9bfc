//! `GET /metrics`: the collector's counts in Prometheus's text format. The request-path counts
//! are those `/v1/stats` shows (the same in-memory `Stats`, read at scrape time, so the two
//! always agree); the GitHub figures (issues, queue, hourly budget) are read from the store.
//! Two things only exist here: how long each route takes to answer, and the GitHub requests
//! by kind and answer.
//!
//! Labels only ever take values from fixed lists: a route is the pattern it matched
//! (`/v1/crash`), never the URI a client sent, and anything unmatched is `unmatched`; so no
//! sender can grow the label sets.

use std::sync::{Arc, LazyLock};
use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry};

use super::ingest::Rejected;
use super::server::App;
use super::stats::{DROPS, HOTFIX_COUNTS, ISSUE_COUNTS};
use super::store::Figures;
use super::wake::unix_now;

/// Every metric's name starts with this.
const PREFIX: &str = "lokiwrap_collector";

/// Time to answer, per matched route, in seconds.
static LATENCY: LazyLock<HistogramVec> = LazyLock::new(|| {
    HistogramVec::new(
        HistogramOpts::new(
            format!("{PREFIX}_http_request_duration_seconds"),
            "Time from a request's head to its answer, by the route it matched",
        )
        .buckets(vec![
            0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
        ]),
        &["route"],
    )
    .unwrap_or_else(|error| unreachable_metric(&error))
});

/// Requests to GitHub, by what they did and how GitHub answered.
static GITHUB_REQUESTS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    IntCounterVec::new(
        Opts::new(
            format!("{PREFIX}_github_requests_total"),
            "Requests to the GitHub API by kind (create, update, comment, pull_request, read, app_token) and \
             answer (2xx, 3xx, 4xx, 5xx, or no_answer)",
        ),
        &["kind", "answer"],
    )
    .unwrap_or_else(|error| unreachable_metric(&error))
});

/// The metrics above are defined by constants: a definition prometheus refuses is a bug found
/// by the first test that scrapes.
fn unreachable_metric<T>(error: &prometheus::Error) -> T {
    panic!("a metric definition is invalid: {error}")
}

/// Records the time each request took, under the route pattern it matched.
pub async fn track(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |path| path.as_str())
        .to_string();
    let started = Instant::now();
    let response = next.run(request).await;
    LATENCY
        .with_label_values(&[route.as_str()])
        .observe(started.elapsed().as_secs_f64());
    response
}

/// What a GitHub request did, from its method and path: the `kind` label.
pub fn github_kind(method: &reqwest::Method, path: &str) -> &'static str {
    let path = path.trim_end_matches('/');
    match *method {
        reqwest::Method::GET | reqwest::Method::HEAD => "read",
        reqwest::Method::PATCH => "update",
        reqwest::Method::POST if path.ends_with("/access_tokens") => "app_token",
        reqwest::Method::POST if path.ends_with("/comments") => "comment",
        reqwest::Method::POST if path.ends_with("/pulls") => "pull_request",
        reqwest::Method::POST if path.ends_with("/issues") => "create",
        _ => "other",
    }
}

/// Counts one GitHub request: `status` is the answer's, `None` when none came.
pub fn github_answered(kind: &'static str, status: Option<u16>) {
    let answer = match status {
        Some(200..=299) => "2xx",
        Some(300..=399) => "3xx",
        Some(400..=499) => "4xx",
        Some(500..=599) => "5xx",
        Some(_) => "other",
        None => "no_answer",
    };
    GITHUB_REQUESTS.with_label_values(&[kind, answer]).inc();
}

/// What the store adds to a scrape; `None` when it could not be read.
pub struct StoreFigures {
    pub figures: Figures,
    /// Writes left in the rolling hour's `github.hourly_budget`.
    pub budget_left: u64,
}

/// The scrape, in Prometheus's text format.
pub fn render(app: &App, store: Option<&StoreFigures>) -> Result<String, prometheus::Error> {
    let registry = Registry::new();
    let stats = &app.stats;
    let counter = |name: &str, help: &str, value: u64| -> Result<(), prometheus::Error> {
        // A counter read from `Stats`: set by adding its whole value to a fresh one.
        let metric = prometheus::IntCounter::new(format!("{PREFIX}_{name}"), help)?;
        metric.inc_by(value);
        registry.register(Box::new(metric))
    };
    counter(
        "reports_accepted_total",
        "Reports stored (new or repeated fingerprints), as /v1/stats accepted",
        stats.get("accepted"),
    )?;
    counter(
        "reports_duplicate_total",
        "Reports and events whose id was seen before, counted once (/v1/stats duplicate_id)",
        stats.get("duplicate_id"),
    )?;
    counter(
        "scrub_misses_total",
        "Reports in which the collector's scrub redacted what the client's missed",
        stats.get("scrub_misses"),
    )?;
    counter(
        "fingerprint_replaced_total",
        "Reports whose fingerprint the collector recomputed to a different value",
        stats.get("fingerprint_replaced"),
    )?;
    counter(
        "store_errors_total",
        "Writes the store refused (busy, damaged or failing)",
        stats.get("store_errors"),
    )?;
    let dropped = IntCounterVec::new(
        Opts::new(
            format!("{PREFIX}_reports_dropped_total"),
            "Requests answered without storing anything, by reason (the names of /v1/stats dropped)",
        ),
        &["reason"],
    )?;
    for reason in DROPS.into_iter().chain(Rejected::ALL.map(Rejected::name)) {
        dropped.with_label_values(&[reason]).inc_by(stats.get(reason));
    }
    registry.register(Box::new(dropped))?;
    let events = IntCounterVec::new(
        Opts::new(
            format!("{PREFIX}_events_total"),
            "Plugin failure events and webhooks, by outcome (the names of /v1/stats hotfix)",
        ),
        &["outcome"],
    )?;
    for outcome in HOTFIX_COUNTS {
        events.with_label_values(&[outcome]).inc_by(stats.get(outcome));
    }
    registry.register(Box::new(events))?;
    registry.register(Box::new(LATENCY.clone()))?;
    registry.register(Box::new(GITHUB_REQUESTS.clone()))?;
    let store_up = IntGauge::new(
        format!("{PREFIX}_store_readable"),
        "1 when the store answered this scrape's reads, 0 when it did not (the store's figures are then left out)",
    )?;
    store_up.set(i64::from(store.is_some()));
    registry.register(Box::new(store_up))?;
    if let Some(store) = store {
        let gauge = |name: &str, help: &str, value: u64| -> Result<(), prometheus::Error> {
            let metric = IntGauge::new(format!("{PREFIX}_{name}"), help)?;
            metric.set(i64::try_from(value).unwrap_or(i64::MAX));
            registry.register(Box::new(metric))
        };
        gauge(
            "github_queue_depth",
            "Subjects waiting for a GitHub sync",
            store.figures.queue_depth,
        )?;
        gauge(
            "github_budget_left",
            "GitHub writes left in the rolling hour (github.hourly_budget less the writes of the last hour)",
            store.budget_left,
        )?;
        gauge(
            "subjects",
            "Crash fingerprints and failure clusters the store knows",
            store.figures.subjects,
        )?;
        let issues = IntGaugeVec::new(
            Opts::new(
                format!("{PREFIX}_issues"),
                "GitHub issue work done since the store was created, by action (the names of /v1/stats issues)",
            ),
            &["action"],
        )?;
        for action in ISSUE_COUNTS {
            let value = store.figures.counters.get(action).copied().unwrap_or(0);
            issues
                .with_label_values(&[action])
                .set(i64::try_from(value).unwrap_or(i64::MAX));
        }
        registry.register(Box::new(issues))?;
    }
    prometheus::TextEncoder::new().encode_to_string(&registry.gather())
}

/// Reads the store's part of a scrape off the async runtime; `None` when it cannot be read.
async fn store_figures(app: &App) -> Option<StoreFigures> {
    let store = app.store.clone();
    let budget = u64::from(app.config.github.hourly_budget);
    let read = move || -> Result<StoreFigures, super::store::StoreError> {
        let figures = store.figures()?;
        let (written, _) = store.writes_since(unix_now() - 3600)?;
        Ok(StoreFigures {
            figures,
            budget_left: budget.saturating_sub(u64::from(written)),
        })
    };
    let read = tokio::time::timeout(std::time::Duration::from_secs(2), tokio::task::spawn_blocking(read)).await;
    match read {
        Ok(Ok(Ok(figures))) => Some(figures),
        _ => None,
    }
}

async fn scrape(app: &App) -> Response {
    let store = store_figures(app).await;
    match render(app, store.as_ref()) {
        Ok(text) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, HeaderValue::from_static(prometheus::TEXT_FORMAT))],
            text,
        )
            .into_response(),
        Err(error) => {
            tracing::error!(%error, "cannot encode the metrics");
            (StatusCode::INTERNAL_SERVER_ERROR, "cannot encode the metrics\n").into_response()
        }
    }
}

/// `GET /metrics` on the main address: only with the dashboard token, `404` when none is set.
pub async fn protected(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    let Some(expected) = &app.dashboard_token else {
        let message = format!(
            "{{\"error\":\"metrics are off: set the environment variable {} to a token and restart, or set \
             metrics_listen to serve them on an address of their own\"}}",
            app.config.dashboard_token_env
        );
        return (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "application/json")],
            message,
        )
            .into_response();
    };
    if !super::access::read_token_matches(&headers, expected) {
        return super::access::challenge("/metrics");
    }
    scrape(&app).await
}

/// `GET /metrics` on `metrics_listen`: no token; that address is for the operator to firewall.
async fn open(State(app): State<Arc<App>>) -> Response {
    scrape(&app).await
}

/// The router of the `metrics_listen` address: `/metrics` and nothing else.
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/metrics", get(open))
        .fallback(|| async { (StatusCode::NOT_FOUND, "only /metrics is served here\n") })
        .with_state(app)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn github_requests_are_named_by_what_they_do() {
        use reqwest::Method;
        assert_eq!(github_kind(&Method::POST, "/repos/o/r/issues"), "create");
        assert_eq!(github_kind(&Method::PATCH, "/repos/o/r/issues/4"), "update");
        assert_eq!(github_kind(&Method::POST, "/repos/o/r/issues/4/comments"), "comment");
        assert_eq!(github_kind(&Method::POST, "/repos/o/r/pulls"), "pull_request");
        assert_eq!(github_kind(&Method::GET, "/repos/o/r/issues"), "read");
        assert_eq!(
            github_kind(&Method::POST, "/app/installations/7/access_tokens"),
            "app_token"
        );
        assert_eq!(github_kind(&Method::DELETE, "/repos/o/r/issues/4"), "other");
    }
}
