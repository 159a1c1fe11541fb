-- 004_alerts: the alerts of the watch module (docs/watch.md, "Alerts").
-- One alert groups the access events of one person, one rule and one JST
-- day; its events name the ledger records (index) and the source system's
-- ref. Every new alert and every triage step is also a ledger record (kinds
-- "alert" and "alert_triage"): these tables are the working copy that the
-- console and the CSIRT page through, the ledger is the evidence.
-- watch_state keeps the streaming watcher's position in the ledger so that
-- a restart neither alerts twice nor misses a record.
-- Timestamps are RFC 3339 text in JST, days YYYY-MM-DD. Portable SQL:
-- SQLite and PostgreSQL.

CREATE TABLE alerts (
	id INTEGER PRIMARY KEY,
	rule TEXT NOT NULL,
	severity TEXT NOT NULL,
	staff_id TEXT NOT NULL,
	staff_name TEXT NOT NULL,
	dept TEXT NOT NULL,
	day TEXT NOT NULL,
	first_ts TEXT NOT NULL,
	last_ts TEXT NOT NULL,
	nevents INTEGER NOT NULL,
	text_ja TEXT NOT NULL,
	text_en TEXT NOT NULL,
	status TEXT NOT NULL,
	created TEXT NOT NULL,
	updated TEXT NOT NULL,
	ledger_index INTEGER NOT NULL,
	UNIQUE (staff_id, rule, day)
);
CREATE INDEX alerts_day ON alerts (day);
CREATE INDEX alerts_dept ON alerts (dept);

CREATE TABLE alert_events (
	alert_id INTEGER NOT NULL,
	ledger_index INTEGER NOT NULL,
	ref TEXT NOT NULL,
	ts TEXT NOT NULL,
	PRIMARY KEY (alert_id, ledger_index)
);

CREATE TABLE alert_history (
	alert_id INTEGER NOT NULL,
	seq INTEGER NOT NULL,
	ts TEXT NOT NULL,
	actor TEXT NOT NULL,
	from_status TEXT NOT NULL,
	to_status TEXT NOT NULL,
	reason TEXT NOT NULL,
	ledger_index INTEGER NOT NULL,
	PRIMARY KEY (alert_id, seq)
);

CREATE TABLE watch_state (
	name TEXT PRIMARY KEY,
	value INTEGER NOT NULL
);
