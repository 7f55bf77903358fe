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
-- Any version keeps a bucket alive: delete markers and noncurrent versions too.
SELECT EXISTS (SELECT 1 FROM object_versions WHERE bucket_id = $1);

-- name: get_bucket_versioning
SELECT versioning FROM buckets WHERE name = $1;

-- name: set_bucket_versioning
-- After lock_bucket: every commit in flight holds a KEY SHARE lock on the bucket row, so the
-- status changes between commits, never under one (see lock_key_for_write).
UPDATE buckets SET versioning = $2 WHERE id = $1;

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
-- The key's latest version (the first by sequence; it may be a delete marker), in one round
-- trip: no row is NoSuchBucket, a null sequence NoSuchKey. A marker has no metadata or tags.
-- The columns are read by position (PostgresBackend._head). "data" is the whole object when
-- it is one block of at most $3 bytes, else null: a small GET gets its bytes in the same
-- round trip and snapshot as its row. With $3 negative (HeadObject, commits) the subquery's
-- condition on $3 is checked once, before any block is looked at.
SELECT v.version_id, v.s3_version_id, v.sequence, v.delete_marker,
       v.size, v.etag, v.last_modified, v.part_sizes,
       ARRAY(SELECT m.name FROM object_metadata m WHERE m.version_id = v.version_id
             ORDER BY m.name) AS metadata_names,
       ARRAY(SELECT m.value FROM object_metadata m WHERE m.version_id = v.version_id
             ORDER BY m.name) AS metadata_values,
       ARRAY(SELECT t.name FROM object_tags t WHERE t.version_id = v.version_id
             ORDER BY t.name) AS tag_names,
       ARRAY(SELECT t.value FROM object_tags t WHERE t.version_id = v.version_id
             ORDER BY t.name) AS tag_values,
       (SELECT k.data FROM blocks k
        WHERE v.size <= $3 AND k.version_id = v.version_id AND k.position = 0
          AND length(k.data) = v.size) AS data
FROM buckets b
LEFT JOIN LATERAL (
    SELECT * FROM object_versions ov WHERE ov.bucket_id = b.id AND ov.key = $2
    ORDER BY ov.sequence
    LIMIT 1
) v ON true
WHERE b.name = $1;

-- name: head_object_version
-- As head_object, for the version $4 (a null sequence: NoSuchVersion).
SELECT v.version_id, v.s3_version_id, v.sequence, v.delete_marker,
       v.size, v.etag, v.last_modified, v.part_sizes,
       ARRAY(SELECT m.name FROM object_metadata m WHERE m.version_id = v.version_id
             ORDER BY m.name) AS metadata_names,
       ARRAY(SELECT m.value FROM object_metadata m WHERE m.version_id = v.version_id
             ORDER BY m.name) AS metadata_values,
       ARRAY(SELECT t.name FROM object_tags t WHERE t.version_id = v.version_id
             ORDER BY t.name) AS tag_names,
       ARRAY(SELECT t.value FROM object_tags t WHERE t.version_id = v.version_id
             ORDER BY t.name) AS tag_values,
       (SELECT k.data FROM blocks k
        WHERE v.size <= $3 AND k.version_id = v.version_id AND k.position = 0
          AND length(k.data) = v.size) AS data
FROM buckets b
LEFT JOIN object_versions v ON v.bucket_id = b.id AND v.key = $2 AND v.s3_version_id = $4
WHERE b.name = $1;

-- name: read_blocks
-- The bytes [$2, $3) of version $1: only the blocks that overlap, and only the needed slice
-- of the edge blocks (uncompressed out-of-line values are sliced without reading them whole).
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

-- name: renew_leases
-- The retired versions among $1 are still being read: the clean-up leaves them alone for
-- another grace period (reads.Leases).
UPDATE versions SET touched_at = now() WHERE id = ANY ($1::bigint[]) AND state = 'retired';

-- name: begin_version
INSERT INTO versions (bucket_id)
SELECT id FROM buckets WHERE name = $1
RETURNING id, bucket_id;

