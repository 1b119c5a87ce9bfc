//! The store: the source of truth for what was received and which issue tracks it. Everything
//! the collector keeps goes through this one small interface: SQLite (`sqlite.rs`) is the
//! default and embedded store; PostgreSQL (`postgres.rs`) lets several collectors share one
//! database.
//!
//! A *subject* is one thing worth one issue: a crash fingerprint, or a failure cluster.

#[cfg(test)]
pub(crate) mod conformance;
mod migrate;
mod postgres;
mod sqlite;

use std::collections::BTreeMap;

pub use postgres::{PostgresStore, is_url as is_postgres_url, masked as masked_url};
pub use sqlite::SqliteStore;

use lokiwrap_report::payload::Report;

/// What an issue is about; stored as the name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Crash,
    PluginFailure,
    WorkflowFailure,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Crash => "crash",
            Kind::PluginFailure => "plugin_failure",
            Kind::WorkflowFailure => "workflow_failure",
        }
    }

    pub fn from_name(name: &str) -> Option<Kind> {
        [Kind::Crash, Kind::PluginFailure, Kind::WorkflowFailure]
            .into_iter()
            .find(|kind| kind.name() == name)
    }
}

/// A report as accepted, with the server's receiving time (clients' clocks are not trusted).
#[derive(Debug, Clone)]
pub struct Received {
    pub report: Report,
    pub received_at: i64,
    /// Queue a GitHub sync for its fingerprint (false when no repository is configured).
    pub sync: bool,
    /// Who sent it, for counting distinct sources (`address:<ip or /64>`). The store keeps only
    /// a salted hash of it.
    pub source: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    /// The first report of its fingerprint.
    New,
    /// Another occurrence of a known fingerprint.
    Repeat,
    /// This report id was stored before: counted once only.
    DuplicateId,
}

/// One occurrence of something other than a crash report (a plugin or workflow failure),
/// already scrubbed and clustered.
#[derive(Debug, Clone)]
pub struct Occurrence {
    pub key: String,
    pub kind: Kind,
    /// The repository its issue belongs in.
    pub repo: String,
    pub details: serde_json::Value,
    /// A delivery id, when the sender has one: the same id twice counts once.
    pub id: Option<String>,
    /// Who it counts as for promotion: the sender's address, or for a signed event its
    /// delivery. The store keeps only a salted hash of it.
    pub source: String,
    pub received_at: i64,
    /// The event as received, scrubbed, to keep for replay (`hotfix.store_raw_payloads`);
    /// `None` = not kept.
    pub raw: Option<String>,
    /// An occurrence after this many seconds of quiet starts a new episode, which the issue
    /// announces (`hotfix.window_hours`).
    pub window_secs: i64,
}

/// An event kept for replay (`hotfix.store_raw_payloads`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    /// Assigned by the store, increasing.
    pub id: i64,
    pub received_at: i64,
    /// The subject it was counted on when it arrived.
    pub key: String,
    pub kind: Kind,
    pub repo: String,
    /// The event's JSON, as scrubbed by the collector.
    pub payload: String,
}

/// The issue that tracks a subject, as last seen on GitHub.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueLink {
    pub repo: String,
    pub number: u64,
    /// `open` or `closed`.
    pub state: String,
    pub state_reason: Option<String>,
    pub closed_at: Option<i64>,
    pub etag: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Subject {
    pub key: String,
    pub kind: Kind,
    /// The repository chosen when the subject was first seen, when the route decides it then.
    pub repo: Option<String>,
    /// What the issue body is made of; already scrubbed.
    pub details: serde_json::Value,
    pub count: u64,
    /// Distinct sources among the occurrences, up to `config::MAX_COUNTED_SOURCES`: what
    /// promotion thresholds count.
    pub sources: u64,
    pub first_seen: i64,
    pub last_seen: i64,
    pub issue: Option<IssueLink>,
    /// `count` as of the last write to the issue.
    pub synced_count: u64,
    pub synced_at: Option<i64>,
    /// A maintainer confirmed it (the promotion label).
    pub confirmed: bool,
    /// Its sanitised public issue, once promoted.
    pub public_issue: Option<(String, u64)>,
    /// Set when it came back after a quiet spell longer than its window: the seconds of quiet,
    /// until the issue has said so.
    pub quiet_return: Option<i64>,
}

/// A pending GitHub sync for one subject; there is at most one per subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub key: String,
    pub due_at: i64,
    pub attempts: u32,
}

/// One count in a breakdown of a subject's occurrences (`lokiwrap_version`, `os_arch`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tally {
    pub dimension: String,
    pub value: String,
    pub count: u64,
}

/// The two sizes of dashboard bucket, in seconds.
pub const HOUR: i64 = 3600;
pub const DAY: i64 = 86_400;

