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

// ForecastStore implements prevoir.ForecastStore.
type ForecastStore struct {
	db  *DB
	now func() time.Time
}

var _ prevoir.ForecastStore = (*ForecastStore)(nil)

// NewForecastStore returns the forecast store of db.
func NewForecastStore(db *DB) *ForecastStore { return &ForecastStore{db: db, now: time.Now} }

// forecastBody is the stored JSON of a forecast's values. Weekly is omitted when the model
// gave no weekly totals, so rows stored before it existed read back as they were.
type forecastBody struct {
	Dates     []prevoir.Date `json:"dates"`
	Point     []float64      `json:"point"`
	Quantiles []float64      `json:"quantiles"`
	Values    [][]float64    `json:"values"`
	Weekly    *prevoir.Weeks `json:"weekly,omitempty"`
}

// SaveForecast implements prevoir.ForecastStore.
func (st *ForecastStore) SaveForecast(ctx context.Context, f *prevoir.StoredForecast) (bool, error) {
	if err := f.Validate(); err != nil {
		return false, prevoir.Errorf(prevoir.EINVALID, "save forecast: %v", err)
	}
	if f.MadeAt.IsZero() {
		f.MadeAt = st.now().UTC()
	}
	body, err := json.Marshal(forecastBody{f.Dates, f.Point, f.Quantiles, f.Values, f.Weekly})
	if err != nil {
		return false, err
	}
	snaps, err := json.Marshal(orEmpty(f.Snapshots))
	if err != nil {
		return false, err
	}
	created := false
	err = st.db.inTx(ctx, func(tx *sql.Tx) error {
		existing, err := st.find(ctx, tx, "WHERE "+sameForecast, f.Model, f.Version, f.Origin.String(), f.FrameSHA256)
		if err == nil {
			*f = *existing
			return nil
		}
		if prevoir.ErrorCode(err) != prevoir.ENOTFOUND {
			return err
		}
		created = true
		return tx.QueryRowContext(ctx, st.db.rebind(`INSERT INTO forecasts
			(model, version, family, run_id, origin, made_at, horizon, body, snapshots, frame_sha256)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`),
			f.Model, f.Version, f.Family, f.RunID, f.Origin.String(), st.db.ts(f.MadeAt), len(f.Dates), string(body), string(snaps),
			f.FrameSHA256).Scan(&f.ID)
	})
	if isUniqueViolation(err) {
		// A concurrent flow stored it first: return that one.
		existing, ferr := st.find(ctx, st.db.sql, "WHERE "+sameForecast, f.Model, f.Version, f.Origin.String(), f.FrameSHA256)
		if ferr != nil {
			return false, ferr
		}
		*f = *existing
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("save forecast: %w", err)
	}
	return created, nil
}

// sameForecast selects the forecast of a model version from an origin and a frame: the key
// that makes the forecast flow idempotent.
const sameForecast = "model = ? AND version = ? AND origin = ? AND frame_sha256 = ?"

const forecastColumns = "id, model, version, family, run_id, origin, made_at, body, snapshots, frame_sha256"

func scanForecast(r rowScanner) (*prevoir.StoredForecast, error) {
	var (
		f           prevoir.StoredForecast
		origin      string
		body, snaps string
	)
	if err := r.Scan(&f.ID, &f.Model, &f.Version, &f.Family, &f.RunID, &origin, timeScan{&f.MadeAt}, &body, &snaps, &f.FrameSHA256); err != nil {
		return nil, err
	}
	var err error
	if f.Origin, err = prevoir.ParseDate(origin); err != nil {
		return nil, fmt.Errorf("forecast %d: %w", f.ID, err)
	}
	var b forecastBody
	if err := json.Unmarshal([]byte(body), &b); err != nil {
		return nil, fmt.Errorf("forecast %d: %w", f.ID, err)
	}
	f.Forecast = prevoir.Forecast{Model: f.Family, Origin: f.Origin, Dates: b.Dates, Point: b.Point, Quantiles: b.Quantiles, Values: b.Values, Weekly: b.Weekly}
	if err := json.Unmarshal([]byte(snaps), &f.Snapshots); err != nil {
		return nil, fmt.Errorf("forecast %d: %w", f.ID, err)
	}
	return &f, nil
}

func (st *ForecastStore) find(ctx context.Context, q querier, where string, args ...any) (*prevoir.StoredForecast, error) {
	f, err := scanForecast(q.QueryRowContext(ctx, st.db.rebind("SELECT "+forecastColumns+" FROM forecasts f "+where), args...))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, prevoir.Errorf(prevoir.ENOTFOUND, "no forecast yet: no model trained or no forecast made (run prevoir run forecast)")
	}
	return f, err
}

