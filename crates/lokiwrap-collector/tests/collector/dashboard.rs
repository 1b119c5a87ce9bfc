//! The dashboard as an operator meets it: a real collector on a seeded store, the page opened
//! with its read token, in headless Chromium as well as over plain HTTP.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lokiwrap_report::payload::sample_report;
use serde_json::Value;

use crate::common::collector::{Collector, post_event};
use crate::common::fake_github::{FakeGithub, TEST_TOKEN};
use lokiwrap_collector::testing::TestDatabase;

const TOKEN: &str = "dashboard-read-token-for-tests";

fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

fn get(url: &str, auth: Option<(&str, &str)>) -> reqwest::blocking::Response {
    let mut request = reqwest::blocking::Client::new().get(url);
    if let Some((user, password)) = auth {
        request = request.basic_auth(user, Some(password));
    }
    request.send().unwrap()
}

/// Reports of `tool` at `version`, `per_hour[h]` of them in the hour `h` hours before this one.
fn history(
    tool: &str,
    version: &str,
    class: &str,
    friction: Option<&str>,
    per_hour: &[(i64, usize)],
) -> Vec<(lokiwrap_report::payload::Report, i64)> {
    let hour_start = now() - now().rem_euclid(3600);
    let mut reports = Vec::new();
    for &(hours_ago, count) in per_hour {
        for n in 0..count {
            let mut report = sample_report(tool, class, &["load_config", "main"]);
            report.tool_version = Some(version.to_string());
            report.friction_kind = friction.map(str::to_string);
            reports.push((report, hour_start - hours_ago * 3600 + (n as i64 % 3000)));
        }
    }
    reports
}

/// A collector whose store already holds a day and a half of events with a recognisable shape:
/// `deploy-cli` 2.3.0 crashing twice an hour all day, then 2.4.0 bringing a spike four hours
/// ago; `fmt-tool` in a retry loop now and then; the day before, a quieter `deploy-cli`.
fn seeded(config: &str, env: &[(&str, &str)]) -> Collector {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("collector.sqlite");
    seed(database.to_str().unwrap());
    Collector::start_in(dir, config, env)
}

fn seed(database: &str) {
    // The history is laid out by hours before this one, and a test reads it within seconds:
    // close to the hour's end, wait for the next, so that both see the same hour.
    let into_hour = now().rem_euclid(3600);
    if into_hour > 3600 - 60 {
        std::thread::sleep(Duration::from_secs((3600 - into_hour + 1) as u64));
    }
    let mut reports = history(
        "deploy-cli",
        "2.3.0",
        "ValueError",
        None,
        &(0..24).map(|h| (h, 2)).collect::<Vec<_>>(),
    );
    reports.extend(history(
        "deploy-cli",
        "2.4.0",
        "KeyError",
        None,
        &[(4, 30), (3, 18), (2, 9), (1, 4), (0, 2)],
    ));
    reports.extend(history(
        "deploy-cli",
        "2.2.0",
        "ValueError",
        None,
        &(24..48).map(|h| (h, 1)).collect::<Vec<_>>(),
    ));
    reports.extend(history(
        "fmt-tool",
        "1.0.0",
        "retry_loop",
        Some("retry_loop"),
        &[(20, 6), (12, 12), (6, 6)],
    ));
    lokiwrap_collector::testing::store_reports(database, &reports).unwrap();
}

