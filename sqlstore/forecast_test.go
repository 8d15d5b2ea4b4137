package sqlstore_test

import (
	"context"
	"testing"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/internal/testutil"
	"github.com/prevoir/prevoir/sqlstore"
)

func storedForecast(origin string, version int, level float64) *prevoir.StoredForecast {
	o := prevoir.MustParseDate(origin)
	f := &prevoir.StoredForecast{Model: "incid_dchosp", Version: version, Family: "ets", RunID: sha(5)[:32],
		Snapshots: map[string]string{"indicateurs": sha(6)},
		Forecast:  prevoir.Forecast{Model: "ets", Origin: o, Quantiles: []float64{0.1, 0.5, 0.9}}}
	for i := 1; i <= 3; i++ {
		f.Dates = append(f.Dates, o+prevoir.Date(i))
		f.Point = append(f.Point, level)
		f.Values = append(f.Values, []float64{level - 10, level, level + 10})
	}
	return f
}

func TestForecastStore(t *testing.T) {
	testutil.ForEachDatabase(t, func(t *testing.T, url string) {
		ctx := context.Background()
		st := sqlstore.NewForecastStore(openDB(t, url))
		if _, err := st.ServedForecast(ctx, "incid_dchosp", 1); prevoir.ErrorCode(err) != prevoir.ENOTFOUND {
			t.Fatalf("empty store: %v", err)
		}
		a := storedForecast("2022-12-11", 1, 50)
		created, err := st.SaveForecast(ctx, a)
		if err != nil || !created || a.ID == 0 {
			t.Fatalf("save: %v %v %d", created, err, a.ID)
		}
		// The same model version and origin again: the stored one comes back, nothing new.
		again := storedForecast("2022-12-11", 1, 99)
		created, err = st.SaveForecast(ctx, again)
		if err != nil || created || again.ID != a.ID || again.Point[0] != 50 {
			t.Errorf("second save: created %v, id %d, point %v, %v", created, again.ID, again.Point, err)
		}
		// The same version and origin on another frame (a revision that kept the last date): a
		// new forecast; on that frame again, that one.
		revised := storedForecast("2022-12-11", 1, 70)
		revised.FrameSHA256 = sha(9)
		if created, err := st.SaveForecast(ctx, revised); err != nil || !created || revised.ID == a.ID {
			t.Errorf("save on another frame: created %v, id %d (first %d), %v", created, revised.ID, a.ID, err)
		}
		same := storedForecast("2022-12-11", 1, 99)
		same.FrameSHA256 = sha(9)
		if created, err := st.SaveForecast(ctx, same); err != nil || created || same.ID != revised.ID || same.Point[0] != 70 || same.FrameSHA256 != sha(9) {
			t.Errorf("save on that frame again: created %v, id %d (want %d), point %v, frame %.12s, %v", created, same.ID, revised.ID, same.Point, same.FrameSHA256, err)
		}
		b := storedForecast("2022-12-18", 2, 60)
		if _, err := st.SaveForecast(ctx, b); err != nil {
			t.Fatal(err)
		}
		bad := storedForecast("2022-12-25", 2, 60)
		bad.Values[1] = []float64{70, 60, 50}
		if _, err := st.SaveForecast(ctx, bad); prevoir.ErrorCode(err) != prevoir.EINVALID {
			t.Errorf("non-monotone quantiles saved: %v", err)
		}
		latest, err := st.ServedForecast(ctx, "incid_dchosp", 2)
		if err != nil || latest.ID != b.ID || latest.Version != 2 || latest.Values[2][2] != 70 || latest.Snapshots["indicateurs"] != sha(6) {
			t.Errorf("latest = %+v, %v", latest, err)
		}
		list, err := st.ListForecasts(ctx, prevoir.ForecastFilter{Model: "incid_dchosp", Since: prevoir.MustParseDate("2022-12-12")})
		if err != nil || len(list) != 1 || list[0].ID != b.ID {
			t.Errorf("list since = %v, %v", list, err)
		}
		sc := []prevoir.ForecastScore{
			{ForecastID: revised.ID, Date: a.Dates[0], Horizon: 1, Actual: 45, Point: 70, AbsError: 25, In80: true, In95: true},
			{ForecastID: revised.ID, Date: a.Dates[1], Horizon: 2, Actual: 75, Point: 70, AbsError: 5},
		}
		// a, superseded by the forecast of the same version and origin on the revised frame, was
		// scored before the revision: its scores are kept but no longer count.
		superseded := prevoir.ForecastScore{ForecastID: a.ID, Date: a.Dates[0], Horizon: 1, Actual: 45, Point: 50, AbsError: 5}
		if err := st.SaveScores(ctx, append(sc, superseded)); err != nil {
			t.Fatal(err)
		}
		sc[1].Actual, sc[1].AbsError = 55, 5 // a revised actual
		sc[1].In80, sc[1].In95 = true, true
		if err := st.SaveScores(ctx, sc[1:]); err != nil {
			t.Fatal(err)
		}
		got, err := st.Scores(ctx, "incid_dchosp", 0)
		if err != nil || len(got) != 2 || got[1].Actual != 55 || !got[1].In80 || got[0].Origin != a.Origin || got[0].Version != 1 {
			t.Errorf("scores = %+v, %v", got, err)
		}
		for _, s := range got {
			if s.ForecastID != revised.ID {
				t.Errorf("score of forecast %d returned; forecast %d superseded it", s.ForecastID, revised.ID)
			}
		}
	})
}
