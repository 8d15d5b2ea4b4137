package neural

import (
	"context"
	"slices"
	"testing"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/forecast/internal/testframe"
)

// TestRefit: between two grid days the network trained at the earlier one is reused, it is
// the network a plain fit on the data up to that day gives, and nothing after an origin
// changes that origin's forecast.
func TestRefit(t *testing.T) {
	ctx := context.Background()
	f := testframe.New(testframe.Noisy(300, 1), nil)
	opts := TrainOptions{Epochs: 2}
	r := NewRefit(28)
	fc := Forecaster{Arch: RNN, Options: opts, Refit: r}
	grid := r.gridDay(f.Dates[250])
	o1, o2 := grid+3, grid+10
	cut := func(g *prevoir.Frame, d prevoir.Date) *prevoir.Frame {
		c, err := g.Until(d)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	if c := r.Curve(o1); c != nil {
		t.Errorf("curve %v before any training", c)
	}
	a, err := fc.Fit(ctx, cut(f, o1))
	if err != nil {
		t.Fatal(err)
	}
	b, err := fc.Fit(ctx, cut(f, o2))
	if err != nil {
		t.Fatal(err)
	}
	if a.(*Fitted).Model() != b.(*Fitted).Model() {
		t.Error("two origins of one period trained two networks")
	}
	var curve []float64 // the plain fit's epochs, as they are reported
	live := opts
	live.Progress = func(p Progress) { curve = append(curve, p.TrainMSE) }
	plain, err := Forecaster{Arch: RNN, Options: live}.Fit(ctx, cut(f, grid))
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Curve(o2); len(got) != opts.Epochs || !slices.Equal(got, curve) {
		t.Errorf("the grid's record of its training %v, the training reported %v", got, curve)
	}
	bound, err := Bind("rnn", plain.(*Fitted).Model(), cut(f, o1))
	if err != nil {
		t.Fatal(err)
	}
	fa, _ := a.Predict(ctx, 14, []float64{0.5})
	fb, _ := bound.Predict(ctx, 14, []float64{0.5})
	if !slices.Equal(fa.Point, fb.Point) {
		t.Errorf("refit network differs from a plain fit at the grid day:\n%v\n%v", fa.Point, fb.Point)
	}
	// No peeking: values after o1 changed, a fresh policy, the same forecast at o1.
	g := cut(f, f.Dates[f.Len()-1])
	tv := g.TargetValues()
	for i, d := range g.Dates {
		if d > o1 {
			tv[i] *= 3
		}
	}
	c, err := Forecaster{Arch: RNN, Options: opts, Refit: NewRefit(28)}.Fit(ctx, cut(g, o1))
	if err != nil {
		t.Fatal(err)
	}
	fc2, _ := c.Predict(ctx, 14, []float64{0.5})
	if !slices.Equal(fa.Point, fc2.Point) {
		t.Error("data after the origin changed the origin's forecast")
	}
}
