-- Every statement the backend runs, by name. Loaded once by post3_postgres.queries; each
-- "-- name: X" line starts a statement. Parameters are positional ($1, $2...), never spliced.

-- name: list_buckets
SELECT name, created FROM buckets ORDER BY name;

-- name: create_bucket
INSERT INTO buckets (name, created) VALUES ($1, $2)
ON CONFLICT (name) DO NOTHING
RETURNING name, created;

-- name: get_bucket
SELECT id, name, created FROM buckets WHERE name = $1;

-- name: lock_bucket
-- Taken by DeleteBucket and tag writes; an object commit holds a KEY SHARE lock on the
-- bucket row (through its foreign key), so the two serialize.
SELECT id FROM buckets WHERE name = $1 FOR UPDATE;

-- name: bucket_has_objects
SELECT EXISTS (SELECT 1 FROM objects WHERE bucket_id = $1);

-- name: delete_bucket
DELETE FROM buckets WHERE id = $1;

-- name: get_bucket_tags
SELECT name, value FROM bucket_tags WHERE bucket_id = $1 ORDER BY name;

-- name: replace_bucket_tags
-- Deletes only the names that go, and updates the ones that stay: in one statement a DELETE
-- and an INSERT of the same (bucket_id, name) collide on the primary key.
WITH removed AS (
    DELETE FROM bucket_tags WHERE bucket_id = $1 AND name <> ALL ($2::text[])
)
INSERT INTO bucket_tags (bucket_id, name, value)
SELECT $1, t.name, t.value FROM unnest($2::text[], $3::text[]) AS t (name, value)
ON CONFLICT (bucket_id, name) DO UPDATE SET value = excluded.value;

-- name: get_bucket_config
-- One round trip: no row is NoSuchBucket, a NULL document is "not configured".
SELECT b.id, c.document
FROM buckets b LEFT JOIN bucket_configs c ON c.bucket_id = b.id AND c.name = $2
WHERE b.name = $1;

-- name: put_bucket_config
INSERT INTO bucket_configs (bucket_id, name, document) VALUES ($1, $2, $3)
ON CONFLICT (bucket_id, name) DO UPDATE SET document = EXCLUDED.document;

-- name: delete_bucket_config
DELETE FROM bucket_configs WHERE bucket_id = $1 AND name = $2;

-- name: head_object
-- One round trip: the bucket row tells NoSuchBucket from NoSuchKey.
SELECT b.id AS bucket_id, o.version_id, o.size, o.etag, o.last_modified, o.part_sizes,
       ARRAY(SELECT m.name FROM object_metadata m WHERE m.version_id = o.version_id
             ORDER BY m.name) AS metadata_names,
       ARRAY(SELECT m.value FROM object_metadata m WHERE m.version_id = o.version_id
             ORDER BY m.name) AS metadata_values,
       ARRAY(SELECT t.name FROM object_tags t WHERE t.version_id = o.version_id
             ORDER BY t.name) AS tag_names,
       ARRAY(SELECT t.value FROM object_tags t WHERE t.version_id = o.version_id
             ORDER BY t.name) AS tag_values
FROM buckets b
LEFT JOIN objects o ON o.bucket_id = b.id AND o.key = $2
WHERE b.name = $1;

-- name: read_blocks
-- The bytes [$2, $3) of version $1: only the blocks that overlap, and only the needed slice
-- of the edge blocks (uncompressed out-of-line values are sliced without reading them whole).
-- A retired version is still being read: renew its lease so the clean-up leaves it alone.
-- The UPDATE makes PostgreSQL hold the whole result before sending it; whole blocks are
-- passed through untouched so that it holds only their out-of-line pointers, not their bytes
-- (substring() on every block made it copy each batch into a temporary file first, which
-- halved GET throughput).
WITH lease AS (
    UPDATE versions SET touched_at = now() WHERE id = $1 AND state = 'retired'
)
SELECT position,
       CASE WHEN position >= $2 AND position + length(data) <= $3 THEN data
            ELSE substring(data FROM (greatest($2 - position, 0) + 1)::integer
                           FOR (least($3, position + length(data))
                                - greatest($2, position))::integer)
       END AS data
FROM blocks
WHERE version_id = $1
  AND position > $2 - 1048576 AND position < $3
  AND position + length(data) > $2
ORDER BY position;

-- name: begin_version
INSERT INTO versions (bucket_id)
SELECT id FROM buckets WHERE name = $1
RETURNING id, bucket_id;