/// What one event counts towards on the dashboard: a series (`crash`, `friction:<kind>`,
/// `plugin_failure`, `workflow_failure`), the tool or plugin, and its version (empty if unknown).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct RollupKey {
    pub series: String,
    pub name: String,
    pub version: String,
}

impl RollupKey {
    /// A crash report counts for its tool and version, in its friction kind's series if it is one.
    pub fn of_report(report: &Report) -> RollupKey {
        RollupKey {
            series: match &report.friction_kind {
                Some(kind) => format!("friction:{kind}"),
                None => "crash".to_string(),
            },
            name: report.tool.clone(),
            version: report.tool_version.clone().unwrap_or_default(),
        }
    }

    /// A plugin failure counts for its plugin (its ref as the version), a failed workflow run for
    /// its workflow.
    pub fn of_occurrence(occurrence: &Occurrence) -> RollupKey {
        let source = occurrence.details.get("source");
        let text = |pointer: &str| {
            source
                .and_then(|source| source.pointer(pointer))
                .and_then(serde_json::Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let (name, version) = match occurrence.kind {
            Kind::WorkflowFailure => (text("/WorkflowRun/workflow_name"), String::new()),
            _ => (text("/Plugin/plugin_id"), text("/Plugin/git_ref")),
        };
        RollupKey {
            series: occurrence.kind.name().to_string(),
            name: if name.is_empty() { occurrence.repo.clone() } else { name },
            version,
        }
    }
}

/// Dashboard counts gathered before a backend writes them, one per hour's and per day's bucket of
/// each key: a batch of reports from one tool is two rows to write, not two per report.
#[derive(Debug, Default)]
pub struct RollupCounts(BTreeMap<(i64, i64, RollupKey), i64>);

impl RollupCounts {
    /// Counts one event at `at` in its hour and its day.
    pub fn count(&mut self, key: RollupKey, at: i64) {
        for granularity in [HOUR, DAY] {
            *self
                .0
                .entry((granularity, bucket_of(at, granularity), key.clone()))
                .or_default() += 1;
        }
    }

    /// The counts of one event.
    pub fn one(key: RollupKey, at: i64) -> RollupCounts {
        let mut counts = RollupCounts::default();
        counts.count(key, at);
        counts
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `(granularity, bucket, key, count)` in key order, the order rows are written in.
    pub fn rows(&self) -> impl Iterator<Item = (i64, i64, &RollupKey, i64)> {
        self.0
            .iter()
            .map(|((granularity, bucket, key), count)| (*granularity, *bucket, key, *count))
    }
}

/// The start of the bucket of `granularity` seconds that holds `at`.
pub fn bucket_of(at: i64, granularity: i64) -> i64 {
    at - at.rem_euclid(granularity)
}

/// One dashboard count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rollup {
    pub bucket: i64,
    pub key: RollupKey,
    pub count: u64,
}

/// A sync job that waits longer than a retry: until when, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParkedJob {
    pub key: String,
    pub due_at: i64,
    pub reason: String,
}

/// Figures for `/v1/stats`, kept in the store so that they survive restarts.
#[derive(Debug, Clone, Default)]
pub struct Figures {
    pub subjects: u64,
    pub queue_depth: u64,
    pub counters: BTreeMap<String, u64>,
}

/// Why the store could not do what was asked, by what the caller can do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreError {
    /// Another writer holds the database: the same request can succeed in a moment. The only
    /// store error a client is asked to retry (503).
    Busy(String),
    /// The database holds what this collector cannot read: a damaged file or an unknown shape.
    /// Retrying does not help; the operator must look.
    Corrupt(String),
    /// The file system or the store's own machinery failed: a full disk, a lost permission, a
    /// stopped writer thread.
    Io(String),
}

