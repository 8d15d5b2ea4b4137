// Package models is the registry of forecasters by name: the names accepted on the command
// line (--models snaive,ets,theta) and stored with every run, each mapped to a forecaster with
// the settings that were measured to work on the hospital-death series (see
// docs/protocols/backtest.md).
//
// Two suffixes compose with any registered name, in any order:
//
//   - "+hol" corrects the model for French public holidays (package forecast/holiday),
//     e.g. "ets+hol";
//   - "+cp" gives it conformal prediction intervals (package forecast/conformal), e.g.
//     "linreg+cp".
//
// Whatever the order written, the model is the same: the holiday correction inside, the
// conformal calibration around it (it calibrates the intervals of the model as corrected), so
// "ets+cp+hol" and "ets+hol+cp" are one model, recorded under its canonical name "ets+hol+cp"
// (see Canonical). A suffix a registered model already has (the ensembles' members are
// corrected for holidays, and the ensembles have conformal intervals) adds nothing and is
// dropped from the canonical name: "ensemble+hol" is "ensemble". A suffix written twice, or
// one not listed here, is refused.
package models

import (
	"fmt"
	"slices"
	"strings"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/forecast/conformal"
	"github.com/prevoir/prevoir/forecast/ensemble"
	"github.com/prevoir/prevoir/forecast/ets"
	"github.com/prevoir/prevoir/forecast/holiday"
	"github.com/prevoir/prevoir/forecast/linreg"
	"github.com/prevoir/prevoir/forecast/naive"
	"github.com/prevoir/prevoir/forecast/neural"
	"github.com/prevoir/prevoir/forecast/secondary"
	"github.com/prevoir/prevoir/forecast/theta"
	"github.com/prevoir/prevoir/forecast/weekly"
)

// Name suffixes.
const (
	// ConformalSuffix turns a model name into the name of the same model with conformal
	// intervals.
	ConformalSuffix = "+cp"
	// HolidaySuffix turns a model name into the name of the same model corrected for public
	// holidays.
	HolidaySuffix = "+hol"
)

// Entry is a registered model.
type Entry struct {
	Name        string
	Description string
	New         func() prevoir.Forecaster
	// Holidays and Conformal say that the model is already corrected for holidays (in its
	// members) or already has conformal intervals: the suffix adds nothing to it.
	Holidays, Conformal bool
}

// recentDays is the history window of the models that do best on recent data only.
const recentDays = 365

// The registered base models.

func naiveModel() prevoir.Forecaster {
	return naive.Forecaster{Method: naive.MethodNaive, Window: recentDays}
}

func snaiveModel() prevoir.Forecaster {
	return naive.Forecaster{Method: naive.MethodSeasonalNaive, Window: recentDays}
}

func mean7Model() prevoir.Forecaster {
	return naive.Forecaster{Method: naive.MethodMean, Window: recentDays}
}

func driftModel() prevoir.Forecaster {
	return naive.Forecaster{Method: naive.MethodDrift, Window: recentDays}
}

// etsModel is AutoETS on the last year, where it picks ETS(M,Ad,M); Tol 1e-6 gives the
// forecasts of R's tolerance at half the cost (docs/protocols/ets.md).
func etsModel() prevoir.Forecaster {
	return ets.Forecaster{Window: recentDays, Options: ets.Options{Tol: 1e-6}}
}

// etsLogModel is AutoETS on log1p(y) over the whole history: the log scale suits the long
// history (several waves of very different heights), where it picks ETS(A,Ad,A).
func etsLogModel() prevoir.Forecaster {
	return ets.Forecaster{Label: "ets_log", Options: ets.Options{Tol: 1e-6, Transform: ets.Log1p()}}
}

// etsFastModel is etsModel with the initial states fixed at their heuristic values: about four
// times cheaper and less accurate alone (docs/protocols/ets.md), as good inside the ensemble.
func etsFastModel() prevoir.Forecaster {
	return ets.Forecaster{Label: "ets_fast", Window: recentDays, Options: ets.Options{Init: ets.InitHeuristic}}
}

// etsLogFastModel is etsLogModel with heuristic initial states.
func etsLogFastModel() prevoir.Forecaster {
	return ets.Forecaster{Label: "ets_log_fast", Options: ets.Options{Init: ets.InitHeuristic, Transform: ets.Log1p()}}
}

