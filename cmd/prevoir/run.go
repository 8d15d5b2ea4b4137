package main

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/prevoir/prevoir"
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

  ingest    fetch both sources, store new releases, rebuild the frame
  train     backtest and train every model of --models, register a version of each, and
            apply the champion rule (the champion alias moves, with its reason); a new
            champion forecasts at once
  forecast  forecast the next 14 days with the champion, with quantiles, and store it
  score     score every stored forecast whose days have been observed since`,
		Example: `  prevoir run ingest --source-dir testdata
  prevoir run train --models snaive,ets,theta
  prevoir run forecast
  prevoir run score`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := a.flows(cmd, &p)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			switch args[0] {
			case "ingest":
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
			case "train":
				names := p.models()
				if _, err := models.Parse(strings.Join(names, ",")); err != nil {
					return usageError{fmt.Errorf("--models: %w", err)}
				}
				rep, errs := f.Train(ctx, names, p.train)
				for _, err := range errs {
					fmt.Fprintf(a.stderr, "prevoir: %v\n", err)
				}
				if rep != nil && rep.Champion != nil {
					fmt.Fprintf(a.stdout, "champion: %s v%d (changed: %v) — %s\n", rep.Champion.Family, rep.Champion.Version, rep.Changed, rep.Decision.Reason)
				}
				var ferr error
				if rep != nil && rep.Champion != nil {
					// The served forecast is the champion's: a new one forecasts now, as after
					// the queue's training (an unchanged one has usually forecast already),
					// even when some model of the batch failed.
					ferr = a.forecastChampion(ctx, f)
				}
				if len(errs) > 0 {
					if ferr != nil {
						fmt.Fprintf(a.stderr, "prevoir: %v\n", ferr)
					}
					return fmt.Errorf("training failed for %d of %d steps", len(errs), len(names)+1)
				}
				return ferr
			case "forecast":
				rep, err := f.Forecast(ctx)
				if err != nil {
					return err
				}
				if err := printForecast(a, rep.Forecast); err != nil {
					return err
				}
				if rep.Existing {
					fmt.Fprintln(a.stdout, "(already forecast from this origin by this version: nothing recomputed)")
				}
			case "score":
				rep, err := f.Score(ctx)
				if err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "scored %d forecast days of %d forecasts; live MAE over the last %d days %s, 80%%/95%% coverage %s/%s (run %s)\n",
					rep.Days, rep.Forecasts, prevoir.LiveWindow, num(rep.LiveMAE), pct(rep.LiveCover80), pct(rep.LiveCover95), rep.RunID)
				printAlerts(a, rep.Alerts)
			default:
				return usageError{fmt.Errorf("unknown flow %q: want ingest, train, forecast or score", args[0])}
			}
			return nil
		},
	}
	p.registerFlows(cmd)
	return cmd
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