#[test]
fn the_dashboard_is_off_without_its_token_and_asks_for_it_with_one() {
    let off = Collector::start("", &[]);
    let response = get(&format!("{}/dashboard", off.url), None);
    assert_eq!(response.status(), 404);
    assert!(response.text().unwrap().contains("LOKIWRAP_DASHBOARD_TOKEN"));

    let on = Collector::start("", &[("LOKIWRAP_DASHBOARD_TOKEN", TOKEN)]);
    for (path, auth) in [
        ("/dashboard", None),
        ("/dashboard", Some(("admin", "wrong"))),
        ("/dashboard.json", Some(("admin", "dashboard-read-token-for-test"))),
        // Never the token in a URL.
        ("/dashboard?token=dashboard-read-token-for-tests", None),
    ] {
        let response = get(&format!("{}{path}", on.url), auth);
        assert_eq!(response.status(), 401, "{path} {auth:?}");
        let challenge = response.headers()["www-authenticate"].to_str().unwrap().to_string();
        assert!(challenge.starts_with("Basic realm="), "{challenge}");
    }
    let response = get(&format!("{}/dashboard?window=1y", on.url), Some(("anyone", TOKEN)));
    assert_eq!(response.status(), 400);
    assert!(response.text().unwrap().contains("window=24h or window=14d"));

    let response = get(&format!("{}/dashboard", on.url), Some(("anyone", TOKEN)));
    assert_eq!(response.status(), 200);
    let policy = response.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        policy.contains("script-src 'none'") && policy.contains("default-src 'none'"),
        "{policy}"
    );
    assert_eq!(response.headers()["cache-control"], "no-store");
    let page = response.text().unwrap();
    assert!(!page.contains("<script"), "{page}");
    assert!(page.contains("No events in this window"), "{page}");
}

#[test]
fn the_json_shows_the_seeded_counts_per_tool_version_and_friction_kind() {
    check_seeded_counts(&seeded("", &[("LOKIWRAP_DASHBOARD_TOKEN", TOKEN)]));
}

/// The same history in PostgreSQL, through the same store paths, gives the same page.
#[test]
fn a_collector_on_postgresql_shows_the_same_counts() {
    let Some(database) = TestDatabase::create() else { return };
    seed(&database.url);
    check_seeded_counts(&Collector::start_on(
        &database.url,
        "",
        &[("LOKIWRAP_DASHBOARD_TOKEN", TOKEN)],
    ));
}

fn check_seeded_counts(collector: &Collector) {
    let board: Value = get(
        &format!("{}/dashboard.json?window=24h", collector.url),
        Some(("", TOKEN)),
    )
    .json()
    .unwrap();
    let deploy = board["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["name"] == "deploy-cli")
        .unwrap();
    // 24 hours of 2, plus the 2.4.0 spike of 63; the day before had 24.
    assert_eq!(deploy["events"], 48 + 63, "{deploy:#}");
    assert_eq!(deploy["previous"], 24, "{deploy:#}");
    let series: Vec<u64> = deploy["series"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_u64().unwrap())
        .collect();
    assert_eq!(&series[19..], &[32, 20, 11, 6, 4], "{series:?}");
    assert_eq!(deploy["versions"][0]["version"], "2.4.0");
    assert_eq!(deploy["versions"][0]["events"], 63);
    let retry = board["friction"]
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["name"] == "retry_loop")
        .unwrap();
    assert_eq!(retry["events"], 24, "{retry:#}");
    // Busiest first: 2.3.0's and 2.2.0's ValueError (72 in all), then 2.4.0's KeyError.
    let top = &board["top"];
    assert_eq!(
        (top[0]["what"].as_str(), top[0]["count"].as_u64()),
        (Some("ValueError"), Some(72)),
        "{top:#}"
    );
    assert_eq!(
        (top[1]["what"].as_str(), top[1]["count"].as_u64()),
        (Some("KeyError"), Some(63)),
        "{top:#}"
    );
    assert_eq!(top[1]["versions"], serde_json::json!(["2.4.0"]));
    assert_eq!(top[1]["first_seen"].as_i64().unwrap() % 3600, 0, "{top:#}");
    assert!(top[0]["first_seen"].as_i64() < top[1]["first_seen"].as_i64(), "{top:#}");

    let fortnight: Value = get(
        &format!("{}/dashboard.json?window=14d", collector.url),
        Some(("", TOKEN)),
    )
    .json()
    .unwrap();
    assert_eq!(fortnight["bucket_secs"], 86_400);
    assert_eq!(fortnight["buckets"].as_array().unwrap().len(), 14);
}

