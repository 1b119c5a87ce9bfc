//! The HTTP side: routes, the request path of `POST /v1/crash`, health and stats. The request
//! path checks the address's rate, reads at most the body cap within the body deadline, parses
//! and scrubs off the async runtime (a large body takes long enough to stall every other
//! request), checks the project's rate and hands the report to the store's writer; it never
//! calls GitHub.
//!
//! Answers: `202 {}` for every body that was read, whatever became of it, so a client learns
//! nothing about the store; `413` when the body is over the cap (after reading and discarding a
//! bounded amount more, so that a client still sending sees the answer rather than a reset);
//! `408` when the body is not sent in time; `429` with `Retry-After` when
//! the client is over its rate; `503` with `Retry-After` only when the store is busy, and `500`
//! when it cannot write for a reason of the operator's (a damaged file, a full disk): either
//! way the client keeps the report and sends it again.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use http_body_util::BodyExt;
use tokio::sync::Semaphore;

use super::access;
use super::config::Config;
use super::dashboard;
use super::health::Health;
use super::hotfix::signature::{InputsRejected, KernelPublicKey, MAX_EVENT_PAYLOAD_BYTES, verify_kernel_inputs};
use super::hotfix::{self, Failure, FailureKind, Ignored, webhook::verify_signature};
use super::ingest::{self, Rejected};
use super::limits::{Limiter, address_key, client_ip};
use super::stats::Stats;
use super::store::{Kind, Occurrence, Received, Store, StoreError, Stored};
use super::throttle::Throttled;
use super::wake::{Wake, unix_now};
use super::writer::Writer;
use lokiwrap_report::scrub::Scrubber;

pub struct App {
    pub config: Arc<Config>,
    pub scrubber: Arc<Scrubber>,
    pub per_ip: Limiter<IpAddr>,
    /// Keyed by project and address: see `limits.per_project_per_minute`.
    pub per_project: Limiter<(String, IpAddr)>,
    pub events_per_ip: Limiter<IpAddr>,
    pub webhooks_per_ip: Limiter<IpAddr>,
    /// Parsing and scrubbing run on blocking threads, this many at once.
    pub heavy: Semaphore,
    /// Whether the store took its last write; what `/healthz` answers.
    pub health: Health,
    /// Store failures, logged once per interval.
    pub store_errors: Throttled,
    pub stats: Arc<Stats>,
    pub store: Arc<dyn Store>,
    pub writer: Writer,
    pub admin_token: Option<String>,
    /// The token in `dashboard_token_env`: what `/dashboard` and `/metrics` ask for; unset =
    /// both answer 404 on this address.
    pub dashboard_token: Option<String>,
    /// The secret GitHub signs webhooks with; unset = `/github/webhook` is off.
    pub webhook_secret: Option<String>,
    /// The kernel's key; set = `/v1/events` takes only signed kernel inputs.
    pub kernel_key: Option<KernelPublicKey>,
    pub wake: Arc<Wake>,
}

pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/v1/crash", post(crash))
        .route("/healthz", get(healthz))
        .route("/v1/stats", get(stats))
        .route("/dashboard", get(dashboard_page))
        .route("/dashboard.json", get(dashboard_json))
        .route("/v1/events", post(events))
        // The kernel trims a registered URL's trailing slash to fetch the manifest, but posts to
        // the URL as written.
        .route("/v1/events/", post(events))
        .route("/v1/events/manifest.json", get(manifest))
        .route("/github/webhook", post(webhook))
        .route("/metrics", get(super::metrics::protected))
        .fallback(not_found)
        .layer(axum::middleware::from_fn(super::metrics::track))
        .with_state(app)
}

fn json(status: StatusCode, body: &'static str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))],
        body,
    )
        .into_response()
}

fn accepted() -> Response {
    json(StatusCode::ACCEPTED, "{}")
}

