package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river/rivertype"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/flow"
	"github.com/prevoir/prevoir/ingest"
	"github.com/prevoir/prevoir/internal/testutil"
	"github.com/prevoir/prevoir/jobs"
	"github.com/prevoir/prevoir/sqlstore"
	"github.com/prevoir/prevoir/tracking"
	"github.com/prevoir/prevoir/web"
)

// shownForecast is forecast show --json.
type shownForecast struct {
	prevoir.StoredForecast
	IsChampion bool   `json:"is_champion"`
	Note       string `json:"note"`
}

func (c *cli) shownForecast() shownForecast {
	c.t.Helper()
	var fc shownForecast
	c.okJSON(&fc, "forecast", "show", "--json")
	return fc
}

// forecastRuns counts the home's forecast runs.
func (c *cli) forecastRuns() int {
	c.t.Helper()
	var runs []prevoir.Run
	c.okJSON(&runs, "runs", "list", "--kind", "forecast", "--limit", "0", "--json")
	return len(runs)
}

// servedByAPI is the part of /api/v1/forecast these tests read.
type servedByAPI struct {
	Version    int    `json:"version"`
	IsChampion bool   `json:"is_champion"`
	Note       string `json:"note"`
	RunID      string `json:"run_id"`
	Origin     string `json:"origin"`
}

// TestServedForecastFollowsTheChampion: promote v1, forecast, promote v3, forecast, promote
// v1, forecast: what forecast show, the API and the dashboard serve is the champion's
// forecast each time, and a champion that has already forecast from the same data records
// nothing new.
func TestServedForecastFollowsTheChampion(t *testing.T) {
	c := newCLI(t)
	data := testutil.DataDir(t)
	c.ok("run", "ingest", "--source-dir", data)
	out := c.ok("run", "train", "--source-dir", data, "--models", "snaive,ets,theta", "--train-origins", "3")
	// The training's champion forecasts at once.
	if !strings.Contains(out, "changed: true") || !strings.Contains(out, "from 2022-12-31 made (run ") || !strings.Contains(out, "it is the forecast served now") {
		t.Fatalf("train:\n%s", out)
	}
	// ets (v2) is the champion on these data.
	if fc := c.shownForecast(); fc.Version != 2 || !fc.IsChampion || fc.Note != "" || fc.Origin.String() != "2022-12-31" {
		t.Fatalf("after training: v%d, champion %v, note %q", fc.Version, fc.IsChampion, fc.Note)
	}

	for i, v := range []int{1, 3, 1} {
		runs := c.forecastRuns()
		out := c.ok("models", "promote", "incid_dchosp", strconv.Itoa(v))
		again := c.ok("run", "forecast", "--source-dir", data)
		fc := c.shownForecast()
		if fc.Version != v || !fc.IsChampion || fc.Note != "" {
			t.Errorf("step %d: champion v%d, forecast show serves v%d (is_champion %v, note %q)", i+1, v, fc.Version, fc.IsChampion, fc.Note)
		}
		if !strings.Contains(again, "nothing recomputed") {
			t.Errorf("step %d: run forecast after the promotion recomputed:\n%s", i+1, again)
		}
		// The promotion forecast at once, except when v1 comes back: its forecast from the same
		// data is served, and no run is recorded.
		newRuns := 1
		if i == 2 {
			newRuns = 0
			if !strings.Contains(out, "v1 (snaive) from 2022-12-31 already made from this data (nothing recomputed)") {
				t.Errorf("promote back to v1:\n%s", out)
			}
		} else if !strings.Contains(out, "-> v"+strconv.Itoa(v)) || !strings.Contains(out, "made (run ") {
			t.Errorf("step %d: promote:\n%s", i+1, out)
		}
		if n := c.forecastRuns(); n != runs+newRuns {
			t.Errorf("step %d: %d forecast runs, want %d", i+1, n, runs+newRuns)
		}
	}
	// A rollback moves the champion back to v3, whose forecast is served again.
	if out := c.ok("models", "rollback", "incid_dchosp"); !strings.Contains(out, "v1 -> v3") || !strings.Contains(out, "v3 (theta) from 2022-12-31 already made") {
		t.Errorf("rollback:\n%s", out)
	}
	if fc := c.shownForecast(); fc.Version != 3 || !fc.IsChampion {
		t.Errorf("after the rollback: v%d, champion %v", fc.Version, fc.IsChampion)
	}

	db, blobs := c.stores()
	get := serveHome(t, db, blobs, nil)
	var api servedByAPI
	if err := json.Unmarshal([]byte(get("/api/v1/forecast")), &api); err != nil || api.Version != 3 || !api.IsChampion || api.Note != "" {
		t.Errorf("/api/v1/forecast: %+v, %v; want v3's, the champion's", api, err)
	}
	if page := get("/"); !strings.Contains(page, "by model version 3 (theta)") || strings.Contains(page, "become the champion") {
		t.Errorf("the dashboard does not serve the champion's forecast plainly")
	}
}

