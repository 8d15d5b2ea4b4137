package monitor_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/internal/testutil"
	"github.com/prevoir/prevoir/monitor"
	"github.com/prevoir/prevoir/sqlstore"
)

// openStores opens the database at url, closed when the test ends, and returns the stores the
// checks read.
func openStores(t *testing.T, url string) monitor.Stores {
	t.Helper()
	db, err := sqlstore.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return monitor.Stores{Registry: sqlstore.NewRegistry(db), Forecasts: sqlstore.NewForecastStore(db),
		Snapshots: sqlstore.NewSnapshotStore(db), Runs: sqlstore.NewRunStore(db)}
}

func TestStaleSourceAndFailingFlow(t *testing.T) {
	ctx := context.Background()
	st := openStores(t, testutil.SQLiteURL(t))
	now := time.Date(2026, 3, 20, 12, 0, 0, 0, time.UTC)
	opts := monitor.Options{Now: func() time.Time { return now }}

	if alerts, err := monitor.Check(ctx, st, opts); err != nil || len(alerts) != 0 {
		t.Fatalf("empty store: %v %v", alerts, err)
	}
	// sidep last changed 10 days ago (checked since, unchanged); indicateurs yesterday.
	for src, age := range map[string]time.Duration{"sidep": 240 * time.Hour, "indicateurs": 24 * time.Hour} {
		snap := &prevoir.Snapshot{Source: src, SHA256: strings.Repeat("a", 63) + src[:1], BlobKey: "k", URL: "u", FetchedAt: now.Add(-age),
			Rows: 1, Columns: []string{"x"}}
		if err := st.Snapshots.RecordFetch(ctx, &prevoir.Fetch{Source: src, StartedAt: now.Add(-age), Status: prevoir.FetchNew}, snap); err != nil {
			t.Fatal(err)
		}
		if err := st.Snapshots.RecordFetch(ctx, &prevoir.Fetch{Source: src, StartedAt: now.Add(-time.Hour), Status: prevoir.FetchUnchanged}, snap); err != nil {
			t.Fatal(err)
		}
	}
	// The ingest flow failed twice in a row; the forecast flow failed once, then succeeded.
	for _, r := range []struct {
		kind prevoir.RunKind
		err  string
	}{{prevoir.RunIngest, ""}, {prevoir.RunIngest, "source down"}, {prevoir.RunIngest, "source still down"},
		{prevoir.RunForecast, "boom"}, {prevoir.RunForecast, ""}} {
		run := &prevoir.Run{Kind: r.kind}
		if err := st.Runs.CreateRun(ctx, run); err != nil {
			t.Fatal(err)
		}
		status := prevoir.RunFinished
		if r.err != "" {
			status = prevoir.RunFailed
		}
		if err := st.Runs.EndRun(ctx, run.ID, status, r.err); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Millisecond) // runs are ordered by start time
	}
	alerts, err := monitor.Check(ctx, st, opts)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, a := range alerts {
		got[a.Kind+" "+a.Subject] = a.Message
	}
	if len(alerts) != 2 || !strings.Contains(got["stale_source sidep"], "10 days") || !strings.Contains(got["flow_failing ingest"], "source still down") {
		t.Errorf("alerts: %v", got)
	}
}

// TestQuarantineAlert: a source whose latest release is quarantined raises an alert naming the
// violation and the way out; accepting the release, or the source serving a release that
// passes, ends it.
func TestQuarantineAlert(t *testing.T) {
	testutil.ForEachDatabase(t, func(t *testing.T, url string) {
		ctx := context.Background()
		st := openStores(t, url)
		now := time.Date(2026, 3, 20, 12, 0, 0, 0, time.UTC)
		opts := monitor.Options{Now: func() time.Time { return now }, Sources: []string{prevoir.SourceIndicators}}
		record := func(n byte, status prevoir.FetchStatus, state prevoir.SnapshotState) *prevoir.Snapshot {
			t.Helper()
			snap := &prevoir.Snapshot{Source: prevoir.SourceIndicators, SHA256: strings.Repeat(string(n), 64), BlobKey: "k", URL: "u",
				FetchedAt: now, Rows: 1, Columns: []string{"x"}, State: state}
			if state == prevoir.SnapshotQuarantined {
				snap.ViolationCount = 2
				snap.Violations = []prevoir.Violation{{File: "table-indicateurs-open-data-france.csv", Line: 812, Column: "incid_dchosp", Value: "-3", Rule: prevoir.RuleNonNegativeInteger}}
			}
			if err := st.Snapshots.RecordFetch(ctx, &prevoir.Fetch{Source: snap.Source, StartedAt: now.Add(-time.Hour), Status: status}, snap); err != nil {
				t.Fatal(err)
			}
			return snap
		}
		kinds := func() map[string]monitor.Alert {
			t.Helper()
			alerts, err := monitor.Check(ctx, st, opts)
			if err != nil {
				t.Fatal(err)
			}
			out := map[string]monitor.Alert{}
			for _, a := range alerts {
				out[a.Kind] = a
			}
			return out
		}

		good := record('a', prevoir.FetchNew, prevoir.SnapshotOK)
		if a, ok := kinds()[monitor.KindQuarantine]; ok {
			t.Fatalf("alert with nothing quarantined: %+v", a)
		}
		bad := record('b', prevoir.FetchQuarantined, prevoir.SnapshotQuarantined)
		a, ok := kinds()[monitor.KindQuarantine]
		want := `table-indicateurs-open-data-france.csv line 812 column incid_dchosp: -3 breaks rule "non-negative integer" (and 1 more)`
		if !ok || a.Subject != prevoir.SourceIndicators || a.Value != 2 || !strings.Contains(a.Message, want) ||
			!strings.Contains(a.Message, "prevoir snapshots accept "+strconv.FormatInt(bad.ID, 10)) {
			t.Fatalf("quarantine alert: %+v", a)
		}
		if _, err := st.Snapshots.AcceptSnapshot(ctx, bad.ID, prevoir.Acceptance{At: now, By: "op"}); err != nil {
			t.Fatal(err)
		}
		if a, ok := kinds()[monitor.KindQuarantine]; ok {
			t.Errorf("alert after the acceptance: %+v", a)
		}
		// Quarantined again, then the source serves the good release again: no alert.
		record('c', prevoir.FetchQuarantined, prevoir.SnapshotQuarantined)
		if _, ok := kinds()[monitor.KindQuarantine]; !ok {
			t.Error("no alert for the second quarantined release")
		}
		if err := st.Snapshots.RecordFetch(ctx, &prevoir.Fetch{Source: good.Source, StartedAt: now, Status: prevoir.FetchRevised}, good); err != nil {
			t.Fatal(err)
		}
		if a, ok := kinds()[monitor.KindQuarantine]; ok {
			t.Errorf("alert once a good release is current again: %+v", a)
		}
	})
}
