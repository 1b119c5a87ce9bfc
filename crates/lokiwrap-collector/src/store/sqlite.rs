//! The embedded store: one SQLite file in WAL mode. Writes are serialised on one connection
//! (SQLite has one writer anyway; queueing in-process means no `SQLITE_BUSY` under load), and
//! reads use a second connection so that the sync worker never waits behind a batch.

use std::path::Path;
use std::sync::Mutex;

use rusqlite::{Connection, OptionalExtension, params};

use super::migrate::{self, Migration};
use super::{
    Figures, IssueLink, Job, Kind, Occurrence, ParkedJob, Received, Rollup, RollupCounts, RollupKey, Store, StoreError,
    StoreResult, Stored, StoredEvent, Subject, Tally,
};

pub struct SqliteStore {
    writer: Mutex<Connection>,
    reader: Mutex<Connection>,
    /// Sources are stored as `sha256(salt, source)`: the salt is random per database, so a
    /// stored hash says nothing about an address without the database itself.
    source_salt: String,
    /// (fingerprint, source hash) pairs already counted in a committed batch. A popular crash
    /// is reported again and again by the same senders; looking the pair up here spares the
    /// database an insert that would change nothing.
    counted_sources: Mutex<lru::LruCache<(String, String), ()>>,
}

/// Pairs remembered in `counted_sources`.
pub(super) const COUNTED_SOURCES_CACHED: usize = 16 * 1024;

fn open(path: &Path) -> rusqlite::Result<Connection> {
    let connection = Connection::open(path)?;
    connection.busy_timeout(std::time::Duration::from_secs(5))?;
    connection.pragma_update(None, "journal_mode", "WAL")?;
    connection.pragma_update(None, "synchronous", "NORMAL")?;
    connection.pragma_update(None, "foreign_keys", "ON")?;
    Ok(connection)
}

fn failed(what: &str) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
    move |e| classify(&e, format!("the store could not {what}: {e}"))
}

/// Sorts SQLite's errors by what the caller can do: wait (busy), have the operator restore or
/// replace the file (corrupt: also a table or column this code does not find), or fix the
/// file system (io).
fn classify(error: &rusqlite::Error, message: String) -> StoreError {
    use rusqlite::ErrorCode;
    match error.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => StoreError::Busy(message),
        Some(
            ErrorCode::SystemIoFailure
            | ErrorCode::DiskFull
            | ErrorCode::CannotOpen
            | ErrorCode::ReadOnly
            | ErrorCode::PermissionDenied
            | ErrorCode::OutOfMemory
            | ErrorCode::FileLockingProtocolFailed
            | ErrorCode::NoLargeFileSupport,
        ) => StoreError::Io(message),
        _ => StoreError::Corrupt(message),
    }
}

