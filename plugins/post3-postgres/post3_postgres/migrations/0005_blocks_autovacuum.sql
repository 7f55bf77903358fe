-- Autovacuum for the table that churns: "blocks", and its TOAST table, which holds the bytes.
-- The clean-up deletes the blocks of replaced and deleted objects; their space is reused once
-- autovacuum has vacuumed the table.
--
-- * When: by default once a fifth of the table is dead (autovacuum_vacuum_scale_factor 0.2),
--   200 GB of dead blocks on a store of 1 TB; here at a fiftieth.
-- * How fast: a vacuum reads every page written since the last one, so its work grows with
--   the bytes written. At PostgreSQL's default budget (vacuum_cost_limit 200 every 2 ms) it
--   was measured falling behind a 30 MB/s churn for good (benchmarks/README.md, churn.py):
--   each vacuum took longer than the last while the table grew. Ten times that budget.
ALTER TABLE blocks SET (autovacuum_vacuum_scale_factor = 0.02,
                        autovacuum_vacuum_cost_limit = 2000,
                        toast.autovacuum_vacuum_scale_factor = 0.02,
                        toast.autovacuum_vacuum_cost_limit = 2000);