-- name: write_block
-- Appends a block and beats the writer's heartbeat; no row when the version is gone (its
-- bucket was deleted, or the clean-up judged the upload abandoned).
--
-- Committed without waiting for the WAL flush (synchronous_commit off for this statement's
-- transaction only): the block is invisible until the object's commit, which waits, under the
-- server's own synchronous_commit, for the WAL up to its commit record, and so for every
-- block written before it (WAL is replayed in commit order: the manual's "Asynchronous Commit"
-- says a transaction's effects cannot be lost while a later one that relied on them is kept).
-- A crash before that commit may lose blocks of a version still `writing`, which the clean-up
-- removes anyway; a committed object never lacks one. The setting in force when the commit
-- begins is the one that counts, so setting it within the statement is enough.
WITH touched AS (
    UPDATE versions SET touched_at = now() WHERE id = $1 AND state = 'writing' RETURNING id
), no_flush_wait AS (
    SELECT set_config('synchronous_commit', 'off', true)
)
INSERT INTO blocks (version_id, position, data)
SELECT id, $2, $3 FROM touched, no_flush_wait
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

-- name: lock_key_for_write
-- The start of every commit that changes a key's history: the bucket's versioning status,
-- held until the commit (KEY SHARE: a status change takes FOR UPDATE, so it waits for this
-- commit, and this commit waits for it and then reads the new status), then the key's lock,
-- a transaction-scoped advisory lock on a hash of (bucket, key) that exists whatever the
-- key's state (no version, only delete markers...). Every commit of a key takes it, the
-- one-statement ones too (put_object_at_once, delete_object), always after the bucket row,
-- so they serialize without deadlocking; a hash collision only serializes two keys. The
-- statements after this one see every earlier commit of the key.
WITH bucket AS (
    SELECT id, versioning FROM buckets WHERE name = $1 FOR KEY SHARE
)
SELECT bucket.id, bucket.versioning
FROM bucket, LATERAL (SELECT pg_advisory_xact_lock(hashtextextended($2, bucket.id))) k;

-- name: key_state
-- After lock_key_for_write: the key's latest version, and its null version.
SELECT latest.sequence AS latest_sequence, latest.delete_marker AS latest_marker,
       latest.size AS latest_size, latest.etag AS latest_etag,
       latest.last_modified AS latest_last_modified,
       nul.version_id AS null_version
FROM (SELECT 1) one
LEFT JOIN LATERAL (
    SELECT * FROM object_versions ov WHERE ov.bucket_id = $1 AND ov.key = $2
    ORDER BY ov.sequence
    LIMIT 1
) latest ON true
LEFT JOIN object_versions nul ON nul.bucket_id = $1 AND nul.key = $2
                             AND nul.s3_version_id = 'null';

-- name: store_version
-- Adds the version ($3 sequence, $4 S3 id; $6 its "versions" row, null for a delete marker)
-- to the key's history, or, for the null version, replaces the key's null version wherever it
-- stood and retires its bytes ($11, as key_state saw it). An upsert, not a DELETE and an
-- INSERT: in one statement those collide on the unique (bucket_id, key, s3_version_id).
WITH retired AS (
    UPDATE versions SET state = 'retired', touched_at = now() WHERE id = $11
)
INSERT INTO object_versions AS h (bucket_id, key, sequence, s3_version_id, delete_marker,
                                  version_id, size, etag, last_modified, part_sizes)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
ON CONFLICT (bucket_id, key, s3_version_id) DO UPDATE
SET sequence = excluded.sequence, delete_marker = excluded.delete_marker,
    version_id = excluded.version_id, size = excluded.size, etag = excluded.etag,
    last_modified = excluded.last_modified, part_sizes = excluded.part_sizes;

-- name: remove_version
-- Deletes the version $3 of a key for good; its bytes are retired (readers that opened them
-- finish). No row when there is no such version.
WITH removed AS (
    DELETE FROM object_versions
    WHERE bucket_id = $1 AND key = $2 AND s3_version_id = $3
    RETURNING version_id
), retired AS (
    UPDATE versions SET state = 'retired', touched_at = now()
    WHERE id IN (SELECT version_id FROM removed)
)
SELECT version_id FROM removed;

-- name: refresh_listing
-- Brings the key's "objects" row in step with its history, at the end of every commit that
-- changed it: the latest version when it is an object; no row when it is a delete marker or
-- the key has no version left.
WITH latest AS (
    SELECT * FROM object_versions ov WHERE ov.bucket_id = $1 AND ov.key = $2
    ORDER BY ov.sequence
    LIMIT 1
), removed AS (
    DELETE FROM objects o
    WHERE o.bucket_id = $1 AND o.key = $2
      AND NOT EXISTS (SELECT 1 FROM latest WHERE NOT latest.delete_marker)
)
INSERT INTO objects AS o (bucket_id, key, version_id, s3_version_id, size, etag,
                          last_modified, part_sizes)
SELECT bucket_id, key, version_id, s3_version_id, size, etag, last_modified, part_sizes
FROM latest
WHERE NOT delete_marker
ON CONFLICT (bucket_id, key) DO UPDATE
SET version_id = excluded.version_id, s3_version_id = excluded.s3_version_id,
    size = excluded.size, etag = excluded.etag, last_modified = excluded.last_modified,
    part_sizes = excluded.part_sizes
WHERE o.version_id IS DISTINCT FROM excluded.version_id;

-- name: delete_object
-- DeleteObject in a bucket that never had versioning, in one statement: deletes the key and
-- its null version, and retires its bytes. In a versioned bucket it changes nothing and
-- answers the status (the caller adds a delete marker in a transaction instead); the bucket
-- row and the key's lock as in lock_key_for_write. The statement's snapshot is taken before it
-- waits for a writer holding the key's lock: when that writer commits, the DELETE follows the
-- row to its new version, but a version created by the same commit is invisible to this
-- snapshot, so it could not be retired and would stay 'live' with nothing pointing at it,
-- forever. Hence the row is deleted only if its version is visible; when it is not ("seen"
-- but not "deleted"), nothing was changed and the caller deletes in a transaction instead,
-- whose statements see the writer's commit.
-- Null bucket_id: no such bucket; a missing key is not an error.
WITH bucket AS (
    SELECT id, versioning FROM buckets WHERE name = $1 FOR KEY SHARE
), unversioned AS (
    -- the key's lock (see lock_key_for_write), taken before anything below is written
    SELECT bucket.id
    FROM bucket, LATERAL (SELECT pg_advisory_xact_lock(hashtextextended($2, bucket.id))) k
    WHERE bucket.versioning IS NULL
), gone AS (
    DELETE FROM objects o USING unversioned
    WHERE o.bucket_id = unversioned.id AND o.key = $2
      AND EXISTS (SELECT 1 FROM versions v WHERE v.id = o.version_id)
    RETURNING o.version_id
), history AS (
    DELETE FROM object_versions h USING unversioned
    WHERE h.bucket_id = unversioned.id AND h.key = $2
      AND h.version_id IN (SELECT version_id FROM gone)
), retired AS (
    UPDATE versions SET state = 'retired', touched_at = now()
    WHERE id IN (SELECT version_id FROM gone)
)
SELECT (SELECT id FROM bucket) AS bucket_id, (SELECT versioning FROM bucket) AS versioning,
       EXISTS (SELECT 1 FROM objects o, unversioned
               WHERE o.bucket_id = unversioned.id AND o.key = $2) AS seen,
       EXISTS (SELECT 1 FROM gone) AS deleted;

-- name: replace_object_metadata
-- A version's attributes changed in place (object lock): as replace_object_tags.
WITH removed AS (
    DELETE FROM object_metadata WHERE version_id = $1 AND name <> ALL ($2::text[])
)
INSERT INTO object_metadata (version_id, name, value)
SELECT $1, m.name, m.value FROM unnest($2::text[], $3::text[]) AS m (name, value)
ON CONFLICT (version_id, name) DO UPDATE SET value = excluded.value;

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
-- object, which finds nothing for the usual STANDARD object (post3.objects.STANDARD, also
-- for an empty value). A subquery in the select list, not a join: it runs for the page's rows
-- only, after the LIMIT. Written as a LEFT JOIN, once ANALYZE had seen that almost no object
-- has a storage class PostgreSQL planned the join as one scan of the whole object_metadata
-- table per page (5 ms a page with 111,000 objects in the store, growing with the store).
-- The columns are ListEntry's fields in its order (post3.objects), so that a row is its
-- arguments.
SELECT o.key, o.size, o.etag, o.last_modified,
       coalesce(nullif((SELECT m.value FROM object_metadata m
                        WHERE m.version_id = o.version_id AND m.name = 'x-amz-storage-class'),
                       ''), 'STANDARD'),
       o.s3_version_id
FROM objects o
WHERE o.bucket_id = $1 AND o.key > $2 AND o.key >= $3
ORDER BY o.key
LIMIT $4;

-- name: list_objects_prefix
SELECT o.key, o.size, o.etag, o.last_modified,
       coalesce(nullif((SELECT m.value FROM object_metadata m
                        WHERE m.version_id = o.version_id AND m.name = 'x-amz-storage-class'),
                       ''), 'STANDARD'),
       o.s3_version_id
FROM objects o
WHERE o.bucket_id = $1 AND o.key > $2 AND o.key >= $3 AND o.key < $4
ORDER BY o.key
LIMIT $5;

-- name: list_versions
-- A page of ListObjectVersions: the key range as in list_objects (this one unbounded above,
-- list_versions_prefix bounded by $6), strictly after the cursor ($3, $4) in (key, sequence)
-- order; $4 NULL stands after every version of the key $3 (post3.backend.VersionCursor).
-- is_latest: the version is the first of its key (one probe of the primary key per row).
-- The columns are ListEntry's fields in its order, as in list_objects.
SELECT v.key, v.size, v.etag, v.last_modified,
       coalesce(nullif((SELECT m.value FROM object_metadata m
                        WHERE m.version_id = v.version_id AND m.name = 'x-amz-storage-class'),
                       ''), 'STANDARD'),
       v.s3_version_id, v.delete_marker, v.sequence,
       v.sequence = (SELECT l.sequence FROM object_versions l
                     WHERE l.bucket_id = v.bucket_id AND l.key = v.key
                     ORDER BY l.sequence LIMIT 1) AS is_latest
FROM object_versions v
WHERE v.bucket_id = $1 AND v.key >= $2 AND v.key >= $3
  AND CASE WHEN $4::text IS NULL THEN v.key > $3 ELSE (v.key, v.sequence) > ($3, $4) END
ORDER BY v.key, v.sequence
LIMIT $5;

-- name: list_versions_prefix
SELECT v.key, v.size, v.etag, v.last_modified,
       coalesce(nullif((SELECT m.value FROM object_metadata m
                        WHERE m.version_id = v.version_id AND m.name = 'x-amz-storage-class'),
                       ''), 'STANDARD'),
       v.s3_version_id, v.delete_marker, v.sequence,
       v.sequence = (SELECT l.sequence FROM object_versions l
                     WHERE l.bucket_id = v.bucket_id AND l.key = v.key
                     ORDER BY l.sequence LIMIT 1) AS is_latest
FROM object_versions v
WHERE v.bucket_id = $1 AND v.key >= $2 AND v.key >= $3 AND v.key < $6
  AND CASE WHEN $4::text IS NULL THEN v.key > $3 ELSE (v.key, v.sequence) > ($3, $4) END
ORDER BY v.key, v.sequence
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

-- name: stored_lengths
-- The bytes each version stored (length() of an out-of-line value reads only its header).
SELECT version_id, sum(length(data))::bigint AS stored
FROM blocks
WHERE version_id = ANY($1::bigint[])
GROUP BY version_id;

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

-- The clean-up, in three steps, each a bounded batch; SKIP LOCKED everywhere: a version being
-- written or renewed right now is never waited for, and several post3 processes share the work.

-- name: retire_abandoned_versions
-- Uploads whose writer stopped beating (crashed, killed, disconnected) for $1 seconds: from now
-- on their writer can neither add a block nor finish (both need 'writing'), and their blocks
-- go as a retired version's do. No reader can hold them (nothing ever pointed at them), so
-- they are due at once: touched_at '-infinity'.
UPDATE versions SET state = 'retired', touched_at = '-infinity'
WHERE id IN (
    SELECT id FROM versions
    WHERE state = 'writing' AND touched_at < now() - make_interval(secs => $1)
    LIMIT $2
    FOR UPDATE SKIP LOCKED
);

-- name: remove_expired_blocks
-- At most $2 blocks (of 1 MiB at most) of retired versions no reader renewed for $1 seconds:
-- a batch bounded in bytes, whatever the size of the objects (a 5 GiB version is 5,120
-- blocks, and one DELETE of it would hold its transaction for all of them).
DELETE FROM blocks
WHERE (version_id, position) IN (
    SELECT b.version_id, b.position
    FROM versions v JOIN blocks b ON b.version_id = v.id
    WHERE v.state = 'retired' AND v.touched_at < now() - make_interval(secs => $1)
    LIMIT $2
    FOR UPDATE OF b SKIP LOCKED
);

-- name: remove_expired_versions
-- Then the rows of those versions whose blocks are gone (their metadata and tags follow by
-- ON DELETE CASCADE), at most $2.
DELETE FROM versions
WHERE id IN (
    SELECT v.id FROM versions v
    WHERE v.state = 'retired' AND v.touched_at < now() - make_interval(secs => $1)
      AND NOT EXISTS (SELECT 1 FROM blocks b WHERE b.version_id = v.id)
    LIMIT $2
    FOR UPDATE SKIP LOCKED
);

-- name: ping
SELECT 1;

-- name: autovacuum_setting
SELECT current_setting('autovacuum');

-- name: lock_bucket_for_tags
-- Tag writers of one bucket serialize; object commits (KEY SHARE) are not blocked.
SELECT id FROM buckets WHERE name = $1 FOR NO KEY UPDATE;

-- name: get_access_key
SELECT access_key_id, secret, name, admin, grants::text AS grants, created, user_name
FROM api_keys WHERE access_key_id = $1;

-- name: list_access_keys
SELECT access_key_id, secret, name, admin, grants::text AS grants, created, user_name
FROM api_keys ORDER BY access_key_id;

-- name: put_access_key
INSERT INTO api_keys (access_key_id, secret, name, admin, grants, created, user_name)
VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7)
ON CONFLICT (access_key_id) DO UPDATE
SET secret = EXCLUDED.secret, name = EXCLUDED.name, admin = EXCLUDED.admin,
    grants = EXCLUDED.grants, user_name = EXCLUDED.user_name;