// TestPromotionWhoseForecastFails: a promoted version that cannot forecast (its model file is
// corrupted) is the champion, the command exits non-zero saying why, and the previous forecast
// is served marked as not the champion's.
func TestPromotionWhoseForecastFails(t *testing.T) {
	c := newCLI(t)
	data := testutil.DataDir(t)
	c.ok("run", "ingest", "--source-dir", data)
	c.ok("run", "train", "--source-dir", data, "--models", "snaive,ets", "--train-origins", "3")
	before := c.shownForecast()
	var reg struct {
		Versions []prevoir.ModelVersion `json:"versions"`
	}
	c.okJSON(&reg, "models", "show", "incid_dchosp", "--json")
	var other *prevoir.ModelVersion
	for i, v := range reg.Versions {
		if v.Version != before.Version {
			other = &reg.Versions[i]
		}
	}
	if other == nil {
		t.Fatalf("no version besides the champion v%d: %+v", before.Version, reg.Versions)
	}
	p := filepath.Join(c.home, "artifacts", "runs", other.RunID, "artifacts", other.ArtifactPath)
	if err := os.WriteFile(p, []byte(`{"family": "tampered"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs := c.run("models", "promote", "incid_dchosp", strconv.Itoa(other.Version))
	if code != 1 || !strings.Contains(out, "-> v"+strconv.Itoa(other.Version)) || !strings.Contains(errs, "the champion's forecast could not be made") {
		t.Errorf("promote: exit %d\n%s\n%s", code, out, errs)
	}
	fc := c.shownForecast()
	if fc.Version != before.Version || fc.IsChampion || !strings.Contains(fc.Note, fmt.Sprintf("version %d (%s) became the champion", other.Version, other.Family)) {
		t.Errorf("after the failed forecast: v%d, champion %v, note %q", fc.Version, fc.IsChampion, fc.Note)
	}
}

// TestPromotionAndRetrainQueueTheChampionsForecast: a promotion from the API, then a retraining
// from the API that changes the champion, each queue the champion's forecast, which the
// workers make: the API and forecast show then serve the champion's forecast. Until the
// promotion's job has run, the previous forecast is served marked as not the champion's.
func TestPromotionAndRetrainQueueTheChampionsForecast(t *testing.T) {
	c := newCLI(t)
	data := testutil.DataDir(t)
	c.ok("run", "ingest", "--source-dir", data)
	c.ok("run", "train", "--source-dir", data, "--models", "snaive,ets,theta", "--train-origins", "3")
	before := c.shownForecast()

	ctx := context.Background()
	db, blobs := c.stores()
	tr := &tracking.Tracker{Runs: sqlstore.NewRunStore(db), Blobs: blobs}
	reg := sqlstore.NewRegistry(db)
	f := &flow.Flows{Sources: prevoir.DefaultSources(), Tracker: tr, Registry: reg, Forecasts: sqlstore.NewForecastStore(db),
		Ingester:        &ingest.Service{Snapshots: sqlstore.NewSnapshotStore(db), Blobs: blobs},
		RegisteredModel: prevoir.DefaultTarget, FrameOptions: prevoir.DefaultFrameOptions()}
	p := &pipelineFlags{trainModels: "snaive,theta", train: flow.TrainOptions{Origins: 3}}
	cfg := jobs.DefaultConfig()
	cfg.Targets = []string{prevoir.DefaultTarget}
	q, err := jobs.Open(ctx, db, handlers(f, p), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	srv, hs := startHomeServer(t, db, blobs, &web.QueueActions{Queue: q, Registry: reg})
	post := func(action, body string) web.ActionResponse {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, hs.URL+"/api/v1/actions/"+action, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+homeAdminToken)
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := hs.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var ar web.ActionResponse
		if resp.StatusCode >= 300 || json.Unmarshal(b, &ar) != nil || ar.JobID == 0 {
			t.Fatalf("POST %s: %d %s", action, resp.StatusCode, b)
		}
		return ar
	}
	served := func() servedByAPI {
		t.Helper()
		if err := srv.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		var fc servedByAPI
		if err := json.Unmarshal([]byte(getBody(t, hs, "/api/v1/forecast")), &fc); err != nil {
			t.Fatal(err)
		}
		return fc
	}

	// The promotion queues v3's forecast; no worker runs yet, so v-before's is served, marked.
	promoted := post("promote", `{"version": 3}`)
	if !strings.Contains(promoted.Message, "its forecast is queued as job") {
		t.Errorf("promote: %q", promoted.Message)
	}
	if fc := served(); fc.Version != before.Version || fc.IsChampion || !strings.Contains(fc.Note, "version 3 (theta) became the champion") {
		t.Errorf("pending, by the API: %+v", fc)
	}
	if fc := c.shownForecast(); fc.Version != before.Version || fc.IsChampion || !strings.Contains(fc.Note, "pending") {
		t.Errorf("pending, by forecast show: v%d, champion %v, note %q", fc.Version, fc.IsChampion, fc.Note)
	}
	if out := c.ok("forecast", "show"); !strings.Contains(out, "Not the champion's forecast: made by version "+strconv.Itoa(before.Version)) {
		t.Errorf("forecast show while pending:\n%s", out)
	}

	if err := q.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer q.Stop(ctx)
	waitJob(t, q, promoted.JobID, time.Minute)
	if fc := served(); fc.Version != 3 || !fc.IsChampion || fc.Note != "" {
		t.Errorf("after the promotion's job: %+v", fc)
	}

	// A retraining that changes the champion (the hand-promoted v3 is retrained as a new
	// version) queues its forecast after the selection.
	retrain := post("retrain", "")
	waitJob(t, q, retrain.JobID, time.Minute)
	var champ *prevoir.ModelVersion
	var fc servedByAPI
	waitFor(t, time.Minute, "the new champion's forecast to be served", func() bool {
		if champ, err = reg.ResolveAlias(ctx, prevoir.DefaultTarget, prevoir.AliasChampion); err != nil {
			t.Fatal(err)
		}
		fc = served()
		return champ.Version > 3 && fc.Version == champ.Version
	})
	if !fc.IsChampion || fc.Note != "" || fc.Origin != "2022-12-31" {
		t.Errorf("after the retraining: %+v (champion v%d)", fc, champ.Version)
	}
	// River records a job's completion shortly after its work returns (completions are
	// batched): the forecast may be served before its job reads completed.
	waitFor(t, time.Minute, fmt.Sprintf("a completed forecast job queued by the selection for v%d", champ.Version), func() bool {
		list, err := q.Jobs(ctx, 50)
		if err != nil {
			t.Fatal(err)
		}
		for _, j := range list {
			var a jobs.ForecastArgs
			if j.Kind == jobs.KindForecast && json.Unmarshal(j.EncodedArgs, &a) == nil && a.Trigger == "champion" &&
				a.Champion == champ.Version && j.State == rivertype.JobStateCompleted {
				return true
			}
		}
		return false
	})
}
