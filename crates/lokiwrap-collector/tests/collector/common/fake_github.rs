//! A fake GitHub REST API (version 2022-11-28) on loopback, for the collector's tests. It keeps
//! issues, comments, labels and pull requests in memory and answers with GitHub's shapes and
//! statuses; it journals every request with what GitHub would object to, and fails on demand.
//! With `enable_app` it is GitHub as a GitHub App sees it: JWTs checked against the App's test
//! key, installations that cover repositories, installation tokens that expire.

use std::collections::{BTreeMap, VecDeque};
use std::future::IntoFuture;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// The token `FakeGithub::start` accepts.
pub const TEST_TOKEN: &str = "test-token";
/// The author of what is created through the API: the collector acts as a GitHub App.
pub const APP_LOGIN: &str = "lokiwrap-collector[bot]";
pub const API_VERSION: &str = "2022-11-28";
pub const MEDIA_TYPE: &str = "application/vnd.github+json";
/// GitHub's answer when content is created too fast.
pub const SECONDARY_LIMIT_MESSAGE: &str =
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.";

/// An installation token's primary limit per hour.
const PRIMARY_LIMIT: u64 = 5000;
/// GitHub's content-creation limits: notifying requests per minute and per hour.
const CONTENT_PER_MINUTE: usize = 80;
const CONTENT_PER_HOUR: usize = 500;
/// GitHub refuses longer issue, comment and pull request bodies.
const MAX_BODY_CHARS: usize = 65536;
const DEFAULT_PER_PAGE: usize = 30;
const MAX_PER_PAGE: usize = 100;
/// New labels get GitHub's grey.
const DEFAULT_LABEL_COLOR: &str = "ededed";
const DOCS: &str = "https://docs.github.com/rest";

/// One request as received, with the status it was answered with.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: String,
    pub path: String,
    /// The raw query string without `?`; empty when there is none.
    pub query: String,
    /// Names in lower case; a repeated header's values joined with `, `.
    pub headers: BTreeMap<String, String>,
    /// The body as JSON; `None` when it is empty or not JSON (the latter is also a problem).
    pub body: Option<Value>,
    pub status: u16,
    /// When the request arrived.
    pub at: Instant,
    /// What GitHub would object to, or what this fake does not model; empty for a good request.
    pub problems: Vec<String>,
    /// With a GitHub App (`enable_app`): the installation whose token authorised the request;
    /// `None` for the App's own JWT, the plain test token, or a refused request.
    pub installation: Option<u64>,
}

/// An issue, or a pull request: they share numbers, as on GitHub.
#[derive(Debug, Clone)]
pub struct Issue {
    pub id: u64,
    pub number: u64,
    pub title: String,
    pub body: Option<String>,
    /// `open` or `closed`.
    pub state: String,
    /// `completed`, `not_planned` or `reopened`; `None` for an issue never closed.
    pub state_reason: Option<String>,
    /// Label names as the repository spells them.
    pub labels: Vec<String>,
    /// The author's login; logins ending in `[bot]` are apps.
    pub user: String,
    /// In the order they were written.
    pub comments: Vec<Comment>,
    /// Set for a pull request.
    pub pull: Option<Pull>,
    /// Seconds since the Unix epoch.
    pub created_at: u64,
    pub updated_at: u64,
    pub closed_at: Option<u64>,
}

#[derive(Debug, Clone)]
pub struct Comment {
    pub id: u64,
    pub body: String,
    pub user: String,
    pub created_at: u64,
    pub updated_at: u64,
}

#[derive(Debug, Clone)]
pub struct Pull {
    pub head: String,
    pub base: String,
    pub merged: bool,
}

/// A failure to inject: the first queued fault whose method and path match a request is used
/// for it, `times` times in all.
#[derive(Debug, Clone)]
pub struct Fault {
    /// `None` matches every method.
    pub method: Option<String>,
    /// A path pattern as `FakeGithub::count` reads it, so `/issues` fails issue creation
    /// but not comment creation; `None` matches every path.
    pub path: Option<String>,
    pub times: usize,
    pub kind: FaultKind,
}

#[derive(Debug, Clone)]
pub enum FaultKind {
    /// Answers this instead of handling the request: nothing is written. The rate limit headers
    /// are added unless `headers` has its own.
    Respond {
        status: u16,
        headers: Vec<(String, String)>,
        body: String,
    },
    /// Handles the request, writes included, then answers this status with GitHub's error body:
    /// the client cannot tell whether its write happened.
    AfterWrite { status: u16 },
    /// Handles the request at once, writes included, and sends the answer this much later.
    Delay(Duration),
}

impl Fault {
    /// A fault for the next request with this method (`*` for any) whose path ends with
    /// `pattern` (see `FakeGithub::count`).
    pub fn on(method: &str, pattern: &str, kind: FaultKind) -> Fault {
        Fault {
            method: (method != "*").then(|| method.to_owned()),
            path: Some(pattern.to_owned()),
            times: 1,
            kind,
        }
    }

    pub fn times(mut self, times: usize) -> Fault {
        self.times = times;
        self
    }

    /// What GitHub answers a client that creates content too fast: 403 with `retry-after`.
    pub fn secondary_rate_limit(method: &str, pattern: &str, retry_after_secs: u64) -> Fault {
        Fault::on(
            method,
            pattern,
            FaultKind::Respond {
                status: 403,
                headers: vec![("retry-after".to_owned(), retry_after_secs.to_string())],
                body: error_body(403, SECONDARY_LIMIT_MESSAGE).to_string(),
            },
        )
    }

    fn matches(&self, method: &str, path: &str) -> bool {
        self.times > 0
            && self.method.as_deref().is_none_or(|m| m.eq_ignore_ascii_case(method))
            && self.path.as_deref().is_none_or(|pattern| path_ends_with(path, pattern))
    }
}

/// The server. Listens on 127.0.0.1 only, on a port of the system's choosing, until dropped.
pub struct FakeGithub {
    /// `http://127.0.0.1:<port>`, the API base URL to give the collector.
    pub url: String,
    world: Arc<Mutex<World>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
}

impl FakeGithub {
    /// Starts an empty GitHub that accepts the token `TEST_TOKEN`. Repositories exist as soon as
    /// they are named.
    pub fn start() -> FakeGithub {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a loopback port is free");
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let world = Arc::new(Mutex::new(World::new(&url)));
        let (stop, stopped) = tokio::sync::oneshot::channel();
        let server = {
            let world = Arc::clone(&world);
            thread::spawn(move || serve(listener, world, stopped))
        };
        FakeGithub {
            url,
            world,
            stop: Some(stop),
            server: Some(server),
        }
    }

    fn world(&self) -> MutexGuard<'_, World> {
        self.world.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Every request received, in the order they were handled.
    pub fn journal(&self) -> Vec<Call> {
        self.world().journal.clone()
    }

    /// Requests with this method (`*` for any) whose path ends with `pattern`, compared by
    /// segments, `*` standing for any one segment: `/issues` counts the creations (or listings)
    /// of issues, `/issues/*/comments` the comment calls, `/repos/o/r/issues/7` one issue's.
    pub fn count(&self, method: &str, pattern: &str) -> usize {
        self.world()
            .journal
            .iter()
            .filter(|call| method == "*" || call.method.eq_ignore_ascii_case(method))
            .filter(|call| path_ends_with(&call.path, pattern))
            .count()
    }

    /// Every problem of every request, as `METHOD path: problem`; empty for a well-behaved client.
    pub fn problems(&self) -> Vec<String> {
        self.world()
            .journal
            .iter()
            .flat_map(|call| {
                call.problems
                    .iter()
                    .map(move |p| format!("{} {}: {p}", call.method, call.path))
            })
            .collect()
    }

    /// Waits up to `timeout` for `count(method, pattern)` to reach `at_least`; returns whether
    /// it did. For clients that run on their own, as the collector's worker does.
    pub fn wait_for(&self, method: &str, pattern: &str, at_least: usize, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while self.count(method, pattern) < at_least {
            if Instant::now() >= deadline {
                return false;
            }
            thread::sleep(Duration::from_millis(10));
        }
        true
    }

    /// The issues and pull requests of `repo` (`owner/name`), comments included, by number.
    /// Deleted, gone and transferred ones are not there.
    pub fn issues(&self, repo: &str) -> Vec<Issue> {
        let world = self.world();
        let Some(repo) = world.repos.get(repo) else {
            return Vec::new();
        };
        repo.entries
            .values()
            .filter_map(|entry| match entry {
                Entry::Live(issue) => Some(Issue::clone(issue)),
                _ => None,
            })
            .collect()
    }

    /// An open issue written by `creator` (a user unless the login ends in `[bot]`), as if made
    /// on the website: not journaled and not counted against any limit. Returns its number.
    pub fn seed_issue(&self, repo: &str, title: &str, body: &str, labels: &[&str], creator: &str) -> u64 {
        let labels: Vec<String> = labels.iter().map(|name| name.to_string()).collect();
        self.world()
            .add_issue(repo, title.to_owned(), Some(body.to_owned()), &labels, creator, None)
    }

