//! The fake GitHub the collector's tests run against, driven as a client drives GitHub: what it
//! keeps, how it answers, and what it records about the requests it gets.

use std::time::Duration;

use crate::common::fake_github::{API_VERSION, FakeGithub, Fault, FaultKind, MEDIA_TYPE, TEST_TOKEN};
use reqwest::Method;
use reqwest::blocking::{Client, RequestBuilder, Response};
use serde_json::{Value, json};

const REPO: &str = "acme/tools";

/// A client that sends what GitHub asks for and does not follow redirects.
struct Api<'a> {
    gh: &'a FakeGithub,
    http: Client,
}

impl Api<'_> {
    fn new(gh: &FakeGithub) -> Api<'_> {
        let http = Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Api { gh, http }
    }

    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.gh.url))
            .header("accept", MEDIA_TYPE)
            .header("x-github-api-version", API_VERSION)
            .header("user-agent", "lokiwrap-tests")
            .bearer_auth(TEST_TOKEN)
    }

    fn get(&self, path: &str) -> Response {
        self.request(Method::GET, path).send().unwrap()
    }

    fn post(&self, path: &str, body: Value) -> Response {
        self.request(Method::POST, path).json(&body).send().unwrap()
    }

    fn patch(&self, path: &str, body: Value) -> Response {
        self.request(Method::PATCH, path).json(&body).send().unwrap()
    }
}

