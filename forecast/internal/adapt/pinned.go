package adapt

import (
	"encoding/json"
	"fmt"

	"github.com/prevoir/prevoir"
)

// Pinned is the pinned state of a model fitted on a filled target series (Target with Fill): the
// model's own state M, and what rebuilds its series from a longer frame (Since): the first day
// and the gap interpolation.
type Pinned[M any] struct {
	Name  string       `json:"name"`
	Start prevoir.Date `json:"start"`
	// Fill and MaxGap are the gap interpolation's cycle and longest gap (Options).
	Fill   int `json:"fill_period"`
	MaxGap int `json:"max_gap,omitempty"`
	Model  M   `json:"model"`
}

// Pin encodes p as a prevoir.Pinned of kind, summarised by what the model says of itself and
// the day its series began.
func (p Pinned[M]) Pin(kind, summary string) (*prevoir.Pinned, error) {
	b, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("%s: pin: %w", p.Name, err)
	}
	return &prevoir.Pinned{Kind: kind, Summary: fmt.Sprintf("%s from %s", summary, p.Start), State: b}, nil
}

// Unpin decodes a state written by Pinned.Pin and returns it with the series the model is applied
// to on f: the target from the pinned first day to f's last day, gaps handled as when fitted.
func Unpin[M any](p *prevoir.Pinned, f *prevoir.Frame) (*Pinned[M], *Series, error) {
	var st Pinned[M]
	if err := json.Unmarshal(p.State, &st); err != nil {
		return nil, nil, fmt.Errorf("%s: pinned state: %w", p.Kind, err)
	}
	s, err := Since(f, st.Start, Options{Period: st.Fill, Fill: true, MaxGap: st.MaxGap, MinLen: 1})
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", st.Name, err)
	}
	return &st, s, nil
}
