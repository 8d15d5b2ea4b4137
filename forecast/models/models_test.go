package models_test

import (
	"context"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/forecast/conformal"
	"github.com/prevoir/prevoir/forecast/ensemble"
	"github.com/prevoir/prevoir/forecast/holiday"
	"github.com/prevoir/prevoir/forecast/internal/testframe"
	"github.com/prevoir/prevoir/forecast/models"
)

func TestNames(t *testing.T) {
	want := []string{"naive", "snaive", "mean7", "drift", "ets", "ets_log", "ets_fast", "ets_log_fast", "theta", "otm", "linreg", "leadreg",
		"leadreg_rea", "growthreg", "ets_damped", "weekly_rea", "weekly", "secondary", "secondary_rea",
		"ensemble", "ensemble_mean", "ensemble_lead", "ensemble_lead_mean", "ensemble_adm_mean", "ensemble_icu", "ensemble_occ_mean",
		"rnn", "lstm", "gru", "tcn", "transformer"}
	if got := models.Names(); !slices.Equal(got, want) {
		t.Fatalf("names %v, want %v", got, want)
	}
	for _, n := range append(want, "ets+hol", "linreg+cp", "ets+hol+cp", "snaive+hol+cp") {
		m, err := models.Lookup(n)
		if err != nil {
			t.Fatal(err)
		}
		if m.Name() != n {
			t.Errorf("Lookup(%q).Name() = %q", n, m.Name())
		}
		if d, err := models.Describe(n); err != nil || d == "" {
			t.Errorf("Describe(%q) = %q, %v", n, d, err)
		}
	}
	m, _ := models.Lookup("ets+hol+cp")
	c, ok := m.(*conformal.Forecaster)
	if !ok {
		t.Fatalf("ets+hol+cp is a %T", m)
	}
	if _, ok := c.Inner.(*holiday.Forecaster); !ok {
		t.Errorf("ets+hol+cp wraps a %T", c.Inner)
	}
	for _, bad := range []string{"nope", "ets+cp+cp", "+cp", ""} {
		if _, err := models.Lookup(bad); prevoir.ErrorCode(err) != prevoir.EINVALID {
			t.Errorf("Lookup(%q): %v, want an invalid-input error", bad, err)
		}
	}
}

func TestEnsembleMembers(t *testing.T) {
	for name, want := range map[string][]string{"ensemble": models.EnsembleMembers(), "ensemble_mean": models.EnsembleMembers(),
		"ensemble_lead": models.LeadMembers(), "ensemble_lead_mean": models.LeadMembers(),
		"ensemble_adm_mean": models.AdmissionsMembers(), "ensemble_icu": models.ICUMembers(), "ensemble_occ_mean": models.OccupancyMembers()} {
		m, _ := models.Lookup(name)
		e, ok := m.(*conformal.Forecaster).Inner.(*ensemble.Forecaster)
		if !ok {
			t.Fatalf("%s does not wrap an ensemble", name)
		}
		var got []string
		for _, mb := range e.Members {
			got = append(got, mb.Name())
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s members %v, want %v", name, got, want)
		}
	}
}

// TestCandidates: the default model list names registered models, once each, in canonical
// spelling, and holds the ensembles of both member lists.
func TestCandidates(t *testing.T) {
	ms, err := models.Parse(strings.Join(models.Candidates(), ","))
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range ms {
		if m.Name() != models.Candidates()[i] {
			t.Errorf("candidate %q is recorded as %q", models.Candidates()[i], m.Name())
		}
	}
	for _, n := range []string{"ensemble_mean", "ensemble_lead", "snaive"} {
		if !slices.Contains(models.Candidates(), n) {
			t.Errorf("%s is not a candidate", n)
		}
	}
}

func TestParse(t *testing.T) {
	ms, err := models.Parse(" snaive, ets,theta+cp ")
	if err != nil || len(ms) != 3 || ms[2].Name() != "theta+cp" {
		t.Fatalf("parse: %v %v", ms, err)
	}
	for _, bad := range []string{"snaive,snaive", " , ", "snaive,bogus"} {
		if _, err := models.Parse(bad); err == nil {
			t.Errorf("Parse(%q) succeeded", bad)
		}
	}
}

// TestFitEveryBaseModel fits every registered model but the ensembles (which the backtest
// tests cover) and the networks (forecast/neural's tests train them; 100 epochs here would
// cost seconds each) on a synthetic series with gaps and checks the forecast contract.
func TestFitEveryBaseModel(t *testing.T) {
	y := testframe.Noisy(800, 4)
	y[0], y[400], y[401], y[799] = 0, math.NaN(), math.NaN(), math.NaN()
	// The models on leading indicators read admissions, observed up to the origin.
	adm := testframe.Noisy(800, 5)
	f := testframe.New(y, map[string][]float64{"incid_hosp": adm, "incid_rea": adm})
	for _, n := range models.Names() {
		if strings.HasPrefix(n, "ensemble") || slices.Contains([]string{"rnn", "lstm", "gru", "tcn", "transformer"}, n) {
			continue
		}
		m, _ := models.Lookup(n)
		ft, err := m.Fit(context.Background(), f)
		if err != nil {
			t.Errorf("%s: %v", n, err)
			continue
		}
		fc, err := ft.Predict(context.Background(), 14, prevoir.DefaultQuantiles())
		if err != nil {
			t.Errorf("%s: %v", n, err)
			continue
		}
		if err := fc.Validate(); err != nil {
			t.Errorf("%s: %v", n, err)
		}
		if fc.Model != n || fc.Origin != f.Dates[799] || len(fc.Point) != 14 {
			t.Errorf("%s: model %q origin %s, %d days", n, fc.Model, fc.Origin, len(fc.Point))
		}
		for i := range fc.Point {
			if fc.Point[i] < 0 || fc.Values[i][0] < 0 {
				t.Errorf("%s: negative forecast on day %d", n, i+1)
			}
		}
	}
}
