package neural

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/csvsource"
	"github.com/prevoir/prevoir/internal/testutil"
)

// originalFrame is the original project's frame of the 2022-08-26 releases (833 days).
func originalFrame(t *testing.T) *prevoir.Frame {
	t.Helper()
	opts := prevoir.DefaultFrameOptions()
	opts.Mode = prevoir.FrameOriginal
	return testutil.Frame(t, opts,
		csvsource.File{Source: prevoir.SourceIndicators, Path: "vintages/table-indicateurs-open-data-france-2022-08-26-19h01.csv"},
		csvsource.File{Source: prevoir.SourceSIDEP, Path: "sp-fra-jour.csv"})
}

func TestForecasterOnOriginalFrame(t *testing.T) {
	f := originalFrame(t)
	q := prevoir.DefaultQuantiles()
	for _, name := range []string{"rnn", "lstm", "gru", "tcn", "transformer"} {
		fc, err := NewForecaster(name)
		if err != nil {
			t.Fatal(err)
		}
		fc.Options = TrainOptions{Epochs: 2, Seed: 1}
		if name == "transformer" { // full size is slow to train; the sizes are all that differ
			fc.Config = DefaultConfig(Transformer)
			fc.Config.DModel, fc.Config.FF, fc.Config.EncoderLayers, fc.Config.DecoderLayers = 16, 32, 1, 1
		}
		if fc.Name() != name {
			t.Errorf("name %q, want %q", fc.Name(), name)
		}
		fitted, err := fc.Fit(context.Background(), f)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out, err := fitted.Predict(context.Background(), prevoir.DefaultHorizon, q)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if out.Origin.String() != "2022-08-23" || len(out.Point) != 14 || out.Dates[0].String() != "2022-08-24" {
			t.Errorf("%s: origin %s, %d points from %s", name, out.Origin, len(out.Point), out.Dates[0])
		}
		for i, p := range out.Point {
			if p < 0 {
				t.Errorf("%s: negative forecast %v", name, p)
			}
			for _, v := range out.Values[i] {
				if v != p {
					t.Fatalf("%s: quantiles %v are not the point %v", name, out.Values[i], p)
				}
			}
		}
		if _, err := fitted.Predict(context.Background(), 15, q); err == nil {
			t.Errorf("%s: no error for a 15-day horizon", name)
		}
		if m := fitted.(*Fitted).Model(); m.Config().InputSize != 18 || m.Features()[0] != "incid_dchosp" {
			t.Errorf("%s: input %d features %v", name, m.Config().InputSize, m.Features())
		}
	}
	if _, err := NewForecaster("mlp"); err == nil {
		t.Error("no error for an unknown model")
	}
}

// A frame whose last two days have no target: the network forecasts from the last complete
// day and the forecast still starts the day after the origin.
func TestForecasterLead(t *testing.T) {
	ds := synthetic(60)
	f := &prevoir.Frame{Target: "y", Mode: prevoir.FrameFull}
	start, _ := prevoir.ParseDate("2022-01-01")
	cols := make([]prevoir.Series, 3)
	for i, r := range ds.Rows {
		f.Dates = append(f.Dates, start+prevoir.Date(i))
		for j, v := range r {
			cols[j] = append(cols[j], v)
		}
	}
	cols[0][58], cols[0][59] = math.NaN(), math.NaN()
	cols[1][20] = math.NaN() // an old gap: training starts after it
	f.Columns = []prevoir.FrameColumn{
		{Name: "lead", Kind: prevoir.KindCovariate, Values: cols[1]},
		{Name: "noise", Kind: prevoir.KindCovariate, Values: cols[2]},
		{Name: "y", Kind: prevoir.KindTarget, Values: cols[0]},
	}
	fc := Forecaster{Arch: TCN, Config: small(TCN), Options: TrainOptions{Epochs: 1}}
	fitted, err := fc.Fit(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	ft := fitted.(*Fitted)
	if ft.lead != 2 {
		t.Errorf("lead %d, want 2", ft.lead)
	}
	out, err := ft.Predict(context.Background(), 5, []float64{0.1, 0.9})
	if err != nil {
		t.Fatal(err)
	}
	if out.Dates[0] != f.Dates[59]+1 {
		t.Errorf("first forecast day %s, want %s", out.Dates[0], f.Dates[59]+1)
	}
	if _, err := ft.Predict(context.Background(), 6, nil); err == nil || !strings.Contains(err.Error(), "horizon 6") {
		t.Errorf("horizon 6 + lead 2 > 7: error %v", err)
	}
	if _, err := ft.Predict(context.Background(), 3, []float64{0.9, 0.1}); err == nil {
		t.Error("no error for decreasing quantiles")
	}
}

func TestPredictClipsAtZero(t *testing.T) {
	m, ds := trained(t, RNN)
	b := m.net.(*blockRNN).fc.Bias
	for i := range b.Data {
		b.Data[i] = -100
	}
	in := ds.Rows[ds.Len()-m.Config().InputLen:]
	raw, err := m.Forecast(in)
	if err != nil {
		t.Fatal(err)
	}
	p, err := m.Predict(in)
	if err != nil {
		t.Fatal(err)
	}
	for i := range p {
		if raw[i] >= 0 || p[i] != 0 {
			t.Fatalf("day %d: forecast %v, prediction %v; want negative and 0", i, raw[i], p[i])
		}
	}
	if _, err := m.Predict(in[1:]); err == nil {
		t.Error("no error for a short input")
	}
}
