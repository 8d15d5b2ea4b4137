package prevoir_test

import (
	"math"
	"testing"

	"github.com/prevoir/prevoir"
)

// TestLiveWindow: the live error covers the LiveWindow dates ending on the latest scored date,
// whatever the order of the scores; an older score does not count, however bad.
func TestLiveWindow(t *testing.T) {
	last := prevoir.MustParseDate("2022-12-31")
	first := last - prevoir.LiveWindow + 1 // the window's first date
	scores := []prevoir.ForecastScore{
		{Date: first, AbsError: 4, In80: true, In95: true},
		{Date: last, AbsError: 2, In95: true},
		{Date: first - 1, AbsError: 1000, In80: true, In95: true}, // just outside the window
		{Date: last - 3, AbsError: 6},
		{Date: last, AbsError: 8, In80: true, In95: true}, // a second forecast covering the last date
		{Date: first - 30, AbsError: 1000},
	}
	l := prevoir.Live(scores)
	if l.From != first || l.To != last || l.Days != 3 || l.Points != 4 {
		t.Errorf("window %s..%s, %d days, %d points; want %s..%s, 3 days, 4 points", l.From, l.To, l.Days, l.Points, first, last)
	}
	if l.MAE != 5 {
		t.Errorf("MAE %v, want (4+2+6+8)/4 = 5", l.MAE)
	}
	if l.Coverage80 != 0.5 || l.Coverage95 != 0.75 {
		t.Errorf("coverage 80%% %v, 95%% %v; want 2/4 and 3/4", l.Coverage80, l.Coverage95)
	}
}

// TestLiveEmpty: nothing scored is no error, not a zero error.
func TestLiveEmpty(t *testing.T) {
	l := prevoir.Live(nil)
	if !math.IsNaN(l.MAE) || !math.IsNaN(l.Coverage80) || !math.IsNaN(l.Coverage95) || l.Points != 0 || l.Days != 0 {
		t.Errorf("no scores: %+v, want NaN measures and no points", l)
	}
}
