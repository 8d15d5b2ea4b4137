package web_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/internal/testutil"
	"github.com/prevoir/prevoir/internal/testutil/seed"
	"github.com/prevoir/prevoir/web"
)

// weekOf is the week figure of vals as the targets' summary sums it up: a total for a daily
// count, a mean for an occupancy.
func weekOf(vals []float64, kind prevoir.TargetKind) float64 {
	sum := 0.0
	for _, v := range vals {
		sum += v
	}
	if kind == prevoir.KindOccupancy {
		return sum / float64(len(vals))
	}
	return sum
}

// pastWeek is the target's observed values over the seven days that end on origin.
func pastWeek(t *testing.T, f *prevoir.Frame, column string, origin prevoir.Date) []float64 {
	t.Helper()
	i := slices.Index(f.Dates, origin)
	if i < 6 {
		t.Fatalf("origin %s not in the frame", origin)
	}
	return f.Column(column)[i-6 : i+1]
}

func TestAPITargets(t *testing.T) {
	f := newFixture(t, fixtureOpts{seed: "targets"})
	var got web.TargetsResponse
	f.getJSON(t, "/api/v1/targets", 200, &got)
	if got.Default != prevoir.DefaultTarget || len(got.Targets) != len(prevoir.Targets()) {
		t.Fatalf("targets = %+v", got)
	}
	frame := f.seeded.Frame
	last := frame.Dates[frame.Len()-1]
	for i, want := range prevoir.Targets() {
		s := got.Targets[i]
		if s.Target != want {
			t.Errorf("target %d = %+v, want %+v", i, s.Target, want)
		}
		// The last value is the frame's, for every target, forecast or not.
		col := frame.Column(want.Column)
		if s.LastDate != last || !near(float64(s.LastValue), col[len(col)-1]) {
			t.Errorf("%s: last value %v on %s, want %v on %s", want.Name, s.LastValue, s.LastDate, col[len(col)-1], last)
		}
		wantStat := map[prevoir.TargetKind]string{prevoir.KindDailyCount: "total", prevoir.KindOccupancy: "mean"}[want.Kind]
		if s.NextWeekStat != wantStat {
			t.Errorf("%s: next week's statistic %q, want %q", want.Name, s.NextWeekStat, wantStat)
		}
	}
	// The two seeded targets: their champion, next week (the deaths' model's own weekly total,
	// the patients' mean of days 1-7), the past week and the trend.
	for _, c := range []struct {
		name     string
		champion int
		family   string
		latest   *prevoir.StoredForecast
		trend    string
	}{
		{prevoir.DefaultTarget, 2, "ets", f.seeded.Latest, "flat"}, // the seed's naive forecast repeats the last week
		{seed.SecondTarget, 2, "ets", f.second.Latest, "down"},     // 20% below it
	} {
		i := slices.IndexFunc(got.Targets, func(s web.TargetSummary) bool { return s.Name == c.name })
		s := got.Targets[i]
		if s.Champion == nil || s.Champion.Version != c.champion || s.Champion.Family != c.family {
			t.Errorf("%s: champion %+v", c.name, s.Champion)
		}
		next := weekOf(c.latest.Point[:7], s.Kind)
		if s.Kind == prevoir.KindDailyCount {
			next = c.latest.Weekly.Point[0]
		}
		past := weekOf(pastWeek(t, frame, s.Column, c.latest.Origin), s.Kind)
		if s.NextWeek == nil || !near(float64(s.NextWeek.Value), next) || s.NextWeek.From != c.latest.Origin+1 || s.NextWeek.To != c.latest.Origin+7 {
			t.Errorf("%s: next week %+v, want %v from %s", c.name, s.NextWeek, next, c.latest.Origin+1)
		}
		if s.PastWeek == nil || !near(float64(s.PastWeek.Value), past) || s.PastWeek.To != c.latest.Origin {
			t.Errorf("%s: past week %+v, want %v", c.name, s.PastWeek, past)
		}
		trend := "flat"
		switch {
		case next > past*(1+web.TrendThreshold):
			trend = "up"
		case next < past*(1-web.TrendThreshold):
			trend = "down"
		}
		if s.Trend != trend || s.Trend != c.trend || !near(float64(s.Change), next/past-1) {
			t.Errorf("%s: trend %q (%v), want %q (%v)", c.name, s.Trend, s.Change, trend, next/past-1)
		}
	}
	// A target with no model yet: no champion, no forecast, no trend.
	s := got.Targets[slices.IndexFunc(got.Targets, func(s web.TargetSummary) bool { return s.Name == prevoir.TargetICUAdmissions })]
	if s.Champion != nil || s.NextWeek != nil || s.PastWeek != nil || s.Trend != "" {
		t.Errorf("%s has no model, yet its summary is %+v", s.Name, s)
	}
}

