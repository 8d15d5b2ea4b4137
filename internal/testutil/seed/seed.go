// Package seed fills a real prevoir database and artifact store with a plausible history, for
// the tests of the layers that read everything (the web server, the CLI): the real data files
// ingested by the real ingest flow, finished training runs with model artifacts, a backtest run
// with its backtest.json, registered versions, a champion with a history, forecasts at past
// origins scored by the real score flow, and a latest forecast.
//
// It is a package of its own, not part of testutil, so that the many tests that only need the
// data files do not link the stores.
package seed

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/blobstore"
	"github.com/prevoir/prevoir/datagouv"
	"github.com/prevoir/prevoir/flow"
	"github.com/prevoir/prevoir/ingest"
	"github.com/prevoir/prevoir/internal/testutil"
	"github.com/prevoir/prevoir/sqlstore"
	"github.com/prevoir/prevoir/tracking"
)

// Model is the registered model the seed uses: the default target's (see Env.For for another).
const Model = prevoir.DefaultTarget

// Env is a complete set of stores on one database and one artifact directory.
type Env struct {
	DB        *sqlstore.DB
	Blobs     *blobstore.Store
	Snapshots *sqlstore.SnapshotStore
	Runs      *sqlstore.RunStore
	Registry  *sqlstore.Registry
	Forecasts *sqlstore.ForecastStore
	Tracker   *tracking.Tracker
	Ingester  *ingest.Service
	Sources   []prevoir.Source
	Flows     *flow.Flows
	// Target is the target whose registered model Train, Promote, Forecast, Backtest and Score
	// record (the default target's, unless the Env comes from For).
	Target prevoir.Target
}

// For returns the same stores seeding target t: its registered model, its column forecast.
func (e *Env) For(t prevoir.Target) *Env {
	c := *e
	c.Target = t
	c.Flows = e.Flows.For(t)
	return &c
}

// Open opens the stores on dbURL (testutil.SQLiteURL or testutil.PostgresURL) and a new
// artifact directory; they are closed when the test ends.
func Open(tb testing.TB, dbURL string) *Env {
	tb.Helper()
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, dbURL)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	blobs, err := blobstore.Open(ctx, filepath.Join(tb.TempDir(), "artifacts"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { blobs.Close() })
	srcs, err := ingest.WithSourceDir(prevoir.DefaultSources(), testutil.DataDir(tb))
	if err != nil {
		tb.Fatal(err)
	}
	e := &Env{DB: db, Blobs: blobs, Snapshots: sqlstore.NewSnapshotStore(db), Runs: sqlstore.NewRunStore(db),
		Registry: sqlstore.NewRegistry(db), Forecasts: sqlstore.NewForecastStore(db), Sources: srcs}
	e.Tracker = &tracking.Tracker{Runs: e.Runs, Blobs: blobs}
	e.Ingester = &ingest.Service{Snapshots: e.Snapshots, Blobs: blobs, Client: &datagouv.Client{MaxAttempts: 1}}
	e.Flows = &flow.Flows{Sources: srcs, Ingester: e.Ingester, Tracker: e.Tracker, Registry: e.Registry, Forecasts: e.Forecasts,
		RegisteredModel: Model, FrameOptions: prevoir.DefaultFrameOptions()}
	e.Target, err = prevoir.LookupTarget(Model)
	if err != nil {
		tb.Fatal(err)
	}
	return e
}

// Frame builds the frame from the current snapshots, as a server's frame loader does.
func (e *Env) Frame(ctx context.Context) (*prevoir.Frame, error) {
	return e.Ingester.Frame(ctx, e.Sources, prevoir.DefaultFrameOptions())
}

// Ingest runs the real ingest flow on the real data files and returns the frame.
func (e *Env) Ingest(tb testing.TB) *prevoir.Frame {
	tb.Helper()
	rep, err := e.Flows.Ingest(context.Background())
	if err != nil {
		tb.Fatalf("seed: ingest: %v", err)
	}
	return rep.Frame
}