    /// Closes the issue as a maintainer would, with `completed` or `not_planned`.
    pub fn close_issue(&self, repo: &str, number: u64, state_reason: &str) {
        let mut world = self.world();
        let issue = world.expect_live(repo, number);
        let now = now_secs();
        issue.state = "closed".to_owned();
        issue.state_reason = Some(state_reason.to_owned());
        issue.closed_at = Some(now);
        issue.updated_at = now;
    }

    /// Deletes the issue: requests for it answer 404, as for one that never existed.
    pub fn delete_issue(&self, repo: &str, number: u64) {
        self.world().replace_entry(repo, number, Entry::Deleted);
    }

    /// Makes the issue gone: requests for it answer 410.
    pub fn gone_issue(&self, repo: &str, number: u64) {
        self.world().replace_entry(repo, number, Entry::Gone);
    }

    /// Moves the issue, comments and labels along, to `to_repo` under a new number, which it
    /// returns. Requests for the old one answer 301 with the new API URL in `Location`.
    pub fn transfer_issue(&self, repo: &str, number: u64, to_repo: &str) -> u64 {
        let mut world = self.world();
        let mut issue = world.expect_live(repo, number).clone();
        assert!(issue.pull.is_none(), "pull requests cannot be transferred");
        let labels = world.ensure_labels(to_repo, &issue.labels);
        let target = world.repo(to_repo);
        target.last_number += 1;
        issue.number = target.last_number;
        issue.labels = labels;
        issue.updated_at = now_secs();
        let moved = issue.number;
        target.entries.insert(moved, Entry::Live(Box::new(issue)));
        world.replace_entry(
            repo,
            number,
            Entry::Moved {
                repo: to_repo.to_owned(),
                number: moved,
            },
        );
        moved
    }

    /// Queues a fault after those already queued.
    pub fn inject(&self, fault: Fault) {
        self.world().faults.push(fault);
    }

    /// From now on the fake is GitHub as a GitHub App with this id sees it: the App's routes
    /// take only a JWT signed with the key of `tests/fixtures/github_app` (RS256, `iss` the id,
    /// `exp` at most 10 minutes ahead), and the repository routes only an unexpired token of an
    /// installation that covers the repository (`install`); `TEST_TOKEN` is refused.
    pub fn enable_app(&self, app_id: u64) {
        use rsa::pkcs8::DecodePublicKey;
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/github_app/app_test_public_key.pem");
        let pem = std::fs::read_to_string(path).expect("the App's test public key");
        let key = rsa::RsaPublicKey::from_public_key_pem(&pem).expect("a public key");
        self.world().app = Some(AppWorld {
            app_id,
            key: rsa::pkcs1v15::VerifyingKey::new(key),
            installations: BTreeMap::new(),
            lifetime: Duration::from_secs(3600),
            tokens: BTreeMap::new(),
        });
    }

    /// Installs the App (`enable_app`) as `installation` on these repositories, in addition to
    /// those it already covers.
    pub fn install(&self, installation: u64, repos: &[&str]) {
        let mut world = self.world();
        let app = world.app.as_mut().expect("enable_app first");
        let covered = app.installations.entry(installation).or_default();
        covered.extend(repos.iter().map(|repo| repo.to_lowercase()));
    }

    /// How long installation tokens issued from now on live (GitHub's: an hour); their
    /// `expires_at` says so truthfully.
    pub fn set_token_lifetime(&self, lifetime: Duration) {
        self.world().app.as_mut().expect("enable_app first").lifetime = lifetime;
    }

    /// Every installation token issued so far expires now, though its `expires_at` said
    /// otherwise: as when a token is revoked, or a clock ran ahead.
    pub fn expire_tokens(&self) {
        let now = Instant::now();
        for token in self.world().app.as_mut().expect("enable_app first").tokens.values_mut() {
            token.expires = now;
        }
    }

    /// The installation tokens issued, with their installation, in the order they were issued.
    pub fn issued_tokens(&self) -> Vec<(u64, String)> {
        let world = self.world();
        let Some(app) = world.app.as_ref() else {
            return Vec::new();
        };
        let mut issued: Vec<(u64, u64, String)> = app
            .tokens
            .iter()
            .map(|(value, token)| (token.serial, token.installation, value.clone()))
            .collect();
        issued.sort();
        issued
            .into_iter()
            .map(|(_, installation, value)| (installation, value))
            .collect()
    }

    /// Accepts only this token from now on; others get 401 `Bad credentials`.
    pub fn set_token(&self, token: &str) {
        self.world().token = token.to_owned();
    }

    /// New issues stay out of lists for this many seconds, as when GitHub's index lags.
    pub fn set_listing_lag(&self, seconds: u64) {
        self.world().listing_lag = seconds;
    }

    /// Sets the secondary limit on notifying requests (creating issues, comments and pull
    /// requests); GitHub's are 80 a minute and 500 an hour. Writes already made still count.
    pub fn set_content_limits(&self, per_minute: usize, per_hour: usize) {
        let mut world = self.world();
        world.per_minute = per_minute;
        world.per_hour = per_hour;
    }

    /// From now on every read of the issue answers 301 with `location` in `Location`, whatever
    /// it names: another host, another port, or text that is no URL at all. Nothing is served
    /// there; a client that follows it goes wherever it leads.
    pub fn redirect_issue(&self, repo: &str, number: u64, location: &str) {
        let body = json!({"message": "Moved Permanently", "url": location, "documentation_url": DOCS});
        let fault = Fault::on(
            "GET",
            &format!("/repos/{repo}/issues/{number}"),
            FaultKind::Respond {
                status: 301,
                headers: vec![("location".to_owned(), location.to_owned())],
                body: body.to_string(),
            },
        );
        self.inject(fault.times(usize::MAX));
    }

    /// The headers of each request with this method whose path ends with `pattern` (see
    /// `count`), in the order they arrived; names in lower case.
    pub fn headers_of(&self, method: &str, pattern: &str) -> Vec<BTreeMap<String, String>> {
        self.world()
            .journal
            .iter()
            .filter(|call| method == "*" || call.method.eq_ignore_ascii_case(method))
            .filter(|call| path_ends_with(&call.path, pattern))
            .map(|call| call.headers.clone())
            .collect()
    }
}

impl Drop for FakeGithub {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.join();
        }
    }
}

/// Runs the server until told to stop. Dropping the runtime then ends every connection, even
/// one whose answer is being delayed.
fn serve(listener: std::net::TcpListener, world: Arc<Mutex<World>>, stopped: tokio::sync::oneshot::Receiver<()>) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::from_std(listener).expect("a tokio listener");
        // One handler for every path, so that every request is journaled and answered as GitHub
        // would, unknown routes and unparsable bodies included.
        let app = Router::new()
            .fallback(receive)
            .layer(DefaultBodyLimit::disable())
            .with_state(world);
        tokio::select! {
            _ = axum::serve(listener, app).into_future() => {}
            _ = stopped => {}
        }
    });
}

async fn receive(
    State(world): State<Arc<Mutex<World>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (reply, delay) = {
        let mut world = world.lock().unwrap_or_else(PoisonError::into_inner);
        world.answer(&method, &uri, &headers, &body)
    };
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    reply.into_response()
}

/// Everything the fake knows. Handlers run with it locked, one request at a time.
struct World {
    base: String,
    token: String,
    repos: BTreeMap<String, Repo>,
    /// Ids of issues, comments and labels, unique across all of them.
    last_id: u64,
    journal: Vec<Call>,
    faults: Vec<Fault>,
    /// When each notifying write of the last hour happened, oldest first.
    content: VecDeque<Instant>,
    per_minute: usize,
    per_hour: usize,
    rate_used: u64,
    rate_reset: u64,
    /// Seconds before a new issue shows in lists, as GitHub's index can lag.
    listing_lag: u64,
    /// Set by `enable_app`.
    app: Option<AppWorld>,
}

/// GitHub as one GitHub App sees it.
struct AppWorld {
    app_id: u64,
    key: rsa::pkcs1v15::VerifyingKey<Sha256>,
    /// Installation id → the lower-cased repositories it covers.
    installations: BTreeMap<u64, std::collections::BTreeSet<String>>,
    /// Of tokens issued from now on.
    lifetime: Duration,
    /// Issued installation tokens by value.
    tokens: BTreeMap<String, IssuedToken>,
}

struct IssuedToken {
    installation: u64,
    expires: Instant,
    /// The order of issue.
    serial: u64,
}

