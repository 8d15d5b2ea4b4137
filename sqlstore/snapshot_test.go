package sqlstore_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/internal/testutil"
	"github.com/prevoir/prevoir/sqlstore"
)

func openDB(t *testing.T, url string) *sqlstore.DB {
	t.Helper()
	db, err := sqlstore.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func sha(n int) string { return fmt.Sprintf("%064x", n) }

func newSnapshot(source string, n int) *prevoir.Snapshot {
	return &prevoir.Snapshot{
		Source: source, SHA256: sha(n), BlobKey: "snapshots/sha256/" + sha(n), URL: "https://example.test/" + source,
		FetchedAt: time.Date(2022, 8, 26, 17, 1, 2, 345000000, time.UTC), ETag: `"e1"`, LastModified: "Fri, 26 Aug 2022 17:01:00 GMT",
		Size: 1234, Rows: 10, FirstDate: prevoir.MustParseDate("2020-05-13"), LastDate: prevoir.MustParseDate("2020-05-22"),
		Columns: []string{"a", "b"},
	}
}

func TestSnapshotStore(t *testing.T) {
	testutil.ForEachDatabase(t, func(t *testing.T, url string) {
		ctx := context.Background()
		st := sqlstore.NewSnapshotStore(openDB(t, url))

		if _, err := st.CurrentSnapshot(ctx, "sidep"); prevoir.ErrorCode(err) != prevoir.ENOTFOUND {
			t.Fatalf("current of empty store: %v", err)
		}
		s1 := newSnapshot("sidep", 1)
		f1 := &prevoir.Fetch{Source: "sidep", URL: s1.URL, StartedAt: s1.FetchedAt, Duration: 1500 * time.Millisecond, Status: prevoir.FetchNew, ETag: `"e1"`}
		if err := st.RecordFetch(ctx, f1, s1); err != nil {
			t.Fatal(err)
		}
		if s1.ID == 0 || f1.ID == 0 || f1.SnapshotID != s1.ID {
			t.Fatalf("ids not set: snapshot %d fetch %d -> %d", s1.ID, f1.ID, f1.SnapshotID)
		}
		got, err := st.FindSnapshot(ctx, s1.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !got.FetchedAt.Equal(s1.FetchedAt) || got.SHA256 != s1.SHA256 || got.FirstDate != s1.FirstDate ||
			strings.Join(got.Columns, ",") != "a,b" || got.Revision != nil || got.Rows != 10 || got.Size != 1234 {
			t.Errorf("round trip:\n got %+v\nwant %+v", got, s1)
		}

		// A second release revising the first.
		s2 := newSnapshot("sidep", 2)
		s2.PreviousID = s1.ID
		s2.Revision = &prevoir.Revision{ChangedDates: 3, ChangedCells: 4, ChangedColumns: map[string]int{"a": 3, "b": 1}, AddedDates: 1}
		if err := st.RecordFetch(ctx, &prevoir.Fetch{Source: "sidep", StartedAt: time.Now(), Status: prevoir.FetchRevised}, s2); err != nil {
			t.Fatal(err)
		}
		cur, err := st.CurrentSnapshot(ctx, "sidep")
		if err != nil || cur.ID != s2.ID || cur.Revision == nil || cur.Revision.ChangedColumns["a"] != 3 || cur.PreviousID != s1.ID {
			t.Fatalf("current = %+v, %v; want snapshot %d with its revision", cur, err, s2.ID)
		}
		// The same bytes again: conflict, and nothing recorded.
		dup := newSnapshot("sidep", 2)
		if err := st.RecordFetch(ctx, &prevoir.Fetch{Source: "sidep", StartedAt: time.Now(), Status: prevoir.FetchNew}, dup); prevoir.ErrorCode(err) != prevoir.ECONFLICT {
			t.Fatalf("duplicate snapshot: got %v, want a conflict", err)
		}
		if dup.ID != 0 {
			t.Error("failed insert set an ID")
		}
		// A fetch that goes back to the first release does not make it current: the second,
		// as recent by its dates and arrived after it, is the newer release.
		if err := st.RecordFetch(ctx, &prevoir.Fetch{Source: "sidep", StartedAt: time.Now(), Status: prevoir.FetchUnchanged}, s1); err != nil {
			t.Fatal(err)
		}
		if cur, _ := st.CurrentSnapshot(ctx, "sidep"); cur.ID != s2.ID {
			t.Errorf("current = %d, want %d", cur.ID, s2.ID)
		}
		// Failed and not-modified fetches do not change the current snapshot.
		for _, status := range []prevoir.FetchStatus{prevoir.FetchFailed, prevoir.FetchNotModified} {
			if err := st.RecordFetch(ctx, &prevoir.Fetch{Source: "sidep", StartedAt: time.Now(), Status: status, Error: "boom"}, nil); err != nil {
				t.Fatal(err)
			}
		}
		if cur, _ := st.CurrentSnapshot(ctx, "sidep"); cur.ID != s2.ID {
			t.Errorf("after failures current = %d, want %d", cur.ID, s2.ID)
		}
		last, err := st.LastFetch(ctx, "sidep")
		if err != nil || last.Status != prevoir.FetchNotModified {
			t.Errorf("last fetch = %+v, %v", last, err)
		}
		ok, err := st.LastFetch(ctx, "sidep", prevoir.FetchNew)
		if err != nil || ok.ETag != `"e1"` || ok.Duration != 1500*time.Millisecond {
			t.Errorf("last new fetch = %+v, %v", ok, err)
		}
		list, err := st.ListSnapshots(ctx, prevoir.SnapshotFilter{Source: "sidep"})
		if err != nil || len(list) != 2 || list[0].ID != s2.ID {
			t.Errorf("list = %v, %v", list, err)
		}
		if list, _ := st.ListSnapshots(ctx, prevoir.SnapshotFilter{Source: "other"}); len(list) != 0 {
			t.Errorf("list of other source = %v", list)
		}
	})
}

// TestConcurrentSameSnapshot: several writers store the same release at once; exactly one
// snapshot row results, the others get a conflict.
func TestConcurrentSameSnapshot(t *testing.T) {
	testutil.ForEachDatabase(t, func(t *testing.T, url string) {
		ctx := context.Background()
		db := openDB(t, url)
		st := sqlstore.NewSnapshotStore(db)
		// A second handle, as a second process would have.
		st2 := sqlstore.NewSnapshotStore(openDB(t, url))
		var wg sync.WaitGroup
		errs := make([]error, 8)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s := st
				if i%2 == 1 {
					s = st2
				}
				errs[i] = s.RecordFetch(ctx, &prevoir.Fetch{Source: "x", StartedAt: time.Now(), Status: prevoir.FetchNew}, newSnapshot("x", 7))
			}()
		}
		wg.Wait()
		okCount := 0
		for _, err := range errs {
			switch prevoir.ErrorCode(err) {
			case "":
				okCount++
			case prevoir.ECONFLICT:
			default:
				t.Errorf("unexpected error: %v", err)
			}
		}
		list, _ := st.ListSnapshots(ctx, prevoir.SnapshotFilter{})
		if okCount != 1 || len(list) != 1 {
			t.Errorf("%d writers succeeded, %d snapshots stored; want 1 and 1", okCount, len(list))
		}
	})
}

