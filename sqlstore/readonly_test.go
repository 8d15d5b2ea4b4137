package sqlstore_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/internal/testutil"
	"github.com/prevoir/prevoir/sqlstore"
)

// TestOpenReadOnly: a read-only open reads what was written, refuses to write, and on SQLite
// leaves every file of the database's folder as it was (no -wal, -shm or journal file).
func TestOpenReadOnly(t *testing.T) {
	testutil.ForEachDatabase(t, func(t *testing.T, url string) {
		ctx := context.Background()
		w, err := sqlstore.Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		s1 := newSnapshot("sidep", 1)
		if err := sqlstore.NewSnapshotStore(w).RecordFetch(ctx, &prevoir.Fetch{Source: "sidep", URL: s1.URL, StartedAt: s1.FetchedAt, Status: prevoir.FetchNew}, s1); err != nil {
			t.Fatal(err)
		}
		w.Close()
		var dir string
		var before map[string]string
		if strings.HasPrefix(url, "sqlite:") {
			dir = filepath.Dir(strings.TrimPrefix(url, "sqlite:"))
			before = testutil.TreeState(t, dir)
		}

		db, err := sqlstore.OpenReadOnly(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		if !db.ReadOnly() {
			t.Error("ReadOnly() is false after OpenReadOnly")
		}
		st := sqlstore.NewSnapshotStore(db)
		if got, err := st.FindSnapshot(ctx, s1.ID); err != nil || got.SHA256 != s1.SHA256 {
			t.Fatalf("read: %+v, %v", got, err)
		}
		s2 := newSnapshot("sidep", 2)
		if err := st.RecordFetch(ctx, &prevoir.Fetch{Source: "sidep", URL: s2.URL, StartedAt: s2.FetchedAt, Status: prevoir.FetchNew}, s2); err == nil {
			t.Error("a read-only database accepted a write")
		}
		db.Close()
		if dir != "" {
			testutil.SameTree(t, before, testutil.TreeState(t, dir))
		}
	})
}

// TestOpenReadOnlyWhileWriting: while a writer has the SQLite database open, a read-only
// connection reads through the writer's WAL: it sees what the writer commits, even after the
// read-only connection was opened.
func TestOpenReadOnlyWhileWriting(t *testing.T) {
	ctx := context.Background()
	url := testutil.SQLiteURL(t)
	w := openDB(t, url)
	ws := sqlstore.NewSnapshotStore(w)
	record := func(n int) *prevoir.Snapshot {
		s := newSnapshot("sidep", n)
		if err := ws.RecordFetch(ctx, &prevoir.Fetch{Source: "sidep", URL: s.URL, StartedAt: s.FetchedAt.Add(time.Duration(n) * time.Hour), Status: prevoir.FetchNew}, s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	record(1)
	db, err := sqlstore.OpenReadOnly(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s2 := record(2)
	got, err := sqlstore.NewSnapshotStore(db).CurrentSnapshot(ctx, "sidep")
	if err != nil || got.ID != s2.ID {
		t.Fatalf("read-only current snapshot: %+v, %v; the writer committed snapshot %d", got, err, s2.ID)
	}
}

// TestOpenReadOnlyRefusesMissingOrEmpty: a read-only open creates no database, and an empty
// file (no prevoir schema) is refused and left as it was.
func TestOpenReadOnlyRefusesMissingOrEmpty(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.db")
	if _, err := sqlstore.OpenReadOnly(ctx, "sqlite:"+missing); prevoir.ErrorCode(err) != prevoir.ENOTFOUND || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("read-only open of a missing database: %v", err)
	}
	if _, err := os.Stat(missing); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a read-only open created %s: %v", missing, err)
	}
	empty := filepath.Join(dir, "empty.db")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	before := testutil.TreeState(t, dir)
	if _, err := sqlstore.OpenReadOnly(ctx, "sqlite:"+empty); prevoir.ErrorCode(err) != prevoir.ENOTFOUND || !strings.Contains(err.Error(), "no prevoir schema") {
		t.Errorf("read-only open of an empty database: %v", err)
	}
	testutil.SameTree(t, before, testutil.TreeState(t, dir))
}
