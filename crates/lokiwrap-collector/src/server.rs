//! The HTTP side: routes, the request path of `POST /v1/crash`, health and stats. The request
//! path reads at most the body cap, checks the limits, parses, scrubs and hands the report to
//! the store's writer; it never calls GitHub.
//!
//! Answers: `202 {}` for every body that was read, whatever became of it, so a client learns
//! nothing about the store; `413` when the body is over the cap; `429` with `Retry-After` when
//! the client is over its rate; `503` with `Retry-After` only when the store is busy, and `500`
//! when it cannot write for a reason of the operator's (a damaged file, a full disk): either
//! way the client keeps the report and sends it again.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::Router;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use http_body_util::{BodyExt, LengthLimitError, Limited};

use super::config::Config;
use super::hotfix::signature::{KernelPublicKey, MAX_EVENT_PAYLOAD_BYTES, verify_kernel_inputs};
use super::hotfix::{self, Failure, FailureKind, Ignored, webhook::verify_signature};
use super::ingest::{self, Rejected};
use super::limits::{Limiter, client_ip};
use super::stats::Stats;
use super::store::{Kind, Occurrence, Received, Store, StoreError, Stored};
use super::wake::{Wake, unix_now};
use super::writer::Writer;
use lokiwrap_report::scrub::Scrubber;