-- name: delete_access_key
DELETE FROM api_keys WHERE access_key_id = $1;

-- name: put_object_at_once
-- PutObject without a write condition in a bucket that never had versioning, in one
-- statement, one round trip instead of the transaction's seven: the version ($11: its single
-- block, or null for an empty body; or $12: a staged version finished here), its metadata and
-- tags, the key's null version ($13: its sequence) and the key pointed at it. One statement
-- is atomic by itself. In a versioned bucket it changes nothing and answers the status: the
-- caller commits in a transaction (lock_key_for_write). The bucket row and the key's lock are
-- taken as there, so the status cannot change under this commit and commits of the key
-- serialize; but this statement's snapshot predates the wait for the lock, so what it saw
-- may be stale once it holds it. An unversioned key has one version, the null one, and an
-- "objects" row exactly when it has it. The key moves by compare-and-swap: the object row is updated only if it still points at
-- the version this statement's snapshot saw ("seen"), and that version is retired and the
-- null version's row updated with it. When a concurrent writer got there first (the row
-- changed, or a new row appeared), the swap does not match, the INSERT meets the existing
-- key and fails with a unique violation: nothing of this statement remains, and the caller
-- commits in a transaction instead, which sees the other writer's commit.
-- Null bucket_id: no such bucket; null id with no versioning: the staged version vanished.
WITH bucket AS (
    SELECT id, versioning FROM buckets WHERE name = $1 FOR KEY SHARE
), unversioned AS (
    -- the key's lock (see lock_key_for_write), taken before anything below is written
    SELECT bucket.id
    FROM bucket, LATERAL (SELECT pg_advisory_xact_lock(hashtextextended($2, bucket.id))) k
    WHERE bucket.versioning IS NULL
), seen AS (
    SELECT o.version_id FROM objects o, unversioned
    WHERE o.bucket_id = unversioned.id AND o.key = $2
), created AS (
    INSERT INTO versions (bucket_id, state, size, etag, last_modified, part_sizes)
    SELECT id, 'live', $3, $4, $5, $6 FROM unversioned WHERE $12::bigint IS NULL
    RETURNING id
), finished AS (
    UPDATE versions
    SET state = 'live', size = $3, etag = $4, last_modified = $5, part_sizes = $6
    FROM unversioned
    WHERE versions.id = $12::bigint AND versions.state = 'writing'
      AND versions.bucket_id = unversioned.id
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
    WHERE o.bucket_id = (SELECT id FROM unversioned) AND o.key = $2
      AND o.version_id = (SELECT version_id FROM seen)
      AND EXISTS (SELECT 1 FROM version)
    RETURNING o.version_id
), inserted AS (
    INSERT INTO objects (bucket_id, key, version_id, s3_version_id, size, etag, last_modified,
                         part_sizes)
    SELECT unversioned.id, $2, version.id, 'null', $3, $4, $5, $6
    FROM unversioned, version
    WHERE NOT EXISTS (SELECT 1 FROM swapped)
), history_swapped AS (
    UPDATE object_versions h
    SET sequence = $13, version_id = swapped.version_id, size = $3, etag = $4,
        last_modified = $5, part_sizes = $6
    FROM swapped
    WHERE h.bucket_id = (SELECT id FROM unversioned) AND h.key = $2
      AND h.s3_version_id = 'null'
), history_inserted AS (
    INSERT INTO object_versions (bucket_id, key, sequence, s3_version_id, delete_marker,
                                 version_id, size, etag, last_modified, part_sizes)
    SELECT unversioned.id, $2, $13, 'null', false, version.id, $3, $4, $5, $6
    FROM unversioned, version
    WHERE NOT EXISTS (SELECT 1 FROM swapped)
), retired AS (
    UPDATE versions SET state = 'retired', touched_at = now()
    WHERE id = (SELECT version_id FROM seen) AND EXISTS (SELECT 1 FROM swapped)
)
SELECT (SELECT id FROM bucket) AS bucket_id, (SELECT versioning FROM bucket) AS versioning,
       (SELECT id FROM version) AS id;

