-- Promotion counts distinct sources, not requests: one sender repeating a report must not reach
-- a threshold alone. A source is kept only as a salted hash (the salt never leaves this
-- database), at most 64 per subject. The salt is two version-4 UUIDs' worth of PostgreSQL's
-- strong random bytes (gen_random_uuid needs no extension from PostgreSQL 13 on).
CREATE TABLE subject_sources (
    key TEXT COLLATE "C" NOT NULL,
    source TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (key, source)
);
ALTER TABLE subjects ADD COLUMN sources BIGINT NOT NULL DEFAULT 0;
CREATE TABLE store_settings (
    name TEXT COLLATE "C" PRIMARY KEY,
    value TEXT NOT NULL
);
INSERT INTO store_settings (name, value)
VALUES ('source_salt', replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''));
