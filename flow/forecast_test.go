package flow_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/flow"
	"github.com/prevoir/prevoir/ingest"
	"github.com/prevoir/prevoir/internal/testutil"
	"github.com/prevoir/prevoir/internal/testutil/seed"
)

// TestForecastAfterRevisionKeepingLastDate: a release that revises a past value but ends on
// the same day makes a new frame, and the forecast flow forecasts again from the same origin;
// unchanged data still computes nothing.
func TestForecastAfterRevisionKeepingLastDate(t *testing.T) {
	testutil.ForEachDatabase(t, func(t *testing.T, dbURL string) {
		ctx := context.Background()
		e := seed.Open(t, dbURL)
		dir := t.TempDir()
		for _, name := range []string{"table-indicateurs-open-data-france.csv", "sp-fra-jour.csv"} {
			if err := os.WriteFile(filepath.Join(dir, name), testutil.ReadData(t, name), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		srcs, err := ingest.WithSourceDir(prevoir.DefaultSources(), dir)
		if err != nil {
			t.Fatal(err)
		}
		e.Flows.Sources = srcs
		if _, err := e.Flows.Ingest(ctx); err != nil {
			t.Fatal(err)
		}
		tr, err := e.Flows.TrainModel(ctx, "b1", "snaive", flow.TrainOptions{Origins: 2})
		if err != nil {
			t.Fatal(err)
		}
		e.Promote(t, tr.Version.Version, "test")

		first, err := e.Flows.Forecast(ctx)
		if err != nil || first.Existing || first.Forecast.FrameSHA256 == "" {
			t.Fatalf("first forecast: %+v, %v", first, err)
		}
		again, err := e.Flows.Forecast(ctx)
		if err != nil || !again.Existing || again.Forecast.ID != first.Forecast.ID {
			t.Fatalf("unchanged data: %+v, %v; want the first forecast, nothing recomputed", again, err)
		}

		// The publisher revises the deaths of 1 June 2022 (56 to 61); the file still ends on 31
		// December.
		revised, _ := testutil.SpoilField(t, "table-indicateurs-open-data-france.csv", "2022-06-01", "incid_dchosp", "61")
		if err := os.WriteFile(filepath.Join(dir, "table-indicateurs-open-data-france.csv"), revised, 0o644); err != nil {
			t.Fatal(err)
		}
		ing, err := e.Flows.Ingest(ctx)
		if err != nil || ing.Results[0].Status != prevoir.FetchRevised || ing.Results[0].Revision.AddedDates != 0 {
			t.Fatalf("ingest the revision: %+v, %v", ing, err)
		}

		second, err := e.Flows.Forecast(ctx)
		if err != nil {
			t.Fatal(err)
		}
		s, f := second.Forecast, first.Forecast
		if second.Existing || s.ID == f.ID || s.Origin != f.Origin || s.FrameSHA256 == f.FrameSHA256 || s.Version != f.Version {
			t.Fatalf("after the revision: existing %v, forecast %d from %s on frame %.12s; first was %d from %s on %.12s",
				second.Existing, s.ID, s.Origin, s.FrameSHA256, f.ID, f.Origin, f.FrameSHA256)
		}
		if served, err := e.Forecasts.ServedForecast(ctx, seed.Model, s.Version); err != nil || served.ID != s.ID {
			t.Errorf("served forecast: %+v, %v; want the new one (%d)", served, err, s.ID)
		}
		third, err := e.Flows.Forecast(ctx)
		if err != nil || !third.Existing || third.Forecast.ID != s.ID {
			t.Errorf("unchanged again: %+v, %v", third, err)
		}
		list, err := e.Forecasts.ListForecasts(ctx, prevoir.ForecastFilter{Model: seed.Model})
		if err != nil || len(list) != 2 {
			t.Errorf("%d forecasts stored (%v), want 2", len(list), err)
		}
	})
}

// TestScoreCountsTheLatestForecastOfAnOrigin: a version's forecast from an origin, superseded
// by one made on a revised frame, is not scored again, and its old scores no longer count.
func TestScoreCountsTheLatestForecastOfAnOrigin(t *testing.T) {
	ctx := context.Background()
	e := seed.Open(t, testutil.SQLiteURL(t))
	frame := e.Ingest(t)
	v := e.Train(t, "ets", 10)
	origin := frame.Dates[frame.Len()-30]
	first := e.Forecast(t, frame, v, origin)
	e.Score(t)

	// The same version and origin on another frame: a forecast made after a revision.
	later := *first
	later.ID, later.FrameSHA256 = 0, strings.Repeat("9", 64)
	later.Point = append([]float64(nil), first.Point...)
	later.Point[0] += 7
	later.Weekly = nil // its week 1 total would no longer be the sum of its days
	if created, err := e.Forecasts.SaveForecast(ctx, &later); err != nil || !created {
		t.Fatalf("save the later forecast: %v, %v", created, err)
	}
	rep, err := e.Flows.Score(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Forecasts != 1 || rep.Days != prevoir.DefaultHorizon {
		t.Errorf("scored %d forecasts, %d days; want 1 forecast, %d days", rep.Forecasts, rep.Days, prevoir.DefaultHorizon)
	}
	scores, err := e.Forecasts.Scores(ctx, seed.Model, 0)
	if err != nil || len(scores) != prevoir.DefaultHorizon {
		t.Fatalf("%d scores (%v), want %d", len(scores), err, prevoir.DefaultHorizon)
	}
	for _, s := range scores {
		if s.ForecastID != later.ID {
			t.Fatalf("a score of forecast %d counts; the later forecast %d superseded it", s.ForecastID, later.ID)
		}
	}
}

// TestForecastAgainAfterPromotion: the forecast flow forecasts once per champion version and
// frame: after a promotion of another version it forecasts again from the same origin with
// that version; promoted back, the first version finds its own forecast and computes nothing.
func TestForecastAgainAfterPromotion(t *testing.T) {
	testutil.ForEachDatabase(t, func(t *testing.T, dbURL string) {
		ctx := context.Background()
		e := seed.Open(t, dbURL)
		e.Ingest(t)
		opts := flow.TrainOptions{Origins: 2}
		var versions []*prevoir.ModelVersion
		for _, name := range []string{"snaive", "ets"} {
			tr, err := e.Flows.TrainModel(ctx, "b1", name, opts)
			if err != nil {
				t.Fatal(err)
			}
			versions = append(versions, tr.Version)
		}
		e.Promote(t, versions[0].Version, "test")
		first, err := e.Flows.Forecast(ctx)
		if err != nil || first.Existing || first.Forecast.Version != versions[0].Version {
			t.Fatalf("forecast by v%d: %+v, %v", versions[0].Version, first, err)
		}

		e.Promote(t, versions[1].Version, "test")
		second, err := e.Flows.Forecast(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if s := second.Forecast; second.Existing || s.Version != versions[1].Version || s.Family != "ets" || s.ID == first.Forecast.ID || s.Origin != first.Forecast.Origin {
			t.Fatalf("after promoting v%d: existing %v, forecast %d by v%d (%s) from %s; want a new forecast by ets from %s",
				versions[1].Version, second.Existing, s.ID, s.Version, s.Family, s.Origin, first.Forecast.Origin)
		}

		e.Promote(t, versions[0].Version, "test")
		third, err := e.Flows.Forecast(ctx)
		if err != nil || !third.Existing || third.Forecast.ID != first.Forecast.ID || third.RunID != "" {
			t.Errorf("promoted back to v%d: %+v, %v; want its first forecast %d, no run", versions[0].Version, third, err, first.Forecast.ID)
		}
	})
}
