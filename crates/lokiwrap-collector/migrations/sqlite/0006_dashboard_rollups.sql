-- The dashboard's counts: events per hour and per day (granularity 3600 or 86400 seconds, bucket
-- = the start of the hour or UTC day) of each tool or plugin (name), by series (`crash`,
-- `friction:<kind>`, `plugin_failure`, `workflow_failure`) and version. A page reads the buckets
-- it shows, never the events. Filled from this release on. And why a sync job is parked.
CREATE TABLE rollups (
    granularity INTEGER NOT NULL,
    bucket INTEGER NOT NULL,
    series TEXT NOT NULL,
    name TEXT NOT NULL,
    version TEXT NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (granularity, bucket, series, name, version)
) WITHOUT ROWID;
ALTER TABLE sync_jobs ADD COLUMN parked_reason TEXT;
-- The busiest subjects first, without sorting them all.
CREATE INDEX subjects_by_count ON subjects (count);
