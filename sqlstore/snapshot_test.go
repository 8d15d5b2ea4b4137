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
		// A fetch that goes back to the first release makes it current again without a new row.
		if err := st.RecordFetch(ctx, &prevoir.Fetch{Source: "sidep", StartedAt: time.Now(), Status: prevoir.FetchRevised}, s1); err != nil {
			t.Fatal(err)
		}
		if cur, _ := st.CurrentSnapshot(ctx, "sidep"); cur.ID != s1.ID {
			t.Errorf("current = %d, want %d", cur.ID, s1.ID)
		}
		// Failed and not-modified fetches do not change the current snapshot.
		for _, status := range []prevoir.FetchStatus{prevoir.FetchFailed, prevoir.FetchNotModified} {
			if err := st.RecordFetch(ctx, &prevoir.Fetch{Source: "sidep", StartedAt: time.Now(), Status: status, Error: "boom"}, nil); err != nil {
				t.Fatal(err)
			}
		}
		if cur, _ := st.CurrentSnapshot(ctx, "sidep"); cur.ID != s1.ID {
			t.Errorf("after failures current = %d, want %d", cur.ID, s1.ID)
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
