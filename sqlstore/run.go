package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/prevoir/prevoir"
)

// RunStore implements prevoir.RunStore.
type RunStore struct {
	db  *DB
	now func() time.Time
}

var _ prevoir.RunStore = (*RunStore)(nil)

// NewRunStore returns the run store of db.
func NewRunStore(db *DB) *RunStore { return &RunStore{db: db, now: time.Now} }

// CreateRun implements prevoir.RunStore.
func (st *RunStore) CreateRun(ctx context.Context, r *prevoir.Run) error {
	if r.Kind == "" {
		return prevoir.Errorf(prevoir.EINVALID, "create run: empty kind")
	}
	if r.ID == "" {
		r.ID = prevoir.NewRunID()
	}
	if r.Experiment == "" {
		r.Experiment = "prevoir"
	}
	now := st.now().UTC()
	if r.StartedAt.IsZero() {
		r.StartedAt = now
	}
	r.HeartbeatAt = now
	r.Status = prevoir.RunRunning
	snaps, err := json.Marshal(orEmpty(r.Snapshots))
	if err != nil {
		return err
	}
	err = st.db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, st.db.rebind(`INSERT INTO runs
			(id, experiment, kind, name, target, status, started_at, heartbeat_at, owner, snapshots, frame_sha256, config, code_version)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			r.ID, r.Experiment, string(r.Kind), r.Name, r.Target, string(r.Status), st.db.ts(r.StartedAt), st.db.ts(r.HeartbeatAt),
			r.Owner, string(snaps), r.FrameSHA256, r.Config, r.CodeVersion); err != nil {
			return err
		}
		if err := st.putParams(ctx, tx, r.ID, r.Params); err != nil {
			return err
		}
		return st.putTags(ctx, tx, r.ID, r.Tags)
	})
	if isUniqueViolation(err) {
		return prevoir.Errorf(prevoir.ECONFLICT, "run %s exists", r.ID)
	}
	if err != nil {
		return fmt.Errorf("create run: %w", err)
	}
	return nil
}

func orEmpty(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// EndRun implements prevoir.RunStore.
func (st *RunStore) EndRun(ctx context.Context, id string, status prevoir.RunStatus, errMsg string) error {
	switch status {
	case prevoir.RunFinished, prevoir.RunFailed, prevoir.RunKilled:
	default:
		return prevoir.Errorf(prevoir.EINVALID, "end run %s: status %q is not final", id, status)
	}
	res, err := st.db.sql.ExecContext(ctx, st.db.rebind(`UPDATE runs SET status = ?, error = ?, ended_at = ?, heartbeat_at = ?
		WHERE id = ? AND status = 'running'`), string(status), errMsg, st.db.ts(st.now()), st.db.ts(st.now()), id)
	if err != nil {
		return fmt.Errorf("end run %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		r, err := st.FindRun(ctx, id)
		if err != nil {
			return err
		}
		return prevoir.Errorf(prevoir.ECONFLICT, "end run %s: it already ended (%s)", id, r.Status)
	}
	return nil
}

// Heartbeat implements prevoir.RunStore.
func (st *RunStore) Heartbeat(ctx context.Context, id, owner string) (bool, error) {
	now := st.db.ts(st.now())
	res, err := st.db.sql.ExecContext(ctx, st.db.rebind(`UPDATE runs SET heartbeat_at = ? WHERE id = ? AND status = 'running'`), now, id)
	if err != nil {
		return false, fmt.Errorf("heartbeat run %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return false, nil
	}
	// Not running: a reaper that could not see the owner (another host, silent through an
	// outage) may have marked it abandoned. The owner beats, so it is alive: the run is its own
	// again. Only that owner's abandoned runs come back; an end is final otherwise.
	if owner != "" {
		res, err = st.db.sql.ExecContext(ctx, st.db.rebind(`UPDATE runs SET status = 'running', error = '', ended_at = NULL, heartbeat_at = ?
			WHERE id = ? AND status = 'failed' AND owner = ? AND error LIKE ?`), now, id, owner, abandoned+"%")
		if err != nil {
			return false, fmt.Errorf("heartbeat run %s: revive: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return true, nil
		}
	}
	return false, prevoir.Errorf(prevoir.ECONFLICT, "heartbeat run %s: not running", id)
}

// abandoned starts the error of a run that ReapRuns marked failed.
const abandoned = "abandoned: "

// checkRunning fails unless the run exists and is running: a finished run is immutable.
func (st *RunStore) checkRunning(ctx context.Context, q querier, id string) error {
	var status string
	err := q.QueryRowContext(ctx, st.db.rebind("SELECT status FROM runs WHERE id = ?"), id).Scan(&status)
	if errors.Is(err, sql.ErrNoRows) {
		return prevoir.Errorf(prevoir.ENOTFOUND, "no run %s", id)
	}
	if err != nil {
		return err
	}
	if status != string(prevoir.RunRunning) {
		return prevoir.Errorf(prevoir.ECONFLICT, "run %s is %s: a run that ended is read-only", id, status)
	}
	return nil
}

// querier is *sql.DB or *sql.Tx.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// LogParams implements prevoir.RunStore.
func (st *RunStore) LogParams(ctx context.Context, id string, params map[string]string) error {
	return st.db.inTx(ctx, func(tx *sql.Tx) error {
		if err := st.checkRunning(ctx, tx, id); err != nil {
			return err
		}
		return st.putParams(ctx, tx, id, params)
	})
}

func (st *RunStore) putParams(ctx context.Context, tx *sql.Tx, id string, params map[string]string) error {
	for _, k := range sortedKeys(params) {
		var old string
		err := tx.QueryRowContext(ctx, st.db.rebind("SELECT value FROM run_params WHERE run_id = ? AND key = ?"), id, k).Scan(&old)
		switch {
		case err == nil && old == params[k]:
			continue
		case err == nil:
			return prevoir.Errorf(prevoir.ECONFLICT, "run %s: parameter %s is %q, cannot change it to %q", id, k, old, params[k])
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		if _, err := tx.ExecContext(ctx, st.db.rebind("INSERT INTO run_params (run_id, key, value) VALUES (?, ?, ?)"), id, k, params[k]); err != nil {
			return err
		}
	}
	return nil
}

// SetTags implements prevoir.RunStore.
func (st *RunStore) SetTags(ctx context.Context, id string, tags map[string]string) error {
	return st.db.inTx(ctx, func(tx *sql.Tx) error {
		if err := st.checkExists(ctx, tx, id); err != nil {
			return err
		}
		return st.putTags(ctx, tx, id, tags)
	})
}

func (st *RunStore) checkExists(ctx context.Context, q querier, id string) error {
	var n int
	if err := q.QueryRowContext(ctx, st.db.rebind("SELECT COUNT(*) FROM runs WHERE id = ?"), id).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return prevoir.Errorf(prevoir.ENOTFOUND, "no run %s", id)
	}
	return nil
}

func (st *RunStore) putTags(ctx context.Context, tx *sql.Tx, id string, tags map[string]string) error {
	for _, k := range sortedKeys(tags) {
		if _, err := tx.ExecContext(ctx, st.db.rebind(`INSERT INTO run_tags (run_id, key, value) VALUES (?, ?, ?)
			ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value`), id, k, tags[k]); err != nil {
			return err
		}
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// LogMetrics implements prevoir.RunStore.
func (st *RunStore) LogMetrics(ctx context.Context, id string, ms []prevoir.Metric) error {
	return st.db.inTx(ctx, func(tx *sql.Tx) error {
		if err := st.checkRunning(ctx, tx, id); err != nil {
			return err
		}
		for _, m := range ms {
			if m.Key == "" {
				return prevoir.Errorf(prevoir.EINVALID, "run %s: metric with an empty key", id)
			}
			at := m.Time
			if at.IsZero() {
				at = st.now()
			}
			var v any
			if !math.IsNaN(m.Value) && !math.IsInf(m.Value, 0) {
				v = m.Value
			}
			if _, err := tx.ExecContext(ctx, st.db.rebind(`INSERT INTO run_metrics (run_id, key, step, value, logged_at) VALUES (?, ?, ?, ?, ?)
				ON CONFLICT (run_id, key, step) DO UPDATE SET value = excluded.value, logged_at = excluded.logged_at`),
				id, m.Key, m.Step, v, st.db.ts(at)); err != nil {
				return err
			}
		}
		return nil
	})
}

// LogArtifact implements prevoir.RunStore.
func (st *RunStore) LogArtifact(ctx context.Context, a prevoir.Artifact) error {
	return st.db.inTx(ctx, func(tx *sql.Tx) error {
		if err := st.checkRunning(ctx, tx, a.RunID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, st.db.rebind(`INSERT INTO run_artifacts (run_id, path, blob_key, sha256, size_bytes) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (run_id, path) DO UPDATE SET blob_key = excluded.blob_key, sha256 = excluded.sha256, size_bytes = excluded.size_bytes`),
			a.RunID, a.Path, a.BlobKey, a.SHA256, a.Size)
		return err
	})
}

const runColumns = `id, experiment, kind, name, target, status, started_at, ended_at, heartbeat_at, owner, error,
	snapshots, frame_sha256, config, code_version`

func (st *RunStore) scanRun(r rowScanner) (*prevoir.Run, error) {
	var (
		run         prevoir.Run
		kind, stat  string
		snaps       string
		ended       time.Time
		endedScan   = timeScan{&ended}
		started, hb time.Time
	)
	if err := r.Scan(&run.ID, &run.Experiment, &kind, &run.Name, &run.Target, &stat, timeScan{&started}, endedScan, timeScan{&hb},
		&run.Owner, &run.Error, &snaps, &run.FrameSHA256, &run.Config, &run.CodeVersion); err != nil {
		return nil, err
	}
	run.Kind, run.Status = prevoir.RunKind(kind), prevoir.RunStatus(stat)
	run.StartedAt, run.EndedAt, run.HeartbeatAt = started, ended, hb
	if err := json.Unmarshal([]byte(snaps), &run.Snapshots); err != nil {
		return nil, fmt.Errorf("run %s: snapshots: %w", run.ID, err)
	}
	return &run, nil
}

// FindRun implements prevoir.RunStore.
func (st *RunStore) FindRun(ctx context.Context, id string) (*prevoir.Run, error) {
	r, err := st.scanRun(st.db.sql.QueryRowContext(ctx, st.db.rebind("SELECT "+runColumns+" FROM runs WHERE id = ?"), id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, prevoir.Errorf(prevoir.ENOTFOUND, "no run %s", id)
	}
	if err != nil {
		return nil, fmt.Errorf("find run %s: %w", id, err)
	}
	if r.Params, err = st.keyValues(ctx, "run_params", id); err != nil {
		return nil, err
	}
	if r.Tags, err = st.keyValues(ctx, "run_tags", id); err != nil {
		return nil, err
	}
	return r, nil
}

func (st *RunStore) keyValues(ctx context.Context, table, id string) (map[string]string, error) {
	rows, err := st.db.sql.QueryContext(ctx, st.db.rebind("SELECT key, value FROM "+table+" WHERE run_id = ?"), id)
	if err != nil {
		return nil, fmt.Errorf("read %s of run %s: %w", table, id, err)
	}
	defer rows.Close()
	m := map[string]string{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return nil, err
		}
		m[k] = v
	}
	return m, rows.Err()
}

// ListRuns implements prevoir.RunStore: newest first, without params and tags (FindRun has them).
func (st *RunStore) ListRuns(ctx context.Context, f prevoir.RunFilter) ([]*prevoir.Run, error) {
	q := "SELECT " + runColumns + " FROM runs WHERE 1 = 1"
	var args []any
	for _, c := range []struct{ col, v string }{{"experiment", f.Experiment}, {"kind", string(f.Kind)}, {"name", f.Name}, {"target", f.Target}, {"status", string(f.Status)}} {
		if c.v != "" {
			q += " AND " + c.col + " = ?"
			args = append(args, c.v)
		}
	}
	q += " ORDER BY started_at DESC, id"
	if f.Limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	rows, err := st.db.sql.QueryContext(ctx, st.db.rebind(q), args...)
	if err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	defer rows.Close()
	var out []*prevoir.Run
	for rows.Next() {
		r, err := st.scanRun(rows)
		if err != nil {
			return nil, fmt.Errorf("list runs: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// Metrics implements prevoir.RunStore.
func (st *RunStore) Metrics(ctx context.Context, id, key string) ([]prevoir.Metric, error) {
	q := "SELECT key, step, value, logged_at FROM run_metrics WHERE run_id = ?"
	args := []any{id}
	if key != "" {
		q += " AND key = ?"
		args = append(args, key)
	}
	q += " ORDER BY key, step"
	rows, err := st.db.sql.QueryContext(ctx, st.db.rebind(q), args...)
	if err != nil {
		return nil, fmt.Errorf("metrics of run %s: %w", id, err)
	}
	defer rows.Close()
	var out []prevoir.Metric
	for rows.Next() {
		var (
			m prevoir.Metric
			v sql.NullFloat64
		)
		if err := rows.Scan(&m.Key, &m.Step, &v, timeScan{&m.Time}); err != nil {
			return nil, err
		}
		m.Value = math.NaN()
		if v.Valid {
			m.Value = v.Float64
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// Artifacts implements prevoir.RunStore.
func (st *RunStore) Artifacts(ctx context.Context, id string) ([]prevoir.Artifact, error) {
	rows, err := st.db.sql.QueryContext(ctx, st.db.rebind("SELECT run_id, path, blob_key, sha256, size_bytes FROM run_artifacts WHERE run_id = ? ORDER BY path"), id)
	if err != nil {
		return nil, fmt.Errorf("artifacts of run %s: %w", id, err)
	}
	defer rows.Close()
	var out []prevoir.Artifact
	for rows.Next() {
		var a prevoir.Artifact
		if err := rows.Scan(&a.RunID, &a.Path, &a.BlobKey, &a.SHA256, &a.Size); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// ReapRuns implements prevoir.RunStore.
func (st *RunStore) ReapRuns(ctx context.Context, staleBefore time.Time, dead func(owner string) bool) ([]string, error) {
	running, err := st.ListRuns(ctx, prevoir.RunFilter{Status: prevoir.RunRunning})
	if err != nil {
		return nil, err
	}
	var reaped []string
	for _, r := range running {
		var why string
		switch {
		case dead != nil && r.Owner != "" && dead(r.Owner):
			why = fmt.Sprintf("the process that ran it (%s) is gone", r.Owner)
		case r.HeartbeatAt.Before(staleBefore):
			why = fmt.Sprintf("no heartbeat since %s from %s", r.HeartbeatAt.Format(time.RFC3339), r.Owner)
		default:
			continue
		}
		res, err := st.db.sql.ExecContext(ctx, st.db.rebind(`UPDATE runs SET status = 'failed', error = ?, ended_at = ?
			WHERE id = ? AND status = 'running'`), abandoned+why, st.db.ts(st.now()), r.ID)
		if err != nil {
			return reaped, fmt.Errorf("reap run %s: %w", r.ID, err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			reaped = append(reaped, r.ID)
		}
	}
	return reaped, nil
}
