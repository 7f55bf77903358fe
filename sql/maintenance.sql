-- Maintenance queries for a post3 PostgreSQL database. Read-only; run the ones you need:
--
--     psql "$DATABASE_URL" -f sql/maintenance.sql

-- Objects and bytes per bucket (latest versions that are not delete markers only; see the
-- next query for noncurrent versions).
SELECT b.name AS bucket,
       count(o.key) AS objects,
       pg_size_pretty(coalesce(sum(o.size), 0)) AS bytes
FROM buckets b
LEFT JOIN objects o ON o.bucket_id = b.id
GROUP BY b.name
ORDER BY b.name;

-- Space held by versions that are not live objects: uploads in progress or abandoned
-- ('writing') and replaced or deleted objects awaiting the clean-up ('retired'). The oldest
-- touched_at shows whether the clean-up is keeping up (it removes 'writing' versions idle for
-- abandoned_after seconds and 'retired' ones idle for retired_grace seconds).
SELECT v.state,
       count(*) AS versions,
       pg_size_pretty(coalesce(sum(v.size), 0)) AS declared_bytes,
       min(v.touched_at) AS oldest
FROM versions v
WHERE v.state <> 'live'
GROUP BY v.state;

-- Pending multipart uploads and the bytes their parts hold.
SELECT b.name AS bucket, u.key, u.upload_id, u.initiated,
       count(p.part_number) AS parts,
       pg_size_pretty(coalesce(sum(p.size), 0)) AS bytes
FROM multipart_uploads u
JOIN buckets b ON b.id = u.bucket_id
LEFT JOIN multipart_parts p ON p.upload_id = u.upload_id
GROUP BY b.name, u.key, u.upload_id, u.initiated
ORDER BY u.initiated;

-- Orphan check: every row here is a defect (the clean-up never removes these).
-- Live versions that neither a version of a key nor a multipart part points at:
SELECT v.id, v.bucket_id, v.size, v.touched_at
FROM versions v
WHERE v.state = 'live'
  AND NOT EXISTS (SELECT 1 FROM object_versions h WHERE h.version_id = v.id)
  AND NOT EXISTS (SELECT 1 FROM multipart_parts p WHERE p.version_id = v.id);

-- Versions whose blocks do not add up to their size (missing or extra bytes):
SELECT v.id, v.size, coalesce(sum(length(k.data)), 0) AS stored
FROM versions v
LEFT JOIN blocks k ON k.version_id = v.id
WHERE v.state = 'live'
GROUP BY v.id, v.size
HAVING coalesce(sum(length(k.data)), 0) <> v.size;

-- Table sizes, with their out-of-line (TOAST) storage, where the blocks' bytes live.
SELECT c.relname AS table_name,
       pg_size_pretty(pg_total_relation_size(c.oid)) AS total,
       pg_size_pretty(pg_relation_size(c.reltoastrelid)) AS toast
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = current_schema() AND c.relkind = 'r'
ORDER BY pg_total_relation_size(c.oid) DESC;
