//! The collector under attack from the network: slow and idle clients, oversized bodies,
//! invented addresses, out-of-range settings and a store that cannot write. Each test attacks a
//! real collector process on loopback and checks what its operator and its genuine clients
//! would notice. Attackers use their own loopback addresses (127.0.0.2 and up), so the
//! collector sees them as other clients than the genuine one on 127.0.0.1.

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::collector::{Collector, binary, post, post_with, report};

fn address(collector: &Collector) -> SocketAddr {
    collector.url.trim_start_matches("http://").parse().unwrap()
}

/// A TCP connection to `to` from the loopback address `127.0.0.<last>`.
fn connect_from(last: u8, to: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)?;
    let from = SocketAddr::new(IpAddr::from([127, 0, 0, last]), 0);
    socket.bind(&from.into())?;
    socket.connect_timeout(&to.into(), Duration::from_secs(2))?;
    Ok(socket.into())
}

/// `GET /healthz` from 127.0.0.1 on a new connection: its status and how long the answer took.
fn health(collector: &Collector) -> (u16, Duration) {
    let started = Instant::now();
    let status = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
        .get(format!("{}/healthz", collector.url))
        .send()
        .map_or(0, |response| response.status().as_u16());
    (status, started.elapsed())
}

/// The status line's code of whatever the connection answers within `wait`; 0 for none.
fn answer_within(stream: &mut TcpStream, wait: Duration) -> u16 {
    stream.set_read_timeout(Some(wait)).unwrap();
    let mut head = [0u8; 12];
    match stream.read(&mut head) {
        Ok(n) if n >= 12 => std::str::from_utf8(&head[9..12])
            .ok()
            .and_then(|c| c.parse().ok())
            .unwrap_or(0),
        _ => 0,
    }
}

#[test]
fn idle_and_slow_clients_cannot_starve_health_or_reports() {
    // The packaged unit's descriptor limit; the attack holds more connections than it allows.
    let collector =
        Collector::start_with_descriptors("[limits]\nheader_timeout_secs = 3\nbody_timeout_secs = 4\n", 1024);
    let to = address(&collector);
    let rss_before = collector.rss_kib();
    // 1,100 requests that never finish their head, from one address.
    let mut idle = Vec::new();
    let attack = Instant::now();
    for _ in 0..1100 {
        // A collector that stopped accepting leaves connects hanging: the attack is done.
        if attack.elapsed() > Duration::from_secs(15) {
            break;
        }
        if let Ok(mut stream) = connect_from(2, to) {
            let _ = stream.write_all(b"POST /v1/crash HTTP/1.1\r\nHost: collector\r\n");
            idle.push(stream);
        }
    }
    // 100 bodies dripping in, from another: half to a route that is off (no [hotfix]), which
    // must not read them at all; half to /v1/crash, which reads them within its deadline.
    let mut dripping = Vec::new();
    for n in 0..100 {
        if attack.elapsed() > Duration::from_secs(20) {
            break;
        }
        let Ok(mut stream) = connect_from(3, to) else { continue };
        let (path, length) = if n % 2 == 0 {
            ("/v1/events", 1 << 20)
        } else {
            ("/v1/crash", 60_000)
        };
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: collector\r\nContent-Type: application/json\r\nContent-Length: {length}\r\n\r\n"
        );
        let _ = stream.write_all(head.as_bytes());
        stream.set_write_timeout(Some(Duration::from_secs(1))).unwrap();
        let _ = stream.write_all(&vec![b' '; length / 2]);
        dripping.push(stream);
    }
    std::thread::sleep(Duration::from_millis(300));

    let (status, took) = health(&collector);
    assert_eq!(
        status,
        200,
        "/healthz did not answer under attack; logs:\n{}",
        collector.logs()
    );
    assert!(took < Duration::from_secs(1), "/healthz took {took:?} under attack");
    let started = Instant::now();
    let (status, _, _) = post(
        &collector.url,
        report("npm", "TypeError", &["run"]).to_string().as_bytes(),
    );
    assert_eq!(status, 202);
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "a report took {:?}",
        started.elapsed()
    );
    let rss_after = collector.rss_kib();
    assert!(
        rss_after < rss_before + 48 * 1024,
        "memory grew from {rss_before} KiB to {rss_after} KiB"
    );

    // The attackers' connections do not stay: the head deadline closes the idle ones and the
    // body deadline the dripping ones, which is what frees their descriptors for good.
    std::thread::sleep(Duration::from_secs(5));
    let still_open = idle
        .iter_mut()
        .chain(dripping.iter_mut())
        .filter(|stream| {
            let mut stream: &TcpStream = stream;
            stream.set_read_timeout(Some(Duration::from_millis(5))).unwrap();
            let mut buf = [0u8; 512];
            // Open and silent: a read times out. Closed: 0 bytes or a reset, after any answer.
            loop {
                match stream.read(&mut buf) {
                    Ok(0) => return false,
                    Ok(_) => continue,
                    Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => return true,
                    Err(error) if error.kind() == std::io::ErrorKind::TimedOut => return true,
                    Err(_) => return false,
                }
            }
        })
        .count();
    assert_eq!(still_open, 0, "connections outlived their deadlines");
    let stats = collector.stats();
    assert!(
        stats["dropped"]["connections_refused_address"].as_u64().unwrap() > 0,
        "{stats:#}"
    );
    assert!(
        !collector.logs().contains("Too many open files"),
        "{}",
        collector.logs()
    );
}