func TestMigrations(t *testing.T) {
	testutil.ForEachDatabase(t, func(t *testing.T, url string) {
		ctx := context.Background()
		db := openDB(t, url)
		// Reopening applies nothing and keeps the data.
		st := sqlstore.NewSnapshotStore(db)
		if err := st.RecordFetch(ctx, &prevoir.Fetch{Source: "x", StartedAt: time.Now(), Status: prevoir.FetchNew}, newSnapshot("x", 1)); err != nil {
			t.Fatal(err)
		}
		db2 := openDB(t, url)
		if list, _ := sqlstore.NewSnapshotStore(db2).ListSnapshots(ctx, prevoir.SnapshotFilter{}); len(list) != 1 {
			t.Fatalf("after reopen: %d snapshots", len(list))
		}
		// A database from a newer prevoir is refused, not downgraded.
		if _, err := db.SQL().ExecContext(ctx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', 'now')"); err != nil {
			t.Fatal(err)
		}
		if _, err := sqlstore.Open(ctx, url); prevoir.ErrorCode(err) != prevoir.ECONFLICT || !strings.Contains(err.Error(), "newer than this binary") {
			t.Errorf("open newer schema: %v", err)
		}
	})
}

func TestOpenBadURL(t *testing.T) {
	for _, u := range []string{"mysql://x", "sqlite:", "s3://bucket/db"} {
		if _, err := sqlstore.Open(context.Background(), u); err == nil {
			t.Errorf("Open(%q) succeeded", u)
		}
	}
	// The error names the URL without its password.
	_, err := sqlstore.Open(context.Background(), "mysql://u:pw-in-url@h/db")
	if err == nil || strings.Contains(err.Error(), "pw-in-url") || !strings.Contains(err.Error(), "mysql://u:(set)@h/db") {
		t.Errorf("Open of a URL with a password: %v", err)
	}
}

