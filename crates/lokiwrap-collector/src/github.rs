//! The few GitHub REST calls the collector makes, and what each answer means for the caller.
//! No call is retried here, but for one case: a GitHub App's installation token refused with 401
//! is replaced and the request sent once more (a 401 means nothing was written). A create that
//! failed ambiguously must be looked up before it is tried again, and only the sync worker knows
//! how to do that.

use std::sync::Arc;
use std::time::Duration;

use reqwest::blocking::{Client, Response};
use reqwest::header::{ACCEPT, ETAG, HeaderMap, IF_NONE_MATCH, LINK, LOCATION, RETRY_AFTER, USER_AGENT};
use reqwest::{Method, StatusCode, Url};
use serde::Deserialize;
use serde_json::{Value, json};

use super::github_app::AppAuth;
use super::wake::unix_now;
use lokiwrap_report::percent_encode::percent_encode;
use lokiwrap_report::utc::parse_rfc3339_utc;

pub const API_VERSION: &str = "2022-11-28";

/// Why a call did not give an answer to use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// 304: the cached copy is current.
    NotModified,
    /// 301/302/307/308 with the new location.
    Moved(String),
    NotFound,
    Gone,
    /// A primary or secondary rate limit; the wait GitHub named, in seconds, if it named one.
    Limited {
        wait: Option<u64>,
    },
    Unauthorized(String),
    /// No answer, or a 5xx: the write may or may not have happened.
    Ambiguous(String),
    /// Any other 4xx: the request itself is wrong for this repository.
    Refused(u16, String),
    /// A URL off `github.api_url`'s origin (another scheme, host or port), or no URL at all: not
    /// requested, since every request carries the token.
    OffOrigin(String),
    /// The GitHub App is not installed on this repository (`owner/repo`): nothing can be written
    /// there until it is.
    NotInstalled(String),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::NotModified => write!(f, "not modified"),
            Failure::Moved(to) => write!(f, "moved to {to}"),
            Failure::NotFound => write!(f, "not found (404)"),
            Failure::Gone => write!(f, "gone (410)"),
            Failure::Limited { wait: Some(wait) } => write!(f, "rate limited for {wait} s"),
            Failure::Limited { wait: None } => write!(f, "rate limited"),
            Failure::Unauthorized(message) => write!(f, "the token was refused: {message}"),
            Failure::Ambiguous(message) => write!(f, "no clear answer: {message}"),
            Failure::Refused(status, message) => write!(f, "refused with {status}: {message}"),
            Failure::OffOrigin(to) => write!(
                f,
                "{to:?} was not followed: it is not on github.api_url's origin, and the token goes nowhere else"
            ),
            Failure::NotInstalled(repo) => write!(
                f,
                "the GitHub App (github.app.app_id) is not installed on {repo}: install it there (the App's public \
                 page, Install App, choose the owner, and select {repo} or all repositories)"
            ),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct Issue {
    pub number: u64,
    pub state: String,
    #[serde(default)]
    pub state_reason: Option<String>,
    #[serde(default)]
    pub closed_at: Option<String>,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub pull_request: Option<Value>,
    #[serde(default)]
    pub html_url: Option<String>,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub user: Option<User>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct User {
    pub login: String,
}

impl Issue {
    pub fn closed_at_unix(&self) -> Option<i64> {
        self.closed_at.as_deref().and_then(parse_rfc3339_utc)
    }
}

/// Who the collector is to GitHub.
#[derive(Clone)]
pub enum Credentials {
    /// `github.token_env`'s token, for every repository.
    Token(String),
    /// `[github.app]`: each repository's installation token.
    App(Arc<AppAuth>),
}

impl Credentials {
    /// The configured identity: `[github.app]`, or the token in `github.token_env`. Both at once
    /// is refused; `None` when neither is set.
    pub fn from_config(config: &super::config::Config) -> Result<Option<Credentials>, String> {
        let github = &config.github;
        let token = std::env::var(&github.token_env).ok().filter(|t| !t.trim().is_empty());
        match (&github.app, token) {
            (Some(_), Some(_)) => Err(format!(
                "both [github.app] and {} are set, and the collector files as one identity: unset {} to file \
                 as the App, or remove [github.app] to file with the token",
                github.token_env, github.token_env
            )),
            (Some(app), None) => Ok(Some(Credentials::App(Arc::new(AppAuth::load(app)?)))),
            (None, Some(token)) => Ok(Some(Credentials::Token(token))),
            (None, None) => Ok(None),
        }
    }
}

pub struct GitHub {
    http: Client,
    /// `github.api_url` without a trailing slash, which paths are appended to.
    api: String,
    /// The same, parsed: the origin every request must go to, and what a location resolves
    /// against.
    base: Url,
    credentials: Credentials,
}

/// `GET /repos/{owner}/{repo}/installation`, as far as it is read.
#[derive(Deserialize)]
struct Installation {
    id: u64,
}

/// `POST /app/installations/{id}/access_tokens`, as far as it is read.
#[derive(Deserialize)]
struct AccessToken {
    token: String,
    expires_at: String,
}

/// One page of a list, and whether there is another.
pub struct Page<T> {
    pub items: Vec<T>,
    pub more: bool,
}

impl GitHub {
    pub fn new(api: &str, credentials: Credentials, timeout: Duration) -> Result<GitHub, String> {
        let http = Client::builder()
            .timeout(timeout)
            // Redirects are followed by the worker, which must learn the issue's new place.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("cannot set up the GitHub client: {e}"))?;
        let base = Url::parse(api).map_err(|e| format!("github.api_url = \"{api}\" is not a URL: {e}"))?;
        Ok(GitHub {
            http,
            api: api.trim_end_matches('/').to_string(),
            base,
            credentials,
        })
    }

    /// The URL of an API path, such as `/repos/o/r/issues`.
    fn endpoint(&self, path: &str) -> Result<Url, Failure> {
        let url = format!("{}{path}", self.api);
        Url::parse(&url).map_err(|_| Failure::OffOrigin(url))
    }

    /// The URL a `Location` answered by the API names, resolved as a browser would.
    fn location(&self, location: &str) -> Result<Url, Failure> {
        self.base
            .join(location)
            .map_err(|_| Failure::OffOrigin(location.to_string()))
    }

    /// Whether `url` is on the API's own origin (scheme, host and port) and carries no
    /// credentials of its own.
    fn is_api(&self, url: &Url) -> bool {
        url.origin() == self.base.origin() && url.username().is_empty() && url.password().is_none()
    }

    /// The one place a request leaves, with the token: only ever to the API's own origin.
    /// Whatever built the URL (a path, or a redirect from GitHub or from something posing as
    /// it), nothing is sent anywhere else. As a GitHub App, the token is that of the
    /// installation covering the repository the URL names; one refused with 401 is replaced
    /// and the request sent once more.
    fn send(&self, method: Method, url: Url, body: Option<&Value>, etag: Option<&str>) -> Result<Response, Failure> {
        if !self.is_api(&url) {
            return Err(Failure::OffOrigin(url.to_string()));
        }
        let app = match &self.credentials {
            Credentials::Token(token) => return self.request(method, url, body, etag, token),
            Credentials::App(app) => app,
        };
        let Some(repo) = self.repo_of(&url) else {
            return Err(Failure::Refused(
                0,
                "not a repository's URL, and a GitHub App writes only with a repository's installation token"
                    .to_string(),
            ));
        };
        let (installation, token) = self.installation_token(app, &repo)?;
        match self.request(method.clone(), url.clone(), body, etag, &token) {
            Err(Failure::Unauthorized(message)) => {
                // Refused before anything was done: expired early, or revoked. Once more, anew.
                tracing::warn!(%repo, installation, %message, "GitHub refused the installation token; asking for a new one");
                app.forget_token(installation, &token);
                let (_, token) = self.installation_token(app, &repo)?;
                self.request(method, url, body, etag, &token)
            }
            Err(Failure::NotFound) => {
                // Perhaps the repository left the installation: look it up again next time.
                app.forget_installation(&repo);
                Err(Failure::NotFound)
            }
            answer => answer,
        }
    }

    /// Sends one request with `bearer` (a token or the App's JWT), only ever to the API's origin.
    fn request(
        &self,
        method: Method,
        url: Url,
        body: Option<&Value>,
        etag: Option<&str>,
        bearer: &str,
    ) -> Result<Response, Failure> {
        if !self.is_api(&url) {
            return Err(Failure::OffOrigin(url.to_string()));
        }
        let kind = super::metrics::github_kind(&method, url.path());
        let mut request = self
            .http
            .request(method, url)
            .header(ACCEPT, "application/vnd.github+json")
            .header("X-GitHub-Api-Version", API_VERSION)
            .header(USER_AGENT, concat!("lokiwrap-collector/", env!("CARGO_PKG_VERSION")))
            // Marked sensitive: left out of any debug print of the request.
            .bearer_auth(bearer);
        if let Some(etag) = etag {
            request = request.header(IF_NONE_MATCH, etag);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send();
        super::metrics::github_answered(kind, response.as_ref().ok().map(|r| r.status().as_u16()));
        classify(response.map_err(|e| Failure::Ambiguous(e.without_url().to_string()))?)
    }

    /// The lower-cased `owner/repo` of a URL under `{api}/repos/`.
    fn repo_of(&self, url: &Url) -> Option<String> {
        let prefix = self.base.path().trim_end_matches('/');
        let rest = url.path().strip_prefix(prefix)?.strip_prefix("/repos/")?;
        let mut segments = rest.split('/');
        let (owner, name) = (segments.next()?, segments.next()?);
        let repo = format!("{owner}/{name}");
        super::hotfix::names::valid_repo_name(&repo).then(|| repo.to_ascii_lowercase())
    }

    /// The installation covering `repo` and its token, cached or asked for with the App's JWT.
    fn installation_token(&self, app: &AppAuth, repo: &str) -> Result<(u64, String), Failure> {
        let now = unix_now();
        let jwt = || app.jwt(now).map_err(|message| Failure::Refused(0, message));
        let installation = match app.installation(repo) {
            Some(installation) => installation,
            None => {
                let url = self.endpoint(&format!("/repos/{repo}/installation"))?;
                let found: Installation = match self.request(Method::GET, url, None, None, &jwt()?) {
                    Ok(response) => Self::parse(response)?,
                    Err(Failure::NotFound) => return Err(Failure::NotInstalled(repo.to_string())),
                    Err(Failure::Unauthorized(message)) => return Err(app_refused(app, message)),
                    Err(failure) => return Err(failure),
                };
                app.remember_installation(repo, found.id);
                found.id
            }
        };
        if let Some(token) = app.token(installation, now) {
            return Ok((installation, token));
        }
        let url = self.endpoint(&format!("/app/installations/{installation}/access_tokens"))?;
        let issued: AccessToken = match self.request(Method::POST, url, None, None, &jwt()?) {
            Ok(response) => Self::parse(response)?,
            Err(Failure::NotFound) => {
                // The installation is gone (the App was uninstalled since it was looked up).
                app.forget_installation(repo);
                return Err(Failure::NotInstalled(repo.to_string()));
            }
            Err(Failure::Unauthorized(message)) => return Err(app_refused(app, message)),
            Err(failure) => return Err(failure),
        };
        // GitHub says an hour; an unreadable time is taken as the shortest sensible life.
        let expires_at = parse_rfc3339_utc(&issued.expires_at).unwrap_or(now + 600);
        app.keep_token(installation, issued.token.clone(), expires_at, now);
        tracing::info!(installation, %repo, expires_at = %issued.expires_at, "got a GitHub App installation token");
        Ok((installation, issued.token))
    }

    fn parse<T: for<'de> Deserialize<'de>>(response: Response) -> Result<T, Failure> {
        response
            .json()
            .map_err(|e| Failure::Ambiguous(format!("unreadable answer: {}", e.without_url())))
    }

    /// The issue as its answer shows it, with that answer's ETag: the next read of the issue can
    /// then be conditional on nothing having changed since this write.
    fn tagged(response: Response) -> Result<(Issue, Option<String>), Failure> {
        let etag = response
            .headers()
            .get(ETAG)
            .and_then(|v| v.to_str().ok())
            .map(String::from);
        Ok((Self::parse(response)?, etag))
    }

    pub fn create_issue(
        &self,
        repo: &str,
        title: &str,
        body: &str,
        labels: &[String],
    ) -> Result<(Issue, Option<String>), Failure> {
        let request = json!({ "title": title, "body": body, "labels": labels });
        let url = self.endpoint(&format!("/repos/{repo}/issues"))?;
        Self::tagged(self.send(Method::POST, url, Some(&request), None)?)
    }

    /// The issue and its ETag; `Failure::NotModified` when `etag` is still current.
    pub fn get_issue(&self, repo: &str, number: u64, etag: Option<&str>) -> Result<(Issue, Option<String>), Failure> {
        let url = self.endpoint(&format!("/repos/{repo}/issues/{number}"))?;
        Self::tagged(self.send(Method::GET, url, None, etag)?)
    }

    /// Same, where a `Location` GitHub answered with says a moved issue now lives; refused
    /// (`Failure::OffOrigin`) unless that is on the API's origin.
    pub fn get_issue_at(&self, location: &str, etag: Option<&str>) -> Result<(Issue, Option<String>), Failure> {
        let url = self.location(location)?;
        Self::tagged(self.send(Method::GET, url, None, etag)?)
    }

    pub fn update_issue(&self, repo: &str, number: u64, changes: &Value) -> Result<(Issue, Option<String>), Failure> {
        let url = self.endpoint(&format!("/repos/{repo}/issues/{number}"))?;
        Self::tagged(self.send(Method::PATCH, url, Some(changes), None)?)
    }

    pub fn comment(&self, repo: &str, number: u64, body: &str) -> Result<(), Failure> {
        let url = self.endpoint(&format!("/repos/{repo}/issues/{number}/comments"))?;
        self.send(Method::POST, url, Some(&json!({ "body": body })), None)
            .map(drop)
    }

    /// Opens a pull request from `head` into `base`; its number. (There is deliberately no
    /// method to merge one.)
    pub fn create_pull(&self, repo: &str, title: &str, head: &str, base: &str, body: &str) -> Result<u64, Failure> {
        #[derive(Deserialize)]
        struct Pull {
            number: u64,
        }
        let request = json!({ "title": title, "head": head, "base": base, "body": body });
        let url = self.endpoint(&format!("/repos/{repo}/pulls"))?;
        let pull: Pull = Self::parse(self.send(Method::POST, url, Some(&request), None)?)?;
        Ok(pull.number)
    }

    /// Issues (open and closed) with `label`, oldest first, 100 a page.
    /// Only those opened by `creator`, when given.
    pub fn list_issues(
        &self,
        repo: &str,
        label: &str,
        creator: Option<&str>,
        page: u32,
    ) -> Result<Page<Issue>, Failure> {
        let label = percent_encode(label);
        let creator = creator
            .map(|login| format!("&creator={}", percent_encode(login)))
            .unwrap_or_default();
        let path = format!(
            "/repos/{repo}/issues?state=all&labels={label}{creator}&sort=created&direction=asc&per_page=100&page={page}"
        );
        let response = self.send(Method::GET, self.endpoint(&path)?, None, None)?;
        let more = response
            .headers()
            .get(LINK)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|link| link.contains("rel=\"next\""));
        let items: Vec<Issue> = Self::parse(response)?;
        Ok(Page {
            items: items.into_iter().filter(|issue| issue.pull_request.is_none()).collect(),
            more,
        })
    }
}

/// GitHub refused the App's JWT: the id and the key do not belong together, or the key was
/// revoked, or this machine's clock is far off.
fn app_refused(app: &AppAuth, message: String) -> Failure {
    Failure::Unauthorized(format!(
        "the GitHub App's JWT was refused ({message}): check that github.app.app_id = {} and \
         github.app.private_key_file are the same App's and the key is not revoked, and that this clock is right",
        app.app_id()
    ))
}

fn classify(response: Response) -> Result<Response, Failure> {
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let headers = response.headers().clone();
    match status {
        StatusCode::NOT_MODIFIED => return Err(Failure::NotModified),
        StatusCode::MOVED_PERMANENTLY
        | StatusCode::FOUND
        | StatusCode::TEMPORARY_REDIRECT
        | StatusCode::PERMANENT_REDIRECT => {
            let to = headers
                .get(LOCATION)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string();
            return Err(Failure::Moved(to));
        }
        _ => {}
    }
    let message = response
        .json::<Value>()
        .ok()
        .and_then(|body| body.get("message").and_then(Value::as_str).map(String::from))
        .unwrap_or_default();
    Err(match status.as_u16() {
        401 => Failure::Unauthorized(message),
        403 | 429 => match rate_limit_wait(&headers, &message, status.as_u16()) {
            Some(wait) => Failure::Limited { wait },
            None => Failure::Refused(status.as_u16(), message),
        },
        404 => Failure::NotFound,
        410 => Failure::Gone,
        500..=599 => Failure::Ambiguous(format!("{status}: {message}")),
        code => Failure::Refused(code, message),
    })
}

/// For a 403 or 429: `Some(wait)` when it is a rate limit. GitHub's rule, in order: honour
/// `retry-after`; else when the primary budget is spent, wait for `x-ratelimit-reset`; else a
/// secondary limit (429, or a message saying so) with no time named.
fn rate_limit_wait(headers: &HeaderMap, message: &str, status: u16) -> Option<Option<u64>> {
    let number = |name: &str| headers.get(name)?.to_str().ok()?.trim().parse::<u64>().ok();
    if let Some(seconds) = headers
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok()?.trim().parse::<u64>().ok())
    {
        return Some(Some(seconds));
    }
    if number("x-ratelimit-remaining") == Some(0)
        && let Some(reset) = number("x-ratelimit-reset")
    {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        return Some(Some(reset.saturating_sub(now).max(1)));
    }
    let secondary = message.to_ascii_lowercase().contains("secondary rate") || message.contains("abuse");
    (status == 429 || secondary).then_some(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Where a request for `location` would go, or why it would not be sent.
    fn destination(api: &str, location: &str) -> Result<String, Failure> {
        let github = GitHub::new(api, Credentials::Token("token".into()), Duration::from_secs(1)).unwrap();
        let url = github.location(location)?;
        if !github.is_api(&url) {
            return Err(Failure::OffOrigin(url.to_string()));
        }
        Ok(url.to_string())
    }

    #[test]
    fn only_locations_on_the_apis_origin_are_followed() {
        let api = "https://api.github.com";
        let moved = "https://api.github.com/repos/o/r/issues/2";
        assert_eq!(destination(api, moved).unwrap(), moved);
        assert_eq!(destination(api, "/repos/o/r/issues/2").unwrap(), moved);
        for elsewhere in [
            "https://evil.example/repos/o/r/issues/2",
            "http://api.github.com/repos/o/r/issues/2",
            "https://api.github.com:444/repos/o/r/issues/2",
            "//evil.example/repos/o/r/issues/2",
            "https://user@api.github.com/repos/o/r/issues/2",
            "https://api.github.com.evil.example/repos/o/r/issues/2",
        ] {
            assert!(
                matches!(destination(api, elsewhere), Err(Failure::OffOrigin(_))),
                "{elsewhere} would be followed"
            );
        }
        // Pasted after the API's address this would name another host; resolved, it is a path.
        assert_eq!(
            destination(api, "@evil.example/x").unwrap(),
            "https://api.github.com/@evil.example/x"
        );
    }

    #[test]
    fn the_repository_of_a_url_picks_the_installation() {
        for (api, url, repo) in [
            (
                "https://api.github.com",
                "https://api.github.com/repos/Acme/Tool/issues/2",
                Some("acme/tool"),
            ),
            (
                "https://ghe.example/api/v3/",
                "https://ghe.example/api/v3/repos/o/r/pulls",
                Some("o/r"),
            ),
            (
                "https://ghe.example/api/v3",
                "https://ghe.example/repos/o/r/issues",
                None,
            ),
            (
                "https://api.github.com",
                "https://api.github.com/app/installations/1/access_tokens",
                None,
            ),
            ("https://api.github.com", "https://api.github.com/repos/o", None),
            ("https://api.github.com", "https://api.github.com/repos/o/../x", None),
        ] {
            let github = GitHub::new(api, Credentials::Token("t".into()), Duration::from_secs(1)).unwrap();
            assert_eq!(github.repo_of(&Url::parse(url).unwrap()).as_deref(), repo, "{url}");
        }
    }

    #[test]
    fn rate_limits_are_read_in_githubs_order() {
        let mut headers = HeaderMap::new();
        assert_eq!(
            rate_limit_wait(&headers, "Resource not accessible by integration", 403),
            None
        );
        assert_eq!(
            rate_limit_wait(&headers, "You have exceeded a secondary rate limit", 403),
            Some(None)
        );
        assert_eq!(rate_limit_wait(&headers, "", 429), Some(None));
        headers.insert("x-ratelimit-remaining", "0".parse().unwrap());
        headers.insert("x-ratelimit-reset", "1".parse().unwrap());
        assert_eq!(rate_limit_wait(&headers, "", 403), Some(Some(1)));
        headers.insert(RETRY_AFTER, "30".parse().unwrap());
        assert_eq!(rate_limit_wait(&headers, "", 403), Some(Some(30)));
    }
}