-- name: write_block
-- Appends a block and beats the writer's heartbeat; no row when the version is gone (its
-- bucket was deleted, or the clean-up judged the upload abandoned).
WITH touched AS (
    UPDATE versions SET touched_at = now() WHERE id = $1 AND state = 'writing' RETURNING id
)
INSERT INTO blocks (version_id, position, data)
SELECT id, $2, $3 FROM touched
RETURNING position;

-- name: discard_version
DELETE FROM versions WHERE id = $1 AND state = 'writing';

-- name: finish_version
-- The version becomes live with its attributes; null when it vanished meanwhile.
WITH finished AS (
    UPDATE versions
    SET state = 'live', size = $2, etag = $3, last_modified = $4, part_sizes = $5
    WHERE id = $1 AND state = 'writing'
    RETURNING id
), metadata AS (
    INSERT INTO object_metadata (version_id, name, value)
    SELECT finished.id, m.name, m.value
    FROM finished, unnest($6::text[], $7::text[]) AS m (name, value)
), tags AS (
    INSERT INTO object_tags (version_id, name, value)
    SELECT finished.id, t.name, t.value
    FROM finished, unnest($8::text[], $9::text[]) AS t (name, value)
)
SELECT id FROM finished;

-- name: create_version
-- A complete version in one statement: small bodies (at most one block) and completed
-- multipart uploads. Null when the bucket does not exist.
WITH created AS (
    INSERT INTO versions (bucket_id, state, size, etag, last_modified, part_sizes)
    SELECT id, 'live', $2, $3, $4, $5 FROM buckets WHERE name = $1
    RETURNING id, bucket_id
), block AS (
    INSERT INTO blocks (version_id, position, data)
    SELECT created.id, 0, $10::bytea FROM created WHERE $10::bytea IS NOT NULL
), metadata AS (
    INSERT INTO object_metadata (version_id, name, value)
    SELECT created.id, m.name, m.value
    FROM created, unnest($6::text[], $7::text[]) AS m (name, value)
), tags AS (
    INSERT INTO object_tags (version_id, name, value)
    SELECT created.id, t.name, t.value
    FROM created, unnest($8::text[], $9::text[]) AS t (name, value)
)
SELECT id, bucket_id FROM created;

-- name: lock_object
-- The object currently at the key, locked until the commit: writers of one key serialize
-- here, and a write condition is checked against what is really there.
SELECT version_id, size, etag, last_modified
FROM objects
WHERE bucket_id = $1 AND key = $2
FOR UPDATE;

-- name: insert_object
-- No row when a concurrent writer created the key first (this waits for its commit).
INSERT INTO objects (bucket_id, key, version_id, size, etag, last_modified, part_sizes)
SELECT $1, $2, id, size, etag, last_modified, part_sizes FROM versions WHERE id = $3
ON CONFLICT (bucket_id, key) DO NOTHING
RETURNING version_id;

-- name: replace_object
WITH swapped AS (
    UPDATE objects o
    SET version_id = v.id, size = v.size, etag = v.etag, last_modified = v.last_modified,
        part_sizes = v.part_sizes
    FROM versions v
    WHERE v.id = $3 AND o.bucket_id = $1 AND o.key = $2
)
UPDATE versions SET state = 'retired', touched_at = now() WHERE id = $4;

-- name: delete_object
-- Deletes the key and retires its version, in one statement. The statement's snapshot is
-- taken before it waits for a writer holding the key's row: when that writer commits, the
-- DELETE follows the row to its new version, but a version created by the same commit is
-- invisible to this snapshot, so it could not be retired and would stay 'live' with nothing
-- pointing at it, forever. Hence the row is deleted only if its version is visible; when it
-- is not ("seen" but not "deleted"), nothing was changed and the caller runs the statement
-- again, with a snapshot that sees the writer's commit.
-- Null bucket_id: no such bucket; a missing key is not an error.
WITH bucket AS (
    SELECT id FROM buckets WHERE name = $1
), gone AS (
    DELETE FROM objects o USING bucket
    WHERE o.bucket_id = bucket.id AND o.key = $2
      AND EXISTS (SELECT 1 FROM versions v WHERE v.id = o.version_id)
    RETURNING o.version_id
), retired AS (
    UPDATE versions SET state = 'retired', touched_at = now()
    WHERE id IN (SELECT version_id FROM gone)
)
SELECT (SELECT id FROM bucket) AS bucket_id,
       EXISTS (SELECT 1 FROM objects o, bucket WHERE o.bucket_id = bucket.id AND o.key = $2)
           AS seen,
       EXISTS (SELECT 1 FROM gone) AS deleted;