impl StoreError {
    pub fn is_busy(&self) -> bool {
        matches!(self, StoreError::Busy(_))
    }
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::Busy(message) | StoreError::Corrupt(message) | StoreError::Io(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for StoreError {}

impl From<StoreError> for String {
    fn from(error: StoreError) -> String {
        error.to_string()
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

pub trait Store: Send + Sync + 'static {
    /// A cheap read that fails when the store cannot be used: for `/healthz`.
    fn check(&self) -> StoreResult<()>;
    /// Stores a batch of reports in one transaction: for each, the id (once), the fingerprint's
    /// counts and breakdowns, and its sync job.
    fn ingest(&self, batch: &[Received]) -> StoreResult<Vec<Stored>>;
    /// Counts one occurrence on its subject (or on the subject it was merged into) and queues
    /// that subject's sync.
    fn record(&self, occurrence: &Occurrence) -> StoreResult<Stored>;
    /// Counts `key`'s occurrences, now and from now on, on `into` instead: used when a
    /// repository has had its share of new issues.
    fn merge_into(&self, key: &str, into: &str, now: i64) -> StoreResult<()>;
    /// The most recently filed subject in `repo` of one of `kinds` that has an issue.
    fn newest_with_issue(&self, repo: &str, kinds: &[Kind]) -> StoreResult<Option<String>>;
    /// Keys merged into `key`, for its issue's text.
    fn merged_keys(&self, key: &str) -> StoreResult<Vec<String>>;
    /// Remembers a new issue in `repo`, for the per-repository limit.
    fn record_creation(&self, repo: &str, at: i64) -> StoreResult<()>;
    fn creations_since(&self, repo: &str, since: i64) -> StoreResult<u32>;
    /// Adds one to a day's count (`name`, `day`) and returns the new count; kept in the store
    /// so that a restart cannot reset a daily cap.
    fn count_daily(&self, name: &str, day: i64, limit: u32) -> StoreResult<Option<u32>>;
    fn subject(&self, key: &str) -> StoreResult<Option<Subject>>;
    /// The subject whose issue is number `number` in `repo` (compared without regard to case),
    /// when the store links one to it.
    fn subject_by_issue(&self, repo: &str, number: u64) -> StoreResult<Option<Subject>>;
    /// Marks a subject confirmed by a maintainer and queues its sync (which promotes it).
    fn confirm(&self, key: &str, now: i64) -> StoreResult<bool>;
    fn link_public(&self, key: &str, repo: &str, number: u64) -> StoreResult<()>;
    fn set_autofix(&self, key: &str, state: &str) -> StoreResult<()>;
    fn clear_quiet_return(&self, key: &str) -> StoreResult<()>;
    /// Adds occurrences known from elsewhere (a recovered issue's count) seen since `since`.
    fn add_occurrences(&self, key: &str, count: u64, since: i64) -> StoreResult<()>;
    fn tallies(&self, key: &str) -> StoreResult<Vec<Tally>>;
    /// The job due first, if it is due by `now`.
    fn due_job(&self, now: i64) -> StoreResult<Option<Job>>;
    /// When the next job is due, whether or not it is due yet.
    fn next_due_at(&self) -> StoreResult<Option<i64>>;
    fn reschedule(&self, key: &str, due_at: i64, attempts: u32) -> StoreResult<()>;
    /// Ends a job after a sync that wrote `synced_count`: the job goes away unless more
    /// occurrences arrived meanwhile, in which case it waits until `next_due_at`.
    fn finish_job(&self, key: &str, synced_count: u64, now: i64, next_due_at: i64) -> StoreResult<()>;
    fn drop_job(&self, key: &str) -> StoreResult<()>;
    fn link_issue(&self, key: &str, link: Option<&IssueLink>) -> StoreResult<()>;
    /// Remembers one write to GitHub, for the hourly budget.
    fn record_write(&self, at: i64) -> StoreResult<()>;
    /// Writes since `since`, and the oldest of them.
    fn writes_since(&self, since: i64) -> StoreResult<(u32, Option<i64>)>;
    fn bump(&self, counter: &str, by: u64) -> StoreResult<()>;
    fn figures(&self) -> StoreResult<Figures>;
    /// The newest `limit` events kept for replay, newest first.
    fn events(&self, limit: u32) -> StoreResult<Vec<StoredEvent>>;
    fn event(&self, id: i64) -> StoreResult<Option<StoredEvent>>;
    /// Forgets report ids and kept events received before `before`, and writes older than an
    /// hour.
    fn prune(&self, before: i64, now: i64) -> StoreResult<()>;
    /// Dashboard counts of `granularity` (`HOUR` or `DAY`) in buckets from `from` up to, not
    /// including, `to`.
    fn rollups(&self, granularity: i64, from: i64, to: i64) -> StoreResult<Vec<Rollup>>;
    /// The subjects seen since `since` with the most occurrences, at most `limit`, merged ones
    /// left out.
    fn top_subjects(&self, since: i64, limit: u32) -> StoreResult<Vec<Subject>>;
    /// Puts a job aside until `due_at` for `reason`, shown on the dashboard until it runs again.
    fn park(&self, key: &str, due_at: i64, reason: &str) -> StoreResult<()>;
    fn parked_jobs(&self) -> StoreResult<Vec<ParkedJob>>;
    /// Sync jobs waiting, parked ones included.
    fn queue_depth(&self) -> StoreResult<u64>;
    /// Whether this collector is the one that writes to GitHub: asked before each sync job and
    /// each write. A store of one collector always leads; a shared one elects one writer among
    /// the collectors using it, and answers false from the moment this one cannot be sure it
    /// still is (see `postgres.rs`).
    fn lead(&self) -> StoreResult<bool>;
    /// Whether other collectors may add jobs to this store: then the sync worker cannot be woken
    /// by them and looks at the queue every second instead.
    fn shared(&self) -> bool;
}
