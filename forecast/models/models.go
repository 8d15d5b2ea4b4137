// Package models is the registry of forecasters by name: the names accepted on the command
// line (--models snaive,ets,theta) and stored with every run, each mapped to a forecaster with
// the settings that were measured to work on the hospital-death series (see
// backtest/PROTOCOL_RESULTS.md).
//
// Two suffixes compose with any registered name, innermost first:
//
//   - "+hol" corrects the model for French public holidays (package forecast/holiday),
//     e.g. "ets+hol";
//   - "+cp" gives it conformal prediction intervals (package forecast/conformal), e.g.
//     "linreg+cp" or "ets+hol+cp".
package models

import (
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
	"github.com/prevoir/prevoir/forecast/rolling"
	"github.com/prevoir/prevoir/forecast/theta"
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
// forecasts of R's tolerance at half the cost (forecast/ets/PROTOCOL_NOTES.md).
func etsModel() prevoir.Forecaster {
	return ets.Forecaster{Window: recentDays, Options: ets.Options{Tol: 1e-6}}
}

// etsLogModel is AutoETS on log1p(y) over the whole history: the log scale suits the long
// history (several waves of very different heights), where it picks ETS(A,Ad,A).
func etsLogModel() prevoir.Forecaster {
	return ets.Forecaster{Label: "ets_log", Options: ets.Options{Tol: 1e-6, Transform: ets.Log1p()}}
}

// etsFastModel is etsModel with the initial states fixed at their heuristic values: about four
// times cheaper and less accurate alone (PROTOCOL_NOTES.md), as good inside the ensemble.
func etsFastModel() prevoir.Forecaster {
	return ets.Forecaster{Label: "ets_fast", Window: recentDays, Options: ets.Options{Init: ets.InitHeuristic}}
}

// etsLogFastModel is etsLogModel with heuristic initial states.
func etsLogFastModel() prevoir.Forecaster {
	return ets.Forecaster{Label: "ets_log_fast", Options: ets.Options{Init: ets.InitHeuristic, Transform: ets.Log1p()}}
}

func thetaModel() prevoir.Forecaster { return theta.Forecaster{Window: recentDays} }

func otmModel() prevoir.Forecaster {
	return theta.Forecaster{Label: "otm", Window: recentDays, Options: theta.Options{Optimize: true}}
}

func linregModel() prevoir.Forecaster { return linreg.New(linreg.DefaultOptions()) }

// Catalog returns the registered models, baselines first.
func Catalog() []Entry {
	return []Entry{
		{"naive", "last observed value (random walk), last 365 days for sigma", naiveModel},
		{"snaive", "seasonal naive: same weekday last week, last 365 days for sigma", snaiveModel},
		{"mean7", "mean of the last 7 days, last 365 days for sigma", mean7Model},
		{"drift", "line through the first and last values of the last 365 days", driftModel},
		{"ets", "AutoETS (AICc) on the last 365 days", etsModel},
		{"ets_log", "AutoETS (AICc, additive models) on log1p(y), all history", etsLogModel},
		{"ets_fast", "ets with heuristic initial states (faster)", etsFastModel},
		{"ets_log_fast", "ets_log with heuristic initial states (faster)", etsLogFastModel},
		{"theta", "standard Theta method (forecast::thetaf) on the last 365 days", thetaModel},
		{"otm", "optimised Theta method (Fiorucci et al. 2016) on the last 365 days", otmModel},
		{"linreg", "ridge regression per horizon on 28 lags of log1p(y) and weekday indicators, last 730 days", linregModel},
		{"ensemble", "median of ets_fast, ets_log_fast, otm, linreg and snaive, each corrected for holidays, with conformal intervals",
			func() prevoir.Forecaster { return newEnsemble("ensemble", ensemble.Median) }},
		{"ensemble_mean", "mean of ets_fast, ets_log_fast, otm, linreg and snaive, each corrected for holidays, with conformal intervals",
			func() prevoir.Forecaster { return newEnsemble("ensemble_mean", ensemble.Mean) }},
		{"rnn", "Darts BlockRNN (vanilla RNN, hidden 25) on the target and covariates; point forecasts", neuralModel(neural.RNN)},
		{"lstm", "BlockRNN with an LSTM cell; point forecasts", neuralModel(neural.LSTM)},
		{"gru", "BlockRNN with a GRU cell; point forecasts", neuralModel(neural.GRU)},
		{"tcn", "Darts TCN (kernel 3, 3 filters, dilation base 2); point forecasts", neuralModel(neural.TCN)},
		{"transformer", "Darts Transformer (d_model 64, 4 heads, 3+3 layers); point forecasts", neuralModel(neural.Transformer)},
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
// backtest/PROTOCOL_RESULTS.md).
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

// Lookup returns a new forecaster for a registered name, optionally followed by the
// suffixes HolidaySuffix and ConformalSuffix.
func Lookup(name string) (prevoir.Forecaster, error) {
	if base, ok := strings.CutSuffix(name, ConformalSuffix); ok {
		m, err := Lookup(base)
		if err != nil {
			return nil, err
		}
		if _, ok := m.(*conformal.Forecaster); ok {
			return nil, prevoir.Errorf(prevoir.EINVALID, "model %q: %s already has conformal intervals", name, base)
		}
		return conformal.Wrap(m, conformal.Options{}), nil
	}
	if base, ok := strings.CutSuffix(name, HolidaySuffix); ok {
		m, err := Lookup(base)
		if err != nil {
			return nil, err
		}
		if _, ok := m.(rolling.Composite); ok {
			return nil, prevoir.Errorf(prevoir.EINVALID, "model %q: correct the members of %s, not the combination", name, base)
		}
		return holiday.Adjust(m, holiday.Options{}), nil
	}
	cat := Catalog()
	i := slices.IndexFunc(cat, func(e Entry) bool { return e.Name == name })
	if i < 0 {
		return nil, prevoir.Errorf(prevoir.EINVALID, "unknown model %q: want one of %s, optionally followed by %q and %q",
			name, strings.Join(Names(), ", "), HolidaySuffix, ConformalSuffix)
	}
	return cat[i].New(), nil
}

// Parse returns the forecasters of a comma-separated list of names ("snaive,ets,theta"),
// refusing duplicates.
func Parse(list string) ([]prevoir.Forecaster, error) {
	var out []prevoir.Forecaster
	seen := map[string]bool{}
	for _, n := range strings.Split(list, ",") {
		n = strings.TrimSpace(n)
		if n == "" {
			continue
		}
		if seen[n] {
			return nil, prevoir.Errorf(prevoir.EINVALID, "model %q listed twice", n)
		}
		seen[n] = true
		m, err := Lookup(n)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	if len(out) == 0 {
		return nil, prevoir.Errorf(prevoir.EINVALID, "no model in %q", list)
	}
	return out, nil
}

// Describe returns the description of a name accepted by Lookup.
func Describe(name string) (string, error) {
	var extra []string
	for {
		if base, ok := strings.CutSuffix(name, ConformalSuffix); ok {
			name, extra = base, append(extra, "with conformal intervals")
			continue
		}
		if base, ok := strings.CutSuffix(name, HolidaySuffix); ok {
			name, extra = base, append(extra, "corrected for public holidays")
			continue
		}
		break
	}
	for _, e := range Catalog() {
		if e.Name == name {
			slices.Reverse(extra)
			return strings.Join(append([]string{e.Description}, extra...), ", "), nil
		}
	}
	return "", prevoir.Errorf(prevoir.EINVALID, "unknown model %q", name)
}

// WithEpochs returns fc with its network trained for epochs epochs, also inside a conformal
// wrapper; any other model is returned as it is.
func WithEpochs(fc prevoir.Forecaster, epochs int) prevoir.Forecaster {
	switch m := fc.(type) {
	case neural.Forecaster:
		m.Options.Epochs = epochs
		return m
	case *conformal.Forecaster:
		w := *m
		w.Inner = WithEpochs(m.Inner, epochs)
		return &w
	}
	return fc
}
