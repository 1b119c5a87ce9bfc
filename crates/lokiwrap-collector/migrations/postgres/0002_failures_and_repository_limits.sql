-- Plugin and workflow failures: a subject can be merged into another, and the time its issue
-- was filed, the issues created per repository and the daily counts keep the creation limits.
ALTER TABLE subjects ADD COLUMN merged_into TEXT COLLATE "C";
ALTER TABLE subjects ADD COLUMN filed_at BIGINT;
CREATE INDEX subjects_by_repo ON subjects (issue_repo, filed_at);
CREATE INDEX subjects_by_merge ON subjects (merged_into) WHERE merged_into IS NOT NULL;
CREATE TABLE issue_creations (repo TEXT NOT NULL, at BIGINT NOT NULL);
CREATE INDEX issue_creations_by_repo ON issue_creations (repo, at);
CREATE TABLE daily_counts (
    name TEXT COLLATE "C" NOT NULL,
    day BIGINT NOT NULL,
    count BIGINT NOT NULL,
    PRIMARY KEY (name, day)
);
