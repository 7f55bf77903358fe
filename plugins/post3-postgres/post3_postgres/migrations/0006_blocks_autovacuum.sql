-- Autovacuum for the table that churns: "blocks", and its TOAST table, which holds the bytes.
-- The clean-up deletes the blocks of replaced and deleted objects; their space is reused once
-- autovacuum has vacuumed the table.
--
-- * When: by default once a fifth of the table is dead (autovacuum_vacuum_scale_factor 0.2),
--   200 GB of dead blocks on a store of 1 TB; here at a fiftieth.
-- * How fast: unthrottled (autovacuum_vacuum_cost_delay 0). New blocks land in the space the
--   last vacuum freed, all over the table, so each vacuum reads about the whole table, and
--   the dead blocks pile up for as long as it takes. Throttled, the vacuum fell behind a
--   17-23 MB/s churn (benchmarks/README.md, churn.py): at PostgreSQL's default budget for
--   good, at ten times that budget the database still stepped up by a gigabyte in one slow
--   cycle. Its work is what the writes left to do; an operator who shares the server with
--   other work can throttle it again with ALTER TABLE.
ALTER TABLE blocks SET (autovacuum_vacuum_scale_factor = 0.02,
                        autovacuum_vacuum_cost_delay = 0,
                        toast.autovacuum_vacuum_scale_factor = 0.02,
                        toast.autovacuum_vacuum_cost_delay = 0);
