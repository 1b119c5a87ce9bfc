//! The operator's look into the store from the command line: the plugin failure events kept
//! with `hotfix.store_raw_payloads = true` (list, show, replay) and what the store knows about
//! a crash fingerprint. Nothing here writes to the store or to GitHub; `events replay --to`
//! posts to the URL it is given and nowhere else.

use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use lokiwrap_report::utc::rfc3339_utc_signed;

use super::cli::{CrashesCommand, EventsCommand};
use super::config::Config;
use super::hotfix;
use super::render;
use super::store::{Kind, Store, StoredEvent};

/// Runs `events ...`, printing to stdout. `config_file` is only named in messages.
pub fn events(command: &EventsCommand, config: &Config, config_file: Option<&Path>) -> Result<(), String> {
    let (store, database) = open(config)?;
    match command {
        EventsCommand::List { limit } => list(store.as_ref(), &database, config, config_file, *limit),
        EventsCommand::Show { id } => {
            let event = find(store.as_ref(), &database, *id)?;
            println!("{}", pretty(&event.payload));
            Ok(())
        }
        EventsCommand::Replay {
            id,
            dry_run: _,
            to,
            signing_key,
        } => {
            let event = find(store.as_ref(), &database, *id)?;
            match to {
                None => print!("{}", dry_run(&event, config)?),
                Some(url) => post(&event, url, signing_key.as_deref())?,
            }
            Ok(())
        }
    }
}

/// Runs `crashes ...`, printing to stdout.
pub fn crashes(command: &CrashesCommand, config: &Config) -> Result<(), String> {
    let (store, database) = open(config)?;
    match command {
        CrashesCommand::Show { fingerprint } => {
            print!("{}", crash(store.as_ref(), &database, config, fingerprint)?);
            Ok(())
        }
    }
}

/// The store the collector with `config` uses; never a new one: a database file that does not
/// exist is an error, not an empty store.
fn open(config: &Config) -> Result<(Arc<dyn Store>, String), String> {
    let database = config.database_path()?;
    let is_url = database.to_str().is_some_and(super::store::is_postgres_url);
    if !is_url && !database.exists() {
        return Err(format!(
            "there is no database at {}: give the one the collector uses, with --database PATH|URL or with \
             --config FILE naming it",
            database.display()
        ));
    }
    super::open_store(config)
}

fn list(
    store: &dyn Store,
    database: &str,
    config: &Config,
    config_file: Option<&Path>,
    limit: u32,
) -> Result<(), String> {
    let events = store
        .events(limit)
        .map_err(|e| format!("cannot read the events in {database}: {e}"))?;
    let off = !config.hotfix.store_raw_payloads;
    let turn_on = format!(
        "set `store_raw_payloads = true` in the [hotfix] table of {} and restart the collector; events received \
         from then on are kept for limits.report_id_days days",
        config_file.map_or_else(
            || "the collector's configuration".to_string(),
            |f| f.display().to_string()
        )
    );
    if events.is_empty() {
        if off {
            return Err(format!(
                "no events are kept in {database}: hotfix.store_raw_payloads is off. To keep them, {turn_on}"
            ));
        }
        println!("no events kept in {database} yet");
        return Ok(());
    }
    if off {
        eprintln!("note: hotfix.store_raw_payloads is off, so no new events are kept; to keep them, {turn_on}");
    }
    println!("ID\tRECEIVED\tCLUSTER\tREPOSITORY");
    for event in events {
        println!(
            "{}\t{}\t{}\t{}",
            event.id,
            rfc3339_utc_signed(event.received_at),
            event.key,
            event.repo
        );
    }
    Ok(())
}

fn find(store: &dyn Store, database: &str, id: i64) -> Result<StoredEvent, String> {
    store
        .event(id)
        .map_err(|e| format!("cannot read event {id} in {database}: {e}"))?
        .ok_or_else(|| {
            format!(
                "there is no kept event {id} in {database} (it may have been pruned after limits.report_id_days); \
                 `lokiwrap-collector events list` shows the ids kept"
            )
        })
}

/// The JSON pretty-printed, or as it is if it is not JSON.
fn pretty(payload: &str) -> String {
    serde_json::from_str::<serde_json::Value>(payload)
        .ok()
        .and_then(|value| serde_json::to_string_pretty(&value).ok())
        .unwrap_or_else(|| payload.to_string())
}

