-- 001_registry: the municipality's registry (../shared/FORMATS.md).
-- Dates and timestamps are kept as the exact text the import file gave, so
-- that nothing is lost (offsets, fractional seconds); lists are JSON array
-- text. Portable SQL: SQLite and PostgreSQL.
-- The loaders read whole tables in primary-key order and need no other
-- index; every extra index slows the bulk import, so there are few.
-- "start" and "end" are reserved words in SQL, hence the *_date / *_ts names.

CREATE TABLE systems (
	id TEXT PRIMARY KEY,
	name TEXT NOT NULL,
	zone TEXT NOT NULL,
	confidentiality TEXT NOT NULL,
	integrity TEXT,
	availability TEXT,
	need_to_know TEXT
);

CREATE TABLE departments (
	id TEXT PRIMARY KEY,
	name TEXT NOT NULL,
	parent TEXT,
	systems TEXT NOT NULL
);

CREATE TABLE staff (
	id TEXT PRIMARY KEY,
	name TEXT NOT NULL,
	surname TEXT NOT NULL,
	dept TEXT NOT NULL,
	employment TEXT NOT NULL,
	roles TEXT NOT NULL,
	zones TEXT NOT NULL,
	start_date TEXT NOT NULL,
	end_date TEXT,
	training TEXT,
	pledge TEXT,
	address_id TEXT,
	household_id TEXT,
	contractor TEXT
);
CREATE INDEX staff_dept ON staff (dept);

CREATE TABLE residents (
	id TEXT PRIMARY KEY,
	surname TEXT NOT NULL,
	given TEXT NOT NULL,
	birth TEXT NOT NULL,
	address_id TEXT NOT NULL,
	household_id TEXT NOT NULL,
	flags TEXT NOT NULL
);

CREATE TABLE cases (
	id TEXT PRIMARY KEY,
	resident_id TEXT NOT NULL,
	dept TEXT NOT NULL,
	kind TEXT NOT NULL,
	assigned_to TEXT,
	opened TEXT NOT NULL,
	closed TEXT
);

CREATE TABLE overtime (
	staff_id TEXT NOT NULL,
	start_ts TEXT NOT NULL,
	end_ts TEXT NOT NULL,
	PRIMARY KEY (staff_id, start_ts)
);