fn retry_after(status: StatusCode, seconds: u64, body: &'static str) -> Response {
    let mut response = json(status, body);
    if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

/// An answer after which the connection is closed: the request's body was not read to its end,
/// so the connection cannot carry another request.
fn closing(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

fn too_large() -> Response {
    closing(json(
        StatusCode::PAYLOAD_TOO_LARGE,
        "{\"error\":\"report larger than the collector accepts\"}",
    ))
}

/// How much more of an oversized body is read and thrown away before the 413, and for how
/// long: a client that sends its whole body before reading the answer then gets the answer
/// instead of a reset, and nobody can make the collector read without end.
const DRAIN_BYTES: usize = 4 << 20;
const DRAIN_TIME: Duration = Duration::from_secs(5);

async fn drain(mut body: axum::body::Body) {
    let mut drained = 0usize;
    let _ = tokio::time::timeout(DRAIN_TIME, async {
        while drained < DRAIN_BYTES {
            match body.frame().await {
                Some(Ok(frame)) => drained += frame.data_ref().map_or(0, |data| data.len()),
                _ => break,
            }
        }
    })
    .await;
}

/// Bodies up to this size are parsed and scrubbed on the runtime thread itself.
const INLINE_BODY_BYTES: usize = 8 * 1024;

/// Runs `work` on a blocking thread, at most `app.heavy`'s permits at once: parsing and
/// scrubbing a large body takes long enough to hold up every request sharing its runtime
/// thread. `None` when the work could not run (the runtime is shutting down, or it panicked).
async fn off_runtime<T: Send + 'static>(app: &App, work: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    let _permit = app.heavy.acquire().await.ok()?;
    tokio::task::spawn_blocking(work).await.ok()
}

/// Counts a store failure, logs it (once per interval) and tells `/healthz`.
fn store_failure(app: &App, error: &StoreError) {
    app.stats.add("store_errors");
    if !error.is_busy() {
        app.health.failed(error);
    }
    app.store_errors.error(error);
}

fn header_text(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}

async fn crash(State(app): State<Arc<App>>, ConnectInfo(peer): ConnectInfo<SocketAddr>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let ip = client_ip(peer, &parts.headers, &app.config.trusted_proxies);
    let bytes = match admit(&app, &app.per_ip, ip, &parts.headers, body, app.config.body_limit).await {
        Ok(bytes) => bytes,
        Err(answer) => return answer,
    };
    let checked = ingest::check_headers(
        header_text(&parts.headers, header::CONTENT_TYPE),
        header_text(&parts.headers, header::CONTENT_ENCODING),
    );
    if let Err(reason) = checked {
        return rejected(&app, reason);
    }
    // A typical report (under a kilobyte) takes microseconds: moving it to another thread would
    // cost more than the work. Only a large body goes off the runtime.
    let verdict = if bytes.len() <= INLINE_BODY_BYTES {
        ingest::accept(&bytes, &app.scrubber)
    } else {
        let scrubber = app.scrubber.clone();
        match off_runtime(&app, move || ingest::accept(&bytes, &scrubber)).await {
            Some(verdict) => verdict,
            None => return retry_after(StatusCode::SERVICE_UNAVAILABLE, 60, "{}"),
        }
    };
    let accepted_report = match verdict {
        Ok(report) => report,
        Err(reason) => return rejected(&app, reason),
    };
    let source = address_key(ip);
    if let Some(project) = &accepted_report.report.project_id_hash
        && let Err(wait) = app.per_project.check((project.clone(), source))
    {
        app.stats.add("dropped_rate_project");
        return retry_after(
            StatusCode::TOO_MANY_REQUESTS,
            wait,
            "{\"error\":\"too many reports for this project\"}",
        );
    }
    if accepted_report.missed_redactions > 0 {
        app.stats.add("scrub_misses");
        tracing::warn!(
            redactions = accepted_report.missed_redactions,
            rules_version = accepted_report.report.rules_version,
            "the collector's scrub redacted what the client's did not; the client's rules have a gap"
        );
    }
    if accepted_report.fingerprint_replaced {
        app.stats.add("fingerprint_replaced");
    }
    let received = Received {
        report: accepted_report.report,
        received_at: unix_now(),
        sync: app.config.files_issues(),
        source: format!("address:{source}"),
    };
    match app.writer.store(received).await {
        Ok(Stored::DuplicateId) => {
            app.health.ok();
            app.stats.add("duplicate_id");
        }
        Ok(Stored::New | Stored::Repeat) => {
            app.health.ok();
            app.stats.add("accepted");
        }
        Err(error) => {
            store_failure(&app, &error);
            return store_failed(&error, "{\"error\":\"the collector cannot store reports now\"}");
        }
    }
    accepted()
}

fn rejected(app: &App, reason: Rejected) -> Response {
    app.stats.add(reason.name());
    tracing::debug!(reason = reason.name(), "report dropped");
    accepted()
}

/// The first steps for a body from a client: the address's rate in `limiter`, then the body,
/// read up to `cap`; a declared length over the cap is refused without reading the body into
/// memory. `Err` is the answer to give instead.
async fn admit(
    app: &App,
    limiter: &Limiter<IpAddr>,
    ip: IpAddr,
    headers: &HeaderMap,
    body: axum::body::Body,
    cap: usize,
) -> Result<axum::body::Bytes, Response> {
    if let Err(wait) = limiter.check(address_key(ip)) {
        app.stats.add("dropped_rate_ip");
        let message = "{\"error\":\"too many requests from this address\"}";
        // The body is not read: the connection cannot be used again.
        return Err(closing(retry_after(StatusCode::TOO_MANY_REQUESTS, wait, message)));
    }
    let declared = header_text(headers, header::CONTENT_LENGTH).and_then(|n| n.parse::<usize>().ok());
    if declared.is_some_and(|length| length > cap) {
        app.stats.add("dropped_oversize");
        drain(body).await;
        return Err(too_large());
    }
    read_capped(app, body, cap).await
}

/// Reads the body up to `cap` bytes within `limits.body_timeout_secs`.
async fn read_capped(app: &App, mut body: axum::body::Body, cap: usize) -> Result<axum::body::Bytes, Response> {
    let deadline = Duration::from_secs(app.config.limits.body_timeout_secs);
    let mut read = Vec::new();
    let reading = tokio::time::timeout(deadline, async {
        while let Some(frame) = body.frame().await {
            // The client went away mid-body: nothing to answer to, nothing stored.
            let Ok(frame) = frame else {
                return Err(closing(accepted()));
            };
            let Some(data) = frame.data_ref() else { continue };
            if read.len() + data.len() > cap {
                return Ok(false);
            }
            read.extend_from_slice(data);
        }
        Ok(true)
    })
    .await;
    match reading {
        Ok(Ok(true)) => Ok(read.into()),
        Ok(Ok(false)) => {
            app.stats.add("dropped_oversize");
            drain(body).await;
            Err(too_large())
        }
        Ok(Err(answer)) => Err(answer),
        Err(_) => {
            app.stats.add("dropped_slow_body");
            Err(closing(json(
                StatusCode::REQUEST_TIMEOUT,
                "{\"error\":\"the body was not sent in time\"}",
            )))
        }
    }
}

/// `POST /v1/events`: a `kernel.plugin_error` event, plain or as the kernel's signed plugin
/// inputs. Always `202 {}` (the kernel needs a JSON 2xx), whatever became of it; `404` without
/// reading the body when `[hotfix]` is off.
async fn events(State(app): State<Arc<App>>, ConnectInfo(peer): ConnectInfo<SocketAddr>, request: Request) -> Response {
    if !app.config.hotfix.enabled {
        return closing(json(
            StatusCode::NOT_FOUND,
            "{\"error\":\"events are off: set [hotfix] enabled = true and restart\"}",
        ));
    }
    let (parts, body) = request.into_parts();
    let ip = client_ip(peer, &parts.headers, &app.config.trusted_proxies);
    let limit = app.config.events_body_limit;
    let bytes = match admit(&app, &app.events_per_ip, ip, &parts.headers, body, limit).await {
        Ok(bytes) => bytes,
        Err(answer) => return answer,
    };
    let worker = app.clone();
    let Some(parsed) = off_runtime(&app, move || parse_event(&worker, &bytes, ip)).await else {
        return retry_after(StatusCode::SERVICE_UNAVAILABLE, 60, "{}");
    };
    match parsed {
        Ok(parsed) => record_failure(&app, parsed.failure, parsed.id, parsed.raw, parsed.source).await,
        Err(counter) => ignored(&app, counter),
    }
}

/// `GET /v1/events/manifest.json`: what the kernel fetches before it lists the collector as a
/// plugin registered with the URL of `POST /v1/events`. `404` while `[hotfix]` is off.
async fn manifest(State(app): State<Arc<App>>) -> Response {
    if !app.config.hotfix.enabled {
        return json(
            StatusCode::NOT_FOUND,
            "{\"error\":\"events are off: set [hotfix] enabled = true and restart\"}",
        );
    }
    axum::Json(hotfix::manifest::manifest(&app.config.hotfix)).into_response()
}

/// An event's body, verified (when a kernel key is set), parsed and scrubbed.
struct ParsedEvent {
    failure: Result<Failure, Ignored>,
    id: Option<String>,
    raw: Option<String>,
    /// Who it counts as for promotion: the kernel's delivery when signed, else the address.
    source: String,
}

/// The blocking part of `/v1/events`; `Err` names the counter of an event not used.
fn parse_event(app: &App, bytes: &[u8], ip: IpAddr) -> Result<ParsedEvent, &'static str> {
    let hotfix = &app.config.hotfix;
    let (payload, signed) = match &app.kernel_key {
        Some(key) => {
            let verified = verify_kernel_inputs(bytes, key, unix_now().max(0) as u64);
            let token_missing = verified.as_ref().is_ok_and(|inputs| inputs.token_missing);
            if token_missing {
                // Signed by the kernel, so not an attack: the kernel could not mint its token.
                app.stats.add("hotfix_missing_kernel_token");
                tracing::warn!(
                    "the kernel's inputs carry \"ubiquityKernelToken\": null: the kernel is misconfigured and \
                     cannot attest its dispatches; fix the kernel's token signing (its private key setting), or \
                     these inputs never expire"
                );
            }
            match verified.and_then(|inputs| hotfix.kernel_checks().check(&inputs).map(|()| inputs)) {
                Ok(inputs) if inputs.event_name == "kernel.plugin_error" => {
                    (inputs.event_payload, Some(inputs.state_id))
                }
                Ok(_) => return Err("hotfix_other_event"),
                // `hotfix.require_kernel_token`: counted above as a missing token, not a bad signature.
                Err(InputsRejected::Unattested) if token_missing => return Err("hotfix_ignored_missing_token"),
                Err(rejected) => {
                    tracing::warn!(reason = rejected.as_str(), %rejected, "kernel inputs refused");
                    return Err("hotfix_bad_signature");
                }
            }
        }
        None => (bytes.to_vec(), None),
    };
    if payload.len() > MAX_EVENT_PAYLOAD_BYTES {
        return Err("dropped_oversize");
    }
    let failure = hotfix::from_plugin_error(&payload, hotfix);
    let id = failure.as_ref().ok().map(|f| {
        let c = &f.details.correlation;
        format!(
            "event:{}:{}:{}",
            c.state_id.as_deref().unwrap_or(""),
            c.delivery_id.as_deref().unwrap_or(""),
            f.cluster_key
        )
    });
    let source = match (signed, &id) {
        (Some(state_id), Some(id)) => format!("kernel:{state_id}:{id}"),
        _ => format!("address:{}", address_key(ip)),
    };
    let raw = hotfix
        .store_raw_payloads
        .then(|| app.scrubber.scrub(&String::from_utf8_lossy(&payload)).text.into_owned());
    Ok(ParsedEvent {
        failure,
        id,
        raw,
        source,
    })
}