// IngestVintage runs the ingest flow on the releases of 5 August 2022 (testdata/vintages),
// so that a later Ingest of the current files records a revision.
func (e *Env) IngestVintage(tb testing.TB) {
	tb.Helper()
	dir := tb.TempDir()
	for name, from := range map[string]string{
		"table-indicateurs-open-data-france.csv": "vintages/table-indicateurs-open-data-france-2022-08-05-19h01.csv",
		"sp-fra-jour.csv":                        "vintages/sp-fra-jour-2022-08-05-19h01.csv",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), testutil.ReadData(tb, from), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	srcs, err := ingest.WithSourceDir(prevoir.DefaultSources(), dir)
	if err != nil {
		tb.Fatal(err)
	}
	fl := *e.Flows
	fl.Sources = srcs
	if _, err := fl.Ingest(context.Background()); err != nil {
		tb.Fatalf("seed: ingest the vintage: %v", err)
	}
}

// BacktestModel is a line of backtest.json, in the training flow's format.
type BacktestModel struct {
	Name         string    `json:"name"`
	MAE          float64   `json:"mae"`
	RMSE         float64   `json:"rmse"`
	MASE         float64   `json:"mase"`
	WIS          float64   `json:"wis"`
	Coverage80   float64   `json:"coverage_80"`
	Coverage95   float64   `json:"coverage_95"`
	FitSeconds   float64   `json:"fit_seconds"`
	MAEByHorizon []float64 `json:"mae_by_horizon"`
}

// Backtest records a finished backtest run whose backtest.json has the given champion and
// models, and returns the run's ID.
func (e *Env) Backtest(tb testing.TB, champion string, models []BacktestModel) string {
	tb.Helper()
	ctx := context.Background()
	data, err := json.MarshalIndent(map[string]any{"champion": champion, "models": models, "protocol": map[string]any{"target": e.Target.Column}}, "", "  ")
	if err != nil {
		tb.Fatal(err)
	}
	r, err := e.Tracker.Start(ctx, &prevoir.Run{Kind: prevoir.RunBacktest, Name: "backtest", Target: e.Target.Name, Params: map[string]string{"origins": "20", "every_days": "7"}})
	if err != nil {
		tb.Fatal(err)
	}
	for _, m := range models {
		if err := r.LogMetrics(ctx, map[string]float64{m.Name + ".mae": m.MAE}); err != nil {
			tb.Fatal(err)
		}
	}
	if _, err := r.LogArtifact(ctx, prevoir.BacktestArtifact, data); err != nil {
		tb.Fatal(err)
	}
	if err := r.End(ctx, nil); err != nil {
		tb.Fatal(err)
	}
	return r.ID
}

// Train records a finished training run of family with a loss curve and a model artifact, and
// registers it as the next version of the env's target's registered model with the given backtest MAE and an 80% interval
// coverage of 80%.
func (e *Env) Train(tb testing.TB, family string, mae float64) *prevoir.ModelVersion {
	tb.Helper()
	ctx := context.Background()
	r, err := e.Tracker.Start(ctx, &prevoir.Run{Kind: prevoir.RunTrain, Name: family, Target: e.Target.Name, Params: map[string]string{"family": family, "horizon": "14"}})
	if err != nil {
		tb.Fatal(err)
	}
	for step, loss := range []float64{1.2, 0.7, 0.45, 0.38, 0.35} {
		if err := r.LogMetric(ctx, "loss", loss, int64(step)); err != nil {
			tb.Fatal(err)
		}
	}
	if err := r.LogMetrics(ctx, map[string]float64{"mae": mae}); err != nil {
		tb.Fatal(err)
	}
	if _, err := r.LogArtifact(ctx, "model.bin", []byte("weights of "+family)); err != nil {
		tb.Fatal(err)
	}
	if err := r.End(ctx, nil); err != nil {
		tb.Fatal(err)
	}
	// The 80% coverage lets every seeded version pass the champion rule's gate when promoted.
	v := &prevoir.ModelVersion{Model: e.Target.Name, Family: family, RunID: r.ID, ArtifactPath: "model.bin", Metrics: map[string]float64{"mae": mae, "coverage_80": 0.8}}
	if err := e.Registry.CreateModelVersion(ctx, v); err != nil {
		tb.Fatal(err)
	}
	return v
}

// FailedRun records a run that failed.
func (e *Env) FailedRun(tb testing.TB, kind prevoir.RunKind, name, msg string) string {
	tb.Helper()
	ctx := context.Background()
	r := &prevoir.Run{Kind: kind, Name: name}
	if kind != prevoir.RunIngest {
		r.Target = Model
	}
	run, err := e.Tracker.Start(ctx, r)
	if err != nil {
		tb.Fatal(err)
	}
	if err := run.End(ctx, fmt.Errorf("%s", msg)); err != nil {
		tb.Fatal(err)
	}
	return r.ID
}

