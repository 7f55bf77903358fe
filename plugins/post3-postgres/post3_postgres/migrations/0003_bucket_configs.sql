-- Bucket configuration documents (CORS; later lifecycle, policy, encryption, object lock): one
-- row per bucket and document name. post3 parses and validates them; this keeps their text.
-- They go with their bucket.
CREATE TABLE bucket_configs (
    bucket_id bigint NOT NULL REFERENCES buckets (id) ON DELETE CASCADE,
    name      text COLLATE "C" NOT NULL,
    document  text NOT NULL,
    PRIMARY KEY (bucket_id, name)
);