-- name: replace_object_tags
-- As replace_bucket_tags: a tag that stays is updated, not deleted and inserted again.
WITH removed AS (
    DELETE FROM object_tags WHERE version_id = $1 AND name <> ALL ($2::text[])
)
INSERT INTO object_tags (version_id, name, value)
SELECT $1, t.name, t.value FROM unnest($2::text[], $3::text[]) AS t (name, value)
ON CONFLICT (version_id, name) DO UPDATE SET value = excluded.value;

-- name: list_objects
-- Walks the (bucket_id, key) primary key from the cursor: a page costs the same in any
-- bucket. The prefix is a range: from $3 to the first string after every string that starts
-- with it (list_objects_prefix), or unbounded above when there is no such string (this one).
-- Listings show the storage class, kept with the metadata: one primary-key probe per listed
-- object, which finds nothing for the usual STANDARD object.
SELECT o.key, o.size, o.etag, o.last_modified, o.part_sizes, m.value AS storage_class
FROM objects o
LEFT JOIN object_metadata m
       ON m.version_id = o.version_id AND m.name = 'x-amz-storage-class'
WHERE o.bucket_id = $1 AND o.key > $2 AND o.key >= $3
ORDER BY o.key
LIMIT $4;

-- name: list_objects_prefix
SELECT o.key, o.size, o.etag, o.last_modified, o.part_sizes, m.value AS storage_class
FROM objects o
LEFT JOIN object_metadata m
       ON m.version_id = o.version_id AND m.name = 'x-amz-storage-class'
WHERE o.bucket_id = $1 AND o.key > $2 AND o.key >= $3 AND o.key < $4
ORDER BY o.key
LIMIT $5;

-- name: create_upload
WITH upload AS (
    INSERT INTO multipart_uploads (upload_id, bucket_id, key, initiated)
    SELECT $2, id, $3, $4 FROM buckets WHERE name = $1
    RETURNING upload_id
), metadata AS (
    INSERT INTO multipart_upload_metadata (upload_id, name, value)
    SELECT upload.upload_id, m.name, m.value
    FROM upload, unnest($5::text[], $6::text[]) AS m (name, value)
), tags AS (
    INSERT INTO multipart_upload_tags (upload_id, name, value)
    SELECT upload.upload_id, t.name, t.value
    FROM upload, unnest($7::text[], $8::text[]) AS t (name, value)
)
SELECT upload_id FROM upload;

-- name: get_upload
SELECT b.id AS bucket_id, u.upload_id, u.key, u.initiated,
       ARRAY(SELECT m.name FROM multipart_upload_metadata m WHERE m.upload_id = u.upload_id
             ORDER BY m.name) AS metadata_names,
       ARRAY(SELECT m.value FROM multipart_upload_metadata m WHERE m.upload_id = u.upload_id
             ORDER BY m.name) AS metadata_values,
       ARRAY(SELECT t.name FROM multipart_upload_tags t WHERE t.upload_id = u.upload_id
             ORDER BY t.name) AS tag_names,
       ARRAY(SELECT t.value FROM multipart_upload_tags t WHERE t.upload_id = u.upload_id
             ORDER BY t.name) AS tag_values
FROM buckets b
LEFT JOIN multipart_uploads u ON u.bucket_id = b.id AND u.upload_id = $2 AND u.key = $3
WHERE b.name = $1;

-- name: lock_upload_for_part
-- Part commits of one upload serialize (a replaced part's version is freed exactly once);
-- completion and abort (FOR UPDATE) wait for them and they for it.
SELECT upload_id FROM multipart_uploads
WHERE upload_id = $1 AND bucket_id = $2 AND key = $3
FOR NO KEY UPDATE;

-- name: lock_upload
SELECT upload_id FROM multipart_uploads
WHERE upload_id = $1 AND bucket_id = $2 AND key = $3
FOR UPDATE;

-- name: part_version
SELECT version_id FROM multipart_parts WHERE upload_id = $1 AND part_number = $2;

-- name: put_part
INSERT INTO multipart_parts
    (upload_id, part_number, version_id, size, etag, last_modified, checksums)
VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb)
ON CONFLICT (upload_id, part_number) DO UPDATE
SET version_id = excluded.version_id, size = excluded.size, etag = excluded.etag,
    last_modified = excluded.last_modified, checksums = excluded.checksums;

