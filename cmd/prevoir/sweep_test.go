package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/blobstore"
	"github.com/prevoir/prevoir/internal/testutil"
	"github.com/prevoir/prevoir/internal/testutil/s3server"
	"github.com/prevoir/prevoir/sqlstore"
	"github.com/prevoir/prevoir/tracking"
)

// TestArtifactsSweepCommand: "prevoir artifacts sweep" keeps everything within the grace
// period; past it, a dry run lists a failed run's artifact and an object no record refers to
// and removes nothing; the sweep removes them and nothing that a registered version needs.
func TestArtifactsSweepCommand(t *testing.T) {
	c := newCLI(t)
	ids := seedRegistry(t, c)
	ctx := context.Background()
	db, blobs := c.stores()
	tr := &tracking.Tracker{Runs: sqlstore.NewRunStore(db), Blobs: blobs}
	r, err := tr.Start(ctx, &prevoir.Run{Kind: prevoir.RunTrain, Name: "tcn"})
	if err != nil {
		t.Fatal(err)
	}
	a, err := r.LogArtifact(ctx, prevoir.BacktestArtifact, []byte(`{"models":[]}`))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.End(ctx, errors.New("fit tcn: boom")); err != nil {
		t.Fatal(err)
	}
	orphan := tracking.ArtifactKey(prevoir.NewRunID(), "model.bin")
	if err := blobs.Put(ctx, orphan, []byte("weights whose record never landed")); err != nil {
		t.Fatal(err)
	}
	exists := func(key string) bool {
		_, err := os.Stat(filepath.Join(c.home, "artifacts", filepath.FromSlash(key)))
		return err == nil
	}

	if out := c.ok("artifacts", "sweep"); !strings.Contains(out, "removed 0 objects, 0 bytes") {
		t.Errorf("sweep within the grace period:\n%s", out)
	}
	out := c.ok("artifacts", "sweep", "--older-than", "0s", "--dry-run")
	if !strings.Contains(out, a.BlobKey) || !strings.Contains(out, orphan) || !strings.Contains(out, "would remove 2 objects") ||
		!strings.Contains(out, "run "+r.ID+" failed") || !strings.Contains(out, "no record refers to it") {
		t.Errorf("dry run:\n%s", out)
	}
	if !exists(a.BlobKey) || !exists(orphan) {
		t.Fatal("the dry run removed objects")
	}

	var rep tracking.SweepReport
	c.okJSON(&rep, "artifacts", "sweep", "--older-than", "0s", "--json")
	wantBytes := int64(len(`{"models":[]}`) + len("weights whose record never landed"))
	if rep.DryRun || rep.Objects != 2 || rep.Bytes != wantBytes || len(rep.FailedRunArtifacts) != 1 || rep.FailedRunArtifacts[0].RunID != r.ID {
		t.Errorf("sweep report %+v, want 2 objects, %d bytes, one of run %s", rep, wantBytes, r.ID)
	}
	if exists(a.BlobKey) || exists(orphan) {
		t.Error("the sweep left the failed run's artifact or the orphan")
	}
	if out := c.ok("runs", "show", r.ID); strings.Contains(out, prevoir.BacktestArtifact) {
		t.Errorf("the failed run still lists its swept artifact:\n%s", out)
	}
	for _, id := range ids {
		if b := c.ok("artifacts", "get", id, "model.bin"); !strings.HasPrefix(b, "weights of ") {
			t.Errorf("registered run %s: model.bin %q", id, b)
		}
	}
	if code, _, errs := c.run("artifacts", "sweep", "--older-than", "-1h"); code != exitUsage || !strings.Contains(errs, "--older-than") {
		t.Errorf("negative --older-than: exit %d\n%s", code, errs)
	}
}

// TestTrainingSweeps: a training sweeps after its champion selection: the old bytes of a write
// whose record never landed go, fresh ones (a write in progress elsewhere) stay.
func TestTrainingSweeps(t *testing.T) {
	c := newCLI(t)
	data := testutil.DataDir(t)
	c.ok("run", "ingest", "--source-dir", data)
	write := func(mtime time.Time) string {
		t.Helper()
		p := filepath.Join(c.home, "artifacts", filepath.FromSlash(tracking.ArtifactKey(prevoir.NewRunID(), "model.bin")))
		testutil.WriteFileAt(t, p, []byte("orphan"), mtime)
		return p
	}
	old, fresh := write(time.Now().Add(-48*time.Hour)), write(time.Now())
	c.ok("run", "train", "--source-dir", data, "--models", "snaive", "--train-origins", "2")
	if _, err := os.Stat(old); !os.IsNotExist(err) {
		t.Errorf("the training did not sweep an old orphan: %v", err)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("the training swept a fresh object: %v", err)
	}
}

// TestBucketCheck: a command that writes refuses a missing bucket, naming it and how to create
// it, and creates it with --create-bucket; a command that only reads does not check; an
// unreachable store does not stop a command that writes.
func TestBucketCheck(t *testing.T) {
	srv := s3server.Start(t) // no bucket
	srv.SetEnv(t)
	data := testutil.DataDir(t)
	c := newCLI(t)
	c.env["PREVOIR_ARTIFACTS"] = srv.BucketURL("prevoir")

	code, _, errs := c.run("ingest", "--source-dir", data)
	if code != exitFailure {
		t.Fatalf("ingest into a missing bucket: exit %d\n%s", code, errs)
	}
	for _, want := range []string{"bucket prevoir does not exist", "aws s3 mb s3://prevoir --endpoint-url " + srv.URL, "--create-bucket", "PREVOIR_CREATE_BUCKET=true"} {
		if !strings.Contains(errs, want) {
			t.Errorf("missing bucket: the error lacks %q:\n%s", want, errs)
		}
	}
	if snaps := c.ok("snapshots", "--json"); strings.TrimSpace(snaps) != "[]" { // read-only: no check
		t.Errorf("snapshots after the refused ingest:\n%s", snaps)
	}

	c.env["PREVOIR_CREATE_BUCKET"] = "true"
	c.ok("ingest", "--source-dir", data)
	st, err := blobstore.Open(context.Background(), srv.BucketURL("prevoir"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if keys, err := st.List(context.Background(), "snapshots/"); err != nil || len(keys) != 2 {
		t.Errorf("snapshots in the created bucket: %q, %v", keys, err)
	}

	// The store is down when a command that writes starts: it warns, and goes on.
	c2 := newCLI(t)
	seedRegistry(t, c2)
	down := &s3server.Server{URL: "http://" + testutil.FreeAddr(t)}
	c2.env["PREVOIR_ARTIFACTS"] = down.BucketURL("prevoir")
	code, out, errs := c2.run("models", "promote", "incid_dchosp", "1")
	if code != exitOK || !strings.Contains(out, "v2 -> v1") || !strings.Contains(errs, "artifact store not reachable") {
		t.Errorf("promote with the store down: exit %d\n%s\n%s", code, out, errs)
	}
}
