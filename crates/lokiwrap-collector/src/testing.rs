//! Test support shared by the unit and the integration tests: a fresh PostgreSQL database per
//! test. Not part of the collector's interface.

use std::io::Write;
use std::sync::atomic::{AtomicU32, Ordering};

/// The variable naming a PostgreSQL role that may create databases, as a URL.
pub const ADMIN_URL_VAR: &str = "LOKIWRAP_TEST_POSTGRES";
/// Set to 1 where the PostgreSQL tests must run (CI): a missing `ADMIN_URL_VAR` then fails.
pub const REQUIRE_VAR: &str = "LOKIWRAP_REQUIRE_POSTGRES";

/// An empty database made for one test and dropped (with any session still on it) after it.
pub struct TestDatabase {
    admin: String,
    name: String,
    /// The database's URL, with the admin URL's user and password.
    pub url: String,
}

impl TestDatabase {
    /// A new database, or `None` (after saying how to run the test) when no server is named.
    /// Panics when `LOKIWRAP_REQUIRE_POSTGRES=1` and no server is named, or when the server
    /// named cannot make one.
    pub fn create() -> Option<TestDatabase> {
        let Some(admin) = std::env::var(ADMIN_URL_VAR).ok().filter(|url| !url.is_empty()) else {
            if std::env::var(REQUIRE_VAR).as_deref() == Ok("1") {
                panic!(
                    "{REQUIRE_VAR}=1 but {ADMIN_URL_VAR} is not set: export {ADMIN_URL_VAR}=postgres://USER:PASSWORD@127.0.0.1:5432/postgres \
                     naming a role with CREATEDB (.ci/run sets one up), or unset {REQUIRE_VAR} to skip the PostgreSQL tests"
                );
            }
            // Straight to the process's stderr: the test harness keeps what `eprintln!` prints
            // from a passing test to itself, and this line is meant to be seen.
            let _ = writeln!(
                std::io::stderr(),
                "skipped: set {ADMIN_URL_VAR}=postgres://USER:PASSWORD@127.0.0.1:5432/postgres (a role with CREATEDB) to run the PostgreSQL tests"
            );
            return None;
        };
        static SERIAL: AtomicU32 = AtomicU32::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let name = format!(
            "lokiwrap_test_{}_{nanos}_{}",
            std::process::id(),
            SERIAL.fetch_add(1, Ordering::Relaxed)
        );
        run_admin(&admin, &format!("CREATE DATABASE {name}"));
        let url = with_database(&admin, &name);
        Some(TestDatabase { admin, name, url })
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        run_admin(
            &self.admin,
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
        );
    }
}

/// Runs one statement as the admin role, or panics saying why.
fn run_admin(admin: &str, sql: &str) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime for the test database");
    runtime.block_on(async {
        let (client, connection) = tokio_postgres::connect(admin, tokio_postgres::NoTls)
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "cannot connect to {} ({ADMIN_URL_VAR}): {e}; start PostgreSQL (pg_ctlcluster 15 main start) \
                     and check the URL's role and password",
                    crate::store::masked_url(admin)
                )
            });
        let connection = tokio::spawn(connection);
        client
            .batch_execute(sql)
            .await
            .unwrap_or_else(|e| panic!("{sql} failed: {e}; the role of {ADMIN_URL_VAR} needs CREATEDB"));
        drop(client);
        let _ = connection.await;
    });
}

/// `url` naming database `name` instead of its own.
pub fn with_database(url: &str, name: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("postgres", url));
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let query = tail
        .split_once('?')
        .map(|(_, query)| format!("?{query}"))
        .unwrap_or_default();
    format!("{scheme}://{authority}/{name}{query}")
}

/// `url` with `password` instead of its own.
pub fn with_password(url: &str, password: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("postgres", url));
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let (user_info, host) = authority.rsplit_once('@').unwrap_or(("", authority));
    let user = user_info.split_once(':').map_or(user_info, |(user, _)| user);
    format!("{scheme}://{user}:{password}@{host}{tail}")
}

/// Stores crash reports as if each had been received at its time, through the store's own
/// write path: how tests and benches give the dashboard a history. `database` is a SQLite file
/// or a `postgres://` URL, migrated first if need be.
pub fn store_reports(database: &str, reports: &[(lokiwrap_report::payload::Report, i64)]) -> Result<(), String> {
    use crate::store::{PostgresStore, Received, SqliteStore, Store, is_postgres_url};
    let store: Box<dyn Store> = if is_postgres_url(database) {
        Box::new(PostgresStore::open(database)?)
    } else {
        Box::new(SqliteStore::open(std::path::Path::new(database))?)
    };
    let mut reports = reports.to_vec();
    // In the order a collector would have received them.
    reports.sort_by_key(|(_, at)| *at);
    let batch: Vec<Received> = reports
        .iter()
        .map(|(report, at)| Received {
            report: report.clone(),
            received_at: *at,
            sync: false,
            source: format!("address:seed-{}", report.id),
        })
        .collect();
    for chunk in batch.chunks(500) {
        store.ingest(chunk).map_err(|error| error.to_string())?;
    }
    Ok(())
}