// Promote makes version the champion of the env's target.
func (e *Env) Promote(tb testing.TB, version int, reason string) {
	tb.Helper()
	if _, err := e.Registry.SetAlias(context.Background(), e.Target.Name, prevoir.AliasChampion, version, reason); err != nil {
		tb.Fatal(err)
	}
}

// Forecast stores for the env's target, as a forecast flow would (a recorded forecast run), a forecast by version v
// from origin: the mean of the last seven observed days, with ranges that widen with the
// horizon. It is deterministic, so tests can recompute it.
func (e *Env) Forecast(tb testing.TB, frame *prevoir.Frame, v *prevoir.ModelVersion, origin prevoir.Date) *prevoir.StoredForecast {
	tb.Helper()
	return e.ForecastScaled(tb, frame, v, origin, 1)
}

// ForecastScaled is Forecast with every value multiplied by factor: a forecast that rises or
// falls from the last observed week.
func (e *Env) ForecastScaled(tb testing.TB, frame *prevoir.Frame, v *prevoir.ModelVersion, origin prevoir.Date, factor float64) *prevoir.StoredForecast {
	tb.Helper()
	ctx := context.Background()
	upto, err := frame.Until(origin)
	if err != nil {
		tb.Fatal(err)
	}
	of := *upto
	of.Target = e.Target.Column // the env's target's values, whatever the frame was built for
	fc := NaiveForecast(&of, v.Family, prevoir.DefaultHorizon)
	if factor != 1 {
		scale := func(x []float64) {
			for i := range x {
				x[i] *= factor
			}
		}
		scale(fc.Point)
		for _, row := range append(fc.Values, fc.Weekly.Values...) {
			scale(row)
		}
		scale(fc.Weekly.Point)
	}
	r, err := e.Tracker.Start(ctx, &prevoir.Run{Kind: prevoir.RunForecast, Name: "forecast", Target: e.Target.Name, Params: map[string]string{"version": fmt.Sprint(v.Version)},
		Lineage: prevoir.Lineage{Snapshots: snapshotsOf(frame)}})
	if err != nil {
		tb.Fatal(err)
	}
	sf := &prevoir.StoredForecast{Model: e.Target.Name, Version: v.Version, Family: v.Family, RunID: r.ID,
		MadeAt: origin.Time().Add(24*time.Hour + 19*time.Hour + 45*time.Minute), Snapshots: snapshotsOf(frame), Forecast: *fc}
	if _, err := e.Forecasts.SaveForecast(ctx, sf); err != nil {
		tb.Fatal(err)
	}
	if err := r.End(ctx, nil); err != nil {
		tb.Fatal(err)
	}
	return sf
}

func snapshotsOf(f *prevoir.Frame) map[string]string {
	m := map[string]string{}
	for _, s := range f.Sources {
		m[s.Source] = s.SHA256
	}
	return m
}

// NaiveForecast is the seed's forecast, a weekly seasonal naive one: each day repeats the same
// weekday of the last observed week, with normal ranges whose width is the spread of the
// week-on-week changes of the last four weeks and grows with the square root of the week
// ahead, and the totals of its whole weeks with their own quantiles.
func NaiveForecast(f *prevoir.Frame, family string, h int) *prevoir.Forecast {
	y := f.TargetValues()
	n := len(y)
	value := func(i int) float64 { // the last observed value at or before i on the same weekday
		for ; i >= 0; i -= 7 {
			if !math.IsNaN(y[i]) {
				return y[i]
			}
		}
		return 0
	}
	var diffs []float64
	for i := max(7, n-28); i < n; i++ {
		if !math.IsNaN(y[i]) && !math.IsNaN(y[i-7]) {
			diffs = append(diffs, y[i]-y[i-7])
		}
	}
	sd := 1.0
	if len(diffs) > 1 {
		mean, ss := 0.0, 0.0
		for _, d := range diffs {
			mean += d
		}
		mean /= float64(len(diffs))
		for _, d := range diffs {
			ss += (d - mean) * (d - mean)
		}
		sd = math.Sqrt(ss/float64(len(diffs)-1)) + 1
	}
	origin := f.Dates[n-1]
	q := prevoir.DefaultQuantiles()
	z := make([]float64, len(q)) // standard normal quantiles
	for j, p := range q {
		z[j] = math.Sqrt2 * math.Erfinv(2*p-1)
	}
	normal := func(mean, sd float64) []float64 {
		row := make([]float64, len(q))
		for j := range q {
			row[j] = math.Max(0, mean+z[j]*sd)
		}
		return row
	}
	fc := &prevoir.Forecast{Model: family, Origin: origin, Quantiles: q}
	for i := 1; i <= h; i++ {
		week := (i-1)/7 + 1
		point := value(n - 1 - 7*week + i)
		fc.Dates = append(fc.Dates, origin+prevoir.Date(i))
		fc.Point = append(fc.Point, point)
		fc.Values = append(fc.Values, normal(point, sd*math.Sqrt(float64(week))))
	}
	// The weekly totals, as a model with sample paths gives them: here a week's days' errors
	// are taken as independent, so its spread is sqrt(7) times a day's, not 7 times.
	fc.Weekly = &prevoir.Weeks{}
	for w := range fc.Weeks() {
		total := prevoir.WeekTotal(fc.Point, w)
		fc.Weekly.Point = append(fc.Weekly.Point, total)
		fc.Weekly.Values = append(fc.Weekly.Values, normal(total, sd*math.Sqrt(float64(prevoir.WeekDays*(w+1)))))
	}
	return fc
}

