package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/flow"
	"github.com/prevoir/prevoir/forecast/models"
	"github.com/prevoir/prevoir/monitor"
)

func (a *app) runCommand() *cobra.Command {
	var p pipelineFlags
	cmd := &cobra.Command{
		Use:   "run FLOW",
		Short: "Run one flow now, in the foreground: ingest, train, forecast or score",
		Long: `Run one flow now, in the foreground, recorded as a run like the scheduled ones, and exit
non-zero if it fails:

  ingest    fetch both sources, store new releases, rebuild the frame (for every target)
  train     backtest and train every model of --models (default: the target's own
            defaults), register a version of each, and apply the champion rule (the
            champion alias moves, with its reason); a new champion forecasts at once
  forecast  forecast the next 14 days with the champion, with quantiles, and store it
  score     score every stored forecast whose days have been observed since

train, forecast and score work on each target of --target in turn (default incid_dchosp; "all"
for every one), each under its own registered model, the target's name. With several targets,
each target's output follows a heading "== NAME: label (unit)", and a target that fails does
not stop the others (the command then exits non-zero naming them).`,
		Example: `  prevoir run ingest --source-dir testdata
  prevoir run train --models snaive,ets,theta
  prevoir run train --target all
  prevoir run forecast --target hosp --target rea
  prevoir run score --target all`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if args[0] == "ingest" {
				f, err := a.flows(cmd, &p)
				if err != nil {
					return err
				}
				rep, err := f.Ingest(ctx)
				if rep != nil && len(rep.Results) > 0 {
					if perr := printResults(a, rep.Results); perr != nil {
						return errors.Join(err, perr)
					}
				}
				if rep != nil {
					printAlerts(a, rep.Alerts)
				}
				if err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "frame: %d days, %s .. %s (run %s)\n", rep.Frame.Len(), rep.Frame.Dates[0], rep.Frame.Dates[rep.Frame.Len()-1], rep.RunID)
				return nil
			}
			var run func(f *flow.Flows, t prevoir.Target) error
			switch args[0] {
			case "train":
				if p.trainModels != "" {
					if _, err := models.Parse(strings.Join(p.modelsFor(prevoir.Target{}), ",")); err != nil {
						return usageError{fmt.Errorf("--models: %w", err)}
					}
				}
				run = func(f *flow.Flows, t prevoir.Target) error { return a.train(ctx, f, p.modelsFor(t), &p) }
			case "forecast":
				run = func(f *flow.Flows, t prevoir.Target) error {
					rep, err := f.Forecast(ctx)
					if err != nil {
						return err
					}
					if err := printForecast(a, t, rep.Forecast); err != nil {
						return err
					}
					if rep.Existing {
						fmt.Fprintln(a.stdout, "(already forecast from this origin by this version: nothing recomputed)")
					}
					return nil
				}
			case "score":
				run = func(f *flow.Flows, _ prevoir.Target) error {
					rep, err := f.Score(ctx)
					if err != nil {
						return err
					}
					fmt.Fprintf(a.stdout, "scored %d forecast days of %d forecasts; live MAE over the last %d days %s, 80%%/95%% coverage %s/%s (run %s)\n",
						rep.Days, rep.Forecasts, prevoir.LiveWindow, num(rep.LiveMAE), pct(rep.LiveCover80), pct(rep.LiveCover95), rep.RunID)
					printAlerts(a, rep.Alerts)
					return nil
				}
			default:
				return usageError{fmt.Errorf("unknown flow %q: want ingest, train, forecast or score", args[0])}
			}
			ts, err := p.targets()
			if err != nil {
				return err
			}
			base, err := a.baseFlows(cmd, &p)
			if err != nil {
				return err
			}
			return a.eachTarget(ts, func(t prevoir.Target) error { return run(base.For(t), t) })
		},
	}
	p.registerTarget(cmd, targetsUsage("of train, forecast and score"))
	p.registerFlows(cmd)
	return cmd
}

// train trains models for f's target, and a new champion forecasts at once, as after the
// queue's training (an unchanged one has usually forecast already), even when some model of
// the batch failed.
func (a *app) train(ctx context.Context, f *flow.Flows, names []string, p *pipelineFlags) error {
	rep, errs := f.Train(ctx, names, p.train)
	for _, err := range errs {
		fmt.Fprintf(a.stderr, "prevoir: %v\n", err)
	}
	var ferr error
	if rep != nil && rep.Champion != nil {
		fmt.Fprintf(a.stdout, "champion: %s v%d (changed: %v) — %s\n", rep.Champion.Family, rep.Champion.Version, rep.Changed, rep.Decision.Reason)
		ferr = a.forecastChampion(ctx, f)
	}
	if len(errs) > 0 {
		if ferr != nil {
			fmt.Fprintf(a.stderr, "prevoir: %v\n", ferr)
		}
		return fmt.Errorf("training failed for %d of %d steps", len(errs), len(names)+1)
	}
	return ferr
}

// eachTarget runs fn for each target in turn. With one target it is fn; with several, each
// target's output follows a heading and a target that fails does not stop the others: the
// error names the targets that failed.
func (a *app) eachTarget(ts []prevoir.Target, fn func(prevoir.Target) error) error {
	if len(ts) == 1 {
		return fn(ts[0])
	}
	var failed []string
	for i, t := range ts {
		if i > 0 {
			fmt.Fprintln(a.stdout)
		}
		fmt.Fprintln(a.stdout, heading(t))
		if err := fn(t); err != nil {
			// A usage error is every target's; an interruption stops the command.
			var ue usageError
			if errors.As(err, &ue) || errors.Is(err, context.Canceled) {
				return err
			}
			fmt.Fprintf(a.stderr, "prevoir: %s: %v\n", t.Name, err)
			failed = append(failed, t.Name)
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d of %d targets failed (%s): see above", len(failed), len(ts), strings.Join(failed, ", "))
	}
	return nil
}

func printAlerts(a *app, alerts []monitor.Alert) {
	for _, al := range alerts {
		fmt.Fprintf(a.stdout, "ALERT %s %s: %s\n", al.Kind, al.Subject, al.Message)
	}
}

func num(v float64) string {
	if math.IsNaN(v) {
		return "-"
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

func pct(v float64) string {
	if math.IsNaN(v) {
		return "-"
	}
	return strconv.FormatFloat(100*v, 'f', 0, 64) + "%"
}
