package models_test

import (
	"context"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/csvsource"
	"github.com/prevoir/prevoir/forecast/internal/testframe"
	"github.com/prevoir/prevoir/forecast/models"
	"github.com/prevoir/prevoir/internal/testutil"
)

// targetFrame is the real frame of target t (both sources, the default covariates but t's
// column), up to origin.
func targetFrame(t *testing.T, tg prevoir.Target, origin string) *prevoir.Frame {
	t.Helper()
	f := testutil.Frame(t, tg.FrameOptions(prevoir.DefaultFrameOptions()),
		csvsource.File{Source: prevoir.SourceIndicators, Path: "table-indicateurs-open-data-france.csv"},
		csvsource.File{Source: prevoir.SourceSIDEP, Path: "sp-fra-jour.csv"})
	d, err := prevoir.ParseDate(origin)
	if err != nil {
		t.Fatal(err)
	}
	if f, err = f.Until(d); err != nil {
		t.Fatal(err)
	}
	return f
}

// TestCandidatesForEveryTarget: every candidate of every target fits on the real frame of that
// target and forecasts 14 days of finite, non-negative values with ordered quantiles, within a
// few times the target's last week (a model reading another column, such as the admissions
// for the beds, would be off by an order of magnitude).
func TestCandidatesForEveryTarget(t *testing.T) {
	if testing.Short() {
		t.Skip("fits every candidate of every target")
	}
	ctx := context.Background()
	for _, tg := range prevoir.Targets() {
		t.Run(tg.Name, func(t *testing.T) {
			f := targetFrame(t, tg, "2022-10-01")
			// The level of the last week: the forecasts of a wave's rise stay within a few times it.
			y := f.TargetValues()
			level := slices.Max(y[len(y)-7:])
			names := models.CandidatesFor(tg)
			if len(names) == 0 || names[0] != "snaive" {
				t.Fatalf("candidates %v: want the seasonal naive baseline first", names)
			}
			ms, err := models.Parse(strings.Join(names, ","))
			if err != nil {
				t.Fatal(err)
			}
			for i, m := range ms {
				if m.Name() != names[i] {
					t.Errorf("candidate %q is recorded as %q", names[i], m.Name())
				}
				ft, err := m.Fit(ctx, f)
				if err != nil {
					t.Errorf("%s: %v", m.Name(), err)
					continue
				}
				fc, err := ft.Predict(ctx, prevoir.DefaultHorizon, prevoir.DefaultQuantiles())
				if err != nil {
					t.Errorf("%s: %v", m.Name(), err)
					continue
				}
				if len(fc.Point) != prevoir.DefaultHorizon || len(fc.Values) != prevoir.DefaultHorizon {
					t.Fatalf("%s: %d points, %d quantile rows", m.Name(), len(fc.Point), len(fc.Values))
				}
				for d, p := range fc.Point {
					if math.IsNaN(p) || p < 0 || p > 4*level+50 {
						t.Errorf("%s day %d: %v, the target's last week peaked at %v", m.Name(), d+1, p, level)
					}
					if !slices.IsSorted(fc.Values[d]) {
						t.Errorf("%s day %d: quantiles out of order: %v", m.Name(), d+1, fc.Values[d])
					}
				}
			}
		})
	}
}

// TestTrainDefaults: a training trains each target's candidates and networks (the deaths all
// three, the others the light ones), and the deaths keep the candidates the BENCHMARKS tables
// were measured with.
func TestTrainDefaults(t *testing.T) {
	deaths, _ := prevoir.LookupTarget(prevoir.TargetDeaths)
	if !slices.Equal(models.CandidatesFor(deaths), models.Candidates()) {
		t.Errorf("the deaths' candidates changed: %v", models.CandidatesFor(deaths))
	}
	if got, want := models.TrainDefaults(deaths), append(models.Candidates(), "rnn+cp", "tcn+cp", "transformer+cp"); !slices.Equal(got, want) {
		t.Errorf("the deaths' train defaults %v, want %v", got, want)
	}
	for _, tg := range prevoir.Targets() {
		got := models.TrainDefaults(tg)
		if !slices.Equal(got[:len(models.CandidatesFor(tg))], models.CandidatesFor(tg)) || !slices.Contains(got, "rnn+cp") || !slices.Contains(got, "tcn+cp") {
			t.Errorf("%s: train defaults %v, want its candidates and the networks", tg.Name, got)
		}
		if _, err := models.Parse(strings.Join(got, ",")); err != nil {
			t.Errorf("%s: train defaults: %v", tg.Name, err)
		}
		for _, n := range models.CandidatesFor(tg) {
			if c, err := models.Canonical(n); err != nil || c != n {
				t.Errorf("%s: candidate %q: canonical %q, %v", tg.Name, n, c, err)
			}
		}
	}
}

