package main

import (
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/prevoir/prevoir"
)

// printForecast prints a stored forecast: one row per day with the point and the quantiles,
// then, when the model gave them, one row per whole week with its total and the total's own
// quantiles.
func printForecast(a *app, fc *prevoir.StoredForecast) error {
	fmt.Fprintf(a.stdout, "Forecast of %s from %s (last observed day), made %s by %s v%d (%s), run %s\n",
		fc.Model, fc.Origin, shortTime(fc.MadeAt), fc.Model, fc.Version, fc.Family, fc.RunID)
	levels := make([]string, len(fc.Quantiles))
	for j, q := range fc.Quantiles {
		levels[j] = "Q" + strconv.FormatFloat(q, 'f', -1, 64)
	}
	// deaths prints a forecast value with one decimal (num, with two, is for errors).
	deaths := func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }
	t := newTable(a.stdout)
	t.row(append([]string{"DATE", "POINT"}, levels...)...)
	for i, d := range fc.Dates {
		row := []string{d.String(), deaths(fc.Point[i])}
		for _, v := range fc.Values[i] {
			row = append(row, deaths(v))
		}
		t.row(row...)
	}
	if err := t.flush(); err != nil {
		return err
	}
	if fc.Weekly == nil {
		return nil
	}
	fmt.Fprintf(a.stdout, "\nWeekly totals (week N: days %d(N-1)+1 .. %dN after %s), with their own quantiles\n", prevoir.WeekDays, prevoir.WeekDays, fc.Origin)
	t = newTable(a.stdout)
	t.row(append([]string{"WEEK", "FROM", "TO", "POINT"}, levels...)...)
	for w, p := range fc.Weekly.Point {
		from, to := fc.WeekSpan(w)
		row := []string{strconv.Itoa(w + 1), from.String(), to.String(), deaths(p)}
		for _, v := range fc.Weekly.Values[w] {
			row = append(row, deaths(v))
		}
		t.row(row...)
	}
	return t.flush()
}

func (a *app) forecastCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "forecast",
		Short: "Show stored forecasts",
	}
	var (
		p      pipelineFlags
		asJSON bool
	)
	show := &cobra.Command{
		Use:   "show",
		Short: "Print the served forecast, the champion's from the latest origin: one row per day with the point forecast and the quantiles",
		Long: `Print the forecast prevoir serves (as GET /api/v1/forecast does): the champion's forecast
from the latest origin. Right after a promotion or a training, while the new champion's
forecast is pending, it is the previous champion's, marked as not the champion's
("is_champion": false in --json, with a note).`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			db, _, err := a.stores(cmd.Context())
			if err != nil {
				return err
			}
			fc, champ, err := loadServed(cmd.Context(), db, p.registeredModel)
			if err != nil {
				return err
			}
			note := prevoir.PendingNote(fc, champ)
			if asJSON {
				return a.printJSON(servedJSON{StoredForecast: fc, IsChampion: champ != nil && champ.Version == fc.Version, Note: note})
			}
			if err := printForecast(a, fc); err != nil {
				return err
			}
			if note != "" {
				fmt.Fprintf(a.stdout, "Not the champion's forecast: %s.\n", note)
			}
			return nil
		},
	}
	show.Flags().StringVar(&p.registeredModel, "registered-model", prevoir.DefaultTarget, "name of the forecasting task in the model registry")
	show.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	markPerInvocation(show, "json")
	markReadOnly(show)
	cmd.AddCommand(show, a.forecastExportCommand())
	return cmd
}
