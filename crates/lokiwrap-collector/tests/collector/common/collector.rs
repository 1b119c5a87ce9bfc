//! A real `lokiwrap-collector` process on a loopback port, with its own database and
//! configuration, stopped with SIGTERM when dropped. Its logs are kept for assertions.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const ADMIN_TOKEN: &str = "admin-secret-for-tests";

pub struct Collector {
    child: Child,
    pub dir: tempfile::TempDir,
    pub url: String,
    logs: Arc<Mutex<Vec<String>>>,
}

pub fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_lokiwrap-collector"))
}

impl Collector {
    /// Starts a collector with `config` (TOML, without `listen` or `database`) and `env`.
    pub fn start(config: &str, env: &[(&str, &str)]) -> Collector {
        let dir = tempfile::tempdir().unwrap();
        Collector::start_in(dir, config, env)
    }

    /// Same, keeping its database in `dir` (to restart a collector on the same store).
    pub fn start_in(dir: tempfile::TempDir, config: &str, env: &[(&str, &str)]) -> Collector {
        Collector::launch(dir, config, env, None, &[], None)
    }

    /// Starts a collector on the shared database `url` (PostgreSQL).
    pub fn start_on(url: &str, config: &str, env: &[(&str, &str)]) -> Collector {
        Collector::launch(tempfile::tempdir().unwrap(), config, env, None, &[], Some(url))
    }

    /// Starts a collector through `wrapper`: the wrapper's arguments, then the collector's
    /// directory, then the collector's command line (`sh -c '...' DIR lokiwrap-collector ...`).
    /// The wrapper must end by exec-ing the collector, so that its pid is the collector's.
    pub fn start_wrapped(config: &str, wrapper: &[&str]) -> Collector {
        Collector::launch(tempfile::tempdir().unwrap(), config, &[], None, wrapper, None)
    }

    /// Starts a collector whose descriptor limit (`ulimit -n`) is `descriptors`, as a service
    /// unit's `LimitNOFILE` would set it.
    pub fn start_with_descriptors(config: &str, descriptors: u64) -> Collector {
        Collector::launch(tempfile::tempdir().unwrap(), config, &[], Some(descriptors), &[], None)
    }

