-- Promotion counts distinct sources, not requests: one sender repeating a report must not reach
-- a threshold alone. A source is kept only as a salted hash (the salt never leaves this
-- database), at most 64 per subject.
CREATE TABLE subject_sources (
    key TEXT NOT NULL,
    source TEXT NOT NULL,
    PRIMARY KEY (key, source)
) WITHOUT ROWID;
ALTER TABLE subjects ADD COLUMN sources INTEGER NOT NULL DEFAULT 0;
CREATE TABLE store_settings (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
INSERT INTO store_settings (name, value) VALUES ('source_salt', lower(hex(randomblob(32))));
