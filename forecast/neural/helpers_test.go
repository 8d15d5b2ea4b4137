package neural

import (
	"errors"
	"math"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/csvsource"
	"github.com/prevoir/prevoir/internal/testutil"
)

func testRand() *rand.Rand { return rand.New(rand.NewPCG(1, 2)) }

var (
	refOnce sync.Once
	refData *Dataset
	refErr  error
)

// referenceData is the dataset of the PyTorch reference benchmark (internal/bench's
// ReferenceDataset: the original project's frame of the current releases, 833 rows), read
// once per test binary.
func referenceData(tb testing.TB) *Dataset {
	tb.Helper()
	refOnce.Do(func() {
		// testutil.Frame ends the first caller's test on a failure; later callers see this.
		refErr = errors.New("the reference data could not be read (see the first test that read it)")
		opts := prevoir.DefaultFrameOptions()
		opts.Mode = prevoir.FrameOriginal
		refData, refErr = DatasetFromFrame(testutil.Frame(tb, opts,
			csvsource.File{Source: prevoir.SourceIndicators, Path: "table-indicateurs-open-data-france.csv"},
			csvsource.File{Source: prevoir.SourceSIDEP, Path: "sp-fra-jour.csv"}))
	})
	if refErr != nil {
		tb.Fatal(refErr)
	}
	return refData
}

// synthetic returns a small dataset: a noisy weekly cycle as the target and two covariates,
// one leading the target by a day.
func synthetic(rows int) *Dataset {
	r := rand.New(rand.NewPCG(3, 4))
	d := &Dataset{Names: []string{"y", "lead", "noise"}}
	for t := range rows {
		y := 50 + 30*math.Sin(2*math.Pi*float64(t)/7) + 5*r.NormFloat64()
		lead := 50 + 30*math.Sin(2*math.Pi*float64(t+1)/7)
		d.Rows = append(d.Rows, []float64{y, lead, r.Float64()})
	}
	return d
}

// small shrinks a default configuration so that tests train in milliseconds.
func small(a Arch) Config {
	c := DefaultConfig(a)
	switch a {
	case RNN, LSTM, GRU:
		c.Hidden = 8
	case Transformer:
		c.DModel, c.Heads, c.EncoderLayers, c.DecoderLayers, c.FF = 16, 2, 1, 1, 32
	}
	c.InputLen, c.OutputLen = 8, 7
	return c
}
