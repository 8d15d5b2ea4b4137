package backtest

import (
	"testing"

	"github.com/prevoir/prevoir"
)

// TestWithOrigins: unset origins end on the last day whose whole horizon is observed and go
// back n-1 periods; origins given are kept.
func TestWithOrigins(t *testing.T) {
	last := prevoir.MustParseDate("2022-12-31")
	for _, c := range []struct {
		name     string
		in       Options
		n        int
		from, to string
	}{
		{"defaults", Options{}, DefaultOrigins, "2022-01-08", "2022-12-17"},
		{"horizon and every", Options{Horizon: 28, Every: 14}, 3, "2022-11-05", "2022-12-03"},
		{"to given", Options{To: prevoir.MustParseDate("2022-06-04")}, 12, "2022-03-19", "2022-06-04"},
		{"both given", Options{From: prevoir.MustParseDate("2022-01-01"), To: prevoir.MustParseDate("2022-02-01")}, 12, "2022-01-01", "2022-02-01"},
	} {
		got := c.in.WithOrigins(last, c.n)
		if got.From.String() != c.from || got.To.String() != c.to {
			t.Errorf("%s: origins %s .. %s; want %s .. %s", c.name, got.From, got.To, c.from, c.to)
		}
		if want := c.in.withDefaults(); got.Every != want.Every || got.Horizon != want.Horizon {
			t.Errorf("%s: every %d, horizon %d; want %d, %d", c.name, got.Every, got.Horizon, want.Every, want.Horizon)
		}
	}
}