impl AppWorld {
    /// Checks a JWT as GitHub does: RS256 signed with the App's key, `iss` the App's id, issued
    /// no later than now, and expiring in the future but at most 10 minutes ahead. Also asks for
    /// `iat` to be set back (GitHub advises 60 s) against clock drift. Why not, if not.
    fn check_jwt(&self, jwt: &str) -> Result<(), String> {
        use base64::Engine;
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        use rsa::signature::Verifier;
        let parts: Vec<&str> = jwt.split('.').collect();
        let [header, claims, signature] = parts.as_slice() else {
            return Err("`Authorization` is not a JWT (three dot-separated parts)".to_owned());
        };
        let decode = |part: &str| {
            URL_SAFE_NO_PAD
                .decode(part)
                .map_err(|_| "a JWT part is not base64url".to_owned())
        };
        let header: Value =
            serde_json::from_slice(&decode(header)?).map_err(|_| "the JWT header is not JSON".to_owned())?;
        if header["alg"] != "RS256" {
            return Err(format!("the JWT's alg is {}, not RS256", header["alg"]));
        }
        let signature = rsa::pkcs1v15::Signature::try_from(decode(signature)?.as_slice())
            .map_err(|_| "the JWT's signature is malformed".to_owned())?;
        let signed = format!("{}.{}", parts[0], parts[1]);
        self.key
            .verify(signed.as_bytes(), &signature)
            .map_err(|_| "the JWT is not signed with the App's key".to_owned())?;
        let claims: Value =
            serde_json::from_slice(&decode(claims)?).map_err(|_| "the JWT claims are not JSON".to_owned())?;
        let iss = match &claims["iss"] {
            Value::String(text) => text.parse::<u64>().ok(),
            value => value.as_u64(),
        };
        if iss != Some(self.app_id) {
            return Err(format!(
                "the JWT's iss is {}, not the App id {}",
                claims["iss"], self.app_id
            ));
        }
        let (Some(iat), Some(exp)) = (claims["iat"].as_i64(), claims["exp"].as_i64()) else {
            return Err("the JWT needs numeric iat and exp".to_owned());
        };
        let now = now_secs() as i64;
        if iat > now + 1 {
            return Err("the JWT's iat is in the future".to_owned());
        }
        if iat > now - 30 {
            return Err("the JWT's iat is not set back against clock drift (GitHub advises 60 s)".to_owned());
        }
        if exp <= now {
            return Err("the JWT has expired".to_owned());
        }
        if exp > now + 600 {
            return Err("the JWT's exp is more than 10 minutes ahead".to_owned());
        }
        Ok(())
    }
}

/// Who a request proved to be.
enum Caller {
    /// `TEST_TOKEN` (or what `set_token` set), when there is no App.
    Token,
    /// The App itself, by a valid JWT.
    App,
    /// An installation, by one of its unexpired tokens.
    Installation(u64),
}

#[derive(Default)]
struct Repo {
    entries: BTreeMap<u64, Entry>,
    labels: Vec<Label>,
    last_number: u64,
}

enum Entry {
    Live(Box<Issue>),
    Deleted,
    Gone,
    Moved { repo: String, number: u64 },
}

struct Label {
    id: u64,
    name: String,
    color: String,
    description: Option<String>,
}

/// Why an issue number has no issue behind it.
enum Missing {
    NotFound,
    Gone,
    Moved(String, u64),
}

/// One request, parsed, as the route handlers see it.
struct Incoming<'a> {
    path: &'a str,
    raw_query: &'a str,
    query: &'a [(String, String)],
    /// A JSON object, or `Null` when the request had no body.
    body: &'a Value,
}

impl Incoming<'_> {
    fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    fn text(&self, name: &str) -> Option<&str> {
        self.body.get(name).and_then(Value::as_str)
    }

    fn names(&self, name: &str) -> Option<Vec<String>> {
        self.body
            .get(name)
            .and_then(Value::as_array)
            .map(|items| items.iter().filter_map(Value::as_str).map(str::to_owned).collect())
    }
}

/// What to answer.
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    fn json(status: u16, value: &Value) -> Reply {
        Reply {
            status,
            headers: vec![("content-type".to_owned(), "application/json; charset=utf-8".to_owned())],
            body: value.to_string(),
        }
    }

    /// GitHub's error shape: a message, where to read more, and the status.
    fn error(status: u16, message: &str) -> Reply {
        Reply::json(status, &error_body(status, message))
    }

    /// A fault's answer: JSON unless its headers say otherwise.
    fn as_told(status: u16, headers: &[(String, String)], body: &str) -> Reply {
        let mut reply = Reply {
            status,
            headers: Vec::new(),
            body: body.to_owned(),
        };
        if !body.is_empty() {
            reply = reply.header("content-type", "application/json; charset=utf-8");
        }
        headers
            .iter()
            .fold(reply, |reply, (name, value)| reply.header(name, value))
    }

    fn header(mut self, name: &str, value: &str) -> Reply {
        self.headers.retain(|(key, _)| !key.eq_ignore_ascii_case(name));
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    fn has_header(&self, name: &str) -> bool {
        self.headers.iter().any(|(key, _)| key.eq_ignore_ascii_case(name))
    }

    fn into_response(self) -> Response {
        let mut response = Response::builder().status(self.status);
        for (name, value) in &self.headers {
            response = response.header(name, value);
        }
        response
            .body(Body::from(self.body))
            .expect("a fault's status and headers are valid HTTP")
    }
}

fn error_body(status: u16, message: &str) -> Value {
    json!({"message": message, "documentation_url": DOCS, "status": status.to_string()})
}

impl World {
    fn new(base: &str) -> World {
        World {
            base: base.to_owned(),
            token: TEST_TOKEN.to_owned(),
            repos: BTreeMap::new(),
            last_id: 1_000_000,
            journal: Vec::new(),
            faults: Vec::new(),
            content: VecDeque::new(),
            per_minute: CONTENT_PER_MINUTE,
            per_hour: CONTENT_PER_HOUR,
            rate_used: 0,
            rate_reset: now_secs() + 3600,
            listing_lag: 0,
            app: None,
        }
    }

    /// Checks, handles and journals one request; returns the answer and how long to hold it.
    fn answer(&mut self, method: &Method, uri: &Uri, headers: &HeaderMap, body: &[u8]) -> (Reply, Duration) {
        let at = Instant::now();
        let (method, path, query) = (method.as_str(), uri.path(), uri.query().unwrap_or(""));
        let headers = header_map(headers);
        let request = inspect(method, uri, &headers, body, |headers, route| {
            self.authorize(headers, route)
        });
        let fault = self.take_fault(method, path);
        let reply = match &fault {
            Some(FaultKind::Respond { status, headers, body }) => Reply::as_told(*status, headers, body),
            _ => self.decide(&request, path, query),
        };
        let reply = match fault {
            Some(FaultKind::AfterWrite { status }) => {
                let reason = StatusCode::from_u16(status)
                    .ok()
                    .and_then(|code| code.canonical_reason())
                    .unwrap_or("Server Error");
                Reply::error(status, reason)
            }
            _ => reply,
        };
        let reply = if method == "GET" {
            revalidate(reply, &headers)
        } else {
            tagged(reply)
        };
        let counted = request.refusal.is_none() && path != "/rate_limit" && reply.status != 304;
        let reply = self.with_rate_headers(reply, counted);
        self.journal.push(Call {
            method: method.to_owned(),
            path: path.to_owned(),
            query: query.to_owned(),
            headers,
            body: request.sent,
            status: reply.status,
            at,
            problems: request.problems,
            installation: match request.caller {
                Some(Caller::Installation(id)) if request.refusal.is_none() => Some(id),
                _ => None,
            },
        });
        let delay = match fault {
            Some(FaultKind::Delay(delay)) => delay,
            _ => Duration::ZERO,
        };
        (reply, delay)
    }

    /// The answer to a request no fault stands in for: the token is checked first, then the
    /// body's syntax, the route and the body's schema.
    fn decide(&mut self, request: &Inspected, path: &str, raw_query: &str) -> Reply {
        if let Some(message) = request.refusal {
            return Reply::error(401, message);
        }
        let Ok(body) = &request.body else {
            return Reply::error(400, "Problems parsing JSON");
        };
        let Some(route) = &request.route else {
            return Reply::error(404, "Not Found");
        };
        if let (Some(Caller::Installation(id)), Some(repo)) = (&request.caller, route_repo(route))
            && !self.covers(*id, repo)
        {
            // GitHub does not tell a repository the installation cannot see from one that is not there.
            return Reply::error(404, "Not Found");
        }
        if !request.errors.is_empty() {
            let errors = json!({
                "message": "Validation Failed",
                "errors": request.errors,
                "documentation_url": DOCS,
                "status": "422",
            });
            return Reply::json(422, &errors);
        }
        let incoming = Incoming {
            path,
            raw_query,
            query: &request.query,
            body,
        };
        self.handle(route.clone(), &incoming)
    }

    /// Consumes one use of the first fault that matches.
    fn take_fault(&mut self, method: &str, path: &str) -> Option<FaultKind> {
        let index = self.faults.iter().position(|fault| fault.matches(method, path))?;
        let fault = &mut self.faults[index];
        fault.times -= 1;
        let kind = fault.kind.clone();
        if fault.times == 0 {
            self.faults.remove(index);
        }
        Some(kind)
    }

