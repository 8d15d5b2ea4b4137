package prevoir

import (
	"fmt"
	"strconv"
)

// CovariateForecast is a forecast of a frame column beyond the frame's last day, made by the
// champion of the target whose column it is, and handed with the frame (Frame.Ahead) to a model
// that reads the column ahead of the origin (a leading indicator: the deaths' delay model
// reads hospital admissions up to the day it forecasts). With it the deaths' forecast follows
// the admissions' forecast that prevoir serves, rather than one of its own, and the targets'
// forecasts agree.
type CovariateForecast struct {
	// Target, Version and Family name the registered model version that made it (the
	// target's name is its registry name); ForecastID is the stored forecast.
	Target     string `json:"target"`
	Version    int    `json:"version"`
	Family     string `json:"family"`
	ForecastID int64  `json:"forecast_id"`
	// Forecast holds the origin, the days, the point and the quantiles.
	Forecast
}

// CovariateForecastOf returns the stored forecast sf as a covariate forecast.
func CovariateForecastOf(sf *StoredForecast) *CovariateForecast {
	return &CovariateForecast{Target: sf.Model, Version: sf.Version, Family: sf.Family, ForecastID: sf.ID, Forecast: sf.Forecast}
}

// AheadOf returns the forecast of column beyond the frame's last day given with the frame, or
// nil when there is none from that day: a model then forecasts the column itself. A forecast
// from another origin never applies (Until drops them; this guards frames built by hand).
func (f *Frame) AheadOf(column string) *CovariateForecast {
	cf := f.Ahead[column]
	if cf == nil || f.Len() == 0 || cf.Origin != f.Dates[f.Len()-1] {
		return nil
	}
	return cf
}

// CovariateInput records, with a forecast run, where a column the model reads ahead of the
// origin was forecast: by the champion of the column's target (Forecast) or, when that has no
// forecast from the same origin, by the model itself (Forecast nil, Reason says why).
type CovariateInput struct {
	Column   string
	Forecast *CovariateForecast
	Reason   string
}

// ParamInput prefixes the run params that record a forecast run's covariate inputs:
// "input.<column>.source" is InputChampion, with ".target", ".version", ".family",
// ".forecast_id" and ".origin" naming the forecast used, or InputOwn, with ".reason". They are
// params, stored with the run like the rest of its lineage, with stable keys.
const ParamInput = "input."

// The values of an input's "source" param.
const (
	InputChampion = "champion"
	InputOwn      = "own"
)

// Params returns the run params that record the input.
func (in CovariateInput) Params() map[string]string {
	k := ParamInput + in.Column + "."
	if cf := in.Forecast; cf != nil {
		return map[string]string{k + "source": InputChampion, k + "target": cf.Target, k + "version": strconv.Itoa(cf.Version),
			k + "family": cf.Family, k + "forecast_id": strconv.FormatInt(cf.ForecastID, 10), k + "origin": cf.Origin.String()}
	}
	return map[string]string{k + "source": InputOwn, k + "reason": in.Reason}
}

// String says it in a line, for logs and messages.
func (in CovariateInput) String() string {
	if cf := in.Forecast; cf != nil {
		return fmt.Sprintf("%s forecast by %s v%d (%s), forecast %d from %s", in.Column, cf.Target, cf.Version, cf.Family, cf.ForecastID, cf.Origin)
	}
	return fmt.Sprintf("%s forecast by the model itself: %s", in.Column, in.Reason)
}
