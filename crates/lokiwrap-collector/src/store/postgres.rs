//! The shared store: one PostgreSQL database behind any number of collectors
//! (`--database postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE`).
//!
//! Any instance accepts any report: every count is an atomic upsert (`INSERT … ON CONFLICT … DO
//! UPDATE`), report ids are de-duplicated in the shared `report_ids` table, and a batch touches
//! its rows table by table, each in sorted key order, so that two instances' batches wait for
//! each other instead of deadlocking (a deadlock or serialisation failure the server reports
//! anyway is retried). The daily caps are one conditional upsert, so two instances cannot both
//! take the last slot.
//!
//! GitHub writes stay exactly-once and paced across the cluster because only one instance makes
//! them: the one holding a session-level advisory lock (`pg_try_advisory_lock`) on a dedicated
//! connection (`Store::lead`). A lock rather than a leader row with a lease: PostgreSQL releases
//! a session lock the moment that session ends, so a leader killed with `kill -9` hands over
//! within the followers' one-second retry, and no clock or lease length has to be trusted. A
//! leader whose host or network vanishes stops writing once its check of the lock's connection
//! goes unanswered for 5 s, and the server's keepalive on that session (`LOCK_KEEPALIVE`) ends
//! it, freeing the lock, after about 25 s of silence. The sync worker asks before every job and
//! again before every write; when the lock's connection has gone it stops writing at once. The hourly budget, the issues
//! per repository and the queue already live in the database, so a new leader carries on where
//! the old one stopped; it first waits a whole write interval, and it forgets what it knew of
//! each repository's issues, reading their hidden markers again before filing, so that an issue
//! its predecessor filed just before dying is found rather than filed twice.
//!
//! The `Store` trait is synchronous and is only ever called from blocking threads (the writer
//! thread, the sync worker, `spawn_blocking`), so the store owns a small tokio runtime of its
//! own and blocks on it; the connections (a `deadpool-postgres` pool) live on that runtime.
//!
//! The URL may carry the password; when it has none, `PGPASSWORD` is used, as libpq does. The
//! password is never logged: the URL is only ever shown masked (`postgres://user:***@host/db`).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Mutex;
use std::time::Duration;

use deadpool_postgres::{GenericClient, Manager, ManagerConfig, Pool, RecyclingMethod, Transaction};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::{NoTls, Row};

use super::migrate::{self, Migration};
use super::sqlite::{COUNTED_SOURCES_CACHED, crash_details, source_hash};
use super::{
    Figures, IssueLink, Job, Kind, Occurrence, ParkedJob, Received, Rollup, RollupCounts, RollupKey, Store, StoreError,
    StoreResult, Stored, StoredEvent, Subject, Tally,
};

/// Connections per collector, besides the writer lock's own. Ingest goes through one writer
/// thread; the rest serve the sync worker and the occasional event, health and stats request.
const POOL_SIZE: usize = 8;
/// How long a request may wait for a connection, or a new connection may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long data sent to the server may go unacknowledged, and a connection stay silent,
/// before the connection is given up for dead.
const TCP_USER_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the writer lock's liveness check may take before the lock is given up for lost.
const LOCK_CHECK_TIMEOUT: Duration = Duration::from_secs(5);
/// The server's TCP keepalive on the writer lock's session: a leader whose host or network
/// vanishes sends no FIN, and with the operating system's defaults PostgreSQL would hold its
/// lock for hours. With these it ends the session, and frees the lock, within about 25 s of
/// silence; by then the leader has stopped writing, since its own check gives up after
/// `LOCK_CHECK_TIMEOUT`. (Ignored on a Unix socket, where the peer cannot vanish that way.)
const LOCK_KEEPALIVE: &str =
    "SET tcp_keepalives_idle = 10; SET tcp_keepalives_interval = 5; SET tcp_keepalives_count = 3";
/// Transactions retried after PostgreSQL broke a deadlock or a serialisation conflict.
const RETRIES: u32 = 5;
/// The advisory lock keys: `lokiwrap` in ASCII, and the next number for migrations. Advisory
/// locks belong to one database, so collectors on other databases do not contend for them.
const WRITER_LOCK: i64 = 0x6c6f_6b69_7772_6170;
const MIGRATION_LOCK: i64 = WRITER_LOCK + 1;

/// Why a PostgreSQL call failed, before it is sorted by what the caller can do about it.
#[derive(Debug)]
enum Failure {
    Db(tokio_postgres::Error),
    /// No connection from the pool in time, or the pool is unusable.
    Pool(String),
    Timeout,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            // The server's own words ("password authentication failed for user …"), not
            // the driver's bare "db error".
            Failure::Db(error) => match error.as_db_error() {
                Some(db) => f.write_str(db.message()),
                None => write!(f, "{error}"),
            },
            Failure::Pool(message) => f.write_str(message),
            Failure::Timeout => f.write_str("PostgreSQL did not answer in time"),
        }
    }
}

impl From<tokio_postgres::Error> for Failure {
    fn from(error: tokio_postgres::Error) -> Failure {
        Failure::Db(error)
    }
}

impl From<deadpool_postgres::PoolError> for Failure {
    fn from(error: deadpool_postgres::PoolError) -> Failure {
        match error {
            deadpool_postgres::PoolError::Backend(error) => Failure::Db(error),
            deadpool_postgres::PoolError::Timeout(_) => {
                Failure::Pool("no connection to PostgreSQL within 10 s (the server is unreachable or full)".into())
            }
            other => Failure::Pool(format!("the connection pool failed: {other}")),
        }
    }
}

impl Failure {
    fn code(&self) -> Option<&SqlState> {
        match self {
            Failure::Db(error) => error.code(),
            _ => None,
        }
    }

    /// PostgreSQL undid the transaction to break a conflict with another one: running it again
    /// succeeds.
    fn retryable(&self) -> bool {
        self.code().is_some_and(|code| {
            *code == SqlState::T_R_DEADLOCK_DETECTED || *code == SqlState::T_R_SERIALIZATION_FAILURE
        })
    }

    /// Sorts a failure as `classify` does SQLite's: what can succeed in a moment (the server
    /// is away, restarting, full of connections, or a conflict persisted) is busy; a table or
    /// column this code does not find is corrupt; the rest (a full disk, a refused permission)
    /// is the operator's to fix.
    fn store_error(&self, what: &str) -> StoreError {
        let message = format!("the store could not {what}: {self}");
        let busy = [
            SqlState::T_R_DEADLOCK_DETECTED,
            SqlState::T_R_SERIALIZATION_FAILURE,
            SqlState::LOCK_NOT_AVAILABLE,
            SqlState::TOO_MANY_CONNECTIONS,
            SqlState::CANNOT_CONNECT_NOW,
            SqlState::ADMIN_SHUTDOWN,
            SqlState::CRASH_SHUTDOWN,
            SqlState::QUERY_CANCELED,
        ];
        let corrupt = [
            SqlState::UNDEFINED_TABLE,
            SqlState::UNDEFINED_COLUMN,
            SqlState::DATATYPE_MISMATCH,
            SqlState::UNDEFINED_FUNCTION,
        ];
        match self {
            Failure::Pool(_) | Failure::Timeout => StoreError::Busy(message),
            Failure::Db(error) => match error.code() {
                Some(code) if busy.contains(code) => StoreError::Busy(message),
                Some(code) if corrupt.contains(code) => StoreError::Corrupt(message),
                Some(_) => StoreError::Io(message),
                // No answer from the server at all: the connection broke or never came up.
                None if error.as_db_error().is_none() => StoreError::Busy(message),
                None => StoreError::Io(message),
            },
        }
    }
}

