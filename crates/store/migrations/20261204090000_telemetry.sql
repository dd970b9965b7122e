-- The telemetry follower's records. `telemetry_files`: per followed file,
-- where reading stopped (device, inode, byte offset, line number, inside an
-- over-long line) and the totals since it was first read; written in the
-- same transaction as the minutes it read, so a restart never counts a line
-- twice. `telemetry_minutes`: events per minute, service and event type,
-- with errors and a latency histogram (`bucket:count,...`); kept under
-- retention, not every line. `telemetry_bad_lines`: the newest malformed
-- lines of each file, as examples.
CREATE TABLE telemetry_files (
    file             TEXT    PRIMARY KEY,
    dev              INTEGER NOT NULL,
    ino              INTEGER NOT NULL,
    byte_offset      INTEGER NOT NULL,
    line_no          INTEGER NOT NULL,
    skipping         INTEGER NOT NULL,
    events_total     INTEGER NOT NULL,
    malformed_total  INTEGER NOT NULL,
    updated_ms       INTEGER NOT NULL
);
CREATE TABLE telemetry_minutes (
    file       TEXT    NOT NULL,
    minute_ms  INTEGER NOT NULL,
    service    TEXT    NOT NULL,
    event      TEXT    NOT NULL,
    count      INTEGER NOT NULL,
    errors     INTEGER NOT NULL,
    latency    TEXT    NOT NULL,
    PRIMARY KEY (file, minute_ms, service, event)
);
CREATE INDEX telemetry_minutes_by_time ON telemetry_minutes (minute_ms);
CREATE TABLE telemetry_bad_lines (
    id        INTEGER PRIMARY KEY,
    file      TEXT    NOT NULL,
    line_no   INTEGER NOT NULL,
    reason    TEXT    NOT NULL,
    excerpt   TEXT    NOT NULL,
    seen_ms   INTEGER NOT NULL
);
CREATE INDEX telemetry_bad_lines_by_file ON telemetry_bad_lines (file, id);
