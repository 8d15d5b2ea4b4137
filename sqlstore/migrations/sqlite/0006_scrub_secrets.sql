-- Until this version, the configuration recorded with every run (runs.config, a JSON object of
-- flag name -> value) held the admin token of "prevoir serve" in clear. It becomes "(set)", as
-- prevoir now records it. No other table held a secret: run parameters and tags, job arguments
-- and database URLs (recorded without their password) never did.
--
-- The old bytes would stay in the free space of the database file: the file is vacuumed after
-- this migration.
-- prevoir:vacuum
UPDATE runs SET config = json_set(config, '$."admin-token"', '(set)')
 WHERE CASE WHEN json_valid(config) THEN json_extract(config, '$."admin-token"') NOT IN ('', '(set)') ELSE 0 END;
