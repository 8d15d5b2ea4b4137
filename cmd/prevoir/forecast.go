package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/prevoir/prevoir"
)

// printForecast prints a stored forecast of target: one row per day with the point and the
// quantiles, then, when the model gave them, one row per whole week with its total and the
// total's own quantiles (not for an occupancy, whose weekly total, patient-days, no one plans
// with).
func printForecast(a *app, target prevoir.Target, fc *prevoir.StoredForecast) error {
	fmt.Fprintf(a.stdout, "Forecast of %s from %s (last observed day), made %s by %s v%d (%s), run %s\n",
		fc.Model, fc.Origin, shortTime(fc.MadeAt), fc.Model, fc.Version, fc.Family, fc.RunID)
	levels := make([]string, len(fc.Quantiles))
	for j, q := range fc.Quantiles {
		levels[j] = "Q" + strconv.FormatFloat(q, 'f', -1, 64)
	}
	// value prints a forecast value with one decimal (num, with two, is for errors).
	value := func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }
	t := newTable(a.stdout)
	t.row(append([]string{"DATE", "POINT"}, levels...)...)
	for i, d := range fc.Dates {
		row := []string{d.String(), value(fc.Point[i])}
		for _, v := range fc.Values[i] {
			row = append(row, value(v))
		}
		t.row(row...)
	}
	if err := t.flush(); err != nil {
		return err
	}
	if fc.Weekly == nil || target.Kind == prevoir.KindOccupancy {
		return nil
	}
	fmt.Fprintf(a.stdout, "\nWeekly totals (week N: days %d(N-1)+1 .. %dN after %s), with their own quantiles\n", prevoir.WeekDays, prevoir.WeekDays, fc.Origin)
	t = newTable(a.stdout)
	t.row(append([]string{"WEEK", "FROM", "TO", "POINT"}, levels...)...)
	for w, p := range fc.Weekly.Point {
		from, to := fc.WeekSpan(w)
		row := []string{strconv.Itoa(w + 1), from.String(), to.String(), value(p)}
		for _, v := range fc.Weekly.Values[w] {
			row = append(row, value(v))
		}
		t.row(row...)
	}
	return t.flush()
}

// served is forecast show's JSON of target t: its served forecast fc with its champion, or,
// when there is none (err), the note saying why.
func served(t prevoir.Target, fc *prevoir.StoredForecast, champ *prevoir.ModelVersion, err error) servedJSON {
	if err != nil {
		return servedJSON{Target: t.Name, Note: err.Error()}
	}
	return servedJSON{StoredForecast: fc, Target: t.Name, IsChampion: champ != nil && champ.Version == fc.Version, Note: prevoir.PendingNote(fc, champ)}
}

// printServed prints target t's served forecast fc, as JSON or as a table with a note when it
// is not the champion's.
func (a *app) printServed(t prevoir.Target, fc *prevoir.StoredForecast, champ *prevoir.ModelVersion, asJSON bool) error {
	s := served(t, fc, champ, nil)
	if asJSON {
		return a.printJSON(s)
	}
	if err := printForecast(a, t, fc); err != nil {
		return err
	}
	if s.Note != "" {
		fmt.Fprintf(a.stdout, "Not the champion's forecast: %s.\n", s.Note)
	}
	return nil
}

func (a *app) forecastCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "forecast",
		Short: "Show stored forecasts",
	}
	var (
		tf     targetFlags
		asJSON bool
	)
	show := &cobra.Command{
		Use:   "show",
		Short: "Print the served forecast, the champion's from the latest origin: one row per day with the point forecast and the quantiles",
		Long: `Print the forecast prevoir serves (as GET /api/v1/forecast does): the champion's forecast
from the latest origin. Right after a promotion or a training, while the new champion's
forecast is pending, it is the previous champion's, marked as not the champion's
("is_champion": false in --json, with a note).

With several targets (--target all, or repeated), one block per target, headed by its name,
label and unit; --json then prints an object keyed by target name whose values are the single
target's output (a target without a forecast has only "target" and a "note" saying why). A
target without a forecast makes the command exit non-zero, after the others are printed.`,
		Example: `  prevoir forecast show
  prevoir forecast show --target hosp --json
  prevoir forecast show --target all`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ts, err := tf.targets()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			db, _, err := a.stores(ctx)
			if err != nil {
				return err
			}
			if len(ts) == 1 {
				fc, champ, err := loadServed(ctx, db, ts[0].Name)
				if err != nil {
					return err
				}
				return a.printServed(ts[0], fc, champ, asJSON)
			}
			byTarget := map[string]servedJSON{}
			var missing []string
			for i, t := range ts {
				fc, champ, err := loadServed(ctx, db, t.Name)
				if err != nil && prevoir.ErrorCode(err) != prevoir.ENOTFOUND {
					return err
				}
				if err != nil {
					missing = append(missing, t.Name)
				}
				if asJSON {
					byTarget[t.Name] = served(t, fc, champ, err)
					continue
				}
				if i > 0 {
					fmt.Fprintln(a.stdout)
				}
				fmt.Fprintln(a.stdout, heading(t))
				if err != nil {
					fmt.Fprintln(a.stdout, err)
					continue
				}
				if err := a.printServed(t, fc, champ, false); err != nil {
					return err
				}
			}
			if asJSON {
				if err := a.printJSON(byTarget); err != nil {
					return err
				}
			}
			if len(missing) > 0 {
				return prevoir.Errorf(prevoir.ENOTFOUND, "no forecast served for %s (see above)", strings.Join(missing, ", "))
			}
			return nil
		},
	}
	tf.register(show, targetsUsage("whose served forecast is printed"))
	show.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	markPerInvocation(show, "json")
	markReadOnly(show)
	cmd.AddCommand(show, a.forecastExportCommand())
	return cmd
}