// TestAPIEndpointsTakeTheTarget asks every forecast-related endpoint for the second target, and
// checks that its answer is that target's, while the default target's stays as it was.
func TestAPIEndpointsTakeTheTarget(t *testing.T) {
	for _, engine := range []struct {
		name string
		url  func(testing.TB) string
	}{{"sqlite", testutil.SQLiteURL}, {"postgres", testutil.PostgresURL}} {
		t.Run(engine.name, func(t *testing.T) { testEndpointsTakeTheTarget(t, engine.url(t)) })
	}
}

func testEndpointsTakeTheTarget(t *testing.T, dbURL string) {
	f := newFixture(t, fixtureOpts{dbURL: dbURL, seed: "targets"})
	second := f.second

	// The forecast.
	var fc web.ForecastResponse
	f.getJSON(t, "/api/v1/forecast?target="+seed.SecondTarget, 200, &fc)
	if fc.RegisteredModel != seed.SecondTarget || fc.Target != "hosp" || fc.Version != 2 || fc.RunID != second.Latest.RunID || len(fc.Days) != 14 {
		t.Fatalf("forecast of %s = %+v", seed.SecondTarget, fc)
	}
	for i, d := range fc.Days {
		if !near(float64(d.Point), second.Latest.Point[i]) {
			t.Errorf("day %d: point %v, stored %v", i, d.Point, second.Latest.Point[i])
		}
	}
	var def web.ForecastResponse
	f.getJSON(t, "/api/v1/forecast", 200, &def)
	if def.RegisteredModel != prevoir.DefaultTarget || def.RunID != f.seeded.Latest.RunID {
		t.Errorf("default forecast = %s %s, want the deaths' %s", def.RegisteredModel, def.RunID, f.seeded.Latest.RunID)
	}
	if status, _, body := f.get(t, "/api/v1/forecast?target="+seed.SecondTarget+"&format=csv"); status != 200 ||
		!strings.HasPrefix(strings.Split(string(body), "\n")[1], fc.Days[0].Date.String()+",1,") {
		t.Errorf("forecast csv of %s: %d %.200s", seed.SecondTarget, status, body)
	}
	var none web.ErrorResponse
	f.getJSON(t, "/api/v1/forecast?target="+prevoir.TargetICUAdmissions, 404, &none)
	if !strings.Contains(none.Error, prevoir.TargetICUAdmissions) {
		t.Errorf("forecast of a target without a model: %+v", none)
	}

	// The history is the target's column.
	var h web.HistoryResponse
	f.getJSON(t, "/api/v1/history?target="+seed.SecondTarget+"&days=30", 200, &h)
	col := f.seeded.Frame.Column("hosp")
	if h.Target != "hosp" || len(h.Days) != 30 || !near(float64(h.Days[29].Value), col[len(col)-1]) || !near(float64(h.Days[0].Value), col[len(col)-30]) {
		t.Errorf("history of hosp: target %q, %d days", h.Target, len(h.Days))
	}

	// The past forecasts, scored by the real score flow.
	var past web.ForecastsResponse
	f.getJSON(t, "/api/v1/forecasts?target="+seed.SecondTarget, 200, &past)
	if past.RegisteredModel != seed.SecondTarget || len(past.Forecasts) != 2 || past.Forecasts[1].ScoredDays != 14 || !past.Forecasts[1].MAE.Valid() {
		t.Errorf("past forecasts of hosp = %+v", past)
	}

	// The leaderboard: its champion, its own backtest (not the deaths'), its live scores.
	var lb web.LeaderboardResponse
	f.getJSON(t, "/api/v1/leaderboard?target="+seed.SecondTarget, 200, &lb)
	if lb.RegisteredModel != seed.SecondTarget || lb.Champion == nil || lb.Champion.Version != 2 || lb.Backtest == nil ||
		lb.Backtest.RunID != second.BacktestRunID || len(lb.Backtest.Models) != 2 || lb.Backtest.Models[0].Name != "ets" ||
		float64(lb.Backtest.Models[0].MAE) != 240 || len(lb.Live) != 1 || len(lb.ChampionHistory) != 1 {
		t.Errorf("leaderboard of hosp = %+v", lb)
	}
	var dlb web.LeaderboardResponse
	f.getJSON(t, "/api/v1/leaderboard", 200, &dlb)
	if dlb.Backtest == nil || dlb.Backtest.RunID != f.seeded.BacktestRunID || len(dlb.ChampionHistory) != 2 {
		t.Errorf("the deaths' leaderboard = %+v", dlb)
	}
	if status, _, body := f.get(t, "/api/v1/leaderboard?target="+seed.SecondTarget+"&format=csv&table=live"); status != 200 || strings.Count(string(body), "\n") != 2 {
		t.Errorf("live leaderboard csv of hosp: %d %s", status, body)
	}

	// The versions and the champion's history.
	var models web.ModelsResponse
	f.getJSON(t, "/api/v1/models?target="+seed.SecondTarget, 200, &models)
	if models.RegisteredModel != seed.SecondTarget || len(models.Versions) != 2 || models.Aliases[prevoir.AliasChampion] != 2 || len(models.ChampionHistory) != 1 {
		t.Errorf("models of hosp = %+v", models)
	}
	var v web.VersionView
	f.getJSON(t, "/api/v1/models/1?target="+seed.SecondTarget, 200, &v)
	if v.Model != seed.SecondTarget || v.Family != "snaive" || v.RunID != second.Versions[0].RunID {
		t.Errorf("hosp v1 = %+v", v.ModelVersion)
	}
	f.getJSON(t, "/api/v1/models/3?target="+seed.SecondTarget, 404, nil) // the deaths have a v3, not hosp

	// The runs and the alerts take the target too.
	var runs web.RunsResponse
	f.getJSON(t, "/api/v1/runs?target="+seed.SecondTarget+"&kind=train", 200, &runs)
	if len(runs.Runs) == 0 {
		t.Error("no train run listed for hosp")
	}
	for _, r := range runs.Runs {
		if r.Target != seed.SecondTarget {
			t.Errorf("runs of hosp list run %s of target %q", r.ID, r.Target)
		}
	}
	f.getJSON(t, "/api/v1/runs?kind=train", 200, &runs)
	if targets := map[string]bool{}; true {
		for _, r := range runs.Runs {
			targets[r.Target] = true
		}
		if !targets[seed.SecondTarget] || !targets[prevoir.DefaultTarget] {
			t.Errorf("runs of every target: targets %v, want both", targets)
		}
	}
	var alerts struct{ Alerts []json.RawMessage }
	f.getJSON(t, "/api/v1/alerts?target="+seed.SecondTarget, 200, &alerts)
	f.getJSON(t, "/api/v1/alerts?target=all", 200, &alerts)

	// The pages.
	status, _, body := f.get(t, "/?target="+seed.SecondTarget)
	if status != 200 || !strings.Contains(string(body), "Patients in hospital (COVID-19, France)") || !strings.Contains(string(body), `href="/models?target=hosp"`) {
		t.Errorf("dashboard of hosp: %d", status)
	}
	for _, p := range []string{"/models?target=hosp", "/runs?target=hosp&kind=train", "/actions?target=hosp", "/data?target=hosp", "/?days=60&target=hosp"} {
		if status, _, body := f.get(t, p); status != 200 || !strings.Contains(string(body), "<code>hosp</code>") {
			t.Errorf("GET %s: %d, or not hosp's page", p, status)
		}
	}
}

