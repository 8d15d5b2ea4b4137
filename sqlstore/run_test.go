package sqlstore_test

import (
	"context"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/internal/testutil"
	"github.com/prevoir/prevoir/sqlstore"
)

// finishedRun creates a run with a model artifact and ends it.
func finishedRun(t *testing.T, rs *sqlstore.RunStore, name string) *prevoir.Run {
	t.Helper()
	ctx := context.Background()
	r := &prevoir.Run{Kind: prevoir.RunTrain, Name: name}
	if err := rs.CreateRun(ctx, r); err != nil {
		t.Fatal(err)
	}
	if err := rs.LogArtifact(ctx, prevoir.Artifact{RunID: r.ID, Path: "model.bin", BlobKey: "runs/" + r.ID + "/model.bin", SHA256: sha(1), Size: 3}); err != nil {
		t.Fatal(err)
	}
	if err := rs.EndRun(ctx, r.ID, prevoir.RunFinished, ""); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRunStore(t *testing.T) {
	testutil.ForEachDatabase(t, func(t *testing.T, url string) {
		ctx := context.Background()
		rs := sqlstore.NewRunStore(openDB(t, url))
		r := &prevoir.Run{Kind: prevoir.RunTrain, Name: "tcn", Target: prevoir.TargetHospitalised, Owner: "host:1",
			Params: map[string]string{"epochs": "100", "lr": "0.001"}, Tags: map[string]string{"trigger": "cron"},
			Lineage: prevoir.Lineage{Snapshots: map[string]string{"sidep": sha(2)}, FrameSHA256: sha(3), Config: `{"horizon":14}`, CodeVersion: "abc123"}}
		if err := rs.CreateRun(ctx, r); err != nil {
			t.Fatal(err)
		}
		if len(r.ID) != 32 || r.Status != prevoir.RunRunning || r.Experiment != "prevoir" {
			t.Fatalf("created %+v", r)
		}
		// Parameters are immutable; the same value again is fine.
		if err := rs.LogParams(ctx, r.ID, map[string]string{"epochs": "100", "seed": "0"}); err != nil {
			t.Fatal(err)
		}
		if err := rs.LogParams(ctx, r.ID, map[string]string{"epochs": "5"}); prevoir.ErrorCode(err) != prevoir.ECONFLICT {
			t.Errorf("changing a parameter: %v", err)
		}
		// A training curve, with a retried step and a NaN loss.
		ms := []prevoir.Metric{{Key: "loss", Step: 0, Value: 0.5}, {Key: "loss", Step: 1, Value: 0.25}, {Key: "loss", Step: 1, Value: 0.25}, {Key: "loss", Step: 2, Value: math.NaN()}, {Key: "mae", Value: 21.5}}
		if err := rs.LogMetrics(ctx, r.ID, ms); err != nil {
			t.Fatal(err)
		}
		got, err := rs.Metrics(ctx, r.ID, "loss")
		if err != nil || len(got) != 3 || got[1].Value != 0.25 || !math.IsNaN(got[2].Value) {
			t.Errorf("loss curve = %+v, %v", got, err)
		}
		if err := rs.SetTags(ctx, r.ID, map[string]string{"trigger": "manual"}); err != nil {
			t.Fatal(err)
		}
		if err := rs.EndRun(ctx, r.ID, prevoir.RunFinished, ""); err != nil {
			t.Fatal(err)
		}
		if err := rs.EndRun(ctx, r.ID, prevoir.RunFailed, "late"); prevoir.ErrorCode(err) != prevoir.ECONFLICT {
			t.Errorf("ending twice: %v", err)
		}
		if err := rs.LogMetrics(ctx, r.ID, []prevoir.Metric{{Key: "x", Value: 1}}); prevoir.ErrorCode(err) != prevoir.ECONFLICT {
			t.Errorf("metric on an ended run: %v", err)
		}
		f, err := rs.FindRun(ctx, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if f.Status != prevoir.RunFinished || f.EndedAt.IsZero() || f.Params["seed"] != "0" || f.Params["epochs"] != "100" ||
			f.Tags["trigger"] != "manual" || f.Snapshots["sidep"] != sha(2) || f.Target != prevoir.TargetHospitalised || f.CodeVersion != "abc123" || !f.StartedAt.Equal(r.StartedAt.Truncate(time.Microsecond)) && !f.StartedAt.Equal(r.StartedAt) {
			t.Errorf("found %+v", f)
		}
		if _, err := rs.FindRun(ctx, strings.Repeat("0", 32)); prevoir.ErrorCode(err) != prevoir.ENOTFOUND {
			t.Errorf("missing run: %v", err)
		}
		list, err := rs.ListRuns(ctx, prevoir.RunFilter{Kind: prevoir.RunTrain, Status: prevoir.RunFinished})
		if err != nil || len(list) != 1 {
			t.Errorf("list = %v, %v", list, err)
		}
		// Runs of another target, and an ingest (no target), beside it: the target filter
		// selects each target's runs, and no filter lists them all.
		other := &prevoir.Run{Kind: prevoir.RunTrain, Name: "ets", Target: prevoir.DefaultTarget}
		ingest := &prevoir.Run{Kind: prevoir.RunIngest, Name: "ingest"}
		for _, o := range []*prevoir.Run{other, ingest} {
			if err := rs.CreateRun(ctx, o); err != nil {
				t.Fatal(err)
			}
		}
		for target, want := range map[string][]string{prevoir.TargetHospitalised: {r.ID}, prevoir.DefaultTarget: {other.ID}, "": {r.ID, other.ID, ingest.ID}} {
			list, err := rs.ListRuns(ctx, prevoir.RunFilter{Target: target})
			var ids []string
			for _, l := range list {
				ids = append(ids, l.ID)
			}
			if err != nil || len(ids) != len(want) || !containsAll(ids, want) {
				t.Errorf("runs of target %q: %v, %v; want %v", target, ids, err, want)
			}
			for _, l := range list {
				if l.ID == ingest.ID && l.Target != "" || l.ID == other.ID && l.Target != prevoir.DefaultTarget {
					t.Errorf("listed %s with target %q", l.ID, l.Target)
				}
			}
		}
	})
}

func containsAll(have, want []string) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}

func TestReapRuns(t *testing.T) {
	testutil.ForEachDatabase(t, func(t *testing.T, url string) {
		ctx := context.Background()
		rs := sqlstore.NewRunStore(openDB(t, url))
		alive := &prevoir.Run{Kind: prevoir.RunTrain, Owner: "host:alive"}
		dead := &prevoir.Run{Kind: prevoir.RunTrain, Owner: "host:dead"}
		for _, r := range []*prevoir.Run{alive, dead} {
			if err := rs.CreateRun(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		reaped, err := rs.ReapRuns(ctx, time.Now().Add(-time.Hour), func(o string) bool { return o == "host:dead" })
		if err != nil || len(reaped) != 1 || reaped[0] != dead.ID {
			t.Fatalf("reaped %v, %v", reaped, err)
		}
		r, _ := rs.FindRun(ctx, dead.ID)
		if r.Status != prevoir.RunFailed || !strings.Contains(r.Error, "host:dead") {
			t.Errorf("dead run: %+v", r)
		}
		// A heartbeat older than the lease reaps the other one too.
		reaped, _ = rs.ReapRuns(ctx, time.Now().Add(time.Minute), func(string) bool { return false })
		if len(reaped) != 1 || reaped[0] != alive.ID {
			t.Errorf("stale heartbeat: reaped %v", reaped)
		}
	})
}

// TestHeartbeatRevivesAbandonedRun: a run reaped as abandoned while its owner was alive (it
// was silent through an outage) is that owner's again at its next heartbeat; an end is final
// for anyone else, and for any other failure.
func TestHeartbeatRevivesAbandonedRun(t *testing.T) {
	testutil.ForEachDatabase(t, func(t *testing.T, url string) {
		ctx := context.Background()
		rs := sqlstore.NewRunStore(openDB(t, url))
		r := &prevoir.Run{Kind: prevoir.RunTrain, Owner: "worker-1:42"}
		if err := rs.CreateRun(ctx, r); err != nil {
			t.Fatal(err)
		}
		if revived, err := rs.Heartbeat(ctx, r.ID, r.Owner); err != nil || revived {
			t.Fatalf("heartbeat of a running run: revived %v, %v", revived, err)
		}
		// Silent for longer than the reaper waits (the heartbeat is in its future).
		if reaped, err := rs.ReapRuns(ctx, time.Now().Add(time.Hour), nil); err != nil || len(reaped) != 1 {
			t.Fatalf("reaped %v, %v", reaped, err)
		}
		if err := rs.LogMetrics(ctx, r.ID, []prevoir.Metric{{Key: "loss", Value: 1}}); prevoir.ErrorCode(err) != prevoir.ECONFLICT {
			t.Fatalf("a reaped run took a metric: %v", err)
		}
		if _, err := rs.Heartbeat(ctx, r.ID, "worker-2:42"); prevoir.ErrorCode(err) != prevoir.ECONFLICT {
			t.Errorf("another process revived the run: %v", err)
		}
		revived, err := rs.Heartbeat(ctx, r.ID, r.Owner)
		if err != nil || !revived {
			t.Fatalf("the owner's heartbeat: revived %v, %v", revived, err)
		}
		got, _ := rs.FindRun(ctx, r.ID)
		if got.Status != prevoir.RunRunning || got.Error != "" || !got.EndedAt.IsZero() {
			t.Errorf("revived run: %s %q ended %v", got.Status, got.Error, got.EndedAt)
		}
		if err := rs.LogMetrics(ctx, r.ID, []prevoir.Metric{{Key: "loss", Value: 1}}); err != nil {
			t.Errorf("the revived run refuses a metric: %v", err)
		}
		if err := rs.LogArtifact(ctx, prevoir.Artifact{RunID: r.ID, Path: "model.bin", BlobKey: "runs/" + r.ID + "/model.bin", SHA256: sha(1), Size: 3}); err != nil {
			t.Errorf("the revived run refuses an artifact: %v", err)
		}
		if err := rs.EndRun(ctx, r.ID, prevoir.RunFinished, ""); err != nil {
			t.Fatal(err)
		}
		// Ended by its owner: final.
		if _, err := rs.Heartbeat(ctx, r.ID, r.Owner); prevoir.ErrorCode(err) != prevoir.ECONFLICT {
			t.Errorf("heartbeat of a finished run: %v", err)
		}
		failed := &prevoir.Run{Kind: prevoir.RunTrain, Owner: r.Owner}
		rs.CreateRun(ctx, failed)
		rs.EndRun(ctx, failed.ID, prevoir.RunFailed, "abandoned the search: no model fits")
		if _, err := rs.Heartbeat(ctx, failed.ID, r.Owner); prevoir.ErrorCode(err) != prevoir.ECONFLICT {
			t.Errorf("heartbeat revived a run that failed by itself: %v", err)
		}
	})
}

func TestRegistry(t *testing.T) {
	testutil.ForEachDatabase(t, func(t *testing.T, url string) {
		ctx := context.Background()
		db := openDB(t, url)
		rs, rg := sqlstore.NewRunStore(db), sqlstore.NewRegistry(db)

		// Only a finished run with the artifact can be registered.
		running := &prevoir.Run{Kind: prevoir.RunTrain}
		rs.CreateRun(ctx, running)
		if err := rg.CreateModelVersion(ctx, &prevoir.ModelVersion{Model: "m", Family: "ets", RunID: running.ID, ArtifactPath: "model.bin"}); prevoir.ErrorCode(err) != prevoir.ECONFLICT {
			t.Errorf("registering a running run: %v", err)
		}
		r1, r2 := finishedRun(t, rs, "ets"), finishedRun(t, rs, "tcn")
		if err := rg.CreateModelVersion(ctx, &prevoir.ModelVersion{Model: "m", Family: "ets", RunID: r1.ID, ArtifactPath: "nope.bin"}); prevoir.ErrorCode(err) != prevoir.ENOTFOUND {
			t.Errorf("registering a missing artifact: %v", err)
		}
		v1 := &prevoir.ModelVersion{Model: "m", Family: "ets", RunID: r1.ID, ArtifactPath: "model.bin", Metrics: map[string]float64{"mae": 19.3}}
		v2 := &prevoir.ModelVersion{Model: "m", Family: "tcn", RunID: r2.ID, ArtifactPath: "model.bin"}
		for _, v := range []*prevoir.ModelVersion{v1, v2} {
			if err := rg.CreateModelVersion(ctx, v); err != nil {
				t.Fatal(err)
			}
		}
		if v1.Version != 1 || v2.Version != 2 {
			t.Fatalf("versions %d, %d", v1.Version, v2.Version)
		}
		if _, err := rg.ResolveAlias(ctx, "m", prevoir.AliasChampion); prevoir.ErrorCode(err) != prevoir.ENOTFOUND {
			t.Errorf("no champion yet: %v", err)
		}
		if _, err := rg.SetAlias(ctx, "m", prevoir.AliasChampion, 1, "first"); err != nil {
			t.Fatal(err)
		}
		ch, err := rg.SetAlias(ctx, "m", prevoir.AliasChampion, 2, "tcn MAE 17.0 < ets MAE 19.3 by more than 2%")
		if err != nil || ch.FromVersion != 1 {
			t.Fatalf("move: %+v %v", ch, err)
		}
		if _, err := rg.SetAlias(ctx, "m", prevoir.AliasChampion, 9, "bad"); prevoir.ErrorCode(err) != prevoir.ENOTFOUND {
			t.Errorf("alias to a missing version: %v", err)
		}
		cur, err := rg.ResolveAlias(ctx, "m", prevoir.AliasChampion)
		if err != nil || cur.Version != 2 || cur.Family != "tcn" {
			t.Errorf("champion = %+v, %v", cur, err)
		}
		hist, err := rg.AliasHistory(ctx, "m", prevoir.AliasChampion)
		if err != nil || len(hist) != 2 || hist[0].Version != 2 || !strings.Contains(hist[0].Reason, "tcn MAE") {
			t.Errorf("history = %+v, %v", hist, err)
		}
		models, err := rg.ListModels(ctx)
		if err != nil || len(models) != 1 || models[0].LatestVersion != 2 || models[0].Aliases["champion"] != 2 {
			t.Errorf("models = %+v, %v", models, err)
		}
		got, err := rg.FindModelVersion(ctx, "m", 1)
		if err != nil || got.Metrics["mae"] != 19.3 {
			t.Errorf("version 1 = %+v, %v", got, err)
		}
		if _, err := rg.SetAlias(ctx, "m", prevoir.AliasChampion, 0, "retired"); err != nil {
			t.Fatal(err)
		}
		if _, err := rg.ResolveAlias(ctx, "m", prevoir.AliasChampion); prevoir.ErrorCode(err) != prevoir.ENOTFOUND {
			t.Errorf("removed alias still resolves: %v", err)
		}
	})
}
