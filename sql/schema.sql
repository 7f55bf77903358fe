-- The full schema of the post3 PostgreSQL backend after every migration, for reading and for
-- review. Do not apply it to a database post3 will serve: post3 creates and upgrades its schema
-- with the migrations shipped in the post3-postgres package ("post3 postgres migrate", which
-- also records them in schema_migrations). A test keeps this file equal to what they produce.

CREATE TABLE schema_migrations (
    version    integer PRIMARY KEY,
    name       text NOT NULL,
    checksum   text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
);

-- Buckets, object versions and their 1 MiB blocks, objects, tags, multipart uploads.
--
-- An object is a row in "objects" pointing at an immutable row in "versions"; the bytes are
-- the version's rows in "blocks". A write streams its blocks under a fresh version and then,
-- in one short transaction, points the key at it, so readers see the old version or the new
-- one, never a mix. Replaced and deleted versions are "retired" and removed later by the
-- clean-up, which lets a reader that opened them finish.

-- versioning: S3's status, NULL while versioning was never configured (it never returns to
-- NULL once set).
CREATE TABLE buckets (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       text COLLATE "C" NOT NULL UNIQUE,
    created    timestamptz NOT NULL,
    versioning text CHECK (versioning IN ('Enabled', 'Suspended'))
);

CREATE TABLE bucket_tags (
    bucket_id bigint NOT NULL REFERENCES buckets (id) ON DELETE CASCADE,
    name      text COLLATE "C" NOT NULL,
    value     text NOT NULL,
    PRIMARY KEY (bucket_id, name)
);

