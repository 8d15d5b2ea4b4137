package web_test

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/internal/testutil/seed"
	"github.com/prevoir/prevoir/web"
)

// TestPromoteAppliesTheChampionRule: the API refuses to promote a point-only version (its
// backtest has no interval coverage), with 409 and why, and changes nothing; with "force" it
// promotes it and the alias history records what was overridden. The form does the same.
func TestPromoteAppliesTheChampionRule(t *testing.T) {
	f := newFixture(t, fixtureOpts{seed: "standard", token: testToken})
	ctx := context.Background()
	auth := map[string]string{"Authorization": "Bearer " + testToken}

	// A network registered with its backtest measures: no coverage, it has no interval.
	r, err := f.env.Tracker.Start(ctx, &prevoir.Run{Kind: prevoir.RunTrain, Name: "tcn"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.LogArtifact(ctx, prevoir.ModelSpecArtifact, []byte(`{"family":"tcn"}`)); err != nil {
		t.Fatal(err)
	}
	if err := r.End(ctx, nil); err != nil {
		t.Fatal(err)
	}
	net := &prevoir.ModelVersion{Model: seed.Model, Family: "tcn", RunID: r.ID, ArtifactPath: prevoir.ModelSpecArtifact, Metrics: map[string]float64{"mae": 9.5, "wis": 9.5}}
	if err := f.env.Registry.CreateModelVersion(ctx, net); err != nil {
		t.Fatal(err)
	}

	body := `{"version": ` + strconv.Itoa(net.Version) + `}`
	status, _, out := f.post(t, "/api/v1/actions/promote", "application/json", body, auth)
	var e web.ErrorResponse
	if status != 409 || json.Unmarshal(out, &e) != nil || !strings.Contains(e.Error, "point forecasts only, no prediction interval") || !strings.Contains(e.Error, `"force": true`) {
		t.Fatalf("promote a point-only version: %d %s", status, out)
	}
	if v, err := f.env.Registry.ResolveAlias(ctx, seed.Model, prevoir.AliasChampion); err != nil || v.Version != f.seeded.Champion.Version {
		t.Fatalf("champion after a refused promotion: %+v %v", v, err)
	}

	status, _, out = f.post(t, "/api/v1/actions/promote", "application/json", `{"version": `+strconv.Itoa(net.Version)+`, "reason": "try the network", "force": true}`, auth)
	var ar web.ActionResponse
	if status != 200 || json.Unmarshal(out, &ar) != nil || ar.Change == nil || ar.Change.Version != net.Version || !strings.Contains(ar.Message, "forced") {
		t.Fatalf("forced promotion: %d %s", status, out)
	}
	hist, err := f.env.Registry.AliasHistory(ctx, seed.Model, prevoir.AliasChampion)
	if err != nil || !strings.Contains(hist[0].Reason, "try the network") || !strings.Contains(hist[0].Reason, "forced over the champion rule") ||
		!strings.Contains(hist[0].Reason, "point forecasts only") {
		t.Errorf("alias history after a forced promotion: %+v %v", hist, err)
	}

	// Versions that pass the gate are promoted without force, from the form too.
	status, _, out = f.post(t, "/api/v1/actions/promote", "application/x-www-form-urlencoded", "version=3&token="+testToken, nil)
	if status >= 400 {
		t.Fatalf("form promotion of an eligible version: %d %s", status, out)
	}
	if v, err := f.env.Registry.ResolveAlias(ctx, seed.Model, prevoir.AliasChampion); err != nil || v.Version != 3 {
		t.Fatalf("champion after the form's promotion: %+v %v", v, err)
	}
	if status, _, out := f.post(t, "/api/v1/actions/promote", "application/x-www-form-urlencoded", "version=3&force=maybe&token="+testToken, nil); status != 400 || !strings.Contains(string(out), "force") {
		t.Errorf("form with force=maybe: %d %s", status, out)
	}
}