fn header(response: &Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .map(|value| value.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

fn label_names(issue: &Value) -> Vec<&str> {
    issue["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|label| label["name"].as_str().unwrap())
        .collect()
}

fn numbers(page: &Value) -> Vec<u64> {
    page.as_array()
        .unwrap()
        .iter()
        .map(|issue| issue["number"].as_u64().unwrap())
        .collect()
}

#[test]
fn a_created_issue_reads_back_and_revalidates_with_its_etag() {
    let gh = FakeGithub::start();
    let api = Api::new(&gh);
    let created = api.post(
        "/repos/acme/tools/issues",
        json!({"title": "cargo crashed", "body": "a trace", "labels": ["crash", "lokiwrap"]}),
    );
    assert_eq!(created.status(), 201);
    assert_eq!(
        header(&created, "location"),
        format!("{}/repos/acme/tools/issues/1", gh.url)
    );
    let issue: Value = created.json().unwrap();
    assert_eq!(issue["number"], 1);
    assert_eq!(issue["state"], "open");
    assert_eq!(issue["state_reason"], Value::Null);
    assert_eq!(issue["user"]["login"], "lokiwrap-collector[bot]");
    assert_eq!(issue["user"]["type"], "Bot");
    assert_eq!(issue["html_url"], "https://github.com/acme/tools/issues/1");
    assert_eq!(issue["url"], format!("{}/repos/acme/tools/issues/1", gh.url));
    assert_eq!(issue["comments"], 0);
    assert_eq!(label_names(&issue), ["crash", "lokiwrap"]);
    assert!(issue.get("pull_request").is_none());
    assert!(issue["created_at"].as_str().unwrap().ends_with('Z'));

    let read = api.get("/repos/acme/tools/issues/1");
    assert_eq!(read.status(), 200);
    let etag = header(&read, "etag");
    assert!(etag.starts_with("W/\""), "{etag}");
    assert_eq!(read.json::<Value>().unwrap()["title"], "cargo crashed");

    let unchanged = api
        .request(Method::GET, "/repos/acme/tools/issues/1")
        .header("if-none-match", &etag)
        .send()
        .unwrap();
    assert_eq!(unchanged.status(), 304);
    assert_eq!(unchanged.text().unwrap(), "");

    api.patch("/repos/acme/tools/issues/1", json!({"body": "a longer trace"}));
    let changed = api
        .request(Method::GET, "/repos/acme/tools/issues/1")
        .header("if-none-match", &etag)
        .send()
        .unwrap();
    assert_eq!(changed.status(), 200);
    assert_ne!(header(&changed, "etag"), etag);

    assert_eq!(gh.count("POST", "/issues"), 1);
    assert_eq!(gh.count("GET", "/issues/*"), 3);
    assert_eq!(gh.issues(REPO)[0].body.as_deref(), Some("a longer trace"));
    assert!(gh.problems().is_empty(), "{:#?}", gh.problems());
}

#[test]
fn every_answer_carries_the_rate_limit_and_a_304_costs_nothing() {
    let gh = FakeGithub::start();
    let api = Api::new(&gh);
    let number = gh.seed_issue(REPO, "seeded", "", &[], "alice");
    let first = api.get(&format!("/repos/acme/tools/issues/{number}"));
    assert_eq!(header(&first, "x-ratelimit-limit"), "5000");
    assert_eq!(header(&first, "x-ratelimit-remaining"), "4999");
    assert_eq!(header(&first, "x-ratelimit-used"), "1");
    assert!(header(&first, "x-ratelimit-reset").parse::<u64>().unwrap() > 1_700_000_000);
    let etag = header(&first, "etag");
    let revalidated = api
        .request(Method::GET, &format!("/repos/acme/tools/issues/{number}"))
        .header("if-none-match", &etag)
        .send()
        .unwrap();
    assert_eq!(revalidated.status(), 304);
    assert_eq!(header(&revalidated, "x-ratelimit-used"), "1");
    let limits: Value = api.get("/rate_limit").json().unwrap();
    assert_eq!(limits["resources"]["core"]["remaining"], 4999);
    assert_eq!(limits["rate"]["limit"], 5000);
}

#[test]
fn listing_filters_by_every_label_and_pages_with_a_link_header() {
    let gh = FakeGithub::start();
    let api = Api::new(&gh);
    for title in ["one", "two", "three"] {
        gh.seed_issue(REPO, title, "", &["crash", "lokiwrap"], "alice");
    }
    gh.seed_issue(REPO, "crash only", "", &["crash"], "alice");
    let closed = gh.seed_issue(REPO, "closed", "", &["crash", "lokiwrap"], "bob");
    gh.close_issue(REPO, closed, "completed");

    let first = api.get("/repos/acme/tools/issues?labels=crash,lokiwrap&per_page=2");
    assert_eq!(first.status(), 200);
    let link = header(&first, "link");
    assert!(link.contains("rel=\"next\""), "{link}");
    assert!(link.contains("rel=\"last\""), "{link}");
    let first: Value = first.json().unwrap();
    assert_eq!(numbers(&first), [3, 2]);

    let next = link
        .split(", ")
        .find(|part| part.ends_with("rel=\"next\""))
        .and_then(|part| part.strip_prefix('<'))
        .and_then(|part| part.split_once('>'))
        .map(|(url, _)| url.to_owned())
        .unwrap();
    let second = api
        .http
        .get(&next)
        .header("accept", MEDIA_TYPE)
        .bearer_auth(TEST_TOKEN)
        .send()
        .unwrap();
    assert!(!header(&second, "link").contains("rel=\"next\""));
    assert!(header(&second, "link").contains("rel=\"prev\""));
    assert_eq!(numbers(&second.json().unwrap()), [1]);

    let all: Value = api
        .get("/repos/acme/tools/issues?state=all&labels=LOKIWRAP&direction=asc")
        .json()
        .unwrap();
    assert_eq!(numbers(&all), [1, 2, 3, 5]);
    let by_bob: Value = api
        .get("/repos/acme/tools/issues?state=closed&creator=bob")
        .json()
        .unwrap();
    assert_eq!(numbers(&by_bob), [5]);
    assert_eq!(by_bob[0]["user"]["type"], "User");
    assert_eq!(by_bob[0]["state_reason"], "completed");
}

#[test]
fn closing_and_reopening_set_the_state_reason() {
    let gh = FakeGithub::start();
    let api = Api::new(&gh);
    api.post("/repos/acme/tools/issues", json!({"title": "flaky"}));

    let closed: Value = api
        .patch(
            "/repos/acme/tools/issues/1",
            json!({"state": "closed", "state_reason": "not_planned"}),
        )
        .json()
        .unwrap();
    assert_eq!(closed["state"], "closed");
    assert_eq!(closed["state_reason"], "not_planned");
    assert!(closed["closed_at"].is_string());
    assert_eq!(numbers(&api.get("/repos/acme/tools/issues").json().unwrap()), [0u64; 0]);
    assert_eq!(
        numbers(&api.get("/repos/acme/tools/issues?state=closed").json().unwrap()),
        [1]
    );

    let reopened: Value = api
        .patch("/repos/acme/tools/issues/1", json!({"state": "open"}))
        .json()
        .unwrap();
    assert_eq!(reopened["state"], "open");
    assert_eq!(reopened["state_reason"], "reopened");
    assert_eq!(reopened["closed_at"], Value::Null);

    let plainly_closed: Value = api
        .patch("/repos/acme/tools/issues/1", json!({"state": "closed"}))
        .json()
        .unwrap();
    assert_eq!(plainly_closed["state_reason"], "completed");

    gh.close_issue(REPO, gh.seed_issue(REPO, "by hand", "", &[], "alice"), "not_planned");
    let by_hand: Value = api.get("/repos/acme/tools/issues/2").json().unwrap();
    assert_eq!(
        (by_hand["state"].as_str(), by_hand["state_reason"].as_str()),
        (Some("closed"), Some("not_planned"))
    );
}

#[test]
fn comments_are_listed_in_order_and_can_be_edited() {
    let gh = FakeGithub::start();
    let api = Api::new(&gh);
    let number = gh.seed_issue(REPO, "crash", "", &[], "alice");
    let first: Value = api
        .post(
            &format!("/repos/acme/tools/issues/{number}/comments"),
            json!({"body": "seen again"}),
        )
        .json()
        .unwrap();
    let second = api.post(
        &format!("/repos/acme/tools/issues/{number}/comments"),
        json!({"body": "and again"}),
    );
    assert_eq!(second.status(), 201);
    assert_eq!(first["user"]["login"], "lokiwrap-collector[bot]");

    let listed: Value = api
        .get(&format!("/repos/acme/tools/issues/{number}/comments"))
        .json()
        .unwrap();
    let bodies: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["body"].as_str().unwrap())
        .collect();
    assert_eq!(bodies, ["seen again", "and again"]);

    let edited = api.patch(
        &format!("/repos/acme/tools/issues/comments/{}", first["id"]),
        json!({"body": "seen 3 times"}),
    );
    assert_eq!(edited.status(), 200);
    assert_eq!(edited.json::<Value>().unwrap()["body"], "seen 3 times");

    let issue = &gh.issues(REPO)[0];
    assert_eq!(issue.comments.len(), 2);
    assert_eq!(issue.comments[0].body, "seen 3 times");
    assert_eq!(
        api.get("/repos/acme/tools/issues/1").json::<Value>().unwrap()["comments"],
        2
    );
    assert_eq!(
        api.patch("/repos/acme/tools/issues/comments/1", json!({"body": "x"}))
            .status(),
        404
    );
}

#[test]
fn deleted_gone_and_transferred_issues_answer_404_410_and_301() {
    let gh = FakeGithub::start();
    let api = Api::new(&gh);
    let deleted = gh.seed_issue(REPO, "deleted", "", &[], "alice");
    let gone = gh.seed_issue(REPO, "gone", "", &[], "alice");
    let moved = gh.seed_issue(REPO, "moved", "", &["crash"], "alice");
    gh.delete_issue(REPO, deleted);
    gh.gone_issue(REPO, gone);
    let new_number = gh.transfer_issue(REPO, moved, "acme/other");
    assert_eq!(new_number, 1);

    assert_eq!(api.get("/repos/acme/tools/issues/1").status(), 404);
    assert_eq!(
        api.patch("/repos/acme/tools/issues/1", json!({"state": "closed"}))
            .status(),
        404
    );
    let gone = api.get("/repos/acme/tools/issues/2");
    assert_eq!(gone.status(), 410);
    assert_eq!(
        api.post("/repos/acme/tools/issues/2/comments", json!({"body": "x"}))
            .status(),
        410
    );

    let redirected = api.get("/repos/acme/tools/issues/3");
    assert_eq!(redirected.status(), 301);
    let location = format!("{}/repos/acme/other/issues/1", gh.url);
    assert_eq!(header(&redirected, "location"), location);
    let comment = api.post("/repos/acme/tools/issues/3/comments", json!({"body": "x"}));
    assert_eq!(header(&comment, "location"), format!("{location}/comments"));

    let followed = Client::new()
        .get(format!("{}/repos/acme/tools/issues/3", gh.url))
        .header("accept", MEDIA_TYPE)
        .bearer_auth(TEST_TOKEN)
        .send()
        .unwrap();
    assert_eq!(followed.status(), 200);
    let issue: Value = followed.json().unwrap();
    assert_eq!(
        (issue["title"].as_str(), issue["number"].as_u64()),
        (Some("moved"), Some(1))
    );
    assert_eq!(label_names(&issue), ["crash"]);
    assert!(gh.issues(REPO).is_empty());
    assert_eq!(gh.issues("acme/other").len(), 1);
}

#[test]
fn a_write_that_fails_after_it_happened_still_creates_the_issue() {
    let gh = FakeGithub::start();
    let api = Api::new(&gh);
    let seeded = gh.seed_issue(REPO, "seeded", "", &[], "alice");
    gh.inject(Fault::on("POST", "/issues", FaultKind::AfterWrite { status: 502 }));
    let comment = api.post(
        &format!("/repos/acme/tools/issues/{seeded}/comments"),
        json!({"body": "x"}),
    );
    assert_eq!(comment.status(), 201, "a comment's path does not end with /issues");
    let failed = api.post("/repos/acme/tools/issues", json!({"title": "crash"}));
    assert_eq!(failed.status(), 502);
    assert_eq!(gh.issues(REPO).len(), 2);
    assert_eq!(gh.journal()[1].status, 502);

    let retried = api.post("/repos/acme/tools/issues", json!({"title": "crash"}));
    assert_eq!(retried.status(), 201, "the fault was used up");
    assert_eq!(gh.issues(REPO).len(), 3);
}

#[test]
fn an_injected_secondary_limit_answers_403_with_retry_after_and_writes_nothing() {
    let gh = FakeGithub::start();
    let api = Api::new(&gh);
    gh.inject(Fault::secondary_rate_limit("POST", "/issues", 60).times(2));
    for _ in 0..2 {
        let refused = api.post("/repos/acme/tools/issues", json!({"title": "crash"}));
        assert_eq!(refused.status(), 403);
        assert_eq!(header(&refused, "retry-after"), "60");
        assert_eq!(
            header(&refused, "x-ratelimit-remaining"),
            format!("{}", 5000 - gh.journal().len())
        );
        let message = refused.json::<Value>().unwrap()["message"].as_str().unwrap().to_owned();
        assert!(message.contains("secondary rate limit"), "{message}");
    }
    assert!(gh.issues(REPO).is_empty());
    assert_eq!(
        api.post("/repos/acme/tools/issues", json!({"title": "crash"})).status(),
        201
    );
}

#[test]
fn creating_content_too_fast_trips_the_secondary_limit() {
    let gh = FakeGithub::start();
    let api = Api::new(&gh);
    gh.set_content_limits(2, 100);
    assert_eq!(
        api.post("/repos/acme/tools/issues", json!({"title": "a"})).status(),
        201
    );
    assert_eq!(
        api.post("/repos/acme/tools/issues", json!({"title": "b"})).status(),
        201
    );

    let refused = api.post("/repos/acme/tools/issues/1/comments", json!({"body": "again"}));
    assert_eq!(refused.status(), 403);
    let wait: u64 = header(&refused, "retry-after").parse().unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    assert_eq!(
        refused.json::<Value>().unwrap()["message"],
        "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
    );
    assert!(gh.issues(REPO)[0].comments.is_empty());
    let pull = json!({"title": "fix", "head": "fix", "base": "main"});
    assert_eq!(api.post("/repos/acme/tools/pulls", pull).status(), 403);
    assert_eq!(
        api.patch("/repos/acme/tools/issues/1", json!({"title": "a2"})).status(),
        200,
        "edits do not notify"
    );
    assert_eq!(gh.issues(REPO).len(), 2);
}

#[test]
fn a_wrong_or_missing_token_is_refused_with_401() {
    let gh = FakeGithub::start();
    let api = Api::new(&gh);
    gh.set_token("another-token");
    let refused = api.post("/repos/acme/tools/issues", json!({"title": "crash"}));
    assert_eq!(refused.status(), 401);
    assert_eq!(refused.json::<Value>().unwrap()["message"], "Bad credentials");
    let anonymous = Client::new()
        .get(format!("{}/repos/acme/tools/issues", gh.url))
        .header("accept", MEDIA_TYPE)
        .send()
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    assert_eq!(anonymous.json::<Value>().unwrap()["message"], "Requires authentication");
    assert!(gh.issues(REPO).is_empty());
    let journal = gh.journal();
    assert_eq!(journal.iter().map(|call| call.status).collect::<Vec<_>>(), [401, 401]);
    assert!(
        journal[0].problems.iter().any(|p| p.contains("token")),
        "{:?}",
        journal[0].problems
    );

    gh.set_token(TEST_TOKEN);
    assert_eq!(api.get("/repos/acme/tools/issues").status(), 200);
}

#[test]
fn what_github_would_object_to_is_recorded_in_problems() {
    let gh = FakeGithub::start();
    let api = Api::new(&gh);
    let unversioned = Client::new()
        .post(format!("{}/repos/acme/tools/issues", gh.url))
        .header("accept", MEDIA_TYPE)
        .header("user-agent", "lokiwrap-tests")
        .bearer_auth(TEST_TOKEN)
        .json(&json!({"title": "crash", "assignee_login": "alice"}))
        .send()
        .unwrap();
    assert_eq!(unversioned.status(), 201, "answered as usual");
    let problems = &gh.journal()[0].problems;
    assert!(
        problems.iter().any(|p| p.contains("X-GitHub-Api-Version")),
        "{problems:?}"
    );
    assert!(problems.iter().any(|p| p.contains("`assignee_login`")), "{problems:?}");
    assert_eq!(problems.len(), 2, "{problems:?}");

    let untitled = api.post("/repos/acme/tools/issues", json!({"body": "no title"}));
    assert_eq!(untitled.status(), 422);
    assert_eq!(untitled.json::<Value>().unwrap()["errors"][0]["code"], "missing_field");
    let bad_state = api.patch("/repos/acme/tools/issues/1", json!({"state": "done"}));
    assert_eq!(bad_state.status(), 422);
    let not_json = api
        .request(Method::POST, "/repos/acme/tools/issues")
        .body("{")
        .send()
        .unwrap();
    assert_eq!(not_json.status(), 400);
    let misspelt: Value = api
        .get("/repos/acme/tools/issues?label=crash&state=opened")
        .json()
        .unwrap();
    assert_eq!(numbers(&misspelt), [1], "GitHub's defaults apply");
    assert_eq!(api.get("/search/issues?q=crash").status(), 404);

    let journal = gh.journal();
    assert_eq!(gh.issues(REPO).len(), 1);
    assert!(journal[1].problems.iter().any(|p| p.contains("`title` is required")));
    assert!(journal[2].problems.iter().any(|p| p.contains("`state` must be one of")));
    assert!(journal[3].problems.iter().any(|p| p.contains("not JSON")));
    assert!(journal[4].problems.iter().any(|p| p.contains("`label`")));
    assert!(journal[4].problems.iter().any(|p| p.contains("`state` must be one of")));
    assert!(journal[5].problems.iter().any(|p| p.contains("no route")));
    assert_eq!(journal[1].body, Some(json!({"body": "no title"})));
    assert_eq!(journal[1].headers["x-github-api-version"], API_VERSION);
}

#[test]
fn pull_requests_share_numbers_and_merges_and_graphql_are_journaled() {
    let gh = FakeGithub::start();
    let api = Api::new(&gh);
    gh.seed_issue(REPO, "crash", "", &[], "alice");
    let created = api.post(
        "/repos/acme/tools/pulls",
        json!({"title": "Fix crash", "head": "fix-1", "base": "main", "body": "fixes #1"}),
    );
    assert_eq!(created.status(), 201);
    let pull: Value = created.json().unwrap();
    assert_eq!(pull["number"], 2);
    assert_eq!(pull["head"]["ref"], "fix-1");

    let listed: Value = api.get("/repos/acme/tools/pulls").json().unwrap();
    assert_eq!(numbers(&listed), [2]);
    let issues: Value = api.get("/repos/acme/tools/issues").json().unwrap();
    assert_eq!(numbers(&issues), [2, 1], "GitHub lists pull requests among issues");
    assert!(issues[0]["pull_request"].is_object());

    let merged = api
        .request(Method::PUT, "/repos/acme/tools/pulls/2/merge")
        .send()
        .unwrap();
    assert_eq!(merged.status(), 200);
    let graphql = api.post("/graphql", json!({"query": "{ viewer { login } }"}));
    assert_eq!(graphql.status(), 200);
    assert!(graphql.json::<Value>().unwrap()["errors"].is_array());
    assert_eq!(gh.count("PUT", "/pulls/*/merge"), 1);
    assert_eq!(gh.count("POST", "/graphql"), 1);
    assert_eq!(gh.count("*", "/repos/*/*/pulls"), 2);
    assert!(gh.issues(REPO)[1].pull.as_ref().unwrap().merged);
}

#[test]
fn a_delayed_answer_comes_late_but_the_write_happens_at_once() {
    let gh = FakeGithub::start();
    let api = Api::new(&gh);
    gh.inject(Fault::on(
        "POST",
        "/issues",
        FaultKind::Delay(Duration::from_millis(500)),
    ));
    let timed_out = api
        .request(Method::POST, "/repos/acme/tools/issues")
        .json(&json!({"title": "slow"}))
        .timeout(Duration::from_millis(100))
        .send();
    assert!(timed_out.unwrap_err().is_timeout());
    assert_eq!(gh.issues(REPO).len(), 1);
    assert!(gh.wait_for("POST", "/issues", 1, Duration::from_secs(1)));
    assert_eq!(
        api.get("/repos/acme/tools/issues/1").status(),
        200,
        "later requests are not held up"
    );
}

/// A JWT for App `iss`, signed with `key` (the App's test key unless another), `iat` and `exp`
/// relative to now.
fn app_jwt(iss: u64, iat: i64, exp: i64, key: &str) -> String {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use rsa::pkcs1::DecodeRsaPrivateKey;
    use rsa::signature::{SignatureEncoding, Signer};
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256","typ":"JWT"}"#);
    let claims =
        URL_SAFE_NO_PAD.encode(json!({"iat": now + iat, "exp": now + exp, "iss": iss.to_string()}).to_string());
    let pem = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/github_app")
            .join(key),
    )
    .unwrap();
    let signer = rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(rsa::RsaPrivateKey::from_pkcs1_pem(&pem).unwrap());
    let signature = signer.sign(format!("{header}.{claims}").as_bytes()).to_bytes();
    format!("{header}.{claims}.{}", URL_SAFE_NO_PAD.encode(signature))
}

#[test]
fn as_an_app_it_checks_the_jwt_and_each_token_reaches_only_its_installations_repositories() {
    let gh = FakeGithub::start();
    let api = Api::new(&gh);
    gh.enable_app(7);
    gh.install(1, &["org-a/one"]);
    gh.install(2, &["org-b/two"]);
    let with = |method: Method, path: &str, bearer: &str| {
        api.http
            .request(method, format!("{}{path}", gh.url))
            .header("accept", MEDIA_TYPE)
            .header("x-github-api-version", API_VERSION)
            .header("user-agent", "lokiwrap-tests")
            .bearer_auth(bearer)
            .send()
            .unwrap()
    };
    let good = app_jwt(7, -60, 540, "app_test_private_key.pem");
    // Refused: another App's id, a JWT past its exp, one reaching beyond 10 minutes, one not set
    // back, garbage, and the plain token.
    for bad in [
        app_jwt(8, -60, 540, "app_test_private_key.pem"),
        app_jwt(7, -600, -10, "app_test_private_key.pem"),
        app_jwt(7, -60, 700, "app_test_private_key.pem"),
        app_jwt(7, 0, 540, "app_test_private_key.pem"),
        "a.b.c".to_string(),
        TEST_TOKEN.to_string(),
    ] {
        assert_eq!(
            with(Method::GET, "/repos/org-a/one/installation", &bad).status(),
            401,
            "{bad}"
        );
    }
    let problems = gh.problems();
    for (problem, why) in problems.iter().zip([
        "iss is \"8\"",
        "expired",
        "10 minutes",
        "not set back",
        "not base64url",
        "not a JWT",
    ]) {
        assert!(problem.contains(why), "{problem} should say {why}");
    }
    assert_eq!(problems.len(), 6, "{problems:#?}");
    let found = with(Method::GET, "/repos/Org-A/One/installation", &good);
    assert_eq!(found.status(), 200, "{:#?}", gh.problems());
    let found: Value = found.json().unwrap();
    assert_eq!((found["id"].as_u64(), found["app_id"].as_u64()), (Some(1), Some(7)));
    assert_eq!(
        with(Method::GET, "/repos/org-c/three/installation", &good).status(),
        404
    );
    assert_eq!(
        with(Method::POST, "/app/installations/9/access_tokens", &good).status(),
        404
    );

    let issued = with(Method::POST, "/app/installations/1/access_tokens", &good);
    assert_eq!(issued.status(), 201);
    let issued: Value = issued.json().unwrap();
    let token = issued["token"].as_str().unwrap().to_string();
    assert!(token.starts_with("ghs_") && issued["expires_at"].as_str().is_some_and(|t| t.ends_with('Z')));
    assert_eq!(gh.issued_tokens(), vec![(1, token.clone())]);
    // The JWT is for the App's routes only; the token for its installation's repositories only.
    assert_eq!(with(Method::GET, "/repos/org-a/one/issues", &good).status(), 401);
    assert_eq!(with(Method::GET, "/repos/org-a/one/issues", &token).status(), 200);
    assert_eq!(with(Method::GET, "/repos/org-b/two/issues", &token).status(), 404);
    let journal = gh.journal();
    let last_two: Vec<Option<u64>> = journal[journal.len() - 2..].iter().map(|c| c.installation).collect();
    assert_eq!(last_two, [Some(1), Some(1)], "the journal says whose token it was");
    gh.expire_tokens();
    assert_eq!(with(Method::GET, "/repos/org-a/one/issues", &token).status(), 401);
    assert!(
        gh.problems().last().unwrap().contains("expired"),
        "{:#?}",
        gh.problems()
    );
}
