package flow

import "github.com/prevoir/prevoir/forecast/models"

// canonicalNames returns the canonical spelling of each model name (models.Canonical), the
// one its versions are registered under.
func canonicalNames(names []string) ([]string, error) {
	out := make([]string, len(names))
	for i, n := range names {
		c, err := models.Canonical(n)
		if err != nil {
			return nil, err
		}
		out[i] = c
	}
	return out, nil
}
