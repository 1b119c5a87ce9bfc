-- The dashboard's counts, as migrations/sqlite/0006 has them: events per hour and per UTC day
-- of each tool or plugin, by series and version; and why a sync job is parked.
CREATE TABLE rollups (
    granularity BIGINT NOT NULL,
    bucket BIGINT NOT NULL,
    series TEXT COLLATE "C" NOT NULL,
    name TEXT COLLATE "C" NOT NULL,
    version TEXT COLLATE "C" NOT NULL,
    count BIGINT NOT NULL,
    PRIMARY KEY (granularity, bucket, series, name, version)
);
ALTER TABLE sync_jobs ADD COLUMN parked_reason TEXT;
-- The busiest subjects first, without sorting them all.
CREATE INDEX subjects_by_count ON subjects (count);