// TestQuarantineAndAccept: a quarantined snapshot keeps its violations, never becomes current
// while quarantined, and becomes current once accepted — from the fetch that brought it, so a
// release fetched after it stays current. Accepting twice, an unknown ID or a release that
// passed the rules is an error.
func TestQuarantineAndAccept(t *testing.T) {
	testutil.ForEachDatabase(t, func(t *testing.T, url string) {
		ctx := context.Background()
		st := sqlstore.NewSnapshotStore(openDB(t, url))
		good := newSnapshot("indicateurs", 1)
		if err := st.RecordFetch(ctx, &prevoir.Fetch{Source: "indicateurs", StartedAt: time.Now(), Status: prevoir.FetchNew}, good); err != nil {
			t.Fatal(err)
		}
		if good.State != prevoir.SnapshotOK {
			t.Errorf("a new snapshot's state is %q, want ok", good.State)
		}
		bad := newSnapshot("indicateurs", 2)
		bad.State, bad.ViolationCount = prevoir.SnapshotQuarantined, 30
		bad.Violations = []prevoir.Violation{{File: "f.csv", Line: 812, Date: prevoir.MustParseDate("2022-06-01"), Column: "incid_dchosp", Value: "-3", Rule: prevoir.RuleNonNegativeInteger}}
		qf := &prevoir.Fetch{Source: "indicateurs", StartedAt: time.Now(), Status: prevoir.FetchQuarantined, Error: "quarantined: ..."}
		if err := st.RecordFetch(ctx, qf, bad); err != nil {
			t.Fatal(err)
		}
		if cur, err := st.CurrentSnapshot(ctx, "indicateurs"); err != nil || cur.ID != good.ID {
			t.Fatalf("current while quarantined: %+v, %v; want snapshot %d", cur, err, good.ID)
		}
		got, err := st.FindSnapshot(ctx, bad.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.State != prevoir.SnapshotQuarantined || got.ViolationCount != 30 || len(got.Violations) != 1 ||
			got.Violations[0] != bad.Violations[0] || got.Acceptance != nil {
			t.Errorf("quarantined snapshot read back: %+v", got)
		}
		if f, err := st.LastFetch(ctx, "indicateurs"); err != nil || f.Status != prevoir.FetchQuarantined || f.SnapshotID != bad.ID {
			t.Errorf("last fetch: %+v, %v", f, err)
		}

		for _, tt := range []struct {
			id   int64
			code string
			want string
		}{
			{999, prevoir.ENOTFOUND, "no snapshot with id 999"},
			{good.ID, prevoir.ECONFLICT, "is not quarantined"},
		} {
			if _, err := st.AcceptSnapshot(ctx, tt.id, prevoir.Acceptance{At: time.Now(), By: "alice"}); prevoir.ErrorCode(err) != tt.code || !strings.Contains(fmt.Sprint(err), tt.want) {
				t.Errorf("accept %d: %v; want %s %q", tt.id, err, tt.code, tt.want)
			}
		}
		at := time.Date(2022, 8, 27, 9, 30, 0, 0, time.UTC)
		acc, err := st.AcceptSnapshot(ctx, bad.ID, prevoir.Acceptance{At: at, By: "alice", Reason: "late reports, checked with SpF"})
		if err != nil {
			t.Fatal(err)
		}
		if acc.State != prevoir.SnapshotAccepted || acc.Acceptance == nil || !acc.Acceptance.At.Equal(at) || acc.Acceptance.By != "alice" ||
			acc.Acceptance.Reason != "late reports, checked with SpF" || acc.ViolationCount != 30 {
			t.Errorf("accepted snapshot: %+v (acceptance %+v)", acc, acc.Acceptance)
		}
		if cur, err := st.CurrentSnapshot(ctx, "indicateurs"); err != nil || cur.ID != bad.ID {
			t.Errorf("current after the acceptance: %+v, %v; want snapshot %d", cur, err, bad.ID)
		}
		if _, err := st.AcceptSnapshot(ctx, bad.ID, prevoir.Acceptance{At: time.Now(), By: "bob"}); prevoir.ErrorCode(err) != prevoir.ECONFLICT ||
			!strings.Contains(err.Error(), "already accepted by alice") {
			t.Errorf("accepting twice: %v", err)
		}

		// A later quarantined release, then a good one: accepting the quarantined one does not
		// override the release fetched after it.
		bad2 := newSnapshot("indicateurs", 3)
		bad2.State, bad2.ViolationCount = prevoir.SnapshotQuarantined, 1
		if err := st.RecordFetch(ctx, &prevoir.Fetch{Source: "indicateurs", StartedAt: time.Now(), Status: prevoir.FetchQuarantined}, bad2); err != nil {
			t.Fatal(err)
		}
		good2 := newSnapshot("indicateurs", 4)
		if err := st.RecordFetch(ctx, &prevoir.Fetch{Source: "indicateurs", StartedAt: time.Now(), Status: prevoir.FetchNew}, good2); err != nil {
			t.Fatal(err)
		}
		if _, err := st.AcceptSnapshot(ctx, bad2.ID, prevoir.Acceptance{At: time.Now(), By: "alice"}); err != nil {
			t.Fatal(err)
		}
		if cur, err := st.CurrentSnapshot(ctx, "indicateurs"); err != nil || cur.ID != good2.ID {
			t.Errorf("current: %+v, %v; want the later release %d", cur, err, good2.ID)
		}
	})
}
