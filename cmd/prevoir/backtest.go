package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/backtest"
	"github.com/prevoir/prevoir/flow"
	"github.com/prevoir/prevoir/forecast/models"
)

// dateFlag is a --from/--to flag holding a day.
type dateFlag struct{ d *prevoir.Date }

// minCoverageUsage describes --min-coverage, one setting of backtest, run train and models promote.
const minCoverageUsage = "lowest backtest coverage of the 80% interval a champion may have (models without calibrated intervals are never served)"

func (f dateFlag) String() string {
	if f.d == nil || *f.d == 0 {
		return ""
	}
	return f.d.String()
}
func (f dateFlag) Set(s string) error {
	d, err := prevoir.ParseDate(s)
	if err != nil {
		return err
	}
	*f.d = d
	return nil
}
func (f dateFlag) Type() string { return "date" }

func (a *app) backtestCommand() *cobra.Command {
	var (
		p                pipelineFlags
		modelList        string
		opts             backtest.Options
		jsonOut, plotOut string
		championWindow   int
		championMargin   float64
		minCoverage      float64
		championWeekly   bool
		epochs           int
	)
	cmd := &cobra.Command{
		Use:   "backtest",
		Short: "Rank models by rolling-origin backtests and apply the champion rule",
		Long: `Backtest models the way forecasters do: at every origin (--from, --from+--every, ... up to
--to; the origin is the last observed day), refit each model on the data up to that origin
only, forecast --horizon days, and score against what happened: MAE, RMSE, MASE (scaled by
the in-sample seasonal-naive error over the year before each origin), sMAPE, MAE by horizon,
coverage of the 50/80/95% intervals and the weighted interval score (WIS) of the COVID-19
Forecast Hubs, and that WIS relative to the seasonal naive's (rWIS). Every model is refitted at
every origin (statistical models take milliseconds).

The forecasts' whole weeks (days 1-7 and 8-14 with --horizon 14: with Saturday origins, the
Hubs' weeks 1 and 2) are scored on their totals, as the forecast hubs score them (the "wk"
columns): absolute error and WIS relative to the hubs' baseline (last observed week's total
repeated, with quantiles from past week-to-week changes), and coverage of the weekly 50%/95%
intervals; models without weekly quantiles have no weekly WIS or coverage ("-").

The champion rule then ranks the candidates by MAE (with --champion-weekly: by weekly relative
AE) over the last --champion-window origins and keeps the current champion unless the best
beats it by more than --champion-margin. It is the
rule training applies: a model that failed at some origins, was scored on no observed day, has
no prediction interval (the plain networks: coverage "-") or whose 80% interval covered less
than --min-coverage is listed but never champion; with no eligible model there is none.

A model that fails at some origins is listed below the ranked ones with the reasons, and a
warning is printed; the exit code is 1 when no model could be scored on any observed day
(every model failed, or no forecast day has been observed yet).

--target backtests another series (` + strings.Join(prevoir.TargetNames(), ", ") + `; repeatable, or
"all"), on its own frame, with its own candidates unless --models is given (then those models
for every target): one table per target under its name; with several targets --json holds one
report per target keyed by name, and --plot writes one file per target (bt.svg: bt-hosp.svg).

The backtest is recorded as a run (parameters, metrics per model, backtest.json and the plot
as artifacts). Run "prevoir ingest" first.

Models: ` + strings.Join(models.Names(), ", ") + `; suffixes +hol (French public holidays
corrected) and +cp (conformal intervals) compose with any name, in any order: the model is
the same and is recorded as name+hol+cp (the calibration wraps the corrected model). The
ensembles are corrected and calibrated already: ensemble+hol is the ensemble.`,
		Example: `  prevoir backtest --from 2022-01-01 --to 2022-12-17 --every 7 --json bt.json   # the candidates, Saturday origins (the hubs' weeks)
  prevoir backtest --models naive,snaive,ets,theta,linreg,ensemble --from 2022-01-02 --to 2022-12-11 --json bt.json --plot bt.svg
  prevoir backtest --target all --from 2022-01-01 --to 2022-12-17 --json bt.json   # every target, each with its candidates`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			targets, err := p.targets()
			if err != nil {
				return err
			}
			// Each target's candidates unless the models of every target are named (by the
			// flag, the environment or the config file).
			named := cmd.Flags().Changed("models") || (a.origins["models"] != "" && a.origins["models"] != "default")
			sets := make([][]prevoir.Forecaster, len(targets))
			for i, t := range targets {
				list := modelList
				if !named {
					list = strings.Join(models.CandidatesFor(t), ",")
				}
				if sets[i], err = models.Parse(list); err != nil {
					return usageError{fmt.Errorf("--models: %w", err)}
				}
			}
			base, err := a.flows(cmd, &p)
			if err != nil {
				return err
			}
			opts.Champion = backtest.ChampionOptions{Window: championWindow, Margin: championMargin, MinCoverage80: minCoverage, Weekly: championWeekly}
			if isTerminal(a.stderr) {
				opts.Progress = func(pr backtest.Progress) {
					fmt.Fprintf(a.stderr, "\rbacktest: %d/%d fits (%s at %s)   ", pr.Done, pr.Total, pr.Model, pr.Origin)
					if pr.Done == pr.Total {
						fmt.Fprintln(a.stderr)
					}
				}
			}
			several := len(targets) > 1
			jsons := map[string]json.RawMessage{}
			var errs []error
			for i, t := range targets {
				if several || cmd.Flags().Changed("target") {
					if i > 0 {
						fmt.Fprintln(a.stdout)
					}
					fmt.Fprintf(a.stdout, "== %s: %s (%s)\n\n", t.Name, t.Label, t.Unit)
				}
				rep, err := base.For(t).Backtest(cmd.Context(), sets[i], flow.BacktestOptions{Options: opts, Epochs: epochs})
				var oe *flow.OriginError
				if errors.As(err, &oe) {
					return usageError{originFlagError(oe)}
				}
				if err != nil {
					return fmt.Errorf("target %s: %w", t.Name, err)
				}
				res := rep.Result
				if err := backtest.WriteLeaderboard(a.stdout, res); err != nil {
					return err
				}
				if res.Champion == "" { // the reason says "no champion: why"
					fmt.Fprintf(a.stdout, "\n%s\n(run %s)\n", res.Decision.Reason, rep.RunID)
				} else {
					fmt.Fprintf(a.stdout, "\nchampion: %s — %s\n(run %s)\n", res.Champion, res.Decision.Reason, rep.RunID)
				}
				jsons[t.Name] = rep.JSON
				if plotOut != "" {
					if err := writeFileAtomic(targetFile(plotOut, t, several), rep.SVG); err != nil {
						return err
					}
				}
				if err := backtestOutcome(a, res); err != nil {
					errs = append(errs, targetError(t, several, err))
				}
			}
			if jsonOut != "" {
				b := jsons[targets[0].Name]
				if several { // one object keyed by target, each the report of one target
					if b, err = json.MarshalIndent(jsons, "", "  "); err != nil {
						return err
					}
				}
				if err := writeFileAtomic(jsonOut, b); err != nil {
					return err
				}
			}
			return errors.Join(errs...)
		},
	}
	p.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&modelList, "models", strings.Join(models.Candidates(), ","), "comma-separated models to compare, for every target (default: each target's candidates)")
	p.registerTarget(cmd, targetsUsage("to backtest"))
	fl.Var(dateFlag{&opts.From}, "from", fmt.Sprintf("first origin (default: %d periods before --to)", backtest.DefaultOrigins-1))
	fl.Var(dateFlag{&opts.To}, "to", "last origin (default: the last day whose whole horizon is observed)")
	intVar(fl, &opts.Every, "every", backtest.DefaultEvery, atLeast(1), "days between origins")
	intVar(fl, &opts.Horizon, "horizon", prevoir.DefaultHorizon, atLeast(1), "days forecast")
	intVar(fl, &opts.Window, "window", 0, atLeast(0), "sliding training window in days (0: expanding, all data up to the origin)")
	fl.BoolVar(&opts.Conformal, "conformal", false, "add a +cp twin with conformal intervals for every model")
	intVar(fl, &opts.Workers, "fit-workers", backtest.DefaultWorkers, atLeast(1), "fits run at once")
	renamedFlag(cmd, "workers", "fit-workers")
	intVar(fl, &championWindow, "champion-window", backtest.DefaultChampionWindow, atLeast(1), "origins the champion rule ranks on")
	floatVar(fl, &championMargin, "champion-margin", backtest.DefaultChampionMargin, between(0, 1), "relative MAE improvement a challenger needs to replace the champion (0: any improvement)")
	fl.BoolVar(&championWeekly, "champion-weekly", false, "rank the champion candidates by weekly relative AE (the forecast hubs' measure) instead of daily MAE")
	intVar(fl, &epochs, "epochs", 0, atLeast(1), "epochs of the networks (default: their own, 100)")
	floatVar(fl, &minCoverage, "min-coverage", backtest.DefaultMinCoverage80, between(0, 1), minCoverageUsage)
	fl.StringVar(&jsonOut, "json", "", "write the full results (per origin and horizon) as JSON to this file")
	fl.StringVar(&plotOut, "plot", "", "write an SVG plot (forecasts against actuals, MAE by horizon) to this file")
	markPerInvocation(cmd, "from", "to", "json", "plot")
	return cmd
}

