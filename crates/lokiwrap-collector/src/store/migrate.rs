//! Schema versions: each store keeps the number of the last migration applied to it, and at
//! start applies the ones after it, in order, in one transaction. The list and the checks on it
//! are the same for every backend; each backend has its own SQL under `migrations/<backend>/`.

/// One numbered step of a backend's schema.
pub struct Migration {
    pub version: u32,
    pub name: &'static str,
    pub sql: &'static str,
}

/// The SQLite schema, from the first collector release on. Append only: a released step is
/// never edited, since databases out there already have it.
pub const SQLITE: &[Migration] = &[
    Migration {
        version: 1,
        name: "first release",
        sql: include_str!("../../migrations/sqlite/0001_first_release.sql"),
    },
    Migration {
        version: 2,
        name: "failures and repository limits",
        sql: include_str!("../../migrations/sqlite/0002_failures_and_repository_limits.sql"),
    },
    Migration {
        version: 3,
        name: "promotion and auto-fix",
        sql: include_str!("../../migrations/sqlite/0003_promotion_and_autofix.sql"),
    },
    Migration {
        version: 4,
        name: "quiet return",
        sql: include_str!("../../migrations/sqlite/0004_quiet_return.sql"),
    },
    Migration {
        version: 5,
        name: "distinct sources",
        sql: include_str!("../../migrations/sqlite/0005_distinct_sources.sql"),
    },
];

/// The PostgreSQL schema: the same versions as `SQLITE`, step for step, in PostgreSQL's SQL.
pub const POSTGRES: &[Migration] = &[
    Migration {
        version: 1,
        name: "first release",
        sql: include_str!("../../migrations/postgres/0001_first_release.sql"),
    },
    Migration {
        version: 2,
        name: "failures and repository limits",
        sql: include_str!("../../migrations/postgres/0002_failures_and_repository_limits.sql"),
    },
    Migration {
        version: 3,
        name: "promotion and auto-fix",
        sql: include_str!("../../migrations/postgres/0003_promotion_and_autofix.sql"),
    },
    Migration {
        version: 4,
        name: "quiet return",
        sql: include_str!("../../migrations/postgres/0004_quiet_return.sql"),
    },
    Migration {
        version: 5,
        name: "distinct sources",
        sql: include_str!("../../migrations/postgres/0005_distinct_sources.sql"),
    },
];

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
