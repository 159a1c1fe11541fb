-- 003_apikey_roles: each API key acts with one role of mamori's own
-- (src/base/actor.h): a business system, a witness, or a console role.
-- Keys made before roles existed could do everything, so they become
-- admin keys; new keys name their role when they are created. dept limits
-- a department manager's key to one department.

ALTER TABLE api_keys ADD COLUMN role TEXT NOT NULL DEFAULT 'admin';
ALTER TABLE api_keys ADD COLUMN dept TEXT;
