package ingest_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/blobstore"
	"github.com/prevoir/prevoir/csvsource"
	"github.com/prevoir/prevoir/datagouv"
	"github.com/prevoir/prevoir/ingest"
	"github.com/prevoir/prevoir/internal/testutil"
	"github.com/prevoir/prevoir/monitor"
	"github.com/prevoir/prevoir/sqlstore"
)

type env struct {
	db    *sqlstore.DB
	svc   *ingest.Service
	store *sqlstore.SnapshotStore
	blobs *blobstore.Store
	dir   string // the artifact directory
}

func newEnv(t *testing.T, dbURL string) *env {
	t.Helper()
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	dir := filepath.Join(t.TempDir(), "artifacts")
	blobs, err := blobstore.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { blobs.Close() })
	store := sqlstore.NewSnapshotStore(db)
	return &env{
		db:    db,
		svc:   &ingest.Service{Snapshots: store, Blobs: blobs, Client: &datagouv.Client{MaxAttempts: 2, Backoff: time.Millisecond}},
		store: store, blobs: blobs, dir: dir,
	}
}

// sourceDir makes a directory holding the given files under the default sources' names.
func sourceDir(t *testing.T, indicators, sidep string) string {
	t.Helper()
	dir := t.TempDir()
	for name, from := range map[string]string{"table-indicateurs-open-data-france.csv": indicators, "sp-fra-jour.csv": sidep} {
		b := testutil.ReadData(t, from)
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func sources(t *testing.T, dir string) []prevoir.Source {
	t.Helper()
	s, err := ingest.WithSourceDir(prevoir.DefaultSources(), dir)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (e *env) counts(t *testing.T) (snapshots, blobs int) {
	t.Helper()
	list, err := e.store.ListSnapshots(context.Background(), prevoir.SnapshotFilter{})
	if err != nil {
		t.Fatal(err)
	}
	keys, err := e.blobs.List(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	return len(list), len(keys)
}

func statuses(rs []ingest.Result) string {
	var s []string
	for _, r := range rs {
		s = append(s, r.Source+"="+string(r.Status))
	}
	return strings.Join(s, " ")
}

func TestIngestTwiceStoresNothingNew(t *testing.T) {
	testutil.ForEachDatabase(t, func(t *testing.T, dbURL string) {
		e := newEnv(t, dbURL)
		ctx := context.Background()
		srcs := sources(t, testutil.DataDir(t))
		rs, err := e.svc.Ingest(ctx, srcs)
		if err != nil {
			t.Fatal(err)
		}
		if got := statuses(rs); got != "indicateurs=new sidep=new" {
			t.Fatalf("first ingest: %s", got)
		}
		if rs[1].Snapshot.Rows != 833 || rs[1].Snapshot.LastDate.String() != "2022-08-23" || rs[0].Snapshot.Rows != 1074 {
			t.Errorf("snapshots: %+v / %+v", rs[0].Snapshot, rs[1].Snapshot)
		}
		snaps, blobs := e.counts(t)
		rs, err = e.svc.Ingest(ctx, srcs)
		if err != nil {
			t.Fatal(err)
		}
		if got := statuses(rs); got != "indicateurs=unchanged sidep=unchanged" {
			t.Errorf("second ingest: %s", got)
		}
		if s2, b2 := e.counts(t); s2 != snaps || b2 != blobs || snaps != 2 {
			t.Errorf("second ingest stored something: snapshots %d -> %d, blobs %d -> %d", snaps, s2, blobs, b2)
		}
	})
}

func TestIngestHTTPConditionalAndRevisions(t *testing.T) {
	e := newEnv(t, testutil.SQLiteURL(t))
	ctx := context.Background()
	data := testutil.DataDir(t)
	srv := testutil.NewDataGouvServer(t, data)
	ind := srv.Sources()[0]
	srv.SetFile(ind.ResourceID, filepath.Join(data, "vintages/table-indicateurs-open-data-france-2022-08-05-19h01.csv"))
	srcs := srv.Sources()[:1]

	rs, err := e.svc.Ingest(ctx, srcs)
	if err != nil || rs[0].Status != prevoir.FetchNew {
		t.Fatalf("first: %s %v", statuses(rs), err)
	}
	first := rs[0].Snapshot
	// Unchanged upstream: a conditional request, a 304, nothing downloaded or stored.
	rs, err = e.svc.Ingest(ctx, srcs)
	if err != nil || rs[0].Status != prevoir.FetchNotModified || rs[0].Snapshot.ID != first.ID {
		t.Fatalf("second: %s %v", statuses(rs), err)
	}
	// A new release that revises past values is reported as such.
	srv.SetFile(ind.ResourceID, filepath.Join(data, "vintages/table-indicateurs-open-data-france-2022-08-26-19h01.csv"))
	rs, err = e.svc.Ingest(ctx, srcs)
	if err != nil {
		t.Fatal(err)
	}
	r := rs[0]
	if r.Status != prevoir.FetchRevised || r.Revision == nil || r.Revision.AddedDates != 21 || r.Revision.ChangedDates == 0 ||
		len(r.Revision.AddedColumns) != 1 || r.Snapshot.PreviousID != first.ID || r.Snapshot.Revision == nil {
		t.Fatalf("revised release: status %s, revision %+v, snapshot %+v", r.Status, r.Revision, r.Snapshot)
	}
	// Back to the first release: bytes already stored, unchanged; the newer release stays
	// current and nothing new is stored.
	srv.SetFile(ind.ResourceID, filepath.Join(data, "vintages/table-indicateurs-open-data-france-2022-08-05-19h01.csv"))
	rs, err = e.svc.Ingest(ctx, srcs)
	if err != nil || rs[0].Snapshot.ID != r.Snapshot.ID || rs[0].Fetched == nil || rs[0].Fetched.ID != first.ID || rs[0].Status != prevoir.FetchUnchanged {
		t.Fatalf("revert: %s %+v %v", statuses(rs), rs[0].Snapshot, err)
	}
	if s, b := e.counts(t); s != 2 || b != 2 {
		t.Errorf("%d snapshots, %d blobs; want 2 and 2", s, b)
	}
}

func TestIngestRejectsCorruptFiles(t *testing.T) {
	good := string(testutil.ReadData(t, "sp-fra-jour.csv"))
	lines := strings.Split(good, "\n")
	edit := func(n int, s string) string {
		c := append([]string(nil), lines...)
		c[n-1] = s
		return strings.Join(c, "\n")
	}
	tests := []struct {
		name, data, want string
	}{
		{"missing column", strings.Replace(good, ";Ti;", ";Tj;", 1), "sp-fra-jour.csv line 1: missing required column(s) Ti"},
		{"bad date", edit(400, "FR;2021-06-31;67407241,00;1,00;2,00;1,00;1,00;1,00;0"), "sp-fra-jour.csv line 400 column jour (field 2): date \"2021-06-31\": no such day"},
		{"text in number", edit(401, "FR;2021-06-15;67407241,00;1,00;deux;1,00;1,00;1,00;0"), "sp-fra-jour.csv line 401 column T (field 5): value \"deux\" is not a number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, testutil.SQLiteURL(t))
			ctx := context.Background()
			dir := sourceDir(t, "table-indicateurs-open-data-france.csv", "vintages/sp-fra-jour-2022-08-05-19h01.csv")
			if _, err := e.svc.Ingest(ctx, sources(t, dir)); err != nil {
				t.Fatal(err)
			}
			before, _ := e.store.CurrentSnapshot(ctx, prevoir.SourceSIDEP)
			snaps, blobs := e.counts(t)

			if err := os.WriteFile(filepath.Join(dir, "sp-fra-jour.csv"), []byte(tt.data), 0o644); err != nil {
				t.Fatal(err)
			}
			rs, err := e.svc.Ingest(ctx, sources(t, dir))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error containing %q", err, tt.want)
			}
			if prevoir.ErrorCode(err) != prevoir.EINVALID {
				t.Errorf("code %s, want invalid", prevoir.ErrorCode(err))
			}
			if rs[0].Status != prevoir.FetchUnchanged || rs[1].Status != prevoir.FetchFailed {
				t.Errorf("statuses %s", statuses(rs))
			}
			// Everything stored before is intact and still current.
			if s, b := e.counts(t); s != snaps || b != blobs {
				t.Errorf("snapshots %d -> %d, blobs %d -> %d", snaps, s, blobs, b)
			}
			after, err := e.store.CurrentSnapshot(ctx, prevoir.SourceSIDEP)
			if err != nil || after.ID != before.ID {
				t.Fatalf("current snapshot changed: %v -> %v (%v)", before.ID, after.ID, err)
			}
			if _, err := e.svc.LoadTable(ctx, srcByName(t, prevoir.SourceSIDEP), after); err != nil {
				t.Errorf("stored snapshot unreadable: %v", err)
			}
			last, _ := e.store.LastFetch(ctx, prevoir.SourceSIDEP)
			if last.Status != prevoir.FetchFailed || !strings.Contains(last.Error, tt.want) {
				t.Errorf("failed fetch not recorded: %+v", last)
			}
		})
	}
}

func srcByName(t *testing.T, name string) prevoir.Source {
	s, err := prevoir.LookupSource(prevoir.DefaultSources(), name)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestIngestSourceDownKeepsPrevious(t *testing.T) {
	e := newEnv(t, testutil.SQLiteURL(t))
	ctx := context.Background()
	srv := testutil.NewDataGouvServer(t, testutil.DataDir(t))
	if _, err := e.svc.Ingest(ctx, srv.Sources()); err != nil {
		t.Fatal(err)
	}
	for _, s := range srv.Sources() {
		srv.Inject(s.ResourceID, testutil.Fault503, testutil.Fault503)
	}
	srv.SetFile(srv.Sources()[0].ResourceID, filepath.Join(testutil.DataDir(t), "vintages/table-indicateurs-open-data-france-2022-08-26-19h01.csv"))
	rs, err := e.svc.Ingest(ctx, srv.Sources())
	if prevoir.ErrorCode(err) != prevoir.EUNAVAILABLE || rs[0].Status != prevoir.FetchFailed {
		t.Fatalf("got %s %v, want failures marked unavailable", statuses(rs), err)
	}
	f, err := e.svc.Frame(ctx, prevoir.DefaultSources(), prevoir.DefaultFrameOptions())
	if err != nil {
		t.Fatal(err)
	}
	if last := f.Dates[f.Len()-1].String(); last != "2022-12-31" {
		t.Errorf("frame ends %s, want the previous release's 2022-12-31", last)
	}
}

func TestIngestFetchesSourcesConcurrently(t *testing.T) {
	e := newEnv(t, testutil.SQLiteURL(t))
	e.svc.Client.MaxAttempts = 1
	ctx := context.Background()
	upstream := testutil.NewDataGouvServer(t, testutil.DataDir(t))
	// In front of it, a gate holds each source's first request until the other source's has
	// arrived too: fetched one after the other, the first waits in vain and gets a 503.
	var (
		mu      sync.Mutex
		arrived int
		both    chan struct{}
	)
	reset := func() {
		mu.Lock()
		defer mu.Unlock()
		arrived, both = 0, make(chan struct{})
	}
	reset()
	gate := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/fr/datasets/r/") {
			mu.Lock()
			arrived++
			wait := both
			if arrived == 2 {
				close(both)
			}
			mu.Unlock()
			select {
			case <-wait:
			case <-time.After(10 * time.Second):
				http.Error(w, "no other request came while this one waited: the sources are fetched one after the other", http.StatusServiceUnavailable)
				return
			}
		}
		upstream.Config.Handler.ServeHTTP(w, r)
	}))
	t.Cleanup(gate.Close)
	srcs := upstream.Sources()
	for i := range srcs {
		srcs[i].URL = prevoir.StableURL(gate.URL, srcs[i].ResourceID)
	}
	rs, err := e.svc.Ingest(ctx, srcs)
	if err != nil || statuses(rs) != "indicateurs=new sidep=new" {
		t.Fatalf("got %s, %v; want both new (a 503 means the fetches did not overlap)", statuses(rs), err)
	}

	// One source failing does not stop the other, and the results keep the sources' order.
	reset()
	upstream.Inject(srcs[0].ResourceID, testutil.Fault404)
	upstream.SetFile(srcs[1].ResourceID, filepath.Join(testutil.DataDir(t), "vintages/sp-fra-jour-2022-08-05-19h01.csv"))
	rs, err = e.svc.Ingest(ctx, srcs)
	if err == nil || !strings.Contains(err.Error(), "404") || statuses(rs) != "indicateurs=failed sidep=older" {
		t.Fatalf("got %s, %v; want indicateurs failed (404) and sidep older (an archived release)", statuses(rs), err)
	}
}

