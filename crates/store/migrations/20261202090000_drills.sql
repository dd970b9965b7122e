-- Self-healing drills: a service's container killed on purpose, and how
-- long detection, the healer's action, running again and healthy again
-- took. Few and small; kept like incidents, so each drill is shown next to
-- the ones before it.
CREATE TABLE drills (
    id           INTEGER PRIMARY KEY,
    at_ms        INTEGER NOT NULL,
    service      TEXT    NOT NULL,
    container    TEXT    NOT NULL,
    detected_ms  INTEGER,
    acted_ms     INTEGER,
    running_ms   INTEGER,
    healthy_ms   INTEGER,
    recovered    INTEGER NOT NULL,
    note         TEXT    NOT NULL
);
CREATE INDEX drills_by_service ON drills (service, at_ms);
