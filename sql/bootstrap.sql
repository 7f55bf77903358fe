-- A role and a database for post3, run once by an operator as a superuser:
--
--     psql -v password="'change-me'" -f sql/bootstrap.sql postgres
--
-- then point post3 at it and create the schema:
--
--     export DATABASE_URL=postgresql://post3:change-me@db.example:5432/post3
--     post3 postgres migrate
--     post3 run --backend postgres
--
-- post3 needs no superuser rights: it owns its database and creates its tables there.

CREATE ROLE post3 LOGIN PASSWORD :password;
CREATE DATABASE post3 OWNER post3 ENCODING 'UTF8' TEMPLATE template0;
REVOKE ALL ON DATABASE post3 FROM PUBLIC;

\connect post3
-- PostgreSQL 15 no longer lets every role create objects in "public"; post3 owns it here.
ALTER SCHEMA public OWNER TO post3;
