package web_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/internal/testutil"
	"github.com/prevoir/prevoir/internal/testutil/seed"
	"github.com/prevoir/prevoir/web"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9*(1+math.Abs(b)) }

func readCSV(t *testing.T, body []byte) [][]string {
	t.Helper()
	rows, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatalf("CSV: %v\n%s", err, body)
	}
	return rows
}

// wantError checks that GET path answers status with a JSON error whose message contains
// want.
func wantError(t *testing.T, f *fixture, path string, status int, want string) {
	t.Helper()
	var e web.ErrorResponse
	f.getJSON(t, path, status, &e)
	if e.Error == "" || e.Code == "" || !strings.Contains(e.Error, want) {
		t.Errorf("GET %s: error %+v, want a message containing %q", path, e, want)
	}
}

func TestAPIForecast(t *testing.T) {
	f := newFixture(t, fixtureOpts{seed: "standard"})
	want := f.seeded.Latest
	var got web.ForecastResponse
	f.getJSON(t, "/api/v1/forecast", 200, &got)
	if got.RegisteredModel != seed.Model || got.Version != 2 || got.Family != "ets" || !got.IsChampion || got.RunID != want.RunID ||
		!got.MadeAt.Equal(want.MadeAt) || got.Origin != want.Origin || got.Horizon != 14 || got.Target != prevoir.DefaultTarget ||
		got.Snapshots["indicateurs"] != want.Snapshots["indicateurs"] || len(got.Snapshots) != 2 {
		t.Errorf("forecast header = %+v", got)
	}
	if len(got.Days) != 14 || !slices.Equal(got.QuantileLevels, prevoir.DefaultQuantiles()) {
		t.Fatalf("%d days, quantile levels %v", len(got.Days), got.QuantileLevels)
	}
	// The levels' indices of the named bounds, in the hubs' 23 levels.
	lo95, lo80, lo50, med, hi50, hi80, hi95 := 1, 3, 6, 11, 16, 19, 21
	sameRow := func(got []prevoir.Number, want []float64) bool {
		if len(got) != len(want) {
			return false
		}
		for j := range want {
			if !near(float64(got[j]), want[j]) {
				return false
			}
		}
		return true
	}
	for i, d := range got.Days {
		q := want.Values[i]
		if d.Date != want.Dates[i] || d.Horizon != i+1 || !near(float64(d.Point), want.Point[i]) || !sameRow(d.Quantiles, q) ||
			!near(float64(d.Lower95), q[lo95]) || !near(float64(d.Lower80), q[lo80]) || !near(float64(d.Lower50), q[lo50]) ||
			!near(float64(d.Upper50), q[hi50]) || !near(float64(d.Upper80), q[hi80]) || !near(float64(d.Upper95), q[hi95]) || !near(float64(d.Quantiles[med]), q[med]) {
			t.Errorf("day %d = %+v, stored %v %v %v", i, d, want.Dates[i], want.Point[i], q)
		}
	}
	// The weekly totals with their own quantiles, as stored.
	if want.Weekly == nil || len(got.Weeks) != 2 {
		t.Fatalf("weeks %+v; stored %+v", got.Weeks, want.Weekly)
	}
	for w, wk := range got.Weeks {
		q := want.Weekly.Values[w]
		if wk.Week != w+1 || wk.From != want.Origin+prevoir.Date(7*w+1) || wk.To != want.Origin+prevoir.Date(7*w+7) ||
			!near(float64(wk.Point), want.Weekly.Point[w]) || !sameRow(wk.Quantiles, q) ||
			!near(float64(wk.Lower95), q[lo95]) || !near(float64(wk.Lower80), q[lo80]) || !near(float64(wk.Lower50), q[lo50]) ||
			!near(float64(wk.Upper50), q[hi50]) || !near(float64(wk.Upper80), q[hi80]) || !near(float64(wk.Upper95), q[hi95]) {
			t.Errorf("week %d = %+v, stored %v %v", w+1, wk, want.Weekly.Point[w], q)
		}
	}
	// The dashboard shows them below the daily table.
	if status, _, page := f.get(t, "/"); status != 200 || !strings.Contains(string(page), `<table id="forecast-weeks"`) ||
		!strings.Contains(string(page), `<tr data-week="2"><th scope="row">2</th><td>`+got.Weeks[1].From.String()+` – `+got.Weeks[1].To.String()+`</td>`) {
		t.Errorf("dashboard %d: no weekly table with week 2 (%s – %s)", status, got.Weeks[1].From, got.Weeks[1].To)
	}

	// The CSV has the same numbers.
	status, h, body := f.get(t, "/api/v1/forecast?format=csv")
	if status != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/csv") {
		t.Fatalf("CSV: %d %s", status, h.Get("Content-Type"))
	}
	rows := readCSV(t, body)
	if len(rows) != 15 || strings.Join(rows[0][:9], ",") != "date,horizon,point,lower_50,upper_50,lower_80,upper_80,lower_95,upper_95" {
		t.Fatalf("CSV header %v, %d rows", rows[0], len(rows))
	}
	for i, r := range rows[1:] {
		p, _ := strconv.ParseFloat(r[2], 64)
		hi, _ := strconv.ParseFloat(r[6], 64)
		if r[0] != got.Days[i].Date.String() || p != float64(got.Days[i].Point) || hi != float64(got.Days[i].Upper80) {
			t.Errorf("CSV row %d = %v", i, r)
		}
	}

	// Conditional and compressed requests.
	_, h, plain := f.get(t, "/api/v1/forecast")
	etag := h.Get("ETag")
	req, _ := http.NewRequest(http.MethodGet, f.ts.URL+"/api/v1/forecast", nil)
	req.Header.Set("If-None-Match", etag)
	if status, _, _ := f.do(t, req); etag == "" || status != http.StatusNotModified {
		t.Errorf("If-None-Match %q: status %d", etag, status)
	}
	req, _ = http.NewRequest(http.MethodGet, f.ts.URL+"/api/v1/forecast", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	zr, err := gzip.NewReader(resp.Body)
	if err != nil || resp.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("gzip answer: %v %q", err, resp.Header.Get("Content-Encoding"))
	}
	unzipped, _ := io.ReadAll(zr)
	if !bytes.Equal(unzipped, plain) {
		t.Errorf("gzipped answer differs from the plain one")
	}

	wantError(t, f, "/api/v1/forecast?format=xml", 400, `format "xml"`)
	wantError(t, f, "/api/v1/forecast?model=x", 400, `unknown parameter "model"`)
	wantError(t, f, "/api/v1/forecast?format=csv&format=json", 400, "given 2 times")
}