-- name: delete_version
DELETE FROM versions WHERE id = $1;

-- name: list_parts
SELECT part_number, size, etag, last_modified, checksums::text AS checksums, version_id
FROM multipart_parts WHERE upload_id = $1 ORDER BY part_number;

-- name: adopt_part_blocks
-- Completion: the parts' blocks become the object's blocks, shifted to their offsets. The
-- bytes are not copied: an update that leaves an out-of-line value alone keeps pointing at
-- the same stored value.
UPDATE blocks b
SET version_id = $1, position = b.position + p.part_offset
FROM unnest($2::bigint[], $3::bigint[]) AS p (version_id, part_offset)
WHERE b.version_id = p.version_id;

-- name: delete_upload
-- The parts' versions go first (their blocks with them); the upload takes its rows along.
WITH versions_gone AS (
    DELETE FROM versions
    WHERE id IN (SELECT version_id FROM multipart_parts WHERE upload_id = $1)
)
DELETE FROM multipart_uploads WHERE upload_id = $1;

-- name: list_uploads
-- A page after the cursor ($3, $4) in (key, upload_id) order, which is (key, initiated) order
-- (ids start with the clock); $4 NULL stands after every upload of the key $3
-- (post3.backend.UploadCursor). The empty key sorts before every key.
SELECT u.upload_id, u.key, u.initiated,
       ARRAY(SELECT m.name FROM multipart_upload_metadata m WHERE m.upload_id = u.upload_id
             ORDER BY m.name) AS metadata_names,
       ARRAY(SELECT m.value FROM multipart_upload_metadata m WHERE m.upload_id = u.upload_id
             ORDER BY m.name) AS metadata_values,
       ARRAY(SELECT t.name FROM multipart_upload_tags t WHERE t.upload_id = u.upload_id
             ORDER BY t.name) AS tag_names,
       ARRAY(SELECT t.value FROM multipart_upload_tags t WHERE t.upload_id = u.upload_id
             ORDER BY t.name) AS tag_values
FROM multipart_uploads u
WHERE u.bucket_id = $1
  AND u.key >= $2 AND starts_with(u.key, $2) AND u.key >= $3
  AND CASE WHEN $4::text IS NULL THEN u.key > $3 ELSE (u.key, u.upload_id) > ($3, $4) END
ORDER BY u.key, u.upload_id
LIMIT $5;

-- name: remove_stale_versions
-- The clean-up: versions whose writer stopped beating (crashed, cancelled, disconnected)
-- and retired versions no reader renewed, a batch at a time. SKIP LOCKED: a version being
-- written or read right now is never waited for, and several post3 processes share the work.
DELETE FROM versions
WHERE id IN (
    SELECT id FROM versions
    WHERE (state = 'writing' AND touched_at < now() - make_interval(secs => $1))
       OR (state = 'retired' AND touched_at < now() - make_interval(secs => $2))
    LIMIT $3
    FOR UPDATE SKIP LOCKED
);

-- name: ping
SELECT 1;

-- name: lock_bucket_for_tags
-- Tag writers of one bucket serialize; object commits (KEY SHARE) are not blocked.
SELECT id FROM buckets WHERE name = $1 FOR NO KEY UPDATE;

-- name: get_access_key
SELECT access_key_id, secret, name, admin, grants::text AS grants, created
FROM api_keys WHERE access_key_id = $1;

-- name: list_access_keys
SELECT access_key_id, secret, name, admin, grants::text AS grants, created
FROM api_keys ORDER BY access_key_id;

-- name: put_access_key
INSERT INTO api_keys (access_key_id, secret, name, admin, grants, created)
VALUES ($1, $2, $3, $4, $5::jsonb, $6)
ON CONFLICT (access_key_id) DO UPDATE
SET secret = EXCLUDED.secret, name = EXCLUDED.name, admin = EXCLUDED.admin,
    grants = EXCLUDED.grants;

-- name: delete_access_key
DELETE FROM api_keys WHERE access_key_id = $1;

