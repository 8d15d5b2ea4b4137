package flow_test

import (
	"bytes"
	"context"
	"log/slog"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/flow"
	"github.com/prevoir/prevoir/internal/testutil"
	"github.com/prevoir/prevoir/internal/testutil/seed"
)

// trainChampion trains family for the flows' target in batch and makes it the target's
// champion.
func trainChampion(t *testing.T, e *seed.Env, fl *flow.Flows, batch, family string) *prevoir.ModelVersion {
	t.Helper()
	ctx := context.Background()
	rep, err := fl.TrainModel(ctx, batch, family, flow.TrainOptions{Origins: 2})
	if err != nil {
		t.Fatalf("train %s for %s: %v", family, fl.RegisteredModel, err)
	}
	if _, err := e.Registry.SetAlias(ctx, fl.RegisteredModel, prevoir.AliasChampion, rep.Version.Version, "test"); err != nil {
		t.Fatal(err)
	}
	return rep.Version
}

// forecastParams returns the params of a forecast run.
func forecastParams(t *testing.T, e *seed.Env, rep *flow.ForecastReport) map[string]string {
	t.Helper()
	run, err := e.Runs.FindRun(context.Background(), rep.RunID)
	if err != nil {
		t.Fatal(err)
	}
	return run.Params
}

// TestForecastUsesTheAdmissionsChampion: the deaths' champion, the secondary model, reads
// hospital admissions ahead of the origin. With no admissions champion it forecasts them
// itself, and its run and the log say so. Once incid_hosp has a champion that forecast from the
// same origin, the deaths' forecast uses that forecast, and its run names it; when the
// admissions' forecast has not been made yet, the deaths' forecast makes it first (the
// admissions' own forecast flow then finds it), whatever order the targets are run in.
func TestForecastUsesTheAdmissionsChampion(t *testing.T) {
	testutil.ForEachDatabase(t, func(t *testing.T, dbURL string) {
		ctx := context.Background()
		e := seed.Open(t, dbURL)
		var logs bytes.Buffer
		e.Flows.Logger = slog.New(slog.NewTextHandler(&logs, nil))
		e.Ingest(t)
		deathsT, _ := prevoir.LookupTarget(prevoir.TargetDeaths)
		hospT, _ := prevoir.LookupTarget(prevoir.TargetAdmissions)
		deaths, hosp := e.Flows.For(deathsT), e.Flows.For(hospT)

		trainChampion(t, e, deaths, "d1", "secondary")
		own, err := deaths.Forecast(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(own.Inputs) != 1 || own.Inputs[0].Column != "incid_hosp" || own.Inputs[0].Forecast != nil ||
			own.Inputs[0].Reason != "incid_hosp has no champion" {
			t.Fatalf("without an admissions champion: inputs %+v, want incid_hosp forecast by the model itself", own.Inputs)
		}
		p := forecastParams(t, e, own)
		if p["input.incid_hosp.source"] != prevoir.InputOwn || p["input.incid_hosp.reason"] != "incid_hosp has no champion" {
			t.Errorf("the fallback run's params %v do not record it", p)
		}
		if !strings.Contains(logs.String(), "leading indicator forecast by the model itself") {
			t.Errorf("no log line for the fallback:\n%s", logs.String())
		}

		// Train and forecast the admissions, then the deaths (a new version of the same model:
		// the first has already forecast from this frame).
		hv := trainChampion(t, e, hosp, "h1", "snaive")
		hf, err := hosp.Forecast(ctx)
		if err != nil {
			t.Fatal(err)
		}
		trainChampion(t, e, deaths, "d2", "secondary")
		used, err := deaths.Forecast(ctx)
		if err != nil {
			t.Fatal(err)
		}
		origin := used.Forecast.Origin
		if hf.Forecast.Origin != origin {
			t.Fatalf("the admissions forecast from %s, the deaths from %s: the test data end on the same day", hf.Forecast.Origin, origin)
		}
		want := map[string]string{"input.incid_hosp.source": prevoir.InputChampion, "input.incid_hosp.target": "incid_hosp",
			"input.incid_hosp.version": strconv.Itoa(hv.Version), "input.incid_hosp.family": "snaive",
			"input.incid_hosp.forecast_id": strconv.FormatInt(hf.Forecast.ID, 10), "input.incid_hosp.origin": origin.String()}
		p = forecastParams(t, e, used)
		for k, v := range want {
			if p[k] != v {
				t.Errorf("run param %s = %q, want %q", k, p[k], v)
			}
		}
		if _, ok := p["input.incid_hosp.reason"]; ok {
			t.Errorf("params %v give a fallback reason", p)
		}
		if reflect.DeepEqual(used.Forecast.Point, own.Forecast.Point) {
			t.Error("the same model forecasts the same with the admissions champion's forecast as with its own")
		}

		// Deaths first: a new admissions champion has not forecast yet; the deaths' forecast
		// makes its forecast, which the admissions' flow then finds.
		hv2 := trainChampion(t, e, hosp, "h2", "naive")
		trainChampion(t, e, deaths, "d3", "secondary")
		first, err := deaths.Forecast(ctx)
		if err != nil {
			t.Fatal(err)
		}
		in := first.Inputs
		if len(in) != 1 || in[0].Forecast == nil || in[0].Forecast.Version != hv2.Version || in[0].Forecast.Origin != origin {
			t.Fatalf("deaths first: inputs %+v, want the forecast of incid_hosp v%d from %s", in, hv2.Version, origin)
		}
		then, err := hosp.Forecast(ctx)
		if err != nil || !then.Existing || then.Forecast.ID != in[0].Forecast.ForecastID {
			t.Errorf("the admissions' forecast after the deaths': %+v, %v; want forecast %d, existing", then, err, in[0].Forecast.ForecastID)
		}
	})
}