pub struct App {
    pub config: Arc<Config>,
    pub scrubber: Scrubber,
    pub per_ip: Limiter<IpAddr>,
    pub per_project: Limiter<String>,
    pub stats: Arc<Stats>,
    pub store: Arc<dyn Store>,
    pub writer: Writer,
    pub admin_token: Option<String>,
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
        .route("/v1/events", post(events))
        .route("/github/webhook", post(webhook))
        .fallback(not_found)
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

fn too_large() -> Response {
    let mut response = json(
        StatusCode::PAYLOAD_TOO_LARGE,
        "{\"error\":\"report larger than the collector accepts\"}",
    );
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

fn header_text(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}

async fn crash(State(app): State<Arc<App>>, ConnectInfo(peer): ConnectInfo<SocketAddr>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let bytes = match admit(&app, peer, &parts.headers, body, app.config.body_limit).await {
        Ok(bytes) => bytes,
        Err(answer) => return answer,
    };
    let checked = ingest::check_headers(
        header_text(&parts.headers, header::CONTENT_TYPE),
        header_text(&parts.headers, header::CONTENT_ENCODING),
    );
    let accepted_report = match checked.and_then(|()| ingest::accept(&bytes, &app.scrubber)) {
        Ok(report) => report,
        Err(reason) => return rejected(&app, reason),
    };
    if let Some(project) = &accepted_report.report.project_id_hash
        && let Err(wait) = app.per_project.check(project.clone())
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
    };
    match app.writer.store(received).await {
        Ok(Stored::DuplicateId) => app.stats.add("duplicate_id"),
        Ok(Stored::New | Stored::Repeat) => app.stats.add("accepted"),
        Err(error) => {
            app.stats.add("store_errors");
            tracing::error!(%error, "a report could not be stored; the client will send it again");
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

/// Reads a whole body up to `cap`; `Err` is the answer to give instead.
/// The first steps for a body from a client: the address's rate, then the body, read up to
/// `cap`; a declared length over the cap is refused before reading anything.
async fn admit(
    app: &App,
    peer: SocketAddr,
    headers: &HeaderMap,
    body: axum::body::Body,
    cap: usize,
) -> Result<axum::body::Bytes, Response> {
    let ip = client_ip(peer, headers, &app.config.trusted_proxies);
    if let Err(wait) = app.per_ip.check(ip) {
        app.stats.add("dropped_rate_ip");
        let message = "{\"error\":\"too many requests from this address\"}";
        return Err(retry_after(StatusCode::TOO_MANY_REQUESTS, wait, message));
    }
    let declared = header_text(headers, header::CONTENT_LENGTH).and_then(|n| n.parse::<usize>().ok());
    if declared.is_some_and(|length| length > cap) {
        app.stats.add("dropped_oversize");
        return Err(too_large());
    }
    read_capped(app, body, cap).await
}

async fn read_capped(app: &App, body: axum::body::Body, cap: usize) -> Result<axum::body::Bytes, Response> {
    match Limited::new(body, cap).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) if error.is::<LengthLimitError>() => {
            app.stats.add("dropped_oversize");
            Err(too_large())
        }
        // The client went away mid-body: nothing to answer to, nothing stored.
        Err(_) => Err(accepted()),
    }
}

/// `POST /v1/events`: a `kernel.plugin_error` event, plain or as the kernel's signed plugin
/// inputs. Always `202 {}` (the kernel needs a JSON 2xx), whatever became of it.
async fn events(State(app): State<Arc<App>>, ConnectInfo(peer): ConnectInfo<SocketAddr>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let bytes = match admit(&app, peer, &parts.headers, body, app.config.events_body_limit).await {
        Ok(bytes) => bytes,
        Err(answer) => return answer,
    };
    let payload = match &app.kernel_key {
        Some(key) => match verify_kernel_inputs(&bytes, key, unix_now().max(0) as u64) {
            Ok(inputs) if inputs.event_name == "kernel.plugin_error" => inputs.event_payload,
            Ok(_) => return ignored(&app, "hotfix_other_event"),
            Err(rejected) => {
                tracing::warn!(reason = rejected.as_str(), "kernel inputs refused");
                return ignored(&app, "hotfix_bad_signature");
            }
        },
        None => bytes.to_vec(),
    };
    if payload.len() > MAX_EVENT_PAYLOAD_BYTES {
        return ignored(&app, "dropped_oversize");
    }
    let failure = hotfix::from_plugin_error(&payload, &app.config.hotfix);
    let id = failure.as_ref().ok().map(|f| {
        let c = &f.details.correlation;
        format!(
            "event:{}:{}:{}",
            c.state_id.as_deref().unwrap_or(""),
            c.delivery_id.as_deref().unwrap_or(""),
            f.cluster_key
        )
    });
    let raw = app
        .config
        .hotfix
        .store_raw_payloads
        .then(|| app.scrubber.scrub(&String::from_utf8_lossy(&payload)).text.into_owned());
    record_failure(&app, failure, id, raw).await
}

/// `POST /github/webhook`: GitHub's signed webhooks; failed `workflow_run`s become issues.
async fn webhook(State(app): State<Arc<App>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let Some(secret) = &app.webhook_secret else {
        let message = format!(
            "{{\"error\":\"webhooks are off: set {} to the webhook's secret and restart\"}}",
            app.config.hotfix.webhook_secret_env
        );
        return (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "application/json")],
            message,
        )
            .into_response();
    };
    let bytes = match read_capped(&app, body, app.config.events_body_limit).await {
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
    let delivery = parts
        .headers
        .get("x-github-delivery")
        .and_then(|v| v.to_str().ok())
        .map(|d| format!("webhook:{d}"));
    let failure = hotfix::from_workflow_run(&bytes, &app.config.hotfix);
    record_failure(&app, failure, delivery, None).await
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
            tracing::error!(%error, "a confirmation could not be stored");
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
) -> Response {
    let failure = match failure {
        Ok(failure) => failure,
        Err(ignored) => {
            app.stats.add(&format!("hotfix_ignored_{}", ignored.reason.as_str()));
            tracing::info!(reason = ignored.reason.as_str(), message = %ignored.message, "failure event ignored");
            return accepted();
        }
    };
    let mut details = serde_json::to_value(&failure.details).unwrap_or_default();
    if let Some(raw) = raw {
        details["raw_payload"] = serde_json::Value::String(raw);
    }
    let occurrence = Occurrence {
        key: failure.cluster_key.clone(),
        kind: match failure.kind {
            FailureKind::Plugin => Kind::PluginFailure,
            FailureKind::WorkflowRun => Kind::WorkflowFailure,
        },
        repo: failure.repo.clone(),
        details,
        id,
        received_at: unix_now(),
        window_secs: i64::from(app.config.hotfix.window_hours) * 3600,
    };
    let store = app.store.clone();
    match tokio::task::spawn_blocking(move || store.record(&occurrence)).await {
        Ok(Ok(Stored::DuplicateId)) => app.stats.add("duplicate_id"),
        Ok(Ok(_)) => {
            app.stats.add("hotfix_accepted");
            app.wake.notify();
        }
        Ok(Err(error)) => {
            app.stats.add("store_errors");
            tracing::error!(%error, "a failure could not be stored");
            return store_failed(&error, "{\"error\":\"the collector cannot store events now\"}");
        }
        Err(_) => return retry_after(StatusCode::SERVICE_UNAVAILABLE, 60, "{}"),
    }
    accepted()
}

async fn healthz() -> Response {
    json(StatusCode::OK, "{\"status\":\"ok\"}")
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
    if !given.is_some_and(|token| same_secret(token.as_bytes(), expected.as_bytes())) {
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
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
