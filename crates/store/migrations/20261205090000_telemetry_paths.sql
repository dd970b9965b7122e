-- Telemetry rows were keyed by the file's name in the stack file, so two
-- stacks (or folders) holding a file of the same name shared one cursor and
-- counted each other's lines. From here `file` holds the file's path and
-- `name` the name shown. Rows keyed by a name cannot be told apart: they
-- are dropped, and each file is read again from its start.
DELETE FROM telemetry_minutes;
DELETE FROM telemetry_bad_lines;
DELETE FROM telemetry_files;
ALTER TABLE telemetry_files ADD COLUMN name TEXT NOT NULL DEFAULT '';