// Score runs the real score flow.
func (e *Env) Score(tb testing.TB) {
	tb.Helper()
	if _, err := e.Flows.Score(context.Background()); err != nil {
		tb.Fatalf("seed: score: %v", err)
	}
}

// Seeded says what Standard stored.
type Seeded struct {
	Frame         *prevoir.Frame
	Versions      []*prevoir.ModelVersion // v1 snaive, v2 ets, v3 theta
	Champion      *prevoir.ModelVersion   // v2
	Latest        *prevoir.StoredForecast // v2's forecast from the frame's last day
	Past          []*prevoir.StoredForecast
	BacktestRunID string
	FailedRunID   string
}

// StandardBacktest is the backtest Standard records: ets is the champion.
func StandardBacktest() []BacktestModel {
	by := func(base float64) []float64 {
		out := make([]float64, 14)
		for i := range out {
			out[i] = base + 0.6*float64(i)
		}
		return out
	}
	return []BacktestModel{
		{Name: "ets", MAE: 11.5, RMSE: 15.2, MASE: 0.82, WIS: 7.9, Coverage80: 0.78, Coverage95: 0.93, FitSeconds: 0.84, MAEByHorizon: by(7.6)},
		{Name: "theta", MAE: 12.25, RMSE: 16.1, MASE: 0.87, WIS: 8.4, Coverage80: 0.74, Coverage95: 0.91, FitSeconds: 0.12, MAEByHorizon: by(8.3)},
		{Name: "snaive", MAE: 14.75, RMSE: 19.4, MASE: 1.0, WIS: 10.2, Coverage80: 0.7, Coverage95: 0.88, FitSeconds: 0.01, MAEByHorizon: by(10.8)},
	}
}

// Standard seeds the whole history: ingest (an old release, then the current one, which
// revises it), three trained versions, a backtest, the champion
// moved from v1 to v2, forecasts at three past origins scored against the data, a failed run,
// and the latest forecast by the champion from the frame's last day.
func (e *Env) Standard(tb testing.TB) *Seeded {
	tb.Helper()
	e.IngestVintage(tb)
	s := &Seeded{Frame: e.Ingest(tb)}
	s.Versions = append(s.Versions, e.Train(tb, "snaive", 14.75), e.Train(tb, "ets", 11.5), e.Train(tb, "theta", 12.25))
	s.BacktestRunID = e.Backtest(tb, "ets", StandardBacktest())
	e.Promote(tb, 1, "first model")
	last := s.Frame.Dates[s.Frame.Len()-1]
	s.Past = append(s.Past, e.Forecast(tb, s.Frame, s.Versions[0], last-28), e.Forecast(tb, s.Frame, s.Versions[0], last-21))
	e.Promote(tb, 2, "champion rule: ets has the lowest backtest MAE (11.5 < 12.25 < 14.75)")
	s.Champion = s.Versions[1]
	s.Past = append(s.Past, e.Forecast(tb, s.Frame, s.Versions[1], last-14), e.Forecast(tb, s.Frame, s.Versions[1], last-7))
	s.FailedRunID = e.FailedRun(tb, prevoir.RunTrain, "tcn", "training diverged: loss is NaN at epoch 3")
	e.Score(tb)
	s.Latest = e.Forecast(tb, s.Frame, s.Champion, last)
	return s
}

