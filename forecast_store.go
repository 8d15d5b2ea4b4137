package prevoir

import (
	"context"
	"fmt"
	"time"
)

// StoredForecast is a forecast kept by the forecast flow, dated by its origin, so that it can be
// served and, once its days have been observed, scored against what happened.
type StoredForecast struct {
	ID int64 `json:"id"`
	// Model and Version name the registered model version that made it; Family is its model
	// family ("ets", "tcn", ...). Forecast.Model repeats the family.
	Model   string `json:"registered_model"`
	Version int    `json:"version"`
	Family  string `json:"family"`
	// RunID is the forecast flow's run.
	RunID  string    `json:"run_id"`
	MadeAt time.Time `json:"made_at"`
	// Snapshots are the SHA-256 of the raw snapshots of the data, by source.
	Snapshots map[string]string `json:"snapshots,omitempty"`
	// FrameSHA256 identifies the frame it was made from (csvsource.FrameSHA256): a revision
	// that changes past values but not the last date makes a new frame, hence a new forecast
	// from the same origin. Empty for forecasts stored before it was recorded and whose run
	// is gone.
	FrameSHA256 string `json:"frame_sha256,omitempty"`
	Forecast
}

// ForecastScore is the error of one forecast day once it has been observed.
type ForecastScore struct {
	ForecastID int64 `json:"forecast_id"`
	Date       Date  `json:"date"`
	// Horizon is the day's rank after the origin (1..h).
	Horizon int     `json:"horizon"`
	Actual  float64 `json:"actual"`
	Point   float64 `json:"point"`
	// AbsError is |actual - point|; In80 and In95 say whether the actual fell inside the 80% and
	// 95% prediction intervals.
	AbsError float64   `json:"abs_error"`
	In80     bool      `json:"in_80"`
	In95     bool      `json:"in_95"`
	ScoredAt time.Time `json:"scored_at"`
	// Model, Version and Family identify the forecast's model (filled when read back).
	Model   string `json:"registered_model,omitempty"`
	Version int    `json:"version,omitempty"`
	Family  string `json:"family,omitempty"`
	Origin  Date   `json:"origin,omitzero"`
}

// ForecastFilter selects stored forecasts.
type ForecastFilter struct {
	Model string // registered model; empty: all
	// Since keeps forecasts whose origin is on or after it (zero: all).
	Since Date
	// Current leaves out the forecasts superseded by a later one of the same version and
	// origin (made after a revision that kept the last date): each origin of a version counts
	// once, as ForecastStore.Scores counts it.
	Current bool
	Limit   int
}

// ForecastStore keeps forecasts and their scores.
type ForecastStore interface {
	// SaveForecast stores a forecast and sets its ID. A forecast of the same model version,
	// origin and frame already stored is returned instead (created false): the forecast flow
	// is idempotent.
	SaveForecast(ctx context.Context, f *StoredForecast) (created bool, err error)
	// ServedForecast returns the forecast prevoir serves for the registered model: the
	// champion version's (current) forecast from the latest origin of the model's forecasts.
	// When the champion has not forecast from that origin yet (it was promoted or chosen since,
	// and its forecast is pending), it returns the latest made from that origin, which
	// PendingNote then describes. champion is the champion's version (0: none). ENOTFOUND when
	// the model has no forecast.
	ServedForecast(ctx context.Context, model string, champion int) (*StoredForecast, error)
	// FindForecast returns the forecast of a model version from an origin on a frame, or
	// ENOTFOUND: the key that makes the forecast flow idempotent.
	FindForecast(ctx context.Context, model string, version int, origin Date, frameSHA256 string) (*StoredForecast, error)
	// ListForecasts returns forecasts, latest origin first.
	ListForecasts(ctx context.Context, f ForecastFilter) ([]*StoredForecast, error)
	// SaveScores stores scores; a (forecast, date) scored again is overwritten (a revised
	// actual changes the score).
	SaveScores(ctx context.Context, scores []ForecastScore) error
	// Scores returns the scores of the model's forecasts whose dates are on or after since,
	// ordered by date then forecast. A forecast superseded by a later one of the same version
	// and origin (made after a revision that kept the last date) no longer counts: each origin
	// of a version is scored once, as the hubs count a forecaster's last submission.
	Scores(ctx context.Context, model string, since Date) ([]ForecastScore, error)
}

// PendingNote says why a served forecast is not the champion's, or "" when it is (or when there
// is no champion): the champion became so after this forecast was made, and its own forecast
// is pending. The API and the CLI say it in these words (the dashboard in plainer ones).
func PendingNote(served *StoredForecast, champion *ModelVersion) string {
	if served == nil || champion == nil || champion.Version == served.Version {
		return ""
	}
	return fmt.Sprintf("made by version %d (%s), which is no longer the champion: version %d (%s) became the champion since, and its forecast is pending (queued after the promotion or training, or made by the next forecast run)",
		served.Version, served.Family, champion.Version, champion.Family)
}

// NoForecastNote says why there is no forecast to serve: no champion yet, or a champion whose
// first forecast is pending.
func NoForecastNote(model string, champion *ModelVersion) string {
	if champion == nil {
		return "no forecast yet: no model trained yet, so " + model + " has no champion (train the models; the forecast flow then runs)"
	}
	return fmt.Sprintf("no forecast yet: version %d (%s) is the champion of %s and its first forecast is pending (queued after a promotion or training, or made by the next forecast run)",
		champion.Version, champion.Family, model)
}