-- name: put_object_at_once
-- PutObject without a write condition in one statement, one round trip instead of five: the
-- version ($11: its single block, or null for an empty body; or $12: a staged version finished
-- here), its metadata and tags, and the key pointed at it. One statement is atomic by itself.
-- The key moves by compare-and-swap: the object row is updated only if it still points at
-- the version this statement's snapshot saw ("seen"), and that version is retired. When a
-- concurrent writer got there first (the row changed, or a new row appeared), the swap does
-- not match, the INSERT meets the existing key and fails with a unique violation: nothing of
-- this statement remains, and the caller commits in a transaction under the row lock instead.
-- Null bucket_id: no such bucket; null id with a bucket: the staged version vanished.
WITH bucket AS (
    SELECT id FROM buckets WHERE name = $1
), seen AS (
    SELECT o.version_id FROM objects o, bucket WHERE o.bucket_id = bucket.id AND o.key = $2
), created AS (
    INSERT INTO versions (bucket_id, state, size, etag, last_modified, part_sizes)
    SELECT id, 'live', $3, $4, $5, $6 FROM bucket WHERE $12::bigint IS NULL
    RETURNING id
), finished AS (
    UPDATE versions
    SET state = 'live', size = $3, etag = $4, last_modified = $5, part_sizes = $6
    FROM bucket
    WHERE versions.id = $12::bigint AND versions.state = 'writing'
      AND versions.bucket_id = bucket.id
    RETURNING versions.id
), version AS (
    SELECT id FROM created UNION ALL SELECT id FROM finished
), block AS (
    INSERT INTO blocks (version_id, position, data)
    SELECT created.id, 0, $11::bytea FROM created WHERE $11::bytea IS NOT NULL
), metadata AS (
    INSERT INTO object_metadata (version_id, name, value)
    SELECT version.id, m.name, m.value
    FROM version, unnest($7::text[], $8::text[]) AS m (name, value)
), tags AS (
    INSERT INTO object_tags (version_id, name, value)
    SELECT version.id, t.name, t.value
    FROM version, unnest($9::text[], $10::text[]) AS t (name, value)
), swapped AS (
    UPDATE objects o
    SET version_id = (SELECT id FROM version), size = $3, etag = $4, last_modified = $5,
        part_sizes = $6
    WHERE o.bucket_id = (SELECT id FROM bucket) AND o.key = $2
      AND o.version_id = (SELECT version_id FROM seen)
      AND EXISTS (SELECT 1 FROM version)
    RETURNING o.version_id
), inserted AS (
    INSERT INTO objects (bucket_id, key, version_id, size, etag, last_modified, part_sizes)
    SELECT bucket.id, $2, version.id, $3, $4, $5, $6
    FROM bucket, version
    WHERE NOT EXISTS (SELECT 1 FROM swapped)
), retired AS (
    UPDATE versions SET state = 'retired', touched_at = now()
    WHERE id = (SELECT version_id FROM seen) AND EXISTS (SELECT 1 FROM swapped)
)
SELECT (SELECT id FROM bucket) AS bucket_id, (SELECT id FROM version) AS id;

-- name: find_orphaned_versions
-- ``post3 postgres check``: live versions that no object and no multipart part points at. A
-- version becomes live in the same commit that points something at it, so these are leaks
-- (no reader can reach them, and the clean-up only collects writing and retired versions).
SELECT count(*) AS versions, coalesce(sum(b.blocks), 0)::bigint AS blocks,
       coalesce(sum(b.bytes), 0)::bigint AS bytes
FROM versions v
CROSS JOIN LATERAL (
    SELECT count(*) AS blocks, sum(length(data)) AS bytes FROM blocks WHERE version_id = v.id
) b
WHERE v.state = 'live'
  AND NOT EXISTS (SELECT 1 FROM objects o WHERE o.version_id = v.id)
  AND NOT EXISTS (SELECT 1 FROM multipart_parts p WHERE p.version_id = v.id);

-- name: find_unreferenced_blocks
-- Blocks whose version row is gone. The foreign key makes them impossible unless it was
-- bypassed (session_replication_role = replica, a partial restore).
SELECT count(*) AS blocks, coalesce(sum(length(data)), 0)::bigint AS bytes
FROM blocks b
WHERE NOT EXISTS (SELECT 1 FROM versions v WHERE v.id = b.version_id);

-- name: remove_orphaned_versions
-- Their blocks, metadata and tags go with them (ON DELETE CASCADE). Each condition is checked
-- again on the row as it is when deleted, so a version retired meanwhile is left to the
-- clean-up.
DELETE FROM versions v
WHERE v.state = 'live'
  AND NOT EXISTS (SELECT 1 FROM objects o WHERE o.version_id = v.id)
  AND NOT EXISTS (SELECT 1 FROM multipart_parts p WHERE p.version_id = v.id);

-- name: remove_unreferenced_blocks
DELETE FROM blocks b
WHERE NOT EXISTS (SELECT 1 FROM versions v WHERE v.id = b.version_id);
