//! Schema versions: each store keeps the number of the last migration applied to it, and at
//! start applies the ones after it, in order, in one transaction. The list and the checks on it
//! are the same for every backend; each backend has its own SQL under `migrations/<backend>/`.

/// One numbered step of a backend's schema.
pub struct Migration {
    pub version: u32,
    pub name: &'static str,
    pub sql: &'static str,
}

/// One step of `backend`'s schema, read from `migrations/<backend>/<file>.sql`.
macro_rules! step {
    ($backend:literal, $version:literal, $name:literal, $file:literal) => {
        Migration {
            version: $version,
            name: $name,
            sql: include_str!(concat!("../../migrations/", $backend, "/", $file, ".sql")),
        }
    };
}

/// Every backend's schema, from the first collector release on: the steps are listed once, so
/// the backends cannot drift apart. Append only: a released step is never edited, since
/// databases out there already have it.
macro_rules! steps {
    ($backend:literal) => {
        &[
            step!($backend, 1, "first release", "0001_first_release"),
            step!(
                $backend,
                2,
                "failures and repository limits",
                "0002_failures_and_repository_limits"
            ),
            step!($backend, 3, "promotion and auto-fix", "0003_promotion_and_autofix"),
            step!($backend, 4, "quiet return", "0004_quiet_return"),
            step!($backend, 5, "distinct sources", "0005_distinct_sources"),
            step!($backend, 6, "dashboard roll-ups", "0006_dashboard_rollups"),
            step!($backend, 7, "stored events", "0007_stored_events"),
        ]
    };
}

/// The SQLite schema.
pub const SQLITE: &[Migration] = steps!("sqlite");

/// The PostgreSQL schema: the same steps as `SQLITE`, in PostgreSQL's SQL.
pub const POSTGRES: &[Migration] = steps!("postgres");

/// The newest schema version of `migrations`.
pub fn latest(migrations: &[Migration]) -> u32 {
    migrations.last().map_or(0, |step| step.version)
}

/// What takes a database at version `current` to the newest; `Err` (the newest known) when the
/// database is newer than this collector, which must not touch it.
pub fn pending(migrations: &[Migration], current: u32) -> Result<&[Migration], u32> {
    let newest = latest(migrations);
    if current > newest {
        return Err(newest);
    }
    Ok(&migrations[current as usize..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_count_up_from_one_without_gaps() {
        for (index, step) in SQLITE.iter().enumerate() {
            assert_eq!(step.version as usize, index + 1, "{}", step.name);
            assert!(!step.sql.trim().is_empty(), "{}", step.name);
        }
    }

    #[test]
    fn every_backend_has_the_same_steps() {
        let steps = |list: &[Migration]| list.iter().map(|s| (s.version, s.name)).collect::<Vec<_>>();
        assert_eq!(steps(POSTGRES), steps(SQLITE));
        for step in POSTGRES {
            assert!(!step.sql.trim().is_empty(), "{}", step.name);
        }
    }

    #[test]
    fn an_older_database_gets_the_later_steps_and_a_newer_one_none() {
        assert_eq!(pending(SQLITE, 0).unwrap().len(), SQLITE.len());
        assert_eq!(pending(SQLITE, 1).unwrap()[0].version, 2);
        assert!(pending(SQLITE, latest(SQLITE)).unwrap().is_empty());
        assert_eq!(pending(SQLITE, latest(SQLITE) + 1).err(), Some(latest(SQLITE)));
    }
}
