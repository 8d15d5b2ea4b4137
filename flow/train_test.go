package flow_test

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/backtest"
	"github.com/prevoir/prevoir/flow"
	"github.com/prevoir/prevoir/internal/testutil"
	"github.com/prevoir/prevoir/internal/testutil/seed"
)

// champion returns the version the champion alias names, nil when there is none.
func champion(t *testing.T, e *seed.Env) *prevoir.ModelVersion {
	t.Helper()
	v, err := e.Registry.ResolveAlias(context.Background(), seed.Model, prevoir.AliasChampion)
	if prevoir.ErrorCode(err) == prevoir.ENOTFOUND {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// trainModel trains one model of batch and fails the test if it fails.
func trainModel(t *testing.T, e *seed.Env, batch, name string, opts flow.TrainOptions) *flow.TrainReport {
	t.Helper()
	rep, err := e.Flows.TrainModel(context.Background(), batch, name, opts)
	if err != nil {
		t.Fatalf("train %s in batch %s: %v", name, batch, err)
	}
	return rep
}

// ranked returns the names of the decision's ranking, in order.
func ranked(d backtest.Decision) []string {
	var out []string
	for _, s := range d.Ranking {
		out = append(out, s.Name)
	}
	return out
}

// TestTrainBacktestOrigins: a training backtests each model on the twelve weekly origins that
// end with the last day whose whole horizon is observed, records them with the run, and
// registers the version with its batch.
func TestTrainBacktestOrigins(t *testing.T) {
	ctx := context.Background()
	e := seed.Open(t, testutil.SQLiteURL(t))
	frame := e.Ingest(t)
	if last := frame.Dates[frame.Len()-1]; last != prevoir.MustParseDate("2022-12-31") {
		t.Fatalf("the data end on %s; this test knows the frame that ends on 2022-12-31", last)
	}
	rep := trainModel(t, e, "b1", "snaive", flow.TrainOptions{})
	run, err := e.Runs.FindRun(ctx, rep.RunID)
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{"backtest_from": "2022-10-01", "backtest_to": "2022-12-17", "backtest_every": "7", "horizon": "14", "batch": "b1"} {
		if run.Params[k] != want {
			t.Errorf("param %s = %q, want %q", k, run.Params[k], want)
		}
	}
	b, err := e.Tracker.ReadArtifact(ctx, rep.RunID, prevoir.BacktestArtifact)
	if err != nil {
		t.Fatal(err)
	}
	res, err := backtest.ReadJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	var want []prevoir.Date
	for d := prevoir.MustParseDate("2022-10-01"); d <= prevoir.MustParseDate("2022-12-17"); d += 7 {
		want = append(want, d)
	}
	if !slices.Equal(res.Protocol.Origins, want) || res.Protocol.Horizon != 14 || res.Models[0].Origins != 12 {
		t.Errorf("backtest on origins %v (horizon %d, %d scored); want the 12 Saturdays %s to %s, horizon 14",
			res.Protocol.Origins, res.Protocol.Horizon, res.Models[0].Origins, want[0], want[len(want)-1])
	}
	if v := rep.Version; v == nil || v.Batch != "b1" || v.Description != "batch b1" || v.Family != "snaive" {
		t.Errorf("registered version %+v; want snaive of batch b1", v)
	}
}

// TestTrainRefusesModelFailingAtSomeOrigin: a model that fails at one backtest origin (the
// seasonal naive with fewer than a week of deaths before it) is not comparable with the others
// and is not registered: its run fails and says so.
func TestTrainRefusesModelFailingAtSomeOrigin(t *testing.T) {
	ctx := context.Background()
	e := seed.Open(t, testutil.SQLiteURL(t))
	frame := e.Ingest(t)
	y := frame.TargetValues()
	first := frame.Dates[slices.IndexFunc(y, func(v float64) bool { return !math.IsNaN(v) })]
	// The first origin falls within the first week of deaths: one to seven values, no
	// week-on-week difference to estimate the spread from; every later origin has some.
	to := frame.Dates[frame.Len()-1] - prevoir.DefaultHorizon
	origins := int(to-first)/backtest.DefaultEvery + 1

	rep, err := e.Flows.TrainModel(ctx, "b1", "snaive", flow.TrainOptions{Origins: origins})
	if err == nil || prevoir.ErrorCode(err) != prevoir.EINVALID || !strings.Contains(err.Error(), fmt.Sprintf("failed at 1 of %d backtest origins", origins)) {
		t.Fatalf("train snaive on %d origins from %s: %v; want a refusal, failed at 1 origin", origins, to-prevoir.Date((origins-1)*7), err)
	}
	if rep.Version != nil {
		t.Errorf("version %d registered", rep.Version.Version)
	}
	if vs, err := e.Registry.ListModelVersions(ctx, seed.Model); err != nil || len(vs) != 0 {
		t.Errorf("%d versions registered (%v), want none", len(vs), err)
	}
	if run, err := e.Runs.FindRun(ctx, rep.RunID); err != nil || run.Status != prevoir.RunFailed || !strings.Contains(run.Error, "failed at 1 of") {
		t.Errorf("the training run: %+v, %v; want failed with the reason", run, err)
	}
}

// TestSelectChampionCoverageGate: a model whose backtest 80% interval covered less than the
// minimum is not made champion; at the minimum it is.
func TestSelectChampionCoverageGate(t *testing.T) {
	ctx := context.Background()
	e := seed.Open(t, testutil.SQLiteURL(t))
	e.Ingest(t)
	tr := trainModel(t, e, "b1", "snaive", flow.TrainOptions{Origins: 4})
	cov := float64(tr.Score.Coverage80)
	if math.IsNaN(cov) {
		t.Fatal("snaive has no 80% interval")
	}

	_, err := e.Flows.SelectChampion(ctx, "b1", []string{"snaive"}, flow.TrainOptions{Origins: 4, MinCoverage80: cov + 0.01})
	if err == nil || !strings.Contains(err.Error(), "no candidate is eligible (snaive (80% interval covered") {
		t.Fatalf("select with a minimum coverage above snaive's %.3f: %v; want no eligible candidate", cov, err)
	}
	if c := champion(t, e); c != nil {
		t.Fatalf("champion v%d (%s) after a selection the gate refused", c.Version, c.Family)
	}
	rep, err := e.Flows.SelectChampion(ctx, "b1", []string{"snaive"}, flow.TrainOptions{Origins: 4, MinCoverage80: cov})
	if err != nil || rep.Champion == nil || rep.Champion.Version != tr.Version.Version || !rep.Changed {
		t.Fatalf("select with snaive's own coverage as the minimum: %+v, %v; want snaive champion", rep, err)
	}
}

// TestSelectChampionAmongItsBatch: the rule ranks the versions of its batch only: a model of
// the batch whose training failed is not replaced by a version of another batch.
func TestSelectChampionAmongItsBatch(t *testing.T) {
	ctx := context.Background()
	e := seed.Open(t, testutil.SQLiteURL(t))
	e.Ingest(t)
	opts := flow.TrainOptions{Origins: 2}
	trainModel(t, e, "b1", "snaive", opts)
	ets := trainModel(t, e, "b2", "ets", opts)
	// b2 also listed snaive, whose training failed (it has no version in b2).
	rep, err := e.Flows.SelectChampion(ctx, "b2", []string{"snaive", "ets"}, opts)
	if err != nil {
		t.Fatal(err)
	}
	if got := ranked(rep.Decision); !slices.Equal(got, []string{"ets"}) || rep.Champion.Version != ets.Version.Version {
		t.Errorf("batch b2 ranked %v and chose v%d; want ets alone, v%d", got, rep.Champion.Version, ets.Version.Version)
	}
}

// TestSelectChampionNotRetrained: a champion that a batch did not retrain competes with its own
// backtest when it was made on the batch's origins, and otherwise stays, whoever the batch's
// best model is.
func TestSelectChampionNotRetrained(t *testing.T) {
	ctx := context.Background()
	e := seed.Open(t, testutil.SQLiteURL(t))
	e.Ingest(t)
	four := flow.TrainOptions{Origins: 4}
	trainModel(t, e, "b1", "snaive", four)
	first, err := e.Flows.SelectChampion(ctx, "b1", []string{"snaive"}, four)
	if err != nil || first.Champion == nil {
		t.Fatalf("first selection: %+v, %v", first, err)
	}

	// ets on three origins: not comparable with the champion's four.
	three := flow.TrainOptions{Origins: 3}
	trainModel(t, e, "b2", "ets", three)
	rep, err := e.Flows.SelectChampion(ctx, "b2", []string{"ets"}, three)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Changed || rep.Champion.Version != first.Champion.Version || rep.Decision.Ranking != nil ||
		!strings.Contains(rep.Decision.Reason, "not retrained in batch b2 and its backtest is on other origins") {
		t.Errorf("batch b2 on other origins: changed %v, champion v%d, ranked %v: %s; want snaive v%d kept, nothing ranked",
			rep.Changed, rep.Champion.Version, ranked(rep.Decision), rep.Decision.Reason, first.Champion.Version)
	}
	if c := champion(t, e); c.Version != first.Champion.Version {
		t.Errorf("champion v%d, want v%d", c.Version, first.Champion.Version)
	}
	if _, err := e.Tracker.ReadArtifact(ctx, rep.RunID, prevoir.BacktestArtifact); prevoir.ErrorCode(err) != prevoir.ENOTFOUND {
		t.Errorf("a leaderboard of batch b2 (%v); nothing was ranked", err)
	}

	// ets on the same four origins: the champion competes with its stored backtest.
	trainModel(t, e, "b3", "ets", four)
	rep, err = e.Flows.SelectChampion(ctx, "b3", []string{"ets"}, four)
	if err != nil {
		t.Fatal(err)
	}
	got := ranked(rep.Decision)
	slices.Sort(got)
	if !slices.Equal(got, []string{"ets", "snaive"}) || rep.Decision.Current != "snaive" {
		t.Errorf("batch b3 on the same origins ranked %v against current %q; want ets and the champion snaive", got, rep.Decision.Current)
	}
	b, err := e.Tracker.ReadArtifact(ctx, rep.RunID, prevoir.BacktestArtifact)
	if err != nil {
		t.Fatal(err)
	}
	board, err := backtest.ReadJSON(bytes.NewReader(b))
	if err != nil || len(board.Models) != 2 || board.Champion != rep.Decision.Champion {
		t.Errorf("leaderboard: %+v, %v; want both models and the decision's champion %s", board, err, rep.Decision.Champion)
	}
}

// TestTrainNetworkInWrapperRecordsCurve: a network inside the conformal wrapper reports its
// training: its run records the training curve of the network it serves, one point per epoch.
func TestTrainNetworkInWrapperRecordsCurve(t *testing.T) {
	ctx := context.Background()
	e := seed.Open(t, testutil.SQLiteURL(t))
	e.Ingest(t)
	rep := trainModel(t, e, "b1", "rnn+cp", flow.TrainOptions{Origins: 2, Epochs: 3})
	ms, err := e.Runs.Metrics(ctx, rep.RunID, "train_mse")
	if err != nil {
		t.Fatal(err)
	}
	var steps []int64
	for _, m := range ms {
		steps = append(steps, m.Step)
		if !(m.Value > 0) || math.IsInf(m.Value, 0) {
			t.Errorf("train_mse at epoch %d: %v", m.Step, m.Value)
		}
	}
	if !slices.Equal(steps, []int64{1, 2, 3}) {
		t.Errorf("train_mse recorded at epochs %v, want 1, 2, 3", steps)
	}
	if rep.Version == nil || rep.Version.Family != "rnn+cp" {
		t.Errorf("version %+v, want rnn+cp registered", rep.Version)
	}
}
