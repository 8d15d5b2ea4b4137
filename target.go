package prevoir

import (
	"slices"
	"strings"
)

// TargetKind says what a target's values are, which decides the models that suit it.
type TargetKind string

const (
	// KindDailyCount is a count of events per day (deaths, admissions): noisy, with a weekday
	// pattern from reporting, and summed over a week.
	KindDailyCount TargetKind = "daily_count"
	// KindOccupancy is a stock of patients on a day (beds occupied): smooth and strongly
	// autocorrelated, the integral of admissions minus departures.
	KindOccupancy TargetKind = "occupancy"
)

// Target is one series prevoir forecasts. Each target is its own forecasting task: it is the
// registered model of the same name in the registry (its versions, champion and aliases), and
// its runs, backtests, forecasts, live scores and alerts are recorded under that name.
type Target struct {
	// Name is the target's name on the command line, in the API and in the registry.
	Name string `json:"name"`
	// Column is the frame column forecast (a column of the indicators source).
	Column string `json:"column"`
	// Label says what it is, for a person ("new deaths in hospital").
	Label string `json:"label"`
	// Unit is the unit of a value ("deaths/day", "patients").
	Unit string     `json:"unit"`
	Kind TargetKind `json:"kind"`
}

// The targets' names.
const (
	TargetDeaths        = "incid_dchosp"
	TargetAdmissions    = "incid_hosp"
	TargetICUAdmissions = "incid_rea"
	TargetHospitalised  = "hosp"
	TargetIntensiveCare = "rea"
)

// AllTargets stands for every target where targets are named (--target all).
const AllTargets = "all"

// DefaultTarget is the series prevoir forecasts when none is named: new deaths in hospital per
// day, the original project's only target (homes made before targets keep everything under it).
const DefaultTarget = TargetDeaths

// Targets returns the targets prevoir forecasts, the default first: the indicators hospital
// planners use, from the national indicators source.
func Targets() []Target {
	return []Target{
		{Name: TargetDeaths, Column: "incid_dchosp", Label: "new deaths in hospital", Unit: "deaths/day", Kind: KindDailyCount},
		{Name: TargetAdmissions, Column: "incid_hosp", Label: "new hospital admissions", Unit: "admissions/day", Kind: KindDailyCount},
		{Name: TargetICUAdmissions, Column: "incid_rea", Label: "new intensive care admissions", Unit: "admissions/day", Kind: KindDailyCount},
		{Name: TargetHospitalised, Column: "hosp", Label: "patients in hospital", Unit: "patients", Kind: KindOccupancy},
		{Name: TargetIntensiveCare, Column: "rea", Label: "patients in intensive care", Unit: "patients", Kind: KindOccupancy},
	}
}

// TargetNames returns the targets' names, in Targets' order.
func TargetNames() []string {
	ts := Targets()
	names := make([]string, len(ts))
	for i, t := range ts {
		names[i] = t.Name
	}
	return names
}

// LookupTarget returns the target named name, or an EINVALID error listing the valid names.
func LookupTarget(name string) (Target, error) {
	for _, t := range Targets() {
		if t.Name == name {
			return t, nil
		}
	}
	return Target{}, Errorf(EINVALID, "unknown target %q: want one of %s", name, strings.Join(TargetNames(), ", "))
}

// ParseTargets returns the targets named, in the order given, each once; "all" stands for
// every target and an empty list for the default one. An unknown name is an EINVALID error
// listing the valid ones.
func ParseTargets(names []string) ([]Target, error) {
	if len(names) == 0 {
		t, _ := LookupTarget(DefaultTarget)
		return []Target{t}, nil
	}
	var out []Target
	for _, n := range names {
		n = strings.TrimSpace(n)
		if n == AllTargets {
			for _, t := range Targets() {
				if !slices.Contains(out, t) {
					out = append(out, t)
				}
			}
			continue
		}
		t, err := LookupTarget(n)
		if err != nil {
			return nil, Errorf(EINVALID, "%s (or %q for every target)", err.Error(), AllTargets)
		}
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	if len(out) == 0 {
		return nil, Errorf(EINVALID, "no target: want one of %s, or %q", strings.Join(TargetNames(), ", "), AllTargets)
	}
	return out, nil
}

// FrameOptions returns base set to forecast the target: its column is the frame's target and
// no longer a covariate (the deaths' covariates include admissions and beds, each of which is
// a target in turn).
func (t Target) FrameOptions(base FrameOptions) FrameOptions {
	base.Target = t.Column
	base.Covariates = slices.DeleteFunc(slices.Clone(base.Covariates), func(c string) bool { return c == t.Column })
	return base
}
