package sqlstore

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/internal/testutil"
)

// oneTargetForecast is a forecast of registered model model, as the forecast flow stores one.
func oneTargetForecast(model string, version int, runID string, origin prevoir.Date, level float64) *prevoir.StoredForecast {
	f := &prevoir.StoredForecast{Model: model, Version: version, Family: "ets", RunID: runID, FrameSHA256: hexSHA(9),
		Snapshots: map[string]string{"indicateurs": hexSHA(8)},
		Forecast:  prevoir.Forecast{Model: "ets", Origin: origin, Quantiles: []float64{0.1, 0.5, 0.9}}}
	for i := 1; i <= 3; i++ {
		f.Dates = append(f.Dates, origin+prevoir.Date(i))
		f.Point = append(f.Point, level)
		f.Values = append(f.Values, []float64{level - 10, level, level + 10})
	}
	return f
}

// TestUpgradeOneTargetHome: a home that a one-target prevoir left at schema version 0009
// (before runs recorded their target) holds incid_dchosp's runs, versions, champion, forecasts
// and scores. Opened by this binary, it keeps them all, unchanged, under the default target:
// its target-specific runs are listed under incid_dchosp, its ingest has no target, and the
// registry, the served forecast and the scores are what they were. A second target's runs,
// versions, champion and forecast are then added beside them without touching them.
func TestUpgradeOneTargetHome(t *testing.T) {
	testutil.ForEachDatabase(t, func(t *testing.T, url string) {
		ctx := context.Background()
		old := oldDatabase(t, url, versionBefore(t, "run_target"))
		at := time.Date(2022, 8, 22, 18, 0, 0, 0, time.UTC)
		dt := prevoir.DefaultTarget

		// The runs, as the 0009 schema stored them (no target column).
		runs := map[prevoir.RunKind]string{}
		kinds := []prevoir.RunKind{prevoir.RunIngest, prevoir.RunTrain, prevoir.RunSelect, prevoir.RunBacktest, prevoir.RunForecast, prevoir.RunScore}
		for i, k := range kinds {
			id := strings.Repeat(string(rune('a'+i)), 32)
			runs[k] = id
			started := at.Add(time.Duration(i) * time.Minute)
			if _, err := old.sql.ExecContext(ctx, old.rebind(`INSERT INTO runs (id, experiment, kind, name, status, started_at, ended_at, heartbeat_at, owner, snapshots, frame_sha256, config, code_version)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`), id, "prevoir", string(k), string(k)+"-run", "finished", old.ts(started), old.ts(started.Add(time.Second)),
				old.ts(started.Add(time.Second)), "host:1", `{"indicateurs":"`+hexSHA(8)+`"}`, hexSHA(9), `{"horizon":14}`, "v1.0"); err != nil {
				t.Fatal(err)
			}
			if _, err := old.sql.ExecContext(ctx, old.rebind(`INSERT INTO run_params (run_id, key, value) VALUES (?, ?, ?)`), id, "origin", "2022-08-21"); err != nil {
				t.Fatal(err)
			}
		}
		// A training run that registered nothing (it failed): target-specific, so under the
		// default target too.
		failedTrain := strings.Repeat("f0", 16)
		if _, err := old.sql.ExecContext(ctx, old.rebind(`INSERT INTO runs (id, experiment, kind, name, status, started_at, heartbeat_at, error)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`), failedTrain, "prevoir", "train", "tcn", "failed", old.ts(at.Add(-time.Hour)), old.ts(at.Add(-time.Hour)), "boom"); err != nil {
			t.Fatal(err)
		}
		if _, err := old.sql.ExecContext(ctx, old.rebind(`INSERT INTO run_artifacts (run_id, path, sha256, size_bytes, blob_key) VALUES (?, ?, ?, ?, ?)`),
			runs[prevoir.RunTrain], prevoir.ModelSpecArtifact, hexSHA(7), 2, "runs/x/model.json"); err != nil {
			t.Fatal(err)
		}
		// The registry, the forecast and its scores, through the stores (their tables are
		// the same at 0009).
		oldRg, oldFs := NewRegistry(old), NewForecastStore(old)
		v1 := &prevoir.ModelVersion{Model: dt, Family: "ets", RunID: runs[prevoir.RunTrain], ArtifactPath: prevoir.ModelSpecArtifact,
			Metrics: map[string]float64{"mae": 12.5}, Batch: "run-0123456789ab", Description: "batch run-0123456789ab"}
		if err := oldRg.CreateModelVersion(ctx, v1); err != nil {
			t.Fatal(err)
		}
		if _, err := oldRg.SetAlias(ctx, dt, prevoir.AliasChampion, v1.Version, "best of batch run-0123456789ab"); err != nil {
			t.Fatal(err)
		}
		origin := prevoir.MustParseDate("2022-08-21")
		fc := oneTargetForecast(dt, v1.Version, runs[prevoir.RunForecast], origin, 30)
		if _, err := oldFs.SaveForecast(ctx, fc); err != nil {
			t.Fatal(err)
		}
		scores := []prevoir.ForecastScore{{ForecastID: fc.ID, Date: origin + 1, Horizon: 1, Actual: 28, Point: 30, AbsError: 2, In80: true, In95: true},
			{ForecastID: fc.ID, Date: origin + 2, Horizon: 2, Actual: 45, Point: 30, AbsError: 15}}
		if err := oldFs.SaveScores(ctx, scores); err != nil {
			t.Fatal(err)
		}
		// What the old home holds, read before the upgrade (the runs by SQL, as the 0009
		// schema has them, since today's run store reads the target column).
		versionsBefore, err := oldRg.ListModelVersions(ctx, dt)
		if err != nil {
			t.Fatal(err)
		}
		historyBefore, err := oldRg.AliasHistory(ctx, dt, prevoir.AliasChampion)
		if err != nil {
			t.Fatal(err)
		}
		servedBefore, err := oldFs.ServedForecast(ctx, dt, v1.Version)
		if err != nil {
			t.Fatal(err)
		}
		scoresBefore, err := oldFs.Scores(ctx, dt, 0)
		if err != nil || len(scoresBefore) != 2 {
			t.Fatalf("scores before the upgrade: %v, %v", scoresBefore, err)
		}

		db := upgrade(t, old, url)
		rs, rg, fs := NewRunStore(db), NewRegistry(db), NewForecastStore(db)

		// Every run is still there, unchanged, with its target: the default one but for the
		// ingest.
		for i, k := range kinds {
			r, err := rs.FindRun(ctx, runs[k])
			if err != nil {
				t.Fatalf("%s run after the upgrade: %v", k, err)
			}
			want := dt
			if k == prevoir.RunIngest {
				want = ""
			}
			started := at.Add(time.Duration(i) * time.Minute)
			if r.Target != want || r.Kind != k || r.Name != string(k)+"-run" || r.Status != prevoir.RunFinished || !r.StartedAt.Equal(started) ||
				!r.EndedAt.Equal(started.Add(time.Second)) || r.Owner != "host:1" || r.Snapshots["indicateurs"] != hexSHA(8) ||
				r.FrameSHA256 != hexSHA(9) || r.Config != `{"horizon":14}` || r.CodeVersion != "v1.0" || r.Params["origin"] != "2022-08-21" {
				t.Errorf("%s run after the upgrade: %+v; want it unchanged, target %q", k, r, want)
			}
		}
		listed, err := rs.ListRuns(ctx, prevoir.RunFilter{Target: dt})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, r := range listed {
			ids = append(ids, r.ID)
		}
		// Newest first: score, forecast, backtest, select, train, then the failed training.
		want := []string{runs[prevoir.RunScore], runs[prevoir.RunForecast], runs[prevoir.RunBacktest], runs[prevoir.RunSelect], runs[prevoir.RunTrain], failedTrain}
		if !reflect.DeepEqual(ids, want) {
			t.Errorf("runs of %s after the upgrade: %v; want %v", dt, ids, want)
		}
		if all, err := rs.ListRuns(ctx, prevoir.RunFilter{}); err != nil || len(all) != len(kinds)+1 {
			t.Errorf("all runs after the upgrade: %d, %v; want %d", len(all), err, len(kinds)+1)
		}

		// The registry, the served forecast and the scores, as they were.
		versionsAfter, err := rg.ListModelVersions(ctx, dt)
		if err != nil || !reflect.DeepEqual(versionsAfter, versionsBefore) {
			t.Errorf("versions after the upgrade: %+v, %v; want %+v", versionsAfter, err, versionsBefore)
		}
		if c, err := rg.ResolveAlias(ctx, dt, prevoir.AliasChampion); err != nil || c.Version != v1.Version || c.RunID != runs[prevoir.RunTrain] {
			t.Errorf("champion after the upgrade: %+v, %v; want v%d", c, err, v1.Version)
		}
		if h, err := rg.AliasHistory(ctx, dt, prevoir.AliasChampion); err != nil || !reflect.DeepEqual(h, historyBefore) {
			t.Errorf("champion history after the upgrade: %+v, %v", h, err)
		}
		if s, err := fs.ServedForecast(ctx, dt, v1.Version); err != nil || !reflect.DeepEqual(s, servedBefore) {
			t.Errorf("served forecast after the upgrade: %+v, %v; want %+v", s, err, servedBefore)
		}
		if s, err := fs.Scores(ctx, dt, 0); err != nil || !reflect.DeepEqual(s, scoresBefore) {
			t.Errorf("scores after the upgrade: %+v, %v; want %+v", s, err, scoresBefore)
		}

		// A second target beside it: its own runs, version, champion and forecast.
		hosp := prevoir.TargetHospitalised
		tr := &prevoir.Run{Kind: prevoir.RunTrain, Name: "ets", Target: hosp}
		if err := rs.CreateRun(ctx, tr); err != nil {
			t.Fatal(err)
		}
		if err := rs.LogArtifact(ctx, prevoir.Artifact{RunID: tr.ID, Path: prevoir.ModelSpecArtifact, BlobKey: "runs/y/model.json", SHA256: hexSHA(6), Size: 2}); err != nil {
			t.Fatal(err)
		}
		if err := rs.EndRun(ctx, tr.ID, prevoir.RunFinished, ""); err != nil {
			t.Fatal(err)
		}
		hv := &prevoir.ModelVersion{Model: hosp, Family: "ets", RunID: tr.ID, ArtifactPath: prevoir.ModelSpecArtifact, Batch: "run-b2"}
		if err := rg.CreateModelVersion(ctx, hv); err != nil || hv.Version != 1 {
			t.Fatalf("first version of %s: v%d, %v", hosp, hv.Version, err)
		}
		if _, err := rg.SetAlias(ctx, hosp, prevoir.AliasChampion, hv.Version, "first"); err != nil {
			t.Fatal(err)
		}
		hf := oneTargetForecast(hosp, hv.Version, strings.Repeat("9", 32), origin, 21000)
		if _, err := fs.SaveForecast(ctx, hf); err != nil {
			t.Fatal(err)
		}
		if s, err := fs.ServedForecast(ctx, hosp, hv.Version); err != nil || s.Point[0] != 21000 {
			t.Errorf("served forecast of %s: %+v, %v", hosp, s, err)
		}
		if rs, err := rs.ListRuns(ctx, prevoir.RunFilter{Target: hosp}); err != nil || len(rs) != 1 || rs[0].ID != tr.ID {
			t.Errorf("runs of %s: %v, %v; want its training only", hosp, rs, err)
		}
		// The default target's data did not move.
		if s, err := fs.ServedForecast(ctx, dt, v1.Version); err != nil || !reflect.DeepEqual(s, servedBefore) {
			t.Errorf("served forecast of %s beside %s: %+v, %v", dt, hosp, s, err)
		}
		if vs, err := rg.ListModelVersions(ctx, dt); err != nil || !reflect.DeepEqual(vs, versionsBefore) {
			t.Errorf("versions of %s beside %s: %+v, %v", dt, hosp, vs, err)
		}
		models, err := rg.ListModels(ctx)
		if err != nil || len(models) != 2 {
			t.Fatalf("registered models: %+v, %v; want %s and %s", models, err, dt, hosp)
		}
		for _, m := range models {
			if m.LatestVersion != 1 || m.Aliases[prevoir.AliasChampion] != 1 {
				t.Errorf("registered model %+v: want v1 its champion", m)
			}
		}
	})
}
