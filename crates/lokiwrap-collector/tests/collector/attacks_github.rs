//! Attacks on what the collector does with GitHub and in GitHub's name, each against a real
//! collector on loopback: a redirect that would carry the token to another address.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common::collector::{Collector, post, report};
use crate::common::fake_github::{FakeGithub, TEST_TOKEN};

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
    Collector::start(config, &[("LOKIWRAP_GITHUB_TOKEN", TEST_TOKEN)])
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
