-- The recovery wizard's records. `fingerprints`: the data's fingerprint
-- (row counts, points, keys, sizes, lines) as JSON, taken by verification
-- and by each recovery; a recovery compares against the newest reading of
-- a value it cannot read now. Only the newest few are kept. `recoveries`:
-- each recovery (diagnosis, plan, step outcomes, fingerprints, verification)
-- as JSON, on the incident that was open when it ran; kept like incidents.
CREATE TABLE fingerprints (
    id           INTEGER PRIMARY KEY,
    taken_at_ms  INTEGER NOT NULL,
    body         TEXT    NOT NULL
);
CREATE INDEX fingerprints_by_time ON fingerprints (taken_at_ms);
CREATE TABLE recoveries (
    id           INTEGER PRIMARY KEY,
    incident_id  INTEGER REFERENCES incidents (id) ON DELETE SET NULL,
    started_ms   INTEGER NOT NULL,
    finished_ms  INTEGER NOT NULL,
    ok           INTEGER NOT NULL,
    body         TEXT    NOT NULL
);
CREATE INDEX recoveries_by_time ON recoveries (started_ms);