func TestAPINoModelYet(t *testing.T) {
	for _, tc := range []struct{ name, seed string }{{"data only", "data"}, {"empty", ""}} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, fixtureOpts{seed: tc.seed})
			wantError(t, f, "/api/v1/forecast", 404, "no model trained yet")
			wantError(t, f, "/api/v1/forecast?format=csv", 404, "no model trained yet")
			var lb web.LeaderboardResponse
			f.getJSON(t, "/api/v1/leaderboard", 200, &lb)
			if lb.Champion != nil || lb.Backtest != nil || !strings.Contains(lb.BacktestMessage, "no backtest yet") || len(lb.Live) != 0 {
				t.Errorf("leaderboard without models = %+v", lb)
			}
			var mv web.ModelsResponse
			f.getJSON(t, "/api/v1/models", 200, &mv)
			if len(mv.Versions) != 0 {
				t.Errorf("versions %+v", mv.Versions)
			}
			// Nothing answers 500: every page and endpoint has a "nothing yet" state.
			for _, p := range []string{"/", "/?days=all", "/models", "/runs", "/data", "/actions", "/api/v1/history", "/api/v1/forecasts",
				"/api/v1/runs", "/api/v1/data", "/api/v1/snapshots", "/api/v1/leaderboard?format=csv", "/metrics", "/readyz", "/healthz"} {
				if status, _, body := f.get(t, p); status != 200 {
					t.Errorf("GET %s: %d %s", p, status, body)
				}
			}
			_, _, page := f.get(t, "/")
			if !bytes.Contains(page, []byte("No model trained yet")) {
				t.Errorf("dashboard without a model does not say so")
			}
			var hist web.HistoryResponse
			f.getJSON(t, "/api/v1/history", 200, &hist)
			if tc.seed == "data" && len(hist.Days) != 1018 || tc.seed == "" && len(hist.Days) != 0 {
				t.Errorf("history: %d days", len(hist.Days))
			}
		})
	}
}

