//! The read-only dashboard (`GET /dashboard`, `GET /dashboard.json`): events per tool and
//! plugin over a window, the top crash fingerprints and failure clusters with their issues,
//! friction as its own series, and the GitHub queue. Everything is read from the store's
//! hourly and daily roll-ups, so a page costs what it shows, not the number of events.
//!
//! It answers only when the read token is set (`dashboard_token_env`), to HTTP Basic with any
//! user name and the token as the password, so a browser can open it; the token never goes in
//! a URL. `page.rs` draws the HTML.

pub mod page;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::config::Config;
use crate::hotfix::{FailureDetails, render::issue_title};
use crate::store::{DAY, HOUR, Kind, Store, StoreResult, Subject, bucket_of};

/// The windows a view can show; the one shown is in the URL (`?window=14d`), so it can be linked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Window {
    #[serde(rename = "24h")]
    Day,
    #[serde(rename = "14d")]
    Fortnight,
}

impl Window {
    /// `?window=24h` or `?window=14d`; absent = 24 hours.
    pub fn from_query(query: Option<&str>) -> Result<Window, String> {
        let mut window = Window::Day;
        for pair in query.unwrap_or_default().split('&').filter(|pair| !pair.is_empty()) {
            match pair.split_once('=').unwrap_or((pair, "")) {
                ("window", "24h") => window = Window::Day,
                ("window", "14d") => window = Window::Fortnight,
                ("window", other) => {
                    return Err(format!(
                        "window={} is not a window this dashboard shows: use window=24h or window=14d",
                        other.chars().take(20).collect::<String>()
                    ));
                }
                _ => {}
            }
        }
        Ok(window)
    }

    pub fn name(self) -> &'static str {
        match self {
            Window::Day => "24h",
            Window::Fortnight => "14d",
        }
    }

    /// Bucket size and how many buckets the window spans.
    fn buckets(self) -> (i64, i64) {
        match self {
            Window::Day => (HOUR, 24),
            Window::Fortnight => (DAY, 14),
        }
    }
}

/// Everything one view shows; the JSON endpoint returns exactly this.
#[derive(Debug, Serialize)]
pub struct Board {
    pub window: Window,
    pub generated_at: i64,
    /// Seconds per bucket (3600 or 86400) and the start of each bucket, oldest first.
    pub bucket_secs: i64,
    pub buckets: Vec<i64>,
    /// Tools (crash and friction reports), plugins and workflows with events in the window or
    /// the one before, busiest first.
    pub sources: Vec<SourceRow>,
    /// One series per friction kind (`retry_loop`, `rate_limit_loop`, `gate_failure`, ...).
    pub friction: Vec<SeriesRow>,
    pub top: Vec<TopRow>,
    pub queue: Queue,
}

#[derive(Debug, Serialize)]
pub struct SourceRow {
    /// `tool`, `plugin` or `workflow`.
    pub kind: &'static str,
    pub name: String,
    pub events: u64,
    pub previous: u64,
    /// Per bucket, oldest first.
    pub series: Vec<u64>,
    /// Events in the window by version, most first.
    pub versions: Vec<VersionCount>,
}

#[derive(Debug, Serialize)]
pub struct VersionCount {
    pub version: String,
    pub events: u64,
}

#[derive(Debug, Serialize)]
pub struct SeriesRow {
    pub name: String,
    pub events: u64,
    pub previous: u64,
    pub series: Vec<u64>,
}

#[derive(Debug, Serialize)]
pub struct TopRow {
    pub key: String,
    /// `crash`, `plugin_failure` or `workflow_failure`.
    pub kind: &'static str,
    /// The error class of a crash, the issue title of a failure cluster.
    pub what: String,
    /// The tool or plugin.
    pub name: String,
    pub versions: Vec<String>,
    pub first_seen: i64,
    pub last_seen: i64,
    pub count: u64,
    pub issue: Option<IssueRef>,
    pub promoted: Option<IssueRef>,
}

#[derive(Debug, Serialize)]
pub struct IssueRef {
    pub repo: String,
    pub number: u64,
    pub url: String,
    /// `open` or `closed`.
    pub state: String,
}

#[derive(Debug, Serialize)]
pub struct Queue {
    pub depth: u64,
    pub writes_last_hour: u32,
    pub hourly_budget: u32,
    pub parked: Vec<Parked>,
}

#[derive(Debug, Serialize)]
pub struct Parked {
    pub key: String,
    pub until: i64,
    pub reason: String,
}

/// How many fingerprints and clusters the top list shows.
const TOP: u32 = 15;
/// How many versions a tool's row names.
const VERSIONS_SHOWN: usize = 4;

