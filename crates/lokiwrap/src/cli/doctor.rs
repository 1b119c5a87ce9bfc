//! `lokiwrap doctor`: everything that decides what lokiwrap does on this machine, checked,
//! with the fix for each problem. Exits 1 when something is wrong.

use std::net::{TcpStream, ToSocketAddrs};
use std::path::Path;
use std::time::Duration;

use crate::config::Config;
use crate::consent;
use crate::deliver;
use crate::outbox::{self, DirState, Outbox, UnsafeOutbox};
use crate::shim::{self, Shims};

pub const EXAMPLES: &str = "\
Example:
  lokiwrap doctor      # prints one line per check; exit 1 if any needs fixing";

/// The report so far: a line per check, and whether any failed.
struct Checks {
    problems: usize,
}

impl Checks {
    fn info(&self, what: &str, value: impl std::fmt::Display) {
        println!("  {what:<18} {value}");
    }

    fn problem(&mut self, what: &str, value: impl std::fmt::Display, fix: impl std::fmt::Display) {
        self.problems += 1;
        println!("✗ {what:<18} {value}\n  {:<18} fix: {fix}", "");
    }
}

pub fn run() -> i32 {
    let mut checks = Checks { problems: 0 };
    checks.info("version", env!("CARGO_PKG_VERSION"));

    let (config, problem) = Config::load();
    let config_path = Config::path().map_or("(no configuration directory)".into(), |p| p.display().to_string());
    match problem {
        Some(problem) => checks.problem("config", &config_path, problem),
        None => checks.info("config", &config_path),
    }

    match outbox::default_dir() {
        Some(dir) => {
            let outbox = Outbox::new(dir.clone());
            match outbox.secure() {
                Err(err) => match UnsafeOutbox::of(&err) {
                    Some(refused) => checks.problem(
                        "outbox",
                        format_args!("{} {}", dir.display(), refused.problem()),
                        refused.fix(),
                    ),
                    None => checks.problem("outbox", dir.display(), err),
                },
                Ok(state) => {
                    checks.info(
                        "outbox",
                        format_args!(
                            "{} ({} reports, {} bytes)",
                            dir.display(),
                            outbox.count(),
                            outbox.total_bytes()
                        ),
                    );
                    if let DirState::Tightened { was } = state {
                        checks.info(
                            "",
                            format_args!("others could write to it (mode {was:o}): made it private (700)"),
                        );
                    }
                    if let Some(problem) = unwritable(&dir) {
                        checks.problem("outbox", dir.display(), problem);
                    }
                }
            }
        }
        None => checks.problem("outbox", "no state directory", "set HOME or XDG_STATE_HOME"),
    }

    let decision = consent::decide(&config);
    checks.info(
        "telemetry",
        format_args!(
            "{} (decided by {})",
            if decision.enabled { "on" } else { "off" },
            decision.decided_by.name()
        ),
    );
    if consent::waits_for_notice(&config) {
        checks.info("sending", consent::WAITING_FOR_NOTICE);
    }
    match (config.endpoint(), decision.enabled) {
        (None, _) => checks.info("endpoint", "none: reports stay on this machine"),
        // A common slip: the path lokiwrap adds is already there, so every send would be a 404.
        (Some(endpoint), _)
            if endpoint
                .trim_end_matches('/')
                .ends_with(&format!("/{}", deliver::CRASH_PATH)) =>
        {
            checks.problem(
                "endpoint",
                &endpoint,
                format_args!(
                    "remove /{path}: lokiwrap adds it, so reports would go to {}/{path}",
                    endpoint.trim_end_matches('/'),
                    path = deliver::CRASH_PATH
                ),
            )
        }
        (Some(endpoint), false) => {
            checks.info("endpoint", format_args!("{endpoint} (not contacted: telemetry is off)"))
        }
        (Some(endpoint), true) => match reach(&endpoint) {
            Ok(address) => checks.info("endpoint", format_args!("{endpoint} (reachable at {address})")),
            Err(problem) => checks.problem("endpoint", &endpoint, problem),
        },
    }
    match deliver::flusher_program() {
        Ok(path) => checks.info("lokiwrap-flush", path.display()),
        Err(problem) => checks.problem("lokiwrap-flush", "missing", problem),
    }

    check_shims(&mut checks);
    if checks.problems > 0 {
        println!(
            "{} problem{} found",
            checks.problems,
            if checks.problems == 1 { "" } else { "s" }
        );
        1
    } else {
        println!("no problems found");
        0
    }
}

