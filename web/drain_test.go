package web_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/prevoir/prevoir/web"
)

// TestDrainRefusesActionsAndServesReads: while the server shuts down, actions answer 503 with
// Retry-After and change nothing, /readyz says it is stopping, and the API and the pages still
// answer.
func TestDrainRefusesActionsAndServesReads(t *testing.T) {
	f := newFixture(t, fixtureOpts{seed: "standard", token: testToken})
	f.getJSON(t, "/readyz", 200, nil)
	f.srv.Drain()

	auth := map[string]string{"Authorization": "Bearer " + testToken}
	for _, p := range []string{"/api/v1/actions/refresh", "/api/v1/actions/retrain"} {
		status, h, body := f.post(t, p, "", "", auth)
		var e web.ErrorResponse
		if status != 503 || h.Get("Retry-After") != "10" || json.Unmarshal(body, &e) != nil || e.Code != "unavailable" ||
			!strings.Contains(e.Error, "shutting down") {
			t.Errorf("POST %s while draining: %d, Retry-After %q, %s", p, status, h.Get("Retry-After"), body)
		}
	}
	status, h, body := f.post(t, "/actions/promote", "application/x-www-form-urlencoded", "version=3&token="+testToken, nil)
	if status != 503 || h.Get("Retry-After") != "10" || !strings.Contains(string(body), "shutting down") {
		t.Errorf("the promote form while draining: %d, Retry-After %q", status, h.Get("Retry-After"))
	}
	assertNothingChanged(t, f, 2)

	var ready struct{ Status string }
	f.getJSON(t, "/readyz", 503, &ready)
	if ready.Status != "stopping" {
		t.Errorf("/readyz while draining: %+v", ready)
	}
	var fc web.ForecastResponse
	f.getJSON(t, "/api/v1/forecast", 200, &fc)
	if status, _, _ := f.get(t, "/"); status != 200 {
		t.Errorf("GET / while draining: %d", status)
	}
}
