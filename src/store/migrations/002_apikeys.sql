-- 002_apikeys: API keys of the business systems that call the HTTP API
-- (docs/api.md). Only a SHA-256 hash of each key's secret part is kept:
-- the full key text is shown once, when it is created, and never stored.
-- A revoked key keeps its row (and its name, which stays taken) so that
-- the ledger's actor names always resolve to one key. Timestamps are
-- RFC 3339 text in JST. Portable SQL: SQLite and PostgreSQL.

CREATE TABLE api_keys (
	id TEXT PRIMARY KEY,
	name TEXT NOT NULL UNIQUE,
	hash TEXT NOT NULL,
	created TEXT NOT NULL,
	revoked TEXT
);
