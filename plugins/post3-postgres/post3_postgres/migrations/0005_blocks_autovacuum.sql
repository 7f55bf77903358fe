-- Autovacuum for the table that churns: "blocks", and its TOAST table, which holds the bytes.
-- The clean-up deletes the blocks of replaced and deleted objects; their space is reused once
-- autovacuum has vacuumed the table, which by default it does when a fifth of it is dead
-- (autovacuum_vacuum_scale_factor 0.2): 200 GB of dead blocks held on a store of 1 TB. At
-- 0.02 it is a fiftieth, plus what is freed between two autovacuum runs (autovacuum_naptime).
ALTER TABLE blocks SET (autovacuum_vacuum_scale_factor = 0.02,
                        toast.autovacuum_vacuum_scale_factor = 0.02);
