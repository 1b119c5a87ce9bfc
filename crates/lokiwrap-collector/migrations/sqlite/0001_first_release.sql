-- The schema of the first collector release: crash fingerprints, their breakdowns, the report
-- ids seen, the GitHub sync queue, the hourly write budget and the counters behind /v1/stats.
CREATE TABLE subjects (
    key TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    repo TEXT,
    details TEXT NOT NULL,
    count INTEGER NOT NULL,
    first_seen INTEGER NOT NULL,
    last_seen INTEGER NOT NULL,
    issue_repo TEXT,
    issue_number INTEGER,
    issue_state TEXT,
    issue_state_reason TEXT,
    issue_closed_at INTEGER,
    issue_etag TEXT,
    synced_count INTEGER NOT NULL DEFAULT 0,
    synced_at INTEGER
);
CREATE TABLE tallies (
    key TEXT NOT NULL,
    dimension TEXT NOT NULL,
    value TEXT NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (key, dimension, value)
) WITHOUT ROWID;
CREATE TABLE report_ids (
    id TEXT PRIMARY KEY,
    received_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX report_ids_by_time ON report_ids (received_at);
CREATE TABLE sync_jobs (
    key TEXT PRIMARY KEY,
    due_at INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX sync_jobs_by_due ON sync_jobs (due_at);
CREATE TABLE github_writes (at INTEGER NOT NULL);
CREATE INDEX github_writes_by_time ON github_writes (at);
CREATE TABLE counters (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;