// TestUnknownTargetIsRefused asks every endpoint that takes a target for one that does not
// exist: a 400 in the API's error shape (a page on the pages) listing the valid targets.
func TestUnknownTargetIsRefused(t *testing.T) {
	f := newFixture(t, fixtureOpts{seed: "standard"})
	for _, p := range []string{"/api/v1/forecast", "/api/v1/history", "/api/v1/forecasts", "/api/v1/leaderboard", "/api/v1/models",
		"/api/v1/models/1", "/api/v1/runs", "/api/v1/alerts"} {
		var e web.ErrorResponse
		f.getJSON(t, p+"?target=deaths", http.StatusBadRequest, &e)
		if e.Code != prevoir.EINVALID || !strings.Contains(e.Error, `"deaths"`) {
			t.Errorf("GET %s?target=deaths: %+v", p, e)
		}
		for _, name := range prevoir.TargetNames() {
			if !strings.Contains(e.Error, name) {
				t.Errorf("GET %s?target=deaths: the error does not list %s: %s", p, name, e.Error)
			}
		}
	}
	for _, p := range []string{"/?target=deaths", "/models?target=deaths", "/runs?target=deaths", "/actions?target=deaths"} {
		if status, h, body := f.get(t, p); status != http.StatusBadRequest || !strings.HasPrefix(h.Get("Content-Type"), "text/html") || !strings.Contains(string(body), prevoir.TargetHospitalised) {
			t.Errorf("GET %s: %d %s", p, status, h.Get("Content-Type"))
		}
	}
}

