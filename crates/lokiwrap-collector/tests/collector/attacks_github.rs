//! Attacks on what the collector does with GitHub and in GitHub's name, each against a real
//! collector on loopback: a redirect that would carry the token to another address, and a
//! guarded auto-fix whose fixer would read the collector's secrets, leave processes behind, or
//! carry report text into public titles and commit subjects.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common::collector::{ADMIN_TOKEN, Collector, post, report};
use crate::common::fake_github::{FakeGithub, TEST_TOKEN};
use crate::common::git_repos::{git, repositories};
use lokiwrap_collector::hotfix::webhook::sign;
use serde_json::json;

const SECRET: &str = "webhook-secret-for-attacks";
const WAIT: Duration = Duration::from_secs(20);

/// Polls `done` until it holds, or panics naming `what` with the collector's logs.
fn wait_until(collector: &Collector, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !done() {
        assert!(
            Instant::now() < deadline,
            "never happened: {what}\n{}",
            collector.logs()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn start(config: &str) -> Collector {
    Collector::start(
        config,
        &[
            ("LOKIWRAP_GITHUB_TOKEN", TEST_TOKEN),
            ("LOKIWRAP_WEBHOOK_SECRET", SECRET),
        ],
    )
}

fn github_config(fake: &FakeGithub, extra: &str) -> String {
    format!(
        "[github]\napi_url = \"{}\"\ntriage_repo = \"acme/triage\"\nwrite_interval_ms = 20\nnotify_interval_ms = 20\n\
         update_interval_secs = 1\nrequest_timeout_secs = 5\n{extra}",
        fake.url
    )
}

/// A host that is not GitHub: a plain TCP listener on another port that writes down every
/// request head it receives and answers 404.
struct Bystander {
    /// `127.0.0.1:<port>`
    authority: String,
    heads: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
}

impl Bystander {
    fn start() -> Bystander {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let authority = listener.local_addr().unwrap().to_string();
        let heads = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (seen, stopped) = (heads.clone(), stop.clone());
        std::thread::spawn(move || {
            while !stopped.load(Ordering::Relaxed) {
                let Ok((mut stream, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                };
                stream.set_nonblocking(false).unwrap();
                stream.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
                let mut head = Vec::new();
                let mut buffer = [0u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buffer) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => head.extend_from_slice(&buffer[..n]),
                    }
                }
                seen.lock().unwrap().push(String::from_utf8_lossy(&head).into_owned());
                let _ = stream.write_all(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
            }
        });
        Bystander { authority, heads, stop }
    }

    fn heads(&self) -> Vec<String> {
        self.heads.lock().unwrap().clone()
    }
}

impl Drop for Bystander {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

#[test]
fn a_redirect_to_another_address_gets_no_request_and_no_token() {
    let fake = FakeGithub::start();
    let bystander = Bystander::start();
    let collector = start(&github_config(&fake, ""));
    let classes = ["TypeError", "RangeError", "KeyError"];
    for class in classes {
        post(&collector.url, report("npm", class, &["run"]).to_string().as_bytes());
    }
    assert!(fake.wait_for("POST", "/repos/acme/triage/issues", 3, WAIT));
    let other = &bystander.authority;
    let mut numbers: Vec<u64> = fake.issues("acme/triage").iter().map(|i| i.number).collect();
    numbers.sort();
    // Another port; a userinfo-shaped location, which pasted after the API's address names
    // another host; a scheme-relative one.
    let locations = [
        format!("http://{other}/repos/acme/triage/issues/{}", numbers[0]),
        format!("@{other}/repos/acme/triage/issues/{}", numbers[1]),
        format!("//{other}/repos/acme/triage/issues/{}", numbers[2]),
    ];
    for (number, location) in numbers.iter().zip(&locations) {
        fake.redirect_issue("acme/triage", *number, location);
    }
    // Another occurrence of each: the worker reads each issue before updating its counter.
    for class in classes {
        post(&collector.url, report("npm", class, &["run"]).to_string().as_bytes());
    }
    for number in &numbers {
        let path = format!("/repos/acme/triage/issues/{number}");
        assert!(fake.wait_for("GET", &path, 1, WAIT), "{}", collector.logs());
        let sent = fake.headers_of("GET", &path);
        assert_eq!(
            sent[0].get("authorization").map(String::as_str),
            Some(format!("Bearer {TEST_TOKEN}").as_str()),
            "GitHub itself gets the token"
        );
    }
    std::thread::sleep(Duration::from_millis(1500));
    let heads = bystander.heads();
    assert!(
        heads.iter().all(|head| !head.contains(TEST_TOKEN)),
        "the token went to another address: {heads:#?}"
    );
    assert!(heads.is_empty(), "a request went to another address: {heads:#?}");
    wait_until(&collector, "the refusals are logged", || {
        collector.logs().matches("not followed").count() >= 2
    });
    // A refused redirect is not tried again at once.
    for number in &numbers[..1] {
        assert_eq!(fake.count("GET", &format!("/repos/acme/triage/issues/{number}")), 1);
    }
}

// Guarded auto-fix ------------------------------------------------------------------------------

/// A maintainer labels the triage issue `confirmed`: GitHub's `issues` webhook.
fn confirm(collector: &Collector, fake: &FakeGithub, number: u64) {
    let issue = fake
        .issues("acme/triage")
        .into_iter()
        .find(|i| i.number == number)
        .unwrap();
    let event = json!({
        "action": "labeled",
        "label": {"name": "confirmed"},
        "issue": {"number": number, "body": issue.body},
        "repository": {"full_name": "acme/triage"},
        "sender": {"login": "maintainer", "type": "User"}
    })
    .to_string();
    let status = reqwest::blocking::Client::new()
        .post(format!("{}/github/webhook", collector.url))
        .header("content-type", "application/json")
        .header("x-github-event", "issues")
        .header("x-github-delivery", format!("confirm-{number}"))
        .header("x-hub-signature-256", sign(SECRET.as_bytes(), event.as_bytes()))
        .body(event)
        .send()
        .unwrap()
        .status();
    assert_eq!(status, 202);
}

/// One auto-fix run of `fixer` (a shell script run in the worktree) for a crash of
/// `error_class`, with `test` as the tests. The collector, its fake GitHub and the directory
/// holding the repositories and whatever the scripts write down.
struct Run {
    collector: Collector,
    fake: FakeGithub,
    root: tempfile::TempDir,
    origin: PathBuf,
    kill_switch: PathBuf,
}

impl Run {
    fn start(fixer: &str, test: &str, timeout_secs: u64, error_class: &str) -> Run {
        let fake = FakeGithub::start();
        let root = tempfile::tempdir().unwrap();
        let (origin, clone) = repositories(root.path());
        let kill_switch = root.path().join("stop");
        let quote =
            |script: &str| serde_json::to_string(&script.replace("EVIDENCE", root.path().to_str().unwrap())).unwrap();
        let config = github_config(
            &fake,
            &format!(
                "[hotfix]\nmodes = [\"issue\", \"pr\"]\n\
                 [promotion]\npublic_repo = \"acme/public\"\nkill_switch_file = \"{}\"\n\
                 [autofix]\nrepo_dir = \"{}\"\ndry_run = false\ntimeout_secs = {timeout_secs}\n\
                 command = [\"sh\", \"-c\", {}]\ntest_command = [\"sh\", \"-c\", {}]\n",
                kill_switch.display(),
                clone.display(),
                quote(fixer),
                quote(test),
            ),
        );
        let collector = start(&config);
        post(
            &collector.url,
            report("npm", error_class, &["run"]).to_string().as_bytes(),
        );
        assert!(fake.wait_for("POST", "/repos/acme/triage/issues", 1, WAIT));
        let number = fake.issues("acme/triage")[0].number;
        confirm(&collector, &fake, number);
        Run {
            collector,
            fake,
            root,
            origin,
            kill_switch,
        }
    }

    fn evidence(&self, name: &str) -> PathBuf {
        self.root.path().join(name)
    }

    /// The subject's auto-fix state once the run has ended.
    fn ended(&self) -> String {
        let mut state = String::new();
        wait_until(&self.collector, "the auto-fix run ends", || {
            state = autofix_state(&self.collector).unwrap_or_default();
            !state.is_empty() && state != "running"
        });
        state
    }
}

fn autofix_state(collector: &Collector) -> Option<String> {
    let db = rusqlite::Connection::open(collector.database()).unwrap();
    db.query_row("SELECT autofix FROM subjects WHERE autofix IS NOT NULL", [], |row| {
        row.get(0)
    })
    .ok()
}

/// The processes whose ids a script wrote down, killed when the test ends in case the collector
/// left them running (only while they are still `sleep`, so a reused id is left alone).
struct Strays(Vec<u32>);

impl Strays {
    fn read(run: &Run, names: &[&str]) -> Strays {
        let mut pids = Vec::new();
        for name in names {
            let path = run.evidence(name);
            wait_until(&run.collector, &format!("the fixer writes {name}"), || {
                std::fs::read_to_string(&path).is_ok_and(|text| text.ends_with('\n'))
            });
            pids.push(std::fs::read_to_string(&path).unwrap().trim().parse().unwrap());
        }
        Strays(pids)
    }

    /// The ones still alive (a zombie has ended).
    fn alive(&self) -> Vec<u32> {
        self.0.iter().copied().filter(|pid| alive(*pid)).collect()
    }

    fn assert_all_ended(&self, collector: &Collector) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self.alive().is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        assert!(
            self.alive().is_empty(),
            "processes the fixer started outlived its run: {:?}\n{}",
            self.alive(),
            collector.logs()
        );
    }
}

impl Drop for Strays {
    fn drop(&mut self) {
        for pid in self.alive() {
            let command = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            if command.starts_with(b"sleep\0") {
                let _ = Command::new("kill").arg("-KILL").arg(pid.to_string()).status();
            }
        }
    }
}

fn alive(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // The state follows the parenthesised command name.
    let state = stat.rsplit_once(") ").map(|(_, rest)| rest.chars().next());
    !matches!(state, Some(Some('Z' | 'X')))
}

/// Starts one background `sleep` in the fixer's process group and one in a session of its
/// own, and writes their ids down.
const BACKGROUND: &str = "sleep 300 & echo $! > EVIDENCE/group.pid; \
                          setsid sleep 300 & echo $! > EVIDENCE/session.pid; ";

#[test]
fn the_fixer_and_its_tests_see_none_of_the_collectors_secrets() {
    let run = Run::start(
        "env > EVIDENCE/fixer.env; echo handled > FIX",
        "env > EVIDENCE/test.env",
        60,
        "TypeError",
    );
    assert!(run.ended().starts_with("pr #"), "{}", run.collector.logs());
    for file in ["fixer.env", "test.env"] {
        let env = std::fs::read_to_string(run.evidence(file)).unwrap();
        for secret in [TEST_TOKEN, SECRET, ADMIN_TOKEN] {
            assert!(!env.contains(secret), "{file} holds a secret:\n{env}");
        }
        for name in [
            "LOKIWRAP_GITHUB_TOKEN",
            "LOKIWRAP_WEBHOOK_SECRET",
            "LOKIWRAP_ADMIN_TOKEN",
        ] {
            assert!(!env.contains(name), "{file} holds {name}:\n{env}");
        }
        assert!(env.lines().any(|line| line.starts_with("PATH=")), "{file}:\n{env}");
    }
}

#[test]
fn nothing_a_successful_fixer_started_outlives_its_run() {
    let run = Run::start(&format!("{BACKGROUND}echo handled > FIX"), "true", 60, "TypeError");
    let strays = Strays::read(&run, &["group.pid", "session.pid"]);
    assert!(run.ended().starts_with("pr #"), "{}", run.collector.logs());
    strays.assert_all_ended(&run.collector);
}

#[test]
fn nothing_a_failed_fixer_started_outlives_its_run() {
    let run = Run::start(&format!("{BACKGROUND}exit 3"), "true", 60, "TypeError");
    let strays = Strays::read(&run, &["group.pid", "session.pid"]);
    assert!(run.ended().contains("the fixer exited"), "{}", run.collector.logs());
    strays.assert_all_ended(&run.collector);
}

#[test]
fn nothing_a_fixer_started_outlives_its_timeout() {
    let run = Run::start(&format!("{BACKGROUND}sleep 300"), "true", 1, "TypeError");
    let strays = Strays::read(&run, &["group.pid", "session.pid"]);
    assert!(run.ended().contains("limit"), "{}", run.collector.logs());
    strays.assert_all_ended(&run.collector);
}

#[test]
fn the_kill_switch_ends_a_running_fixer_and_everything_it_started() {
    let run = Run::start(
        &format!("{BACKGROUND}echo $$ > EVIDENCE/fixer.pid; exec sleep 300"),
        "true",
        600,
        "TypeError",
    );
    let strays = Strays::read(&run, &["group.pid", "session.pid", "fixer.pid"]);
    std::fs::write(&run.kill_switch, "").unwrap();
    assert!(run.ended().contains("kill switch"), "{}", run.collector.logs());
    strays.assert_all_ended(&run.collector);
    assert_eq!(run.fake.count("POST", "/repos/acme/public/pulls"), 0);
}

/// Whether `text` could ping, link or reorder: an `@` before a name, a URL or markdown link, a
/// bidirectional or other format control.
fn dangerous(text: &str) -> Option<&'static str> {
    if text.contains("@everyone") || text.contains('@') {
        return Some("an @mention");
    }
    if text.contains("](") || text.contains("http") || text.contains("evil.example") {
        return Some("a link");
    }
    if text
        .chars()
        .any(|c| matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'))
    {
        return Some("a bidirectional or format control");
    }
    if text.contains('\n') || text.chars().count() > 120 {
        return Some("more than one short line");
    }
    None
}

#[test]
fn report_text_reaches_no_public_title_pull_request_title_or_commit_subject() {
    let class = "@everyone [x](https://evil.example) \u{202e}";
    // A fixer that read the report and repeats it in a commit of its own.
    let fixer = "echo handled > FIX && git add FIX && \
                 git -c user.name=f -c user.email=f@example.invalid commit -qm '@everyone [x](https://evil.example)'";
    let run = Run::start(fixer, "true", 60, class);
    assert!(run.ended().starts_with("pr #"), "{}", run.collector.logs());
    let public = run
        .fake
        .issues("acme/public")
        .into_iter()
        .find(|issue| issue.pull.is_none())
        .unwrap();
    assert_eq!(dangerous(&public.title), None, "public issue title {:?}", public.title);
    assert!(public.title.starts_with("＠everyone x in npm ("), "{}", public.title);
    let pull = run
        .fake
        .journal()
        .into_iter()
        .find(|call| call.method == "POST" && call.path == "/repos/acme/public/pulls")
        .unwrap();
    let title = pull.body.unwrap()["title"].as_str().unwrap().to_string();
    assert_eq!(dangerous(&title), None, "pull request title {title:?}");
    let head = pull_head(&run);
    let short = head.trim_start_matches("lokiwrap/fix-");
    assert_eq!(title, format!("Fix lokiwrap crash {short}"));
    // The fixer's commit is squashed into the collector's.
    let subjects = git(&run.origin, &["log", "--format=%s", &format!("main..{head}")]);
    assert_eq!(subjects.trim(), format!("Fix lokiwrap crash {short}"));
}

fn pull_head(run: &Run) -> String {
    let pull = run
        .fake
        .journal()
        .into_iter()
        .find(|call| call.method == "POST" && call.path == "/repos/acme/public/pulls")
        .unwrap();
    pull.body.unwrap()["head"].as_str().unwrap().to_string()
}
