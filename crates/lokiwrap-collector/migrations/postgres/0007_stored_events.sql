-- Events kept for replay (hotfix.store_raw_payloads), as migrations/sqlite/0007 has them: each
-- plugin failure event as stored, after the collector's scrub, with the cluster and repository
-- it was counted on.
CREATE TABLE stored_events (
    id BIGSERIAL PRIMARY KEY,
    received_at BIGINT NOT NULL,
    key TEXT COLLATE "C" NOT NULL,
    kind TEXT NOT NULL,
    repo TEXT NOT NULL,
    payload TEXT NOT NULL
);
CREATE INDEX stored_events_by_time ON stored_events (received_at);
