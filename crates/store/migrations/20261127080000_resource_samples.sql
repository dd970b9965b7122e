-- Resource samples per container, keyed by name so history survives a
-- container being recreated (as after a wipe and redeploy).
CREATE TABLE resource_samples (
    container_name    TEXT    NOT NULL,
    container_id      TEXT    NOT NULL,
    at_ms             INTEGER NOT NULL,
    cpu_percent       REAL    NOT NULL,
    memory_used_bytes INTEGER NOT NULL,
    memory_limit_bytes INTEGER NOT NULL
);
CREATE INDEX resource_samples_by_name_time ON resource_samples (container_name, at_ms);
CREATE INDEX resource_samples_by_time ON resource_samples (at_ms);
