package sqlstore

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/internal/testutil"
)

// vintage returns an unstored release of source n ending on last.
func vintage(source string, n byte, last, lastModified string) *prevoir.Snapshot {
	return &prevoir.Snapshot{Source: source, SHA256: hexSHA(n), BlobKey: fmt.Sprintf("snapshots/%s/%s.csv", source, hexSHA(n)),
		URL: "https://example.test/" + source, FetchedAt: time.Now(), Size: 10, Rows: 2, LastModified: lastModified,
		FirstDate: prevoir.MustParseDate("2020-03-18"), LastDate: prevoir.MustParseDate(last), Columns: []string{"incid_dchosp"}}
}

// TestUpgradeToVintages: a home whose last ingest stored an older vintage after a newer
// release (which made the older current before this version) is upgraded in place: the newest
// release by its dates is current, the fetches are kept, and the new fetch status 'older' and
// pins can be stored.
func TestUpgradeToVintages(t *testing.T) {
	testutil.ForEachDatabase(t, func(t *testing.T, url string) {
		ctx := context.Background()
		old := oldDatabase(t, url, versionBefore(t, "vintages"))
		at := time.Date(2022, 8, 27, 9, 0, 0, 0, time.UTC)
		for i, last := range []string{"2022-08-26", "2022-08-05"} { // the new release, then the old one
			var id int64
			if err := old.sql.QueryRowContext(ctx, old.rebind(`INSERT INTO snapshots
				(source, sha256, blob_key, url, fetched_at, size_bytes, row_count, first_date, last_date, column_names)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`),
				"indicateurs", hexSHA(byte(i+1)), "snapshots/x.csv", "https://example.test/x", old.ts(at), 10, 2, "2020-03-18", last, `["incid_dchosp"]`).Scan(&id); err != nil {
				t.Fatal(err)
			}
			if _, err := old.sql.ExecContext(ctx, old.rebind(`INSERT INTO fetches (source, url, started_at, status, snapshot_id)
				VALUES (?, ?, ?, ?, ?)`), "indicateurs", "https://example.test/x", old.ts(at.Add(time.Duration(i)*time.Hour)), "revised", id); err != nil {
				t.Fatal(err)
			}
		}

		db := upgrade(t, old, url)
		st := NewSnapshotStore(db)
		cur, err := st.CurrentSnapshot(ctx, "indicateurs")
		if err != nil || cur.ID != 1 || cur.LastDate.String() != "2022-08-26" {
			t.Fatalf("current after the upgrade: %+v, %v; want snapshot 1, the newest by its dates", cur, err)
		}
		if f, err := st.LastFetch(ctx, "indicateurs"); err != nil || f.ID != 2 || f.SnapshotID != 2 || f.Status != prevoir.FetchRevised {
			t.Errorf("fetch kept through the upgrade: %+v, %v", f, err)
		}
		older := vintage("indicateurs", 3, "2022-07-01", "")
		f := &prevoir.Fetch{Source: "indicateurs", URL: "u", StartedAt: time.Now(), Status: prevoir.FetchOlder}
		if err := st.RecordFetch(ctx, f, older); err != nil || f.ID != 3 || older.ID != 3 {
			t.Fatalf("an older release after the upgrade: %v (fetch %d, snapshot %d)", err, f.ID, older.ID)
		}
		if _, err := st.PinSnapshot(ctx, older.ID, prevoir.Pin{At: time.Now(), By: "op"}); err != nil {
			t.Fatal(err)
		}
		if cur, _ := st.CurrentSnapshot(ctx, "indicateurs"); cur.ID != older.ID {
			t.Errorf("current after the pin: %d, want %d", cur.ID, older.ID)
		}
		refusesUnknownFetchStatus(t, db)
	})
}