// targetFile is the file of target t's report: path itself for one target, path with the
// target's name before its extension for several (bt.svg: bt-hosp.svg).
func targetFile(path string, t prevoir.Target, several bool) string {
	if !several {
		return path
	}
	ext := filepath.Ext(path)
	return strings.TrimSuffix(path, ext) + "-" + t.Name + ext
}

// targetError names the target of err when several were backtested.
func targetError(t prevoir.Target, several bool, err error) error {
	if !several {
		return err
	}
	return fmt.Errorf("target %s: %w", t.Name, err)
}

// backtestOutcome warns about the models that failed at some origins and fails when no model
// was scored on an observed day: a backtest that measured nothing is not a success.
func backtestOutcome(a *app, res *backtest.Result) error {
	var failed []string
	scored, forecast := false, false
	for _, m := range res.Models {
		if m.Failures > 0 {
			failed = append(failed, fmt.Sprintf("%s (%d of %d origins)", m.Name, m.Failures, m.Failures+m.Origins))
		}
		scored = scored || m.Points > 0
		forecast = forecast || m.Origins > 0
	}
	if !scored {
		if !forecast {
			return fmt.Errorf("backtest: every model failed at every origin (reasons above): nothing was scored")
		}
		return fmt.Errorf("backtest: no forecast day of the origins %s to %s has an observed value: nothing was scored",
			res.Protocol.Origins[0], res.Protocol.Origins[len(res.Protocol.Origins)-1])
	}
	if len(failed) > 0 {
		fmt.Fprintf(a.stderr, "prevoir: warning: %d of %d models failed at some origins and are not ranked: %s (reasons above)\n",
			len(failed), len(res.Models), strings.Join(failed, ", "))
	}
	return nil
}

// originFlagError names the flags of a backtest origin the data cannot serve.
func originFlagError(e *flow.OriginError) error {
	if e.To != 0 {
		return fmt.Errorf("--from %s is after --to %s", e.Origin, e.To)
	}
	return fmt.Errorf("--%s %s: the data run from %s to %s; want an origin in that span (by default --to is %s, the last day whose whole horizon is observed)",
		e.Option, e.Origin, e.First, e.Last, e.DefaultTo)
}