    /// Adds GitHub's primary rate limit headers, counting this request if it counts.
    fn with_rate_headers(&mut self, reply: Reply, counted: bool) -> Reply {
        let now = now_secs();
        if now >= self.rate_reset {
            self.rate_used = 0;
            self.rate_reset = now + 3600;
        }
        if counted {
            self.rate_used += 1;
        }
        let values = [
            ("x-ratelimit-limit", PRIMARY_LIMIT.to_string()),
            (
                "x-ratelimit-remaining",
                PRIMARY_LIMIT.saturating_sub(self.rate_used).to_string(),
            ),
            ("x-ratelimit-used", self.rate_used.to_string()),
            ("x-ratelimit-reset", self.rate_reset.to_string()),
            ("x-ratelimit-resource", "core".to_owned()),
            ("x-github-api-version-selected", API_VERSION.to_owned()),
        ];
        values.into_iter().fold(reply, |reply, (name, value)| {
            if reply.has_header(name) {
                reply
            } else {
                reply.header(name, &value)
            }
        })
    }

    /// Who the `Authorization` header proves the caller to be, for this route; if no one,
    /// GitHub's 401 message and the problem.
    fn authorize(
        &self,
        headers: &BTreeMap<String, String>,
        route: Option<&Route>,
    ) -> Result<Caller, (&'static str, String)> {
        let Some(app) = &self.app else {
            return authorize(headers, &self.token).map(|()| Caller::Token);
        };
        let Some(value) = headers.get("authorization") else {
            return Err(("Requires authentication", "no `Authorization` header".to_owned()));
        };
        let Some(given) = value.strip_prefix("Bearer ") else {
            return Err(("Bad credentials", "`Authorization` is not `Bearer <token>`".to_owned()));
        };
        let given = given.trim();
        if matches!(route, Some(Route::RepoInstallation(_) | Route::CreateAccessToken(_))) {
            return match app.check_jwt(given) {
                Ok(()) => Ok(Caller::App),
                Err(problem) => Err(("A JSON web token could not be decoded", problem)),
            };
        }
        match app.tokens.get(given) {
            Some(token) if Instant::now() < token.expires => Ok(Caller::Installation(token.installation)),
            Some(token) => Err((
                "Bad credentials",
                format!("an expired token of installation {} was used", token.installation),
            )),
            None if given.matches('.').count() == 2 => Err((
                "Bad credentials",
                "the App's JWT was used where an installation token is needed".to_owned(),
            )),
            None => Err((
                "Bad credentials",
                "`Authorization` carries a token the fake GitHub did not issue".to_owned(),
            )),
        }
    }

    /// Whether installation `id` covers `repo`.
    fn covers(&self, id: u64, repo: &str) -> bool {
        self.app
            .as_ref()
            .and_then(|app| app.installations.get(&id))
            .is_some_and(|repos| repos.contains(&repo.to_lowercase()))
    }

    /// `GET /repos/{owner}/{repo}/installation`.
    fn repo_installation(&self, repo: &str) -> Reply {
        let Some(app) = &self.app else {
            return Reply::error(404, "Not Found");
        };
        let repo = repo.to_lowercase();
        match app.installations.iter().find(|(_, repos)| repos.contains(&repo)) {
            Some((id, _)) => {
                let owner = repo.split('/').next().unwrap_or_default();
                Reply::json(
                    200,
                    &json!({
                        "id": id,
                        "app_id": app.app_id,
                        "account": {"login": owner, "type": "Organization"},
                        "repository_selection": "selected",
                        "access_tokens_url": format!("{}/app/installations/{id}/access_tokens", self.base),
                        "permissions": {"issues": "write", "metadata": "read", "pull_requests": "write"},
                    }),
                )
            }
            None => Reply::error(404, "Not Found"),
        }
    }

    /// `POST /app/installations/{id}/access_tokens`.
    fn create_access_token(&mut self, id: u64) -> Reply {
        let Some(app) = self.app.as_mut() else {
            return Reply::error(404, "Not Found");
        };
        if !app.installations.contains_key(&id) {
            return Reply::error(404, "Not Found");
        }
        let serial = app.tokens.len() as u64 + 1;
        let value = format!(
            "ghs_fake{id}x{serial}x{}",
            &hex(&Sha256::digest(
                format!("{id}/{serial}/{:?}", Instant::now()).as_bytes()
            ))[..20]
        );
        let lifetime = app.lifetime;
        app.tokens.insert(
            value.clone(),
            IssuedToken {
                installation: id,
                expires: Instant::now() + lifetime,
                serial,
            },
        );
        let expires_at = iso8601(now_secs() + lifetime.as_secs());
        Reply::json(
            201,
            &json!({
                "token": value,
                "expires_at": expires_at,
                "permissions": {"issues": "write", "metadata": "read", "pull_requests": "write"},
                "repository_selection": "selected",
            }),
        )
    }

    fn handle(&mut self, route: Route, incoming: &Incoming) -> Reply {
        match route {
            Route::RateLimit => self.rate_limit(),
            Route::RepoInstallation(repo) => self.repo_installation(&repo),
            Route::CreateAccessToken(id) => self.create_access_token(id),
            Route::Graphql => Reply::json(
                200,
                &json!({"errors": [{"message": "the fake GitHub does not answer GraphQL queries"}]}),
            ),
            Route::ListIssues(repo) => self.list_issues(&repo, incoming),
            Route::CreateIssue(repo) => self.create_issue(&repo, incoming),
            Route::GetIssue(repo, number) => match self.live(&repo, number) {
                Ok(_) => Reply::json(200, &self.issue_json(&repo, number)),
                Err(missing) => self.missing(missing, ""),
            },
            Route::UpdateIssue(repo, number) => self.update_issue(&repo, number, incoming),
            Route::ListComments(repo, number) => self.list_comments(&repo, number, incoming),
            Route::CreateComment(repo, number) => self.create_comment(&repo, number, incoming),
            Route::UpdateComment(repo, id) => self.update_comment(&repo, id, incoming),
            Route::ListLabels(repo) => {
                self.repo(&repo);
                let labels: Vec<Value> = self.repos[&repo]
                    .labels
                    .iter()
                    .map(|label| self.label_json(&repo, label))
                    .collect();
                self.paginated(labels, incoming)
            }
            Route::CreateLabel(repo) => self.create_label(&repo, incoming),
            Route::AddLabels(repo, number) => self.add_labels(&repo, number, incoming),
            Route::ListPulls(repo) => self.list_pulls(&repo, incoming),
            Route::CreatePull(repo) => self.create_pull(&repo, incoming),
            Route::MergePull(repo, number) => self.merge_pull(&repo, number),
        }
    }

    fn rate_limit(&self) -> Reply {
        let core = json!({
            "limit": PRIMARY_LIMIT,
            "remaining": PRIMARY_LIMIT.saturating_sub(self.rate_used),
            "used": self.rate_used,
            "reset": self.rate_reset,
        });
        Reply::json(
            200,
            &json!({"resources": {"core": core, "graphql": core, "search": core}, "rate": core}),
        )
    }

    fn list_issues(&mut self, repo: &str, incoming: &Incoming) -> Reply {
        let state = incoming.param("state").unwrap_or("open");
        let labels: Vec<String> = incoming
            .param("labels")
            .unwrap_or("")
            .split(',')
            .map(|name| name.trim().to_lowercase())
            .filter(|name| !name.is_empty())
            .collect();
        let creator = incoming.param("creator");
        let lag = self.listing_lag;
        let listed_before = now_secs().saturating_sub(lag);
        let mut found: Vec<&Issue> = self
            .repo(repo)
            .entries
            .values()
            .filter_map(|entry| match entry {
                Entry::Live(issue) => Some(&**issue),
                _ => None,
            })
            .filter(|issue| state == "all" || issue.state == state)
            .filter(|issue| {
                labels
                    .iter()
                    .all(|wanted| issue.labels.iter().any(|name| name.to_lowercase() == *wanted))
            })
            .filter(|issue| creator.is_none_or(|login| issue.user.eq_ignore_ascii_case(login)))
            .filter(|issue| lag == 0 || issue.created_at < listed_before)
            .collect();
        match incoming.param("sort") {
            Some("updated") => found.sort_by_key(|issue| (issue.updated_at, issue.number)),
            Some("comments") => found.sort_by_key(|issue| (issue.comments.len(), issue.number)),
            _ => found.sort_by_key(|issue| (issue.created_at, issue.number)),
        }
        if incoming.param("direction") != Some("asc") {
            found.reverse();
        }
        let numbers: Vec<u64> = found.iter().map(|issue| issue.number).collect();
        let items = numbers.iter().map(|&number| self.issue_json(repo, number)).collect();
        self.paginated(items, incoming)
    }

    fn create_issue(&mut self, repo: &str, incoming: &Incoming) -> Reply {
        if let Some(refusal) = self.content_limited() {
            return refusal;
        }
        let title = incoming.text("title").unwrap_or_default().to_owned();
        let body = incoming.text("body").map(str::to_owned);
        let labels = incoming.names("labels").unwrap_or_default();
        let number = self.add_issue(repo, title, body, &labels, APP_LOGIN, None);
        self.content.push_back(Instant::now());
        let issue = self.issue_json(repo, number);
        Reply::json(201, &issue).header("location", issue["url"].as_str().unwrap_or_default())
    }

