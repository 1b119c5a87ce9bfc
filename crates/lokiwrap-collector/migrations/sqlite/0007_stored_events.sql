-- Events kept for replay (hotfix.store_raw_payloads): each plugin failure event as stored,
-- after the collector's scrub, with the cluster and repository it was counted on. Numbered 7:
-- 6 is the dashboard's hourly roll-ups.
CREATE TABLE stored_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    received_at INTEGER NOT NULL,
    key TEXT NOT NULL,
    kind TEXT NOT NULL,
    repo TEXT NOT NULL,
    payload TEXT NOT NULL
);
CREATE INDEX stored_events_by_time ON stored_events (received_at);