/// Reads one view from the store.
pub fn board(store: &dyn Store, config: &Config, window: Window, now: i64) -> StoreResult<Board> {
    let (size, count) = window.buckets();
    let last = bucket_of(now, size);
    let first = last - (count - 1) * size;
    let buckets: Vec<i64> = (0..count).map(|at| first + at * size).collect();
    let rollups = store.rollups(size, first - count * size, last + size)?;

    let mut sources: BTreeMap<(&'static str, String), SourceRow> = BTreeMap::new();
    let mut friction: BTreeMap<String, SeriesRow> = BTreeMap::new();
    let mut versions: BTreeMap<(&'static str, String), BTreeMap<String, u64>> = BTreeMap::new();
    for rollup in &rollups {
        let kind = match rollup.key.series.as_str() {
            "plugin_failure" => "plugin",
            "workflow_failure" => "workflow",
            _ => "tool",
        };
        let at = (rollup.bucket - first).div_euclid(size);
        let row = sources
            .entry((kind, rollup.key.name.clone()))
            .or_insert_with(|| SourceRow {
                kind,
                name: rollup.key.name.clone(),
                events: 0,
                previous: 0,
                series: vec![0; count as usize],
                versions: Vec::new(),
            });
        let friction_row = rollup.key.series.strip_prefix("friction:").map(|name| {
            friction.entry(name.to_string()).or_insert_with(|| SeriesRow {
                name: name.to_string(),
                events: 0,
                previous: 0,
                series: vec![0; count as usize],
            })
        });
        if at < 0 {
            row.previous += rollup.count;
            if let Some(friction_row) = friction_row {
                friction_row.previous += rollup.count;
            }
            continue;
        }
        row.events += rollup.count;
        row.series[at as usize] += rollup.count;
        if let Some(friction_row) = friction_row {
            friction_row.events += rollup.count;
            friction_row.series[at as usize] += rollup.count;
        }
        *versions
            .entry((kind, rollup.key.name.clone()))
            .or_default()
            .entry(rollup.key.version.clone())
            .or_default() += rollup.count;
    }
    for (id, row) in &mut sources {
        let mut by_version: Vec<VersionCount> = versions
            .remove(id)
            .unwrap_or_default()
            .into_iter()
            .map(|(version, events)| VersionCount { version, events })
            .collect();
        by_version.sort_by(|a, b| b.events.cmp(&a.events).then_with(|| a.version.cmp(&b.version)));
        by_version.truncate(VERSIONS_SHOWN);
        row.versions = by_version;
    }
    let mut sources: Vec<SourceRow> = sources.into_values().collect();
    sources.sort_by(|a, b| {
        (b.events, b.previous)
            .cmp(&(a.events, a.previous))
            .then_with(|| a.name.cmp(&b.name))
    });

    let web = web_url(&config.github.api_url);
    let mut top = Vec::new();
    for subject in store.top_subjects(first, TOP)? {
        let versions = if subject.kind == Kind::Crash {
            let mut tallies: Vec<_> = store
                .tallies(&subject.key)?
                .into_iter()
                .filter(|tally| tally.dimension == "tool_version")
                .collect();
            tallies.sort_by_key(|tally| std::cmp::Reverse(tally.count));
            tallies
                .into_iter()
                .take(VERSIONS_SHOWN)
                .map(|tally| tally.value)
                .collect()
        } else {
            Vec::new()
        };
        top.push(top_row(subject, versions, &web));
    }

    let (writes_last_hour, _) = store.writes_since(now - HOUR)?;
    let parked = store
        .parked_jobs()?
        .into_iter()
        .map(|job| Parked {
            key: job.key,
            until: job.due_at,
            reason: job.reason,
        })
        .collect();
    Ok(Board {
        window,
        generated_at: now,
        bucket_secs: size,
        buckets,
        sources,
        friction: friction.into_values().collect(),
        top,
        queue: Queue {
            depth: store.queue_depth()?,
            writes_last_hour,
            hourly_budget: config.github.hourly_budget,
            parked,
        },
    })
}

fn top_row(subject: Subject, versions: Vec<String>, web: &str) -> TopRow {
    let text = |name: &str| {
        subject
            .details
            .get(name)
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string()
    };
    let (what, name) = match subject.kind {
        Kind::Crash => (text("error_class"), text("tool")),
        _ => match serde_json::from_value::<FailureDetails>(subject.details.clone()) {
            Ok(details) => {
                let name = match &details.source {
                    crate::hotfix::FailureSource::Plugin(plugin) => plugin.plugin_id.clone(),
                    crate::hotfix::FailureSource::WorkflowRun(run) => run.workflow_name.clone(),
                };
                (issue_title(&details), name)
            }
            Err(_) => (String::new(), String::new()),
        },
    };
    let link = |repo: &str, number: u64, state: &str| IssueRef {
        repo: repo.to_string(),
        number,
        url: format!("{web}/{repo}/issues/{number}"),
        state: state.to_string(),
    };
    TopRow {
        kind: subject.kind.name(),
        what,
        name,
        versions,
        first_seen: subject.first_seen,
        last_seen: subject.last_seen,
        count: subject.count,
        issue: subject
            .issue
            .as_ref()
            .map(|issue| link(&issue.repo, issue.number, &issue.state)),
        promoted: subject
            .public_issue
            .as_ref()
            .map(|(repo, number)| link(repo, *number, "open")),
        key: subject.key,
    }
}

/// Where people read the issues the API writes: github.com for api.github.com, the server
/// itself for GitHub Enterprise (`https://ghe.example/api/v3`).
fn web_url(api_url: &str) -> String {
    let api = api_url.trim_end_matches('/');
    if api == "https://api.github.com" {
        return "https://github.com".to_string();
    }
    api.strip_suffix("/api/v3").unwrap_or(api).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_comes_from_the_query_and_anything_else_is_refused() {
        assert_eq!(Window::from_query(None), Ok(Window::Day));
        assert_eq!(Window::from_query(Some("window=14d")), Ok(Window::Fortnight));
        assert_eq!(Window::from_query(Some("x=1&window=24h")), Ok(Window::Day));
        let error = Window::from_query(Some("window=1y")).unwrap_err();
        assert!(error.contains("window=24h or window=14d"), "{error}");
    }

    #[test]
    fn issue_links_point_at_the_web_not_the_api() {
        assert_eq!(web_url("https://api.github.com"), "https://github.com");
        assert_eq!(web_url("https://ghe.example/api/v3/"), "https://ghe.example");
        assert_eq!(web_url("http://127.0.0.1:9"), "http://127.0.0.1:9");
    }
}
