package web_test

import (
	"context"
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/prevoir/prevoir/internal/testutil/seed"
	"github.com/prevoir/prevoir/jobs"
	"github.com/prevoir/prevoir/web"
)

// TestPromotionServesTheChampionsForecast: a promotion from the API queues the new champion's
// forecast and says so; until it has run, the previous forecast is served marked as not the
// champion's, with a note; then the champion's is served. A champion promoted back serves its
// own forecast at once, although another version forecast after it.
func TestPromotionServesTheChampionsForecast(t *testing.T) {
	f := newFixture(t, fixtureOpts{seed: "standard", token: testToken})
	ctx := context.Background()
	auth := map[string]string{"Authorization": "Bearer " + testToken}
	served := func() web.ForecastResponse {
		t.Helper()
		var fc web.ForecastResponse
		f.getJSON(t, "/api/v1/forecast", 200, &fc)
		return fc
	}
	if fc := served(); fc.Version != 2 || !fc.IsChampion || fc.Note != "" {
		t.Fatalf("before: v%d, champion %v, note %q", fc.Version, fc.IsChampion, fc.Note)
	}

	status, _, body := f.post(t, "/api/v1/actions/promote", "application/json", `{"version": 3}`, auth)
	var pr web.ActionResponse
	if status != 200 || json.Unmarshal(body, &pr) != nil || pr.Change == nil || pr.Change.Version != 3 || pr.JobID == 0 ||
		pr.StatusURL != "/api/v1/jobs/"+strconv.FormatInt(pr.JobID, 10) || !strings.Contains(pr.Message, "its forecast is queued as job "+strconv.FormatInt(pr.JobID, 10)) {
		t.Fatalf("promote: %d %s", status, body)
	}
	job, err := f.queue.Job(ctx, pr.JobID)
	if err != nil {
		t.Fatal(err)
	}
	var args jobs.ForecastArgs
	if job.Kind != jobs.KindForecast || json.Unmarshal(job.EncodedArgs, &args) != nil || args.Champion != 3 || args.Trigger != "promotion" {
		t.Errorf("queued job: %s %s", job.Kind, job.EncodedArgs)
	}

	// Pending: v2's forecast, marked as not the champion's, everywhere it is shown.
	fc := served()
	if fc.Version != 2 || fc.IsChampion || !strings.Contains(fc.Note, "version 3 (theta) became the champion") || !strings.Contains(fc.Note, "pending") {
		t.Errorf("pending: v%d, champion %v, note %q", fc.Version, fc.IsChampion, fc.Note)
	}
	if _, _, page := f.get(t, "/"); !strings.Contains(string(page), "Version 3 (theta) has since become the champion, and its forecast is pending") {
		t.Error("the dashboard does not say that the champion's forecast is pending")
	}
	if _, _, m := f.get(t, "/metrics"); !strings.Contains(string(m), `prevoir_forecast_is_champion{model="incid_dchosp"} 0`) {
		t.Error("/metrics: the served forecast is not reported as not the champion's")
	}

	// The job has run (as the forecast flow stores it): the champion's forecast is served.
	last := f.seeded.Frame.Dates[f.seeded.Frame.Len()-1]
	v3 := f.env.Forecast(t, f.seeded.Frame, f.seeded.Versions[2], last)
	if err := f.srv.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if fc := served(); fc.Version != 3 || !fc.IsChampion || fc.Note != "" || fc.RunID != v3.RunID {
		t.Errorf("after the job: v%d (run %s), champion %v, note %q; want v3's (run %s)", fc.Version, fc.RunID, fc.IsChampion, fc.Note, v3.RunID)
	}
	if _, _, m := f.get(t, "/metrics"); !strings.Contains(string(m), `prevoir_forecast_is_champion{model="incid_dchosp"} 1`) {
		t.Error("/metrics: the champion's forecast is not reported as such")
	}

	// Back to v2 (from the pages' form): its forecast from the same origin is served at once,
	// and the answer says so.
	form := url.Values{"token": {testToken}, "version": {"2"}}.Encode()
	status, _, page := f.post(t, "/actions/promote", "application/x-www-form-urlencoded", form, nil)
	if status != 200 || !strings.Contains(string(page), "it had already forecast from the latest origin, and that forecast is served (job") || !strings.Contains(string(page), `href="/jobs/`) {
		t.Errorf("form promote: %d\n%s", status, page)
	}
	if fc := served(); fc.Version != 2 || !fc.IsChampion || fc.Note != "" || fc.RunID != f.seeded.Latest.RunID {
		t.Errorf("back to v2: v%d (run %s), champion %v, note %q; want v2's (run %s)", fc.Version, fc.RunID, fc.IsChampion, fc.Note, f.seeded.Latest.RunID)
	}
}

// TestChampionWithoutForecastIsPending: a champion chosen (a fresh deployment just trained) with
// no forecast yet is reported as such, not as "no model trained yet".
func TestChampionWithoutForecastIsPending(t *testing.T) {
	f := newFixture(t, fixtureOpts{seed: "data", prepare: func(t *testing.T, env *seed.Env) {
		v := env.Train(t, "ets", 11.5)
		env.Promote(t, v.Version, "champion rule")
	}})
	wantError(t, f, "/api/v1/forecast", 404, "version 1 (ets) is the champion of incid_dchosp and its first forecast is pending")
	var e web.ErrorResponse
	f.getJSON(t, "/api/v1/forecast?format=csv", 404, &e)
	if strings.Contains(e.Error, "no model trained") {
		t.Errorf("with a champion: %q", e.Error)
	}
	_, _, page := f.get(t, "/")
	if !strings.Contains(string(page), "its first forecast is pending") || strings.Contains(string(page), "No model trained yet") {
		t.Errorf("dashboard with a champion and no forecast:\n%s", page)
	}
}