// etsDampedModel is ETS(A,Ad,A) on log1p(y) over the last year: a trend that flattens out,
// multiplicative on the original scale, for the smooth occupancy series (beds occupied), whose
// growth persists from one day to the next but not for ever.
func etsDampedModel() prevoir.Forecaster {
	return ets.Forecaster{Label: "ets_damped", Window: recentDays, Spec: &ets.Spec{Error: ets.Additive, Trend: ets.Additive, Damped: true, Season: ets.Additive},
		Options: ets.Options{Tol: 1e-6, Transform: ets.Log1p()}}
}

func thetaModel() prevoir.Forecaster { return theta.Forecaster{Window: recentDays} }

func otmModel() prevoir.Forecaster {
	return theta.Forecaster{Label: "otm", Window: recentDays, Options: theta.Options{Optimize: true}}
}

func linregModel() prevoir.Forecaster { return linreg.New(linreg.DefaultOptions()) }

// weeklyModel forecasts weekly totals from the weekly growth of deaths and admissions and
// splits them into days (docs/protocols/weekly.md); it corrects for holidays itself.
func weeklyModel() prevoir.Forecaster { return weekly.New(weekly.Options{}) }

// leadregModel is the direct regression on log growth with hospital admissions as leading
// indicator (linreg.LeadOptions; its settings were chosen on the 2021 origins, see
// docs/protocols/leadreg.md).
func leadregModel() prevoir.Forecaster { return linreg.New(linreg.LeadOptions()) }

// leadregOn is leadreg's design (linreg.LeadOptions) with other leading columns: ICU admissions
// for the ICU occupancy (leadreg_rea), none for growthreg, the design on the target's own
// growth (for the hospital admissions, which no column of the frame leads in 2022).
func leadregOn(label string, lead ...string) func() prevoir.Forecaster {
	return func() prevoir.Forecaster {
		o := linreg.LeadOptions()
		o.Label, o.Covariates = label, lead
		return linreg.New(o)
	}
}

// weeklyOn is the weekly model with other leading columns.
func weeklyOn(label string, lead ...string) func() prevoir.Forecaster {
	return func() prevoir.Forecaster {
		return weekly.New(weekly.Options{Label: label, Covariates: append([]string{}, lead...)})
	}
}

// secondaryModel is the delay-convolution model of deaths on hospital admissions, the
// admissions beyond the origin forecast by the lag regression; secondaryReaModel on ICU
// admissions, forecast by ETS. Settings chosen on the 2021 origins (docs/protocols/secondary.md).
func secondaryModel() prevoir.Forecaster {
	return secondaryOn(secondary.Options{Label: "secondary", Primary: "incid_hosp", HalfLife: 28, Admissions: linregModel()})
}

func secondaryReaModel() prevoir.Forecaster {
	return secondaryOn(secondary.Options{Label: "secondary_rea", Primary: "incid_rea", MaxDelay: 30, HalfLife: 14, Admissions: etsFastModel()})
}

// secondaryOn is the secondary model with the settings both registered variants share (a
// fitted trend held at the origin, median point, a drift of 0.1 a week), its admissions model
// corrected for holidays.
func secondaryOn(o secondary.Options) prevoir.Forecaster {
	o.Trend, o.Median, o.Drift = true, true, 0.1
	o.Admissions = holiday.Adjust(o.Admissions, holiday.Options{})
	return secondary.New(o)
}

