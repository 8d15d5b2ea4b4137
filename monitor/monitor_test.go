package monitor_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/internal/testutil"
	"github.com/prevoir/prevoir/monitor"
	"github.com/prevoir/prevoir/sqlstore"
)

func TestStaleSourceAndFailingFlow(t *testing.T) {
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, testutil.SQLiteURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	st := monitor.Stores{Registry: sqlstore.NewRegistry(db), Forecasts: sqlstore.NewForecastStore(db),
		Snapshots: sqlstore.NewSnapshotStore(db), Runs: sqlstore.NewRunStore(db)}
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
