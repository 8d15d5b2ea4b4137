package flow_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"reflect"
	"strings"
	"testing"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/flow"
	"github.com/prevoir/prevoir/forecast/models"
	"github.com/prevoir/prevoir/forecast/neural"
	"github.com/prevoir/prevoir/internal/testutil"
	"github.com/prevoir/prevoir/internal/testutil/seed"
)

// register records a finished training run of family with the given model spec and artifacts,
// as an earlier prevoir did, and registers and promotes it.
func register(t *testing.T, e *seed.Env, family string, spec flow.ModelSpec, artifacts map[string][]byte) *prevoir.ModelVersion {
	t.Helper()
	ctx := context.Background()
	r, err := e.Tracker.Start(ctx, &prevoir.Run{Kind: prevoir.RunTrain, Name: family})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(spec)
	artifacts[prevoir.ModelSpecArtifact] = b
	for name, data := range artifacts {
		if _, err := r.LogArtifact(ctx, name, data); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.End(ctx, nil); err != nil {
		t.Fatal(err)
	}
	v := &prevoir.ModelVersion{Model: seed.Model, Family: family, RunID: r.ID, ArtifactPath: prevoir.ModelSpecArtifact}
	if err := e.Registry.CreateModelVersion(ctx, v); err != nil {
		t.Fatal(err)
	}
	e.Promote(t, v.Version, "test")
	return v
}

// TestForecastVersionsRegisteredBeforePinning: a statistical version without a pinned state
// still forecasts, refitted on the latest data as before, and the log says it pins nothing; a
// network registered with its weights and calibration in its spec forecasts from them.
func TestForecastVersionsRegisteredBeforePinning(t *testing.T) {
	testutil.ForEachDatabase(t, testForecastVersionsRegisteredBeforePinning)
}

func testForecastVersionsRegisteredBeforePinning(t *testing.T, dbURL string) {
	ctx := context.Background()
	e := seed.Open(t, dbURL)
	var logs testutil.LogBuffer
	e.Flows.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	frame := e.Ingest(t)
	quantiles := prevoir.DefaultQuantiles()

	register(t, e, "ets", flow.ModelSpec{Family: "ets", Horizon: 14}, map[string][]byte{})
	rep, err := e.Flows.Forecast(ctx)
	if err != nil {
		t.Fatal(err)
	}
	fc, _ := models.Lookup("ets")
	ft, err := fc.Fit(ctx, frame)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := ft.Predict(ctx, prevoir.DefaultHorizon, quantiles)
	if !reflect.DeepEqual(rep.Forecast.Point, want.Point) {
		t.Errorf("ets without a state forecasts %v, want a refit's %v", rep.Forecast.Point, want.Point)
	}
	if !strings.Contains(logs.String(), "pins no state") {
		t.Errorf("no log line says the version pins no state:\n%s", logs.String())
	}

	// A "+cp" network as it was stored: weights in model.bin, residuals in the spec.
	net, _ := models.Lookup("rnn")
	nf, err := models.WithEpochs(net, 1).Fit(ctx, frame)
	if err != nil {
		t.Fatal(err)
	}
	var w bytes.Buffer
	if err := nf.(*neural.Fitted).Model().Save(&w); err != nil {
		t.Fatal(err)
	}
	res := make([][]float64, 14)
	for j := range res {
		res[j] = []float64{-3 - float64(j), -1, 0, 2, 4 + float64(j)}
	}
	cal, _ := json.Marshal(map[string]any{"scale": 0, "residuals": res})
	register(t, e, "rnn+cp", flow.ModelSpec{Family: "rnn+cp", Weights: "model.bin", Calibration: cal, Horizon: 14},
		map[string][]byte{"model.bin": w.Bytes()})
	rep, err = e.Flows.Forecast(ctx)
	if err != nil {
		t.Fatal(err)
	}
	point, _ := nf.Predict(ctx, prevoir.DefaultHorizon, nil)
	if got := rep.Forecast; !reflect.DeepEqual(got.Point, point.Point) || got.Family != "rnn+cp" {
		t.Fatalf("the network forecasts %v (%s), want its weights' %v", got.Point, got.Family, point.Point)
	}
	// The calibration's 80% interval around the point, on day 14: quantiles 0.1 and 0.9 of
	// the five residuals (type 6: the extremes).
	lo, hi, _ := rep.Forecast.Interval(13, 0.8)
	if p := rep.Forecast.Point[13]; lo != max(p-16, 0) || hi != p+17 {
		t.Errorf("day 14: 80%% interval %v..%v around %v, want the calibration's %v..%v", lo, hi, p, max(p-16, 0), p+17)
	}
}

// TestForecastRefusesAnAlteredPinnedState: a pinned state that is not the one the version
// recorded is an error naming both hashes, not a forecast.
func TestForecastRefusesAnAlteredPinnedState(t *testing.T) {
	testutil.ForEachDatabase(t, testForecastRefusesAnAlteredPinnedState)
}

func testForecastRefusesAnAlteredPinnedState(t *testing.T, dbURL string) {
	ctx := context.Background()
	e := seed.Open(t, dbURL)
	e.Ingest(t)
	tr, err := e.Flows.TrainModel(ctx, "b1", "theta", flow.TrainOptions{Origins: 2})
	if err != nil {
		t.Fatal(err)
	}
	spec, err := flow.ReadSpec(ctx, e.Tracker, tr.Version)
	if err != nil || spec.Pinned == nil || !strings.HasPrefix(spec.Pinned.Summary, "Theta theta=2 ") {
		t.Fatalf("spec %+v, %v: want a pinned Theta model", spec, err)
	}
	state, err := e.Tracker.ReadArtifact(ctx, tr.RunID, prevoir.PinnedArtifact)
	if err != nil {
		t.Fatal(err)
	}
	// Another state under the version's spec: the same model with another alpha.
	other := bytes.Replace(state, []byte(`"alpha":`), []byte(`"alpha":0.5,"was":`), 1)
	spec.Family = "theta"
	v := register(t, e, "theta", *spec, map[string][]byte{prevoir.PinnedArtifact: other})
	_, err = e.Flows.Forecast(ctx)
	if err == nil || !strings.Contains(err.Error(), "pinned state") || !strings.Contains(err.Error(), spec.Pinned.SHA256[:12]) {
		t.Errorf("forecast with an altered state of v%d: %v", v.Version, err)
	}
}