// Catalog returns the registered models, baselines first.
func Catalog() []Entry {
	return []Entry{
		{Name: "naive", Description: "last observed value (random walk), last 365 days for sigma", New: naiveModel},
		{Name: "snaive", Description: "seasonal naive: same weekday last week, last 365 days for sigma", New: snaiveModel},
		{Name: "mean7", Description: "mean of the last 7 days, last 365 days for sigma", New: mean7Model},
		{Name: "drift", Description: "line through the first and last values of the last 365 days", New: driftModel},
		{Name: "ets", Description: "AutoETS (AICc) on the last 365 days", New: etsModel},
		{Name: "ets_log", Description: "AutoETS (AICc, additive models) on log1p(y), all history", New: etsLogModel},
		{Name: "ets_fast", Description: "ets with heuristic initial states (faster)", New: etsFastModel},
		{Name: "ets_log_fast", Description: "ets_log with heuristic initial states (faster)", New: etsLogFastModel},
		{Name: "theta", Description: "standard Theta method (forecast::thetaf) on the last 365 days", New: thetaModel},
		{Name: "otm", Description: "optimised Theta method (Fiorucci et al. 2016) on the last 365 days", New: otmModel},
		{Name: "linreg", Description: "ridge regression per horizon on 28 lags of log1p(y) and weekday indicators, last 730 days", New: linregModel},
		{Name: "leadreg", Description: "ridge regression per horizon on the log growth of deaths and of hospital admissions (leading indicator), weekday and holiday indicators, last 730 days, lambda 0.1", New: leadregModel},
		{Name: "leadreg_rea", Description: "leadreg with ICU admissions (incid_rea) as leading indicator", New: leadregOn("leadreg_rea", "incid_rea")},
		{Name: "growthreg", Description: "leadreg's growth design on the target alone (no leading indicator)", New: leadregOn("growthreg")},
		{Name: "ets_damped", Description: "ETS(A,Ad,A) on log1p(y), last 365 days (damped trend)", New: etsDampedModel},
		{Name: "weekly_rea", Description: "weekly with ICU admissions (incid_rea) as leading indicator", New: weeklyOn("weekly_rea", "incid_rea"), Holidays: true},
		{Name: "weekly", Description: "weekly totals by log-growth regression on deaths and hospital admissions (incid_hosp), split into days by the weekday profile and holiday factors",
			New: weeklyModel, Holidays: true},
		{Name: "secondary", Description: "deaths as a fraction of past hospital admissions (incid_hosp) convolved with a fitted delay, weekday and holiday effects, negative binomial; admissions forecast by linreg+hol",
			New: secondaryModel, Holidays: true},
		{Name: "secondary_rea", Description: "secondary on ICU admissions (incid_rea), delays up to 30 days, admissions forecast by ets_fast+hol",
			New: secondaryReaModel, Holidays: true},
		{Name: "ensemble", Description: "median of ets_fast, ets_log_fast, otm, linreg and snaive, each corrected for holidays, with conformal intervals",
			New: func() prevoir.Forecaster { return newEnsemble("ensemble", ensemble.Median) }, Holidays: true, Conformal: true},
		{Name: "ensemble_mean", Description: "mean of ets_fast, ets_log_fast, otm, linreg and snaive, each corrected for holidays, with conformal intervals",
			New: func() prevoir.Forecaster { return newEnsemble("ensemble_mean", ensemble.Mean) }, Holidays: true, Conformal: true},
		{Name: "ensemble_lead", Description: "median of leadreg+hol, weekly, secondary and secondary_rea (the models on leading indicators), with conformal intervals",
			New: func() prevoir.Forecaster { return newLeadEnsemble("ensemble_lead", ensemble.Median) }, Holidays: true, Conformal: true},
		{Name: "ensemble_lead_mean", Description: "mean of leadreg+hol, weekly, secondary and secondary_rea, with conformal intervals",
			New: func() prevoir.Forecaster { return newLeadEnsemble("ensemble_lead_mean", ensemble.Mean) }, Holidays: true, Conformal: true},
		{Name: "ensemble_adm_mean", Description: "mean of growthreg+hol, ets+hol, linreg+hol and weekly_rea (the hospital admissions' ensemble), with conformal intervals",
			New: func() prevoir.Forecaster {
				return memberEnsemble("ensemble_adm_mean", ensemble.Mean, AdmissionsMembers()...)
			}, Holidays: true, Conformal: true},
		{Name: "ensemble_icu", Description: "median of weekly, leadreg+hol, secondary and ets+hol (the ICU admissions' ensemble), with conformal intervals",
			New: func() prevoir.Forecaster { return memberEnsemble("ensemble_icu", ensemble.Median, ICUMembers()...) }, Holidays: true, Conformal: true},
		{Name: "ensemble_occ_mean", Description: "mean of leadreg+hol, ets_damped and growthreg+hol (the occupancy ensemble), with conformal intervals",
			New: func() prevoir.Forecaster {
				return memberEnsemble("ensemble_occ_mean", ensemble.Mean, OccupancyMembers()...)
			}, Holidays: true, Conformal: true},
		{Name: "rnn", Description: "Darts BlockRNN (vanilla RNN, hidden 25) on the target and covariates; point forecasts", New: neuralModel(neural.RNN)},
		{Name: "lstm", Description: "BlockRNN with an LSTM cell; point forecasts", New: neuralModel(neural.LSTM)},
		{Name: "gru", Description: "BlockRNN with a GRU cell; point forecasts", New: neuralModel(neural.GRU)},
		{Name: "tcn", Description: "Darts TCN (kernel 3, 3 filters, dilation base 2); point forecasts", New: neuralModel(neural.TCN)},
		{Name: "transformer", Description: "Darts Transformer (d_model 64, 4 heads, 3+3 layers); point forecasts", New: neuralModel(neural.Transformer)},
	}
}

