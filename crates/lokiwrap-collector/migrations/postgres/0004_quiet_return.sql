-- A failure cluster back after more quiet than its window: the seconds of quiet, until its
-- issue has announced the return.
ALTER TABLE subjects ADD COLUMN quiet_return BIGINT;
