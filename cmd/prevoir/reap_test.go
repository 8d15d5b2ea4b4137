package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/internal/testutil"
	"github.com/prevoir/prevoir/internal/testutil/seed"
	"github.com/prevoir/prevoir/sqlstore"
)

// TestWritingCommandReapsOnlyGoneOwners: a command that writes, run just after a database
// outage (every heartbeat minutes old), marks failed the run of a process of this host that is
// gone, but not that of a live process nor that of another host's process silent for less
// than --abandon-after; a read-only command marks none.
func TestWritingCommandReapsOnlyGoneOwners(t *testing.T) {
	c := newCLI(t)
	data := testutil.DataDir(t)
	c.ok("ingest", "--source-dir", data)
	db, _ := c.stores()
	rs := sqlstore.NewRunStore(db)
	ctx := context.Background()

	runs := map[string]*prevoir.Run{}
	for name, owner := range map[string]string{
		"alive":     testutil.LiveOwner(t),
		"gone":      testutil.GoneOwner(t),
		"elsewhere": "elsewhere.invalid:7",
	} {
		r := &prevoir.Run{Kind: prevoir.RunTrain, Name: name, Owner: owner}
		if err := rs.CreateRun(ctx, r); err != nil {
			t.Fatal(err)
		}
		seed.SilenceRun(t, db, r.ID, 5*time.Minute)
		runs[name] = r
	}
	status := func(name string) prevoir.RunStatus {
		t.Helper()
		r, err := rs.FindRun(ctx, runs[name].ID)
		if err != nil {
			t.Fatal(err)
		}
		return r.Status
	}

	c.ok("runs", "list")
	if status("gone") != prevoir.RunRunning {
		t.Error("a read-only command reaped a run")
	}
	c.ok("ingest", "--source-dir", data)
	for name, want := range map[string]prevoir.RunStatus{"alive": prevoir.RunRunning, "gone": prevoir.RunFailed, "elsewhere": prevoir.RunRunning} {
		if got := status(name); got != want {
			t.Errorf("after a command that writes, the run of the %s process is %s, want %s", name, got, want)
		}
	}
	// Silent for longer than --abandon-after: another host's process counts as gone.
	c.ok("--abandon-after", "4m", "ingest", "--source-dir", data)
	if got := status("elsewhere"); got != prevoir.RunFailed {
		t.Errorf("with --abandon-after 4m, the run silent for 5 minutes is %s", got)
	}
	if code, _, errs := c.run("--abandon-after", "0s", "runs", "list"); code != exitUsage || !strings.Contains(errs, "abandon-after") {
		t.Errorf("--abandon-after 0s: exit %d: %s", code, errs)
	}
}

// TestRepeatedErrorsLoggedOnce: every command's logger holds back an error it has just logged.
func TestRepeatedErrorsLoggedOnce(t *testing.T) {
	var buf bytes.Buffer
	a := &app{stderr: &buf, logLevel: "info", logFormat: "json"}
	if err := a.setupLogging(); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		a.logger.Error("job queue: fetch failed", "err", errors.New("connection refused"))
		a.logger.Info("still here")
	}
	if n := strings.Count(buf.String(), "fetch failed"); n != 1 {
		t.Errorf("%d error lines, want 1:\n%s", n, buf.String())
	}
	if n := strings.Count(buf.String(), "still here"); n != 5 {
		t.Errorf("%d info lines, want 5", n)
	}
}
