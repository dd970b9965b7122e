-- The seven tables of the user's report, owned by `mcp`.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
SET ROLE mcp;
CREATE TABLE document_embeddings (id bigserial PRIMARY KEY, body text);
CREATE TABLE imported_documents (id bigserial PRIMARY KEY, path text);
CREATE TABLE open_skills (id bigserial PRIMARY KEY, name text);
CREATE TABLE points_of_interest (id bigserial PRIMARY KEY, name text);
CREATE TABLE system_registry (id bigserial PRIMARY KEY, name text);
CREATE TABLE telemetry_events (id bigserial PRIMARY KEY, event jsonb);
CREATE TABLE tool_registry (id bigserial PRIMARY KEY, name text);
