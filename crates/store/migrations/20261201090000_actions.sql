-- What was done to the stack, by whom, and how it went: a person from the
-- window or the command line, the engine restarting a container by
-- itself, later the self-healer and the recovery wizard. An action taken
-- while an incident is open is recorded on it. Kept like incidents: the
-- timeline and the recovery report read them back.
CREATE TABLE actions (
    id          INTEGER PRIMARY KEY,
    at_ms       INTEGER NOT NULL,
    source      TEXT    NOT NULL,
    action      TEXT    NOT NULL,
    service     TEXT,
    ok          INTEGER NOT NULL,
    result      TEXT    NOT NULL,
    incident_id INTEGER REFERENCES incidents (id) ON DELETE SET NULL
);
CREATE INDEX actions_by_time ON actions (at_ms);
CREATE INDEX actions_by_incident ON actions (incident_id, at_ms);
