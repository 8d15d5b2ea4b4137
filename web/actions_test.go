package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/internal/testutil/seed"
	"github.com/prevoir/prevoir/web"
)

// assertNothingChanged checks that no job was queued and that the champion is still want.
func assertNothingChanged(t *testing.T, f *fixture, want int) {
	t.Helper()
	ctx := context.Background()
	if f.queue != nil {
		jobs, err := f.queue.Jobs(ctx, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(jobs) != 0 {
			t.Errorf("%d jobs queued by refused actions: first %s", len(jobs), jobs[0].Kind)
		}
	}
	v, err := f.env.Registry.ResolveAlias(ctx, seed.Model, prevoir.AliasChampion)
	if err != nil || v.Version != want {
		t.Errorf("champion = %+v, %v; want version %d", v, err, want)
	}
	hist, err := f.env.Registry.AliasHistory(ctx, seed.Model, prevoir.AliasChampion)
	if err != nil || len(hist) != 2 {
		t.Errorf("champion history: %d changes, %v", len(hist), err)
	}
}

func TestActionsRefusedWithoutTheToken(t *testing.T) {
	f := newFixture(t, fixtureOpts{seed: "standard", token: testToken})
	promote := `{"version": 3, "reason": "try theta"}`
	for _, tc := range []struct {
		name   string
		method string
		path   string
		ctype  string
		body   string
		header map[string]string
		status int
	}{
		{"no token", "POST", "/api/v1/actions/refresh", "", "", nil, 401},
		{"no token promote", "POST", "/api/v1/actions/promote", "application/json", promote, nil, 401},
		{"wrong token", "POST", "/api/v1/actions/retrain", "", "", map[string]string{"Authorization": "Bearer nope"}, 403},
		{"wrong token promote", "POST", "/api/v1/actions/promote", "application/json", promote, map[string]string{"Authorization": "Bearer " + testToken + "x"}, 403},
		{"token prefix", "POST", "/api/v1/actions/promote", "application/json", promote, map[string]string{"Authorization": "Bearer " + testToken[:5]}, 403},
		{"basic auth", "POST", "/api/v1/actions/refresh", "", "", map[string]string{"Authorization": "Basic " + testToken}, 401},
		{"token in the query", "POST", "/api/v1/actions/refresh?token=" + testToken, "", "", nil, 401},
		{"GET with the token", "GET", "/api/v1/actions/refresh", "", "", map[string]string{"Authorization": "Bearer " + testToken}, 405},
		{"PUT with the token", "PUT", "/api/v1/actions/promote", "application/json", promote, map[string]string{"Authorization": "Bearer " + testToken}, 405},
		{"form, wrong token", "POST", "/actions/promote", "application/x-www-form-urlencoded", url.Values{"version": {"3"}, "token": {"wrong"}}.Encode(), nil, 403},
		{"form, no token", "POST", "/actions/refresh", "application/x-www-form-urlencoded", "", nil, 401},
		{"form by GET", "GET", "/actions/refresh?token=" + testToken, "", "", nil, 405},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, f.ts.URL+tc.path, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if tc.ctype != "" {
				req.Header.Set("Content-Type", tc.ctype)
			}
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			status, h, body := f.do(t, req)
			if status != tc.status {
				t.Errorf("%s %s: %d, want %d: %s", tc.method, tc.path, status, tc.status, body)
			}
			if status == 401 && h.Get("WWW-Authenticate") == "" {
				t.Errorf("401 without WWW-Authenticate")
			}
			if status == 405 && !strings.Contains(h.Get("Allow"), "POST") {
				t.Errorf("405 with Allow %q", h.Get("Allow"))
			}
			if strings.HasPrefix(tc.path, "/api/") {
				var e web.ErrorResponse
				if err := json.Unmarshal(body, &e); err != nil || e.Error == "" {
					t.Errorf("API refusal is not a JSON error: %s", body)
				}
			}
			assertNothingChanged(t, f, 2)
		})
	}
}