#[test]
fn a_route_that_is_off_answers_without_reading_the_body() {
    let collector = Collector::start("", &[]);
    let mut stream = connect_from(1, address(&collector)).unwrap();
    let head = "POST /v1/events HTTP/1.1\r\nHost: collector\r\nContent-Type: application/json\r\n\
                Content-Length: 1048576\r\n\r\n";
    stream.write_all(head.as_bytes()).unwrap();
    // Not a byte of the body is sent: the answer must not wait for it.
    assert_eq!(answer_within(&mut stream, Duration::from_secs(2)), 404);
}

#[test]
fn an_oversized_body_gets_its_413_rather_than_a_reset() {
    let collector = Collector::start("", &[]);
    for chunked in [false, true] {
        let mut stream = connect_from(1, address(&collector)).unwrap();
        stream.set_write_timeout(Some(Duration::from_secs(10))).unwrap();
        let body = vec![b'x'; 2 << 20];
        let head = if chunked {
            "POST /v1/crash HTTP/1.1\r\nHost: collector\r\nContent-Type: application/json\r\n\
             Transfer-Encoding: chunked\r\n\r\n"
                .to_string()
        } else {
            format!(
                "POST /v1/crash HTTP/1.1\r\nHost: collector\r\nContent-Type: application/json\r\n\
                 Content-Length: {}\r\n\r\n",
                body.len()
            )
        };
        // A client that sends its whole body before it reads the answer, as most do.
        stream.write_all(head.as_bytes()).unwrap();
        let sent = if chunked {
            body.chunks(64 * 1024).try_for_each(|chunk| {
                stream.write_all(format!("{:x}\r\n", chunk.len()).as_bytes())?;
                stream.write_all(chunk)?;
                stream.write_all(b"\r\n")
            })
        } else {
            stream.write_all(&body)
        };
        assert!(
            sent.is_ok(),
            "the collector cut off the body: {sent:?} (chunked: {chunked})"
        );
        if chunked {
            let _ = stream.write_all(b"0\r\n\r\n");
        }
        assert_eq!(
            answer_within(&mut stream, Duration::from_secs(5)),
            413,
            "chunked: {chunked}"
        );
    }
}

#[test]
fn invented_addresses_cannot_lock_out_a_new_client_and_an_ipv6_64_is_one_client() {
    // Behind a trusted proxy every address is what X-Forwarded-For says: as many as an
    // attacker wants.
    let collector = Collector::start(
        "trusted_proxies = [\"127.0.0.1\"]\n[limits]\nmax_tracked_keys = 1000\nper_ip_per_minute = 5\n",
        &[],
    );
    let client = reqwest::blocking::Client::new();
    let send = |from: &str| {
        let body = report("npm", "TypeError", &["run"]).to_string();
        let headers = [("content-type", "application/json"), ("x-forwarded-for", from)];
        post_with(&client, &collector.url, body.as_bytes(), &headers).0
    };
    let refused = (0..1500u32)
        .map(|n| format!("10.{}.{}.{}", n >> 16, (n >> 8) & 255, n & 255))
        .filter(|from| send(from) != 202)
        .count();
    assert_eq!(refused, 0, "invented addresses were refused once the table was full");
    assert_eq!(send("192.0.2.200"), 202, "a new client was locked out by the flood");
    // One customer's /64: its addresses share one limit.
    let statuses: Vec<u16> = (1..=7).map(|n| send(&format!("2001:db8:1:2::{n:x}"))).collect();
    assert_eq!(statuses, [202, 202, 202, 202, 202, 429, 429]);
    assert_eq!(send("2001:db8:1:3::1"), 202);
}