/// `POST /github/webhook`: GitHub's signed webhooks; failed `workflow_run`s become issues.
async fn webhook(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let Some(secret) = &app.webhook_secret else {
        let message = format!(
            "{{\"error\":\"webhooks are off: set {} to the webhook's secret and restart\"}}",
            app.config.hotfix.webhook_secret_env
        );
        return closing(
            (
                StatusCode::NOT_FOUND,
                [(header::CONTENT_TYPE, "application/json")],
                message,
            )
                .into_response(),
        );
    };
    let ip = client_ip(peer, &parts.headers, &app.config.trusted_proxies);
    let limit = app.config.events_body_limit;
    let bytes = match admit(&app, &app.webhooks_per_ip, ip, &parts.headers, body, limit).await {
        Ok(bytes) => bytes,
        Err(answer) => return answer,
    };
    let signature = parts.headers.get("x-hub-signature-256").and_then(|v| v.to_str().ok());
    if let Err(rejected) = verify_signature(secret.as_bytes(), &bytes, signature) {
        app.stats.add("hotfix_bad_signature");
        tracing::warn!(reason = rejected.as_str(), "webhook signature refused");
        return json(
            StatusCode::UNAUTHORIZED,
            "{\"error\":\"X-Hub-Signature-256 does not match the configured secret\"}",
        );
    }
    match parts.headers.get("x-github-event").and_then(|v| v.to_str().ok()) {
        Some("workflow_run") => {}
        Some("ping") => return json(StatusCode::OK, "{}"),
        Some("issues") => return confirmed(&app, &bytes).await,
        _ => return ignored(&app, "hotfix_other_event"),
    }
    let hotfix = app.config.hotfix.clone();
    let Some(failure) = off_runtime(&app, move || hotfix::from_workflow_run(&bytes, &hotfix)).await else {
        return retry_after(StatusCode::SERVICE_UNAVAILABLE, 60, "{}");
    };
    // The delivery id is not signed, and GitHub sends a new one on every redelivery: the run's
    // own identity, which is inside the signed body, is what counts once.
    let run = failure.as_ref().ok().and_then(|failure| match &failure.details.source {
        hotfix::FailureSource::WorkflowRun(run) => run
            .run_id
            .map(|id| format!("run:{}:{id}:{}", run.repo, run.run_attempt.unwrap_or(1))),
        hotfix::FailureSource::Plugin(_) => None,
    });
    let delivery = parts
        .headers
        .get("x-github-delivery")
        .and_then(|v| v.to_str().ok())
        .map(|d| format!("webhook:{d}"));
    let source = run
        .clone()
        .or_else(|| delivery.clone())
        .unwrap_or_else(|| format!("address:{}", address_key(ip)));
    record_failure(&app, failure, run.or(delivery), None, source).await
}

