-- S3 versioning: a bucket's status, and every version of every key.
--
-- "object_versions" is the history of each key: one row per S3 version, delete markers
-- included, newest first in (bucket_id, key, sequence) order (post3.versioning makes a
-- sequence from 2**64-1 minus the clock, so ascending is newest first). s3_version_id is the
-- id S3 clients see: 'null' for the null version (at most one per key), else the sequence.
-- An object version points at its immutable row in "versions" (version_id), which stays
-- 'live' while the row exists; a marker has none. Removing a version retires its "versions"
-- row, so a reader that opened it finishes, and the clean-up (which only collects 'writing'
-- and 'retired' rows) never touches a noncurrent version.
--
-- "objects" stays the index of ListObjects: one row per key whose latest version is an
-- object, not a delete marker, repeating that version's listing fields. A page reads only it,
-- whatever the number of noncurrent versions and markers. Every commit that changes a key's
-- history brings its "objects" row in step in the same transaction.
--
-- The data of the earlier release: each object becomes its key's null version, with a
-- sequence that sorts after (older than) every sequence post3 makes (theirs start with
-- 2**64-1 minus the clock, below ffffffffffffffff), unique per key and stable.

-- NULL: versioning was never configured; it never returns to NULL once set.
ALTER TABLE buckets
    ADD COLUMN versioning text CHECK (versioning IN ('Enabled', 'Suspended'));

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

INSERT INTO object_versions (bucket_id, key, sequence, s3_version_id, delete_marker,
                             version_id, size, etag, last_modified, part_sizes)
SELECT bucket_id, key, 'ffffffffffffffff' || lpad(to_hex(version_id), 16, '0'), 'null', false,
       version_id, size, etag, last_modified, part_sizes
FROM objects;

-- The listed version's id (ListObjects shows it); the existing rows are null versions.
ALTER TABLE objects ADD COLUMN s3_version_id text COLLATE "C" NOT NULL DEFAULT 'null';
ALTER TABLE objects ALTER COLUMN s3_version_id DROP DEFAULT;
