package models_test

import (
	"context"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/forecast/internal/testframe"
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

// TestWrappedSecondaryReadsGivenAdmissions: the secondary models inside the conformal wrapper
// and the lead ensemble read the admissions forecast handed with the frame, fitted or loaded
// from their pinned state; without one they forecast as before. Handed admissions twice as high
// as the data's, the forecasts rise (the ensemble's, through its secondary members, less).
func TestWrappedSecondaryReadsGivenAdmissions(t *testing.T) {
	ctx := context.Background()
	adm := testframe.Noisy(740, 3)
	deaths := make([]float64, 720)
	for i := range deaths {
		deaths[i] = math.Round(adm[i+20-12] / 10)
	}
	frame := testframe.New(deaths, map[string][]float64{"incid_hosp": adm[20:740], "incid_rea": adm[20:740]})
	origin := frame.Dates[frame.Len()-1]
	level := 0.0
	for _, a := range adm[740-28:] {
		level += a / 28
	}
	given := *frame
	given.Ahead = map[string]*prevoir.CovariateForecast{
		"incid_hosp": testframe.Ahead("incid_hosp", origin, prevoir.DefaultHorizon, 2*level, 0.2),
		"incid_rea":  testframe.Ahead("incid_rea", origin, prevoir.DefaultHorizon, 2*level, 0.2),
	}
	// The ensemble is refitted on the given frame only through the conformal wrapper's fit,
	// which secondary+cp checks: a second fit of the ensemble would cost 10 s more.
	for name, c := range map[string]struct {
		cols  []string
		refit bool
	}{"secondary+cp": {[]string{"incid_hosp"}, true}, "ensemble_lead": {[]string{"incid_hosp", "incid_rea"}, false}} {
		t.Run(name, func(t *testing.T) {
			fc, err := models.Lookup(name)
			if err != nil {
				t.Fatal(err)
			}
			ft, err := fc.Fit(ctx, frame)
			if err != nil {
				t.Fatal(err)
			}
			saved, err := models.Save(ctx, ft)
			if err != nil {
				t.Fatal(err)
			}
			if got, err := models.ReadsAhead(saved.State); err != nil || !slices.Equal(got, c.cols) {
				t.Errorf("ReadsAhead = %v, %v; want %v", got, err, c.cols)
			}
			own := predict(t, ft)
			loaded, err := models.Load(ctx, saved.State, blobs(saved), frame)
			if err != nil {
				t.Fatal(err)
			}
			if got := predict(t, loaded); !reflect.DeepEqual(got, own) {
				t.Errorf("loaded without a given forecast: %v, want the fit's %v", got.Point, own.Point)
			}
			withGiven, err := models.Load(ctx, saved.State, blobs(saved), &given)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]*prevoir.Forecast{"loaded": predict(t, withGiven)}
			if c.refit {
				refit, err := fc.Fit(ctx, &given)
				if err != nil {
					t.Fatal(err)
				}
				got["fitted"] = predict(t, refit)
			}
			for what, got := range got {
				if a, b := prevoir.WeekTotal(got.Point, 1), prevoir.WeekTotal(own.Point, 1); !(a > 1.1*b) {
					t.Errorf("%s with admissions forecast twice as high: second week %.0f, own %.0f; want higher", what, a, b)
				}
			}
		})
	}
}
