// Package hubverse writes a forecast in the hubverse model-output format, the CSV that
// forecast hubs collect (https://hubverse.io, "Model output"; the European COVID-19 Forecast
// Hub, https://covid19forecasthub.eu, collected weekly death forecasts in its predecessor).
//
// A file has exactly the columns of Columns(), one row per target, horizon and quantile level:
//
//   - origin_date is the forecast's origin, the last day of data it saw (prevoir's origin). A
//     day's horizon h is the date origin_date+h; week N is the days origin_date+7N-6 ..
//     origin_date+7N. With a Saturday origin, week N ends N Saturdays later: the European
//     Hub's "N wk ahead" target_end_date for the forecast_date of the Monday after the origin
//     (its forecasts were made on Mondays with data up to the Saturday before).
//   - target is DailyTarget with horizon in days (1..14), or, for weekly totals,
//     WeeklyTarget(N), the European Hub's "N wk ahead inc death", with horizon N; for
//     prevoir's other targets, HubTarget's name ("inc hosp", "hosp occupancy", ...) and
//     "N wk ahead " before it. Several targets go in one file, as a hub's round collects them.
//   - location is Location; output_type is "quantile"; output_type_id is the quantile level,
//     one of the 23 of prevoir.DefaultQuantiles; value is the quantile, never negative.
//
// Hubverse validation (hubValidations' check_tbl_colnames) wants the columns to be exactly
// the hub's task IDs and the standard ones, so no target_end_date column is written: it
// follows from origin_date and horizon as above. Its check_tbl_value_col_ascending is the
// rule that quantiles do not decrease with the level.
package hubverse

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"math"
	"strconv"

	"github.com/prevoir/prevoir"
)

// Columns returns a model-output file's columns, in order: the task IDs, then the output
// representation.
func Columns() []string {
	return []string{"origin_date", "target", "horizon", "location", "output_type", "output_type_id", "value"}
}

// Location is France's location code in the hubs (ISO 3166-1 alpha-2).
const Location = "FR"

// OutputType is the only output type written: quantiles.
const OutputType = "quantile"

// DailyTarget is the daily deaths target; the horizon is in days.
const DailyTarget = "inc death"

// WeeklyTarget is the target of the total of deaths of week n after the origin.
func WeeklyTarget(n int) string { return fmt.Sprintf("%d wk ahead %s", n, DailyTarget) }

// HubTarget is the hub's name of target t's daily values: "inc death" (DailyTarget), "inc
// hosp", "inc icu", "hosp occupancy", "icu occupancy"; the target's name for any other.
func HubTarget(t prevoir.Target) string {
	switch t.Name {
	case prevoir.TargetDeaths:
		return DailyTarget
	case prevoir.TargetAdmissions:
		return "inc hosp"
	case prevoir.TargetICUAdmissions:
		return "inc icu"
	case prevoir.TargetHospitalised:
		return "hosp occupancy"
	case prevoir.TargetIntensiveCare:
		return "icu occupancy"
	}
	return t.Name
}

// Entry is one target's forecast to write.
type Entry struct {
	Target   prevoir.Target
	Forecast *prevoir.Forecast
}

// CSV returns fc, a forecast of the default target (deaths), in the model-output format (see
// TargetsCSV).
func CSV(fc *prevoir.Forecast, weekly bool) ([]byte, error) {
	t, err := prevoir.LookupTarget(prevoir.DefaultTarget)
	if err != nil {
		return nil, err
	}
	return TargetsCSV([]Entry{{Target: t, Forecast: fc}}, weekly)
}

// TargetsCSV returns the entries' forecasts in one model-output file, in order: their daily
// quantiles, or with weekly their weekly totals' own quantiles (never sums of daily
// quantiles). It fails, writing nothing, when a forecast lacks one of the hubs' 23 levels (a
// forecast stored by an earlier prevoir with 7) or, with weekly, has no weekly totals or is of
// an occupancy, whose weekly total (patient-days) is no hub's target.
func TargetsCSV(entries []Entry, weekly bool) ([]byte, error) {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.Write(Columns())
	for _, e := range entries {
		if err := writeRows(w, e, weekly); err != nil {
			return nil, err
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// writeRows writes e's rows (see TargetsCSV).
func writeRows(w *csv.Writer, e Entry, weekly bool) error {
	fc := e.Forecast
	if err := fc.Validate(); err != nil {
		return err
	}
	levels := prevoir.DefaultQuantiles()
	idx := make([]int, len(levels))
	for j, p := range levels {
		if idx[j] = fc.QuantileIndex(p); idx[j] < 0 {
			return prevoir.Errorf(prevoir.EINVALID, "the forecast of %s from %s has the %d quantile levels %v, not the hubs' %d (%v): it was made by an earlier prevoir; re-run the forecast (prevoir run forecast, once new data is ingested: a forecast from the same data is not made twice) to get them",
				fc.Model, fc.Origin, len(fc.Quantiles), fc.Quantiles, len(levels), levels)
		}
	}
	daily := HubTarget(e.Target)
	row := func(target string, horizon int, values []float64) {
		for j, p := range levels {
			// Every target counts people: a quantile below zero (a model's unclipped normal tail) is 0,
			// which keeps the quantiles non-decreasing in level.
			v := math.Max(0, values[idx[j]])
			w.Write([]string{fc.Origin.String(), target, strconv.Itoa(horizon), Location, OutputType,
				strconv.FormatFloat(p, 'f', -1, 64), strconv.FormatFloat(v, 'f', -1, 64)})
		}
	}
	if weekly {
		if e.Target.Kind == prevoir.KindOccupancy {
			return prevoir.Errorf(prevoir.EINVALID, "%s (%s) is an occupancy: its weekly total (patient-days) is no hub's target: export its daily values (without --weekly)",
				e.Target.Name, e.Target.Label)
		}
		if fc.Weekly == nil || len(fc.Weekly.Values) == 0 {
			return prevoir.Errorf(prevoir.EINVALID, "the forecast of %s from %s has no weekly totals with their own quantiles (its model does not give them), and summing daily quantiles would be wrong: export its daily targets (without --weekly)",
				fc.Model, fc.Origin)
		}
		for k, values := range fc.Weekly.Values {
			row(fmt.Sprintf("%d wk ahead %s", k+1, daily), k+1, values)
		}
	} else {
		for i, values := range fc.Values {
			row(daily, i+1, values)
		}
	}
	return nil
}
