-- Every access key belongs to a user (post3 keys create --user). A key stored before has ''
-- here, and post3 takes it as a user of its own named after its access key id.
ALTER TABLE api_keys ADD COLUMN user_name text NOT NULL DEFAULT '';
