package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river/rivertype"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/internal/testutil"
	"github.com/prevoir/prevoir/jobs"
)

// TestSecretsNeverLeak (issue 11): a server whose embedded worker ingests from a mirror whose
// URL carries a password, trains and forecasts, with a distinctive admin token, and that
// refuses attempts with a wrong one, leaves none of these secrets in any API answer or page,
// log line, run shown, printed configuration, job listing, database or artifact file, or
// backup. The runs' recorded configuration shows them as (set).
func TestSecretsNeverLeak(t *testing.T) {
	const (
		token    = "canary-admin-token-5f1d0c9e7b"
		wrong    = "canary-wrong-token-0a9b8c7d6e"
		mirrorPW = "canary-mirror-pw-3e4f"
	)
	secrets := []string{token, wrong, mirrorPW}
	// noSecret fails the test if text holds any of the secrets.
	noSecret := func(where, text string) {
		t.Helper()
		for _, s := range secrets {
			if strings.Contains(text, s) {
				t.Errorf("%s holds the secret %q", where, s)
			}
		}
	}

	c := newCLI(t)
	gouv := testutil.NewDataGouvServer(t, testutil.DataDir(t))
	mirror := strings.Replace(gouv.URL, "://", "://mirror:"+mirrorPW+"@", 1)
	bin := buildBinary(t)
	addr := testutil.FreeAddr(t)
	server := startProcess(t, bin, "server", []string{"PREVOIR_ADMIN_TOKEN=" + token, "PREVOIR_DATAGOUV_URL=" + mirror,
		"PREVOIR_ADDR=" + addr, "PREVOIR_MODELS=snaive,ets", "PREVOIR_TRAIN_ORIGINS=3", "PREVOIR_REFRESH_EVERY=1s",
		"PREVOIR_TARGETS=" + prevoir.DefaultTarget}, // one target: one selection
		"--home", c.home, "--log-format", "json", "--log-level", "debug", "serve")
	base := "http://" + addr
	waitForOK(t, 20*time.Second, base+"/healthz", server)

	db, _ := c.stores()
	queue, err := jobs.Open(context.Background(), db, nil, jobs.DefaultConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer queue.Close()
	// settle waits until the job is completed and every job queued is done with.
	settle := func(id int64) {
		t.Helper()
		waitFor(t, 60*time.Second, fmt.Sprintf("job %d and those it queued", id), func() bool {
			all, err := queue.Jobs(context.Background(), 100)
			if err != nil {
				t.Fatal(err)
			}
			completed := false
			for _, j := range all {
				switch j.State {
				case rivertype.JobStateCompleted:
					completed = completed || j.ID == id
				case rivertype.JobStateCancelled, rivertype.JobStateDiscarded:
					// A forecast before any champion is cancelled: expected.
				default:
					return false
				}
			}
			return completed
		}, server)
	}
	// client keeps a page action's redirect to its job page, which names the job.
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	// action asks for an action through the API (form false) or a page's form, and returns
	// the job queued, or 0 when refused with the status expected.
	action := func(name, tok string, form bool, want int) int64 {
		t.Helper()
		var req *http.Request
		if form {
			req, _ = http.NewRequest(http.MethodPost, base+"/actions/"+name, strings.NewReader(url.Values{"token": {tok}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		} else {
			req, _ = http.NewRequest(http.MethodPost, base+"/api/v1/actions/"+name, nil)
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		noSecret("the answer to POST "+req.URL.Path, string(body))
		if resp.StatusCode != want {
			t.Fatalf("POST %s: %d, want %d\n%s", req.URL.Path, resp.StatusCode, want, body)
		}
		if want >= 400 {
			return 0
		}
		loc := resp.Header.Get("Location")
		id, err := strconv.ParseInt(loc[strings.LastIndex(loc, "/")+1:], 10, 64)
		if err != nil {
			t.Fatalf("POST %s: Location %q", req.URL.Path, loc)
		}
		return id
	}

	action("refresh", wrong, false, http.StatusForbidden)
	action("retrain", wrong, true, http.StatusForbidden)
	jobIDs := []int64{action("refresh", token, false, http.StatusAccepted)}
	settle(jobIDs[0])
	jobIDs = append(jobIDs, action("retrain", token, true, http.StatusSeeOther))
	settle(jobIDs[1])
	jobIDs = append(jobIDs, action("refresh", token, false, http.StatusAccepted))
	settle(jobIDs[2])

	// Every run was recorded by the server, with its configuration: the secrets as (set).
	var runs []prevoir.Run
	c.okJSON(&runs, "runs", "list", "--json", "--limit", "0")
	kinds := map[prevoir.RunKind]int{}
	for _, r := range runs {
		kinds[r.Kind]++
		out := c.ok("runs", "show", r.ID, "--json")
		noSecret("runs show "+r.ID, out)
		noSecret("runs show "+r.ID+" (text)", c.ok("runs", "show", r.ID))
		var shown prevoir.Run
		if err := json.Unmarshal([]byte(out), &shown); err != nil {
			t.Fatal(err)
		}
		var cfg map[string]string
		if err := json.Unmarshal([]byte(shown.Config), &cfg); err != nil {
			t.Fatalf("run %s (%s): configuration %q: %v", r.ID, r.Kind, shown.Config, err)
		}
		if cfg["admin-token"] != prevoir.Redacted || cfg["datagouv-url"] != strings.Replace(gouv.URL, "://", "://mirror:(set)@", 1) {
			t.Errorf("run %s (%s): admin-token %q, datagouv-url %q", r.ID, r.Kind, cfg["admin-token"], cfg["datagouv-url"])
		}
	}
	if kinds[prevoir.RunIngest] < 2 || kinds[prevoir.RunTrain] < 2 || kinds[prevoir.RunSelect] != 1 || kinds[prevoir.RunForecast] < 1 {
		t.Errorf("runs by kind: %v, want ingests, trainings, a selection and a forecast", kinds)
	}

	// Every API answer and page, once the server's snapshot has every run (the forecast is
	// served since the training's selection queued it: it does not wait for the last refresh).
	waitForOK(t, 10*time.Second, base+"/api/v1/forecast", server)
	for _, r := range runs {
		waitForOK(t, 10*time.Second, base+"/api/v1/runs/"+r.ID, server)
	}
	get := func(path string) string {
		t.Helper()
		r, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(r.Body)
		r.Body.Close()
		if r.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %d\n%s", path, r.StatusCode, b)
		}
		noSecret("GET "+path, string(b))
		return string(b)
	}
	paths := []string{"/api/v1/", "/api/v1/forecast", "/api/v1/history", "/api/v1/forecasts", "/api/v1/leaderboard",
		"/api/v1/runs", "/api/v1/runs?format=csv", "/api/v1/models", "/api/v1/data", "/api/v1/snapshots", "/api/v1/alerts",
		"/healthz", "/readyz", "/metrics", "/", "/models", "/runs", "/data", "/actions"}
	for _, r := range runs {
		paths = append(paths, "/api/v1/runs/"+r.ID, "/runs/"+r.ID)
	}
	for _, id := range jobIDs {
		paths = append(paths, fmt.Sprintf("/api/v1/jobs/%d", id), fmt.Sprintf("/jobs/%d", id))
	}
	for _, p := range paths {
		get(p)
	}
	var models struct {
		Versions []struct {
			Version int `json:"version"`
		} `json:"versions"`
	}
	if err := json.Unmarshal([]byte(get("/api/v1/models")), &models); err != nil || len(models.Versions) == 0 {
		t.Fatalf("models: %+v, %v", models, err)
	}
	for _, v := range models.Versions {
		get(fmt.Sprintf("/api/v1/models/%d", v.Version))
	}
	server.stop(t)

	// Every log line, including the refused attempts'.
	logs := server.output()
	noSecret("the server's log", logs)
	if strings.Count(logs, `"msg":"action refused"`) != 2 || !strings.Contains(logs, "mirror:(set)@") {
		t.Errorf("the server's log lacks the refused actions or the fetches:\n%s", logs)
	}

	// What the commands print.
	c.env["PREVOIR_ADMIN_TOKEN"] = token
	c.env["PREVOIR_DATAGOUV_URL"] = mirror
	config := c.ok("config")
	noSecret("prevoir config", config)
	for _, line := range strings.Split(config, "\n") {
		if f := strings.Fields(line); len(f) > 2 && f[0] == "admin-token" && (f[1] != prevoir.Redacted || f[2] != "PREVOIR_ADMIN_TOKEN") {
			t.Errorf("prevoir config shows the admin token as %q", line)
		}
	}
	if !strings.Contains(config, prevoir.Redacted) {
		t.Errorf("prevoir config does not show the admin token as set:\n%s", config)
	}
	noSecret("prevoir jobs", c.ok("jobs", "--json"))
	noSecret("prevoir snapshots", c.ok("snapshots", "--json"))

	// Every file of the home and of a backup: the secrets were never written.
	backupDir := filepath.Join(t.TempDir(), "backup")
	c.ok("backup", backupDir)
	for _, dir := range []string{c.home, backupDir} {
		n := 0
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			n++
			noSecret(path, string(b))
			return nil
		})
		if err != nil || n < 3 {
			t.Errorf("%s: %d files read, %v", dir, n, err)
		}
	}
}

// TestConfigShowsSecretsAsSet: prevoir config shows a set admin token as (set), an unset one
// as empty, and database and object store URLs without their password and keys.
func TestConfigShowsSecretsAsSet(t *testing.T) {
	c := newCLI(t)
	c.env["PREVOIR_DB"] = "postgres://prevoir:db-canary-pw@db.example:5432/prevoir?sslmode=require"
	c.env["PREVOIR_ARTIFACTS"] = "s3://bucket?region=eu-west-3&secret_access_key=s3-canary-key"
	value := func(out, setting string) string {
		t.Helper()
		for _, line := range strings.Split(out, "\n") {
			if f := strings.Fields(line); len(f) > 0 && f[0] == setting {
				if strings.HasPrefix(f[1], "PREVOIR_") {
					return "" // no value: the next column is the variable
				}
				return f[1]
			}
		}
		t.Fatalf("no %s in:\n%s", setting, out)
		return ""
	}
	out := c.ok("config")
	if v := value(out, "admin-token"); v != "" {
		t.Errorf("unset admin-token shown as %q", v)
	}
	c.env["PREVOIR_ADMIN_TOKEN"] = "config-canary-admin-token"
	out = c.ok("config")
	for _, s := range []string{"db-canary-pw", "s3-canary-key", "config-canary-admin-token"} {
		if strings.Contains(out, s) {
			t.Errorf("prevoir config shows %q:\n%s", s, out)
		}
	}
	for setting, want := range map[string]string{
		"admin-token": "(set)",
		"db":          "postgres://prevoir:(set)@db.example:5432/prevoir?sslmode=require",
		"artifacts":   "s3://bucket?region=eu-west-3&secret_access_key=(set)",
	} {
		if v := value(out, setting); v != want {
			t.Errorf("%s shown as %q, want %q", setting, v, want)
		}
	}
}

// TestServeRefusesShortToken: an admin token shorter than 16 characters is a usage error that
// names where it came from and says why, before anything is opened or created.
func TestServeRefusesShortToken(t *testing.T) {
	for _, tc := range []struct {
		env    string
		args   []string
		origin string
	}{
		{"fifteen-chars..", nil, "env PREVOIR_ADMIN_TOKEN"},
		{"", []string{"--admin-token", "short"}, "flag --admin-token"},
	} {
		c := newCLI(t)
		c.env["PREVOIR_ADMIN_TOKEN"] = tc.env
		code, _, stderr := c.run(append([]string{"serve", "--addr", testutil.FreeAddr(t)}, tc.args...)...)
		if code != exitUsage || !strings.Contains(stderr, tc.origin+": admin token") || !strings.Contains(stderr, "at least 16") ||
			!strings.Contains(stderr, "brute force") || !strings.Contains(stderr, "openssl rand") {
			t.Errorf("serve with a short token (%s): exit %d\n%s", tc.origin, code, stderr)
		}
		if _, err := os.Stat(c.home); !os.IsNotExist(err) {
			t.Errorf("serve with a short token created its home: %v", err)
		}
	}
}
