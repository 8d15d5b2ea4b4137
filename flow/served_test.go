package flow_test

import (
	"context"
	"testing"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/flow"
	"github.com/prevoir/prevoir/internal/testutil"
	"github.com/prevoir/prevoir/internal/testutil/seed"
)

// TestForecastFindsTheChampionsOwnForecast: a champion promoted back after another version
// forecast from the same data finds its own forecast (Existing), records no run, and that
// forecast is the one served.
func TestForecastFindsTheChampionsOwnForecast(t *testing.T) {
	testutil.ForEachDatabase(t, func(t *testing.T, dbURL string) {
		ctx := context.Background()
		e := seed.Open(t, dbURL)
		e.Ingest(t)
		var versions []int
		for _, m := range []string{"snaive", "theta"} {
			tr, err := e.Flows.TrainModel(ctx, "b1", m, flow.TrainOptions{Origins: 2})
			if err != nil {
				t.Fatal(err)
			}
			versions = append(versions, tr.Version.Version)
		}
		forecast := func(v int) *flow.ForecastReport {
			t.Helper()
			e.Promote(t, v, "test")
			rep, err := e.Flows.Forecast(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Forecast.Version != v {
				t.Fatalf("champion v%d forecast as v%d", v, rep.Forecast.Version)
			}
			return rep
		}
		first := forecast(versions[0])
		other := forecast(versions[1])
		if first.Existing || other.Existing {
			t.Fatalf("first forecasts of each version: existing %v, %v", first.Existing, other.Existing)
		}
		runs := func() int {
			t.Helper()
			rs, err := e.Runs.ListRuns(ctx, prevoir.RunFilter{Kind: prevoir.RunForecast})
			if err != nil {
				t.Fatal(err)
			}
			return len(rs)
		}
		before := runs()
		back := forecast(versions[0])
		if !back.Existing || back.Forecast.ID != first.Forecast.ID || back.RunID != "" {
			t.Errorf("back to v%d: existing %v, forecast %d (want %d), run %q", versions[0], back.Existing, back.Forecast.ID, first.Forecast.ID, back.RunID)
		}
		if n := runs(); n != before {
			t.Errorf("%d forecast runs after the champion's own forecast was found, want %d", n, before)
		}
		served, err := e.Forecasts.ServedForecast(ctx, seed.Model, versions[0])
		if err != nil || served.ID != first.Forecast.ID {
			t.Errorf("served: %+v, %v; want v%d's forecast %d", served, err, versions[0], first.Forecast.ID)
		}
	})
}
