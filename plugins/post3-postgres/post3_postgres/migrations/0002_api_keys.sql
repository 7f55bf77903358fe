-- Access keys (post3 keys ...). The secret is kept as it is: verifying a SigV4 signature needs
-- the secret itself. grants maps a bucket name to 'read', 'write' or 'owner'.
CREATE TABLE api_keys (
    access_key_id text COLLATE "C" PRIMARY KEY,
    secret        text NOT NULL,
    name          text NOT NULL DEFAULT '',
    admin         boolean NOT NULL DEFAULT false,
    grants        jsonb NOT NULL DEFAULT '{}',
    created       timestamptz NOT NULL
);
