package sqlstore

// This test is in package sqlstore, not sqlstore_test, to build a database at an old schema
// version with the embedded migration files themselves: no export exists only for it.

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/internal/testutil"
)

// oldDatabase opens the empty database at url and applies the dialect's migrations
// 1..version to it, recording them in schema_migrations as migrate does: the database an
// older prevoir left behind. It is closed when the test ends, if not before.
func oldDatabase(t *testing.T, url string, version int) *DB {
	t.Helper()
	ctx := context.Background()
	db, err := open(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ms, err := migrations(db.dialect)
	if err != nil {
		t.Fatal(err)
	}
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `CREATE TABLE schema_migrations (
			version    INTEGER PRIMARY KEY,
			name       TEXT NOT NULL,
			applied_at TEXT NOT NULL)`); err != nil {
			return err
		}
		for _, m := range ms[:version] {
			if _, err := tx.ExecContext(ctx, m.sql); err != nil {
				return fmt.Errorf("%s: %w", m.name, err)
			}
			if _, err := tx.ExecContext(ctx, db.rebind("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)"),
				m.version, m.name, "2022-08-26T19:30:00Z"); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("migrate to version %d: %v", version, err)
	}
	return db
}

// upgrade closes old and opens its database with the ordinary Open, which applies the
// migrations it lacks. The database is closed when the test ends, if not before.
func upgrade(t *testing.T, old *DB, url string) *DB {
	t.Helper()
	old.Close()
	db, err := Open(context.Background(), url)
	if err != nil {
		t.Fatalf("open (and upgrade) a database an older prevoir left: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// versionBefore returns the schema version just before the migration named "NNNN_name": that
// of the database an older prevoir left behind, for the test of the upgrade to it.
func versionBefore(t *testing.T, name string) int {
	t.Helper()
	ms, err := migrations(SQLite)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if strings.HasSuffix(m.name, "_"+name) && m.version > 1 {
			return m.version - 1
		}
	}
	t.Fatalf("no %s migration", name)
	return 0
}

// refusesUnknownFetchStatus checks that db still refuses a fetch of an unknown status: a
// migration that rebuilt the fetches table kept its check.
func refusesUnknownFetchStatus(t *testing.T, db *DB) {
	t.Helper()
	if _, err := db.sql.ExecContext(context.Background(), db.rebind(`INSERT INTO fetches (source, url, started_at, status) VALUES (?, ?, ?, ?)`),
		"sidep", "u", db.ts(time.Now()), "bogus"); err == nil {
		t.Error("a fetch with status bogus was stored")
	}
}

func hexSHA(b byte) string { return strings.Repeat(fmt.Sprintf("%02x", b), 32) }

// TestUpgradeFromSchemaVersion1: a database holding what schema version 1 holds (snapshots and
// fetches) is opened by this binary, which applies migrations 2..N in place; the data survive
// unchanged, and the tables of the later versions (runs, registry, forecasts) work, next to
// new snapshots whose IDs follow the old ones.
func TestUpgradeFromSchemaVersion1(t *testing.T) {
	testutil.ForEachDatabase(t, func(t *testing.T, url string) {
		ctx := context.Background()
		old := oldDatabase(t, url, 1)
		fetchedAt := time.Date(2022, 8, 26, 17, 1, 2, 0, time.UTC)
		cols := `["incid_dchosp","hosp"]`
		for i, s := range []struct {
			sha, prev, rev any
		}{
			{hexSHA(1), nil, nil},
			{hexSHA(2), int64(1), `{"added_dates":1,"removed_dates":0,"changed_dates":2,"changed_cells":3,"changed_columns":{"hosp":2}}`},
		} {
			var id int64
			err := old.sql.QueryRowContext(ctx, old.rebind(`INSERT INTO snapshots
				(source, sha256, blob_key, url, fetched_at, etag, last_modified, size_bytes, row_count,
				 first_date, last_date, column_names, previous_id, revision)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`),
				"indicateurs", s.sha, fmt.Sprintf("snapshots/indicateurs/%s.csv", s.sha), "https://www.data.gouv.fr/fr/datasets/r/x",
				old.ts(fetchedAt.Add(time.Duration(i)*24*time.Hour)), `"etag"`, "Fri, 26 Aug 2022 17:01:00 GMT", 1000+i, 900+i,
				"2020-03-18", fmt.Sprintf("2022-08-%d", 25+i), cols, s.prev, s.rev).Scan(&id)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := old.sql.ExecContext(ctx, old.rebind(`INSERT INTO fetches
				(source, url, started_at, duration_ms, status, snapshot_id, etag, last_modified, error)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
				"indicateurs", "https://www.data.gouv.fr/fr/datasets/r/x", old.ts(fetchedAt), 120, "new", id, `"etag"`, "", ""); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := old.sql.ExecContext(ctx, old.rebind(`INSERT INTO fetches (source, url, started_at, status, error)
			VALUES (?, ?, ?, ?, ?)`), "sidep", "https://www.data.gouv.fr/fr/datasets/r/y", old.ts(fetchedAt), "failed", "503"); err != nil {
			t.Fatal(err)
		}

		// The upgrade, by the ordinary Open.
		db := upgrade(t, old, url)
		var versions, latest int
		if err := db.sql.QueryRowContext(ctx, "SELECT COUNT(*), MAX(version) FROM schema_migrations").Scan(&versions, &latest); err != nil {
			t.Fatal(err)
		}
		if versions != SchemaVersion() || latest != SchemaVersion() || SchemaVersion() < 2 {
			t.Fatalf("after the upgrade: %d migrations recorded, latest %d; this binary has %d", versions, latest, SchemaVersion())
		}

		// The version 1 data, read through today's store.
		snaps := NewSnapshotStore(db)
		cur, err := snaps.CurrentSnapshot(ctx, "indicateurs")
		if err != nil {
			t.Fatal(err)
		}
		if cur.ID != 2 || cur.SHA256 != hexSHA(2) || cur.PreviousID != 1 || cur.Rows != 901 || cur.Size != 1001 ||
			cur.LastDate.String() != "2022-08-26" || !cur.FetchedAt.Equal(fetchedAt.Add(24*time.Hour)) ||
			len(cur.Columns) != 2 || cur.Revision == nil || cur.Revision.ChangedColumns["hosp"] != 2 {
			t.Errorf("current snapshot after the upgrade: %+v (revision %+v)", cur, cur.Revision)
		}
		first, err := snaps.FindSnapshotBySHA(ctx, "indicateurs", hexSHA(1))
		if err != nil || first.ID != 1 || first.Revision != nil || first.PreviousID != 0 {
			t.Errorf("first snapshot: %+v, %v", first, err)
		}
		if f, err := snaps.LastFetch(ctx, "sidep"); err != nil || f.Status != prevoir.FetchFailed || f.Error != "503" {
			t.Errorf("last sidep fetch: %+v, %v", f, err)
		}

		// A new release after the upgrade: its ID follows the old ones.
		next := &prevoir.Snapshot{Source: "indicateurs", SHA256: hexSHA(3), BlobKey: "snapshots/indicateurs/" + hexSHA(3) + ".csv",
			URL: "https://www.data.gouv.fr/fr/datasets/r/x", FetchedAt: time.Now(), Size: 1, Rows: 1,
			FirstDate: prevoir.MustParseDate("2020-03-18"), LastDate: prevoir.MustParseDate("2022-08-27"), Columns: []string{"incid_dchosp"}, PreviousID: cur.ID}
		if err := snaps.RecordFetch(ctx, &prevoir.Fetch{Source: "indicateurs", URL: next.URL, StartedAt: time.Now(), Status: prevoir.FetchNew}, next); err != nil {
			t.Fatal(err)
		}
		if next.ID != 3 {
			t.Errorf("new snapshot ID %d, want 3", next.ID)
		}

		// The tables of the later versions: a run with an artifact, a registered version made
		// champion, and a forecast.
		runs := NewRunStore(db)
		run := &prevoir.Run{Kind: prevoir.RunTrain, Name: "ets", Lineage: prevoir.Lineage{Snapshots: map[string]string{"indicateurs": hexSHA(3)}}}
		if err := runs.CreateRun(ctx, run); err != nil {
			t.Fatal(err)
		}
		if err := runs.LogArtifact(ctx, prevoir.Artifact{RunID: run.ID, Path: prevoir.ModelSpecArtifact, BlobKey: "runs/" + run.ID + "/artifacts/model.json", SHA256: hexSHA(4), Size: 10}); err != nil {
			t.Fatal(err)
		}
		if err := runs.EndRun(ctx, run.ID, prevoir.RunFinished, ""); err != nil {
			t.Fatal(err)
		}
		reg := NewRegistry(db)
		v := &prevoir.ModelVersion{Model: prevoir.DefaultTarget, Family: "ets", RunID: run.ID, ArtifactPath: prevoir.ModelSpecArtifact}
		if err := reg.CreateModelVersion(ctx, v); err != nil {
			t.Fatal(err)
		}
		if _, err := reg.SetAlias(ctx, prevoir.DefaultTarget, prevoir.AliasChampion, v.Version, "upgrade test"); err != nil {
			t.Fatal(err)
		}
		if champ, err := reg.ResolveAlias(ctx, prevoir.DefaultTarget, prevoir.AliasChampion); err != nil || champ.RunID != run.ID || champ.Version != 1 {
			t.Errorf("champion after the upgrade: %+v, %v", champ, err)
		}
		origin := prevoir.MustParseDate("2022-08-27")
		fc := &prevoir.StoredForecast{Model: prevoir.DefaultTarget, Version: v.Version, Family: "ets", RunID: run.ID,
			Forecast: prevoir.Forecast{Model: "ets", Origin: origin, Dates: []prevoir.Date{origin + 1}, Point: []float64{40},
				Quantiles: []float64{0.1, 0.5, 0.9}, Values: [][]float64{{30, 40, 50}}}}
		if _, err := NewForecastStore(db).SaveForecast(ctx, fc); err != nil {
			t.Fatal(err)
		}
		if got, err := NewForecastStore(db).ServedForecast(ctx, prevoir.DefaultTarget, v.Version); err != nil || got.Point[0] != 40 || got.RunID != run.ID {
			t.Errorf("served forecast after the upgrade: %+v, %v", got, err)
		}

		// Opening again applies nothing more.
		db2, err := Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		db2.Close()
	})
}

// TestUpgradeToQuarantine: a home from before the quarantine migration (snapshots and
// fetches of every status) is upgraded in place: its snapshots are ok, the current one stays
// current, fetch IDs continue, and a quarantined release can be stored and accepted.
func TestUpgradeToQuarantine(t *testing.T) {
	testutil.ForEachDatabase(t, func(t *testing.T, url string) {
		ctx := context.Background()
		old := oldDatabase(t, url, versionBefore(t, "quarantine"))
		fetchedAt := time.Date(2022, 8, 26, 17, 1, 2, 0, time.UTC)
		for i, status := range []string{"new", "unchanged", "failed", "not-modified"} {
			var sid any
			if status == "new" || status == "unchanged" {
				sid = int64(1)
			}
			if i == 0 {
				if _, err := old.sql.ExecContext(ctx, old.rebind(`INSERT INTO snapshots
					(source, sha256, blob_key, url, fetched_at, size_bytes, row_count, first_date, last_date, column_names)
					VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
					"sidep", hexSHA(1), "snapshots/sidep/x.csv", "https://example.test/sidep", old.ts(fetchedAt), 10, 2,
					"2020-05-13", "2022-08-23", `["P"]`); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := old.sql.ExecContext(ctx, old.rebind(`INSERT INTO fetches (source, url, started_at, status, snapshot_id, etag)
				VALUES (?, ?, ?, ?, ?, ?)`), "sidep", "https://example.test/sidep", old.ts(fetchedAt.Add(time.Duration(i)*time.Hour)), status, sid, `"e"`); err != nil {
				t.Fatal(err)
			}
		}

		db := upgrade(t, old, url)
		st := NewSnapshotStore(db)
		cur, err := st.CurrentSnapshot(ctx, "sidep")
		if err != nil || cur.ID != 1 || cur.State != prevoir.SnapshotOK || cur.ViolationCount != 0 || cur.Acceptance != nil {
			t.Fatalf("current after the upgrade: %+v, %v", cur, err)
		}
		if f, err := st.LastFetch(ctx, "sidep", prevoir.FetchUnchanged); err != nil || f.ID != 2 || f.ETag != `"e"` {
			t.Errorf("fetch kept through the upgrade: %+v, %v", f, err)
		}
		q := &prevoir.Snapshot{Source: "sidep", SHA256: hexSHA(2), BlobKey: "snapshots/sidep/y.csv", URL: "u", FetchedAt: time.Now(), Rows: 1,
			Columns: []string{"P"}, State: prevoir.SnapshotQuarantined, ViolationCount: 1,
			LastDate:   prevoir.MustParseDate("2022-08-24"), // newer than snapshot 1: current once accepted
			Violations: []prevoir.Violation{{File: "sp-fra-jour.csv", Line: 3, Column: "P", Value: "-1", Rule: prevoir.RuleNonNegativeInteger}}}
		f := &prevoir.Fetch{Source: "sidep", URL: "u", StartedAt: time.Now(), Status: prevoir.FetchQuarantined}
		if err := st.RecordFetch(ctx, f, q); err != nil {
			t.Fatalf("a quarantined fetch after the upgrade: %v", err)
		}
		if f.ID != 5 || q.ID != 2 {
			t.Errorf("IDs after the upgrade: fetch %d snapshot %d; want 5 and 2", f.ID, q.ID)
		}
		if cur, _ := st.CurrentSnapshot(ctx, "sidep"); cur.ID != 1 {
			t.Errorf("a quarantined release became current: %d", cur.ID)
		}
		if _, err := st.AcceptSnapshot(ctx, q.ID, prevoir.Acceptance{At: time.Now(), By: "op"}); err != nil {
			t.Fatal(err)
		}
		if cur, _ := st.CurrentSnapshot(ctx, "sidep"); cur.ID != q.ID {
			t.Errorf("current after the acceptance: %d, want %d", cur.ID, q.ID)
		}
		refusesUnknownFetchStatus(t, db)
	})
}

// TestUpgradeForecastsKeyedOnFrame: forecasts stored at schema version 3, keyed on (model,
// version, origin), get the frame hash their run recorded (empty when the run is gone), keep
// their scores, and after the upgrade a forecast of the same version and origin on another
// frame is a new forecast; scores still reference forecasts.
func TestUpgradeForecastsKeyedOnFrame(t *testing.T) {
	testutil.ForEachDatabase(t, func(t *testing.T, url string) {
		ctx := context.Background()
		old := oldDatabase(t, url, 3)
		at := time.Date(2022, 8, 27, 19, 45, 0, 0, time.UTC)
		runID := strings.Repeat("a", 32)
		if _, err := old.sql.ExecContext(ctx, old.rebind(`INSERT INTO runs (id, experiment, kind, name, status, started_at, heartbeat_at, frame_sha256)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`), runID, "default", "forecast", "ets", "finished", old.ts(at), old.ts(at), hexSHA(7)); err != nil {
			t.Fatal(err)
		}
		origin := prevoir.MustParseDate("2022-08-26")
		body, err := json.Marshal(forecastBody{Dates: []prevoir.Date{origin + 1}, Point: []float64{40}, Quantiles: []float64{0.1, 0.5, 0.9}, Values: [][]float64{{30, 40, 50}}})
		if err != nil {
			t.Fatal(err)
		}
		var ids [2]int64
		for i, run := range []string{runID, strings.Repeat("b", 32)} { // the second run is not recorded
			if err := old.sql.QueryRowContext(ctx, old.rebind(`INSERT INTO forecasts (model, version, family, run_id, origin, made_at, horizon, body, snapshots)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`), prevoir.DefaultTarget, i+1, "ets", run, origin.String(), old.ts(at), 1, string(body), "{}").Scan(&ids[i]); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := old.sql.ExecContext(ctx, old.rebind(`INSERT INTO forecast_scores (forecast_id, date, horizon, actual, point, abs_error, in_80, in_95, scored_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`), ids[0], (origin + 1).String(), 1, 45.0, 40.0, 5.0, true, true, old.ts(at)); err != nil {
			t.Fatal(err)
		}

		db := upgrade(t, old, url)
		st := NewForecastStore(db)
		list, err := st.ListForecasts(ctx, prevoir.ForecastFilter{Model: prevoir.DefaultTarget})
		if err != nil || len(list) != 2 {
			t.Fatalf("forecasts after the upgrade: %v, %v", list, err)
		}
		frames := map[int64]string{}
		for _, f := range list {
			frames[f.ID] = f.FrameSHA256
		}
		if frames[ids[0]] != hexSHA(7) || frames[ids[1]] != "" {
			t.Errorf("frames after the upgrade: %v; want %s for the forecast whose run recorded it, empty for the other", frames, hexSHA(7)[:12])
		}
		scores, err := st.Scores(ctx, prevoir.DefaultTarget, 0)
		if err != nil || len(scores) != 1 || scores[0].ForecastID != ids[0] || scores[0].Actual != 45 || !scores[0].In80 {
			t.Errorf("scores after the upgrade: %+v, %v", scores, err)
		}

		// Version 1 from the same origin on another frame: a new forecast, which can be scored.
		fc := &prevoir.StoredForecast{Model: prevoir.DefaultTarget, Version: 1, Family: "ets", RunID: runID, FrameSHA256: hexSHA(8),
			Forecast: prevoir.Forecast{Model: "ets", Origin: origin, Dates: []prevoir.Date{origin + 1}, Point: []float64{42},
				Quantiles: []float64{0.1, 0.5, 0.9}, Values: [][]float64{{32, 42, 52}}}}
		created, err := st.SaveForecast(ctx, fc)
		if err != nil || !created || fc.ID == ids[0] || fc.ID == ids[1] {
			t.Fatalf("a forecast on another frame: created %v, id %d, %v", created, fc.ID, err)
		}
		if err := st.SaveScores(ctx, []prevoir.ForecastScore{{ForecastID: fc.ID, Date: origin + 1, Horizon: 1, Actual: 45, Point: 42, AbsError: 3}}); err != nil {
			t.Errorf("score the new forecast: %v", err)
		}
		if err := st.SaveScores(ctx, []prevoir.ForecastScore{{ForecastID: 999, Date: origin + 1, Horizon: 1}}); err == nil ||
			!strings.Contains(strings.ToLower(err.Error()), "foreign key") {
			t.Errorf("a score of no forecast: %v; want a foreign key violation", err)
		}
	})
}

// TestOpenReadOnlyOlderSchema: a read-only open of a database an older prevoir left refuses
// it, saying that a command that writes upgrades it, and migrates nothing.
func TestOpenReadOnlyOlderSchema(t *testing.T) {
	testutil.ForEachDatabase(t, func(t *testing.T, url string) {
		ctx := context.Background()
		old := oldDatabase(t, url, 1)
		_, err := OpenReadOnly(ctx, url)
		if prevoir.ErrorCode(err) != prevoir.ECONFLICT || !strings.Contains(err.Error(), "run a command that writes") {
			t.Fatalf("read-only open of a version-1 database: %v", err)
		}
		v, err := old.schemaVersion(ctx, old.sql, SchemaVersion())
		if err != nil || v != 1 {
			t.Errorf("schema version %d, %v after a read-only open; want 1", v, err)
		}
	})
}

// TestUpgradeScrubsSecrets: runs recorded by a version 3 prevoir serve hold the admin token in
// their configuration; the upgrade replaces it with "(set)" and leaves every other setting, and
// the configurations with no token to hide, as they were. On SQLite, no byte of the old tokens
// is left in the database file.
func TestUpgradeScrubsSecrets(t *testing.T) {
	testutil.ForEachDatabase(t, func(t *testing.T, url string) {
		ctx := context.Background()
		old := oldDatabase(t, url, 3)
		escaped, err := json.Marshal(map[string]string{"admin-token": `tricky"TOKEN\<&>-7654321`, "models": "ets"})
		if err != nil {
			t.Fatal(err)
		}
		configs := map[string]string{ // run ID -> configuration
			hexSHA(1)[:32]: `{"addr":"127.0.0.1:8080","admin-token":"plain-TOKEN-1234567","db":"postgres://u:xxxxx@h/db"}`,
			hexSHA(2)[:32]: string(escaped),
			hexSHA(3)[:32]: `{"addr":"127.0.0.1:8080","admin-token":""}`,
			hexSHA(4)[:32]: `{"models":"ets"}`,
			hexSHA(5)[:32]: ``,
			hexSHA(6)[:32]: `not json`,
		}
		// Enough runs to fill pages, whose free space would keep the old bytes.
		scrubbed := map[string]string{
			hexSHA(1)[:32]: `{"addr":"127.0.0.1:8080","admin-token":"(set)","db":"postgres://u:xxxxx@h/db"}`,
			hexSHA(2)[:32]: `{"admin-token":"(set)","models":"ets"}`,
		}
		for i := range 40 {
			id := hexSHA(byte(16 + i))[:32]
			const cfg = `{"addr":"127.0.0.1:8080","admin-token":"%s","models":"snaive,ets,theta,linreg,ensemble"}`
			configs[id] = fmt.Sprintf(cfg, fmt.Sprintf("plain-TOKEN-%02d", i))
			scrubbed[id] = fmt.Sprintf(cfg, "(set)")
		}
		for id, cfg := range configs {
			if _, err := old.sql.ExecContext(ctx, old.rebind(`INSERT INTO runs (id, experiment, kind, status, started_at, heartbeat_at, config)
				VALUES (?, ?, ?, ?, ?, ?, ?)`), id, "prevoir", "ingest", "finished", "2022-08-26T19:30:00Z", "2022-08-26T19:30:00Z", cfg); err != nil {
				t.Fatal(err)
			}
		}

		db := upgrade(t, old, url)
		got := map[string]string{}
		rows, err := db.sql.QueryContext(ctx, "SELECT id, config FROM runs")
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var id, cfg string
			if err := rows.Scan(&id, &cfg); err != nil {
				t.Fatal(err)
			}
			got[id] = cfg
		}
		rows.Close()
		db.Close()
		want := maps.Clone(configs)
		maps.Copy(want, scrubbed)
		if !maps.Equal(got, want) {
			t.Errorf("configurations after the upgrade:\n got %q\nwant %q", got, want)
		}
		if path, ok := strings.CutPrefix(url, "sqlite:"); ok {
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if old := regexp.MustCompile(`plain-TOKEN-..|tricky`).FindAll(b, -1); len(old) > 0 {
				t.Errorf("%s still holds old tokens: %q", path, old)
			}
		}
	})
}

// TestUpgradeVersionBatch: versions registered before the batch column kept their training
// batch only in their description ("batch <id>"); the upgrade fills the column from it, keeps
// the description as it was, and leaves the batch of any other version empty. New versions
// store their batch.
func TestUpgradeVersionBatch(t *testing.T) {
	testutil.ForEachDatabase(t, func(t *testing.T, url string) {
		ctx := context.Background()
		old := oldDatabase(t, url, versionBefore(t, "version_batch"))
		at := time.Date(2022, 8, 27, 19, 45, 0, 0, time.UTC)
		runID := strings.Repeat("a", 32)
		if _, err := old.sql.ExecContext(ctx, old.rebind(`INSERT INTO runs (id, experiment, kind, name, status, started_at, heartbeat_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`), runID, "default", "train", "ets", "finished", old.ts(at), old.ts(at)); err != nil {
			t.Fatal(err)
		}
		if _, err := old.sql.ExecContext(ctx, old.rebind(`INSERT INTO run_artifacts (run_id, path, sha256, size_bytes, blob_key)
			VALUES (?, ?, ?, ?, ?)`), runID, "model.json", hexSHA(1), 2, "runs/x/model.json"); err != nil {
			t.Fatal(err)
		}
		if _, err := old.sql.ExecContext(ctx, old.rebind(`INSERT INTO registered_models (name, last_version, created_at) VALUES (?, ?, ?)`),
			prevoir.DefaultTarget, 2, old.ts(at)); err != nil {
			t.Fatal(err)
		}
		for i, desc := range []string{"batch run-0123456789ab", "promoted by hand"} {
			if _, err := old.sql.ExecContext(ctx, old.rebind(`INSERT INTO model_versions (model, version, family, run_id, artifact_path, created_at, description)
				VALUES (?, ?, ?, ?, ?, ?, ?)`), prevoir.DefaultTarget, i+1, "ets", runID, "model.json", old.ts(at), desc); err != nil {
				t.Fatal(err)
			}
		}

		db := upgrade(t, old, url)
		rg := NewRegistry(db)
		for version, want := range map[int][2]string{1: {"run-0123456789ab", "batch run-0123456789ab"}, 2: {"", "promoted by hand"}} {
			v, err := rg.FindModelVersion(ctx, prevoir.DefaultTarget, version)
			if err != nil || v.Batch != want[0] || v.Description != want[1] {
				t.Errorf("v%d after the upgrade: %+v, %v; want batch %q, description %q", version, v, err, want[0], want[1])
			}
		}
		v := &prevoir.ModelVersion{Model: prevoir.DefaultTarget, Family: "snaive", RunID: runID, ArtifactPath: "model.json", Batch: "run-b2", Description: "batch run-b2"}
		if err := rg.CreateModelVersion(ctx, v); err != nil {
			t.Fatal(err)
		}
		if _, err := rg.SetAlias(ctx, prevoir.DefaultTarget, prevoir.AliasChampion, v.Version, "test"); err != nil {
			t.Fatal(err)
		}
		list, err := rg.ListModelVersions(ctx, prevoir.DefaultTarget)
		if err != nil || len(list) != 3 || list[0].Version != 3 || list[0].Batch != "run-b2" || list[2].Batch != "run-0123456789ab" {
			t.Fatalf("versions (%v): want v3 of batch run-b2 first, v1's batch kept", err)
		}
		if c, err := rg.ResolveAlias(ctx, prevoir.DefaultTarget, prevoir.AliasChampion); err != nil || c.Batch != "run-b2" {
			t.Errorf("champion: %+v, %v; want v3 with its batch", c, err)
		}
	})
}