func TestActionsDisabled(t *testing.T) {
	for name, o := range map[string]fixtureOpts{
		"no token":   {seed: "standard"},
		"no actions": {seed: "standard", token: testToken, noActions: true},
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, o)
			auth := map[string]string{"Authorization": "Bearer " + testToken}
			for _, p := range []string{"/api/v1/actions/refresh", "/api/v1/actions/retrain"} {
				status, _, body := f.post(t, p, "", "", auth)
				var e web.ErrorResponse
				if status != 403 || json.Unmarshal(body, &e) != nil || e.Code != "disabled" {
					t.Errorf("POST %s: %d %s", p, status, body)
				}
			}
			status, _, _ := f.post(t, "/api/v1/actions/promote", "application/json", `{"version": 3}`, auth)
			if status != 403 {
				t.Errorf("promote: %d", status)
			}
			// An empty bearer token never matches an empty configured token.
			if status, _, _ := f.post(t, "/api/v1/actions/refresh", "", "", map[string]string{"Authorization": "Bearer "}); status != 403 {
				t.Errorf("empty token: %d", status)
			}
			wantError(t, f, "/api/v1/jobs/1", 404, "disabled")
			_, _, page := f.get(t, "/actions")
			if !strings.Contains(string(page), "Actions are disabled") || strings.Contains(string(page), "<form") {
				t.Errorf("actions page does not say they are disabled")
			}
			assertNothingChanged(t, f, 2)
		})
	}
}

