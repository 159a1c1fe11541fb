-- 007_registry_stamp: a random token that every change of the registry
-- tables replaces, in the transaction of the change (registry import,
-- staff dates). registry_load keeps what it loaded in a file beside the
-- store, marked with the token; a later load whose token is the same
-- reads that file instead of the tables (docs/internals/registry.md,
-- "The registry image"). No row: no image is written or read.
-- Portable SQL: SQLite and PostgreSQL.

CREATE TABLE registry_stamp (
	id INTEGER PRIMARY KEY CHECK (id = 1),
	token BLOB NOT NULL
);