-- name: find_orphaned_versions
-- ``post3 postgres check``: live versions that no version of a key and no multipart part
-- points at. A version becomes live in the same commit that points something at it, so these
-- are leaks (no reader can reach them, and the clean-up only collects writing and retired
-- versions).
SELECT count(*) AS versions, coalesce(sum(b.blocks), 0)::bigint AS blocks,
       coalesce(sum(b.bytes), 0)::bigint AS bytes
FROM versions v
CROSS JOIN LATERAL (
    SELECT count(*) AS blocks, sum(length(data)) AS bytes FROM blocks WHERE version_id = v.id
) b
WHERE v.state = 'live'
  AND NOT EXISTS (SELECT 1 FROM object_versions h WHERE h.version_id = v.id)
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
  AND NOT EXISTS (SELECT 1 FROM object_versions h WHERE h.version_id = v.id)
  AND NOT EXISTS (SELECT 1 FROM multipart_parts p WHERE p.version_id = v.id);

-- name: remove_unreferenced_blocks
DELETE FROM blocks b
WHERE NOT EXISTS (SELECT 1 FROM versions v WHERE v.id = b.version_id);

-- name: find_stale_listings
-- ``post3 postgres check``: keys whose "objects" row (what ListObjects reads) is not their
-- latest version: a row for a key whose latest version is a delete marker or that has no
-- version, a row naming another version, or no row for a key whose latest version is an
-- object. Every commit keeps the two in step, so these are defects: a listing shows a
-- deleted object, the wrong version, or hides one.
WITH latest AS (
    SELECT DISTINCT ON (bucket_id, key) bucket_id, key, version_id, s3_version_id,
           delete_marker
    FROM object_versions
    ORDER BY bucket_id, key, sequence
), stale AS (
    SELECT o.bucket_id, o.key
    FROM objects o
    LEFT JOIN latest l ON l.bucket_id = o.bucket_id AND l.key = o.key
    WHERE (l.version_id, l.s3_version_id) IS DISTINCT FROM (o.version_id, o.s3_version_id)
    UNION
    SELECT l.bucket_id, l.key
    FROM latest l
    WHERE NOT l.delete_marker
      AND NOT EXISTS (SELECT 1 FROM objects o WHERE o.bucket_id = l.bucket_id AND o.key = l.key)
)
SELECT b.name AS bucket, s.key
FROM stale s JOIN buckets b ON b.id = s.bucket_id
ORDER BY b.name, s.key;
