-- Plugin and workflow failures: a subject can be merged into another, and the time its issue
-- was filed, the issues created per repository and the daily counts keep the creation limits.
ALTER TABLE subjects ADD COLUMN merged_into TEXT;
ALTER TABLE subjects ADD COLUMN filed_at INTEGER;
CREATE INDEX subjects_by_repo ON subjects (issue_repo, filed_at);
CREATE TABLE issue_creations (repo TEXT NOT NULL, at INTEGER NOT NULL);
CREATE INDEX issue_creations_by_repo ON issue_creations (repo, at);
CREATE TABLE daily_counts (
    name TEXT NOT NULL,
    day INTEGER NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (name, day)
) WITHOUT ROWID;