#[test]
fn plugin_failures_have_their_own_row() {
    let fake = FakeGithub::start();
    let config = format!(
        "[github]\napi_url = \"{}\"\n[hotfix]\nenabled = true\nallow_unsigned_events = true\ntarget_repos = [\"acme\"]\n",
        fake.url
    );
    let collector = Collector::start(
        &config,
        &[
            ("LOKIWRAP_DASHBOARD_TOKEN", TOKEN),
            ("LOKIWRAP_GITHUB_TOKEN", TEST_TOKEN),
        ],
    );
    for n in 0..3 {
        let event = serde_json::json!({
            "event": "kernel.plugin_error",
            "stateId": format!("state-{n}"),
            "trigger": {"githubEvent": "issue_comment.created", "deliveryId": format!("delivery-{n}")},
            "plugin": {"type": "workflow", "id": "acme/daemon-pricing:compute.yml@main", "owner": "acme", "repo": "daemon-pricing"},
            "error": {"message": "the plugin failed", "status": 500, "category": "workflow"}
        });
        assert_eq!(post_event(&collector.url, &event), 202);
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let board: Value = get(&format!("{}/dashboard.json", collector.url), Some(("", TOKEN)))
            .json()
            .unwrap();
        let plugin = board["sources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|row| row["kind"] == "plugin")
            .cloned();
        if let Some(plugin) = plugin.filter(|row| row["events"] == 3) {
            assert_eq!(plugin["name"], "acme/daemon-pricing:compute.yml", "{plugin:#}");
            assert_eq!(board["top"][0]["kind"], "plugin_failure", "{board:#}");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{board:#}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Debian's `chromium`, or `None` (after saying so) where it is not installed and not required.
fn chromium() -> Option<PathBuf> {
    let found = ["chromium", "chromium-browser"].into_iter().find_map(|name| {
        std::env::var_os("PATH")?
            .to_str()?
            .split(':')
            .map(|dir| Path::new(dir).join(name))
            .find(|path| path.is_file())
    });
    if found.is_none() {
        assert!(
            std::env::var("LOKIWRAP_REQUIRE_CHROMIUM").as_deref() != Ok("1"),
            "LOKIWRAP_REQUIRE_CHROMIUM=1 but chromium is not on PATH: apt-get install chromium"
        );
        eprintln!("skipped: install chromium (apt-get install chromium) to test the dashboard in a browser");
    }
    found
}

fn headless(chromium: &Path, profile: &Path, args: &[&str]) -> std::process::Output {
    Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .output()
        .expect("run chromium")
}

#[test]
fn a_person_opening_the_page_in_a_browser_sees_the_numbers_and_the_shape() {
    let Some(chromium) = chromium() else { return };
    let collector = seeded("", &[("LOKIWRAP_DASHBOARD_TOKEN", TOKEN)]);
    let profile = tempfile::tempdir().unwrap();
    // The browser signs in the way a person's does: the credentials it was given, sent as Basic.
    let address = collector.url.trim_start_matches("http://");
    let url = format!("http://reader:{TOKEN}@{address}/dashboard?window=24h");
    let dom = headless(&chromium, profile.path(), &["--dump-dom", &url]);
    let dom = String::from_utf8_lossy(&dom.stdout).into_owned();
    for expected in [
        "deploy-cli",
        "fmt-tool",
        "retry loop",
        "KeyError",
        "<code>2.4.0</code> 63",
        "deploy-cli per hour: 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 32, 20, 11, 6, 4",
        "+362%",
        "of 400",
    ] {
        assert!(dom.contains(expected), "the page does not show {expected:?}:\n{dom}");
    }
    let artefacts = Path::new(env!("CARGO_TARGET_TMPDIR")).join("dashboard");
    std::fs::create_dir_all(&artefacts).unwrap();
    let screenshot = artefacts.join("dashboard-24h.png");
    let _ = std::fs::remove_file(&screenshot);
    let shot = headless(
        &chromium,
        profile.path(),
        &[
            &format!("--screenshot={}", screenshot.display()),
            "--window-size=1280,1100",
            &url,
        ],
    );
    let png = std::fs::read(&screenshot)
        .unwrap_or_else(|_| panic!("no screenshot: {}", String::from_utf8_lossy(&shot.stderr)));
    assert!(png.starts_with(b"\x89PNG") && png.len() > 20_000, "{} bytes", png.len());
    eprintln!("screenshot of the seeded dashboard: {}", screenshot.display());
}
