package sqlstore_test

import (
	"context"
	"reflect"
	"strconv"
	"strings"
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

// TestForecastStoreWeekly: a forecast's weekly totals are stored with it and read back; a
// forecast without them stores no "weekly" key and reads back without them, as rows stored
// before weekly totals existed do.
func TestForecastStoreWeekly(t *testing.T) {
	testutil.ForEachDatabase(t, func(t *testing.T, url string) {
		ctx := context.Background()
		db := openDB(t, url)
		st := sqlstore.NewForecastStore(db)
		weekly := storedForecast("2022-12-10", 1, 50)
		weekly.Quantiles = prevoir.DefaultQuantiles()
		weekly.Dates, weekly.Point, weekly.Values = nil, nil, nil
		for i := 1; i <= 14; i++ {
			weekly.Dates = append(weekly.Dates, weekly.Origin+prevoir.Date(i))
			weekly.Point = append(weekly.Point, float64(40+i))
			row := make([]float64, len(weekly.Quantiles))
			for j, q := range weekly.Quantiles {
				row[j] = float64(40+i) + 20*(q-0.5)
			}
			weekly.Values = append(weekly.Values, row)
		}
		weekly.Weekly = &prevoir.Weeks{}
		for w := range 2 {
			total := prevoir.WeekTotal(weekly.Point, w)
			row := make([]float64, len(weekly.Quantiles))
			for j, q := range weekly.Quantiles {
				row[j] = total + 60*float64(w+1)*(q-0.5)
			}
			weekly.Weekly.Point = append(weekly.Weekly.Point, total)
			weekly.Weekly.Values = append(weekly.Weekly.Values, row)
		}
		if _, err := st.SaveForecast(ctx, weekly); err != nil {
			t.Fatal(err)
		}
		plain := storedForecast("2022-12-11", 1, 50)
		if _, err := st.SaveForecast(ctx, plain); err != nil {
			t.Fatal(err)
		}

		got, err := st.FindForecast(ctx, weekly.Model, 1, weekly.Origin, "")
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got.Weekly, weekly.Weekly) || !reflect.DeepEqual(got.Quantiles, prevoir.DefaultQuantiles()) || len(got.Values[13]) != 23 {
			t.Errorf("weekly read back %+v, levels %v; stored %+v", got.Weekly, got.Quantiles, weekly.Weekly)
		}
		served, err := st.ServedForecast(ctx, plain.Model, 1)
		if err != nil || served.ID != plain.ID || served.Weekly != nil {
			t.Errorf("served %+v, %v: want forecast %d without weekly totals", served, err, plain.ID)
		}
		for id, want := range map[int64]bool{weekly.ID: true, plain.ID: false} {
			var body string
			if err := db.SQL().QueryRowContext(ctx, "SELECT body FROM forecasts WHERE id = "+strconv.FormatInt(id, 10)).Scan(&body); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(body, `"weekly"`) != want {
				t.Errorf("forecast %d body %s: weekly key present %v, want %v", id, body, !want, want)
			}
		}

		// Weekly totals that are not the sum of their days are refused, nothing stored.
		bad := storedForecast("2022-12-10", 2, 50)
		bad.Dates, bad.Point, bad.Values, bad.Quantiles = weekly.Dates, weekly.Point, weekly.Values, weekly.Quantiles
		bad.Weekly = &prevoir.Weeks{Point: []float64{1, 2}, Values: weekly.Weekly.Values}
		if _, err := st.SaveForecast(ctx, bad); prevoir.ErrorCode(err) != prevoir.EINVALID || !strings.Contains(err.Error(), "week 1") {
			t.Errorf("weekly totals off their days saved: %v", err)
		}
		if _, err := st.FindForecast(ctx, bad.Model, 2, bad.Origin, ""); prevoir.ErrorCode(err) != prevoir.ENOTFOUND {
			t.Errorf("the refused forecast was stored: %v", err)
		}
	})
}
