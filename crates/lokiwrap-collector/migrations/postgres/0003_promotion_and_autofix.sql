-- Promotion and auto-fix: a maintainer's confirmation, the public issue a subject was promoted
-- to, and where its auto-fix stands.
ALTER TABLE subjects ADD COLUMN confirmed BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE subjects ADD COLUMN public_repo TEXT;
ALTER TABLE subjects ADD COLUMN public_number BIGINT;
ALTER TABLE subjects ADD COLUMN autofix TEXT;
