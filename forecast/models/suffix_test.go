package models_test

import (
	"strings"
	"testing"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/forecast/conformal"
	"github.com/prevoir/prevoir/forecast/ensemble"
	"github.com/prevoir/prevoir/forecast/holiday"
	"github.com/prevoir/prevoir/forecast/models"
)

// TestSuffixesComposeInAnyOrder: a name's suffixes may be written in any order; the model is
// the same, the holiday correction inside the conformal calibration, recorded under one
// canonical name.
func TestSuffixesComposeInAnyOrder(t *testing.T) {
	for in, want := range map[string]string{
		"ets+cp+hol":           "ets+hol+cp",
		"ets+hol+cp":           "ets+hol+cp",
		"linreg+cp":            "linreg+cp",
		"rnn+cp+hol":           "rnn+hol+cp",
		"snaive+hol":           "snaive+hol",
		"ensemble+hol":         "ensemble", // its members are corrected already
		"ensemble+cp":          "ensemble", // it has conformal intervals already
		"ensemble_mean+cp+hol": "ensemble_mean",
	} {
		got, err := models.Canonical(in)
		if err != nil || got != want {
			t.Errorf("Canonical(%q) = %q, %v; want %q", in, got, err, want)
			continue
		}
		m, err := models.Lookup(in)
		if err != nil {
			t.Errorf("Lookup(%q): %v", in, err)
			continue
		}
		if m.Name() != want {
			t.Errorf("Lookup(%q).Name() = %q, want %q", in, m.Name(), want)
		}
		d1, err1 := models.Describe(in)
		d2, err2 := models.Describe(want)
		if err1 != nil || err2 != nil || d1 != d2 {
			t.Errorf("Describe(%q) = %q, %v; Describe(%q) = %q, %v", in, d1, err1, want, d2, err2)
		}
	}
	m, _ := models.Lookup("ets+cp+hol")
	c, ok := m.(*conformal.Forecaster)
	if !ok {
		t.Fatalf("ets+cp+hol is a %T, want the conformal wrapper outside", m)
	}
	if _, ok := c.Inner.(*holiday.Forecaster); !ok {
		t.Errorf("ets+cp+hol calibrates a %T, want the holiday-corrected ets", c.Inner)
	}
	// The ensemble is not corrected a second time (that would apply the factors twice).
	m, _ = models.Lookup("ensemble+hol")
	if _, ok := m.(*conformal.Forecaster).Inner.(*ensemble.Forecaster); !ok {
		t.Errorf("ensemble+hol wraps a %T, want the ensemble itself", m.(*conformal.Forecaster).Inner)
	}
}

// TestSuffixNonsenseRefused: a suffix written twice or unknown is refused, naming it and the
// valid ones.
func TestSuffixNonsenseRefused(t *testing.T) {
	for in, want := range map[string][]string{
		"ets+hol+hol":      {"ets+hol+hol", "+hol written twice"},
		"ets+cp+hol+cp":    {"+cp written twice"},
		"ensemble+hol+hol": {"+hol written twice"},
		"ets+hols":         {`unknown suffix "+hols"`, "+hol or +cp"},
		"ets+":             {`unknown suffix "+"`},
		"etz+hol":          {`unknown model "etz+hol"`, "ets, ets_log", "+hol and +cp in any order"},
	} {
		_, err := models.Lookup(in)
		if prevoir.ErrorCode(err) != prevoir.EINVALID {
			t.Errorf("Lookup(%q): %v, want an invalid-input error", in, err)
			continue
		}
		for _, w := range want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("Lookup(%q): %q does not say %q", in, err, w)
			}
		}
		if _, err := models.Canonical(in); err == nil {
			t.Errorf("Canonical(%q) accepted it", in)
		}
	}
}

// TestParseSpellingsAreOneModel: two spellings of one model in a list are a duplicate.
func TestParseSpellingsAreOneModel(t *testing.T) {
	for _, list := range []string{"ets+hol+cp,ets+cp+hol", "ensemble,ensemble+hol"} {
		_, err := models.Parse(list)
		if err == nil || !strings.Contains(err.Error(), "listed twice (it is ") {
			t.Errorf("Parse(%q): %v, want a duplicate naming the canonical name", list, err)
		}
	}
	ms, err := models.Parse("ets+cp+hol,ensemble+hol")
	if err != nil || len(ms) != 2 || ms[0].Name() != "ets+hol+cp" || ms[1].Name() != "ensemble" {
		t.Fatalf("Parse: %v, %v", ms, err)
	}
}