// NeuralRefitDays is how often a network is retrained when it is evaluated at many origins
// (a backtest): every four weeks, and in between it forecasts from the newer data with the
// latest weights (neural.Refit). Retraining a network at every weekly origin would cost
// minutes per origin for the Transformer.
const NeuralRefitDays = 28

func neuralModel(a neural.Arch) func() prevoir.Forecaster {
	return func() prevoir.Forecaster {
		return neural.Forecaster{Arch: a, Refit: neural.NewRefit(NeuralRefitDays)}
	}
}

// EnsembleMembers names the members of the registered ensembles: the two ETS variants (with
// heuristic initial states: the combination is as accurate, at half the cost), the optimised
// Theta method, the lag regression and the seasonal naive, each corrected for holidays.
// Combining them beat each of them, and beat choosing the best few by recent accuracy (see
// docs/protocols/backtest.md).
func EnsembleMembers() []string {
	return []string{"ets_fast+hol", "ets_log_fast+hol", "otm+hol", "linreg+hol", "snaive+hol"}
}

// newEnsemble returns the fixed-list ensemble of EnsembleMembers with (additive) conformal
// intervals: the combined members' quantiles are too wide (the members' errors partly cancel
// in the combination, their quantiles do not).
func newEnsemble(name string, c ensemble.Combine) prevoir.Forecaster {
	var members []prevoir.Forecaster
	for _, m := range []prevoir.Forecaster{etsFastModel(), etsLogFastModel(), otmModel(), linregModel(), snaiveModel()} {
		members = append(members, holiday.Adjust(m, holiday.Options{}))
	}
	return combined(name, c, members)
}

// Candidates are the statistical models a backtest compares and a training trains when none
// are named: the seasonal naive baseline, the classic models and ensembles, and the models on
// leading indicators with their ensembles. They were chosen on the 2021 origins only; 2022 is
// the test (BENCHMARKS.md, "Skill against the European Forecast Hub"). Each is refitted at
// every weekly origin of a 50-origin backtest in about 15 s on two cores.
func Candidates() []string {
	return []string{"snaive", "ets+hol", "linreg+hol", "leadreg+hol", "weekly", "secondary", "secondary_rea",
		"ensemble", "ensemble_mean", "ensemble_lead", "ensemble_lead_mean"}
}

// CandidatesFor returns the candidates of target t, chosen on the 2021 origins only (2022 is
// the test; docs/protocols/targets.md): Candidates for the deaths; for each other target the
// seasonal naive baseline, the classic models, the models whose leading columns lead that
// target (never the target itself: a model reading its own target as a leading column fails),
// and the ensemble that did best on 2021. Admissions lead the ICU admissions and the beds;
// nothing in the frame leads the hospital admissions after positivity (SI-DEP) stopped in
// August 2022, so their models forecast from the admissions' own growth.
func CandidatesFor(t prevoir.Target) []string {
	switch t.Name {
	case prevoir.TargetAdmissions:
		return []string{"snaive", "ets+hol", "linreg+hol", "growthreg+hol", "weekly_rea", "ensemble", "ensemble_mean", "ensemble_adm_mean"}
	case prevoir.TargetICUAdmissions:
		return []string{"snaive", "ets+hol", "linreg+hol", "leadreg+hol", "weekly", "secondary", "ensemble", "ensemble_icu"}
	case prevoir.TargetHospitalised:
		return []string{"snaive", "ets+hol", "ets_damped", "linreg+hol", "growthreg+hol", "leadreg+hol", "weekly", "ensemble", "ensemble_occ_mean"}
	case prevoir.TargetIntensiveCare:
		return []string{"snaive", "ets+hol", "ets_damped", "linreg+hol", "growthreg+hol", "leadreg+hol", "leadreg_rea+hol", "weekly_rea", "ensemble", "ensemble_occ_mean"}
	}
	return Candidates()
}

