package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/prevoir/prevoir"
)

// Registry implements prevoir.Registry.
//
// Version numbers come from a counter on the registered model's row, incremented in the same
// transaction as the insert: on PostgreSQL the row lock serialises concurrent registrations,
// on SQLite the write lock does, and a transaction that fails rolls the counter back with
// it, so numbers have no gaps.
type Registry struct {
	db  *DB
	now func() time.Time
}

var _ prevoir.Registry = (*Registry)(nil)

// NewRegistry returns the model registry of db.
func NewRegistry(db *DB) *Registry { return &Registry{db: db, now: time.Now} }

// CreateModelVersion implements prevoir.Registry.
func (rg *Registry) CreateModelVersion(ctx context.Context, v *prevoir.ModelVersion) error {
	if v.Model == "" || v.Family == "" || v.RunID == "" || v.ArtifactPath == "" {
		return prevoir.Errorf(prevoir.EINVALID, "register model version: model, family, run and artifact path are required")
	}
	metrics, err := json.Marshal(v.Metrics)
	if err != nil {
		return err
	}
	if v.Metrics == nil {
		metrics = []byte("{}")
	}
	now := rg.now().UTC()
	var version int
	err = rg.db.inTx(ctx, func(tx *sql.Tx) error {
		var status string
		err := tx.QueryRowContext(ctx, rg.db.rebind("SELECT status FROM runs WHERE id = ?"), v.RunID).Scan(&status)
		if errors.Is(err, sql.ErrNoRows) {
			return prevoir.Errorf(prevoir.ENOTFOUND, "register %s: no run %s", v.Model, v.RunID)
		}
		if err != nil {
			return err
		}
		if status != string(prevoir.RunFinished) {
			return prevoir.Errorf(prevoir.ECONFLICT, "register %s: run %s is %s; only a finished run can be registered", v.Model, v.RunID, status)
		}
		var n int
		if err := tx.QueryRowContext(ctx, rg.db.rebind("SELECT COUNT(*) FROM run_artifacts WHERE run_id = ? AND path = ?"), v.RunID, v.ArtifactPath).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return prevoir.Errorf(prevoir.ENOTFOUND, "register %s: run %s has no artifact %s", v.Model, v.RunID, v.ArtifactPath)
		}
		if _, err := tx.ExecContext(ctx, rg.db.rebind(`INSERT INTO registered_models (name, last_version, created_at) VALUES (?, 0, ?)
			ON CONFLICT (name) DO NOTHING`), v.Model, rg.db.ts(now)); err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, rg.db.rebind(`UPDATE registered_models SET last_version = last_version + 1
			WHERE name = ? RETURNING last_version`), v.Model).Scan(&version); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, rg.db.rebind(`INSERT INTO model_versions
			(model, version, family, run_id, artifact_path, created_at, metrics, batch, description) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			v.Model, version, v.Family, v.RunID, v.ArtifactPath, rg.db.ts(now), string(metrics), v.Batch, v.Description)
		return err
	})
	if err != nil {
		return fmt.Errorf("register %s: %w", v.Model, err)
	}
	v.Version, v.CreatedAt = version, now
	return nil
}

const versionColumns = "model, version, family, run_id, artifact_path, created_at, metrics, batch, description"

func scanVersion(r rowScanner) (*prevoir.ModelVersion, error) {
	var (
		v       prevoir.ModelVersion
		metrics string
	)
	if err := r.Scan(&v.Model, &v.Version, &v.Family, &v.RunID, &v.ArtifactPath, timeScan{&v.CreatedAt}, &metrics, &v.Batch, &v.Description); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(metrics), &v.Metrics); err != nil {
		return nil, fmt.Errorf("model %s version %d: metrics: %w", v.Model, v.Version, err)
	}
	return &v, nil
}

// FindModelVersion implements prevoir.Registry.
func (rg *Registry) FindModelVersion(ctx context.Context, model string, version int) (*prevoir.ModelVersion, error) {
	v, err := scanVersion(rg.db.sql.QueryRowContext(ctx, rg.db.rebind("SELECT "+versionColumns+" FROM model_versions WHERE model = ? AND version = ?"), model, version))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, prevoir.Errorf(prevoir.ENOTFOUND, "model %s has no version %d", model, version)
	}
	if err != nil {
		return nil, fmt.Errorf("find model %s version %d: %w", model, version, err)
	}
	return v, nil
}

// ListModelVersions implements prevoir.Registry: newest first.
func (rg *Registry) ListModelVersions(ctx context.Context, model string) ([]*prevoir.ModelVersion, error) {
	rows, err := rg.db.sql.QueryContext(ctx, rg.db.rebind("SELECT "+versionColumns+" FROM model_versions WHERE model = ? ORDER BY version DESC"), model)
	if err != nil {
		return nil, fmt.Errorf("list versions of %s: %w", model, err)
	}
	defer rows.Close()
	var out []*prevoir.ModelVersion
	for rows.Next() {
		v, err := scanVersion(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// ListModels implements prevoir.Registry.
func (rg *Registry) ListModels(ctx context.Context) ([]*prevoir.RegisteredModel, error) {
	rows, err := rg.db.sql.QueryContext(ctx, "SELECT name, last_version, created_at FROM registered_models ORDER BY name")
	if err != nil {
		return nil, fmt.Errorf("list models: %w", err)
	}
	var out []*prevoir.RegisteredModel
	for rows.Next() {
		m := &prevoir.RegisteredModel{Aliases: map[string]int{}}
		if err := rows.Scan(&m.Name, &m.LatestVersion, timeScan{&m.CreatedAt}); err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, m)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, m := range out {
		arows, err := rg.db.sql.QueryContext(ctx, rg.db.rebind("SELECT alias, version FROM model_aliases WHERE model = ?"), m.Name)
		if err != nil {
			return nil, err
		}
		for arows.Next() {
			var a string
			var v int
			if err := arows.Scan(&a, &v); err != nil {
				arows.Close()
				return nil, err
			}
			m.Aliases[a] = v
		}
		arows.Close()
	}
	return out, nil
}

// SetAlias implements prevoir.Registry.
func (rg *Registry) SetAlias(ctx context.Context, model, alias string, version int, reason string) (*prevoir.AliasChange, error) {
	if alias == "" {
		return nil, prevoir.Errorf(prevoir.EINVALID, "set alias: empty alias")
	}
	now := rg.now().UTC()
	ch := &prevoir.AliasChange{Model: model, Alias: alias, Version: version, Reason: reason, At: now}
	err := rg.db.inTx(ctx, func(tx *sql.Tx) error {
		// Lock the model's row so that concurrent moves of its aliases are serialised.
		res, err := tx.ExecContext(ctx, rg.db.rebind("UPDATE registered_models SET last_version = last_version WHERE name = ?"), model)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return prevoir.Errorf(prevoir.ENOTFOUND, "no registered model %s", model)
		}
		err = tx.QueryRowContext(ctx, rg.db.rebind("SELECT version FROM model_aliases WHERE model = ? AND alias = ?"), model, alias).Scan(&ch.FromVersion)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if version == 0 {
			_, err = tx.ExecContext(ctx, rg.db.rebind("DELETE FROM model_aliases WHERE model = ? AND alias = ?"), model, alias)
		} else {
			var n int
			if err := tx.QueryRowContext(ctx, rg.db.rebind("SELECT COUNT(*) FROM model_versions WHERE model = ? AND version = ?"), model, version).Scan(&n); err != nil {
				return err
			}
			if n == 0 {
				return prevoir.Errorf(prevoir.ENOTFOUND, "model %s has no version %d", model, version)
			}
			_, err = tx.ExecContext(ctx, rg.db.rebind(`INSERT INTO model_aliases (model, alias, version, updated_at) VALUES (?, ?, ?, ?)
				ON CONFLICT (model, alias) DO UPDATE SET version = excluded.version, updated_at = excluded.updated_at`),
				model, alias, version, rg.db.ts(now))
		}
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, rg.db.rebind(`INSERT INTO alias_changes (model, alias, version, from_version, reason, changed_at)
			VALUES (?, ?, ?, ?, ?, ?)`), model, alias, version, ch.FromVersion, reason, rg.db.ts(now))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("set alias %s of %s: %w", alias, model, err)
	}
	return ch, nil
}

// ResolveAlias implements prevoir.Registry.
func (rg *Registry) ResolveAlias(ctx context.Context, model, alias string) (*prevoir.ModelVersion, error) {
	v, err := scanVersion(rg.db.sql.QueryRowContext(ctx, rg.db.rebind("SELECT "+versionColumns+` FROM model_versions
		WHERE model = ? AND version = (SELECT version FROM model_aliases WHERE model = ? AND alias = ?)`), model, model, alias))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, prevoir.Errorf(prevoir.ENOTFOUND, "model %s has no %s", model, alias)
	}
	if err != nil {
		return nil, fmt.Errorf("resolve %s of %s: %w", alias, model, err)
	}
	return v, nil
}

// AliasHistory implements prevoir.Registry.
func (rg *Registry) AliasHistory(ctx context.Context, model, alias string) ([]*prevoir.AliasChange, error) {
	rows, err := rg.db.sql.QueryContext(ctx, rg.db.rebind(`SELECT model, alias, version, from_version, reason, changed_at
		FROM alias_changes WHERE model = ? AND alias = ? ORDER BY id DESC`), model, alias)
	if err != nil {
		return nil, fmt.Errorf("alias history of %s: %w", model, err)
	}
	defer rows.Close()
	var out []*prevoir.AliasChange
	for rows.Next() {
		var c prevoir.AliasChange
		if err := rows.Scan(&c.Model, &c.Alias, &c.Version, &c.FromVersion, &c.Reason, timeScan{&c.At}); err != nil {
			return nil, err
		}
		out = append(out, &c)
	}
	return out, rows.Err()
}
