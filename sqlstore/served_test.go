package sqlstore_test

import (
	"context"
	"strings"
	"testing"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/internal/testutil"
	"github.com/prevoir/prevoir/sqlstore"
)

// TestServedForecastIsTheChampions: the served forecast is the champion's from the latest
// origin, whichever version forecast last; while the champion has not forecast from that
// origin, the last made from it, which PendingNote describes; an older origin of the champion
// is never served over a newer one.
func TestServedForecastIsTheChampions(t *testing.T) {
	testutil.ForEachDatabase(t, func(t *testing.T, url string) {
		ctx := context.Background()
		st := sqlstore.NewForecastStore(openDB(t, url))
		save := func(origin string, version int, frame string, level float64) *prevoir.StoredForecast {
			t.Helper()
			f := storedForecast(origin, version, level)
			f.FrameSHA256 = frame
			if created, err := st.SaveForecast(ctx, f); err != nil || !created {
				t.Fatalf("save v%d from %s: %v, %v", version, origin, created, err)
			}
			return f
		}
		served := func(champion int) *prevoir.StoredForecast {
			t.Helper()
			f, err := st.ServedForecast(ctx, "incid_dchosp", champion)
			if err != nil {
				t.Fatalf("served with champion v%d: %v", champion, err)
			}
			return f
		}
		if _, err := st.ServedForecast(ctx, "incid_dchosp", 1); prevoir.ErrorCode(err) != prevoir.ENOTFOUND {
			t.Fatalf("no forecast: %v, want ENOTFOUND", err)
		}

		// v1 forecasts, v3 is promoted and forecasts from the same origin, v1 is promoted back.
		save("2022-12-11", 1, sha(1), 40)
		v1 := save("2022-12-18", 1, sha(1), 50)
		v3 := save("2022-12-18", 3, sha(1), 60)
		if got := served(1); got.ID != v1.ID {
			t.Errorf("champion v1: served forecast %d (v%d), want v1's %d although v3 forecast later", got.ID, got.Version, v1.ID)
		}
		if got := served(3); got.ID != v3.ID {
			t.Errorf("champion v3: served forecast %d (v%d), want %d", got.ID, got.Version, v3.ID)
		}
		// A revision keeps the origin: v3's forecast on the new frame supersedes its first.
		v3b := save("2022-12-18", 3, sha(2), 65)
		if got := served(3); got.ID != v3b.ID {
			t.Errorf("after a revision: served forecast %d, want v3's on the new frame %d", got.ID, v3b.ID)
		}
		if got := served(1); got.ID != v1.ID {
			t.Errorf("champion v1 after v3's revision: served %d (v%d), want %d", got.ID, got.Version, v1.ID)
		}

		// v2, promoted, has not forecast yet: the last forecast made from the latest origin
		// is served, and it says that the champion's is pending.
		got := served(2)
		if got.ID != v3b.ID {
			t.Errorf("champion v2 without a forecast: served %d, want the last made %d", got.ID, v3b.ID)
		}
		note := prevoir.PendingNote(got, &prevoir.ModelVersion{Version: 2, Family: "theta"})
		if !strings.Contains(note, "version 3 (ets), which is no longer the champion") || !strings.Contains(note, "version 2 (theta)") || !strings.Contains(note, "pending") {
			t.Errorf("pending note: %q", note)
		}
		if n := prevoir.PendingNote(got, &prevoir.ModelVersion{Version: 3}); n != "" {
			t.Errorf("the champion's own forecast has a note: %q", n)
		}
		if got := served(0); got.ID != v3b.ID {
			t.Errorf("no champion: served %d, want the last made %d", got.ID, v3b.ID)
		}

		// New data: the champion's forecast from an older origin is not served over v3's newer.
		v3c := save("2022-12-25", 3, sha(3), 70)
		if got := served(1); got.ID != v3c.ID {
			t.Errorf("champion v1 behind the latest origin: served %d, want the latest origin's %d", got.ID, v3c.ID)
		}

		// The same rule of which forecast of an origin counts lists them and finds them.
		cur, err := st.ListForecasts(ctx, prevoir.ForecastFilter{Model: "incid_dchosp", Current: true})
		if err != nil {
			t.Fatal(err)
		}
		var ids []int64
		for _, f := range cur {
			ids = append(ids, f.ID)
			if f.ID == v3.ID {
				t.Errorf("the superseded forecast %d is listed as current", v3.ID)
			}
		}
		if len(cur) != 4 {
			t.Errorf("current forecasts %v, want 4 (v1 twice, v3 on the revised frame, v3 from the 25th)", ids)
		}
		if all, _ := st.ListForecasts(ctx, prevoir.ForecastFilter{Model: "incid_dchosp"}); len(all) != 5 {
			t.Errorf("all forecasts: %d, want 5", len(all))
		}
		if f, err := st.FindForecast(ctx, "incid_dchosp", 3, v3.Origin, sha(1)); err != nil || f.ID != v3.ID {
			t.Errorf("find v3 on the first frame: %+v, %v", f, err)
		}
		if _, err := st.FindForecast(ctx, "incid_dchosp", 2, v3.Origin, sha(1)); prevoir.ErrorCode(err) != prevoir.ENOTFOUND {
			t.Errorf("find a forecast never made: %v, want ENOTFOUND", err)
		}
	})
}