#[test]
fn settings_out_of_range_stop_the_collector_with_the_key_named() {
    let dir = tempfile::tempdir().unwrap();
    for (text, key) in [
        ("[limits]\nmax_tracked_keys = 0\n", "limits.max_tracked_keys"),
        ("events_body_limit = 0\n", "events_body_limit"),
        ("events_body_limit = 4294967296\n", "events_body_limit"),
        (
            "[promotion]\nkill_switch_file = \"stop-autofix\"\n",
            "promotion.kill_switch_file",
        ),
    ] {
        let config = dir.path().join("collector.toml");
        std::fs::write(&config, text).unwrap();
        let mut child = Command::new(binary())
            .args(["--listen", "127.0.0.1:0", "--config"])
            .arg(&config)
            .arg("--database")
            .arg(dir.path().join("collector.sqlite"))
            .env_remove("LOKIWRAP_GITHUB_TOKEN")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // A collector that took the setting runs on: stop it after a while.
        let deadline = Instant::now() + Duration::from_secs(10);
        while child.try_wait().unwrap().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let output = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{text} was accepted: {stderr}");
        assert!(stderr.contains(key), "{text}: {stderr}");
    }
}

/// A collector whose database lives on a 2 MiB file system of its own (a tmpfs in a mount
/// namespace), so that the test can fill it up.
fn collector_on_a_small_disk() -> Collector {
    let probe = Command::new("unshare")
        .args(["--user", "--map-root-user", "--mount", "true"])
        .status();
    assert!(
        probe.is_ok_and(|status| status.success()),
        "this test needs unshare(1) (util-linux) and user namespaces to mount a small file system"
    );
    Collector::start_wrapped(
        "[limits]\nper_ip_per_minute = 1000\n",
        &[
            "unshare",
            "--user",
            "--map-root-user",
            "--mount",
            "sh",
            "-c",
            // The mount hides the directory's configuration: carry it over.
            "config=$(cat \"$0/collector.toml\") && mount -t tmpfs -o size=2m tmpfs \"$0\" && \
             printf '%s\\n' \"$config\" > \"$0/collector.toml\" && exec \"$@\"",
        ],
    )
}

#[test]
fn a_full_disk_shows_in_health_and_is_logged_once_per_interval() {
    let collector = collector_on_a_small_disk();
    assert_eq!(health(&collector).0, 200);
    // Fill the collector's file system, as seen from inside its mount namespace.
    let inside = format!("/proc/{}/root{}", collector.pid(), collector.dir.path().display());
    let mut filler = std::fs::File::create(format!("{inside}/filler")).unwrap();
    while filler.write_all(&[0u8; 64 * 1024]).is_ok() {}
    let _ = filler.sync_all();
    let mut answers = Vec::new();
    for _ in 0..200 {
        answers.push(
            post(
                &collector.url,
                report("npm", "TypeError", &["run"]).to_string().as_bytes(),
            )
            .0,
        );
    }
    assert!(
        answers.iter().all(|status| *status >= 500),
        "a full disk stored reports? {answers:?}"
    );
    let (status, _) = health(&collector);
    assert_eq!(status, 503, "/healthz said ok while every report failed");
    let logged = collector
        .logs()
        .lines()
        .filter(|line| line.contains("\"level\":\"ERROR\"") && line.contains("the store cannot write"))
        .count();
    assert!(
        (1..=2).contains(&logged),
        "{logged} ERROR lines for 200 failed writes:\n{}",
        collector.logs()
    );
    // Room again: the next report is stored and health recovers.
    drop(filler);
    std::fs::remove_file(format!("{inside}/filler")).unwrap();
    let (status, _, _) = post(
        &collector.url,
        report("npm", "TypeError", &["run"]).to_string().as_bytes(),
    );
    assert_eq!(status, 202);
    assert_eq!(health(&collector).0, 200);
}
