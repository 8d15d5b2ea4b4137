package flow

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/blobstore"
	"github.com/prevoir/prevoir/forecast/models"
	"github.com/prevoir/prevoir/tracking"
)

// ReadSpec returns the model spec of version v.
func ReadSpec(ctx context.Context, t *tracking.Tracker, v *prevoir.ModelVersion) (*ModelSpec, error) {
	b, err := t.ReadArtifact(ctx, v.RunID, v.ArtifactPath)
	if err != nil {
		return nil, fmt.Errorf("load %s v%d: %w", v.Model, v.Version, err)
	}
	var spec ModelSpec
	if err := json.Unmarshal(b, &spec); err != nil {
		return nil, prevoir.Errorf(prevoir.EINVALID, "%s v%d: model spec %s: %v", v.Model, v.Version, v.ArtifactPath, err)
	}
	return &spec, nil
}

// PinnedSummary says what the version pins, in one line.
func (s *ModelSpec) PinnedSummary() string {
	switch {
	case s.Pinned != nil:
		return s.Pinned.Summary
	case s.Weights != "":
		return "network weights " + s.Weights + " (registered before pinning)"
	}
	return "nothing (registered before pinning: refitted at each forecast)"
}

// loadVersion returns version v's model on frame: its pinned state applied to the frame's data,
// nothing estimated. A version registered before pinning has no state: a network is bound to
// its stored weights (and calibration); any other model is refitted on the frame, as it was
// then, and the log says so.
func (f *Flows) loadVersion(ctx context.Context, v *prevoir.ModelVersion, frame *prevoir.Frame) (prevoir.Fitted, error) {
	spec, err := ReadSpec(ctx, f.Tracker, v)
	if err != nil {
		return nil, err
	}
	blob := func(name string) ([]byte, error) { return f.Tracker.ReadArtifact(ctx, v.RunID, name) }
	var state []byte
	switch {
	case spec.Pinned != nil:
		if state, err = blob(spec.Pinned.Artifact); err != nil {
			return nil, fmt.Errorf("load %s v%d: %w", v.Model, v.Version, err)
		}
		if got := blobstore.SHA256(state); got != spec.Pinned.SHA256 {
			return nil, prevoir.Errorf(prevoir.EINVALID, "%s v%d: pinned state %s has hash %.12s, the version records %.12s",
				v.Model, v.Version, spec.Pinned.Artifact, got, spec.Pinned.SHA256)
		}
	case spec.Weights != "":
		if state, err = models.Legacy(spec.Family, spec.Weights, spec.Calibration); err != nil {
			return nil, fmt.Errorf("%s v%d: %w", v.Model, v.Version, err)
		}
	default:
		f.logger().WarnContext(ctx, "model version pins no state (registered before pinning): refitted on the latest data",
			"model", v.Model, "version", v.Version, "family", spec.Family)
		fc, err := models.Lookup(spec.Family)
		if err != nil {
			return nil, err
		}
		return fc.Fit(ctx, frame)
	}
	fitted, err := models.Load(ctx, state, blob, frame)
	if err != nil {
		return nil, fmt.Errorf("%s v%d (%s): %w", v.Model, v.Version, spec.Family, err)
	}
	return fitted, nil
}
