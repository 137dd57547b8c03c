-- Version 1: the tables of the tenant-database contract (docs/tenant-database.md).
-- Runs with search_path set to the operator's schema, so names are unqualified.

CREATE TABLE users (
    id           text PRIMARY KEY,
    external_id  text,
    user_name    text NOT NULL,
    display_name text,
    given_name   text,
    family_name  text,
    email        text,
    active       boolean NOT NULL,
    version      bigint NOT NULL,
    updated_at   timestamptz NOT NULL DEFAULT now()
);

-- SCIM userName is case-insensitive: applications look users up by lower(user_name).
-- Not unique: a rename swap between two users passes through a moment of duplicates.
CREATE INDEX users_lower_user_name_idx ON users (lower(user_name));
CREATE INDEX users_external_id_idx ON users (external_id);

CREATE TABLE groups (
    id           text PRIMARY KEY,
    external_id  text,
    display_name text NOT NULL,
    version      bigint NOT NULL,
    updated_at   timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX groups_lower_display_name_idx ON groups (lower(display_name));

CREATE TABLE group_members (
    group_id text NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    user_id  text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, user_id)
);

-- "Which groups is this user in", and the cascade when a user row is deleted.
CREATE INDEX group_members_user_id_idx ON group_members (user_id);
