package bench

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/prevoir/prevoir/forecast/neural"
	"github.com/prevoir/prevoir/internal/testutil"
)

func TestRun(t *testing.T) {
	ds, err := ReferenceDataset(testutil.DataDir(t))
	if err != nil {
		t.Fatal(err)
	}
	if ds.Len() != 833 || ds.Dates[0].String() != "2020-05-13" || ds.Dates[832].String() != "2022-08-23" {
		t.Fatalf("reference data: %d rows %s..%s, want 833 rows 2020-05-13..2022-08-23", ds.Len(), ds.Dates[0], ds.Dates[ds.Len()-1])
	}
	rep, err := Run(context.Background(), ds, Options{Models: []neural.Arch{neural.RNN, neural.TCN}, Epochs: 2, Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Data.Rows != 833 || rep.Data.TrainRows != 819 || rep.Data.ValFirstDate != "2022-08-10" {
		t.Errorf("data %+v", rep.Data)
	}
	for name, want := range map[string][2]int{"rnn": {1489, 792}, "tcn": {356, 791}} {
		r := rep.Models[name]
		if r == nil {
			t.Fatalf("no %s result", name)
		}
		if r.Params != want[0] || r.Windows != want[1] || r.BatchesPerEpoch != 25 || len(r.EpochMSE) != 2 || len(r.Forecast) != 14 {
			t.Errorf("%s: %d params, %d windows, %d batches, %d epochs, %d forecasts", name, r.Params, r.Windows, r.BatchesPerEpoch, len(r.EpochMSE), len(r.Forecast))
		}
		if r.Actual[5] != 7 || !(r.ValMAE > 0) || !(r.TrainSeconds > 0) {
			t.Errorf("%s: actual %v, val MAE %v, train %vs", name, r.Actual, r.ValMAE, r.TrainSeconds)
		}
	}
}

// TestTransformerSameForAnyThreadCount trains the reference Transformer
// (its real size, on the real data) for one epoch with 1, 2 and 3 threads:
// the losses and the forecast must be bit-identical, so that --threads is
// purely a speed setting.
func TestTransformerSameForAnyThreadCount(t *testing.T) {
	if testing.Short() {
		t.Skip("trains the Transformer three times")
	}
	ds, err := ReferenceDataset(testutil.DataDir(t))
	if err != nil {
		t.Fatal(err)
	}
	run := func(threads int) *Result {
		rep, err := Run(context.Background(), ds, Options{Models: []neural.Arch{neural.Transformer}, Epochs: 1, Threads: threads, Seed: 3})
		if err != nil {
			t.Fatal(err)
		}
		return rep.Models["transformer"]
	}
	one := run(1)
	if one.Params != 550734 || len(one.EpochMSE) != 1 || len(one.Forecast) != 14 {
		t.Fatalf("%d params, %d epochs, %d forecasts", one.Params, len(one.EpochMSE), len(one.Forecast))
	}
	for _, threads := range []int{2, 3} {
		r := run(threads)
		if !slices.Equal(one.EpochMSE, r.EpochMSE) || !slices.Equal(one.Forecast, r.Forecast) {
			t.Errorf("%d threads: loss %v forecast %v; 1 thread: loss %v forecast %v", threads, r.EpochMSE, r.Forecast, one.EpochMSE, one.Forecast)
		}
	}
}

func TestReferenceDatasetNamesMissingFile(t *testing.T) {
	dir := t.TempDir()
	_, err := ReferenceDataset(dir)
	if err == nil || !strings.Contains(err.Error(), "indicateurs") {
		t.Fatalf("err = %v, want an error about the missing indicators file", err)
	}
}

func TestMedian(t *testing.T) {
	v := []float64{3, 1, 2, 10}
	if got := median(v); got != 2.5 {
		t.Errorf("median of %v = %v, want 2.5", v, got)
	}
	if v[0] != 3 || v[3] != 10 {
		t.Errorf("median reordered its input: %v", v)
	}
	if got := median([]float64{5, 1, 3}); got != 3 {
		t.Errorf("odd median = %v, want 3", got)
	}
}
