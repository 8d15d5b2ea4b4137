package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/prevoir/prevoir/hubverse"
)

// formatHubverse is the one format forecast export writes.
const formatHubverse = "hubverse"

func (a *app) forecastExportCommand() *cobra.Command {
	var (
		tf          targetFlags
		format, out string
		weekly      bool
	)
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Write the served forecast in a forecast hub's format (hubverse model output), to stdout or -o FILE",
		Long: `Write the forecast prevoir serves (the one forecast show prints and GET /api/v1/forecast
serves) in the hubverse model-output format, ready to submit to a forecast hub: CSV columns
origin_date,target,horizon,location,output_type,output_type_id,value; location FR, output_type
quantile, output_type_id the 23 quantile levels of the hubs.

origin_date is the forecast's origin, the last observed day. Daily rows have target "inc death"
and horizon in days (the date is origin_date + horizon). With --weekly, the totals of the
forecast's whole weeks with their own quantiles: target "N wk ahead inc death", horizon N, week N
being days 7N-6 .. 7N after the origin (with a Saturday origin, the European Forecast Hub's week
ending N Saturdays later). A forecast without weekly totals, or stored by an earlier prevoir
without the 23 levels, is refused: nothing is written.

With several targets (--target all, or repeated), one file holds them all, as a hub's round
collects every target of a model in one file: the target column tells them apart, "inc death"
(incid_dchosp), "inc hosp" (incid_hosp), "inc icu" (incid_rea), "hosp occupancy" (hosp) and
"icu occupancy" (rea), in the order named; with --weekly, "N wk ahead " before the daily
counts' names. An occupancy's weekly total (patient-days) is no hub's target: --weekly refuses
hosp and rea. A target without a served forecast is an error, and nothing is written.`,
		Example: `  prevoir forecast export -o 2022-12-10-prevoir-ets.csv
  prevoir forecast export --target all -o 2022-12-10-prevoir.csv
  prevoir forecast export --target incid_dchosp,incid_hosp --weekly`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := oneOf("format", format, []string{formatHubverse}); err != nil {
				return err
			}
			ts, err := tf.targets()
			if err != nil {
				return err
			}
			db, _, err := a.stores(cmd.Context())
			if err != nil {
				return err
			}
			var entries []hubverse.Entry
			for _, t := range ts {
				fc, _, err := loadServed(cmd.Context(), db, t.Name)
				if err != nil {
					return err
				}
				// Each forecast on its own first, so that an error names the one refused.
				if _, err := hubverse.TargetsCSV([]hubverse.Entry{{Target: t, Forecast: &fc.Forecast}}, weekly); err != nil {
					return fmt.Errorf("export forecast %d (%s v%d): %w", fc.ID, fc.Model, fc.Version, err)
				}
				entries = append(entries, hubverse.Entry{Target: t, Forecast: &fc.Forecast})
			}
			b, err := hubverse.TargetsCSV(entries, weekly)
			if err != nil {
				return fmt.Errorf("export: %w", err)
			}
			if out != "" && out != "-" {
				if err := writeFileAtomic(out, b); err != nil {
					return fmt.Errorf("export: %w", err)
				}
				return nil
			}
			_, err = a.stdout.Write(b)
			return err
		},
	}
	tf.register(cmd, targetsUsage("whose served forecast is written, in one file"))
	cmd.Flags().StringVar(&format, "format", formatHubverse, "output format: "+formatHubverse)
	cmd.Flags().BoolVar(&weekly, "weekly", false, `the weekly totals ("N wk ahead inc death") instead of the days (not of an occupancy)`)
	cmd.Flags().StringVarP(&out, "output", "o", "", "write to this file (atomically) instead of stdout")
	markPerInvocation(cmd, "format", "weekly", "output")
	markReadOnly(cmd)
	return cmd
}
