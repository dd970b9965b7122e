-- Incidents: when one opened and closed, its likely cause, and the rest of
-- it (affected services, engine lost and back) as JSON, the shape the
-- incident rules keep. Kept regardless of retention: they are the history
-- users come back to.
CREATE TABLE incidents (
    id            INTEGER PRIMARY KEY,
    opened_at_ms  INTEGER NOT NULL,
    closed_at_ms  INTEGER,
    cause_service TEXT,
    cause_summary TEXT    NOT NULL,
    incident_json TEXT    NOT NULL
);
CREATE INDEX incidents_by_open_time ON incidents (opened_at_ms);
CREATE INDEX incidents_open ON incidents (closed_at_ms) WHERE closed_at_ms IS NULL;

-- What was known at the moment: engine events, failing conditions with
-- their observed values, log lines, restart counts, actions and results.
CREATE TABLE incident_evidence (
    incident_id INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    at_ms       INTEGER NOT NULL,
    kind        TEXT    NOT NULL,
    service     TEXT,
    text        TEXT    NOT NULL
);
CREATE INDEX incident_evidence_by_incident ON incident_evidence (incident_id, at_ms);