    fn update_issue(&mut self, repo: &str, number: u64, incoming: &Incoming) -> Reply {
        let labels = incoming.names("labels").map(|names| self.ensure_labels(repo, &names));
        let now = now_secs();
        let issue = match self.live(repo, number) {
            Ok(issue) => issue,
            Err(missing) => return self.missing(missing, ""),
        };
        if let Some(title) = incoming.text("title") {
            title.clone_into(&mut issue.title);
        }
        if let Some(body) = incoming.body.get("body") {
            issue.body = body.as_str().map(str::to_owned);
        }
        let reason = incoming
            .body
            .get("state_reason")
            .map(|reason| reason.as_str().map(str::to_owned));
        match (issue.state.as_str(), incoming.text("state")) {
            ("open", Some("closed")) => {
                issue.state = "closed".to_owned();
                issue.closed_at = Some(now);
                issue.state_reason = Some(reason.flatten().unwrap_or_else(|| "completed".to_owned()));
            }
            ("closed", Some("open")) => {
                issue.state = "open".to_owned();
                issue.closed_at = None;
                issue.state_reason = Some("reopened".to_owned());
            }
            _ => {
                if let Some(reason) = reason {
                    issue.state_reason = reason;
                }
            }
        }
        if let Some(labels) = labels {
            issue.labels = labels;
        }
        issue.updated_at = now;
        Reply::json(200, &self.issue_json(repo, number))
    }

    fn list_comments(&mut self, repo: &str, number: u64, incoming: &Incoming) -> Reply {
        let comments = match self.live(repo, number) {
            Ok(issue) => issue.comments.clone(),
            Err(missing) => return self.missing(missing, "/comments"),
        };
        let items = comments
            .iter()
            .map(|comment| self.comment_json(repo, number, comment))
            .collect();
        self.paginated(items, incoming)
    }

    fn create_comment(&mut self, repo: &str, number: u64, incoming: &Incoming) -> Reply {
        if let Err(missing) = self.live(repo, number) {
            return self.missing(missing, "/comments");
        }
        if let Some(refusal) = self.content_limited() {
            return refusal;
        }
        let now = now_secs();
        let comment = Comment {
            id: self.new_id(),
            body: incoming.text("body").unwrap_or_default().to_owned(),
            user: APP_LOGIN.to_owned(),
            created_at: now,
            updated_at: now,
        };
        let json = self.comment_json(repo, number, &comment);
        let issue = self.expect_live(repo, number);
        issue.comments.push(comment);
        issue.updated_at = now;
        self.content.push_back(Instant::now());
        Reply::json(201, &json).header("location", json["url"].as_str().unwrap_or_default())
    }

    fn update_comment(&mut self, repo: &str, id: u64, incoming: &Incoming) -> Reply {
        let now = now_secs();
        let found = self.repo(repo).entries.values_mut().find_map(|entry| match entry {
            Entry::Live(issue) => {
                let number = issue.number;
                issue
                    .comments
                    .iter_mut()
                    .find(|comment| comment.id == id)
                    .map(|comment| (number, comment))
            }
            _ => None,
        });
        let Some((number, comment)) = found else {
            return Reply::error(404, "Not Found");
        };
        incoming.text("body").unwrap_or_default().clone_into(&mut comment.body);
        comment.updated_at = now;
        let comment = comment.clone();
        Reply::json(200, &self.comment_json(repo, number, &comment))
    }

    fn create_label(&mut self, repo: &str, incoming: &Incoming) -> Reply {
        let name = incoming.text("name").unwrap_or_default();
        if self.find_label(repo, name).is_some() {
            return Reply::json(
                422,
                &json!({
                    "message": "Validation Failed",
                    "errors": [{"resource": "Label", "code": "already_exists", "field": "name"}],
                    "documentation_url": DOCS,
                    "status": "422",
                }),
            );
        }
        let label = Label {
            id: self.new_id(),
            name: name.to_owned(),
            color: incoming
                .text("color")
                .unwrap_or(DEFAULT_LABEL_COLOR)
                .trim_start_matches('#')
                .to_owned(),
            description: incoming.text("description").map(str::to_owned),
        };
        let json = self.label_json(repo, &label);
        self.repo(repo).labels.push(label);
        Reply::json(201, &json)
    }

    fn add_labels(&mut self, repo: &str, number: u64, incoming: &Incoming) -> Reply {
        if let Err(missing) = self.live(repo, number) {
            return self.missing(missing, "/labels");
        }
        let added = self.ensure_labels(repo, &incoming.names("labels").unwrap_or_default());
        let issue = self.expect_live(repo, number);
        for name in added {
            if !issue.labels.contains(&name) {
                issue.labels.push(name);
            }
        }
        issue.updated_at = now_secs();
        Reply::json(200, &self.issue_json(repo, number)["labels"])
    }

    fn list_pulls(&mut self, repo: &str, incoming: &Incoming) -> Reply {
        let state = incoming.param("state").unwrap_or("open");
        let mut numbers: Vec<u64> = self
            .repo(repo)
            .entries
            .values()
            .filter_map(|entry| match entry {
                Entry::Live(issue) if issue.pull.is_some() && (state == "all" || issue.state == state) => {
                    Some(issue.number)
                }
                _ => None,
            })
            .collect();
        if incoming.param("direction") != Some("asc") {
            numbers.reverse();
        }
        let items = numbers.iter().map(|&number| self.pull_json(repo, number)).collect();
        self.paginated(items, incoming)
    }

    fn create_pull(&mut self, repo: &str, incoming: &Incoming) -> Reply {
        if let Some(refusal) = self.content_limited() {
            return refusal;
        }
        let pull = Pull {
            head: incoming.text("head").unwrap_or_default().to_owned(),
            base: incoming.text("base").unwrap_or_default().to_owned(),
            merged: false,
        };
        let title = incoming.text("title").unwrap_or_default().to_owned();
        let body = incoming.text("body").map(str::to_owned);
        let number = self.add_issue(repo, title, body, &[], APP_LOGIN, Some(pull));
        self.content.push_back(Instant::now());
        let json = self.pull_json(repo, number);
        Reply::json(201, &json).header("location", json["url"].as_str().unwrap_or_default())
    }

    fn merge_pull(&mut self, repo: &str, number: u64) -> Reply {
        let now = now_secs();
        let issue = match self.live(repo, number) {
            Ok(issue) if issue.pull.is_some() => issue,
            _ => return Reply::error(404, "Not Found"),
        };
        if issue.state != "open" {
            return Reply::error(405, "Pull Request is not mergeable");
        }
        issue.state = "closed".to_owned();
        issue.closed_at = Some(now);
        issue.updated_at = now;
        if let Some(pull) = issue.pull.as_mut() {
            pull.merged = true;
        }
        let sha = hex(&Sha256::digest(format!("{repo}#{number}").as_bytes()))[..40].to_owned();
        Reply::json(
            200,
            &json!({"sha": sha, "merged": true, "message": "Pull Request successfully merged"}),
        )
    }

    /// GitHub's answer for an issue number with no issue behind it; `suffix` is the rest of the
    /// path after the number, kept in a redirect.
    fn missing(&self, missing: Missing, suffix: &str) -> Reply {
        match missing {
            Missing::NotFound => Reply::error(404, "Not Found"),
            Missing::Gone => Reply::error(410, "This issue was deleted"),
            Missing::Moved(repo, number) => {
                let location = format!("{}/repos/{repo}/issues/{number}{suffix}", self.base);
                Reply::json(
                    301,
                    &json!({"message": "Moved Permanently", "url": location, "documentation_url": DOCS}),
                )
                .header("location", &location)
            }
        }
    }

    /// The notifying-write refusal, if one more write now would exceed a content limit, with
    /// `retry-after` set to when a slot frees up.
    fn content_limited(&mut self) -> Option<Reply> {
        let now = Instant::now();
        let hour = Duration::from_secs(3600);
        let minute = Duration::from_secs(60);
        while self.content.front().is_some_and(|&at| now.duration_since(at) >= hour) {
            self.content.pop_front();
        }
        let this_minute: Vec<Instant> = self
            .content
            .iter()
            .copied()
            .filter(|&at| now.duration_since(at) < minute)
            .collect();
        let frees_at = if this_minute.len() >= self.per_minute {
            this_minute.first().map_or(now + minute, |&at| at + minute)
        } else if self.content.len() >= self.per_hour {
            self.content.front().map_or(now + hour, |&at| at + hour)
        } else {
            return None;
        };
        let wait = frees_at.saturating_duration_since(now).as_secs().max(1);
        Some(Reply::error(403, SECONDARY_LIMIT_MESSAGE).header("retry-after", &wait.to_string()))
    }