-- state: 'writing' while the body streams in (touched_at is the writer's heartbeat),
-- 'live' while an object or a multipart part points at it, 'retired' once replaced or
-- deleted (touched_at is when, renewed by readers still streaming it).
CREATE TABLE versions (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    bucket_id     bigint NOT NULL REFERENCES buckets (id) ON DELETE CASCADE,
    state         text NOT NULL DEFAULT 'writing'
                  CHECK (state IN ('writing', 'live', 'retired')),
    size          bigint,
    etag          text,
    last_modified timestamptz,
    part_sizes    bigint[] NOT NULL DEFAULT '{}',
    touched_at    timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX versions_bucket ON versions (bucket_id);
CREATE INDEX versions_cleanup ON versions (touched_at) WHERE state <> 'live';

-- position: the block's byte offset in its version. Blocks hold at most 1 MiB each, which the
-- range query relies on to bound its index scan.
CREATE TABLE blocks (
    version_id bigint NOT NULL REFERENCES versions (id) ON DELETE CASCADE,
    position   bigint NOT NULL,
    data       bytea NOT NULL CHECK (length(data) BETWEEN 1 AND 1048576),
    PRIMARY KEY (version_id, position)
);

-- Stored out of line but uncompressed: compressing object bytes costs time on most payloads
-- and prevents substring() from fetching only the slice a range needs.
ALTER TABLE blocks ALTER COLUMN data SET STORAGE EXTERNAL;

CREATE TABLE object_metadata (
    version_id bigint NOT NULL REFERENCES versions (id) ON DELETE CASCADE,
    name       text COLLATE "C" NOT NULL,
    value      text NOT NULL,
    PRIMARY KEY (version_id, name)
);

CREATE TABLE object_tags (
    version_id bigint NOT NULL REFERENCES versions (id) ON DELETE CASCADE,
    name       text COLLATE "C" NOT NULL,
    value      text NOT NULL,
    PRIMARY KEY (version_id, name)
);

-- The index of ListObjects: one row per key whose latest version (in object_versions) is an
-- object, not a delete marker. s3_version_id, size, etag, last_modified and part_sizes repeat
-- that version's, so that a listing page reads this table's index and rows only, whatever
-- the size of "versions" and the number of noncurrent versions.
CREATE TABLE objects (
    bucket_id     bigint NOT NULL REFERENCES buckets (id) ON DELETE CASCADE,
    key           text COLLATE "C" NOT NULL,
    version_id    bigint NOT NULL UNIQUE REFERENCES versions (id),
    size          bigint NOT NULL,
    etag          text NOT NULL,
    last_modified timestamptz NOT NULL,
    part_sizes    bigint[] NOT NULL DEFAULT '{}',
    s3_version_id text COLLATE "C" NOT NULL,
    PRIMARY KEY (bucket_id, key)
);

-- upload_id sorts in creation order (a nanosecond clock, then randomness).
CREATE TABLE multipart_uploads (
    upload_id text COLLATE "C" PRIMARY KEY,
    bucket_id bigint NOT NULL REFERENCES buckets (id) ON DELETE CASCADE,
    key       text COLLATE "C" NOT NULL,
    initiated timestamptz NOT NULL
);

CREATE INDEX multipart_uploads_listing ON multipart_uploads (bucket_id, key, upload_id);

CREATE TABLE multipart_upload_metadata (
    upload_id text COLLATE "C" NOT NULL
              REFERENCES multipart_uploads (upload_id) ON DELETE CASCADE,
    name      text COLLATE "C" NOT NULL,
    value     text NOT NULL,
    PRIMARY KEY (upload_id, name)
);

CREATE TABLE multipart_upload_tags (
    upload_id text COLLATE "C" NOT NULL
              REFERENCES multipart_uploads (upload_id) ON DELETE CASCADE,
    name      text COLLATE "C" NOT NULL,
    value     text NOT NULL,
    PRIMARY KEY (upload_id, name)
);

CREATE TABLE multipart_parts (
    upload_id     text COLLATE "C" NOT NULL
                  REFERENCES multipart_uploads (upload_id) ON DELETE CASCADE,
    part_number   integer NOT NULL CHECK (part_number BETWEEN 1 AND 10000),
    version_id    bigint NOT NULL UNIQUE REFERENCES versions (id) ON DELETE CASCADE,
    size          bigint NOT NULL,
    etag          text NOT NULL,
    last_modified timestamptz NOT NULL,
    checksums     jsonb NOT NULL DEFAULT '{}',
    PRIMARY KEY (upload_id, part_number)
);

-- Access keys (post3 keys ...). The secret is kept as it is: verifying a SigV4 signature needs
-- the secret itself. grants maps a bucket name to 'read', 'write' or 'owner'.
CREATE TABLE api_keys (
    access_key_id text COLLATE "C" PRIMARY KEY,
    secret        text NOT NULL,
    name          text NOT NULL DEFAULT '',
    admin         boolean NOT NULL DEFAULT false,
    grants        jsonb NOT NULL DEFAULT '{}',
    created       timestamptz NOT NULL,
    -- the key's user (post3.principals); '' for a key stored before keys had users
    user_name     text NOT NULL DEFAULT ''
);

-- Bucket configuration documents (CORS; later lifecycle, policy, encryption, object lock): one
-- row per bucket and document name. post3 parses and validates them; this keeps their text.
-- They go with their bucket.
CREATE TABLE bucket_configs (
    bucket_id bigint NOT NULL REFERENCES buckets (id) ON DELETE CASCADE,
    name      text COLLATE "C" NOT NULL,
    document  text NOT NULL,
    PRIMARY KEY (bucket_id, name)
);

-- Every S3 version of every key, delete markers included, newest first in (bucket_id, key,
-- sequence) order (a sequence is 2**64-1 minus the clock, then randomness, in hex, so
-- ascending is newest first). s3_version_id is the id clients see: 'null' for the null
-- version (at most one per key), else the sequence. An object version points at its
-- immutable row in "versions" (version_id), live while the row exists; a marker has none.
-- Removing a version retires its "versions" row (readers that opened it finish); the clean-up
-- never touches a noncurrent version. Objects of a release before versioning became their
-- key's null version, with a sequence older than any new one (ffffffffffffffff, then the
-- version row's id).
CREATE TABLE object_versions (
    bucket_id     bigint NOT NULL REFERENCES buckets (id) ON DELETE CASCADE,
    key           text COLLATE "C" NOT NULL,
    sequence      text COLLATE "C" NOT NULL,
    s3_version_id text COLLATE "C" NOT NULL,
    delete_marker boolean NOT NULL,
    version_id    bigint UNIQUE REFERENCES versions (id),
    size          bigint NOT NULL,
    etag          text NOT NULL,
    last_modified timestamptz NOT NULL,
    part_sizes    bigint[] NOT NULL DEFAULT '{}',
    PRIMARY KEY (bucket_id, key, sequence),
    UNIQUE (bucket_id, key, s3_version_id),
    CHECK ((version_id IS NULL) = delete_marker)
);
