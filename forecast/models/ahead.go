package models

import (
	"encoding/json"
	"slices"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/forecast/secondary"
)

// ReadsAhead returns the frame columns that the model a state written by Save pins reads
// beyond the origin, each once, in the state's order: the columns whose forecast, made by the
// champion of the column's target, the forecast flow hands it with the frame
// (prevoir.Frame.Ahead). The secondary models read their primary column (admissions), alone or
// inside a combination or wrapper; the other families read no column ahead (the lag
// regressions and the weekly model forecast directly from past values).
func ReadsAhead(state []byte) ([]string, error) {
	var p prevoir.Pinned
	if err := json.Unmarshal(state, &p); err != nil {
		return nil, prevoir.Errorf(prevoir.EINVALID, "pinned state: %v", err)
	}
	var cols []string
	err := walk(&p, func(p *prevoir.Pinned) error {
		if p.Kind != secondary.PinnedKind {
			return nil
		}
		c, err := secondary.PinnedPrimary(p)
		if err == nil && !slices.Contains(cols, c) {
			cols = append(cols, c)
		}
		return err
	})
	return cols, err
}