/// An `issues` webhook: a maintainer putting `promotion.confirm_label` on one of the
/// collector's issues confirms its subject, which promotes it on the next sync.
async fn confirmed(app: &App, body: &[u8]) -> Response {
    let label = &app.config.promotion.confirm_label;
    let Some(confirmation) = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|event| super::confirm::confirmation(&event, label))
    else {
        return ignored(app, "hotfix_other_event");
    };
    let store = app.store.clone();
    let creator = app.config.github.creator.clone();
    let (repo, number) = (confirmation.repo.clone(), confirmation.number);
    let confirming = move || super::confirm::confirm(store.as_ref(), &confirmation, creator.as_deref(), unix_now());
    match tokio::task::spawn_blocking(confirming).await {
        Ok(Ok(super::confirm::Verdict::Confirmed)) => {
            app.stats.add("confirmed");
            app.wake.notify();
        }
        Ok(Ok(super::confirm::Verdict::Already)) => {}
        Ok(Ok(super::confirm::Verdict::NotOurs)) => {
            app.stats.add("confirm_refused");
            tracing::warn!(%repo, number, "the confirm label is on an issue the collector did not file; ignored");
        }
        Ok(Err(error)) => {
            store_failure(app, &error);
            return store_failed(&error, "{}");
        }
        Err(_) => return retry_after(StatusCode::SERVICE_UNAVAILABLE, 60, "{}"),
    }
    accepted()
}

