-- Until this version, the configuration recorded with every run (runs.config, a JSON object of
-- flag name -> value) held the admin token of "prevoir serve" in clear. It becomes "(set)", as
-- prevoir now records it. No other table held a secret: run parameters and tags, job arguments
-- and database URLs (recorded without their password) never did.
--
-- runs.config is TEXT written by Go's encoding/json (no spaces), and a cast to jsonb would
-- abort the migration on a value that is not JSON: the token's string is replaced in the text,
-- which leaves every other byte as it was. The old row versions remain on disk until
-- PostgreSQL vacuums the table.
UPDATE runs SET config = regexp_replace(config, '"admin-token":"([^"\\]|\\.)+"', '"admin-token":"(set)"', 'g')
 WHERE config ~ '"admin-token":"([^"\\]|\\.)+"' AND config NOT LIKE '%"admin-token":"(set)"%';