    /// A page of `items` as `per_page` and `page` ask, with GitHub's `Link` header.
    fn paginated(&self, items: Vec<Value>, incoming: &Incoming) -> Reply {
        let per_page = match incoming.param("per_page").and_then(|n| n.parse::<usize>().ok()) {
            Some(0) | None => DEFAULT_PER_PAGE,
            Some(n) => n.min(MAX_PER_PAGE),
        };
        let page = incoming
            .param("page")
            .and_then(|n| n.parse::<usize>().ok())
            .unwrap_or(1)
            .max(1);
        let last = items.len().div_ceil(per_page).max(1);
        let shown: Vec<Value> = items.into_iter().skip((page - 1) * per_page).take(per_page).collect();
        let mut links = Vec::new();
        if page < last {
            links.push(self.page_link(incoming, page + 1, "next"));
            links.push(self.page_link(incoming, last, "last"));
        }
        if page > 1 {
            links.push(self.page_link(incoming, 1, "first"));
            links.push(self.page_link(incoming, (page - 1).min(last), "prev"));
        }
        let reply = Reply::json(200, &Value::Array(shown));
        if links.is_empty() {
            reply
        } else {
            reply.header("link", &links.join(", "))
        }
    }

    fn page_link(&self, incoming: &Incoming, page: usize, rel: &str) -> String {
        let mut query: Vec<String> = incoming
            .raw_query
            .split('&')
            .filter(|pair| !pair.is_empty() && !pair.starts_with("page="))
            .map(str::to_owned)
            .collect();
        query.push(format!("page={page}"));
        format!("<{}{}?{}>; rel=\"{rel}\"", self.base, incoming.path, query.join("&"))
    }

    fn repo(&mut self, name: &str) -> &mut Repo {
        self.repos.entry(name.to_owned()).or_default()
    }

    fn new_id(&mut self) -> u64 {
        self.last_id += 1;
        self.last_id
    }

    fn live(&mut self, repo: &str, number: u64) -> Result<&mut Issue, Missing> {
        match self.repo(repo).entries.get_mut(&number) {
            Some(Entry::Live(issue)) => Ok(issue),
            Some(Entry::Gone) => Err(Missing::Gone),
            Some(Entry::Moved { repo, number }) => Err(Missing::Moved(repo.clone(), *number)),
            Some(Entry::Deleted) | None => Err(Missing::NotFound),
        }
    }

    /// The issue, for a test's own calls: a number with no issue behind it is the test's mistake.
    fn expect_live(&mut self, repo: &str, number: u64) -> &mut Issue {
        match self.live(repo, number) {
            Ok(issue) => issue,
            Err(_) => panic!("{repo} has no issue #{number}"),
        }
    }

    fn replace_entry(&mut self, repo: &str, number: u64, entry: Entry) {
        self.expect_live(repo, number);
        self.repo(repo).entries.insert(number, entry);
    }

    fn add_issue(
        &mut self,
        repo: &str,
        title: String,
        body: Option<String>,
        labels: &[String],
        user: &str,
        pull: Option<Pull>,
    ) -> u64 {
        let labels = self.ensure_labels(repo, labels);
        let id = self.new_id();
        let now = now_secs();
        let repo = self.repo(repo);
        repo.last_number += 1;
        let number = repo.last_number;
        let issue = Issue {
            id,
            number,
            title,
            body,
            state: "open".to_owned(),
            state_reason: None,
            labels,
            user: user.to_owned(),
            comments: Vec::new(),
            pull,
            created_at: now,
            updated_at: now,
            closed_at: None,
        };
        repo.entries.insert(number, Entry::Live(Box::new(issue)));
        number
    }

    fn find_label(&mut self, repo: &str, name: &str) -> Option<&Label> {
        self.repo(repo)
            .labels
            .iter()
            .find(|label| label.name.eq_ignore_ascii_case(name))
    }

    /// The names as the repository spells them, each once; unknown labels are created, as
    /// GitHub does for a client that may push.
    fn ensure_labels(&mut self, repo: &str, names: &[String]) -> Vec<String> {
        let mut spelled: Vec<String> = Vec::new();
        for name in names {
            let existing = self.find_label(repo, name).map(|label| label.name.clone());
            let name = match existing {
                Some(existing) => existing,
                None => {
                    let label = Label {
                        id: self.new_id(),
                        name: name.clone(),
                        color: DEFAULT_LABEL_COLOR.to_owned(),
                        description: None,
                    };
                    self.repo(repo).labels.push(label);
                    name.clone()
                }
            };
            if !spelled.contains(&name) {
                spelled.push(name);
            }
        }
        spelled
    }

    fn issue_json(&self, repo_name: &str, number: u64) -> Value {
        let repo = &self.repos[repo_name];
        let Some(Entry::Live(issue)) = repo.entries.get(&number) else {
            panic!("{repo_name} has no issue #{number}");
        };
        let api = format!("{}/repos/{repo_name}", self.base);
        let labels: Vec<Value> = issue
            .labels
            .iter()
            .filter_map(|name| repo.labels.iter().find(|label| label.name == *name))
            .map(|label| self.label_json(repo_name, label))
            .collect();
        let mut value = json!({
            "id": issue.id,
            "node_id": format!("I_{}", issue.id),
            "number": issue.number,
            "title": issue.title,
            "body": issue.body,
            "state": issue.state,
            "state_reason": issue.state_reason,
            "locked": false,
            "labels": labels,
            "user": self.user_json(&issue.user),
            "assignee": null,
            "assignees": [],
            "milestone": null,
            "comments": issue.comments.len(),
            "author_association": "NONE",
            "created_at": iso8601(issue.created_at),
            "updated_at": iso8601(issue.updated_at),
            "closed_at": issue.closed_at.map(iso8601),
            "url": format!("{api}/issues/{number}"),
            "repository_url": api,
            "labels_url": format!("{api}/issues/{number}/labels{{/name}}"),
            "comments_url": format!("{api}/issues/{number}/comments"),
            "events_url": format!("{api}/issues/{number}/events"),
            "html_url": format!("https://github.com/{repo_name}/issues/{number}"),
        });
        if issue.pull.is_some() {
            value["html_url"] = json!(format!("https://github.com/{repo_name}/pull/{number}"));
            value["pull_request"] = json!({
                "url": format!("{api}/pulls/{number}"),
                "html_url": format!("https://github.com/{repo_name}/pull/{number}"),
                "diff_url": format!("https://github.com/{repo_name}/pull/{number}.diff"),
                "patch_url": format!("https://github.com/{repo_name}/pull/{number}.patch"),
            });
        }
        value
    }

    fn pull_json(&self, repo_name: &str, number: u64) -> Value {
        let Some(Entry::Live(issue)) = self.repos[repo_name].entries.get(&number) else {
            panic!("{repo_name} has no pull request #{number}");
        };
        let pull = issue.pull.as_ref().expect("a pull request");
        let api = format!("{}/repos/{repo_name}", self.base);
        let owner = repo_name.split('/').next().unwrap_or_default();
        json!({
            "id": issue.id,
            "node_id": format!("PR_{}", issue.id),
            "number": number,
            "state": issue.state,
            "title": issue.title,
            "body": issue.body,
            "user": self.user_json(&issue.user),
            "draft": false,
            "merged": pull.merged,
            "merged_at": if pull.merged { issue.closed_at.map(iso8601) } else { None },
            "head": {"ref": pull.head, "label": format!("{owner}:{}", pull.head)},
            "base": {"ref": pull.base, "label": format!("{owner}:{}", pull.base)},
            "created_at": iso8601(issue.created_at),
            "updated_at": iso8601(issue.updated_at),
            "closed_at": issue.closed_at.map(iso8601),
            "url": format!("{api}/pulls/{number}"),
            "issue_url": format!("{api}/issues/{number}"),
            "html_url": format!("https://github.com/{repo_name}/pull/{number}"),
        })
    }

    fn comment_json(&self, repo_name: &str, number: u64, comment: &Comment) -> Value {
        let api = format!("{}/repos/{repo_name}", self.base);
        json!({
            "id": comment.id,
            "node_id": format!("IC_{}", comment.id),
            "body": comment.body,
            "user": self.user_json(&comment.user),
            "author_association": "NONE",
            "created_at": iso8601(comment.created_at),
            "updated_at": iso8601(comment.updated_at),
            "url": format!("{api}/issues/comments/{}", comment.id),
            "issue_url": format!("{api}/issues/{number}"),
            "html_url": format!("https://github.com/{repo_name}/issues/{number}#issuecomment-{}", comment.id),
        })
    }

    fn label_json(&self, repo_name: &str, label: &Label) -> Value {
        json!({
            "id": label.id,
            "node_id": format!("LA_{}", label.id),
            "url": format!("{}/repos/{repo_name}/labels/{}", self.base, label.name.replace(' ', "%20")),
            "name": label.name,
            "color": label.color,
            "default": false,
            "description": label.description,
        })
    }

    fn user_json(&self, login: &str) -> Value {
        let digest = Sha256::digest(login.as_bytes());
        let id = u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]);
        json!({
            "login": login,
            "id": id,
            "node_id": format!("U_{id}"),
            "type": if login.ends_with("[bot]") { "Bot" } else { "User" },
            "site_admin": false,
            "url": format!("{}/users/{login}", self.base),
            "html_url": format!("https://github.com/{login}"),
        })
    }
}

