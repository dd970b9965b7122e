-- Every probe run with its response time and condition results, so the
-- window can chart response times and say why a run failed.
CREATE TABLE probe_runs (
    service         TEXT    NOT NULL,
    probe           TEXT    NOT NULL,
    at_ms           INTEGER NOT NULL,
    success         INTEGER NOT NULL,
    duration_ms     REAL    NOT NULL,
    error           TEXT,
    conditions_json TEXT    NOT NULL
);
CREATE INDEX probe_runs_by_probe_time ON probe_runs (service, probe, at_ms);
CREATE INDEX probe_runs_by_time ON probe_runs (at_ms);

-- A service's health status changed (from_status NULL: first seen).
CREATE TABLE status_transitions (
    service     TEXT    NOT NULL,
    at_ms       INTEGER NOT NULL,
    from_status TEXT,
    to_status   TEXT    NOT NULL,
    reason      TEXT    NOT NULL
);
CREATE INDEX status_transitions_by_service_time ON status_transitions (service, at_ms);
CREATE INDEX status_transitions_by_time ON status_transitions (at_ms);

-- The last stack definition that loaded cleanly, per source, so a stack
-- file broken while the app was closed does not leave it with nothing.
CREATE TABLE stack_definitions (
    source       TEXT    PRIMARY KEY,
    text         TEXT    NOT NULL,
    loaded_at_ms INTEGER NOT NULL
);
