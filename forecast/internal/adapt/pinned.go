package adapt

import (
	"context"
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

// Load decodes a state written by Pinned.Pin and rebuilds its model on f: filter applies the
// pinned model to the series it reads on f, the target from the pinned first day to f's last
// day, gaps handled as when fitted. It returns the state, the series and the rebuilt model.
func Load[S, M any](ctx context.Context, p *prevoir.Pinned, f *prevoir.Frame, filter func(S, []float64) (M, error)) (*Pinned[S], *Series, M, error) {
	var zero M
	if err := ctx.Err(); err != nil {
		return nil, nil, zero, err
	}
	var st Pinned[S]
	if err := json.Unmarshal(p.State, &st); err != nil {
		return nil, nil, zero, fmt.Errorf("%s: pinned state: %w", p.Kind, err)
	}
	s, err := Since(f, st.Start, Options{Period: st.Fill, Fill: true, MaxGap: st.MaxGap, MinLen: 1})
	if err != nil {
		return nil, nil, zero, fmt.Errorf("%s: %w", st.Name, err)
	}
	md, err := filter(st.Model, s.Values)
	if err != nil {
		return nil, nil, zero, fmt.Errorf("%s: %w", st.Name, err)
	}
	return &st, s, md, nil
}