/// The routes the fake answers; anything else is a 404 and a problem.
#[derive(Clone)]
enum Route {
    RateLimit,
    Graphql,
    ListIssues(String),
    CreateIssue(String),
    GetIssue(String, u64),
    UpdateIssue(String, u64),
    ListComments(String, u64),
    CreateComment(String, u64),
    UpdateComment(String, u64),
    ListLabels(String),
    CreateLabel(String),
    AddLabels(String, u64),
    ListPulls(String),
    CreatePull(String),
    MergePull(String, u64),
    RepoInstallation(String),
    CreateAccessToken(u64),
}

/// The repository a route acts on, when it acts on one.
fn route_repo(route: &Route) -> Option<&str> {
    match route {
        Route::RateLimit | Route::Graphql | Route::CreateAccessToken(_) | Route::RepoInstallation(_) => None,
        Route::ListIssues(repo)
        | Route::CreateIssue(repo)
        | Route::GetIssue(repo, _)
        | Route::UpdateIssue(repo, _)
        | Route::ListComments(repo, _)
        | Route::CreateComment(repo, _)
        | Route::UpdateComment(repo, _)
        | Route::ListLabels(repo)
        | Route::CreateLabel(repo)
        | Route::AddLabels(repo, _)
        | Route::ListPulls(repo)
        | Route::CreatePull(repo)
        | Route::MergePull(repo, _) => Some(repo),
    }
}

fn route(method: &str, path: &str) -> Option<Route> {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let repo = |owner: &str, name: &str| format!("{owner}/{name}");
    let number = |text: &str| text.parse::<u64>().ok();
    Some(match (method, segments.as_slice()) {
        ("GET", ["rate_limit"]) => Route::RateLimit,
        ("POST", ["graphql"]) => Route::Graphql,
        ("GET", ["repos", o, r, "issues"]) => Route::ListIssues(repo(o, r)),
        ("POST", ["repos", o, r, "issues"]) => Route::CreateIssue(repo(o, r)),
        ("GET", ["repos", o, r, "issues", n]) => Route::GetIssue(repo(o, r), number(n)?),
        ("PATCH", ["repos", o, r, "issues", n]) => Route::UpdateIssue(repo(o, r), number(n)?),
        ("GET", ["repos", o, r, "issues", n, "comments"]) => Route::ListComments(repo(o, r), number(n)?),
        ("POST", ["repos", o, r, "issues", n, "comments"]) => Route::CreateComment(repo(o, r), number(n)?),
        ("PATCH", ["repos", o, r, "issues", "comments", id]) => Route::UpdateComment(repo(o, r), number(id)?),
        ("GET", ["repos", o, r, "labels"]) => Route::ListLabels(repo(o, r)),
        ("POST", ["repos", o, r, "labels"]) => Route::CreateLabel(repo(o, r)),
        ("POST", ["repos", o, r, "issues", n, "labels"]) => Route::AddLabels(repo(o, r), number(n)?),
        ("GET", ["repos", o, r, "pulls"]) => Route::ListPulls(repo(o, r)),
        ("POST", ["repos", o, r, "pulls"]) => Route::CreatePull(repo(o, r)),
        ("PUT", ["repos", o, r, "pulls", n, "merge"]) => Route::MergePull(repo(o, r), number(n)?),
        ("GET", ["repos", o, r, "installation"]) => Route::RepoInstallation(repo(o, r)),
        ("POST", ["app", "installations", id, "access_tokens"]) => Route::CreateAccessToken(number(id)?),
        _ => return None,
    })
}

/// What a query parameter may hold.
enum Param {
    Text,
    Number,
    OneOf(&'static [&'static str]),
}

const PAGES: [(&str, Param); 2] = [("per_page", Param::Number), ("page", Param::Number)];

fn query_rules(route: &Route) -> Vec<(&'static str, Param)> {
    let mut rules = match route {
        Route::ListIssues(_) => vec![
            ("state", Param::OneOf(&["open", "closed", "all"])),
            ("labels", Param::Text),
            ("creator", Param::Text),
            ("sort", Param::OneOf(&["created", "updated", "comments"])),
            ("direction", Param::OneOf(&["asc", "desc"])),
        ],
        Route::ListPulls(_) => vec![
            ("state", Param::OneOf(&["open", "closed", "all"])),
            ("direction", Param::OneOf(&["asc", "desc"])),
        ],
        Route::ListComments(..) | Route::ListLabels(_) => Vec::new(),
        _ => return Vec::new(),
    };
    rules.extend(PAGES);
    rules
}

/// What is wrong with a query parameter: the fake does not model it, or GitHub would not
/// understand its value. Either way the fake drops it and goes on with its default.
fn query_problem(rules: &[(&str, Param)], name: &str, value: &str) -> Option<String> {
    match rules.iter().find(|(known, _)| *known == name) {
        None => Some(format!("query parameter `{name}` is not modelled here; ignored")),
        Some((_, Param::Number)) if value.parse::<usize>().is_err() => {
            Some(format!("query parameter `{name}` must be a number, not {value:?}"))
        }
        Some((_, Param::OneOf(allowed))) if !allowed.contains(&value) => Some(format!(
            "query parameter `{name}` must be one of {}, not {value:?}",
            allowed.join(", ")
        )),
        Some(_) => None,
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Need {
    Required,
    Optional,
}

/// What a body field may hold.
#[derive(Clone, Copy)]
enum Kind {
    Text,
    /// A string of at most `MAX_BODY_CHARS` characters, or null.
    Markdown,
    OneOf(&'static [&'static str]),
    OneOfOrNull(&'static [&'static str]),
    Names,
    Flag,
    Any,
}

impl Kind {
    /// Why `value` does not fit, if it does not.
    fn misfit(self, value: &Value) -> Option<String> {
        match self {
            Kind::Text => (!value.is_string()).then(|| "must be a string".to_owned()),
            Kind::Markdown => match value {
                Value::Null => None,
                Value::String(text) if text.chars().count() > MAX_BODY_CHARS => {
                    Some(format!("is too long (maximum is {MAX_BODY_CHARS} characters)"))
                }
                Value::String(_) => None,
                _ => Some("must be a string or null".to_owned()),
            },
            Kind::OneOf(allowed) | Kind::OneOfOrNull(allowed) => match value {
                Value::Null if matches!(self, Kind::OneOfOrNull(_)) => None,
                Value::String(text) if allowed.contains(&text.as_str()) => None,
                _ => Some(format!("must be one of {}, not {value}", allowed.join(", "))),
            },
            Kind::Names => match value.as_array() {
                Some(items) if items.iter().all(Value::is_string) => None,
                _ => Some("must be an array of strings".to_owned()),
            },
            Kind::Flag => (!value.is_boolean()).then(|| "must be true or false".to_owned()),
            Kind::Any => None,
        }
    }
}

type Schema = &'static [(&'static str, Need, Kind)];

/// The body each write route takes, as GitHub documents it, limited to what the fake models:
/// the resource named in validation errors, and the fields.
fn body_schema(route: &Route) -> Option<(&'static str, Schema)> {
    use Kind::*;
    use Need::*;
    Some(match route {
        Route::CreateIssue(_) => (
            "Issue",
            &[
                ("title", Required, Text),
                ("body", Optional, Markdown),
                ("labels", Optional, Names),
            ],
        ),
        Route::UpdateIssue(..) => (
            "Issue",
            &[
                ("title", Optional, Text),
                ("body", Optional, Markdown),
                ("state", Optional, OneOf(&["open", "closed"])),
                (
                    "state_reason",
                    Optional,
                    OneOfOrNull(&["completed", "not_planned", "reopened"]),
                ),
                ("labels", Optional, Names),
            ],
        ),
        Route::CreateComment(..) | Route::UpdateComment(..) => ("IssueComment", &[("body", Required, Markdown)]),
        Route::CreateLabel(_) => (
            "Label",
            &[
                ("name", Required, Text),
                ("color", Optional, Text),
                ("description", Optional, Markdown),
            ],
        ),
        Route::AddLabels(..) => ("Label", &[("labels", Required, Names)]),
        Route::CreatePull(_) => (
            "PullRequest",
            &[
                ("title", Required, Text),
                ("head", Required, Text),
                ("base", Required, Text),
                ("body", Optional, Markdown),
                ("draft", Optional, Flag),
                ("maintainer_can_modify", Optional, Flag),
            ],
        ),
        Route::MergePull(..) => (
            "PullRequest",
            &[
                ("commit_title", Optional, Text),
                ("commit_message", Optional, Text),
                ("sha", Optional, Text),
                ("merge_method", Optional, OneOf(&["merge", "squash", "rebase"])),
            ],
        ),
        Route::Graphql => ("GraphQL", &[("query", Required, Text), ("variables", Optional, Any)]),
        _ => return None,
    })
}

/// The body as JSON, `Null` when empty.
fn parse_body(body: &[u8]) -> Result<Value, String> {
    if body.is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_slice(body).map_err(|err| {
        let text = String::from_utf8_lossy(&body[..body.len().min(80)]).into_owned();
        format!("the body is not JSON ({err}): {text:?}")
    })
}