func TestActionsQueueJobsAndPromote(t *testing.T) {
	f := newFixture(t, fixtureOpts{seed: "standard", token: testToken})
	ctx := context.Background()
	auth := map[string]string{"Authorization": "Bearer " + testToken}

	// Refresh: an ingest job is queued; its state is readable; asking again gives the same job.
	status, h, body := f.post(t, "/api/v1/actions/refresh", "", "", auth)
	var ar web.ActionResponse
	if status != 202 || json.Unmarshal(body, &ar) != nil || ar.JobID == 0 || ar.StatusURL != "/api/v1/jobs/"+strconv.FormatInt(ar.JobID, 10) || h.Get("Location") != ar.StatusURL {
		t.Fatalf("refresh: %d %s", status, body)
	}
	job, err := f.queue.Job(ctx, ar.JobID)
	if err != nil || job.Kind != "ingest" || job.State != "available" || !strings.Contains(string(job.EncodedArgs), `"manual"`) {
		t.Fatalf("queued job: %+v, %v", job, err)
	}
	var js prevoir.JobStatus
	f.getJSON(t, ar.StatusURL, 200, &js)
	if js.ID != ar.JobID || js.Kind != "ingest" || js.State != "available" || js.Done {
		t.Errorf("job status %+v", js)
	}
	_, _, body = f.post(t, "/api/v1/actions/refresh", "", "", auth)
	var again web.ActionResponse
	if json.Unmarshal(body, &again) != nil || again.JobID != ar.JobID {
		t.Errorf("second refresh while the first waits: %s", body)
	}

	// Retrain: a train job.
	status, _, body = f.post(t, "/api/v1/actions/retrain", "", "", auth)
	var tr web.ActionResponse
	if status != 202 || json.Unmarshal(body, &tr) != nil {
		t.Fatalf("retrain: %d %s", status, body)
	}
	if job, err := f.queue.Job(ctx, tr.JobID); err != nil || job.Kind != "train" || !strings.Contains(string(job.EncodedArgs), `"target":"incid_dchosp"`) {
		t.Errorf("retrain job (the default target's): %+v %v", job, err)
	}
	// target=all: one train job naming no target, which trains every configured target.
	status, _, body = f.post(t, "/api/v1/actions/retrain?target=all", "", "", auth)
	var all web.ActionResponse
	if status != 202 || json.Unmarshal(body, &all) != nil || !strings.Contains(all.Message, "every target") || all.JobID == tr.JobID {
		t.Fatalf("retrain every target: %d %s", status, body)
	}
	if job, err := f.queue.Job(ctx, all.JobID); err != nil || job.Kind != "train" || strings.Contains(string(job.EncodedArgs), `"target"`) {
		t.Errorf("retrain job of every target: %+v %v", job, err)
	}

	// Promote: the alias moves, the history records why, and the server shows it at once.
	status, _, body = f.post(t, "/api/v1/actions/promote", "application/json", `{"version": 3, "reason": "theta did better lately"}`, auth)
	var pr web.ActionResponse
	if status != 200 || json.Unmarshal(body, &pr) != nil || pr.Change == nil || pr.Change.Version != 3 || pr.Change.FromVersion != 2 {
		t.Fatalf("promote: %d %s", status, body)
	}
	v, err := f.env.Registry.ResolveAlias(ctx, seed.Model, prevoir.AliasChampion)
	if err != nil || v.Version != 3 {
		t.Fatalf("champion after promote: %+v %v", v, err)
	}
	var lb web.LeaderboardResponse
	f.getJSON(t, "/api/v1/leaderboard", 200, &lb)
	if lb.Champion == nil || lb.Champion.Version != 3 || !strings.Contains(lb.ChampionHistory[0].Reason, "theta did better lately") {
		t.Errorf("leaderboard after promote: %+v", lb.ChampionHistory)
	}
	var fc web.ForecastResponse
	f.getJSON(t, "/api/v1/forecast", 200, &fc)
	if fc.IsChampion || fc.Version != 2 {
		t.Errorf("the served forecast (v2) still claims to be the champion's")
	}

	// Bad promotions change nothing.
	for _, tc := range []struct {
		body   string
		status int
	}{
		{`{"version": 9}`, 404},
		{`{"version": "three"}`, 400},
		{`{"version": 0}`, 400},
		{`{"version": 2, "extra": true}`, 400},
		{`{"version": 2, "reason": "` + strings.Repeat("x", 600) + `"}`, 400},
		{`{"version": 2, "reason": "` + strings.Repeat("x", 70000) + `"}`, 413},
	} {
		if status, _, body := f.post(t, "/api/v1/actions/promote", "application/json", tc.body, auth); status != tc.status {
			t.Errorf("promote %.40s: %d, want %d: %s", tc.body, status, tc.status, body)
		}
	}
	if v, _ := f.env.Registry.ResolveAlias(ctx, seed.Model, prevoir.AliasChampion); v.Version != 3 {
		t.Errorf("a bad promotion moved the champion to %d", v.Version)
	}
	if status, _, _ := f.post(t, "/api/v1/actions/explode", "", "", auth); status != 404 {
		t.Errorf("unknown action: %d", status)
	}

	// The pages' forms: a queued job redirects to its page, which shows the state.
	form := url.Values{"token": {testToken}}.Encode()
	client := *f.ts.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	req, _ := http.NewRequest(http.MethodPost, f.ts.URL+"/actions/retrain", strings.NewReader(form))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/jobs/"+strconv.FormatInt(tr.JobID, 10) {
		t.Errorf("form retrain: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	status, _, page := f.get(t, "/jobs/"+strconv.FormatInt(tr.JobID, 10))
	if status != 200 || !strings.Contains(string(page), `id="job-state" class="state-available">available`) || !strings.Contains(string(page), `http-equiv="refresh"`) {
		t.Errorf("job page: %d\n%s", status, page)
	}
	form = url.Values{"token": {testToken}, "version": {"2"}, "reason": {"back to ets"}}.Encode()
	status, _, page = f.post(t, "/actions/promote", "application/x-www-form-urlencoded", form, nil)
	if status != 200 || !strings.Contains(string(page), "version 2 of incid_dchosp is now the champion") {
		t.Errorf("form promote: %d", status)
	}
	if v, _ := f.env.Registry.ResolveAlias(ctx, seed.Model, prevoir.AliasChampion); v.Version != 2 {
		t.Errorf("form promotion: champion %d", v.Version)
	}

	wantError(t, f, "/api/v1/jobs/999999", 404, "no job")
	wantError(t, f, "/api/v1/jobs/abc", 400, "job id")
	if status, _, _ := f.get(t, "/jobs/0"); status != 400 {
		t.Errorf("job page with a bad id: %d", status)
	}
}
