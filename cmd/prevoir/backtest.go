package main

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/backtest"
	"github.com/prevoir/prevoir/forecast/models"
	"github.com/prevoir/prevoir/tracking"
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

The backtest is recorded as a run (parameters, metrics per model, backtest.json and the plot
as artifacts). Run "prevoir ingest" first.

Models: ` + strings.Join(models.Names(), ", ") + `; suffixes +hol (French public holidays
corrected) and +cp (conformal intervals) compose with any name, in any order: the model is
the same and is recorded as name+hol+cp (the calibration wraps the corrected model). The
ensembles are corrected and calibrated already: ensemble+hol is the ensemble.`,
		Example: `  prevoir backtest --from 2022-01-01 --to 2022-12-17 --every 7 --json bt.json   # the candidates, Saturday origins (the hubs' weeks)
  prevoir backtest --models naive,snaive,ets,theta,linreg,ensemble --from 2022-01-02 --to 2022-12-11 --json bt.json --plot bt.svg`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ms, err := models.Parse(modelList)
			if err != nil {
				return usageError{fmt.Errorf("--models: %w", err)}
			}
			if epochs > 0 {
				for i, m := range ms {
					ms[i] = models.WithEpochs(m, epochs)
				}
			}
			f, err := a.flows(cmd, &p)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			frame, err := f.Ingester.Frame(ctx, f.Sources, f.FrameOptions)
			if err != nil {
				return err
			}
			last := frame.Dates[frame.Len()-1]
			if opts.To == 0 {
				opts.To = last - prevoir.Date(opts.Horizon)
			}
			if opts.From == 0 {
				opts.From = opts.To - prevoir.Date(49*opts.Every)
			}
			if opts.From > opts.To {
				return usageError{fmt.Errorf("--from %s is after --to %s", opts.From, opts.To)}
			}
			if err := checkOrigins(opts, frame); err != nil {
				return err
			}
			opts.Champion = backtest.ChampionOptions{Window: championWindow, Margin: championMargin, MinCoverage80: minCoverage, Weekly: championWeekly}
			if v, err := f.Registry.ResolveAlias(ctx, f.RegisteredModel, prevoir.AliasChampion); err == nil {
				opts.Current = v.Family
			}
			if isTerminal(a.stderr) {
				opts.Progress = func(pr backtest.Progress) {
					fmt.Fprintf(a.stderr, "\rbacktest: %d/%d fits (%s at %s)   ", pr.Done, pr.Total, pr.Model, pr.Origin)
					if pr.Done == pr.Total {
						fmt.Fprintln(a.stderr)
					}
				}
			}
			params := map[string]string{
				"models": canonicalList(ms), "from": opts.From.String(), "to": opts.To.String(), "every": strconv.Itoa(opts.Every),
				"horizon": strconv.Itoa(opts.Horizon), "window": strconv.Itoa(opts.Window), "conformal": strconv.FormatBool(opts.Conformal),
				"champion_window": strconv.Itoa(championWindow), "champion_margin": strconv.FormatFloat(championMargin, 'g', -1, 64),
				"min_coverage": strconv.FormatFloat(minCoverage, 'g', -1, 64), "champion_weekly": strconv.FormatBool(championWeekly),
			}
			if epochs > 0 {
				params["epochs"] = strconv.Itoa(epochs)
			}
			run, err := f.Tracker.Start(ctx, &prevoir.Run{Kind: prevoir.RunBacktest, Name: "backtest", Params: params, Lineage: f.Lineage(frame)})
			if err != nil {
				return err
			}
			res, reports, err := runBacktest(cmd, run, frame, ms, opts)
			if eerr := run.End(ctx, err); eerr != nil && err == nil {
				err = eerr
			}
			if err != nil {
				return err
			}
			if err := backtest.WriteLeaderboard(a.stdout, res); err != nil {
				return err
			}
			if res.Champion == "" { // the reason says "no champion: why"
				fmt.Fprintf(a.stdout, "\n%s\n(run %s)\n", res.Decision.Reason, run.ID)
			} else {
				fmt.Fprintf(a.stdout, "\nchampion: %s — %s\n(run %s)\n", res.Champion, res.Decision.Reason, run.ID)
			}
			if jsonOut != "" {
				if err := writeFileAtomic(jsonOut, reports.json); err != nil {
					return err
				}
			}
			if plotOut != "" {
				if err := writeFileAtomic(plotOut, reports.svg); err != nil {
					return err
				}
			}
			return backtestOutcome(a, res)
		},
	}
	p.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&modelList, "models", strings.Join(models.Candidates(), ","), "comma-separated models to compare (default: the candidates)")
	fl.Var(dateFlag{&opts.From}, "from", "first origin (default: 49 periods before --to)")
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

// backtestReports are a backtest's reports as the run records them: --json and --plot write
// these bytes rather than rendering the result again.
type backtestReports struct {
	json, svg []byte
}

// runBacktest runs the backtest and records its numbers and reports in the run.
func runBacktest(cmd *cobra.Command, run *tracking.Run, frame *prevoir.Frame, ms []prevoir.Forecaster, opts backtest.Options) (*backtest.Result, backtestReports, error) {
	ctx := cmd.Context()
	var reports backtestReports
	res, err := backtest.Run(ctx, frame, ms, opts)
	if err != nil {
		return nil, reports, err
	}
	metrics := map[string]float64{}
	for _, m := range res.Models {
		for k, v := range m.Measures() {
			metrics[m.Name+"."+k] = v
		}
	}
	if err := run.LogMetrics(ctx, metrics); err != nil {
		return nil, reports, err
	}
	var jb, sb bytes.Buffer
	if err := backtest.WriteJSON(&jb, res); err != nil {
		return nil, reports, err
	}
	reports.json = jb.Bytes()
	if _, err := run.LogArtifact(ctx, "backtest.json", reports.json); err != nil {
		return nil, reports, err
	}
	if err := backtest.WriteSVG(&sb, res); err != nil {
		return nil, reports, err
	}
	reports.svg = sb.Bytes()
	if _, err := run.LogArtifact(ctx, "backtest.svg", reports.svg); err != nil {
		return nil, reports, err
	}
	return res, reports, nil
}

// canonicalList names the models as they are recorded (models.Canonical), comma-separated.
func canonicalList(ms []prevoir.Forecaster) string {
	names := make([]string, len(ms))
	for i, m := range ms {
		names[i] = m.Name()
	}
	return strings.Join(names, ",")
}