/// A busy store asks the sender to come back in a minute (503, `Retry-After`); a damaged store or
/// a failing disk is the operator's to fix, and retrying sooner would not help (500).
fn store_failed(error: &StoreError, body: &'static str) -> Response {
    if error.is_busy() {
        retry_after(StatusCode::SERVICE_UNAVAILABLE, 60, body)
    } else {
        json(StatusCode::INTERNAL_SERVER_ERROR, body)
    }
}

fn ignored(app: &App, counter: &str) -> Response {
    app.stats.add(counter);
    accepted()
}

async fn record_failure(
    app: &App,
    failure: Result<Failure, Ignored>,
    id: Option<String>,
    raw: Option<String>,
    source: String,
) -> Response {
    let failure = match failure {
        Ok(failure) => failure,
        Err(ignored) => {
            app.stats.add(&format!("hotfix_ignored_{}", ignored.reason.as_str()));
            tracing::info!(reason = ignored.reason.as_str(), message = %ignored.message, "failure event ignored");
            return accepted();
        }
    };
    let details = serde_json::to_value(&failure.details).unwrap_or_default();
    let occurrence = Occurrence {
        key: failure.cluster_key.clone(),
        kind: match failure.kind {
            FailureKind::Plugin => Kind::PluginFailure,
            FailureKind::WorkflowRun => Kind::WorkflowFailure,
        },
        repo: failure.repo.clone(),
        details,
        id,
        source,
        received_at: unix_now(),
        raw,
        window_secs: i64::from(app.config.hotfix.window_hours) * 3600,
    };
    let store = app.store.clone();
    match tokio::task::spawn_blocking(move || store.record(&occurrence)).await {
        Ok(Ok(Stored::DuplicateId)) => {
            app.health.ok();
            app.stats.add("duplicate_id");
        }
        Ok(Ok(_)) => {
            app.health.ok();
            app.stats.add("hotfix_accepted");
            app.wake.notify();
        }
        Ok(Err(error)) => {
            store_failure(app, &error);
            return store_failed(&error, "{\"error\":\"the collector cannot store events now\"}");
        }
        Err(_) => return retry_after(StatusCode::SERVICE_UNAVAILABLE, 60, "{}"),
    }
    accepted()
}