    fn launch(
        dir: tempfile::TempDir,
        config: &str,
        env: &[(&str, &str)],
        descriptors: Option<u64>,
        wrapper: &[&str],
        database: Option<&str>,
    ) -> Collector {
        let config_path = dir.path().join("collector.toml");
        std::fs::write(&config_path, config).unwrap();
        let mut command = match wrapper.split_first() {
            Some((program, args)) => {
                let mut command = Command::new(program);
                command.args(args).arg(dir.path()).arg(binary());
                command
            }
            None => Command::new(binary()),
        };
        command
            .args(["--listen", "127.0.0.1:0", "--config"])
            .arg(&config_path)
            .arg("--database")
            .arg(database.map_or_else(|| dir.path().join("collector.sqlite"), PathBuf::from))
            .env("LOKIWRAP_ADMIN_TOKEN", ADMIN_TOKEN)
            .env_remove("LOKIWRAP_GITHUB_TOKEN")
            .env_remove("LOKIWRAP_LOG")
            .env_remove("LOKIWRAP_DASHBOARD_TOKEN")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (name, value) in env {
            command.env(name, value);
        }
        if let Some(limit) = descriptors {
            use nix::sys::resource::{Resource, setrlimit};
            use std::os::unix::process::CommandExt;
            // SAFETY: the closure runs in the forked child before exec and only makes the
            // setrlimit system call, which is async-signal-safe; it allocates nothing.
            unsafe {
                command
                    .pre_exec(move || setrlimit(Resource::RLIMIT_NOFILE, limit, limit).map_err(std::io::Error::from));
            }
        }
        let mut child = command.spawn().expect("start lokiwrap-collector");
        let logs = Arc::new(Mutex::new(Vec::new()));
        let (address_tx, address_rx) = std::sync::mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        let sink = logs.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if line.contains("lokiwrap-collector listening")
                    && let Some(address) = json_field(&line, "address")
                {
                    let _ = address_tx.send(address);
                }
                sink.lock().unwrap().push(line);
            }
        });
        let address = match address_rx.recv_timeout(Duration::from_secs(20)) {
            Ok(address) => address,
            Err(_) => {
                let _ = child.kill();
                panic!("the collector did not start: {:?}", logs.lock().unwrap());
            }
        };
        Collector {
            child,
            dir,
            url: format!("http://{address}"),
            logs,
        }
    }

    pub fn database(&self) -> PathBuf {
        self.dir.path().join("collector.sqlite")
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The process's resident memory, in KiB (`VmRSS`).
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap()
    }

    pub fn logs(&self) -> String {
        self.logs.lock().unwrap().join("\n")
    }

    /// A read-only look at the store.
    pub fn query_one(&self, sql: &str) -> i64 {
        let db =
            rusqlite::Connection::open_with_flags(self.database(), rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
        db.query_row(sql, [], |row| row.get(0)).unwrap()
    }

    pub fn stats(&self) -> serde_json::Value {
        let client = reqwest::blocking::Client::new();
        let response = client
            .get(format!("{}/v1/stats", self.url))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .unwrap();
        assert_eq!(response.status(), 200);
        response.json().unwrap()
    }

    /// Waits until `check` holds on the stats, or panics with the last stats and the logs.
    pub fn wait_for_stats(&self, timeout: Duration, check: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
        let deadline = Instant::now() + timeout;
        loop {
            let stats = self.stats();
            if check(&stats) {
                return stats;
            }
            if Instant::now() > deadline {
                panic!("stats never matched: {stats:#}\nlogs:\n{}", self.logs());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops the process with SIGTERM and gives back its directory.
    pub fn stop(mut self) -> tempfile::TempDir {
        self.terminate();
        let dir = tempfile::tempdir().unwrap();
        std::mem::replace(&mut self.dir, dir)
    }

    /// Kills the process with SIGKILL, as a crash would, and gives back its directory.
    pub fn kill(mut self) -> tempfile::TempDir {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let dir = tempfile::tempdir().unwrap();
        std::mem::replace(&mut self.dir, dir)
    }

    fn terminate(&mut self) {
        // Already ended and reaped: its pid may belong to another process by now.
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        self.terminate();
    }
}

fn json_field(line: &str, name: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(line).ok()?;
    value.get("fields")?.get(name)?.as_str().map(String::from)
}

/// Whether `path` contains `needle` anywhere in its bytes (the database and its WAL).
pub fn file_contains(path: &Path, needle: &str) -> bool {
    std::fs::read(path).is_ok_and(|bytes| bytes.windows(needle.len()).any(|window| window == needle.as_bytes()))
}

/// A valid report, as a client would send it.
pub fn report(tool: &str, error_class: &str, frames: &[&str]) -> serde_json::Value {
    use lokiwrap_report::payload::{SCHEMA, fingerprint, new_id, rfc3339_utc};
    let frames: Vec<String> = frames.iter().map(|f| f.to_string()).collect();
    serde_json::json!({
        "schema": SCHEMA,
        "id": new_id().unwrap(),
        "captured_at": rfc3339_utc(1_795_000_000),
        "os": "linux",
        "arch": "x86_64",
        "lokiwrap_version": "0.1.0",
        "tool": tool,
        "tool_version": null,
        "runtime": "python",
        "error_class": error_class,
        "stack_signature": frames,
        "exit_code": 1,
        "signal": null,
        "friction_kind": null,
        "phase": null,
        "project_id_hash": null,
        "fingerprint": fingerprint(tool, error_class, &frames),
        "rules_version": 1,
        "redactions_count": 0,
    })
}

/// POSTs `body` to `/v1/crash` as JSON; the status, `Retry-After` and body.
pub fn post(url: &str, body: &[u8]) -> (u16, Option<String>, String) {
    post_with(
        &reqwest::blocking::Client::new(),
        url,
        body,
        &[("content-type", "application/json")],
    )
}

/// POSTs `body` to `/v1/events` as JSON; the status.
pub fn post_event(url: &str, body: &serde_json::Value) -> u16 {
    reqwest::blocking::Client::new()
        .post(format!("{url}/v1/events"))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .unwrap()
        .status()
        .as_u16()
}

/// `post`, from the loopback address `127.0.0.<last>`: a distinct client as the collector sees it.
pub fn post_from(last: u8, url: &str, body: &[u8]) -> (u16, Option<String>, String) {
    let client = reqwest::blocking::Client::builder()
        .local_address(std::net::IpAddr::from([127, 0, 0, last]))
        .build()
        .unwrap();
    post_with(&client, url, body, &[("content-type", "application/json")])
}

pub fn post_with(
    client: &reqwest::blocking::Client,
    url: &str,
    body: &[u8],
    headers: &[(&str, &str)],
) -> (u16, Option<String>, String) {
    let mut request = client.post(format!("{url}/v1/crash")).body(body.to_vec());
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().unwrap();
    let status = response.status().as_u16();
    let retry = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_string());
    (status, retry, response.text().unwrap())
}