/// Labels may be added with a bare array, which GitHub reads as `{"labels": [...]}`.
fn as_route_reads(route: Option<&Route>, body: Value) -> Value {
    match (route, body) {
        (Some(Route::AddLabels(..)), Value::Array(names)) => json!({ "labels": names }),
        (_, body) => body,
    }
}

/// What a body's problems are, and the validation errors for those GitHub refuses with 422.
/// Keys the fake does not model are problems only: GitHub ignores keys it does not know.
#[derive(Default)]
struct Checked {
    problems: Vec<String>,
    errors: Vec<Value>,
}

fn check_body(route: &Route, body: &Value) -> Checked {
    let mut checked = Checked::default();
    let Some((resource, schema)) = body_schema(route) else {
        return checked;
    };
    let empty = serde_json::Map::new();
    let object = match body {
        Value::Object(object) => object,
        // A write with no body at all, as GitHub reads it.
        Value::Null => &empty,
        _ => {
            checked.problems.push("the body is not a JSON object".to_owned());
            checked.errors.push(json!({"resource": resource, "code": "invalid"}));
            return checked;
        }
    };
    for &(field, need, kind) in schema {
        let value = object
            .get(field)
            .filter(|value| !value.is_null() || need == Need::Optional);
        let misfit = match value {
            None if need == Need::Required => {
                checked.problems.push(format!("`{field}` is required"));
                checked
                    .errors
                    .push(json!({"resource": resource, "code": "missing_field", "field": field}));
                continue;
            }
            None => None,
            Some(Value::String(text)) if need == Need::Required && text.trim().is_empty() => {
                Some("is blank".to_owned())
            }
            Some(value) => kind.misfit(value),
        };
        if let Some(misfit) = misfit {
            checked.problems.push(format!("`{field}` {misfit}"));
            checked.errors.push(
                json!({"resource": resource, "code": "invalid", "field": field, "message": format!("{field} {misfit}")}),
            );
        }
    }
    for key in object.keys() {
        if !schema.iter().any(|(field, _, _)| field == key) {
            checked
                .problems
                .push(format!("body key `{key}` is not modelled here; ignored"));
        }
    }
    checked
}

/// A request parsed and checked, before anything is decided.
struct Inspected {
    route: Option<Route>,
    query: Vec<(String, String)>,
    /// The body as sent, for the journal.
    sent: Option<Value>,
    /// The body as the route reads it: an object, or `Null` when there was none.
    body: Result<Value, ()>,
    /// Validation errors GitHub answers 422 for.
    errors: Vec<Value>,
    /// GitHub's 401 message when the token is missing or wrong.
    refusal: Option<&'static str>,
    /// Who the request proved to be, when it was not refused.
    caller: Option<Caller>,
    problems: Vec<String>,
}

fn inspect(
    method: &str,
    uri: &Uri,
    headers: &BTreeMap<String, String>,
    body: &[u8],
    authorize: impl FnOnce(&BTreeMap<String, String>, Option<&Route>) -> Result<Caller, (&'static str, String)>,
) -> Inspected {
    let path = uri.path();
    let mut problems = header_problems(headers, !body.is_empty());
    let route = route(method, path);
    let mut query = Query::<Vec<(String, String)>>::try_from_uri(uri).map_or_else(|_| Vec::new(), |q| q.0);
    match &route {
        Some(route) => {
            let rules = query_rules(route);
            query.retain(|(name, value)| match query_problem(&rules, name, value) {
                Some(problem) => {
                    problems.push(problem);
                    false
                }
                None => true,
            });
        }
        None => problems.push(format!("the fake GitHub has no route for {method} {path}")),
    }
    let sent = parse_body(body);
    if let Err(problem) = &sent {
        problems.push(problem.clone());
    }
    let body = sent
        .clone()
        .map(|value| as_route_reads(route.as_ref(), value))
        .map_err(|_| ());
    let mut errors = Vec::new();
    if let (Ok(body), Some(route)) = (&body, &route) {
        let checked = check_body(route, body);
        problems.extend(checked.problems);
        errors = checked.errors;
    }
    let (caller, refusal) = match authorize(headers, route.as_ref()) {
        Ok(caller) => (Some(caller), None),
        Err((message, problem)) => {
            problems.push(problem);
            (None, Some(message))
        }
    };
    Inspected {
        route,
        query,
        sent: sent.ok().filter(|value| !value.is_null()),
        body,
        errors,
        refusal,
        caller,
        problems,
    }
}

/// The headers GitHub asks every client for, other than `Authorization`.
fn header_problems(headers: &BTreeMap<String, String>, has_body: bool) -> Vec<String> {
    let mut problems = Vec::new();
    match headers.get("accept") {
        None => problems.push(format!("no `Accept` header; GitHub asks for `{MEDIA_TYPE}`")),
        Some(accept)
            if !accept
                .split(',')
                .any(|media| media.split(';').next().unwrap_or_default().trim() == MEDIA_TYPE) =>
        {
            problems.push(format!("`Accept: {accept}`; GitHub asks for `{MEDIA_TYPE}`"));
        }
        Some(_) => {}
    }
    match headers.get("x-github-api-version") {
        None => problems.push(format!("no `X-GitHub-Api-Version` header; expected `{API_VERSION}`")),
        Some(version) if version != API_VERSION => {
            problems.push(format!("`X-GitHub-Api-Version: {version}`; expected `{API_VERSION}`"));
        }
        Some(_) => {}
    }
    if headers.get("user-agent").is_none_or(|agent| agent.trim().is_empty()) {
        problems.push("no `User-Agent`; GitHub refuses requests without one".to_owned());
    }
    if has_body
        && !headers
            .get("content-type")
            .is_some_and(|kind| kind.starts_with("application/json"))
    {
        problems.push("a body without `Content-Type: application/json`".to_owned());
    }
    problems
}

/// Whether the request carries `Bearer <token>`; if not, GitHub's 401 message and the problem.
fn authorize(headers: &BTreeMap<String, String>, token: &str) -> Result<(), (&'static str, String)> {
    let Some(value) = headers.get("authorization") else {
        return Err(("Requires authentication", "no `Authorization` header".to_owned()));
    };
    match value.strip_prefix("Bearer ") {
        None => Err(("Bad credentials", "`Authorization` is not `Bearer <token>`".to_owned())),
        Some(given) if given.trim() != token => Err((
            "Bad credentials",
            "`Authorization` carries a token the fake GitHub does not accept".to_owned(),
        )),
        Some(_) => Ok(()),
    }
}

/// The weak `ETag` of an answer's body.
fn etag(body: &str) -> String {
    format!("W/\"{}\"", hex(&Sha256::digest(body.as_bytes())))
}

/// Gives a successful write's answer the `ETag` of what it shows, as GitHub does: a client can
/// read the resource again conditionally on nothing having changed since its write.
fn tagged(reply: Reply) -> Reply {
    if matches!(reply.status, 200 | 201) && !reply.body.is_empty() {
        let etag = etag(&reply.body);
        reply.header("etag", &etag)
    } else {
        reply
    }
}

/// Gives a successful GET an `ETag`, and answers 304 with no body when the client already has
/// that version (`If-None-Match`).
fn revalidate(reply: Reply, headers: &BTreeMap<String, String>) -> Reply {
    if reply.status != 200 {
        return reply;
    }
    let etag = etag(&reply.body);
    let strip = |tag: &str| tag.trim().trim_start_matches("W/").to_owned();
    let fresh = headers.get("if-none-match").is_some_and(|tags| {
        tags.split(',')
            .any(|tag| tag.trim() == "*" || strip(tag) == strip(&etag))
    });
    if fresh {
        Reply {
            status: 304,
            headers: Vec::new(),
            body: String::new(),
        }
        .header("etag", &etag)
    } else {
        reply.header("etag", &etag)
    }
}

fn header_map(headers: &HeaderMap) -> BTreeMap<String, String> {
    let mut map: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        map.entry(name.as_str().to_owned())
            .and_modify(|joined| {
                joined.push_str(", ");
                joined.push_str(&value);
            })
            .or_insert(value);
    }
    map
}

/// Whether the segments of `path` end with those of `pattern`, `*` matching any one segment.
fn path_ends_with(path: &str, pattern: &str) -> bool {
    let path: Vec<&str> = path.trim_matches('/').split('/').collect();
    let pattern: Vec<&str> = pattern.trim_matches('/').split('/').collect();
    pattern.len() <= path.len()
        && path[path.len() - pattern.len()..]
            .iter()
            .zip(&pattern)
            .all(|(segment, wanted)| *wanted == "*" || segment == wanted)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs())
}

/// `YYYY-MM-DDTHH:MM:SSZ`, as GitHub writes times. Days to a civil date after Howard Hinnant's
/// `civil_from_days`.
fn iso8601(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let clock = secs % 86_400;
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted - era * 146_097;
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        clock / 3600,
        clock % 3600 / 60,
        clock % 60
    )
}