/// `url` with its password (in the user part or a `password=` parameter) replaced by `***`:
/// the only form in which a database URL is logged or put in a message.
pub fn masked(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "(a database URL that is not postgres://…)".into();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rsplit_once('@') {
        Some((user_info, host)) => match user_info.split_once(':') {
            Some((user, _)) => format!("{user}:***@{host}"),
            None => format!("{user_info}@{host}"),
        },
        None => authority.to_string(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let query: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((name, _)) if name.eq_ignore_ascii_case("password") => format!("{name}=***"),
                    _ => pair.to_string(),
                })
                .collect();
            format!("{path}?{}", query.join("&"))
        }
        None => tail.to_string(),
    };
    format!("{scheme}://{authority}{tail}")
}

/// Whether `database` names a PostgreSQL database rather than a SQLite file.
pub fn is_url(database: &str) -> bool {
    database.starts_with("postgres://") || database.starts_with("postgresql://")
}

/// The store's own runtime, shut down without waiting when the store goes: the store may be
/// dropped on one of the server's async threads, where blocking is not allowed.
struct OwnRuntime(Option<tokio::runtime::Runtime>);

impl Drop for OwnRuntime {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

/// The writer lock's connection, and whether it holds the lock.
#[derive(Default)]
struct Leadership {
    client: Option<tokio_postgres::Client>,
    leading: bool,
}

pub struct PostgresStore {
    runtime: OwnRuntime,
    pool: Pool,
    config: tokio_postgres::Config,
    /// The URL as it may be shown: the password masked.
    shown: String,
    source_salt: String,
    /// (fingerprint, source hash) pairs this instance has committed. Safe with other instances
    /// writing too: a remembered pair is in `subject_sources` already, or its subject had its
    /// `MAX_COUNTED_SOURCES` then; rows there are never deleted and the count never goes down,
    /// so the insert it spares could only have changed nothing.
    counted_sources: Mutex<lru::LruCache<(String, String), ()>>,
    leadership: Mutex<Leadership>,
}

/// Explains a failure to connect or set up at start: which of URL, server, login or database
/// is wrong, and what to change.
fn explain_open(shown: &str, failure: &Failure) -> String {
    match failure.code() {
        Some(code) if *code == SqlState::INVALID_PASSWORD || *code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION => {
            format!(
                "PostgreSQL refused the login to {shown}: {failure}; check the user and the password \
                 (in the URL, or in PGPASSWORD when the URL has none) and the server's pg_hba.conf"
            )
        }
        Some(code) if *code == SqlState::INVALID_CATALOG_NAME => format!(
            "the database named in {shown} does not exist ({failure}); create it \
             (createdb -O USER NAME) or fix the database name in --database"
        ),
        Some(code) if *code == SqlState::INSUFFICIENT_PRIVILEGE => format!(
            "the role in {shown} may not create the collector's tables ({failure}); make it the \
             database's owner (ALTER DATABASE NAME OWNER TO USER) or grant it CREATE on the public schema"
        ),
        Some(_) => format!(
            "cannot set up the PostgreSQL database {shown}: {failure}; nothing was changed, check the \
             server's log and the role's rights"
        ),
        None => format!(
            "cannot reach the PostgreSQL server of {shown}: {failure}; check that it runs, that the host \
             and port in --database are right and that it accepts connections from here"
        ),
    }
}

impl PostgresStore {
    /// Connects to `url`, brings its schema to the newest (under an advisory lock, so that
    /// collectors starting together take turns) and reads its settings.
    pub fn open(url: &str) -> Result<PostgresStore, String> {
        let shown = masked(url);
        let mut config: tokio_postgres::Config = url.parse().map_err(|e| {
            format!(
                "--database {shown} is not a PostgreSQL URL this collector can use: {e}; write it as \
                 postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE"
            )
        })?;
        if config.get_ssl_mode() == tokio_postgres::config::SslMode::Require {
            return Err(format!(
                "--database {shown} asks for TLS (sslmode=require), but this collector connects to PostgreSQL \
                 without TLS; drop sslmode=require and keep the database on loopback or a private network \
                 (or reach it through a tunnel that encrypts)"
            ));
        }
        if config.get_user().is_none() {
            return Err(format!(
                "--database {shown} names no user; write it as postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE"
            ));
        }
        if config.get_password().is_none()
            && let Some(password) = std::env::var_os("PGPASSWORD").filter(|p| !p.is_empty())
        {
            config.password(password.as_encoded_bytes());
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name("lokiwrap-collector");
        }
        // A server that vanishes without closing its connections (a lost host or network) fails
        // a query in about 30 s, answered as busy (503), instead of holding the writer thread
        // and every report waiting on it for the kernel's quarter of an hour. The URL's own
        // values win.
        if config.get_tcp_user_timeout().is_none() {
            config.tcp_user_timeout(TCP_USER_TIMEOUT);
        }
        if !url.contains("keepalives_idle") {
            config.keepalives_idle(TCP_USER_TIMEOUT);
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("postgres")
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the PostgreSQL store's runtime: {e}"))?;
        let manager = Manager::from_config(
            config.clone(),
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .wait_timeout(Some(CONNECT_TIMEOUT))
            .create_timeout(Some(CONNECT_TIMEOUT))
            .build()
            .map_err(|e| format!("cannot set up connections to {shown}: {e}"))?;
        let mut store = PostgresStore {
            runtime: OwnRuntime(Some(runtime)),
            pool,
            config,
            shown,
            source_salt: String::new(),
            counted_sources: Mutex::new(lru::LruCache::new(
                std::num::NonZeroUsize::new(COUNTED_SOURCES_CACHED).unwrap_or(std::num::NonZeroUsize::MIN),
            )),
            leadership: Mutex::new(Leadership::default()),
        };
        store.migrate(migrate::POSTGRES)?;
        store.source_salt = store
            .block_on(async {
                let client = store.pool.get().await?;
                let row = client
                    .query_one("SELECT value FROM store_settings WHERE name = 'source_salt'", &[])
                    .await?;
                Ok(row.try_get::<_, String>(0)?)
            })
            .map_err(|failure| explain_open(&store.shown, &failure))?;
        Ok(store)
    }

    /// The URL with its password masked, for logs.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    fn block_on<T>(&self, work: impl Future<Output = Result<T, Failure>>) -> Result<T, Failure> {
        match &self.runtime.0 {
            Some(runtime) => runtime.block_on(work),
            None => Err(Failure::Pool("the PostgreSQL store has been shut down".into())),
        }
    }

    /// Brings the database to the newest schema in one transaction, holding an advisory lock
    /// for it so that several collectors starting at once apply each step once.
    fn migrate(&self, migrations: &[Migration]) -> Result<(), String> {
        let newest = migrate::latest(migrations);
        let outcome = self.block_on(async {
            let mut client = self.pool.get().await?;
            let tx = client.transaction().await?;
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
                .await?;
            tx.batch_execute("CREATE TABLE IF NOT EXISTS lokiwrap_schema_version (version INTEGER NOT NULL)")
                .await?;
            let current: Option<i32> = tx
                .query_one("SELECT max(version) FROM lokiwrap_schema_version", &[])
                .await?
                .try_get(0)?;
            let current = current.unwrap_or(0).max(0) as u32;
            let Ok(steps) = migrate::pending(migrations, current) else {
                return Ok(Err(current));
            };
            for step in steps {
                tx.batch_execute(step.sql).await?;
                tracing::info!(version = step.version, step = step.name, "database schema upgraded");
            }
            if !steps.is_empty() {
                tx.execute("DELETE FROM lokiwrap_schema_version", &[]).await?;
                tx.execute(
                    "INSERT INTO lokiwrap_schema_version (version) VALUES ($1)",
                    &[&(newest as i32)],
                )
                .await?;
            }
            tx.commit().await?;
            Ok(Ok(()))
        });
        match outcome {
            Ok(Ok(())) => Ok(()),
            Ok(Err(current)) => Err(format!(
                "the database {} has schema version {current}, but this lokiwrap-collector knows versions up to {newest}: \
                 a newer lokiwrap-collector wrote it. Run that version (or newer), or point --database at another \
                 database; this one was left untouched",
                self.shown
            )),
            Err(failure) => Err(explain_open(&self.shown, &failure)),
        }
    }

    /// Runs `work` in one transaction, again when PostgreSQL undid it to break a conflict.
    fn transact<T>(&self, what: &str, work: impl AsyncFn(&Transaction<'_>) -> Result<T, Failure>) -> StoreResult<T> {
        self.block_on(async {
            let mut attempt = 0;
            loop {
                let done: Result<T, Failure> = async {
                    let mut client = self.pool.get().await?;
                    let tx = client.transaction().await?;
                    let value = work(&tx).await?;
                    tx.commit().await?;
                    Ok(value)
                }
                .await;
                match done {
                    Err(failure) if failure.retryable() && attempt < RETRIES => {
                        attempt += 1;
                        tokio::time::sleep(Duration::from_millis(5 << attempt)).await;
                    }
                    done => return done,
                }
            }
        })
        .map_err(|failure| failure.store_error(what))
    }

    /// Runs `work` on a pooled connection, outside a transaction: one statement or a read.
    fn with<T>(
        &self,
        what: &str,
        work: impl AsyncFn(&deadpool_postgres::Client) -> Result<T, Failure>,
    ) -> StoreResult<T> {
        self.block_on(async {
            let client = self.pool.get().await?;
            work(&client).await
        })
        .map_err(|failure| failure.store_error(what))
    }

    /// Asks for the writer lock, or checks that its connection still holds it.
    async fn try_lead(&self, state: &mut Leadership) -> Result<bool, Failure> {
        if state.client.as_ref().is_some_and(|client| client.is_closed()) {
            state.client = None;
        }
        let client = match &state.client {
            Some(client) => client,
            None => {
                let (client, connection) = self.config.connect(NoTls).await?;
                tokio::spawn(async move {
                    if let Err(error) = connection.await {
                        tracing::debug!(%error, "the GitHub writer lock's connection ended");
                    }
                });
                tokio::time::timeout(LOCK_CHECK_TIMEOUT, client.batch_execute(LOCK_KEEPALIVE))
                    .await
                    .map_err(|_| Failure::Timeout)??;
                state.client.insert(client)
            }
        };
        // While it leads, a live session is a held lock (a session lock goes only with its
        // session); otherwise the lock is asked for again.
        let asked = if state.leading {
            tokio::time::timeout(LOCK_CHECK_TIMEOUT, client.simple_query("SELECT 1"))
                .await
                .map_err(|_| Failure::Timeout)
                .and_then(|answer| answer.map(|_| true).map_err(Failure::Db))
        } else {
            tokio::time::timeout(
                LOCK_CHECK_TIMEOUT,
                client.query_one("SELECT pg_try_advisory_lock($1)", &[&WRITER_LOCK]),
            )
            .await
            .map_err(|_| Failure::Timeout)
            .and_then(|answer| Ok(answer?.try_get::<_, bool>(0)?))
        };
        if asked.is_err() {
            state.client = None;
        }
        asked
    }

    #[cfg(test)]
    fn stored_sources(&self) -> Vec<String> {
        self.with("read sources", async |client| {
            let rows = client.query("SELECT source FROM subject_sources", &[]).await?;
            Ok(rows.iter().map(|row| row.get(0)).collect())
        })
        .unwrap()
    }

    #[cfg(test)]
    fn set_schema_version(&self, version: i32) {
        self.with("set the schema version", async |client| {
            client
                .execute("UPDATE lokiwrap_schema_version SET version = $1", &[&version])
                .await?;
            Ok(())
        })
        .unwrap()
    }
}

async fn rows<C: GenericClient>(client: &C, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<Row>, Failure> {
    let statement = client.prepare_cached(sql).await?;
    Ok(client.query(&statement, params).await?)
}

async fn row<C: GenericClient>(client: &C, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Option<Row>, Failure> {
    let statement = client.prepare_cached(sql).await?;
    Ok(client.query_opt(&statement, params).await?)
}

async fn exec<C: GenericClient>(client: &C, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<u64, Failure> {
    let statement = client.prepare_cached(sql).await?;
    Ok(client.execute(&statement, params).await?)
}

const MAX_SOURCES: i64 = crate::config::MAX_COUNTED_SOURCES as i64;

/// Counts `source` on `key` once, up to `MAX_COUNTED_SOURCES` sources per subject. The caller
/// has locked the subject's row (it has just counted on it), so `sources` cannot move meanwhile.
/// Adds counts to the dashboard's buckets, in key order like every other batched upsert.
async fn add_rollups(tx: &Transaction<'_>, rollups: &RollupCounts) -> Result<(), Failure> {
    if rollups.is_empty() {
        return Ok(());
    }
    let (mut granularities, mut buckets, mut counts) = (Vec::new(), Vec::new(), Vec::new());
    let (mut series, mut names, mut versions) = (Vec::<&str>::new(), Vec::<&str>::new(), Vec::<&str>::new());
    for (granularity, bucket, key, count) in rollups.rows() {
        granularities.push(granularity);
        buckets.push(bucket);
        series.push(&key.series);
        names.push(&key.name);
        versions.push(&key.version);
        counts.push(count);
    }
    exec(
        tx,
        "INSERT INTO rollups (granularity, bucket, series, name, version, count)
         SELECT * FROM unnest($1::int8[], $2::int8[], $3::text[], $4::text[], $5::text[], $6::int8[])
             AS t(granularity, bucket, series, name, version, n)
         ORDER BY granularity, bucket, series COLLATE \"C\", name COLLATE \"C\", version COLLATE \"C\"
         ON CONFLICT (granularity, bucket, series, name, version) DO UPDATE SET count = rollups.count + excluded.count",
        &[&granularities, &buckets, &series, &names, &versions, &counts],
    )
    .await
    .map(drop)
}

async fn count_source(tx: &Transaction<'_>, key: &str, source: &str) -> Result<(), Failure> {
    let added = exec(
        tx,
        "INSERT INTO subject_sources (key, source)
         SELECT $1::text, $2::text WHERE (SELECT sources FROM subjects WHERE key = $1::text) < $3::int8
         ON CONFLICT (key, source) DO NOTHING",
        &[&key, &source, &MAX_SOURCES],
    )
    .await?;
    if added > 0 {
        exec(tx, "UPDATE subjects SET sources = sources + 1 WHERE key = $1", &[&key]).await?;
    }
    Ok(())
}

/// What one fingerprint's fresh reports in a batch add up to.
struct Group {
    count: i64,
    first_seen: i64,
    last_seen: i64,
    details: String,
    first_index: usize,
    sources: BTreeSet<String>,
    due_at: Option<i64>,
}

/// Stores a batch: the ids, then the subjects, tallies, sources and jobs, each table once with
/// its keys in sorted order. Returns each report's outcome and the (fingerprint, source) pairs
/// it counted or found counted, for the cache once the transaction commits.
async fn ingest_batch(
    tx: &Transaction<'_>,
    batch: &[Received],
    salt: &str,
    committed: &lru::LruCache<(String, String), ()>,
) -> Result<(Vec<Stored>, Vec<(String, String)>), Failure> {
    let mut first_of: BTreeMap<&str, usize> = BTreeMap::new();
    for (index, item) in batch.iter().enumerate() {
        first_of.entry(item.report.id.as_str()).or_insert(index);
    }
    let ids: Vec<&str> = first_of.keys().copied().collect();
    let times: Vec<i64> = first_of.values().map(|&index| batch[index].received_at).collect();
    let fresh: HashSet<String> = rows(
        tx,
        "INSERT INTO report_ids (id, received_at)
         SELECT id, at FROM unnest($1::text[], $2::int8[]) AS t(id, at) ORDER BY id COLLATE \"C\"
         ON CONFLICT (id) DO NOTHING RETURNING id",
        &[&ids, &times],
    )
    .await?
    .iter()
    .map(|row| row.try_get(0))
    .collect::<Result<_, _>>()?;
    let counted: Vec<bool> = batch
        .iter()
        .enumerate()
        .map(|(index, item)| first_of[item.report.id.as_str()] == index && fresh.contains(&item.report.id))
        .collect();

    let mut groups: BTreeMap<&str, Group> = BTreeMap::new();
    let mut tallies: BTreeMap<(&str, &str, String), i64> = BTreeMap::new();
    let mut rollups = RollupCounts::default();
    let mut pairs = Vec::new();
    for (index, item) in batch.iter().enumerate().filter(|(index, _)| counted[*index]) {
        let report = &item.report;
        let key = report.fingerprint.as_str();
        let group = groups.entry(key).or_insert_with(|| Group {
            count: 0,
            first_seen: item.received_at,
            last_seen: item.received_at,
            details: crash_details(report),
            first_index: index,
            sources: BTreeSet::new(),
            due_at: None,
        });
        group.count += 1;
        group.first_seen = group.first_seen.min(item.received_at);
        group.last_seen = group.last_seen.max(item.received_at);
        if item.sync {
            group.due_at.get_or_insert(item.received_at);
        }
        let os_arch = format!("{}/{}", report.os, report.arch);
        let dimensions = [
            ("lokiwrap_version", Some(report.lokiwrap_version.clone())),
            ("tool_version", report.tool_version.clone()),
            ("os_arch", Some(os_arch)),
        ];
        for (dimension, value) in dimensions {
            if let Some(value) = value {
                *tallies.entry((key, dimension, value)).or_default() += 1;
            }
        }
        rollups.count(RollupKey::of_report(report), item.received_at);
        let pair = (report.fingerprint.clone(), source_hash(salt, &item.source));
        if !committed.contains(&pair) && group.sources.insert(pair.1.clone()) {
            pairs.push(pair);
        }
    }
    if groups.is_empty() {
        return Ok((vec![Stored::DuplicateId; batch.len()], pairs));
    }

    let keys: Vec<&str> = groups.keys().copied().collect();
    let details: Vec<&str> = groups.values().map(|g| g.details.as_str()).collect();
    let counts: Vec<i64> = groups.values().map(|g| g.count).collect();
    let firsts: Vec<i64> = groups.values().map(|g| g.first_seen).collect();
    let lasts: Vec<i64> = groups.values().map(|g| g.last_seen).collect();
    let upserted = rows(
        tx,
        "INSERT INTO subjects (key, kind, details, count, first_seen, last_seen)
         SELECT key, 'crash', details, n, first_seen, last_seen
         FROM unnest($1::text[], $2::text[], $3::int8[], $4::int8[], $5::int8[]) AS t(key, details, n, first_seen, last_seen)
         ORDER BY key COLLATE \"C\"
         ON CONFLICT (key) DO UPDATE SET count = subjects.count + excluded.count,
             last_seen = greatest(subjects.last_seen, excluded.last_seen)
         RETURNING key, count, sources",
        &[&keys, &details, &counts, &firsts, &lasts],
    )
    .await?;
    let mut new_at = HashSet::new();
    let mut sources_now = HashMap::new();
    for row in &upserted {
        let key: String = row.try_get(0)?;
        let count: i64 = row.try_get(1)?;
        if let Some(group) = groups.get(key.as_str())
            && count == group.count
        {
            new_at.insert(group.first_index);
        }
        sources_now.insert(key, row.try_get::<_, i64>(2)?);
    }

    if !tallies.is_empty() {
        let mut columns: (Vec<&str>, Vec<&str>, Vec<&str>, Vec<i64>) = Default::default();
        for ((key, dimension, value), count) in &tallies {
            columns.0.push(key);
            columns.1.push(dimension);
            columns.2.push(value);
            columns.3.push(*count);
        }
        exec(
            tx,
            "INSERT INTO tallies (key, dimension, value, count)
             SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int8[]) AS t(key, dimension, value, n)
             ORDER BY key COLLATE \"C\", dimension COLLATE \"C\", value COLLATE \"C\"
             ON CONFLICT (key, dimension, value) DO UPDATE SET count = tallies.count + excluded.count",
            &[&columns.0, &columns.1, &columns.2, &columns.3],
        )
        .await?;
    }

    add_rollups(tx, &rollups).await?;

    for (key, group) in &groups {
        let room = MAX_SOURCES - sources_now.get(*key).copied().unwrap_or(MAX_SOURCES);
        if group.sources.is_empty() || room <= 0 {
            continue;
        }
        if group.sources.len() as i64 <= room {
            // All of them fit: one insert, then one update by what was new.
            let sources: Vec<&str> = group.sources.iter().map(String::as_str).collect();
            let added = exec(
                tx,
                "INSERT INTO subject_sources (key, source)
                 SELECT $1::text, source FROM unnest($2::text[]) AS t(source) ORDER BY source COLLATE \"C\"
                 ON CONFLICT (key, source) DO NOTHING",
                &[key, &sources],
            )
            .await?;
            if added > 0 {
                exec(
                    tx,
                    "UPDATE subjects SET sources = sources + $2 WHERE key = $1",
                    &[key, &(added as i64)],
                )
                .await?;
            }
        } else {
            for source in &group.sources {
                count_source(tx, key, source).await?;
            }
        }
    }

    let jobs: Vec<(&str, i64)> = groups
        .iter()
        .filter_map(|(key, group)| group.due_at.map(|due| (*key, due)))
        .collect();
    if !jobs.is_empty() {
        let keys: Vec<&str> = jobs.iter().map(|(key, _)| *key).collect();
        let dues: Vec<i64> = jobs.iter().map(|(_, due)| *due).collect();
        exec(
            tx,
            "INSERT INTO sync_jobs (key, due_at)
             SELECT * FROM unnest($1::text[], $2::int8[]) AS t(key, due_at) ORDER BY key COLLATE \"C\"
             ON CONFLICT (key) DO NOTHING",
            &[&keys, &dues],
        )
        .await?;
    }

    let outcomes = (0..batch.len())
        .map(|index| {
            if !counted[index] {
                Stored::DuplicateId
            } else if new_at.contains(&index) {
                Stored::New
            } else {
                Stored::Repeat
            }
        })
        .collect();
    Ok((outcomes, pairs))
}

async fn record_one(tx: &Transaction<'_>, item: &Occurrence, salt: &str) -> Result<Stored, Failure> {
    if let Some(id) = &item.id {
        let fresh = exec(
            tx,
            "INSERT INTO report_ids (id, received_at) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING",
            &[id, &item.received_at],
        )
        .await?;
        if fresh == 0 {
            return Ok(Stored::DuplicateId);
        }
    }
    let merged: Option<String> = match row(tx, "SELECT merged_into FROM subjects WHERE key = $1", &[&item.key]).await? {
        Some(row) => row.try_get(0)?,
        None => None,
    };
    let counted = merged.as_deref().unwrap_or(&item.key);
    let details = item.details.to_string();
    let count: i64 = row(
        tx,
        "INSERT INTO subjects (key, kind, repo, details, count, first_seen, last_seen)
         VALUES ($1, $2, $3, $4, 1, $5, $5)
         ON CONFLICT (key) DO UPDATE SET count = subjects.count + 1,
             last_seen = greatest(subjects.last_seen, excluded.last_seen),
             details = CASE WHEN subjects.key = $6::text THEN excluded.details ELSE subjects.details END,
             quiet_return = CASE WHEN excluded.last_seen - subjects.last_seen > $7::int8
                 THEN excluded.last_seen - subjects.last_seen ELSE subjects.quiet_return END
         RETURNING count",
        &[
            &counted,
            &item.kind.name(),
            &item.repo,
            &details,
            &item.received_at,
            &item.key,
            &item.window_secs,
        ],
    )
    .await?
    .map(|row| row.try_get(0))
    .transpose()?
    .unwrap_or(0);
    count_source(tx, counted, &source_hash(salt, &item.source)).await?;
    add_rollups(tx, &RollupCounts::one(RollupKey::of_occurrence(item), item.received_at)).await?;
    exec(
        tx,
        "INSERT INTO sync_jobs (key, due_at) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
        &[&counted, &item.received_at],
    )
    .await?;
    if let Some(raw) = &item.raw {
        exec(
            tx,
            "INSERT INTO stored_events (received_at, key, kind, repo, payload) VALUES ($1, $2, $3, $4, $5)",
            &[&item.received_at, &item.key, &item.kind.name(), &item.repo, raw],
        )
        .await?;
    }
    Ok(if count == 1 { Stored::New } else { Stored::Repeat })
}

fn read_event(row: &Row) -> Result<StoredEvent, tokio_postgres::Error> {
    let kind: String = row.try_get("kind")?;
    Ok(StoredEvent {
        id: row.try_get("id")?,
        received_at: row.try_get("received_at")?,
        key: row.try_get("key")?,
        kind: Kind::from_name(&kind).unwrap_or(Kind::PluginFailure),
        repo: row.try_get("repo")?,
        payload: row.try_get("payload")?,
    })
}

fn read_subject(row: &Row) -> Result<Subject, tokio_postgres::Error> {
    let kind: String = row.try_get("kind")?;
    let details: String = row.try_get("details")?;
    let issue = match (
        row.try_get::<_, Option<String>>("issue_repo")?,
        row.try_get::<_, Option<i64>>("issue_number")?,
    ) {
        (Some(repo), Some(number)) => Some(IssueLink {
            repo,
            number: number as u64,
            state: row
                .try_get::<_, Option<String>>("issue_state")?
                .unwrap_or_else(|| "open".into()),
            state_reason: row.try_get("issue_state_reason")?,
            closed_at: row.try_get("issue_closed_at")?,
            etag: row.try_get("issue_etag")?,
        }),
        _ => None,
    };
    Ok(Subject {
        key: row.try_get("key")?,
        kind: Kind::from_name(&kind).unwrap_or(Kind::Crash),
        repo: row.try_get("repo")?,
        details: serde_json::from_str(&details).unwrap_or_default(),
        count: row.try_get::<_, i64>("count")? as u64,
        sources: row.try_get::<_, i64>("sources")? as u64,
        first_seen: row.try_get("first_seen")?,
        last_seen: row.try_get("last_seen")?,
        issue,
        synced_count: row.try_get::<_, i64>("synced_count")? as u64,
        synced_at: row.try_get("synced_at")?,
        confirmed: row.try_get("confirmed")?,
        public_issue: match (
            row.try_get::<_, Option<String>>("public_repo")?,
            row.try_get::<_, Option<i64>>("public_number")?,
        ) {
            (Some(repo), Some(number)) => Some((repo, number as u64)),
            _ => None,
        },
        quiet_return: row.try_get("quiet_return")?,
    })
}

fn read_job(row: &Row) -> Result<Job, tokio_postgres::Error> {
    Ok(Job {
        key: row.try_get(0)?,
        due_at: row.try_get(1)?,
        attempts: row.try_get::<_, i64>(2)? as u32,
    })
}

impl Store for PostgresStore {
    fn check(&self) -> StoreResult<()> {
        self.with("read its settings", async |client| {
            row(client, "SELECT count(*) FROM store_settings", &[]).await?;
            Ok(())
        })
    }

    fn ingest(&self, batch: &[Received]) -> StoreResult<Vec<Stored>> {
        let mut cache = self
            .counted_sources
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let (outcomes, pairs) = self.transact("store a report", async |tx| {
            ingest_batch(tx, batch, &self.source_salt, &cache).await
        })?;
        // Only pairs whose count is committed may spare a later insert.
        for pair in pairs {
            cache.put(pair, ());
        }
        Ok(outcomes)
    }

    fn record(&self, occurrence: &Occurrence) -> StoreResult<Stored> {
        self.transact("store a failure", async |tx| {
            record_one(tx, occurrence, &self.source_salt).await
        })
    }

    fn merge_into(&self, key: &str, into: &str, now: i64) -> StoreResult<()> {
        self.transact("merge a subject", async |tx| {
            // Both rows locked first, in key order, like every other transaction takes them.
            let both = [key, into];
            rows(
                tx,
                "SELECT key FROM subjects WHERE key = ANY($1) ORDER BY key FOR UPDATE",
                &[&both.as_slice()],
            )
            .await?;
            exec(
                tx,
                "UPDATE subjects SET count = count + (SELECT count FROM subjects WHERE key = $1),
                 last_seen = greatest(last_seen, (SELECT last_seen FROM subjects WHERE key = $1)) WHERE key = $2",
                &[&key, &into],
            )
            .await?;
            exec(
                tx,
                "UPDATE subjects SET merged_into = $2 WHERE key = $1",
                &[&key, &into],
            )
            .await?;
            exec(tx, "DELETE FROM sync_jobs WHERE key = $1", &[&key]).await?;
            exec(
                tx,
                "INSERT INTO sync_jobs (key, due_at) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
                &[&into, &now],
            )
            .await?;
            Ok(())
        })
    }

    fn newest_with_issue(&self, repo: &str, kinds: &[Kind]) -> StoreResult<Option<String>> {
        let names: Vec<&str> = kinds.iter().map(|kind| kind.name()).collect();
        self.with("find the newest issue", async |client| {
            match row(
                client,
                "SELECT key FROM subjects WHERE issue_repo = $1 AND issue_number IS NOT NULL
                 AND merged_into IS NULL AND kind = ANY($2)
                 ORDER BY filed_at DESC NULLS LAST, issue_number DESC LIMIT 1",
                &[&repo, &names],
            )
            .await?
            {
                Some(row) => Ok(Some(row.try_get(0)?)),
                None => Ok(None),
            }
        })
    }

    fn merged_keys(&self, key: &str) -> StoreResult<Vec<String>> {
        self.with("read merged subjects", async |client| {
            rows(
                client,
                "SELECT key FROM subjects WHERE merged_into = $1 ORDER BY first_seen, key",
                &[&key],
            )
            .await?
            .iter()
            .map(|row| row.try_get(0).map_err(Failure::Db))
            .collect()
        })
    }

    fn record_creation(&self, repo: &str, at: i64) -> StoreResult<()> {
        self.with("record a new issue", async |client| {
            exec(
                client,
                "INSERT INTO issue_creations (repo, at) VALUES ($1, $2)",
                &[&repo, &at],
            )
            .await
            .map(drop)
        })
    }

    fn creations_since(&self, repo: &str, since: i64) -> StoreResult<u32> {
        self.with("count new issues", async |client| {
            let count: i64 = rows(
                client,
                "SELECT count(*) FROM issue_creations WHERE repo = $1 AND at >= $2",
                &[&repo, &since],
            )
            .await?[0]
                .try_get(0)?;
            Ok(count as u32)
        })
    }

    fn count_daily(&self, name: &str, day: i64, limit: u32) -> StoreResult<Option<u32>> {
        if limit == 0 {
            return Ok(None);
        }
        // One statement: of two instances taking the last slot at once, one gets no row back.
        self.with("count", async |client| {
            match row(
                client,
                "INSERT INTO daily_counts (name, day, count) VALUES ($1, $2, 1)
                 ON CONFLICT (name, day) DO UPDATE SET count = daily_counts.count + 1
                 WHERE daily_counts.count < $3
                 RETURNING count",
                &[&name, &day, &i64::from(limit)],
            )
            .await?
            {
                Some(row) => Ok(Some(row.try_get::<_, i64>(0)? as u32)),
                None => Ok(None),
            }
        })
    }

    fn subject(&self, key: &str) -> StoreResult<Option<Subject>> {
        self.with("read a fingerprint", async |client| {
            match row(client, "SELECT * FROM subjects WHERE key = $1", &[&key]).await? {
                Some(row) => Ok(Some(read_subject(&row)?)),
                None => Ok(None),
            }
        })
    }

    fn subject_by_issue(&self, repo: &str, number: u64) -> StoreResult<Option<Subject>> {
        self.with("find the subject of an issue", async |client| {
            match row(
                client,
                "SELECT * FROM subjects WHERE issue_number = $2 AND lower(issue_repo) = lower($1)
                 AND merged_into IS NULL ORDER BY key LIMIT 1",
                &[&repo, &(number as i64)],
            )
            .await?
            {
                Some(row) => Ok(Some(read_subject(&row)?)),
                None => Ok(None),
            }
        })
    }

    fn confirm(&self, key: &str, now: i64) -> StoreResult<bool> {
        self.transact("confirm", async |tx| {
            let changed = exec(
                tx,
                "UPDATE subjects SET confirmed = TRUE WHERE key = $1 AND NOT confirmed",
                &[&key],
            )
            .await?;
            if changed > 0 {
                exec(
                    tx,
                    "INSERT INTO sync_jobs (key, due_at) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET due_at = $2",
                    &[&key, &now],
                )
                .await?;
            }
            Ok(changed > 0)
        })
    }

    fn link_public(&self, key: &str, repo: &str, number: u64) -> StoreResult<()> {
        self.with("record a public issue", async |client| {
            exec(
                client,
                "UPDATE subjects SET public_repo = $2, public_number = $3 WHERE key = $1",
                &[&key, &repo, &(number as i64)],
            )
            .await
            .map(drop)
        })
    }

    fn set_autofix(&self, key: &str, state: &str) -> StoreResult<()> {
        self.with("record an auto-fix", async |client| {
            exec(
                client,
                "UPDATE subjects SET autofix = $2 WHERE key = $1",
                &[&key, &state],
            )
            .await
            .map(drop)
        })
    }

    fn clear_quiet_return(&self, key: &str) -> StoreResult<()> {
        self.with("record an announcement", async |client| {
            exec(
                client,
                "UPDATE subjects SET quiet_return = NULL WHERE key = $1",
                &[&key],
            )
            .await
            .map(drop)
        })
    }

    fn add_occurrences(&self, key: &str, count: u64, since: i64) -> StoreResult<()> {
        self.with("add occurrences", async |client| {
            exec(
                client,
                "UPDATE subjects SET count = count + $2, first_seen = least(first_seen, $3) WHERE key = $1",
                &[&key, &(count as i64), &since],
            )
            .await
            .map(drop)
        })
    }

    fn tallies(&self, key: &str) -> StoreResult<Vec<Tally>> {
        self.with("read tallies", async |client| {
            rows(
                client,
                "SELECT dimension, value, count FROM tallies WHERE key = $1 ORDER BY dimension, count DESC, value",
                &[&key],
            )
            .await?
            .iter()
            .map(|row| {
                Ok(Tally {
                    dimension: row.try_get(0)?,
                    value: row.try_get(1)?,
                    count: row.try_get::<_, i64>(2)? as u64,
                })
            })
            .collect()
        })
    }

    fn due_job(&self, now: i64) -> StoreResult<Option<Job>> {
        self.with("read the sync queue", async |client| {
            match row(
                client,
                "SELECT key, due_at, attempts FROM sync_jobs WHERE due_at <= $1 ORDER BY due_at, key LIMIT 1",
                &[&now],
            )
            .await?
            {
                Some(row) => Ok(Some(read_job(&row)?)),
                None => Ok(None),
            }
        })
    }

    fn next_due_at(&self) -> StoreResult<Option<i64>> {
        self.with("read the sync queue", async |client| {
            Ok(rows(client, "SELECT min(due_at) FROM sync_jobs", &[]).await?[0].try_get(0)?)
        })
    }

    fn rollups(&self, granularity: i64, from: i64, to: i64) -> StoreResult<Vec<Rollup>> {
        self.with("read the dashboard's counts", async |client| {
            rows(
                client,
                "SELECT bucket, series, name, version, count FROM rollups
                 WHERE granularity = $1 AND bucket >= $2 AND bucket < $3",
                &[&granularity, &from, &to],
            )
            .await?
            .iter()
            .map(|row| {
                Ok(Rollup {
                    bucket: row.try_get(0)?,
                    key: RollupKey {
                        series: row.try_get(1)?,
                        name: row.try_get(2)?,
                        version: row.try_get(3)?,
                    },
                    count: row.try_get::<_, i64>(4)? as u64,
                })
            })
            .collect()
        })
    }

    fn top_subjects(&self, since: i64, limit: u32) -> StoreResult<Vec<Subject>> {
        self.with("read the top fingerprints", async |client| {
            rows(
                client,
                "SELECT * FROM subjects WHERE last_seen >= $1 AND merged_into IS NULL
                 ORDER BY count DESC, key LIMIT $2",
                &[&since, &i64::from(limit)],
            )
            .await?
            .iter()
            .map(|row| Ok(read_subject(row)?))
            .collect()
        })
    }

    fn park(&self, key: &str, due_at: i64, reason: &str) -> StoreResult<()> {
        self.with("park a sync", async |client| {
            exec(
                client,
                "UPDATE sync_jobs SET due_at = $2, attempts = 0, parked_reason = $3 WHERE key = $1",
                &[&key, &due_at, &reason],
            )
            .await
            .map(drop)
        })
    }

    fn parked_jobs(&self) -> StoreResult<Vec<ParkedJob>> {
        self.with("read the parked jobs", async |client| {
            rows(
                client,
                "SELECT key, due_at, parked_reason FROM sync_jobs WHERE parked_reason IS NOT NULL
                 ORDER BY due_at, key LIMIT 100",
                &[],
            )
            .await?
            .iter()
            .map(|row| {
                Ok(ParkedJob {
                    key: row.try_get(0)?,
                    due_at: row.try_get(1)?,
                    reason: row.try_get(2)?,
                })
            })
            .collect()
        })
    }

    fn queue_depth(&self) -> StoreResult<u64> {
        self.with("count the sync queue", async |client| {
            let row = row(client, "SELECT count(*) FROM sync_jobs", &[]).await?;
            Ok(row.map_or(Ok(0), |row| row.try_get::<_, i64>(0))? as u64)
        })
    }

    fn reschedule(&self, key: &str, due_at: i64, attempts: u32) -> StoreResult<()> {
        self.with("reschedule a sync", async |client| {
            exec(
                client,
                "UPDATE sync_jobs SET due_at = $2, attempts = $3, parked_reason = NULL WHERE key = $1",
                &[&key, &due_at, &i64::from(attempts)],
            )
            .await
            .map(drop)
        })
    }

    fn finish_job(&self, key: &str, synced_count: u64, now: i64, next_due_at: i64) -> StoreResult<()> {
        self.transact("record a sync", async |tx| {
            let count: Option<i64> = row(
                tx,
                "UPDATE subjects SET synced_count = $2, synced_at = $3 WHERE key = $1 RETURNING count",
                &[&key, &(synced_count as i64), &now],
            )
            .await?
            .map(|row| row.try_get(0))
            .transpose()?;
            if count.is_some_and(|count| count as u64 > synced_count) {
                exec(
                    tx,
                    "UPDATE sync_jobs SET due_at = $2, attempts = 0 WHERE key = $1",
                    &[&key, &next_due_at],
                )
                .await?;
            } else {
                exec(tx, "DELETE FROM sync_jobs WHERE key = $1", &[&key]).await?;
            }
            Ok(())
        })
    }

    fn drop_job(&self, key: &str) -> StoreResult<()> {
        self.with("update the sync queue", async |client| {
            exec(client, "DELETE FROM sync_jobs WHERE key = $1", &[&key])
                .await
                .map(drop)
        })
    }

    fn link_issue(&self, key: &str, link: Option<&IssueLink>) -> StoreResult<()> {
        let number = link.map(|l| l.number as i64);
        self.with("record an issue", async |client| {
            exec(
                client,
                "UPDATE subjects SET issue_repo = $2, issue_number = $3, issue_state = $4,
                 issue_state_reason = $5, issue_closed_at = $6, issue_etag = $7,
                 filed_at = CASE WHEN $3::int8 IS NULL THEN NULL
                     ELSE coalesce(filed_at, extract(epoch FROM now())::int8) END
                 WHERE key = $1",
                &[
                    &key,
                    &link.map(|l| &l.repo),
                    &number,
                    &link.map(|l| &l.state),
                    &link.and_then(|l| l.state_reason.as_ref()),
                    &link.and_then(|l| l.closed_at),
                    &link.and_then(|l| l.etag.as_ref()),
                ],
            )
            .await
            .map(drop)
        })
    }

    fn record_write(&self, at: i64) -> StoreResult<()> {
        self.with("record a GitHub write", async |client| {
            exec(client, "INSERT INTO github_writes (at) VALUES ($1)", &[&at])
                .await
                .map(drop)
        })
    }

    fn writes_since(&self, since: i64) -> StoreResult<(u32, Option<i64>)> {
        self.with("read the GitHub budget", async |client| {
            let found = &rows(
                client,
                "SELECT count(*), min(at) FROM github_writes WHERE at >= $1",
                &[&since],
            )
            .await?[0];
            Ok((found.try_get::<_, i64>(0)? as u32, found.try_get(1)?))
        })
    }

    fn bump(&self, counter: &str, by: u64) -> StoreResult<()> {
        self.with("count", async |client| {
            exec(
                client,
                "INSERT INTO counters (name, value) VALUES ($1, $2)
                 ON CONFLICT (name) DO UPDATE SET value = counters.value + excluded.value",
                &[&counter, &(by as i64)],
            )
            .await
            .map(drop)
        })
    }

    fn figures(&self) -> StoreResult<Figures> {
        self.with("read the figures", async |client| {
            let found = &rows(
                client,
                "SELECT (SELECT count(*) FROM subjects), (SELECT count(*) FROM sync_jobs)",
                &[],
            )
            .await?[0];
            let counters = rows(client, "SELECT name, value FROM counters", &[])
                .await?
                .iter()
                .map(|row| Ok((row.try_get::<_, String>(0)?, row.try_get::<_, i64>(1)? as u64)))
                .collect::<Result<_, tokio_postgres::Error>>()?;
            Ok(Figures {
                subjects: found.try_get::<_, i64>(0)? as u64,
                queue_depth: found.try_get::<_, i64>(1)? as u64,
                counters,
            })
        })
    }

    fn events(&self, limit: u32) -> StoreResult<Vec<StoredEvent>> {
        self.with("list the stored events", async |client| {
            rows(
                client,
                "SELECT id, received_at, key, kind, repo, payload FROM stored_events ORDER BY id DESC LIMIT $1",
                &[&i64::from(limit)],
            )
            .await?
            .iter()
            .map(|row| Ok(read_event(row)?))
            .collect()
        })
    }

    fn event(&self, id: i64) -> StoreResult<Option<StoredEvent>> {
        self.with("read a stored event", async |client| {
            match row(
                client,
                "SELECT id, received_at, key, kind, repo, payload FROM stored_events WHERE id = $1",
                &[&id],
            )
            .await?
            {
                Some(row) => Ok(Some(read_event(&row)?)),
                None => Ok(None),
            }
        })
    }

    fn prune(&self, before: i64, now: i64) -> StoreResult<()> {
        self.with("prune", async |client| {
            exec(client, "DELETE FROM report_ids WHERE received_at < $1", &[&before]).await?;
            exec(client, "DELETE FROM stored_events WHERE received_at < $1", &[&before]).await?;
            exec(client, "DELETE FROM github_writes WHERE at < $1", &[&(now - 3600)]).await?;
            Ok(())
        })
    }

    fn lead(&self) -> StoreResult<bool> {
        let mut state = self.leadership.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let was_leading = state.leading;
        let asked = self.block_on(self.try_lead(&mut state));
        let leading = matches!(asked, Ok(true));
        state.leading = leading;
        match (was_leading, leading) {
            (false, true) => tracing::info!(
                database = %self.shown,
                "this collector now makes the GitHub writes (it holds the writer lock)"
            ),
            (true, false) => tracing::warn!(
                database = %self.shown,
                "this collector lost the GitHub writer lock (its connection to PostgreSQL ended) and stopped \
                 writing to GitHub; another collector takes over"
            ),
            _ => {}
        }
        asked.map_err(|failure| failure.store_error("ask for the GitHub writer lock"))
    }

    fn shared(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::conformance::Backend;
    use crate::testing::TestDatabase;

    struct Postgres(TestDatabase);

    impl Backend for Postgres {
        fn open(&self) -> Box<dyn Store> {
            Box::new(PostgresStore::open(&self.0.url).unwrap())
        }

        fn stored_sources(&self) -> Vec<String> {
            PostgresStore::open(&self.0.url).unwrap().stored_sources()
        }
    }

    fn backend() -> Option<Postgres> {
        TestDatabase::create().map(Postgres)
    }

    crate::store::conformance::tests!(backend());

    #[test]
    fn passwords_are_masked_wherever_the_url_carries_them() {
        assert_eq!(
            masked("postgres://lw:s3cret@db.example:5432/lokiwrap"),
            "postgres://lw:***@db.example:5432/lokiwrap"
        );
        assert_eq!(masked("postgresql://lw@db/x"), "postgresql://lw@db/x");
        assert_eq!(
            masked("postgres://lw@db/x?sslmode=disable&password=s3cret"),
            "postgres://lw@db/x?sslmode=disable&password=***"
        );
        assert_eq!(masked("postgres://a:b:c@d@host/x"), "postgres://a:***@host/x");
        assert!(!masked("postgres://lw:p@ss@host").contains("p@ss"));
    }

    #[test]
    fn a_url_that_requires_tls_is_refused_by_name_before_connecting() {
        let Err(error) = PostgresStore::open("postgres://u:hidden-pw@127.0.0.1:1/x?sslmode=require") else {
            panic!("sslmode=require was accepted without TLS")
        };
        assert!(error.contains("sslmode=require"), "{error}");
        assert!(error.contains("without TLS"), "{error}");
        assert!(!error.contains("hidden-pw"), "{error}");
    }

    #[test]
    fn an_empty_database_gets_every_step_and_records_the_newest() {
        let Some(db) = TestDatabase::create() else { return };
        let store = PostgresStore::open(&db.url).unwrap();
        let version = store
            .with("read the version", async |client| {
                Ok(client
                    .query_one("SELECT version FROM lokiwrap_schema_version", &[])
                    .await?
                    .get::<_, i32>(0))
            })
            .unwrap();
        assert_eq!(version as u32, migrate::latest(migrate::POSTGRES));
        assert_eq!(store.source_salt.len(), 64);
        store.check().unwrap();
        // Opening again applies nothing and keeps the salt.
        let again = PostgresStore::open(&db.url).unwrap();
        assert_eq!(again.source_salt, store.source_salt);
    }

    #[test]
    fn the_health_check_asks_the_server_and_fails_once_the_database_is_gone() {
        let Some(db) = TestDatabase::create() else { return };
        let store = PostgresStore::open(&db.url).unwrap();
        store.check().unwrap();
        drop(db);
        let error = store.check().expect_err("a dropped database passed the health check");
        assert!(
            error.to_string().contains("the store could not read its settings"),
            "{error}"
        );
    }

    #[test]
    fn collectors_starting_together_migrate_once() {
        let Some(db) = TestDatabase::create() else { return };
        let opened: Vec<Result<PostgresStore, String>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..4).map(|_| scope.spawn(|| PostgresStore::open(&db.url))).collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let salts: HashSet<String> = opened.into_iter().map(|store| store.unwrap().source_salt).collect();
        assert_eq!(salts.len(), 1, "{salts:?}");
    }

    #[test]
    fn a_database_from_a_newer_collector_is_left_alone() {
        let Some(db) = TestDatabase::create() else { return };
        PostgresStore::open(&db.url).unwrap().set_schema_version(99);
        let Err(error) = PostgresStore::open(&db.url) else {
            panic!("a newer schema was opened")
        };
        assert!(error.contains("schema version 99"), "{error}");
        let known = format!("knows versions up to {}", migrate::latest(migrate::POSTGRES));
        assert!(error.contains(&known), "{error}");
        assert!(error.contains("left untouched"), "{error}");
    }

    #[test]
    fn a_wrong_password_or_server_is_named_and_the_password_never_shown() {
        let Some(db) = TestDatabase::create() else { return };
        let wrong = crate::testing::with_password(&db.url, "not-the-password-x9");
        let Err(error) = PostgresStore::open(&wrong) else {
            panic!("a wrong password was accepted")
        };
        assert!(error.contains("refused the login"), "{error}");
        assert!(error.contains(":***@"), "{error}");
        assert!(!error.contains("not-the-password-x9"), "{error}");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let Err(error) = PostgresStore::open(&format!("postgres://u:hidden-pw@127.0.0.1:{port}/x")) else {
            panic!("a closed port was accepted")
        };
        assert!(error.contains("cannot reach the PostgreSQL server"), "{error}");
        assert!(!error.contains("hidden-pw"), "{error}");
        let Err(error) = PostgresStore::open("postgres://u:hidden-pw@127.0.0.1:notaport/x") else {
            panic!("a bad URL was accepted")
        };
        assert!(error.contains("postgres://USER[:PASSWORD]@HOST"), "{error}");
        assert!(!error.contains("hidden-pw"), "{error}");
    }

    #[test]
    fn one_store_leads_and_another_takes_over_when_it_goes() {
        let Some(db) = TestDatabase::create() else { return };
        let first = PostgresStore::open(&db.url).unwrap();
        let second = PostgresStore::open(&db.url).unwrap();
        assert!(first.lead().unwrap());
        assert!(first.lead().unwrap(), "a leader keeps its lock");
        assert!(!second.lead().unwrap());
        drop(first);
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while !second.lead().unwrap() {
            assert!(std::time::Instant::now() < deadline, "the lock was never released");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    #[test]
    fn the_server_drops_a_silent_writer_lock_session_within_seconds() {
        let Some(db) = TestDatabase::create() else { return };
        let store = PostgresStore::open(&db.url).unwrap();
        assert!(store.lead().unwrap());
        let state = store.leadership.lock().unwrap();
        let client = state.client.as_ref().unwrap();
        let settings: Vec<String> = store
            .block_on(async {
                let mut found = Vec::new();
                for name in ["tcp_keepalives_idle", "tcp_keepalives_interval", "tcp_keepalives_count"] {
                    found.push(client.query_one(&format!("SHOW {name}"), &[]).await?.get(0));
                }
                Ok(found)
            })
            .unwrap();
        // Over a Unix socket the server has no TCP keepalive to set, and shows 0.
        let over_tcp = !store
            .config
            .get_hosts()
            .iter()
            .any(|host| matches!(host, tokio_postgres::config::Host::Unix(_)));
        if over_tcp {
            assert_eq!(settings, ["10", "5", "3"]);
        }
    }

    #[test]
    fn instances_ingesting_together_count_every_report_once() {
        let Some(db) = TestDatabase::create() else { return };
        let stores: Vec<PostgresStore> = (0..3).map(|_| PostgresStore::open(&db.url).unwrap()).collect();
        let keys: Vec<lokiwrap_report::payload::Report> = (0..6)
            .map(|n| lokiwrap_report::payload::sample_report("npm", &format!("Error{n}"), &["main"]))
            .collect();
        // Each thread sends batches over all keys in its own order, through its own instance,
        // and resends one batch whole (the same ids), as a client retrying elsewhere would.
        std::thread::scope(|scope| {
            for (thread, store) in stores.iter().cycle().take(6).enumerate() {
                let keys = &keys;
                scope.spawn(move || {
                    for round in 0..20 {
                        let mut batch: Vec<Received> = (0..keys.len())
                            .map(|n| {
                                let mut report = keys[(n + thread) % keys.len()].clone();
                                report.id = format!("t{thread}-r{round}-{n}");
                                Received {
                                    report,
                                    received_at: 1000 + round,
                                    sync: true,
                                    source: format!("address:192.0.2.{thread}"),
                                }
                            })
                            .collect();
                        if thread % 2 == 1 {
                            batch.reverse();
                        }
                        store.ingest(&batch).unwrap();
                        if round == 7 {
                            let again = store.ingest(&batch).unwrap();
                            assert!(again.iter().all(|s| *s == Stored::DuplicateId), "{again:?}");
                        }
                    }
                });
            }
        });
        for report in &keys {
            let subject = stores[0].subject(&report.fingerprint).unwrap().unwrap();
            assert_eq!((subject.count, subject.sources), (6 * 20, 6), "{}", report.fingerprint);
        }
        assert_eq!(stores[1].figures().unwrap().queue_depth, keys.len() as u64);
    }

    #[test]
    fn a_daily_cap_holds_across_instances_counting_at_once() {
        let Some(db) = TestDatabase::create() else { return };
        let stores: Vec<PostgresStore> = (0..3).map(|_| PostgresStore::open(&db.url).unwrap()).collect();
        let granted: usize = std::thread::scope(|scope| {
            let handles: Vec<_> = stores
                .iter()
                .cycle()
                .take(9)
                .map(|store| {
                    scope.spawn(move || {
                        (0..10)
                            .filter(|_| store.count_daily("autofix", 20_000, 25).unwrap().is_some())
                            .count()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).sum()
        });
        assert_eq!(granted, 25);
    }
}