func TestAPIHistory(t *testing.T) {
	f := newFixture(t, fixtureOpts{seed: "standard"})
	frame := f.seeded.Frame
	y := frame.TargetValues()
	last := frame.Dates[frame.Len()-1]
	check := func(path string, from, to prevoir.Date) {
		t.Helper()
		var h web.HistoryResponse
		f.getJSON(t, path, 200, &h)
		n := int(to-from) + 1
		if h.From == nil || h.To == nil || *h.From != from || *h.To != to || len(h.Days) != n || h.Target != "incid_dchosp" || len(h.Sources) != 2 {
			t.Fatalf("%s: %v..%v, %d days; want %s..%s, %d", path, h.From, h.To, len(h.Days), from, to, n)
		}
		off := int(from - frame.Dates[0])
		for i, d := range h.Days {
			if d.Date != from+prevoir.Date(i) || !(near(float64(d.Value), y[off+i]) || math.IsNaN(y[off+i]) && !d.Value.Valid()) {
				t.Fatalf("%s: day %d = %+v, frame %v", path, i, d, y[off+i])
			}
		}
	}
	check("/api/v1/history", frame.Dates[0], last)
	check("/api/v1/history?days=all", frame.Dates[0], last)
	check("/api/v1/history?days=60", last-59, last)
	check("/api/v1/history?days=42", last-41, last)
	check("/api/v1/history?from=2022-06-01&to=2022-06-30", prevoir.MustParseDate("2022-06-01"), prevoir.MustParseDate("2022-06-30"))
	check("/api/v1/history?from=2022-12-25", prevoir.MustParseDate("2022-12-25"), last)

	status, _, body := f.get(t, "/api/v1/history?days=7&format=csv")
	rows := readCSV(t, body)
	if status != 200 || len(rows) != 8 || rows[0][0] != "date" || rows[0][1] != "incid_dchosp" || rows[7][0] != last.String() {
		t.Errorf("history CSV: %d %v", status, rows)
	}

	for _, tc := range []struct{ query, want string }{
		{"days=0", `days "0"`},
		{"days=abc", `days "abc"`},
		{"days=1000000", "from 1 to"},
		{"days=60&from=2022-01-01", "either days or from/to"},
		{"from=2022-13-01", "from: date"},
		{"from=2022-06-30&to=2022-06-01", "before from"},
		{"span=60", `unknown parameter "span"`},
		{"format=html", `format "html"`},
	} {
		wantError(t, f, "/api/v1/history?"+tc.query, 400, tc.want)
	}
}

func TestAPIForecastsAndRealisedErrors(t *testing.T) {
	f := newFixture(t, fixtureOpts{seed: "standard"})
	var out web.ForecastsResponse
	f.getJSON(t, "/api/v1/forecasts", 200, &out)
	if len(out.Forecasts) != 5 || out.Forecasts[0].Origin != f.seeded.Latest.Origin || out.Forecasts[0].ScoredDays != 0 || out.Forecasts[0].MAE.Valid() {
		t.Fatalf("forecasts: %d, first %+v", len(out.Forecasts), out.Forecasts[0])
	}
	frame := f.seeded.Frame
	y := frame.TargetValues()
	for _, pf := range out.Forecasts[1:] {
		var sum float64
		var n int
		for _, d := range pf.Days {
			i := int(d.Date - frame.Dates[0])
			if i >= frame.Len() {
				if d.Actual.Valid() {
					t.Errorf("forecast %d: day %s after the data has an actual", pf.ID, d.Date)
				}
				continue
			}
			if !near(float64(d.Actual), y[i]) || !near(float64(d.AbsError), math.Abs(y[i]-float64(d.Point))) {
				t.Errorf("forecast %d day %s: actual %v error %v; frame %v", pf.ID, d.Date, d.Actual, d.AbsError, y[i])
			}
			sum += float64(d.AbsError)
			n++
		}
		if pf.ScoredDays != n || n == 0 || !near(float64(pf.MAE), sum/float64(n)) {
			t.Errorf("forecast %d: %d scored days, MAE %v; want %d, %v", pf.ID, pf.ScoredDays, pf.MAE, n, sum/float64(n))
		}
	}
	f.getJSON(t, "/api/v1/forecasts?limit=2", 200, &out)
	if len(out.Forecasts) != 2 {
		t.Errorf("limit=2: %d", len(out.Forecasts))
	}
	f.getJSON(t, "/api/v1/forecasts?version=1", 200, &out)
	if len(out.Forecasts) != 2 || out.Forecasts[0].Version != 1 || out.Forecasts[1].Version != 1 {
		t.Errorf("version=1: %+v", out.Forecasts)
	}
	_, _, body := f.get(t, "/api/v1/forecasts?format=csv")
	if rows := readCSV(t, body); len(rows) != 1+5*14 || rows[0][12] != "actual" {
		t.Errorf("CSV: %d rows, header %v", len(rows), rows[0])
	}
	wantError(t, f, "/api/v1/forecasts?limit=0", 400, "limit")
	wantError(t, f, "/api/v1/forecasts?limit=101", 400, "limit")
	wantError(t, f, "/api/v1/forecasts?version=two", 400, "version")
}

