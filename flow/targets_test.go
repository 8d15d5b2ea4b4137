package flow_test

import (
	"context"
	"math"
	"slices"
	"testing"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/flow"
	"github.com/prevoir/prevoir/internal/testutil"
	"github.com/prevoir/prevoir/internal/testutil/seed"
)

// weekMean is the mean of the first seven values of v.
func weekMean(v []float64) float64 {
	var sum float64
	for _, x := range v[:7] {
		sum += x
	}
	return sum / 7
}

// lastWeekMean is the mean of the last seven observed values of the frame's target.
func lastWeekMean(t *testing.T, f *prevoir.Frame) float64 {
	t.Helper()
	var sum float64
	n := 0
	vals := f.TargetValues()
	for i := len(vals) - 1; i >= 0 && n < 7; i-- {
		if !math.IsNaN(vals[i]) {
			sum += vals[i]
			n++
		}
	}
	if n == 0 {
		t.Fatalf("no observed %s", f.Target)
	}
	return sum / float64(n)
}

// TestIngestTrainForecastTwoTargets: from an empty home, one ingest then a training and a
// forecast of each of two targets, deaths (a daily count, tens a day) and patients in hospital
// (an occupancy, thousands): each target is its own registered model with its own versions and
// champion, forecasts its own column on its own scale, and its runs are recorded under it; the
// ingest, shared, has no target.
func TestIngestTrainForecastTwoTargets(t *testing.T) {
	testutil.ForEachDatabase(t, func(t *testing.T, dbURL string) {
		ctx := context.Background()
		e := seed.Open(t, dbURL)
		e.Ingest(t)
		targets, err := prevoir.ParseTargets([]string{prevoir.TargetDeaths, prevoir.TargetHospitalised})
		if err != nil {
			t.Fatal(err)
		}
		point := map[string]float64{}
		for _, tg := range targets {
			f := e.Flows.For(tg)
			sel, errs := f.Train(ctx, []string{"snaive", "ets"}, flow.TrainOptions{Origins: 4})
			if len(errs) > 0 {
				t.Fatalf("train %s: %v", tg.Name, errs)
			}
			champ, err := e.Registry.ResolveAlias(ctx, tg.Name, prevoir.AliasChampion)
			if err != nil || sel.Champion == nil || champ.Version != sel.Champion.Version || champ.Model != tg.Name {
				t.Fatalf("champion of %s: %+v, %v; the selection chose %+v", tg.Name, champ, err, sel.Champion)
			}
			versions, err := e.Registry.ListModelVersions(ctx, tg.Name)
			if err != nil || len(versions) != 2 {
				t.Fatalf("versions of %s: %d, %v; want its 2 models", tg.Name, len(versions), err)
			}
			fr, err := f.Forecast(ctx)
			if err != nil {
				t.Fatalf("forecast %s: %v", tg.Name, err)
			}
			if fr.Forecast.Model != tg.Name || fr.Forecast.Version != champ.Version {
				t.Errorf("forecast of %s: by %s v%d, want its champion v%d", tg.Name, fr.Forecast.Model, fr.Forecast.Version, champ.Version)
			}
			served, err := e.Forecasts.ServedForecast(ctx, tg.Name, champ.Version)
			if err != nil || served.ID != fr.Forecast.ID {
				t.Errorf("served forecast of %s: %+v, %v; want forecast %d", tg.Name, served, err, fr.Forecast.ID)
			}
			// Its own column: the forecast's first week is near the last observed week of that
			// column (weeks, since the daily counts have a weekday pattern).
			frame, err := e.Ingester.Frame(ctx, e.Sources, f.FrameOptions)
			if err != nil {
				t.Fatal(err)
			}
			level := lastWeekMean(t, frame)
			p := weekMean(fr.Forecast.Point)
			point[tg.Name] = p
			if p < level/2 || p > level*2 {
				t.Errorf("%s forecasts %.1f a day for its first week; its column %s was %.1f a day last week", tg.Name, p, tg.Column, level)
			}

			// Its runs: the two trainings, the selection and the forecast, all under it.
			runs, err := e.Runs.ListRuns(ctx, prevoir.RunFilter{Target: tg.Name})
			if err != nil {
				t.Fatal(err)
			}
			var kinds []prevoir.RunKind
			for _, r := range runs {
				if r.Target != tg.Name {
					t.Errorf("run %s listed for %s has target %q", r.ID, tg.Name, r.Target)
				}
				kinds = append(kinds, r.Kind)
			}
			slices.Sort(kinds)
			if want := []prevoir.RunKind{prevoir.RunForecast, prevoir.RunSelect, prevoir.RunTrain, prevoir.RunTrain}; !slices.Equal(kinds, want) {
				t.Errorf("runs of %s: %v; want %v", tg.Name, kinds, want)
			}
		}
		if point[prevoir.TargetHospitalised] < 20*point[prevoir.TargetDeaths] {
			t.Errorf("patients in hospital forecast at %.0f, deaths at %.0f: the two targets' scales are not their own",
				point[prevoir.TargetHospitalised], point[prevoir.TargetDeaths])
		}
		models, err := e.Registry.ListModels(ctx)
		if err != nil || len(models) != 2 {
			t.Errorf("registered models: %+v, %v; want one per target", models, err)
		}
		ingests, err := e.Runs.ListRuns(ctx, prevoir.RunFilter{Kind: prevoir.RunIngest})
		if err != nil || len(ingests) != 1 || ingests[0].Target != "" {
			t.Errorf("ingest runs: %+v, %v; want one, with no target", ingests, err)
		}
	})
}
