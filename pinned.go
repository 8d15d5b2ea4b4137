package prevoir

import (
	"context"
	"encoding/json"
)

// Pinned is what makes a fitted model that model: its specification and the parameters it
// estimated (a network's weights, a calibration's residuals), so that a registered version
// forecasts newer data with them instead of being estimated again. Wrappers and combinations
// pin the models they hold in Inner. The catalogue (package forecast/models) saves and loads it.
type Pinned struct {
	// Kind names the family that wrote State and reads it back ("ets", "conformal", ...).
	Kind string `json:"kind"`
	// Summary says what is pinned, for people: "ETS(M,Ad,M) alpha=0.41 beta=0.01 ...".
	Summary string `json:"summary"`
	// State is the family's own state.
	State json.RawMessage `json:"state,omitempty"`
	// Inner are the pinned states of the models this one wraps (one) or combines (several).
	Inner []*Pinned `json:"inner,omitempty"`
	// Blob is binary state kept beside the JSON (a network's weights), stored under BlobName.
	Blob     []byte `json:"-"`
	BlobName string `json:"blob,omitempty"`
}

// Pinner is a fitted model that can pin its state.
type Pinner interface {
	Pin(ctx context.Context) (*Pinned, error)
}

// PinnedLoader rebuilds the fitted model a pinned state describes on a frame; wrappers and
// combinations are given the catalogue's to load the models they hold.
type PinnedLoader func(ctx context.Context, p *Pinned, f *Frame) (Fitted, error)
