-- Which services of which compose project have had a container: an
-- optional service without one is "not deployed" only if it never had one;
-- one that had a container and lost it is down. Not subject to retention.
CREATE TABLE deployed_services (
    project       TEXT    NOT NULL,
    service       TEXT    NOT NULL,
    first_seen_ms INTEGER NOT NULL,
    PRIMARY KEY (project, service)
) WITHOUT ROWID;