func TestAPILeaderboard(t *testing.T) {
	f := newFixture(t, fixtureOpts{seed: "standard"})
	var lb web.LeaderboardResponse
	f.getJSON(t, "/api/v1/leaderboard", 200, &lb)
	if lb.Champion == nil || lb.Champion.Version != 2 || lb.Backtest == nil || lb.Backtest.RunID != f.seeded.BacktestRunID || lb.Backtest.Champion != "ets" {
		t.Fatalf("leaderboard: %+v", lb)
	}
	want := seed.StandardBacktest()
	if len(lb.Backtest.Models) != len(want) {
		t.Fatalf("%d backtest models", len(lb.Backtest.Models))
	}
	for i, m := range lb.Backtest.Models {
		w := want[i]
		if m.Name != w.Name || float64(m.MAE) != w.MAE || float64(m.WIS) != w.WIS || float64(m.Coverage80) != w.Coverage80 ||
			len(m.MAEByHorizon) != 14 || float64(m.MAEByHorizon[13]) != w.MAEByHorizon[13] || m.Champion != (w.Name == "ets") {
			t.Errorf("backtest model %d = %+v, want %+v", i, m, w)
		}
	}
	if len(lb.ChampionHistory) != 2 || lb.ChampionHistory[0].Version != 2 || lb.ChampionHistory[0].FromVersion != 1 || lb.ChampionHistory[1].Reason != "first model" {
		t.Errorf("champion history %+v", lb.ChampionHistory)
	}

	// Live error: recomputed from the stored scores, each version over its last 14 scored days.
	scores, err := f.env.Forecasts.Scores(context.Background(), seed.Model, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(lb.Live) != 2 {
		t.Fatalf("live: %+v", lb.Live)
	}
	for _, l := range lb.Live {
		var last prevoir.Date
		for _, s := range scores {
			if s.Version == l.Version {
				last = max(last, s.Date)
			}
		}
		var sum, in80 float64
		var n int
		for _, s := range scores {
			if s.Version == l.Version && s.Date > last-14 {
				sum += s.AbsError
				n++
				if s.In80 {
					in80++
				}
			}
		}
		if l.To != last || l.Points != n || !near(float64(l.MAE), sum/float64(n)) || !near(float64(l.Coverage80), in80/float64(n)) || l.Champion != (l.Version == 2) {
			t.Errorf("live v%d = %+v; want to %s, %d points, MAE %v", l.Version, l, last, n, sum/float64(n))
		}
	}
	if len(lb.LiveDaily) == 0 {
		t.Errorf("no live daily errors")
	}

	_, _, body := f.get(t, "/api/v1/leaderboard?format=csv")
	rows := readCSV(t, body)
	if len(rows) != 4 || rows[1][0] != "ets" || rows[1][1] != "true" || rows[1][2] != "11.5" || len(rows[0]) != 9+14 {
		t.Errorf("backtest CSV %v", rows)
	}
	_, _, body = f.get(t, "/api/v1/leaderboard?format=csv&table=live")
	if rows := readCSV(t, body); len(rows) != 3 || rows[1][0] != "2" {
		t.Errorf("live CSV %v", rows)
	}
	wantError(t, f, "/api/v1/leaderboard?table=live", 400, "format=csv")
	wantError(t, f, "/api/v1/leaderboard?format=csv&table=nope", 400, `table "nope"`)
}

func TestAPIBacktestArtifactProblems(t *testing.T) {
	f := newFixture(t, fixtureOpts{seed: "data"})
	ctx := context.Background()
	// A backtest run whose backtest.json is not JSON: the leaderboard says so, nothing fails.
	r, err := f.env.Tracker.Start(ctx, &prevoir.Run{Kind: prevoir.RunBacktest, Name: "backtest"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.LogArtifact(ctx, prevoir.BacktestArtifact, []byte("{not json")); err != nil {
		t.Fatal(err)
	}
	r.End(ctx, nil)
	if err := f.srv.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	var lb web.LeaderboardResponse
	f.getJSON(t, "/api/v1/leaderboard", 200, &lb)
	if lb.Backtest != nil || !strings.Contains(lb.BacktestMessage, "cannot be read") {
		t.Errorf("unreadable backtest: %+v", lb)
	}
}

func TestAPIRunsAndModels(t *testing.T) {
	f := newFixture(t, fixtureOpts{seed: "standard"})
	var runs web.RunsResponse
	f.getJSON(t, "/api/v1/runs", 200, &runs)
	// 2 ingests, 3 trainings, a backtest, 5 forecasts, a failed training, a score.
	if len(runs.Runs) != 13 {
		t.Errorf("%d runs", len(runs.Runs))
	}
	for i := 1; i < len(runs.Runs); i++ {
		if runs.Runs[i].StartedAt.After(runs.Runs[i-1].StartedAt) {
			t.Errorf("runs not newest first at %d", i)
		}
	}
	f.getJSON(t, "/api/v1/runs?kind=train", 200, &runs)
	if len(runs.Runs) != 4 {
		t.Errorf("train runs: %d", len(runs.Runs))
	}
	f.getJSON(t, "/api/v1/runs?status=failed", 200, &runs)
	if len(runs.Runs) != 1 || runs.Runs[0].ID != f.seeded.FailedRunID || !strings.Contains(runs.Runs[0].Error, "diverged") {
		t.Errorf("failed runs: %+v", runs.Runs)
	}
	f.getJSON(t, "/api/v1/runs?kind=forecast&limit=2", 200, &runs)
	if len(runs.Runs) != 2 || runs.Runs[0].Kind != prevoir.RunForecast {
		t.Errorf("forecast runs, limit 2: %+v", runs.Runs)
	}
	_, _, body := f.get(t, "/api/v1/runs?format=csv&kind=backtest")
	if rows := readCSV(t, body); len(rows) != 2 || rows[1][0] != f.seeded.BacktestRunID {
		t.Errorf("runs CSV %v", rows)
	}

	var d web.RunDetail
	f.getJSON(t, "/api/v1/runs/"+f.seeded.Champion.RunID, 200, &d)
	steps := 0
	for _, m := range d.Metrics {
		if m.Key == "loss" {
			steps++
		}
	}
	if d.ID != f.seeded.Champion.RunID || d.Kind != prevoir.RunTrain || d.Params["family"] != "ets" || steps != 5 ||
		len(d.Artifacts) != 1 || d.Artifacts[0].Path != "model.bin" || len(d.ModelVersions) != 1 || d.ModelVersions[0] != 2 {
		t.Errorf("run detail %+v", d)
	}
	wantError(t, f, "/api/v1/runs/not-a-run", 400, "32 lowercase hexadecimal")
	wantError(t, f, "/api/v1/runs/"+strings.Repeat("0", 32), 404, "no run")
	wantError(t, f, "/api/v1/runs?kind=party", 400, `kind "party"`)
	wantError(t, f, "/api/v1/runs?status=done", 400, `status "done"`)
	wantError(t, f, "/api/v1/runs?limit=-1", 400, "limit")

	var mv web.ModelsResponse
	f.getJSON(t, "/api/v1/models", 200, &mv)
	if len(mv.Versions) != 3 || mv.Versions[0].Version != 3 || mv.Aliases["champion"] != 2 || len(mv.ChampionHistory) != 2 ||
		mv.Versions[1].Live == nil || len(mv.Versions[1].Aliases) != 1 || mv.Versions[1].Aliases[0] != "champion" {
		t.Errorf("models: %+v", mv)
	}
	var v web.VersionView
	f.getJSON(t, "/api/v1/models/2", 200, &v)
	if v.Version != 2 || v.Family != "ets" || v.RunID != f.seeded.Champion.RunID || v.Metrics["mae"] != 11.5 {
		t.Errorf("version 2: %+v", v)
	}
	_, _, body = f.get(t, "/api/v1/models?format=csv")
	if rows := readCSV(t, body); len(rows) != 4 || rows[2][2] != "champion" {
		t.Errorf("models CSV %v", rows)
	}
	wantError(t, f, "/api/v1/models/9", 404, "no version 9")
	wantError(t, f, "/api/v1/models/nine", 400, "positive whole number")
	wantError(t, f, "/api/v1/models/0", 400, "positive whole number")
}

func TestAPIDataFreshness(t *testing.T) {
	f := newFixture(t, fixtureOpts{seed: "standard"})
	var d web.DataResponse
	f.getJSON(t, "/api/v1/data", 200, &d)
	if len(d.Sources) != 2 || d.Frame == nil || d.Frame.LastDate.String() != "2022-12-31" || d.Frame.Rows != f.seeded.Frame.Len() {
		t.Fatalf("data: %+v", d)
	}
	ind, sidep := d.Sources[0], d.Sources[1]
	if ind.Source != "indicateurs" || ind.Snapshot == nil || ind.LastDate.String() != "2022-12-31" || ind.AgeDays == nil || *ind.AgeDays != 4 ||
		ind.LastCheckStatus != "revised" || ind.LastChecked.IsZero() || ind.LastChanged.IsZero() {
		t.Errorf("indicateurs: %+v", ind)
	}
	if sidep.LastDate.String() != "2022-08-23" || *sidep.AgeDays != 134 {
		t.Errorf("sidep: %+v", sidep)
	}
	var snaps web.SnapshotsResponse
	f.getJSON(t, "/api/v1/snapshots", 200, &snaps)
	if len(snaps.Snapshots) != 4 {
		t.Fatalf("%d snapshots", len(snaps.Snapshots))
	}
	var revised bool
	for _, s := range snaps.Snapshots {
		if s.Source == "indicateurs" && s.Revision != nil && s.Revision.ChangedDates > 0 {
			revised = true
		}
	}
	if !revised {
		t.Errorf("no revision recorded among %+v", snaps.Snapshots)
	}
	f.getJSON(t, "/api/v1/snapshots?source=sidep&limit=1", 200, &snaps)
	if len(snaps.Snapshots) != 1 || snaps.Snapshots[0].Source != "sidep" {
		t.Errorf("sidep snapshots: %+v", snaps.Snapshots)
	}
	_, _, body := f.get(t, "/api/v1/snapshots?format=csv")
	if rows := readCSV(t, body); len(rows) != 5 {
		t.Errorf("snapshots CSV: %d rows", len(rows))
	}
	wantError(t, f, "/api/v1/snapshots?source=nope", 400, `source "nope"`)
	wantError(t, f, "/api/v1/snapshots?limit=1000", 400, "limit")
	wantError(t, f, "/api/v1/data?format=csv", 400, "json only")
}

func TestRoutingErrorsAndHeaders(t *testing.T) {
	f := newFixture(t, fixtureOpts{seed: "standard"})
	wantError(t, f, "/api/v1/nope", 404, "no such endpoint")
	wantError(t, f, "/api/v2/forecast", 404, "no such endpoint")

	status, h, body := f.get(t, "/nope")
	if status != 404 || !strings.HasPrefix(h.Get("Content-Type"), "text/html") || !bytes.Contains(body, []byte("There is no page at /nope")) {
		t.Errorf("unknown page: %d %s", status, h.Get("Content-Type"))
	}
	status, _, body = f.get(t, "/?days=7")
	if status != 400 || !bytes.Contains(body, []byte("want 60, 120, 365 or all")) {
		t.Errorf("dashboard with a bad span: %d", status)
	}
	for _, p := range []string{"/?days=60", "/?days=365", "/?days=all", "/runs?kind=train", "/runs/" + f.seeded.Champion.RunID, "/static/style.css", "/static/favicon.svg", "/api/v1/"} {
		if status, _, _ := f.get(t, p); status != 200 {
			t.Errorf("GET %s: %d", p, status)
		}
	}
	if status, _, _ := f.get(t, "/static/../../go.mod"); status != 404 {
		t.Errorf("path outside the assets: %d", status)
	}
	if status, _, _ := f.get(t, "/static/nope.css"); status != 404 {
		t.Errorf("missing asset: %d", status)
	}

	// A wrong method: 405 with Allow, JSON on the API.
	status, h, body = f.post(t, "/api/v1/forecast", "application/json", "{}", nil)
	var e web.ErrorResponse
	if status != 405 || h.Get("Allow") != "GET, HEAD" || json.Unmarshal(body, &e) != nil || e.Code != "method_not_allowed" {
		t.Errorf("POST /api/v1/forecast: %d %q %s", status, h.Get("Allow"), body)
	}
	if status, h, _ := f.post(t, "/models", "", "", nil); status != 405 || !strings.HasPrefix(h.Get("Content-Type"), "text/html") {
		t.Errorf("POST /models: %d", status)
	}
	req, _ := http.NewRequest(http.MethodHead, f.ts.URL+"/api/v1/forecast", nil)
	if status, _, body := f.do(t, req); status != 200 || len(body) != 0 {
		t.Errorf("HEAD: %d, %d bytes", status, len(body))
	}

	// Security headers on every answer, errors included.
	for _, p := range []string{"/", "/api/v1/forecast", "/nope", "/api/v1/nope", "/metrics"} {
		_, h, _ := f.get(t, p)
		csp := h.Get("Content-Security-Policy")
		if !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "script-src 'none'") ||
			h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") != "no-referrer" || h.Get("X-Frame-Options") != "DENY" {
			t.Errorf("GET %s: security headers %v", p, h)
		}
	}
}

func TestHealthAndMetrics(t *testing.T) {
	f := newFixture(t, fixtureOpts{seed: "standard"})
	for range 3 {
		f.get(t, "/api/v1/forecast")
	}
	f.get(t, "/api/v1/nope")
	var ready struct {
		Status      string `json:"status"`
		HasForecast bool   `json:"has_forecast"`
	}
	f.getJSON(t, "/readyz", 200, &ready)
	if ready.Status != "ready" || !ready.HasForecast {
		t.Errorf("readyz %+v", ready)
	}
	f.getJSON(t, "/healthz", 200, nil)

	status, h, body := f.get(t, "/metrics")
	if status != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/plain; version=0.0.4") {
		t.Fatalf("metrics: %d %s", status, h.Get("Content-Type"))
	}
	text := string(body)
	for _, want := range []string{
		`prevoir_http_request_duration_seconds_count{route="/api/v1/forecast"} 3`,
		`prevoir_http_request_duration_seconds_bucket{route="/api/v1/forecast",le="+Inf"} 3`,
		`prevoir_http_requests_total{route="/api/v1/forecast",code="2xx"} 3`,
		`prevoir_http_requests_total{route="unmatched /api/",code="4xx"} 1`,
		`prevoir_last_success_timestamp_seconds{flow="ingest"} `,
		`prevoir_last_success_timestamp_seconds{flow="train"} `,
		`prevoir_last_success_timestamp_seconds{flow="backtest"} `,
		`prevoir_last_success_timestamp_seconds{flow="forecast"} `,
		`prevoir_last_success_timestamp_seconds{flow="score"} `,
		`prevoir_champion_version{model="incid_dchosp",family="ets"} 2`,
		`prevoir_champion_backtest_mae{model="incid_dchosp",version="2"} 11.5`,
		`prevoir_champion_live_mae{model="incid_dchosp",version="2"} `,
		`prevoir_run_failures{kind="train"} 1`,
		`prevoir_run_failures{kind="ingest"} 0`,
		`prevoir_source_last_date_timestamp_seconds{source="sidep"} 1.6612128e+09`,
		`prevoir_web_snapshot_refresh_errors_total 0`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	// Every line is a comment or a well-formed sample.
	for line := range strings.SplitSeq(strings.TrimSpace(text), "\n") {
		if strings.HasPrefix(line, "# HELP ") || strings.HasPrefix(line, "# TYPE ") {
			continue
		}
		name, rest, ok := strings.Cut(line, " ")
		if i := strings.LastIndexByte(line, '}'); i > 0 {
			name, rest, ok = line[:i+1], strings.TrimPrefix(line[i+1:], " "), true
		}
		if _, err := strconv.ParseFloat(rest, 64); !ok || err != nil && rest != "+Inf" && rest != "NaN" || !strings.HasPrefix(name, "prevoir_") {
			t.Errorf("malformed metrics line %q", line)
		}
	}
}

// TestReadsComeFromMemory closes the database under a loaded server: every read still
// answers, the same as before; a refresh fails and keeps the snapshot, and says so.
func TestReadsComeFromMemory(t *testing.T) {
	f := newFixture(t, fixtureOpts{seed: "standard"})
	paths := []string{"/", "/?days=all", "/models", "/runs", "/data", "/api/v1/forecast", "/api/v1/history?days=42", "/api/v1/forecasts?limit=3",
		"/api/v1/leaderboard", "/api/v1/runs?kind=train", "/api/v1/runs/" + f.seeded.Champion.RunID, "/api/v1/models", "/api/v1/data", "/api/v1/snapshots"}
	before := map[string][]byte{}
	for _, p := range paths {
		_, _, before[p] = f.get(t, p)
	}
	f.env.DB.Close()
	for _, p := range paths {
		status, _, body := f.get(t, p)
		if status != 200 || !bytes.Equal(body, before[p]) {
			t.Errorf("GET %s with the database closed: %d, same body %v", p, status, bytes.Equal(body, before[p]))
		}
	}
	if err := f.srv.Refresh(context.Background()); err == nil {
		t.Fatal("refresh on a closed database succeeded")
	}
	var ready struct {
		Status    string `json:"status"`
		LastError string `json:"last_error"`
	}
	f.getJSON(t, "/readyz", 200, &ready)
	if ready.Status != "ready" || ready.LastError == "" {
		t.Errorf("readyz after a failed refresh: %+v", ready)
	}
	_, _, body := f.get(t, "/metrics")
	if !bytes.Contains(body, []byte("prevoir_web_snapshot_refresh_errors_total 1")) {
		t.Errorf("the failed refresh is not counted")
	}
}

func TestNotLoadedYet(t *testing.T) {
	env := seed.Open(t, testutil.SQLiteURL(t))
	srv, err := web.New(storesConfig(env))
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{env: env, srv: srv}
	f.ts = newTestServer(t, srv)
	wantError(t, f, "/api/v1/forecast", 503, "starting up")
	f.getJSON(t, "/readyz", 503, nil)
	if status, _, _ := f.get(t, "/"); status != 503 {
		t.Errorf("dashboard before the first load: %d", status)
	}
	f.getJSON(t, "/healthz", 200, nil)
}

func TestNewValidates(t *testing.T) {
	env := seed.Open(t, testutil.SQLiteURL(t))
	full := storesConfig(env)
	for name, mutate := range map[string]func(*web.Config){
		"no registry": func(c *web.Config) { c.Registry = nil },
		"no frame":    func(c *web.Config) { c.Frame = nil },
		"no tracker":  func(c *web.Config) { c.Artifacts = nil },
		"negative":    func(c *web.Config) { c.RefreshEvery = -1 },
		"short token": func(c *web.Config) { c.AdminToken = "fifteen-chars.." },
	} {
		c := full
		mutate(&c)
		if _, err := web.New(c); prevoir.ErrorCode(err) != prevoir.EINVALID {
			t.Errorf("%s: %v", name, err)
		}
	}
	// The shortest token accepted, and none (actions disabled).
	for _, token := range []string{"sixteen-chars..!", ""} {
		c := full
		c.AdminToken = token
		if _, err := web.New(c); err != nil {
			t.Errorf("token %q: %v", token, err)
		}
	}
}

func TestAPIOnPostgres(t *testing.T) {
	f := newFixture(t, fixtureOpts{dbURL: testutil.PostgresURL(t), seed: "standard", token: testToken})
	var got web.ForecastResponse
	f.getJSON(t, "/api/v1/forecast", 200, &got)
	if got.Version != 2 || len(got.Days) != 14 || got.Origin != f.seeded.Latest.Origin {
		t.Errorf("forecast on PostgreSQL: %+v", got)
	}
	var lb web.LeaderboardResponse
	f.getJSON(t, "/api/v1/leaderboard", 200, &lb)
	if lb.Backtest == nil || len(lb.Live) != 2 || len(lb.ChampionHistory) != 2 {
		t.Errorf("leaderboard on PostgreSQL: %+v", lb)
	}
	status, _, body := f.post(t, "/api/v1/actions/refresh", "", "", map[string]string{"Authorization": "Bearer " + testToken})
	if status != 202 {
		t.Errorf("refresh on PostgreSQL: %d %s", status, body)
	}
}

// TestAPIRunWithNaNMetric: a metric value JSON cannot carry (NaN, such as a coverage with no
// interval) is left out of the run's answer instead of failing the whole answer.
func TestAPIRunWithNaNMetric(t *testing.T) {
	f := newFixture(t, fixtureOpts{seed: "standard"})
	ctx := context.Background()
	run := &prevoir.Run{Kind: prevoir.RunTrain, Name: "ets"}
	if err := f.env.Runs.CreateRun(ctx, run); err != nil {
		t.Fatal(err)
	}
	id := run.ID
	if err := f.env.Runs.LogMetrics(ctx, id, []prevoir.Metric{{Key: "mae", Value: 12, Time: testNow},
		{Key: "undefined_coverage", Value: math.NaN(), Time: testNow}}); err != nil {
		t.Fatal(err)
	}
	if err := f.env.Runs.EndRun(ctx, id, prevoir.RunFinished, ""); err != nil {
		t.Fatal(err)
	}
	if err := f.srv.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	var d web.RunDetail
	f.getJSON(t, "/api/v1/runs/"+id, 200, &d)
	for _, m := range d.Metrics {
		if m.Key == "undefined_coverage" {
			t.Errorf("the NaN metric is in the answer: %+v", m)
		}
	}
	if len(d.Metrics) != 1 || d.Metrics[0].Key != "mae" {
		t.Errorf("the run's finite metrics: %+v", d.Metrics)
	}
}

// TestLeaderboardKeepsTheBacktestOrder: the leaderboard shows the models in the order of the
// backtest's own leaderboard (backtest.SortModels: a model that failed at some origins comes
// last whatever its MAE) with the relative and weekly scores, in the API and on the page.
func TestLeaderboardKeepsTheBacktestOrder(t *testing.T) {
	f := newFixture(t, fixtureOpts{seed: "standard", prepare: func(t *testing.T, env *seed.Env) { logBacktest(t, env, weeklyBacktest()) }})
	var lb web.LeaderboardResponse
	f.getJSON(t, "/api/v1/leaderboard", 200, &lb)
	if lb.Backtest == nil {
		t.Fatalf("no backtest: %s", lb.BacktestMessage)
	}
	var names []string
	for _, m := range lb.Backtest.Models {
		names = append(names, m.Name)
	}
	if strings.Join(names, " ") != "ets theta lin" {
		t.Fatalf("models in the order %v, want ets theta lin", names)
	}
	ets, lin := lb.Backtest.Models[0], lb.Backtest.Models[2]
	if !ets.Champion || ets.Weekly.RelativeAE != 0.71 || ets.Weekly.Coverage95 != 0.9 || ets.RelativeWIS != 0.8 || ets.SMAPE != 19 {
		t.Errorf("ets = %+v", ets)
	}
	if lin.Champion || lin.Failures != 2 || lin.Weekly.RelativeAE.Valid() || lin.Coverage80.Valid() {
		t.Errorf("lin (not scored weekly, no intervals) = %+v", lin)
	}

	status, _, page := f.get(t, "/models")
	if status != 200 {
		t.Fatalf("/models: %d", status)
	}
	html := string(page)
	at := func(s string) int {
		i := strings.Index(html, s)
		if i < 0 {
			t.Fatalf("the models page lacks %s", s)
		}
		return i
	}
	if e, th, l := at(`data-model="ets"`), at(`data-model="theta"`), at(`data-model="lin"`); !(e < th && th < l) {
		t.Errorf("leaderboard rows not in the order ets, theta, lin")
	}
	at(`data-col="weekly_relative_ae"`)
	at(`data-col="relative_wis"`)
	at(`(failed at 2 of 20 origins: not ranked)`)
	if !strings.Contains(html, `<td>0.710</td><td>0.640</td><td>50%</td><td>90%</td>`) {
		t.Errorf("the ets row lacks its weekly scores")
	}
}
