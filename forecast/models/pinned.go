package models

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/forecast/conformal"
	"github.com/prevoir/prevoir/forecast/ensemble"
	"github.com/prevoir/prevoir/forecast/ets"
	"github.com/prevoir/prevoir/forecast/holiday"
	"github.com/prevoir/prevoir/forecast/linreg"
	"github.com/prevoir/prevoir/forecast/naive"
	"github.com/prevoir/prevoir/forecast/neural"
	"github.com/prevoir/prevoir/forecast/secondary"
	"github.com/prevoir/prevoir/forecast/theta"
	"github.com/prevoir/prevoir/forecast/weekly"
)

// WeightsBlob is the name of a pinned state's first blob (a network's weights); the next ones
// are numbered, "model-2.bin", ...
const WeightsBlob = "model.bin"

// Saved is a fitted model's pinned state, ready to store.
type Saved struct {
	// State is the JSON of the prevoir.Pinned tree.
	State []byte
	// Summary says what is pinned, in one line.
	Summary string
	// Blobs are the binary parts the state names (BlobName), by name.
	Blobs map[string][]byte
}

// Save pins a fitted model of any registered name: what makes it that model (its form and
// estimated parameters, a network's weights, a calibration), to be rebuilt by Load on newer
// data. A model that cannot be pinned is an error.
func Save(ctx context.Context, ft prevoir.Fitted) (*Saved, error) {
	pn, ok := ft.(prevoir.Pinner)
	if !ok {
		return nil, fmt.Errorf("a %T cannot be pinned", ft)
	}
	p, err := pn.Pin(ctx)
	if err != nil {
		return nil, err
	}
	s := &Saved{Summary: p.Summary, Blobs: map[string][]byte{}}
	// Naming a blob cannot fail: walk returns nil.
	_ = walk(p, func(p *prevoir.Pinned) error {
		if p.Blob != nil {
			p.BlobName = WeightsBlob
			if n := len(s.Blobs); n > 0 {
				p.BlobName = fmt.Sprintf("%s-%d.bin", strings.TrimSuffix(WeightsBlob, ".bin"), n+1)
			}
			s.Blobs[p.BlobName] = p.Blob
		}
		return nil
	})
	if s.State, err = json.MarshalIndent(p, "", "  "); err != nil {
		return nil, fmt.Errorf("pinned state of %s: %w", p.Kind, err)
	}
	return s, nil
}

// Load rebuilds the fitted model a state written by Save pins, on f: its parameters applied to
// f's data, nothing estimated. blob reads the blobs the state names.
func Load(ctx context.Context, state []byte, blob func(name string) ([]byte, error), f *prevoir.Frame) (prevoir.Fitted, error) {
	var p prevoir.Pinned
	if err := json.Unmarshal(state, &p); err != nil {
		return nil, prevoir.Errorf(prevoir.EINVALID, "pinned state: %v", err)
	}
	err := walk(&p, func(p *prevoir.Pinned) error {
		if p.BlobName == "" {
			return nil
		}
		b, err := blob(p.BlobName)
		if err != nil {
			return fmt.Errorf("pinned %s: read %s: %w", p.Kind, p.BlobName, err)
		}
		p.Blob = b
		return nil
	})
	if err != nil {
		return nil, err
	}
	return load(ctx, &p, f)
}

// walk calls fn on p and then on its inner states, depth first (the order Save numbers the
// blobs in), stopping at fn's first error.
func walk(p *prevoir.Pinned, fn func(*prevoir.Pinned) error) error {
	if err := fn(p); err != nil {
		return err
	}
	for _, in := range p.Inner {
		if err := walk(in, fn); err != nil {
			return err
		}
	}
	return nil
}

// load dispatches on the state's kind; wrappers load their inner models through it.
func load(ctx context.Context, p *prevoir.Pinned, f *prevoir.Frame) (prevoir.Fitted, error) {
	switch p.Kind {
	case naive.PinnedKind:
		return naive.LoadPinned(ctx, p, f)
	case ets.PinnedKind:
		return ets.LoadPinned(ctx, p, f)
	case theta.PinnedKind:
		return theta.LoadPinned(ctx, p, f)
	case linreg.PinnedKind:
		return linreg.LoadPinned(ctx, p, f)
	case weekly.PinnedKind:
		return weekly.LoadPinned(ctx, p, f)
	case neural.PinnedKind:
		return neural.LoadPinned(ctx, p, f)
	case holiday.PinnedKind:
		return holiday.LoadPinned(ctx, p, f, load)
	case conformal.PinnedKind:
		return conformal.LoadPinned(ctx, p, f, load)
	case secondary.PinnedKind:
		return secondary.LoadPinned(ctx, p, f, load)
	case ensemble.PinnedKind:
		return ensemble.LoadPinned(ctx, p, f, load)
	}
	return nil, prevoir.Errorf(prevoir.EINVALID, "pinned state of unknown kind %q", p.Kind)
}

// Legacy returns the state of a network registered before pinning, whose specification named
// its weights' artifact and, with "+cp", held its conformal calibration: the same model in
// Save's form, for Load.
func Legacy(family, weights string, calibration json.RawMessage) ([]byte, error) {
	name := strings.TrimSuffix(family, ConformalSuffix)
	st, err := neural.PinnedState(name)
	if err != nil {
		return nil, err
	}
	p := &prevoir.Pinned{Kind: neural.PinnedKind, Summary: name + " weights", State: st, BlobName: weights}
	if len(calibration) > 0 {
		var cal conformal.Calibration
		if err := json.Unmarshal(calibration, &cal); err != nil {
			return nil, prevoir.Errorf(prevoir.EINVALID, "%s: calibration: %v", family, err)
		}
		cst, err := conformal.PinnedState(family, cal)
		if err != nil {
			return nil, err
		}
		p = &prevoir.Pinned{Kind: conformal.PinnedKind, Summary: p.Summary + "; conformal intervals", State: cst, Inner: []*prevoir.Pinned{p}}
	}
	return json.Marshal(p)
}
