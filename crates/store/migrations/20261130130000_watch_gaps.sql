-- When the watch last ran (a heartbeat, one row), so the next start knows
-- since when it was away; and the spans nobody watched, shown on the
-- timeline as gaps rather than as healthy time.
CREATE TABLE watch_heartbeat (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    at_ms INTEGER NOT NULL
);
CREATE TABLE watch_gaps (
    from_ms INTEGER NOT NULL,
    to_ms   INTEGER NOT NULL,
    reason  TEXT    NOT NULL
);
CREATE INDEX watch_gaps_by_end ON watch_gaps (to_ms);