// AdmissionsMembers name the members of ensemble_adm_mean, chosen for the hospital admissions
// on the 2021 origins (docs/protocols/targets.md), as ICUMembers for the ICU admissions and
// OccupancyMembers for the beds (hosp, rea).
func AdmissionsMembers() []string {
	return []string{"growthreg+hol", "ets+hol", "linreg+hol", "weekly_rea"}
}

// ICUMembers name the members of ensemble_icu.
func ICUMembers() []string { return []string{"weekly", "leadreg+hol", "secondary", "ets+hol"} }

// OccupancyMembers name the members of ensemble_occ_mean.
func OccupancyMembers() []string { return []string{"leadreg+hol", "ets_damped", "growthreg+hol"} }

// Networks are the original project's networks with conformal intervals (+cp), so that they
// can be champion: a training trains them beside the candidates.
func Networks() []string { return []string{"rnn+cp", "tcn+cp", "transformer+cp"} }

// LightNetworks are the networks that train in seconds (the RNN and the TCN, with conformal
// intervals): the Transformer alone costs about ten CPU minutes per training (its calibration
// trains it on several grid days), nine tenths of a target's training.
func LightNetworks() []string { return []string{"rnn+cp", "tcn+cp"} }

// TrainDefaults returns the models a training of target t trains when none are named: its
// candidates and the networks: all three for the deaths, the light ones for the other targets,
// so that a training of every target stays within the weekly budget (docs/protocols/targets.md,
// "Training cost").
func TrainDefaults(t prevoir.Target) []string {
	if t.Name == prevoir.TargetDeaths {
		return append(CandidatesFor(t), Networks()...)
	}
	return append(CandidatesFor(t), LightNetworks()...)
}

// LeadMembers names the members of the leading-indicator ensembles: the four models that read
// hospital or ICU admissions, each corrected for holidays (weekly and the secondary models
// correct themselves). They were chosen on the 2021 origins only (BENCHMARKS.md, "Skill
// against the European Forecast Hub").
func LeadMembers() []string {
	return []string{"leadreg+hol", "weekly", "secondary", "secondary_rea"}
}

// newLeadEnsemble returns the ensemble of LeadMembers with conformal intervals.
func newLeadEnsemble(name string, c ensemble.Combine) prevoir.Forecaster {
	members := []prevoir.Forecaster{holiday.Adjust(leadregModel(), holiday.Options{}), weeklyModel(), secondaryModel(), secondaryReaModel()}
	return combined(name, c, members)
}

// memberEnsemble returns the ensemble of the named models (catalogue names, suffixes
// included) combined by c, with conformal intervals.
func memberEnsemble(name string, c ensemble.Combine, members ...string) prevoir.Forecaster {
	fcs := make([]prevoir.Forecaster, len(members))
	for i, m := range members {
		fc, err := Lookup(m)
		if err != nil {
			panic(fmt.Sprintf("models: ensemble %s: member %s: %v", name, m, err)) // a constant list: a test looks them all up
		}
		fcs[i] = fc
	}
	return combined(name, c, fcs)
}

// combined combines members by c and calibrates the combination's daily and weekly intervals
// on its own past errors (conformal.Wrap).
func combined(name string, c ensemble.Combine, members []prevoir.Forecaster) prevoir.Forecaster {
	inner := ensemble.New(ensemble.Options{Name: name + ".points", Combine: c}, members...)
	return conformal.Wrap(inner, conformal.Options{Name: name})
}

// Names returns the registered names.
func Names() []string {
	var out []string
	for _, e := range Catalog() {
		out = append(out, e.Name)
	}
	return out
}