/// The issue `event` would be filed as under `config` today, as text: repository, title, body.
fn dry_run(event: &StoredEvent, config: &Config) -> Result<String, String> {
    if event.kind != Kind::PluginFailure {
        return Err(format!(
            "event {} is a {}, which this collector cannot replay; only plugin failures (kernel.plugin_error) are",
            event.id,
            event.kind.name()
        ));
    }
    let mut out = String::new();
    if !config.hotfix.enabled {
        let _ = writeln!(
            out,
            "note: [hotfix] enabled is false in this configuration: a collector running it answers POST /v1/events \
             with 404 and files nothing; set [hotfix] enabled = true to take events"
        );
    }
    let hotfix_config = hotfix::HotfixConfig {
        enabled: true,
        ..config.hotfix.clone()
    };
    match hotfix::from_plugin_error(event.payload.as_bytes(), &hotfix_config) {
        Err(ignored) => {
            let _ = writeln!(
                out,
                "not filed under this configuration: {} ({})",
                ignored.reason.as_str(),
                ignored.message
            );
        }
        Ok(failure) => {
            let at = rfc3339_utc_signed(event.received_at);
            let title = hotfix::issue_title(&failure.details);
            let body = hotfix::issue_body(&failure.details, 1, &at, &at, &config.hotfix.notify);
            let _ = writeln!(out, "repository: {}", failure.repo);
            let _ = writeln!(out, "title: {title}");
            if failure.cluster_key != event.key {
                let _ = writeln!(
                    out,
                    "cluster: {} (it was counted on {} when received)",
                    failure.cluster_key, event.key
                );
            } else {
                let _ = writeln!(out, "cluster: {}", failure.cluster_key);
            }
            if failure.repo != event.repo {
                let _ = writeln!(out, "(when received it was routed to {})", event.repo);
            }
            let _ = writeln!(out, "body:\n{body}");
        }
    }
    Ok(out)
}

/// POSTs the event to `url`: as it is, or as the kernel's signed inputs when a key is given.
fn post(event: &StoredEvent, url: &str, signing_key: Option<&Path>) -> Result<(), String> {
    let target = reqwest::Url::parse(url)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
        .ok_or_else(|| {
            format!("--to {url:?} is not an http(s) URL; give the receiver's, such as http://127.0.0.1:8080/v1/events")
        })?;
    let body = match signing_key {
        None => event.payload.clone().into_bytes(),
        Some(path) => {
            let key = signing_key_from(path)?;
            let inputs = hotfix::signature::sign_inputs(
                &key,
                &format!("replay-{}", event.id),
                "kernel.plugin_error",
                event.payload.as_bytes(),
                url,
            )?;
            inputs.to_string().into_bytes()
        }
    };
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| format!("cannot make an HTTP client: {e}"))?;
    let response = client
        .post(target)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body)
        .send()
        .map_err(|e| {
            format!(
                "cannot POST event {} to {url}: {e}; check the URL and that the receiver runs",
                event.id
            )
        })?;
    let status = response.status();
    let answer: String = response.text().unwrap_or_default().chars().take(2000).collect();
    if !status.is_success() {
        return Err(format!(
            "{url} answered {status} to event {}: {answer}{}",
            event.id,
            if status.as_u16() == 404 {
                " (a collector answers 404 while its [hotfix] is off)"
            } else {
                ""
            }
        ));
    }
    println!(
        "posted event {} to {url}{}: {status} {answer}",
        event.id,
        if signing_key.is_some() { " as signed inputs" } else { "" }
    );
    Ok(())
}

fn signing_key_from(path: &Path) -> Result<rsa::RsaPrivateKey, String> {
    use rsa::pkcs1::DecodeRsaPrivateKey;
    use rsa::pkcs8::DecodePrivateKey;
    let pem =
        std::fs::read_to_string(path).map_err(|e| format!("cannot read the signing key {}: {e}", path.display()))?;
    rsa::RsaPrivateKey::from_pkcs8_pem(&pem)
        .or_else(|_| rsa::RsaPrivateKey::from_pkcs1_pem(&pem))
        .map_err(|_| {
            format!(
                "{} is not an RSA private key in PEM (\"BEGIN PRIVATE KEY\" or \"BEGIN RSA PRIVATE KEY\"); give the \
                 private half of the key the receiver has as hotfix.kernel_public_key_file",
                path.display()
            )
        })
}

/// A crash fingerprint's issue as the collector would write it now.
fn crash(store: &dyn Store, database: &str, config: &Config, fingerprint: &str) -> Result<String, String> {
    let key = fingerprint.trim().to_ascii_lowercase();
    let subject = store
        .subject(&key)
        .map_err(|e| format!("cannot read {database}: {e}"))?
        .ok_or_else(|| {
            format!(
                "no crash with fingerprint {key:?} in {database}: give the whole fingerprint, the 64 hex characters \
                 in the issue's <!-- lokiwrap-fingerprint: ... --> line"
            )
        })?;
    if subject.kind != Kind::Crash {
        return Err(format!(
            "{key} is a {} cluster, not a crash fingerprint; `lokiwrap-collector events list` shows kept failure events",
            subject.kind.name()
        ));
    }
    let tallies = store
        .tallies(&key)
        .map_err(|e| format!("cannot read {database}: {e}"))?;
    let tool = subject.details.get("tool").and_then(|v| v.as_str()).unwrap_or("");
    let repo = subject
        .repo
        .clone()
        .or_else(|| config.repo_for_tool(tool).map(String::from));
    let mut out = String::new();
    match repo {
        Some(repo) => {
            let _ = writeln!(out, "repository: {repo}");
        }
        None => {
            let _ = writeln!(
                out,
                "repository: none (neither github.triage_repo nor github.tool_repos names one: nothing is filed)"
            );
        }
    }
    match &subject.issue {
        Some(issue) => {
            let _ = writeln!(out, "issue: {}#{} ({})", issue.repo, issue.number, issue.state);
        }
        None => {
            let _ = writeln!(out, "issue: not filed yet");
        }
    }
    let _ = writeln!(out, "title: {}", render::crash_title(&subject));
    let _ = writeln!(out, "body:\n{}", render::crash_body(&subject, &tallies));
    Ok(out)
}