func TestFrameFromStoreOriginalGolden(t *testing.T) {
	e := newEnv(t, testutil.SQLiteURL(t))
	ctx := context.Background()
	dir := sourceDir(t, "vintages/table-indicateurs-open-data-france-2022-08-26-19h01.csv", "sp-fra-jour.csv")
	if _, err := e.svc.Ingest(ctx, sources(t, dir)); err != nil {
		t.Fatal(err)
	}
	opts := prevoir.DefaultFrameOptions()
	opts.Mode = prevoir.FrameOriginal
	f, err := e.svc.Frame(ctx, prevoir.DefaultSources(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if f.Len() != 833 || f.Dates[0].String() != "2020-05-13" || len(f.Sources) != 2 || f.Sources[0].SHA256 == "" || f.Sources[1].SnapshotID == 0 {
		t.Errorf("frame: %d rows from %v, sources %+v", f.Len(), f.Dates[0], f.Sources)
	}

	// Bytes corrupted in the artifact store are detected, not parsed.
	snap, _ := e.store.CurrentSnapshot(ctx, prevoir.SourceSIDEP)
	p := filepath.Join(e.dir, filepath.FromSlash(snap.BlobKey))
	b, _ := os.ReadFile(p)
	if err := os.WriteFile(p, []byte(strings.Replace(string(b), "20524,00", "20525,00", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Frame(ctx, prevoir.DefaultSources(), opts); err == nil || !strings.Contains(err.Error(), "corrupted") {
		t.Errorf("corrupted snapshot: got %v", err)
	}
}

// TestQuarantine: a release breaking each plausibility rule, served by a stand-in for
// data.gouv.fr, is quarantined through the real ingest path: an error naming file, line,
// column and rule, the bytes stored as a quarantined snapshot, the previous release still
// current and the frame unchanged, an alert raised; fetched again it stays quarantined;
// accepted, it becomes current and the frame changes.
func TestQuarantine(t *testing.T) {
	const (
		base  = "vintages/table-indicateurs-open-data-france-2022-08-26-19h01.csv"
		later = "table-indicateurs-open-data-france.csv" // the next release, spoiled by each case
	)
	now := time.Date(2023, 1, 2, 18, 0, 0, 0, time.UTC)
	dates := `"date between 2020-01-01 and 2023-01-03"`
	cases := []struct {
		name, day, column, value string
		want                     string // after "line N column C: "
	}{
		{"negative death count", "2022-11-15", "incid_dchosp", "-3", `-3 breaks rule "non-negative integer"`},
		{"negative bed count", "2022-11-16", "hosp", "-20", `-20 breaks rule "non-negative integer"`},
		{"non-integer count", "2022-10-03", "incid_hosp", "12.5", `12.5 breaks rule "non-negative integer"`},
		{"1e308", "2022-10-04", "rea", "1e308", `1e+308 breaks rule "within [0, 100000000]"`},
		{"rate out of range", "2022-09-01", "tx_pos", "120", `120 breaks rule "within [0, 100]"`},
		{"date in 2099", "2022-12-31", "date", "2099-01-01", `2099-01-01 breaks rule ` + dates},
		{"date in 1472", "2020-01-23", "date", "1472-01-23", `1472-01-23 breaks rule ` + dates},
		{"ten times the largest so far", "2022-12-01", "incid_dchosp", "9999", `9999 breaks rule "at most 10 × the largest value seen so far (613)"`},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			testutil.ForEachDatabase(t, func(t *testing.T, dbURL string) {
				e := newEnv(t, dbURL)
				e.svc.Now = func() time.Time { return now }
				ctx := context.Background()
				data := testutil.DataDir(t)
				srv := testutil.NewDataGouvServer(t, data)
				ind := srv.Sources()[0]
				srv.SetFile(ind.ResourceID, filepath.Join(data, base))
				rs, err := e.svc.Ingest(ctx, srv.Sources())
				if err != nil {
					t.Fatal(err)
				}
				good := rs[0].Snapshot
				frame := func() string {
					t.Helper()
					f, err := e.svc.Frame(ctx, srv.Sources(), prevoir.DefaultFrameOptions())
					if err != nil {
						t.Fatal(err)
					}
					return csvsource.FrameSHA256(f)
				}
				before := frame()
				snaps, _ := e.counts(t)

				body, line := testutil.SpoilField(t, later, tt.day, tt.column, tt.value)
				path := filepath.Join(t.TempDir(), "spoiled.csv")
				if err := os.WriteFile(path, body, 0o644); err != nil {
					t.Fatal(err)
				}
				srv.SetFile(ind.ResourceID, path)
				want := fmt.Sprintf("table-indicateurs-open-data-france.csv line %d column %s: %s", line, tt.column, tt.want)
				for attempt := 1; attempt <= 2; attempt++ {
					rs, err = e.svc.Ingest(ctx, srv.Sources())
					var qerr *prevoir.QuarantineError
					if !errors.As(err, &qerr) || !strings.Contains(err.Error(), "quarantined: "+want) || prevoir.ErrorCode(err) != prevoir.EINVALID {
						t.Fatalf("ingest %d: %v\nwant a quarantine: %s", attempt, err, want)
					}
					q := rs[0].Quarantined
					if rs[0].Status != prevoir.FetchQuarantined || q == nil || q.State != prevoir.SnapshotQuarantined || q.ViolationCount != 1 ||
						rs[0].Snapshot == nil || rs[0].Snapshot.ID != good.ID || rs[1].Status != prevoir.FetchNotModified {
						t.Fatalf("ingest %d: %s, quarantined %+v, current %+v", attempt, statuses(rs), q, rs[0].Snapshot)
					}
					if !strings.Contains(err.Error(), fmt.Sprintf("prevoir snapshots accept %d", q.ID)) {
						t.Errorf("the error does not say how to accept: %v", err)
					}
					// Kept, once: the bytes, and the snapshot with its violation.
					if stored, err := e.blobs.GetVerified(ctx, q.BlobKey, q.SHA256); err != nil || !bytes.Equal(stored, body) {
						t.Errorf("quarantined bytes not stored: %v", err)
					}
					if n, _ := e.counts(t); n != snaps+1 {
						t.Errorf("ingest %d: %d snapshots, want %d", attempt, n, snaps+1)
					}
					if got, err := e.store.FindSnapshot(ctx, q.ID); err != nil || got.State != prevoir.SnapshotQuarantined ||
						len(got.Violations) != 1 || got.Violations[0].String() != want {
						t.Errorf("stored snapshot: %+v, %v", got, err)
					}
					// Not current; the frame as it was.
					if cur, err := e.store.CurrentSnapshot(ctx, prevoir.SourceIndicators); err != nil || cur.ID != good.ID {
						t.Errorf("current snapshot %+v, %v; want %d", cur, err, good.ID)
					}
					if frame() != before {
						t.Error("the frame changed")
					}
				}
				// An alert is raised.
				alerts, err := monitor.Check(ctx, monitor.Stores{Registry: sqlstore.NewRegistry(e.db), Forecasts: sqlstore.NewForecastStore(e.db),
					Snapshots: e.store, Runs: sqlstore.NewRunStore(e.db)}, monitor.Options{Now: func() time.Time { return now }})
				if err != nil {
					t.Fatal(err)
				}
				if i := slices.IndexFunc(alerts, func(a monitor.Alert) bool { return a.Kind == monitor.KindQuarantine }); i < 0 ||
					alerts[i].Subject != prevoir.SourceIndicators || !strings.Contains(alerts[i].Message, want) {
					t.Errorf("alerts: %+v", alerts)
				}

				// Accepted after review: current, and the frame is built from it.
				q := rs[0].Quarantined
				if _, err := e.store.AcceptSnapshot(ctx, q.ID, prevoir.Acceptance{At: now, By: "test", Reason: tt.name}); err != nil {
					t.Fatal(err)
				}
				if cur, err := e.store.CurrentSnapshot(ctx, prevoir.SourceIndicators); err != nil || cur.ID != q.ID {
					t.Fatalf("current after the acceptance: %+v, %v; want %d", cur, err, q.ID)
				}
				if frame() == before {
					t.Error("the frame did not change after the acceptance")
				}
				// The next fetch of the same release is unchanged, not quarantined again.
				if rs, err := e.svc.Ingest(ctx, srv.Sources()); err != nil || rs[0].Status != prevoir.FetchUnchanged {
					t.Errorf("after the acceptance: %s, %v", statuses(rs), err)
				}
			})
		})
	}
}

// TestQuarantineFirstRelease: an implausible first release is kept but leaves the source with
// no current release, and the ingest of the other source goes on.
func TestQuarantineFirstRelease(t *testing.T) {
	e := newEnv(t, testutil.SQLiteURL(t))
	ctx := context.Background()
	dir := sourceDir(t, "table-indicateurs-open-data-france.csv", "sp-fra-jour.csv")
	body, _ := testutil.SpoilField(t, "table-indicateurs-open-data-france.csv", "2021-03-01", "TO", "138.7")
	if err := os.WriteFile(filepath.Join(dir, "table-indicateurs-open-data-france.csv"), body, 0o644); err != nil {
		t.Fatal(err)
	}
	rs, err := e.svc.Ingest(ctx, sources(t, dir))
	if prevoir.ErrorCode(err) != prevoir.EINVALID || !strings.Contains(err.Error(), `column TO: 138.7 breaks rule "within [0, 5]"`) {
		t.Fatalf("got %v", err)
	}
	if statuses(rs) != "indicateurs=quarantined sidep=new" || rs[0].Snapshot != nil {
		t.Errorf("results: %s, current %+v", statuses(rs), rs[0].Snapshot)
	}
	if _, err := e.store.CurrentSnapshot(ctx, prevoir.SourceIndicators); prevoir.ErrorCode(err) != prevoir.ENOTFOUND {
		t.Errorf("current snapshot of indicateurs: %v", err)
	}
}