// TestCurrentIsNewestByDates: the current release is the newest by its own dates, whatever
// the order the releases were fetched in: the later last day, then the later Last-Modified,
// then the later arrival; a quarantined release is not a candidate until accepted; a pin
// overrides the dates until it is removed.
func TestCurrentIsNewestByDates(t *testing.T) {
	testutil.ForEachDatabase(t, func(t *testing.T, url string) {
		ctx := context.Background()
		db, err := Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		st := NewSnapshotStore(db)
		store := func(s *prevoir.Snapshot, status prevoir.FetchStatus) {
			t.Helper()
			if err := st.RecordFetch(ctx, &prevoir.Fetch{Source: s.Source, URL: s.URL, StartedAt: time.Now(), Status: status}, s); err != nil {
				t.Fatal(err)
			}
		}
		current := func() int64 {
			t.Helper()
			cur, err := st.CurrentSnapshot(ctx, "indicateurs")
			if err != nil {
				t.Fatal(err)
			}
			return cur.ID
		}
		aug26 := vintage("indicateurs", 1, "2022-08-26", "Fri, 26 Aug 2022 17:01:00 GMT")
		store(aug26, prevoir.FetchNew)
		aug05 := vintage("indicateurs", 2, "2022-08-05", "Fri, 05 Aug 2022 17:01:00 GMT")
		store(aug05, prevoir.FetchOlder)
		if got := current(); got != aug26.ID {
			t.Errorf("after an older vintage: current %d, want %d (2022-08-26)", got, aug26.ID)
		}
		// Same last day: the later Last-Modified wins, whatever the arrival order.
		revisedEarlier := vintage("indicateurs", 3, "2022-08-26", "Thu, 25 Aug 2022 08:00:00 GMT")
		store(revisedEarlier, prevoir.FetchOlder)
		if got := current(); got != aug26.ID {
			t.Errorf("same last day, earlier Last-Modified: current %d, want %d", got, aug26.ID)
		}
		// Same last day, no Last-Modified to compare: the one that arrived last.
		noValidator := vintage("indicateurs", 4, "2022-08-26", "")
		store(noValidator, prevoir.FetchRevised)
		if got := current(); got != noValidator.ID {
			t.Errorf("same last day, no Last-Modified: current %d, want %d", got, noValidator.ID)
		}
		// A newer release that is quarantined is not current until accepted.
		bad := vintage("indicateurs", 5, "2022-09-01", "")
		bad.State, bad.ViolationCount = prevoir.SnapshotQuarantined, 1
		store(bad, prevoir.FetchQuarantined)
		if got := current(); got != noValidator.ID {
			t.Errorf("quarantined newer release: current %d, want %d", got, noValidator.ID)
		}
		if _, err := st.PinSnapshot(ctx, bad.ID, prevoir.Pin{At: time.Now(), By: "op"}); prevoir.ErrorCode(err) != prevoir.ECONFLICT ||
			!strings.Contains(err.Error(), "accept it") {
			t.Errorf("pinning a quarantined release: %v", err)
		}
		if _, err := st.AcceptSnapshot(ctx, bad.ID, prevoir.Acceptance{At: time.Now(), By: "op"}); err != nil {
			t.Fatal(err)
		}
		if got := current(); got != bad.ID {
			t.Errorf("accepted newer release: current %d, want %d", got, bad.ID)
		}

		// A pin overrides the dates, is listed with its snapshot, and moves when another is pinned.
		pinAt := time.Date(2022, 9, 2, 8, 0, 0, 0, time.UTC)
		pinned, err := st.PinSnapshot(ctx, aug05.ID, prevoir.Pin{At: pinAt, By: "alice", Reason: "reproduce the August 5 forecast"})
		if err != nil {
			t.Fatal(err)
		}
		if pinned.Pin == nil || pinned.Pin.By != "alice" || !pinned.Pin.At.Equal(pinAt) || pinned.Pin.Reason != "reproduce the August 5 forecast" {
			t.Errorf("pinned snapshot: %+v", pinned.Pin)
		}
		if got := current(); got != aug05.ID {
			t.Errorf("after the pin: current %d, want %d", got, aug05.ID)
		}
		store(vintage("indicateurs", 6, "2022-09-09", ""), prevoir.FetchNew)
		if got := current(); got != aug05.ID {
			t.Errorf("a newer release while pinned: current %d, want the pinned %d", got, aug05.ID)
		}
		if _, err := st.PinSnapshot(ctx, aug26.ID, prevoir.Pin{At: pinAt, By: "bob"}); err != nil {
			t.Fatal(err)
		}
		list, err := st.ListSnapshots(ctx, prevoir.SnapshotFilter{Source: "indicateurs"})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range list {
			if (s.Pin != nil) != (s.ID == aug26.ID) {
				t.Errorf("snapshot %d listed with pin %+v; only %d is pinned", s.ID, s.Pin, aug26.ID)
			}
		}
		// Other sources are not affected; pinning an unknown ID is not found.
		store(vintage("sidep", 7, "2022-08-23", ""), prevoir.FetchNew)
		if cur, err := st.CurrentSnapshot(ctx, "sidep"); err != nil || cur.ID != 7 || cur.Pin != nil {
			t.Errorf("sidep current: %+v, %v", cur, err)
		}
		if _, err := st.PinSnapshot(ctx, 999, prevoir.Pin{At: time.Now()}); prevoir.ErrorCode(err) != prevoir.ENOTFOUND {
			t.Errorf("pin unknown: %v", err)
		}
		unpinned, err := st.UnpinSnapshot(ctx, "indicateurs")
		if err != nil || unpinned.ID != aug26.ID {
			t.Fatalf("unpin: %+v, %v", unpinned, err)
		}
		if got := current(); got != 6 {
			t.Errorf("after the unpin: current %d, want 6, the newest", got)
		}
		if _, err := st.UnpinSnapshot(ctx, "indicateurs"); prevoir.ErrorCode(err) != prevoir.ENOTFOUND {
			t.Errorf("unpin twice: %v", err)
		}
	})
}