/// `200` while the store works; `503` naming the problem when its last write failed or it
/// cannot be read now, so that a load balancer or an operator's probe sees what clients see.
async fn healthz(State(app): State<Arc<App>>) -> Response {
    let probed = match app.health.recent_probe() {
        Some(outcome) => outcome,
        None => {
            let store = app.store.clone();
            let probe = tokio::time::timeout(
                Duration::from_secs(2),
                tokio::task::spawn_blocking(move || store.check()),
            )
            .await;
            let outcome = match probe {
                Ok(Ok(Ok(()))) => None,
                Ok(Ok(Err(error))) => Some(error.to_string()),
                Ok(Err(_)) | Err(_) => Some("the store did not answer within 2 s".to_string()),
            };
            app.health.probed(outcome.clone());
            outcome
        }
    };
    let problem = probed.or_else(|| app.health.failing());
    match problem {
        None => json(StatusCode::OK, "{\"status\":\"ok\"}"),
        Some(problem) => (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::CONTENT_TYPE, "application/json")],
            serde_json::json!({"status": "store_failing", "error": problem}).to_string(),
        )
            .into_response(),
    }
}

async fn stats(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    let Some(expected) = &app.admin_token else {
        let message = format!(
            "{{\"error\":\"stats are off: set the environment variable {} to a token and restart\"}}",
            app.config.admin_token_env
        );
        return (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "application/json")],
            message,
        )
            .into_response();
    };
    let given = header_text(&headers, header::AUTHORIZATION).and_then(|value| value.strip_prefix("Bearer "));
    if !given.is_some_and(|token| access::same_secret(token, expected)) {
        let mut response = json(
            StatusCode::UNAUTHORIZED,
            "{\"error\":\"send Authorization: Bearer <admin token>\"}",
        );
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return response;
    }
    let store = app.store.clone();
    match tokio::task::spawn_blocking(move || store.figures()).await {
        Ok(Ok(figures)) => axum::Json(app.stats.to_json(&figures)).into_response(),
        _ => json(
            StatusCode::SERVICE_UNAVAILABLE,
            "{\"error\":\"the store cannot be read now\"}",
        ),
    }
}

