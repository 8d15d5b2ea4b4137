package rolling_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/prevoir/prevoir/forecast/conformal"
	"github.com/prevoir/prevoir/forecast/ensemble"
	"github.com/prevoir/prevoir/forecast/internal/testframe"
	"github.com/prevoir/prevoir/forecast/rolling"
)

func TestPast(t *testing.T) {
	o := testframe.Start() + 30
	p := rolling.Past(o, 7, 3)
	if len(p) != 3 || p[0] != o-7 || p[2] != o-21 {
		t.Errorf("past %v", p)
	}
}

// TestDirectSharesFits: a conformal ensemble that ranks its members needs each member at many
// past origins, most of them twice or more; Direct fits each (member, origin) once.
func TestDirectSharesFits(t *testing.T) {
	var na, nb atomic.Int64
	a := testframe.Const{Label: "a", Value: 4, Fits: &na}
	b := testframe.Const{Label: "b", Value: 6, Fits: &nb}
	e := ensemble.New(ensemble.Options{K: 1, Window: 3}, a, b)
	c := conformal.Wrap(e, conformal.Options{Origins: 4, MinResiduals: 1})
	f := testframe.New(testframe.Constant(200, 5), nil)
	if _, err := c.Fit(context.Background(), f); err != nil {
		t.Fatal(err)
	}
	// The ensemble at o, o−7, ..., o−28 ranks its members on the 3 origins before each, so both
	// are needed at o−7, ..., o−49 (7 origins); it then fits only the member it keeps, a (tied
	// with b, first in order), at its own origins, adding o. Without sharing: 40 and 35 fits.
	if na.Load() != 8 || nb.Load() != 7 {
		t.Errorf("fits a=%d b=%d, want 8 and 7", na.Load(), nb.Load())
	}
}

func TestDirectAndBoundedRefuseTheFuture(t *testing.T) {
	f := testframe.New(testframe.Constant(50, 5), nil)
	m := testframe.Const{Label: "a", Value: 1}
	src := rolling.Direct(f)
	last := f.Dates[f.Len()-1]
	if _, err := src.Fit(context.Background(), m, last+1); err == nil {
		t.Error("Direct fitted after the data's last day")
	}
	if _, err := src.Fit(context.Background(), m, last); err != nil {
		t.Error(err)
	}
	b := rolling.Bounded(src, last-10)
	if _, err := b.Fit(context.Background(), m, last-9); err == nil {
		t.Error("Bounded let a later origin through")
	}
	if _, err := b.Fit(context.Background(), m, last-10); err != nil {
		t.Error(err)
	}
}
