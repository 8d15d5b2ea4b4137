package neural

import (
	"context"
	"errors"
	"math"
	"slices"
	"testing"

	"github.com/prevoir/prevoir/nn"
)

// Darts' window counts on the benchmark data: 819 training rows, 792 windows of 14+14 rows,
// 791 TCN windows of 14+15 rows.
func TestWindowsOnReferenceData(t *testing.T) {
	ds := referenceData(t)
	if ds.Len() != 833 || ds.Dates[0].String() != "2020-05-13" || ds.Dates[832].String() != "2022-08-23" {
		t.Fatalf("reference data: %d rows %s..%s, want 833 rows 2020-05-13..2022-08-23", ds.Len(), ds.Dates[0], ds.Dates[ds.Len()-1])
	}
	want := []string{"incid_dchosp", "hosp", "incid_hosp", "rea", "incid_rea", "rad", "incid_rad", "pos", "pos_7j",
		"tx_pos", "tx_incid", "TO", "pop", "P", "T", "Ti", "Tp", "Td"}
	if !slices.Equal(ds.Names, want) {
		t.Fatalf("columns %v, want %v", ds.Names, want)
	}
	s, _ := FitScaler(ds.Rows)
	scaled := s.transform(ds.Rows)
	for a, n := range map[Arch]int{RNN: 792, Transformer: 792, TCN: 791} {
		c := config(a, 18)
		w := trainingWindows(c, scaled[:819*18], 819)
		if w.n != n {
			t.Errorf("%s: %d windows, want %d", a, w.n, n)
		}
		// The last window's last target is the last training row's target.
		if got, want := w.y[w.n*w.yLen-1], scaled[818*18]; got != want {
			t.Errorf("%s: last target %v, want %v", a, got, want)
		}
		if a == TCN { // the first window's targets start 14 rows after its inputs
			if w.y[0] != scaled[14*18] || w.yLen != 15 {
				t.Errorf("tcn: first target %v (len %d), want row 14's %v (len 15)", w.y[0], w.yLen, scaled[14*18])
			}
		}
	}
}

func TestLossDecreases(t *testing.T) {
	ds := synthetic(120)
	for _, a := range Archs() {
		_, rep, err := Train(context.Background(), small(a), ds, TrainOptions{Epochs: 15, BatchSize: 16, LR: 1e-2, Seed: 1, Threads: 1})
		if err != nil {
			t.Fatal(err)
		}
		first, last := rep.EpochMSE[0], rep.EpochMSE[len(rep.EpochMSE)-1]
		if !(last < first/2) {
			t.Errorf("%s: training MSE went from %.4g to %.4g", a, first, last)
		}
	}
}

func TestDeterminism(t *testing.T) {
	ds := synthetic(80)
	for _, a := range []Arch{GRU, TCN, Transformer} {
		run := func(threads int) ([]float64, [][]float32) {
			m, rep, err := Train(context.Background(), small(a), ds, TrainOptions{Epochs: 3, BatchSize: 8, Seed: 7, Threads: threads})
			if err != nil {
				t.Fatal(err)
			}
			var w [][]float32
			for _, p := range m.Params() {
				w = append(w, slices.Clone(p.Data))
			}
			return rep.EpochMSE, w
		}
		l1, w1 := run(1)
		l1b, w1b := run(1)
		l2, w2 := run(2)
		if !slices.Equal(l1, l1b) || !slices.EqualFunc(w1, w1b, slices.Equal) {
			t.Errorf("%s: two runs with the same seed differ", a)
		}
		// The engine promises bit-identical results whatever the thread count.
		if !slices.Equal(l1, l2) || !slices.EqualFunc(w1, w2, slices.Equal) {
			t.Errorf("%s: 1 and 2 threads differ: losses %v vs %v", a, l1, l2)
		}
		_, rep, _ := Train(context.Background(), small(a), ds, TrainOptions{Epochs: 3, BatchSize: 8, Seed: 8, Threads: 1})
		if slices.Equal(l1, rep.EpochMSE) {
			t.Errorf("%s: seeds 7 and 8 give the same losses", a)
		}
	}
}