// TestLeadingColumnIsTarget: the models on leading indicators refuse to read their own target
// as the column that leads it, saying which column, instead of forecasting the target from
// itself.
func TestLeadingColumnIsTarget(t *testing.T) {
	ctx := context.Background()
	adm, _ := prevoir.LookupTarget(prevoir.TargetAdmissions)
	icu, _ := prevoir.LookupTarget(prevoir.TargetICUAdmissions)
	for _, c := range []struct {
		model  string
		target prevoir.Target
	}{
		{"leadreg", adm}, {"weekly", adm}, {"secondary", adm},
		{"leadreg_rea", icu}, {"weekly_rea", icu}, {"secondary_rea", icu},
	} {
		m, err := models.Lookup(c.model)
		if err != nil {
			t.Fatal(err)
		}
		_, err = m.Fit(ctx, targetFrame(t, c.target, "2021-12-18"))
		if err == nil || !strings.Contains(err.Error(), `"`+c.target.Column+`" is the target`) {
			t.Errorf("%s on %s: %v, want an error saying the leading column is the target", c.model, c.target.Name, err)
		}
	}
}

// TestNewModelsKnownAnswers: ets_damped is ETS(A,Ad,A) on log1p(y) and forecasts a constant
// series as that constant; the target ensembles' point is the mean (or median) of their
// members' points, each member fitted alone.
func TestNewModelsKnownAnswers(t *testing.T) {
	ctx := context.Background()
	m, _ := models.Lookup("ets_damped")
	ft, err := m.Fit(ctx, testframe.New(testframe.Constant(400, 250), nil))
	if err != nil {
		t.Fatal(err)
	}
	if d := ft.(interface{ Describe() string }).Describe(); !strings.HasPrefix(d, "ETS(A,Ad,A) on 365 days") {
		t.Errorf("ets_damped fitted %q, want ETS(A,Ad,A) on the last 365 days", d)
	}
	for d, p := range predict(t, ft).Point {
		if math.Abs(p-250) > 1e-6 {
			t.Errorf("ets_damped day %d: %v, want 250", d+1, p)
		}
	}

	adm := testframe.Noisy(500, 3)
	f := testframe.New(testframe.Noisy(480, 5), map[string][]float64{"incid_hosp": adm[20:], "incid_rea": adm[:480]})
	for name, c := range map[string]struct {
		members []string
		mean    bool
	}{
		"ensemble_adm_mean": {models.AdmissionsMembers(), true},
		"ensemble_icu":      {models.ICUMembers(), false},
		"ensemble_occ_mean": {models.OccupancyMembers(), true},
	} {
		m, _ := models.Lookup(name)
		ft, err := m.Fit(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		got := predict(t, ft).Point
		points := make([][]float64, len(c.members))
		for i, mb := range c.members {
			m, _ := models.Lookup(mb)
			ft, err := m.Fit(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			points[i] = predict(t, ft).Point
		}
		for d := range got {
			day := make([]float64, len(points))
			for i := range points {
				day[i] = points[i][d]
			}
			slices.Sort(day)
			want := (day[len(day)/2-1] + day[len(day)/2]) / 2 // even count: the middle two
			if len(day)%2 == 1 {
				want = day[len(day)/2]
			}
			if c.mean {
				want = 0
				for _, v := range day {
					want += v / float64(len(day))
				}
			}
			if math.Abs(got[d]-want) > 1e-9*math.Max(1, want) {
				t.Errorf("%s day %d: %v, want %v (members %v)", name, d+1, got[d], want, day)
			}
		}
	}
}
