-- The schema of the first collector release, as migrations/sqlite/0001 has it: crash
-- fingerprints, their breakdowns, the report ids seen, the GitHub sync queue, the hourly write
-- budget and the counters behind /v1/stats. Keys compare byte by byte (COLLATE "C"), as in
-- SQLite, whatever the database's locale.
CREATE TABLE subjects (
    key TEXT COLLATE "C" PRIMARY KEY,
    kind TEXT NOT NULL,
    repo TEXT,
    details TEXT NOT NULL,
    count BIGINT NOT NULL,
    first_seen BIGINT NOT NULL,
    last_seen BIGINT NOT NULL,
    issue_repo TEXT,
    issue_number BIGINT,
    issue_state TEXT,
    issue_state_reason TEXT,
    issue_closed_at BIGINT,
    issue_etag TEXT,
    synced_count BIGINT NOT NULL DEFAULT 0,
    synced_at BIGINT
);
CREATE TABLE tallies (
    key TEXT COLLATE "C" NOT NULL,
    dimension TEXT COLLATE "C" NOT NULL,
    value TEXT COLLATE "C" NOT NULL,
    count BIGINT NOT NULL,
    PRIMARY KEY (key, dimension, value)
);
CREATE TABLE report_ids (
    id TEXT COLLATE "C" PRIMARY KEY,
    received_at BIGINT NOT NULL
);
CREATE INDEX report_ids_by_time ON report_ids (received_at);
CREATE TABLE sync_jobs (
    key TEXT COLLATE "C" PRIMARY KEY,
    due_at BIGINT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX sync_jobs_by_due ON sync_jobs (due_at);
CREATE TABLE github_writes (at BIGINT NOT NULL);
CREATE INDEX github_writes_by_time ON github_writes (at);
CREATE TABLE counters (
    name TEXT COLLATE "C" PRIMARY KEY,
    value BIGINT NOT NULL
);
