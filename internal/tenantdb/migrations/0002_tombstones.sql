-- Version 2: tombstones. Deleting a user or group row leaves (id, version)
-- behind, so that a writer holding an older version of the resource (a
-- second operator replica, a resync computed from a stale cache) cannot bring
-- the row back. Internal to the operator: applications do not read these.
-- Runs with search_path set to the operator's schema, so names are unqualified.

CREATE TABLE deleted_users (
    id         text PRIMARY KEY,
    version    bigint NOT NULL,
    deleted_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE deleted_groups (
    id         text PRIMARY KEY,
    version    bigint NOT NULL,
    deleted_at timestamptz NOT NULL DEFAULT now()
);