// TestServedTargets serves one target only: it is the default, and the others are refused with
// the served list.
func TestServedTargets(t *testing.T) {
	hosp, _ := prevoir.LookupTarget(seed.SecondTarget)
	f := newFixture(t, fixtureOpts{seed: "targets", targets: []prevoir.Target{hosp}})
	var fc web.ForecastResponse
	f.getJSON(t, "/api/v1/forecast", 200, &fc)
	if fc.RegisteredModel != seed.SecondTarget {
		t.Errorf("the only served target is not the default: %s", fc.RegisteredModel)
	}
	var e web.ErrorResponse
	f.getJSON(t, "/api/v1/forecast?target="+prevoir.DefaultTarget, 400, &e)
	if !strings.Contains(e.Error, "serves hosp") {
		t.Errorf("a target not served: %+v", e)
	}
	var ts web.TargetsResponse
	f.getJSON(t, "/api/v1/targets", 200, &ts)
	if ts.Default != seed.SecondTarget || len(ts.Targets) != 1 {
		t.Errorf("targets = %+v", ts)
	}

	cfg := storesConfig(f.env)
	cfg.Targets = []prevoir.Target{hosp, hosp}
	if _, err := web.New(cfg); prevoir.ErrorCode(err) != prevoir.EINVALID {
		t.Errorf("a target served twice: %v", err)
	}
	cfg.Targets = []prevoir.Target{{Name: "beds"}}
	if _, err := web.New(cfg); prevoir.ErrorCode(err) != prevoir.EINVALID || !strings.Contains(err.Error(), "beds") {
		t.Errorf("an unknown target served: %v", err)
	}
}

