package neural

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/prevoir/prevoir"
)

// pinned is the JSON part of a network's state; its weights are the blob (the model file).
type pinned struct {
	Name string `json:"name"`
}

// PinnedKind is the pinned states' kind.
const PinnedKind = "neural"

// PinnedState returns the JSON state of a network named name, for a pinned state assembled
// from parts (a version registered before pinning, whose weights are its blob).
func PinnedState(name string) (json.RawMessage, error) { return json.Marshal(pinned{Name: name}) }

// Pin returns the network's state (prevoir.Pinner): its weights, in the model file format.
func (ft *Fitted) Pin(ctx context.Context) (*prevoir.Pinned, error) {
	var w bytes.Buffer
	if err := ft.model.Save(&w); err != nil {
		return nil, fmt.Errorf("%s: pin: %w", ft.name, err)
	}
	b, err := PinnedState(ft.name)
	if err != nil {
		return nil, err
	}
	c := ft.model.cfg
	return &prevoir.Pinned{Kind: PinnedKind, State: b, Blob: w.Bytes(),
		Summary: fmt.Sprintf("%s weights (%d parameters, input %d days x %d features, output %d days)", c.Arch, ft.model.NumParams(), c.InputLen, c.InputSize, c.OutputLen)}, nil
}

// LoadPinned rebuilds the network p pins, forecasting from f's latest days (see Bind).
func LoadPinned(ctx context.Context, p *prevoir.Pinned, f *prevoir.Frame) (prevoir.Fitted, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var st pinned
	if err := json.Unmarshal(p.State, &st); err != nil {
		return nil, fmt.Errorf("neural: pinned state: %w", err)
	}
	if len(p.Blob) == 0 {
		return nil, errors.New("neural: pinned state without weights")
	}
	m, err := Load(bytes.NewReader(p.Blob))
	if err != nil {
		return nil, fmt.Errorf("%s weights: %w", st.Name, err)
	}
	return Bind(st.Name, m, f)
}
