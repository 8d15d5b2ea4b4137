package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/prevoir/prevoir"
)

// The queries of the artifact sweep (tracking.Sweep): which stored objects the database still
// needs, and which artifacts of failed runs nothing needs.

// sweepableRuns selects the runs whose artifacts may go: ended failed or killed before the
// cutoff (the one parameter), and referenced by no registered model version and no stored
// forecast.
const sweepableRuns = `SELECT r.id FROM runs r
	WHERE r.status IN ('failed', 'killed') AND r.ended_at IS NOT NULL AND r.ended_at < ?
	AND NOT EXISTS (SELECT 1 FROM model_versions v WHERE v.run_id = r.id)
	AND NOT EXISTS (SELECT 1 FROM forecasts f WHERE f.run_id = r.id)`

// SweepableArtifacts returns the artifacts of the runs that ended failed or killed before
// endedBefore, except those of a run a registered model version or a stored forecast refers
// to.
func (st *RunStore) SweepableArtifacts(ctx context.Context, endedBefore time.Time) ([]prevoir.Artifact, error) {
	rows, err := st.db.sql.QueryContext(ctx, st.db.rebind(`SELECT run_id, path, blob_key, sha256, size_bytes FROM run_artifacts
		WHERE run_id IN (`+sweepableRuns+`) ORDER BY run_id, path`), st.db.ts(endedBefore))
	if err != nil {
		return nil, fmt.Errorf("artifacts of failed runs: %w", err)
	}
	defer rows.Close()
	var out []prevoir.Artifact
	for rows.Next() {
		var a prevoir.Artifact
		if err := rows.Scan(&a.RunID, &a.Path, &a.BlobKey, &a.SHA256, &a.Size); err != nil {
			return nil, fmt.Errorf("artifacts of failed runs: %w", err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// ForgetArtifact deletes the record of an artifact that SweepableArtifacts returned, if it is
// still sweepable: the check and the deletion are one statement, so a model version or a
// forecast that came to refer to the run meanwhile keeps it. It reports whether it deleted.
func (st *RunStore) ForgetArtifact(ctx context.Context, a prevoir.Artifact, endedBefore time.Time) (bool, error) {
	res, err := st.db.sql.ExecContext(ctx, st.db.rebind(`DELETE FROM run_artifacts
		WHERE run_id = ? AND path = ? AND blob_key = ? AND run_id IN (`+sweepableRuns+`)`),
		a.RunID, a.Path, a.BlobKey, st.db.ts(endedBefore))
	if err != nil {
		return false, fmt.Errorf("forget artifact %s of run %s: %w", a.Path, a.RunID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("forget artifact %s of run %s: %w", a.Path, a.RunID, err)
	}
	return n == 1, nil
}

// ReferencedBlobKeys returns the artifact keys starting with prefix that the database refers
// to, in every table with a blob_key column (run artifacts, snapshots): the tables are found
// by their column, so a table added later is covered without a change here.
func (st *RunStore) ReferencedBlobKeys(ctx context.Context, prefix string) (map[string]bool, error) {
	tables, err := BlobKeyTables(ctx, st.db.sql, st.db.dialect)
	if err != nil {
		return nil, err
	}
	if len(tables) == 0 {
		// Never conclude that nothing is referenced from a query that found no table.
		return nil, fmt.Errorf("list the tables that reference artifacts: none found")
	}
	keys := map[string]bool{}
	for _, t := range tables {
		// substr, not LIKE: keys hold "_", a LIKE wildcard.
		rows, err := st.db.sql.QueryContext(ctx, st.db.rebind(`SELECT blob_key FROM "`+t.Name+`" WHERE substr(blob_key, 1, ?) = ?`),
			len(prefix), prefix)
		if err != nil {
			return nil, fmt.Errorf("artifact keys of %s: %w", t.Name, err)
		}
		for rows.Next() {
			var k string
			if err := rows.Scan(&k); err != nil {
				rows.Close()
				return nil, fmt.Errorf("artifact keys of %s: %w", t.Name, err)
			}
			keys[k] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("artifact keys of %s: %w", t.Name, err)
		}
	}
	return keys, nil
}

// BlobKeyTable is a table that records artifacts: it has a blob_key column, and most also
// record each artifact's SHA-256 in a sha256 column.
type BlobKeyTable struct {
	Name      string
	HasSHA256 bool
}

// BlobKeyTables lists the tables of the schema of db, of dialect d, that have a blob_key
// column. Finding them by their column keeps the sweep and the verification of a backup (which
// reads a backup's SQLite file directly, hence a *sql.DB) whole when a table is added.
func BlobKeyTables(ctx context.Context, db *sql.DB, d Dialect) ([]BlobKeyTable, error) {
	q := `SELECT m.name, EXISTS (SELECT 1 FROM pragma_table_info(m.name) WHERE name = 'sha256')
		FROM sqlite_master m
		WHERE m.type = 'table' AND EXISTS (SELECT 1 FROM pragma_table_info(m.name) WHERE name = 'blob_key')
		ORDER BY m.name`
	if d == Postgres {
		q = `SELECT c.table_name, EXISTS (SELECT 1 FROM information_schema.columns s
				WHERE s.table_schema = c.table_schema AND s.table_name = c.table_name AND s.column_name = 'sha256')
			FROM information_schema.columns c
			WHERE c.column_name = 'blob_key' AND c.table_schema = current_schema() ORDER BY c.table_name`
	}
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("list the tables that reference artifacts: %w", err)
	}
	defer rows.Close()
	var tables []BlobKeyTable
	for rows.Next() {
		var t BlobKeyTable
		if err := rows.Scan(&t.Name, &t.HasSHA256); err != nil {
			return nil, fmt.Errorf("list the tables that reference artifacts: %w", err)
		}
		// Callers quote the name into their queries.
		if strings.Contains(t.Name, `"`) {
			return nil, fmt.Errorf("list the tables that reference artifacts: unexpected table name %q", t.Name)
		}
		tables = append(tables, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list the tables that reference artifacts: %w", err)
	}
	return tables, nil
}
