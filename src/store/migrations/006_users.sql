-- 006_users: the people of the web console (docs/console-auth.md): their
-- sign-in credentials, second factor, recovery codes and sessions.
-- Nothing here is a plain secret: passwords are Argon2id strings
-- (libsodium crypto_pwhash_str), the TOTP secret is encrypted with the
-- instance's keys/mfa.key (XSalsa20-Poly1305), recovery codes, setup
-- tokens and session tokens are kept as SHA-256 hex of random values.
-- Times used for expiry are whole seconds since the epoch (INTEGER);
-- created/updated are RFC 3339 text in JST for people.
-- Portable SQL: SQLite and PostgreSQL.

CREATE TABLE users (
	login TEXT PRIMARY KEY,
	staff_id TEXT,
	role TEXT NOT NULL,
	dept TEXT,
	pw_hash TEXT,
	totp_secret TEXT,
	totp_pending TEXT,
	totp_last_step INTEGER NOT NULL DEFAULT 0,
	failures INTEGER NOT NULL DEFAULT 0,
	locked_until INTEGER NOT NULL DEFAULT 0,
	disabled INTEGER NOT NULL DEFAULT 0,
	setup_hash TEXT UNIQUE,
	setup_expires INTEGER NOT NULL DEFAULT 0,
	created TEXT NOT NULL,
	updated TEXT NOT NULL
);

CREATE TABLE user_recovery (
	login TEXT NOT NULL,
	hash TEXT NOT NULL,
	used TEXT,
	PRIMARY KEY (login, hash)
);

-- stage: 1 password done, TOTP needed; 2 password done, TOTP enrolment
-- needed; 3 fully signed in.
CREATE TABLE sessions (
	hash TEXT PRIMARY KEY,
	login TEXT NOT NULL,
	csrf TEXT NOT NULL,
	stage INTEGER NOT NULL,
	created INTEGER NOT NULL,
	last_seen INTEGER NOT NULL
);
CREATE INDEX sessions_login ON sessions (login);