async fn not_found() -> Response {
    json(
        StatusCode::NOT_FOUND,
        "{\"error\":\"no such endpoint; reports go to POST /v1/crash\"}",
    )
}

/// Compares in time independent of where the first difference is.
/// `GET /dashboard?window=24h|14d`: the page.
async fn dashboard_page(State(app): State<Arc<App>>, headers: HeaderMap, uri: axum::http::Uri) -> Response {
    match read_board(&app, &headers, uri.query()).await {
        Ok(board) => {
            let mut response = private(
                (
                    StatusCode::OK,
                    [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                    dashboard::page::render(&board),
                )
                    .into_response(),
            );
            if let Ok(policy) = HeaderValue::from_str(&dashboard::page::CONTENT_SECURITY_POLICY) {
                response.headers_mut().insert(header::CONTENT_SECURITY_POLICY, policy);
            }
            response
        }
        Err(response) => response,
    }
}

/// `GET /dashboard.json?window=24h|14d`: the same data, for scripts.
async fn dashboard_json(State(app): State<Arc<App>>, headers: HeaderMap, uri: axum::http::Uri) -> Response {
    match read_board(&app, &headers, uri.query()).await {
        Ok(board) => private(axum::Json(board).into_response()),
        Err(response) => response,
    }
}

/// Checks the read token and reads one view, or the answer that says why not. Every answer
/// is private to the one who asked: not cached, not framed, not sniffed.
async fn read_board(app: &Arc<App>, headers: &HeaderMap, query: Option<&str>) -> Result<dashboard::Board, Response> {
    let Some(expected) = &app.dashboard_token else {
        let message = format!(
            "the dashboard is off: set the environment variable {} to a read token and restart\n",
            app.config.dashboard_token_env
        );
        return Err(private((StatusCode::NOT_FOUND, message).into_response()));
    };
    if !access::read_token_matches(headers, expected) {
        return Err(private(access::challenge("the dashboard")));
    }
    let window = dashboard::Window::from_query(query)
        .map_err(|message| private((StatusCode::BAD_REQUEST, format!("{message}\n")).into_response()))?;
    let (store, config) = (app.store.clone(), app.config.clone());
    let read = tokio::task::spawn_blocking(move || dashboard::board(store.as_ref(), &config, window, unix_now())).await;
    match read {
        Ok(Ok(board)) => Ok(board),
        Ok(Err(error)) => {
            app.store_errors.error(&error);
            Err(private(
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the store cannot be read now; try again in a moment\n",
                )
                    .into_response(),
            ))
        }
        Err(_) => Err(private(
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "the store cannot be read now; try again in a moment\n",
            )
                .into_response(),
        )),
    }
}

/// An answer private to the one who asked: not cached, not framed, not sniffed, no referrer.
fn private(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    response
}
