package models_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/prevoir/prevoir/forecast/models"
)

// TestReadsAhead: the secondary models read their primary column ahead of the origin, alone or
// inside a combination (ensemble_lead reads both admissions, each once); the other families
// read none; a state that is not JSON is an error.
func TestReadsAhead(t *testing.T) {
	for state, want := range map[string][]string{
		`{"kind": "secondary", "state": {"name": "secondary", "primary": "incid_hosp"}, "inner": [{"kind": "holiday", "inner": [{"kind": "linreg"}]}]}`: {"incid_hosp"},
		`{"kind": "conformal", "inner": [{"kind": "ensemble", "inner": [{"kind": "holiday", "inner": [{"kind": "linreg"}]}, {"kind": "weekly"},
			{"kind": "secondary", "state": {"primary": "incid_hosp"}}, {"kind": "secondary", "state": {"primary": "incid_rea"}},
			{"kind": "secondary", "state": {"primary": "incid_hosp"}}]}]}`: {"incid_hosp", "incid_rea"},
		`{"kind": "secondary", "state": {"name": "old"}}`:                            {"incid_hosp"}, // the default primary
		`{"kind": "holiday", "inner": [{"kind": "ets", "state": {"primary": "x"}}]}`: nil,
	} {
		got, err := models.ReadsAhead([]byte(state))
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("ReadsAhead(%.60s...) = %v, %v; want %v", state, got, err, want)
		}
	}
	if _, err := models.ReadsAhead([]byte(`{"kind": "secondary", "state": 3}`)); err == nil || !strings.Contains(err.Error(), "secondary") {
		t.Errorf("a bad secondary state: %v, want an error naming it", err)
	}
	if _, err := models.ReadsAhead([]byte(`not json`)); err == nil {
		t.Error("a state that is not JSON: no error")
	}
}
