package web_test

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/internal/testutil"
	"github.com/prevoir/prevoir/web"
)

// TestDatabaseOutageAnswers503: while PostgreSQL does not answer (its connections cut and
// refused), the actions and the job status answer 503 with Retry-After and say to retry, the
// cause is logged under the error id shown, the dashboard still answers from memory, and
// everything works again once the database is back.
func TestDatabaseOutageAnswers503(t *testing.T) {
	proxy, dbURL := testutil.ProxyTo(t, testutil.PostgresURL(t))
	f := newFixture(t, fixtureOpts{dbURL: dbURL, seed: "standard", token: testToken})
	auth := map[string]string{"Authorization": "Bearer " + testToken}

	proxy.Down()
	wantUnavailable := func(what string, status int, h map[string][]string, body []byte, api bool) {
		t.Helper()
		if status != 503 || len(h["Retry-After"]) != 1 || h["Retry-After"][0] != "5" {
			t.Fatalf("%s during the outage: %d, Retry-After %q: %.300s\n%s", what, status, h["Retry-After"], body, f.log.String())
		}
		if !strings.Contains(string(body), "the database or the artifact store is unreachable; retry shortly") {
			t.Errorf("%s: the answer does not say what is wrong: %.300s", what, body)
		}
		if strings.Contains(string(body), proxy.Addr) || strings.Contains(string(body), "connection refused") {
			t.Errorf("%s: the answer shows the cause: %.300s", what, body)
		}
		if !api {
			return
		}
		var e web.ErrorResponse
		if err := json.Unmarshal(body, &e); err != nil || e.Code != prevoir.EUNAVAILABLE || e.ErrorID == "" {
			t.Fatalf("%s: not a JSON error with a code and an id: %s", what, body)
		}
		if !strings.Contains(f.log.String(), `"error_id":"`+e.ErrorID+`"`) {
			t.Errorf("%s: error id %s is not in the log:\n%s", what, e.ErrorID, f.log.String())
		}
	}
	status, h, body := f.post(t, "/api/v1/actions/refresh", "", "", auth)
	wantUnavailable("POST refresh", status, h, body, true)
	status, h, body = f.get(t, "/api/v1/jobs/1")
	wantUnavailable("GET job", status, h, body, true)
	form := url.Values{"token": {testToken}}.Encode()
	status, h, body = f.post(t, "/actions/retrain", "application/x-www-form-urlencoded", form, nil)
	wantUnavailable("retrain form", status, h, body, false)
	if status, _, body := f.get(t, "/"); status != 200 {
		t.Errorf("dashboard during the outage: %d %.200s", status, body)
	}

	proxy.Up()
	deadline := time.Now().Add(30 * time.Second)
	for {
		status, _, body = f.post(t, "/api/v1/actions/refresh", "", "", auth)
		if status == 202 {
			break
		}
		if status != 503 || time.Now().After(deadline) {
			t.Fatalf("refresh after the outage: %d %s", status, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	var ar web.ActionResponse
	if err := json.Unmarshal(body, &ar); err != nil {
		t.Fatal(err)
	}
	var js prevoir.JobStatus
	f.getJSON(t, ar.StatusURL, 200, &js)
}
