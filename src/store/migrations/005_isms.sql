-- 005_isms: the ISMS record engine (src/isms/isms.h, docs/internals/isms.md).
-- Every ISMS record (policy documents, role assignments, assets, risks,
-- controls, ...) is one row of isms_records, keyed by its kind and id, with
-- its fields as canonical JSON text. Filtering and sorting happen in C over
-- the rows of one kind, so no engine-specific JSON functions are used.
-- dept is a copy of the record's department field, kept for the
-- department managers' views. Times are RFC 3339 text in JST.

CREATE TABLE isms_records (
	kind TEXT NOT NULL,
	id TEXT NOT NULL,
	dept TEXT,
	version INTEGER NOT NULL,
	status TEXT NOT NULL,
	data TEXT NOT NULL,
	created TEXT NOT NULL,
	created_by TEXT NOT NULL,
	updated TEXT NOT NULL,
	updated_by TEXT NOT NULL,
	PRIMARY KEY (kind, id)
);

-- One row per version of a record: the record as it was after the step,
-- the step (create, update, retire or a workflow verb such as approve),
-- who and when, and the index of the ledger record proving it.
CREATE TABLE isms_history (
	kind TEXT NOT NULL,
	id TEXT NOT NULL,
	version INTEGER NOT NULL,
	op TEXT NOT NULL,
	data TEXT NOT NULL,
	reason TEXT,
	actor TEXT NOT NULL,
	at TEXT NOT NULL,
	ledger_index INTEGER,
	PRIMARY KEY (kind, id, version)
);

-- The next number of each kind's ids ("AS-000001"); never reused.
CREATE TABLE isms_seq (
	kind TEXT PRIMARY KEY,
	next INTEGER NOT NULL
);
