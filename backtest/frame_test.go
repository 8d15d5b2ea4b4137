package backtest_test

import (
	"testing"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/csvsource"
	"github.com/prevoir/prevoir/internal/testutil"
)

// realFrame returns the target-only frame of the real indicators file (2020-03-19 to
// 2022-12-31).
func realFrame(t testing.TB) *prevoir.Frame {
	t.Helper()
	src, err := prevoir.LookupSource(prevoir.DefaultSources(), prevoir.SourceIndicators)
	if err != nil {
		t.Fatal(err)
	}
	const file = "table-indicateurs-open-data-france.csv"
	tab, err := csvsource.Parse(file, testutil.ReadData(t, file), src)
	if err != nil {
		t.Fatal(err)
	}
	opts := prevoir.DefaultFrameOptions()
	opts.Covariates = nil
	f, err := prevoir.BuildFrame([]prevoir.FrameInput{{Table: tab}}, opts)
	if err != nil {
		t.Fatal(err)
	}
	return f
}