fn check_shims(checks: &mut Checks) {
    let (Some(dir), Ok(lokiwrap)) = (shim::default_dir(), std::env::current_exe()) else {
        checks.problem("shims", "no data directory", "set HOME or XDG_DATA_HOME");
        return;
    };
    let shims = Shims {
        dir: dir.clone(),
        lokiwrap,
    };
    let list = shims.list().unwrap_or_default();
    let path: Vec<std::path::PathBuf> = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()).collect();
    let position = |d: &Path| path.iter().position(|p| same_dir(p, d));
    let shims_at = position(&dir);
    match (list.is_empty(), shims_at) {
        (true, _) => checks.info(
            "shims",
            format_args!("{} (none; lokiwrap shim add TOOL)", dir.display()),
        ),
        (false, None) => checks.problem(
            "shims",
            format_args!("{} is not on PATH", dir.display()),
            "eval \"$(lokiwrap shim env)\" in your shell's rc file (or shims/install.sh)",
        ),
        (false, Some(_)) => checks.info("shims", dir.display()),
    }
    for (name, real) in list {
        match real {
            None => checks.problem(
                &format!("shim {name}"),
                "no real tool of that name on PATH",
                format_args!("install {name}, or lokiwrap shim remove {name}"),
            ),
            Some(real) => {
                let real_at = real.parent().and_then(position);
                match (shims_at, real_at) {
                    (Some(s), Some(r)) if r < s => checks.problem(
                        &format!("shim {name}"),
                        format_args!(
                            "{} comes before the shims on PATH, so {name} runs unwrapped",
                            real.display()
                        ),
                        "put the shims directory first: eval \"$(lokiwrap shim env)\" at the end of your rc file",
                    ),
                    _ => checks.info(&format!("shim {name}"), format_args!("runs {}", real.display())),
                }
            }
        }
    }
}

fn same_dir(a: &Path, b: &Path) -> bool {
    a == b || matches!((a.canonicalize(), b.canonicalize()), (Ok(x), Ok(y)) if x == y)
}

/// Whether lokiwrap could write a report into `dir` (or create it).
fn unwritable(dir: &Path) -> Option<String> {
    let existing = dir.ancestors().find(|d| d.exists())?;
    if !existing.is_dir() {
        return Some(format!(
            "{} is a file where a directory should be; move it away",
            existing.display()
        ));
    }
    nix::unistd::access(existing, nix::unistd::AccessFlags::W_OK)
        .err()
        .map(|e| {
            format!(
                "{} is not writable ({e}); fix its permissions or set XDG_STATE_HOME",
                existing.display()
            )
        })
}

/// Opens (and closes) a TCP connection to the endpoint's host and port: no request is sent.
fn reach(endpoint: &str) -> Result<String, String> {
    let (scheme, rest) = endpoint
        .split_once("://")
        .ok_or("the endpoint is not a URL; write it as https://host")?;
    let default_port = match scheme {
        "https" => 443,
        "http" => 80,
        _ => return Err(format!("the endpoint's scheme is {scheme}; use http or https")),
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let authority = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
    let address = if authority
        .rsplit_once(':')
        .is_some_and(|(_, port)| port.parse::<u16>().is_ok())
    {
        authority.to_string()
    } else {
        format!("{authority}:{default_port}")
    };
    let resolved = address
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {address} ({e}); check the endpoint and your DNS"))?
        .next()
        .ok_or(format!("{address} has no address; check the endpoint"))?;
    TcpStream::connect_timeout(&resolved, Duration::from_secs(3))
        .map(|_| resolved.to_string())
        .map_err(|e| format!("cannot connect to {address} ({e}); is the collector running and the endpoint right?"))
}