// currentForecast keeps forecast f unless a later one of the same version and origin (made
// after a revision that kept the last date) superseded it. Scoring, the scores read back and
// the served forecast all use it, so that they agree on which forecast of an origin counts.
const currentForecast = `NOT EXISTS (SELECT 1 FROM forecasts n
	WHERE n.model = f.model AND n.version = f.version AND n.origin = f.origin AND n.id > f.id)`

// ServedForecast implements prevoir.ForecastStore. The rule is this one query: of the current
// forecasts from the model's latest origin, the champion's, else the last made.
func (st *ForecastStore) ServedForecast(ctx context.Context, model string, champion int) (*prevoir.StoredForecast, error) {
	return st.find(ctx, st.db.sql, `WHERE f.model = ? AND f.origin = (SELECT MAX(origin) FROM forecasts WHERE model = ?) AND `+currentForecast+`
		ORDER BY CASE WHEN f.version = ? THEN 0 ELSE 1 END, f.id DESC LIMIT 1`, model, model, champion)
}

// FindForecast implements prevoir.ForecastStore.
func (st *ForecastStore) FindForecast(ctx context.Context, model string, version int, origin prevoir.Date, frameSHA256 string) (*prevoir.StoredForecast, error) {
	return st.find(ctx, st.db.sql, "WHERE "+sameForecast, model, version, origin.String(), frameSHA256)
}

// ListForecasts implements prevoir.ForecastStore.
func (st *ForecastStore) ListForecasts(ctx context.Context, f prevoir.ForecastFilter) ([]*prevoir.StoredForecast, error) {
	q := "SELECT " + forecastColumns + " FROM forecasts f WHERE origin >= ?"
	args := []any{f.Since.String()}
	if f.Since == 0 {
		args[0] = ""
	}
	if f.Model != "" {
		q += " AND model = ?"
		args = append(args, f.Model)
	}
	if f.Current {
		q += " AND " + currentForecast
	}
	q += " ORDER BY origin DESC, id DESC"
	if f.Limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	rows, err := st.db.sql.QueryContext(ctx, st.db.rebind(q), args...)
	if err != nil {
		return nil, fmt.Errorf("list forecasts: %w", err)
	}
	defer rows.Close()
	var out []*prevoir.StoredForecast
	for rows.Next() {
		fc, err := scanForecast(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, fc)
	}
	return out, rows.Err()
}

// SaveScores implements prevoir.ForecastStore.
func (st *ForecastStore) SaveScores(ctx context.Context, scores []prevoir.ForecastScore) error {
	now := st.now().UTC()
	return st.db.inTx(ctx, func(tx *sql.Tx) error {
		for _, s := range scores {
			at := s.ScoredAt
			if at.IsZero() {
				at = now
			}
			if _, err := tx.ExecContext(ctx, st.db.rebind(`INSERT INTO forecast_scores
				(forecast_id, date, horizon, actual, point, abs_error, in_80, in_95, scored_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
				ON CONFLICT (forecast_id, date) DO UPDATE SET actual = excluded.actual, point = excluded.point,
				abs_error = excluded.abs_error, in_80 = excluded.in_80, in_95 = excluded.in_95, scored_at = excluded.scored_at`),
				s.ForecastID, s.Date.String(), s.Horizon, s.Actual, s.Point, s.AbsError, s.In80, s.In95, st.db.ts(at)); err != nil {
				return fmt.Errorf("save score of forecast %d on %s: %w", s.ForecastID, s.Date, err)
			}
		}
		return nil
	})
}

// Scores implements prevoir.ForecastStore.
func (st *ForecastStore) Scores(ctx context.Context, model string, since prevoir.Date) ([]prevoir.ForecastScore, error) {
	from := since.String()
	if since == 0 {
		from = ""
	}
	rows, err := st.db.sql.QueryContext(ctx, st.db.rebind(`SELECT s.forecast_id, s.date, s.horizon, s.actual, s.point, s.abs_error,
		s.in_80, s.in_95, s.scored_at, f.model, f.version, f.family, f.origin
		FROM forecast_scores s JOIN forecasts f ON f.id = s.forecast_id
		WHERE f.model = ? AND s.date >= ? AND `+currentForecast+`
		ORDER BY s.date, s.forecast_id`), model, from)
	if err != nil {
		return nil, fmt.Errorf("scores of %s: %w", model, err)
	}
	defer rows.Close()
	var out []prevoir.ForecastScore
	for rows.Next() {
		var (
			s            prevoir.ForecastScore
			date, origin string
		)
		if err := rows.Scan(&s.ForecastID, &date, &s.Horizon, &s.Actual, &s.Point, &s.AbsError, &s.In80, &s.In95,
			timeScan{&s.ScoredAt}, &s.Model, &s.Version, &s.Family, &origin); err != nil {
			return nil, err
		}
		if s.Date, err = prevoir.ParseDate(date); err != nil {
			return nil, err
		}
		if s.Origin, err = prevoir.ParseDate(origin); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}