// Suffixes are the name suffixes, in the order they wrap a model: innermost first.
func Suffixes() []string { return []string{HolidaySuffix, ConformalSuffix} }

// name is a parsed model name: its registered entry and the suffixes that wrap it.
type name struct {
	entry          Entry
	hol, conformal bool // the suffixes that change the model (not those it already has)
}

// canonical is the name's canonical spelling: the base, then +hol, then +cp.
func (n name) canonical() string {
	s := n.entry.Name
	if n.hol {
		s += HolidaySuffix
	}
	if n.conformal {
		s += ConformalSuffix
	}
	return s
}

// parseName splits a model name into its registered base and its suffixes, in any order.
func parseName(s string) (name, error) {
	parts := strings.Split(s, "+")
	cat := Catalog()
	i := slices.IndexFunc(cat, func(e Entry) bool { return e.Name == parts[0] })
	if i < 0 {
		return name{}, prevoir.Errorf(prevoir.EINVALID, "unknown model %q: want one of %s, optionally followed by %s in any order",
			s, strings.Join(Names(), ", "), strings.Join(Suffixes(), " and "))
	}
	n := name{entry: cat[i]}
	seen := map[string]bool{}
	for _, p := range parts[1:] {
		suffix := "+" + p
		if seen[suffix] {
			return name{}, prevoir.Errorf(prevoir.EINVALID, "model %q: suffix %s written twice", s, suffix)
		}
		seen[suffix] = true
		switch suffix {
		case HolidaySuffix:
			n.hol = !n.entry.Holidays
		case ConformalSuffix:
			n.conformal = !n.entry.Conformal
		default:
			return name{}, prevoir.Errorf(prevoir.EINVALID, "model %q: unknown suffix %q: want %s", s, suffix, strings.Join(Suffixes(), " or "))
		}
	}
	return n, nil
}

// Canonical returns the name under which a model name accepted by Lookup is recorded: the
// registered base, then the suffixes that change it in the order they wrap it (+hol, then
// +cp). "ets+cp+hol" and "ets+hol+cp" are both "ets+hol+cp"; "ensemble+hol" is "ensemble".
func Canonical(s string) (string, error) {
	n, err := parseName(s)
	if err != nil {
		return "", err
	}
	return n.canonical(), nil
}

// Lookup returns a new forecaster for a registered name followed by any of the suffixes
// HolidaySuffix and ConformalSuffix, in any order. The forecaster's Name is the canonical name.
func Lookup(s string) (prevoir.Forecaster, error) {
	n, err := parseName(s)
	if err != nil {
		return nil, err
	}
	m := n.entry.New()
	if n.hol {
		m = holiday.Adjust(m, holiday.Options{})
	}
	if n.conformal {
		m = conformal.Wrap(m, conformal.Options{})
	}
	return m, nil
}

// Parse returns the forecasters of a comma-separated list of names ("snaive,ets,theta"),
// refusing duplicates (two spellings of one model are a duplicate).
func Parse(list string) ([]prevoir.Forecaster, error) {
	var out []prevoir.Forecaster
	seen := map[string]bool{}
	for _, n := range strings.Split(list, ",") {
		n = strings.TrimSpace(n)
		if n == "" {
			continue
		}
		m, err := Lookup(n)
		if err != nil {
			return nil, err
		}
		// Two spellings of one model are one model listed twice.
		if seen[m.Name()] {
			if m.Name() != n {
				return nil, prevoir.Errorf(prevoir.EINVALID, "model %q listed twice (it is %s)", n, m.Name())
			}
			return nil, prevoir.Errorf(prevoir.EINVALID, "model %q listed twice", n)
		}
		seen[m.Name()] = true
		out = append(out, m)
	}
	if len(out) == 0 {
		return nil, prevoir.Errorf(prevoir.EINVALID, "no model in %q", list)
	}
	return out, nil
}

// Describe returns the description of a name accepted by Lookup.
func Describe(s string) (string, error) {
	n, err := parseName(s)
	if err != nil {
		return "", err
	}
	parts := []string{n.entry.Description}
	if n.hol {
		parts = append(parts, "corrected for public holidays")
	}
	if n.conformal {
		parts = append(parts, "with conformal intervals")
	}
	return strings.Join(parts, ", "), nil
}
