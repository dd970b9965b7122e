-- One-click verification runs: the totals, the service table and health
-- breakdown as measured during the run (JSON), and every check's result.
CREATE TABLE verification_runs (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    stack           TEXT    NOT NULL,
    started_at_ms   INTEGER NOT NULL,
    duration_ms     REAL    NOT NULL,
    passed          INTEGER NOT NULL,
    failed          INTEGER NOT NULL,
    skipped         INTEGER NOT NULL,
    required_failed INTEGER NOT NULL,
    services_json   TEXT    NOT NULL,
    breakdown_json  TEXT
);
CREATE INDEX verification_runs_by_time ON verification_runs (started_at_ms);

CREATE TABLE verification_results (
    run_id      INTEGER NOT NULL REFERENCES verification_runs (id) ON DELETE CASCADE,
    position    INTEGER NOT NULL,
    check_id    TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    service     TEXT,
    required    INTEGER NOT NULL,
    status      TEXT    NOT NULL,
    duration_ms REAL    NOT NULL,
    evidence    TEXT    NOT NULL,
    hint        TEXT    NOT NULL,
    PRIMARY KEY (run_id, position)
);
