package main

import (
	"context"
	"io"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/blobstore"
	"github.com/prevoir/prevoir/ingest"
	"github.com/prevoir/prevoir/internal/testutil"
	"github.com/prevoir/prevoir/jobs"
	"github.com/prevoir/prevoir/sqlstore"
	"github.com/prevoir/prevoir/tracking"
	"github.com/prevoir/prevoir/web"
)

// indicators writes the indicators file into dir, keeping the days up to last and multiplying
// the deaths of the days after from by factor.
func indicators(t *testing.T, dir, last, from string, factor float64) {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(string(testutil.ReadData(t, "table-indicateurs-open-data-france.csv"))), "\n")
	col := -1
	for i, h := range strings.Split(lines[0], ",") {
		if h == "incid_dchosp" {
			col = i
		}
	}
	out := []string{lines[0]}
	for _, l := range lines[1:] {
		f := strings.Split(l, ",")
		if f[0] > last {
			continue
		}
		if f[0] >= from && f[col] != "" {
			v, err := strconv.ParseFloat(f[col], 64)
			if err != nil {
				t.Fatal(err)
			}
			f[col] = strconv.FormatFloat(v*factor, 'f', -1, 64)
		}
		out = append(out, strings.Join(f, ","))
	}
	if err := os.WriteFile(filepath.Join(dir, "table-indicateurs-open-data-france.csv"), []byte(strings.Join(out, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestMonitoringDrift: outcomes far from the forecast raise the drift alert, which the score
// flow reports, the score job answers with an early training, and the server shows on its
// pages and in /metrics.
func TestMonitoringDrift(t *testing.T) {
	c := newCLI(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "sp-fra-jour.csv"), testutil.ReadData(t, "sp-fra-jour.csv"), 0o644); err != nil {
		t.Fatal(err)
	}
	indicators(t, dir, "2022-11-30", "9999", 1)
	c.ok("run", "ingest", "--source-dir", dir)
	c.ok("run", "train", "--source-dir", dir, "--models", "snaive", "--train-origins", "3")
	c.ok("run", "forecast", "--source-dir", dir)
	// Two weeks later, ten times the deaths forecast.
	indicators(t, dir, "2022-12-14", "2022-12-01", 10)
	c.ok("run", "ingest", "--source-dir", dir)

	out := c.ok("run", "score", "--source-dir", dir)
	if !strings.Contains(out, "scored 14 forecast days") || !strings.Contains(out, "ALERT model_drift incid_dchosp v1 (snaive)") {
		t.Fatalf("score:\n%s", out)
	}

	// The score job queues an early training.
	ctx := context.Background()
	db, blobs := c.stores()
	q, err := jobs.Open(ctx, db, nil, jobs.DefaultConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	if _, _, err := q.Insert(ctx, jobs.ScoreArgs{Trigger: "test"}); err != nil {
		t.Fatal(err)
	}
	worker := exec.Command(buildBinary(t), "--home", c.home, "--log-level", "warn", "worker", "--source-dir", dir, "--models", "snaive", "--train-origins", "3")
	if err := worker.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { worker.Process.Kill(); worker.Wait() }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		list, err := q.Jobs(ctx, 20)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, j := range list {
			found = found || (j.Kind == jobs.KindTrain && strings.Contains(string(j.EncodedArgs), `"drift"`))
		}
		if found {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no early training queued:\n%s", c.ok("jobs"))
		}
		time.Sleep(200 * time.Millisecond)
	}

	// The server shows it.
	get := serveHome(t, db, blobs, &web.QueueActions{Queue: q, Registry: sqlstore.NewRegistry(db)})
	m := get("/metrics")
	if !strings.Contains(m, `prevoir_alerts{kind="model_drift"} 1`) {
		t.Errorf("metrics lack the alert:\n%s", grepLines(m, "alert"))
	}
	// The Prometheus rules and the Grafana dashboard in deploy/ use only metrics the server
	// exports.
	families := map[string]bool{}
	for _, l := range strings.Split(m, "\n") {
		if f := strings.Fields(l); len(f) >= 3 && f[0] == "#" && f[1] == "TYPE" {
			families[f[2]] = true
		}
	}
	for _, file := range []string{"prometheus-rules.yaml", "grafana-dashboard.json"} {
		b, err := os.ReadFile(filepath.Join(testutil.ModuleRoot(t), "deploy", file))
		if err != nil {
			t.Fatal(err)
		}
		used := regexp.MustCompile(`prevoir_[a-z0-9_]+`).FindAllString(string(b), -1)
		if len(used) == 0 {
			t.Errorf("%s uses no prevoir metric", file)
		}
		for _, name := range used {
			base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(name, "_bucket"), "_sum"), "_count")
			if !families[base] {
				t.Errorf("deploy/%s uses %s, which /metrics does not export", file, name)
			}
		}
	}
	if page := get("/"); !strings.Contains(page, "Needs attention") || !strings.Contains(page, "live MAE") {
		t.Error("the dashboard does not show the alert")
	}
	if api := get("/api/v1/alerts"); !strings.Contains(api, `"kind":"model_drift"`) {
		t.Errorf("alerts API: %s", api)
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// serveHome serves a home's stores as prevoir serve would (without its worker) and returns a
// function that GETs a path and returns the body.
func serveHome(t *testing.T, db *sqlstore.DB, blobs *blobstore.Store, actions web.Actions) func(path string) string {
	t.Helper()
	_, hs := startHomeServer(t, db, blobs, actions)
	return func(path string) string {
		t.Helper()
		return getBody(t, hs, path)
	}
}

// getBody GETs a path of hs and returns the body.
func getBody(t *testing.T, hs *httptest.Server, path string) string {
	t.Helper()
	r, err := hs.Client().Get(hs.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	return string(b)
}

// homeAdminToken is the admin token of the servers startHomeServer starts.
const homeAdminToken = "test-admin-token-0123456789"

// startHomeServer serves a home's stores as prevoir serve would (without its worker, nor its
// periodic refresh: call Refresh) until the test ends.
func startHomeServer(t *testing.T, db *sqlstore.DB, blobs *blobstore.Store, actions web.Actions) (*web.Server, *httptest.Server) {
	t.Helper()
	ctx := context.Background()
	svc := &ingest.Service{Snapshots: sqlstore.NewSnapshotStore(db), Blobs: blobs}
	srv, err := web.New(web.Config{Snapshots: svc.Snapshots, Runs: sqlstore.NewRunStore(db), Registry: sqlstore.NewRegistry(db),
		Forecasts: sqlstore.NewForecastStore(db), Artifacts: &tracking.Tracker{Runs: sqlstore.NewRunStore(db), Blobs: blobs},
		Frame: func(ctx context.Context) (*prevoir.Frame, error) {
			return svc.Frame(ctx, prevoir.DefaultSources(), prevoir.DefaultFrameOptions())
		},
		Actions: actions, AdminToken: homeAdminToken})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	return srv, hs
}