// The scaler sees only the training rows unless ScaleAllRows is set.
func TestScalerFittedOnTrainingRows(t *testing.T) {
	ds := synthetic(60)
	ds.Rows[59][0] = 1000 // a validation-block extreme
	opts := TrainOptions{Epochs: 1, Seed: 1, ValidationRows: 10}
	m, _, err := Train(context.Background(), small(RNN), ds, opts)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := FitScaler(ds.Rows[:50])
	if got := m.Scaler(); !slices.Equal(got.Min, want.Min) || !slices.Equal(got.Range, want.Range) {
		t.Errorf("scaler %+v, want the training rows' %+v", got, want)
	}
	opts.ScaleAllRows = true
	m, _, err = Train(context.Background(), small(RNN), ds, opts)
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Scaler(); got.Min[0]+got.Range[0] != 1000 {
		t.Errorf("ScaleAllRows: target max %v, want 1000", got.Min[0]+got.Range[0])
	}
}

func TestValidationAndEarlyStopping(t *testing.T) {
	ds := synthetic(100)
	var seen []Progress
	m, rep, err := Train(context.Background(), small(TCN), ds, TrainOptions{
		Epochs: 200, LR: 0.05, Seed: 2, Threads: 1, ValidationRows: 20, Patience: 3,
		Progress: func(p Progress) { seen = append(seen, p) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Epochs == 200 || rep.Stopped == "" {
		t.Fatalf("ran %d epochs without early stopping (%q)", rep.Epochs, rep.Stopped)
	}
	if len(seen) != rep.Epochs || len(rep.ValMSE) != rep.Epochs || math.IsNaN(seen[0].ValMSE) {
		t.Fatalf("%d progress reports and %d validation losses for %d epochs", len(seen), len(rep.ValMSE), rep.Epochs)
	}
	if rep.Epochs-rep.BestEpoch != 3 || slices.Min(rep.ValMSE) != rep.ValMSE[rep.BestEpoch-1] {
		t.Errorf("stopped at %d, best epoch %d, losses %v", rep.Epochs, rep.BestEpoch, rep.ValMSE)
	}
	// 20 validation rows hold 20-7+1 forecasts of 7 days.
	if rep.ValWindows != 14 {
		t.Errorf("%d validation windows, want 14", rep.ValWindows)
	}
	// The best epoch's parameters were restored: the validation loss is the best one.
	eval := nn.NewInferenceTape(nn.NewEngine(1))
	s := m.scaler.transform(ds.Rows)
	if got := m.valLoss(eval, forecastWindows(m.cfg, s, 100, 80)); got != rep.ValMSE[rep.BestEpoch-1] {
		t.Errorf("validation loss after training %v, best %v", got, rep.ValMSE[rep.BestEpoch-1])
	}
}

func TestTrainCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	opts := TrainOptions{Epochs: 50, Seed: 1, Progress: func(p Progress) {
		if p.Epoch == 2 {
			cancel()
		}
	}}
	_, _, err := Train(ctx, small(RNN), synthetic(60), opts)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error %v, want context.Canceled", err)
	}
}

func TestTrainRejectsBadInput(t *testing.T) {
	ctx := context.Background()
	ds := synthetic(30)
	bad := synthetic(30)
	bad.Rows[3][1] = math.NaN()
	for name, f := range map[string]func() error{
		"NaN":             func() error { _, _, err := Train(ctx, small(RNN), bad, TrainOptions{}); return err },
		"too short":       func() error { _, _, err := Train(ctx, small(RNN), synthetic(10), TrainOptions{}); return err },
		"patience no val": func() error { _, _, err := Train(ctx, small(RNN), ds, TrainOptions{Patience: 2}); return err },
		"negative lr":     func() error { _, _, err := Train(ctx, small(RNN), ds, TrainOptions{LR: -1}); return err },
		"bad heads": func() error {
			c := small(Transformer)
			c.Heads = 3
			_, _, err := Train(ctx, c, ds, TrainOptions{})
			return err
		},
		"input size": func() error {
			c := small(TCN)
			c.InputSize = 4
			_, _, err := Train(ctx, c, ds, TrainOptions{})
			return err
		},
		"unknown arch": func() error { _, _, err := Train(ctx, Config{Arch: "mlp"}, ds, TrainOptions{}); return err },
	} {
		if err := f(); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