/// The schema version of a database written before versions were recorded (`user_version` 0):
/// read from what its `subjects` table has, each release having added columns. 0 for a new
/// database.
fn unrecorded_version(tx: &rusqlite::Transaction<'_>) -> rusqlite::Result<u32> {
    let columns: Vec<String> = tx
        .prepare("SELECT name FROM pragma_table_info('subjects')")?
        .query_map([], |row| row.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let has = |name: &str| columns.iter().any(|column| column == name);
    Ok(if columns.is_empty() {
        0
    } else if has("quiet_return") {
        4
    } else if has("confirmed") {
        3
    } else if has("filed_at") {
        2
    } else {
        1
    })
}

/// Brings the database to the newest schema: every step after its recorded version, in order,
/// in one transaction, so that a failed upgrade leaves the database as it was.
fn migrate(connection: &mut Connection, path: &Path, migrations: &[Migration]) -> Result<(), String> {
    let newest = migrate::latest(migrations);
    let cannot_upgrade = |from: u32, e: rusqlite::Error| match classify(&e, String::new()) {
        StoreError::Busy(_) => format!(
            "cannot upgrade the database {}: another process holds it ({e}); stop the other lokiwrap-collector using it and start again",
            path.display()
        ),
        StoreError::Io(_) => format!(
            "cannot upgrade the database {} from schema version {from} to {newest}: {e}; check the path, its permissions and the free space",
            path.display()
        ),
        StoreError::Corrupt(_) => format!(
            "cannot upgrade the database {} from schema version {from} to {newest}: {e}; nothing was changed. \
             Restore it from a backup, or point --database at a new file to start an empty store",
            path.display()
        ),
    };
    let tx = connection
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(|e| cannot_upgrade(0, e))?;
    let recorded: u32 = tx
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .map_err(|e| cannot_upgrade(0, e))?;
    let current = if recorded == 0 {
        unrecorded_version(&tx).map_err(|e| cannot_upgrade(0, e))?
    } else {
        recorded
    };
    let steps = migrate::pending(migrations, current).map_err(|known| {
        format!(
            "the database {} has schema version {current}, but this lokiwrap-collector knows versions up to {known}: \
             a newer lokiwrap-collector wrote it. Run that version (or newer), or point --database at another file; \
             this one was left untouched",
            path.display()
        )
    })?;
    for step in steps {
        tx.execute_batch(step.sql).map_err(|e| cannot_upgrade(current, e))?;
        tracing::info!(version = step.version, step = step.name, "database schema upgraded");
    }
    if current != recorded || !steps.is_empty() {
        tx.pragma_update(None, "user_version", newest)
            .map_err(|e| cannot_upgrade(current, e))?;
    }
    tx.commit().map_err(|e| cannot_upgrade(current, e))
}

impl SqliteStore {
    pub fn open(path: &Path) -> Result<SqliteStore, String> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .map_err(|e| format!("cannot create {} for the database: {e}", parent.display()))?;
        }
        let explain = |e: rusqlite::Error| match classify(&e, String::new()) {
            StoreError::Corrupt(_) => format!(
                "cannot open the database {}: {e}; it is damaged or not a lokiwrap-collector database. \
                 Restore it from a backup, or point --database at a new file",
                path.display()
            ),
            StoreError::Busy(_) => format!(
                "cannot open the database {}: {e}; another process holds it, stop it and start again",
                path.display()
            ),
            StoreError::Io(_) => format!(
                "cannot open the database {}: {e}; check the path and its permissions",
                path.display()
            ),
        };
        let mut writer = open(path).map_err(explain)?;
        migrate(&mut writer, path, migrate::SQLITE)?;
        let reader = open(path).map_err(explain)?;
        let source_salt = reader
            .query_row(
                "SELECT value FROM store_settings WHERE name = 'source_salt'",
                [],
                |row| row.get(0),
            )
            .map_err(explain)?;
        Ok(SqliteStore {
            writer: Mutex::new(writer),
            reader: Mutex::new(reader),
            source_salt,
            counted_sources: Mutex::new(lru::LruCache::new(
                std::num::NonZeroUsize::new(COUNTED_SOURCES_CACHED).unwrap_or(std::num::NonZeroUsize::MIN),
            )),
        })
    }

    fn writer(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.writer.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn reader(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.reader.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The parts of a crash report that make its issue: the fingerprint's inputs and the context
/// that is the same for every occurrence.
pub(super) fn crash_details(report: &lokiwrap_report::payload::Report) -> String {
    serde_json::json!({
        "tool": report.tool,
        "error_class": report.error_class,
        "stack_signature": report.stack_signature,
        "runtime": report.runtime,
        "friction_kind": report.friction_kind,
        "signal": report.signal,
    })
    .to_string()
}

/// A source's stored form.
pub(super) fn source_hash(salt: &str, source: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::new()
        .chain_update(salt.as_bytes())
        .chain_update([0])
        .chain_update(source.as_bytes())
        .finalize();
    lokiwrap_report::payload::hex(&digest[..16])
}

/// Counts `source` on `key` once, up to `MAX_COUNTED_SOURCES` sources per subject.
fn count_source(tx: &rusqlite::Transaction<'_>, key: &str, source: &str) -> rusqlite::Result<()> {
    let added = tx
        .prepare_cached(
            "INSERT INTO subject_sources (key, source)
             SELECT ?1, ?2 WHERE (SELECT sources FROM subjects WHERE key = ?1) < ?3
             ON CONFLICT (key, source) DO NOTHING",
        )?
        .execute(params![key, source, crate::config::MAX_COUNTED_SOURCES as i64])?;
    if added > 0 {
        tx.prepare_cached("UPDATE subjects SET sources = sources + 1 WHERE key = ?1")?
            .execute([key])?;
    }
    Ok(())
}

/// What a batch of reports knows about sources already counted: those of committed batches
/// (`committed`), and those of this batch so far (`batch`, added to the cache once it commits).
struct SourcesSeen<'a> {
    committed: &'a lru::LruCache<(String, String), ()>,
    batch: std::collections::HashSet<(String, String)>,
}

fn write_rollups(tx: &rusqlite::Transaction<'_>, counts: &RollupCounts) -> rusqlite::Result<()> {
    let mut upsert = tx.prepare_cached(
        "INSERT INTO rollups (granularity, bucket, series, name, version, count) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (granularity, bucket, series, name, version) DO UPDATE SET count = count + excluded.count",
    )?;
    for (granularity, bucket, key, count) in counts.rows() {
        upsert.execute(params![granularity, bucket, key.series, key.name, key.version, count])?;
    }
    Ok(())
}

fn store_one(
    tx: &rusqlite::Transaction<'_>,
    item: &Received,
    salt: &str,
    seen: &mut SourcesSeen<'_>,
    rollups: &mut RollupCounts,
) -> rusqlite::Result<Stored> {
    let report = &item.report;
    let fresh = tx
        .prepare_cached("INSERT OR IGNORE INTO report_ids (id, received_at) VALUES (?1, ?2)")?
        .execute(params![report.id, item.received_at])?;
    if fresh == 0 {
        return Ok(Stored::DuplicateId);
    }
    let count: i64 = tx
        .prepare_cached(
            "INSERT INTO subjects (key, kind, details, count, first_seen, last_seen)
             VALUES (?1, 'crash', ?2, 1, ?3, ?3)
             ON CONFLICT (key) DO UPDATE SET count = count + 1, last_seen = max(last_seen, excluded.last_seen)
             RETURNING count",
        )?
        .query_row(
            params![report.fingerprint, crash_details(report), item.received_at],
            |row| row.get(0),
        )?;
    let mut tally = tx.prepare_cached(
        "INSERT INTO tallies (key, dimension, value, count) VALUES (?1, ?2, ?3, 1)
         ON CONFLICT (key, dimension, value) DO UPDATE SET count = count + 1",
    )?;
    let os_arch = format!("{}/{}", report.os, report.arch);
    let dimensions = [
        ("lokiwrap_version", Some(report.lokiwrap_version.as_str())),
        ("tool_version", report.tool_version.as_deref()),
        ("os_arch", Some(os_arch.as_str())),
    ];
    for (dimension, value) in dimensions {
        if let Some(value) = value {
            tally.execute(params![report.fingerprint, dimension, value])?;
        }
    }
    rollups.count(RollupKey::of_report(report), item.received_at);
    let pair = (report.fingerprint.clone(), source_hash(salt, &item.source));
    if !seen.committed.contains(&pair) && !seen.batch.contains(&pair) {
        count_source(tx, &pair.0, &pair.1)?;
        seen.batch.insert(pair);
    }
    if item.sync {
        tx.prepare_cached("INSERT INTO sync_jobs (key, due_at) VALUES (?1, ?2) ON CONFLICT (key) DO NOTHING")?
            .execute(params![report.fingerprint, item.received_at])?;
    }
    Ok(if count == 1 { Stored::New } else { Stored::Repeat })
}

fn read_subject(row: &rusqlite::Row<'_>) -> rusqlite::Result<Subject> {
    let kind: String = row.get("kind")?;
    let details: String = row.get("details")?;
    let issue = match (
        row.get::<_, Option<String>>("issue_repo")?,
        row.get::<_, Option<i64>>("issue_number")?,
    ) {
        (Some(repo), Some(number)) => Some(IssueLink {
            repo,
            number: number as u64,
            state: row
                .get::<_, Option<String>>("issue_state")?
                .unwrap_or_else(|| "open".into()),
            state_reason: row.get("issue_state_reason")?,
            closed_at: row.get("issue_closed_at")?,
            etag: row.get("issue_etag")?,
        }),
        _ => None,
    };
    Ok(Subject {
        key: row.get("key")?,
        kind: Kind::from_name(&kind).unwrap_or(Kind::Crash),
        repo: row.get("repo")?,
        details: serde_json::from_str(&details).unwrap_or_default(),
        count: row.get::<_, i64>("count")? as u64,
        sources: row.get::<_, i64>("sources")? as u64,
        first_seen: row.get("first_seen")?,
        last_seen: row.get("last_seen")?,
        issue,
        synced_count: row.get::<_, i64>("synced_count")? as u64,
        synced_at: row.get("synced_at")?,
        confirmed: row.get::<_, i64>("confirmed")? != 0,
        public_issue: match (
            row.get::<_, Option<String>>("public_repo")?,
            row.get::<_, Option<i64>>("public_number")?,
        ) {
            (Some(repo), Some(number)) => Some((repo, number as u64)),
            _ => None,
        },
        quiet_return: row.get("quiet_return")?,
    })
}

fn read_event(row: &rusqlite::Row<'_>) -> rusqlite::Result<StoredEvent> {
    let kind: String = row.get("kind")?;
    Ok(StoredEvent {
        id: row.get("id")?,
        received_at: row.get("received_at")?,
        key: row.get("key")?,
        kind: Kind::from_name(&kind).unwrap_or(Kind::PluginFailure),
        repo: row.get("repo")?,
        payload: row.get("payload")?,
    })
}

fn record_one(tx: &rusqlite::Transaction<'_>, item: &Occurrence, salt: &str) -> rusqlite::Result<Stored> {
    if let Some(id) = &item.id {
        let fresh = tx
            .prepare_cached("INSERT OR IGNORE INTO report_ids (id, received_at) VALUES (?1, ?2)")?
            .execute(params![id, item.received_at])?;
        if fresh == 0 {
            return Ok(Stored::DuplicateId);
        }
    }
    let merged: Option<String> = tx
        .query_row("SELECT merged_into FROM subjects WHERE key = ?1", [&item.key], |row| {
            row.get(0)
        })
        .optional()?
        .flatten();
    let counted = merged.as_deref().unwrap_or(&item.key);
    let previous: Option<i64> = tx
        .query_row("SELECT last_seen FROM subjects WHERE key = ?1", [counted], |row| {
            row.get(0)
        })
        .optional()?;
    let count: i64 = tx
        .prepare_cached(
            "INSERT INTO subjects (key, kind, repo, details, count, first_seen, last_seen)
             VALUES (?1, ?2, ?3, ?4, 1, ?5, ?5)
             ON CONFLICT (key) DO UPDATE SET count = count + 1, last_seen = max(last_seen, excluded.last_seen),
                 details = CASE WHEN key = ?6 THEN excluded.details ELSE details END
             RETURNING count",
        )?
        .query_row(
            params![
                counted,
                item.kind.name(),
                item.repo,
                item.details.to_string(),
                item.received_at,
                item.key
            ],
            |row| row.get(0),
        )?;
    count_source(tx, counted, &source_hash(salt, &item.source))?;
    write_rollups(tx, &RollupCounts::one(RollupKey::of_occurrence(item), item.received_at))?;
    tx.prepare_cached("INSERT INTO sync_jobs (key, due_at) VALUES (?1, ?2) ON CONFLICT (key) DO NOTHING")?
        .execute(params![counted, item.received_at])?;
    if let Some(raw) = &item.raw {
        tx.prepare_cached(
            "INSERT INTO stored_events (received_at, key, kind, repo, payload) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![item.received_at, item.key, item.kind.name(), item.repo, raw])?;
    }
    if let Some(gap) = previous
        .map(|last| item.received_at - last)
        .filter(|gap| *gap > item.window_secs)
    {
        tx.execute(
            "UPDATE subjects SET quiet_return = ?2 WHERE key = ?1",
            params![counted, gap],
        )?;
    }
    Ok(if count == 1 { Stored::New } else { Stored::Repeat })
}

impl Store for SqliteStore {
    fn check(&self) -> StoreResult<()> {
        self.reader()
            .query_row("SELECT count(*) FROM store_settings", [], |_| Ok(()))
            .map_err(failed("read its settings"))
    }

    fn record(&self, occurrence: &Occurrence) -> StoreResult<Stored> {
        let mut connection = self.writer();
        let tx = connection
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(failed("start a transaction"))?;
        let stored = record_one(&tx, occurrence, &self.source_salt).map_err(failed("store a failure"))?;
        tx.commit().map_err(failed("commit"))?;
        Ok(stored)
    }

    fn confirm(&self, key: &str, now: i64) -> StoreResult<bool> {
        let mut connection = self.writer();
        let tx = connection.transaction().map_err(failed("start a transaction"))?;
        let changed = tx
            .execute(
                "UPDATE subjects SET confirmed = 1 WHERE key = ?1 AND confirmed = 0",
                [key],
            )
            .map_err(failed("confirm"))?;
        if changed > 0 {
            tx.execute(
                "INSERT INTO sync_jobs (key, due_at) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET due_at = ?2",
                params![key, now],
            )
            .map_err(failed("confirm"))?;
        }
        tx.commit().map_err(failed("commit"))?;
        Ok(changed > 0)
    }

    fn link_public(&self, key: &str, repo: &str, number: u64) -> StoreResult<()> {
        self.writer()
            .execute(
                "UPDATE subjects SET public_repo = ?2, public_number = ?3 WHERE key = ?1",
                params![key, repo, number as i64],
            )
            .map(drop)
            .map_err(failed("record a public issue"))
    }

    fn add_occurrences(&self, key: &str, count: u64, since: i64) -> StoreResult<()> {
        self.writer()
            .execute(
                "UPDATE subjects SET count = count + ?2, first_seen = min(first_seen, ?3) WHERE key = ?1",
                params![key, count as i64, since],
            )
            .map(drop)
            .map_err(failed("add occurrences"))
    }

    fn clear_quiet_return(&self, key: &str) -> StoreResult<()> {
        self.writer()
            .execute("UPDATE subjects SET quiet_return = NULL WHERE key = ?1", [key])
            .map(drop)
            .map_err(failed("record an announcement"))
    }

    fn set_autofix(&self, key: &str, state: &str) -> StoreResult<()> {
        self.writer()
            .execute("UPDATE subjects SET autofix = ?2 WHERE key = ?1", params![key, state])
            .map(drop)
            .map_err(failed("record an auto-fix"))
    }

    fn merge_into(&self, key: &str, into: &str, now: i64) -> StoreResult<()> {
        let mut connection = self.writer();
        let tx = connection.transaction().map_err(failed("start a transaction"))?;
        tx.execute(
            "UPDATE subjects SET count = count + (SELECT count FROM subjects WHERE key = ?1),
             last_seen = max(last_seen, (SELECT last_seen FROM subjects WHERE key = ?1)) WHERE key = ?2",
            params![key, into],
        )
        .map_err(failed("merge a subject"))?;
        tx.execute(
            "UPDATE subjects SET merged_into = ?2 WHERE key = ?1",
            params![key, into],
        )
        .map_err(failed("merge a subject"))?;
        tx.execute("DELETE FROM sync_jobs WHERE key = ?1", [key])
            .map_err(failed("merge a subject"))?;
        tx.execute(
            "INSERT INTO sync_jobs (key, due_at) VALUES (?1, ?2) ON CONFLICT (key) DO NOTHING",
            params![into, now],
        )
        .map_err(failed("merge a subject"))?;
        tx.commit().map_err(failed("commit"))
    }

    fn newest_with_issue(&self, repo: &str, kinds: &[Kind]) -> StoreResult<Option<String>> {
        let names: Vec<&str> = kinds.iter().map(|kind| kind.name()).collect();
        let connection = self.reader();
        let mut statement = connection
            .prepare_cached(
                "SELECT key, kind FROM subjects WHERE issue_repo = ?1 AND issue_number IS NOT NULL
                 AND merged_into IS NULL ORDER BY filed_at DESC, issue_number DESC",
            )
            .map_err(failed("find the newest issue"))?;
        let rows = statement
            .query_map([repo], |row| Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?)))
            .map_err(failed("find the newest issue"))?;
        for row in rows {
            let (key, kind) = row.map_err(failed("find the newest issue"))?;
            if names.contains(&kind.as_str()) {
                return Ok(Some(key));
            }
        }
        Ok(None)
    }

    fn merged_keys(&self, key: &str) -> StoreResult<Vec<String>> {
        let connection = self.reader();
        let mut statement = connection
            .prepare_cached("SELECT key FROM subjects WHERE merged_into = ?1 ORDER BY first_seen")
            .map_err(failed("read merged subjects"))?;
        let rows = statement
            .query_map([key], |row| row.get(0))
            .map_err(failed("read merged subjects"))?;
        rows.collect::<rusqlite::Result<Vec<String>>>()
            .map_err(failed("read merged subjects"))
    }

    fn record_creation(&self, repo: &str, at: i64) -> StoreResult<()> {
        self.writer()
            .execute(
                "INSERT INTO issue_creations (repo, at) VALUES (?1, ?2)",
                params![repo, at],
            )
            .map(drop)
            .map_err(failed("record a new issue"))
    }

    fn creations_since(&self, repo: &str, since: i64) -> StoreResult<u32> {
        self.reader()
            .query_row(
                "SELECT count(*) FROM issue_creations WHERE repo = ?1 AND at >= ?2",
                params![repo, since],
                |row| row.get::<_, i64>(0).map(|n| n as u32),
            )
            .map_err(failed("count new issues"))
    }

    fn count_daily(&self, name: &str, day: i64, limit: u32) -> StoreResult<Option<u32>> {
        let mut connection = self.writer();
        let tx = connection
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(failed("start a transaction"))?;
        let used: i64 = tx
            .query_row(
                "SELECT count FROM daily_counts WHERE name = ?1 AND day = ?2",
                params![name, day],
                |row| row.get(0),
            )
            .optional()
            .map_err(failed("read a daily count"))?
            .unwrap_or(0);
        if used >= i64::from(limit) {
            return Ok(None);
        }
        tx.execute(
            "INSERT INTO daily_counts (name, day, count) VALUES (?1, ?2, 1)
             ON CONFLICT (name, day) DO UPDATE SET count = count + 1",
            params![name, day],
        )
        .map_err(failed("count"))?;
        tx.commit().map_err(failed("commit"))?;
        Ok(Some(used as u32 + 1))
    }

    fn ingest(&self, batch: &[Received]) -> StoreResult<Vec<Stored>> {
        let mut connection = self.writer();
        let tx = connection
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(failed("start a transaction"))?;
        let mut cache = self
            .counted_sources
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut seen = SourcesSeen {
            committed: &cache,
            batch: std::collections::HashSet::new(),
        };
        let mut rollups = RollupCounts::default();
        let outcomes = batch
            .iter()
            .map(|item| store_one(&tx, item, &self.source_salt, &mut seen, &mut rollups))
            .collect::<rusqlite::Result<Vec<_>>>();
        let outcomes = outcomes.map_err(failed("store a report"))?;
        write_rollups(&tx, &rollups).map_err(failed("store a report"))?;
        tx.commit().map_err(failed("commit"))?;
        // Only pairs whose count is committed may spare a later insert.
        for pair in seen.batch {
            cache.put(pair, ());
        }
        Ok(outcomes)
    }

    fn subject(&self, key: &str) -> StoreResult<Option<Subject>> {
        self.reader()
            .query_row("SELECT * FROM subjects WHERE key = ?1", [key], read_subject)
            .optional()
            .map_err(failed("read a fingerprint"))
    }

    fn subject_by_issue(&self, repo: &str, number: u64) -> StoreResult<Option<Subject>> {
        self.reader()
            .query_row(
                "SELECT * FROM subjects WHERE issue_number = ?2 AND issue_repo = ?1 COLLATE NOCASE
                 AND merged_into IS NULL ORDER BY key LIMIT 1",
                params![repo, number as i64],
                read_subject,
            )
            .optional()
            .map_err(failed("find the subject of an issue"))
    }

    fn tallies(&self, key: &str) -> StoreResult<Vec<Tally>> {
        let connection = self.reader();
        let mut statement = connection
            .prepare_cached(
                "SELECT dimension, value, count FROM tallies WHERE key = ?1 ORDER BY dimension, count DESC, value",
            )
            .map_err(failed("read tallies"))?;
        let rows = statement
            .query_map([key], |row| {
                Ok(Tally {
                    dimension: row.get(0)?,
                    value: row.get(1)?,
                    count: row.get::<_, i64>(2)? as u64,
                })
            })
            .map_err(failed("read tallies"))?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(failed("read tallies"))
    }

    fn due_job(&self, now: i64) -> StoreResult<Option<Job>> {
        self.reader()
            .query_row(
                "SELECT key, due_at, attempts FROM sync_jobs WHERE due_at <= ?1 ORDER BY due_at, key LIMIT 1",
                [now],
                |row| {
                    Ok(Job {
                        key: row.get(0)?,
                        due_at: row.get(1)?,
                        attempts: row.get::<_, i64>(2)? as u32,
                    })
                },
            )
            .optional()
            .map_err(failed("read the sync queue"))
    }

    fn next_due_at(&self) -> StoreResult<Option<i64>> {
        self.reader()
            .query_row("SELECT min(due_at) FROM sync_jobs", [], |row| row.get(0))
            .map_err(failed("read the sync queue"))
    }

    fn reschedule(&self, key: &str, due_at: i64, attempts: u32) -> StoreResult<()> {
        self.writer()
            .execute(
                "UPDATE sync_jobs SET due_at = ?2, attempts = ?3, parked_reason = NULL WHERE key = ?1",
                params![key, due_at, attempts as i64],
            )
            .map(drop)
            .map_err(failed("reschedule a sync"))
    }

    fn finish_job(&self, key: &str, synced_count: u64, now: i64, next_due_at: i64) -> StoreResult<()> {
        let mut connection = self.writer();
        let tx = connection.transaction().map_err(failed("start a transaction"))?;
        tx.execute(
            "UPDATE subjects SET synced_count = ?2, synced_at = ?3 WHERE key = ?1",
            params![key, synced_count as i64, now],
        )
        .map_err(failed("record a sync"))?;
        let current: Option<i64> = tx
            .query_row("SELECT count FROM subjects WHERE key = ?1", [key], |row| row.get(0))
            .optional()
            .map_err(failed("read a fingerprint"))?;
        if current.is_some_and(|count| count as u64 > synced_count) {
            tx.execute(
                "UPDATE sync_jobs SET due_at = ?2, attempts = 0 WHERE key = ?1",
                params![key, next_due_at],
            )
        } else {
            tx.execute("DELETE FROM sync_jobs WHERE key = ?1", [key])
        }
        .map_err(failed("update the sync queue"))?;
        tx.commit().map_err(failed("commit"))
    }

    fn drop_job(&self, key: &str) -> StoreResult<()> {
        self.writer()
            .execute("DELETE FROM sync_jobs WHERE key = ?1", [key])
            .map(drop)
            .map_err(failed("update the sync queue"))
    }

    fn link_issue(&self, key: &str, link: Option<&IssueLink>) -> StoreResult<()> {
        let number = link.map(|l| l.number as i64);
        self.writer()
            .execute(
                "UPDATE subjects SET issue_repo = ?2, issue_number = ?3, issue_state = ?4,
                 issue_state_reason = ?5, issue_closed_at = ?6, issue_etag = ?7,
                 filed_at = CASE WHEN ?3 IS NULL THEN NULL ELSE coalesce(filed_at, unixepoch()) END
                 WHERE key = ?1",
                params![
                    key,
                    link.map(|l| &l.repo),
                    number,
                    link.map(|l| &l.state),
                    link.and_then(|l| l.state_reason.as_ref()),
                    link.and_then(|l| l.closed_at),
                    link.and_then(|l| l.etag.as_ref()),
                ],
            )
            .map(drop)
            .map_err(failed("record an issue"))
    }

    fn record_write(&self, at: i64) -> StoreResult<()> {
        self.writer()
            .execute("INSERT INTO github_writes (at) VALUES (?1)", [at])
            .map(drop)
            .map_err(failed("record a GitHub write"))
    }

    fn writes_since(&self, since: i64) -> StoreResult<(u32, Option<i64>)> {
        self.reader()
            .query_row(
                "SELECT count(*), min(at) FROM github_writes WHERE at >= ?1",
                [since],
                |row| Ok((row.get::<_, i64>(0)? as u32, row.get(1)?)),
            )
            .map_err(failed("read the GitHub budget"))
    }

    fn bump(&self, counter: &str, by: u64) -> StoreResult<()> {
        self.writer()
            .execute(
                "INSERT INTO counters (name, value) VALUES (?1, ?2)
                 ON CONFLICT (name) DO UPDATE SET value = value + excluded.value",
                params![counter, by as i64],
            )
            .map(drop)
            .map_err(failed("count"))
    }

    fn rollups(&self, granularity: i64, from: i64, to: i64) -> StoreResult<Vec<Rollup>> {
        let connection = self.reader();
        let mut statement = connection
            .prepare_cached(
                "SELECT bucket, series, name, version, count FROM rollups
                 WHERE granularity = ?1 AND bucket >= ?2 AND bucket < ?3",
            )
            .map_err(failed("read the dashboard's counts"))?;
        statement
            .query_map(params![granularity, from, to], |row| {
                Ok(Rollup {
                    bucket: row.get(0)?,
                    key: RollupKey {
                        series: row.get(1)?,
                        name: row.get(2)?,
                        version: row.get(3)?,
                    },
                    count: row.get::<_, i64>(4)? as u64,
                })
            })
            .and_then(|rows| rows.collect())
            .map_err(failed("read the dashboard's counts"))
    }

    fn top_subjects(&self, since: i64, limit: u32) -> StoreResult<Vec<Subject>> {
        let connection = self.reader();
        let mut statement = connection
            .prepare_cached(
                "SELECT * FROM subjects WHERE last_seen >= ?1 AND merged_into IS NULL
                 ORDER BY count DESC, key LIMIT ?2",
            )
            .map_err(failed("read the top fingerprints"))?;
        statement
            .query_map(params![since, limit], read_subject)
            .and_then(|rows| rows.collect())
            .map_err(failed("read the top fingerprints"))
    }

    fn park(&self, key: &str, due_at: i64, reason: &str) -> StoreResult<()> {
        self.writer()
            .execute(
                "UPDATE sync_jobs SET due_at = ?2, attempts = 0, parked_reason = ?3 WHERE key = ?1",
                params![key, due_at, reason],
            )
            .map(drop)
            .map_err(failed("park a sync"))
    }

    fn parked_jobs(&self) -> StoreResult<Vec<ParkedJob>> {
        let connection = self.reader();
        let mut statement = connection
            .prepare_cached(
                "SELECT key, due_at, parked_reason FROM sync_jobs WHERE parked_reason IS NOT NULL
                 ORDER BY due_at, key LIMIT 100",
            )
            .map_err(failed("read the parked jobs"))?;
        statement
            .query_map([], |row| {
                Ok(ParkedJob {
                    key: row.get(0)?,
                    due_at: row.get(1)?,
                    reason: row.get(2)?,
                })
            })
            .and_then(|rows| rows.collect())
            .map_err(failed("read the parked jobs"))
    }

    fn queue_depth(&self) -> StoreResult<u64> {
        self.reader()
            .query_row("SELECT count(*) FROM sync_jobs", [], |row| row.get::<_, i64>(0))
            .map(|n| n as u64)
            .map_err(failed("count the sync queue"))
    }

    fn figures(&self) -> StoreResult<Figures> {
        let connection = self.reader();
        let read = |sql: &str| {
            connection
                .query_row(sql, [], |row| row.get::<_, i64>(0))
                .map(|n| n as u64)
        };
        let subjects = read("SELECT count(*) FROM subjects").map_err(failed("count fingerprints"))?;
        let queue_depth = read("SELECT count(*) FROM sync_jobs").map_err(failed("count the sync queue"))?;
        let mut statement = connection
            .prepare("SELECT name, value FROM counters")
            .map_err(failed("read counters"))?;
        let counters = statement
            .query_map([], |row| Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)? as u64)))
            .map_err(failed("read counters"))?
            .collect::<rusqlite::Result<_>>()
            .map_err(failed("read counters"))?;
        Ok(Figures {
            subjects,
            queue_depth,
            counters,
        })
    }

    fn events(&self, limit: u32) -> StoreResult<Vec<StoredEvent>> {
        let connection = self.reader();
        let mut statement = connection
            .prepare_cached(
                "SELECT id, received_at, key, kind, repo, payload FROM stored_events ORDER BY id DESC LIMIT ?1",
            )
            .map_err(failed("list the stored events"))?;
        statement
            .query_map([limit], read_event)
            .map_err(failed("list the stored events"))?
            .collect::<rusqlite::Result<_>>()
            .map_err(failed("list the stored events"))
    }

    fn event(&self, id: i64) -> StoreResult<Option<StoredEvent>> {
        self.reader()
            .query_row(
                "SELECT id, received_at, key, kind, repo, payload FROM stored_events WHERE id = ?1",
                [id],
                read_event,
            )
            .optional()
            .map_err(failed("read a stored event"))
    }

    fn prune(&self, before: i64, now: i64) -> StoreResult<()> {
        let connection = self.writer();
        connection
            .execute("DELETE FROM report_ids WHERE received_at < ?1", [before])
            .map_err(failed("prune"))?;
        connection
            .execute("DELETE FROM stored_events WHERE received_at < ?1", [before])
            .map_err(failed("prune"))?;
        connection
            .execute("DELETE FROM github_writes WHERE at < ?1", [now - 3600])
            .map_err(failed("prune"))?;
        Ok(())
    }

    /// One collector per file: it always writes to GitHub.
    fn lead(&self) -> StoreResult<bool> {
        Ok(true)
    }

    fn shared(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::conformance::Backend;

    struct Sqlite(tempfile::TempDir);

    impl Sqlite {
        fn path(&self) -> std::path::PathBuf {
            self.0.path().join("db/collector.sqlite")
        }
    }

    impl Backend for Sqlite {
        fn open(&self) -> Box<dyn Store> {
            Box::new(SqliteStore::open(&self.path()).unwrap())
        }

        fn stored_sources(&self) -> Vec<String> {
            let store = SqliteStore::open(&self.path()).unwrap();
            let reader = store.reader();
            let mut statement = reader.prepare("SELECT source FROM subject_sources").unwrap();
            statement
                .query_map([], |row| row.get(0))
                .unwrap()
                .map(Result::unwrap)
                .collect()
        }
    }

    fn backend() -> Option<Sqlite> {
        Some(Sqlite(tempfile::tempdir().unwrap()))
    }

    crate::store::conformance::tests!(backend());

    #[test]
    fn the_file_is_in_wal_mode() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("collector.sqlite")).unwrap();
        let mode: String = store
            .reader()
            .query_row("PRAGMA journal_mode", [], |row| row.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
    }
}