// TestPromoteTakesTheTarget promotes a version of the second target: its champion moves, the
// default target's does not.
func TestPromoteTakesTheTarget(t *testing.T) {
	f := newFixture(t, fixtureOpts{seed: "targets", token: testToken})
	auth := map[string]string{"Authorization": "Bearer " + testToken}
	status, _, body := f.post(t, "/api/v1/actions/promote", "application/json", `{"target": "hosp", "version": 1, "reason": "test"}`, auth)
	if status != 200 {
		t.Fatalf("promote hosp v1: %d %s", status, body)
	}
	var resp web.ActionResponse
	if err := json.Unmarshal(body, &resp); err != nil {
		t.Fatal(err)
	}
	if resp.Change == nil || resp.Change.Model != seed.SecondTarget || resp.Change.Version != 1 || !strings.Contains(resp.Message, "of hosp") {
		t.Errorf("promote hosp v1: %+v", resp)
	}
	ctx := context.Background()
	for name, want := range map[string]int{seed.SecondTarget: 1, prevoir.DefaultTarget: 2} {
		v, err := f.env.Registry.ResolveAlias(ctx, name, prevoir.AliasChampion)
		if err != nil || v.Version != want {
			t.Errorf("champion of %s: %v, %v; want v%d", name, v, err, want)
		}
	}
	// The pages show it at once.
	var models web.ModelsResponse
	f.getJSON(t, "/api/v1/models?target=hosp", 200, &models)
	if models.Aliases[prevoir.AliasChampion] != 1 {
		t.Errorf("hosp's aliases after the promotion: %v", models.Aliases)
	}
	// The target is checked, in the body or the query, and both must agree.
	for _, c := range []struct{ path, body string }{
		{"/api/v1/actions/promote", `{"target": "beds", "version": 1}`},
		{"/api/v1/actions/promote?target=beds", `{"version": 1}`},
		{"/api/v1/actions/promote?target=hosp", `{"target": "rea", "version": 1}`},
	} {
		status, _, body := f.post(t, c.path, "application/json", c.body, auth)
		if status != 400 {
			t.Errorf("POST %s %s: %d %s", c.path, c.body, status, body)
		}
	}
}

// TestRefreshKeepsOnlyUnchangedAnswers: a refresh reuses the compressed bytes of the answers
// that did not change, and compresses anew those that did, for every target.
func TestRefreshKeepsOnlyUnchangedAnswers(t *testing.T) {
	f := newFixture(t, fixtureOpts{seed: "targets"})
	get := func(path string) (etag string, plain string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, f.ts.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Accept-Encoding", "gzip")
		status, h, body := send(t, &http.Client{Transport: &http.Transport{DisableCompression: true}}, req)
		if status != 200 || h.Get("Content-Encoding") != "gzip" {
			t.Fatalf("GET %s: %d, encoding %q", path, status, h.Get("Content-Encoding"))
		}
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(zr)
		if err != nil {
			t.Fatal(err)
		}
		_, _, identity := f.get(t, path)
		if string(b) != string(identity) {
			t.Fatalf("GET %s: the gzipped answer is not the plain one", path)
		}
		return h.Get("ETag"), string(b)
	}
	paths := []string{"/api/v1/forecast", "/api/v1/forecast?target=hosp", "/api/v1/leaderboard?target=hosp"}
	before := map[string]string{}
	for _, p := range paths {
		before[p], _ = get(p)
	}
	if err := f.srv.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, p := range paths {
		if etag, _ := get(p); etag != before[p] {
			t.Errorf("GET %s: ETag %s after a refresh with no change, was %s", p, etag, before[p])
		}
	}
	// hosp's champion moves: its answers change (and decompress to the new bytes), the deaths' do not.
	if _, err := f.env.Registry.SetAlias(context.Background(), seed.SecondTarget, prevoir.AliasChampion, 1, "test"); err != nil {
		t.Fatal(err)
	}
	if err := f.srv.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, p := range paths {
		etag, body := get(p)
		if changed := etag != before[p]; changed != strings.Contains(p, "hosp") {
			t.Errorf("GET %s: ETag changed %v after hosp's promotion", p, changed)
		}
		var lb web.LeaderboardResponse
		if p == "/api/v1/leaderboard?target=hosp" && (json.Unmarshal([]byte(body), &lb) != nil || lb.Champion == nil || lb.Champion.Version != 1) {
			t.Errorf("hosp's leaderboard after the promotion: %.300s", body)
		}
	}
}