// SecondTarget is the other target StandardTargets seeds: an occupancy, whose week is a mean,
// beside the default target's daily counts.
const SecondTarget = prevoir.TargetHospitalised

// SecondTargetFactor scales the second target's latest forecast: a fall of 20% on the last
// observed week, whereas the default target's is flat.
const SecondTargetFactor = 0.8

// TargetSeeded says what StandardTargets stored for the second target.
type TargetSeeded struct {
	Target   prevoir.Target
	Versions []*prevoir.ModelVersion // v1 snaive, v2 ets
	Champion *prevoir.ModelVersion   // v2
	// Latest is v2's forecast from the frame's last day, the naive one scaled by
	// SecondTargetFactor: it falls from the last observed week.
	Latest *prevoir.StoredForecast
	// BacktestRunID is its backtest's run: ets is the champion, snaive second.
	BacktestRunID string
}

// StandardTargets seeds Standard, then a second target (SecondTarget) on the same data: two
// trained versions, a backtest, v2 the champion, a past forecast scored by the real score
// flow and the latest forecast from the frame's last day. Each target's numbers differ, so a
// test can tell whose it is shown.
func (e *Env) StandardTargets(tb testing.TB) (*Seeded, *TargetSeeded) {
	tb.Helper()
	s := e.Standard(tb)
	t, err := prevoir.LookupTarget(SecondTarget)
	if err != nil {
		tb.Fatal(err)
	}
	o := e.For(t)
	ts := &TargetSeeded{Target: t}
	ts.Versions = append(ts.Versions, o.Train(tb, "snaive", 310), o.Train(tb, "ets", 240))
	ts.BacktestRunID = o.Backtest(tb, "ets", []BacktestModel{
		{Name: "ets", MAE: 240, RMSE: 300, MASE: 0.6, WIS: 170, Coverage80: 0.81, Coverage95: 0.94, FitSeconds: 0.5, MAEByHorizon: []float64{120, 180, 240}},
		{Name: "snaive", MAE: 310, RMSE: 390, MASE: 1, WIS: 230, Coverage80: 0.7, Coverage95: 0.9, FitSeconds: 0.01, MAEByHorizon: []float64{200, 260, 310}},
	})
	o.Promote(tb, 2, "champion rule: ets has the lowest backtest MAE (240 < 310)")
	ts.Champion = ts.Versions[1]
	last := s.Frame.Dates[s.Frame.Len()-1]
	o.Forecast(tb, s.Frame, ts.Champion, last-14)
	o.Score(tb)
	ts.Latest = o.ForecastScaled(tb, s.Frame, ts.Champion, last, SecondTargetFactor)
	return s, ts
}

// EveryTarget gives each target that has no champion yet one: an ets version, promoted, and its
// forecast from the frame's last day (the load benchmark serves every target's forecast).
func (e *Env) EveryTarget(tb testing.TB, frame *prevoir.Frame) {
	tb.Helper()
	last := frame.Dates[frame.Len()-1]
	for _, t := range prevoir.Targets() {
		_, err := e.Registry.ResolveAlias(context.Background(), t.Name, prevoir.AliasChampion)
		if err == nil {
			continue
		}
		if prevoir.ErrorCode(err) != prevoir.ENOTFOUND {
			tb.Fatal(err)
		}
		o := e.For(t)
		v := o.Train(tb, "ets", 100)
		o.Promote(tb, v.Version, "the only version")
		o.Forecast(tb, frame, v, last)
	}
}

// SilenceRun moves a run's heartbeat d into the past, as if its process had not beaten since
// (it died, or the database was unreachable).
func SilenceRun(tb testing.TB, db *sqlstore.DB, runID string, d time.Duration) {
	tb.Helper()
	var at any = time.Now().Add(-d).UTC()
	q := "UPDATE runs SET heartbeat_at = $1 WHERE id = $2"
	if db.Dialect() == sqlstore.SQLite {
		at, q = at.(time.Time).Format(time.RFC3339Nano), "UPDATE runs SET heartbeat_at = ? WHERE id = ?"
	}
	res, err := db.SQL().ExecContext(context.Background(), q, at, runID)
	if err != nil {
		tb.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		tb.Fatalf("silence run %s: no such run", runID)
	}
}
