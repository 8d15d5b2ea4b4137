package backtest

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/prevoir/prevoir"
)

// Champion rule defaults.
const (
	DefaultChampionWindow = 12   // origins: about three months of weekly origins
	DefaultChampionMargin = 0.02 // relative
	// DefaultMinCoverage80 is the lowest backtest coverage of the 80% interval a champion may
	// have: a nominal 80% interval that covers less than 60% of the days misleads its reader.
	DefaultMinCoverage80 = 0.6
)

// ChampionOptions configure the champion rule.
type ChampionOptions struct {
	// Window is the number of most recent scored origins the candidates are ranked on
	// (DefaultChampionWindow). Recent origins say more about the next weeks than old ones.
	Window int
	// Margin is the relative MAE improvement a challenger needs to replace the current
	// champion, usually DefaultChampionMargin; 0 (or less) means any improvement. It stops the
	// champion from flapping between models whose difference is noise. Unlike the other
	// options its zero is not a default: a margin of 0 is a margin of 0.
	Margin float64
	// MinCoverage80 is the lowest backtest coverage of the 80% interval a candidate may have
	// (commands default to DefaultMinCoverage80); whatever its value, a point-only model (no
	// interval) is never eligible: the served forecast carries ranges.
	MinCoverage80 float64
	// Candidates restricts the rule to these models; nil means every model.
	Candidates []string
	// Weekly ranks the candidates by their weekly relative AE over the window (the forecast
	// hubs' measure, on the weekly totals planners use; see ScoreWeekly) instead of their
	// daily MAE, when the result has weekly rows to rank on; the margin is then a relative
	// improvement of the weekly relative AE. The gate (Ineligible) is the same.
	Weekly bool
}

// Ranking measures.
const (
	MeasureMAE              = "mae"
	MeasureWeeklyRelativeAE = "weekly_relative_ae"
)

func (o ChampionOptions) withDefaults() ChampionOptions {
	if o.Window <= 0 {
		o.Window = DefaultChampionWindow
	}
	o.Margin = math.Max(o.Margin, 0)
	return o
}

// notScored is why a model scored on no observed day is not eligible.
const notScored = "no observed day to score it on"

// Ineligible says why a model with backtest score s may not be champion, "" if it may: it
// failed at some origins (it is not comparable with the models scored at all of them), it was
// scored on no observed day, it has no prediction interval, or its 80% interval covered less
// than MinCoverage80 of the days. It is the gate of the champion rule wherever a champion is
// chosen: a backtest, a training's selection, and a promotion by hand (which may override it).
func (o ChampionOptions) Ineligible(s ModelScore) string {
	switch cov := float64(s.Coverage80); {
	case s.Failures > 0:
		return fmt.Sprintf("failed at %d of %d origins", s.Failures, s.Failures+s.Origins)
	case math.IsNaN(float64(s.MAE)):
		return notScored
	case math.IsNaN(cov):
		return "point forecasts only, no prediction interval"
	case cov < o.MinCoverage80:
		return fmt.Sprintf("80%% interval covered %.0f%% of the days, below the %.0f%% minimum", 100*cov, 100*o.MinCoverage80)
	}
	return ""
}

// CheckPromotion applies the gate of the champion rule (Ineligible) to a registered version
// about to be made champion by hand, from the backtest measures it was registered with
// (ScoreOfMetrics). It refuses a version that fails the gate (ECONFLICT) unless force; with
// force it returns what the promotion overrides, for the alias change's reason and the user,
// "" when nothing is.
func CheckPromotion(v *prevoir.ModelVersion, opts ChampionOptions, force bool) (override string, err error) {
	why := opts.Ineligible(ScoreOfMetrics(v.Family, v.Metrics))
	if why == "" {
		return "", nil
	}
	if !force {
		return "", prevoir.Errorf(prevoir.ECONFLICT, "%s v%d (%s) may not be champion: %s; a forced promotion overrides the champion rule",
			v.Model, v.Version, v.Family, why)
	}
	return fmt.Sprintf("forced over the champion rule, which refuses v%d (%s): %s", v.Version, v.Family, why), nil
}

// Standing is a candidate's MAE over the champion window, and its weekly relative AE when the
// rule ranked by it.
type Standing struct {
	Name string         `json:"name"`
	MAE  prevoir.Number `json:"mae"`
	// RelativeAE is the weekly relative AE over the window's weeks (Decision.Weeks), set
	// when the rule ranks by it (Decision.Measure).
	RelativeAE *prevoir.Number `json:"weekly_relative_ae,omitempty"`
	// Excluded says why the candidate could not compete (see ChampionOptions.Ineligible), if so.
	Excluded string `json:"excluded,omitempty"`
}

// Decision is the outcome of the champion rule, with every number it used.
type Decision struct {
	// Champion is the chosen model, "" when the rule could name none (Reason says why).
	Champion string `json:"champion"`
	// Measure is what the candidates were ranked by: MeasureMAE or, with
	// ChampionOptions.Weekly, MeasureWeeklyRelativeAE.
	Measure string `json:"measure"`
	// Best is the candidate with the lowest measure over the window.
	Best string `json:"best"`
	// Current is the champion before the decision ("" if none).
	Current string `json:"current,omitempty"`
	// Changed reports whether Champion differs from Current.
	Changed bool `json:"changed"`
	// Window, From and To give the origins the candidates were ranked on; Points is the
	// number of forecast days each was scored on (the same days for every candidate).
	Window int          `json:"window"`
	From   prevoir.Date `json:"from"`
	To     prevoir.Date `json:"to"`
	Points int          `json:"points"`
	// Weeks is the number of (origin, week) totals the weekly relative AE was measured on,
	// the same for every candidate.
	Weeks  int     `json:"weeks,omitempty"`
	Margin float64 `json:"margin"`
	// MinCoverage80 is the lowest 80% interval coverage a candidate needed.
	MinCoverage80 float64 `json:"min_coverage_80"`
	// Improvement is Best's relative improvement of the measure over Current,
	// 1 − measure(best)/measure(current).
	Improvement prevoir.Number `json:"improvement"`
	// Ranking lists the candidates by increasing measure, then the excluded ones.
	Ranking []Standing `json:"ranking"`
	Reason  string     `json:"reason"`
}

// Champion applies the champion rule to a backtest result, using only its stored forecasts:
// the candidates that are not Ineligible and forecast at each of the last Window scored
// origins are ranked by MAE over those origins, on the forecast days with an actual value that
// every one of them forecast (so that all are judged on the same days), or with opts.Weekly
// by weekly relative AE on the weekly totals every one of them forecast (see rankWeekly). The best candidate
// becomes champion unless the current champion is still eligible and the best improves on its
// MAE by less than Margin (relative), in which case the current champion stays. When no
// candidate is eligible, or no forecast day of the window has been observed, there is no
// champion: the decision says why, with Champion "", and an error is returned.
func Champion(res *Result, current string, opts ChampionOptions) (Decision, error) {
	opts = opts.withDefaults()
	origins := res.Protocol.Origins
	if len(origins) == 0 {
		return Decision{Reason: "no champion: the backtest has no origins"}, fmt.Errorf("champion: the result has no origins")
	}
	window := origins[max(0, len(origins)-opts.Window):]
	d := Decision{Current: current, Window: len(window), From: window[0], To: window[len(window)-1],
		Margin: opts.Margin, MinCoverage80: opts.MinCoverage80, Improvement: prevoir.Number(math.NaN()), Measure: MeasureMAE}
	span := fmt.Sprintf("the %d origins %s to %s", d.Window, d.From, d.To)
	inWindow := func(o prevoir.Date) bool { _, ok := slices.BinarySearch(window, o); return ok }

	candidates := opts.Candidates
	if candidates == nil {
		for _, m := range res.Models {
			candidates = append(candidates, m.Name)
		}
	}
	// Which candidates forecast at every window origin, and on which days.
	type day struct {
		origin prevoir.Date
		h      int
	}
	forecast := map[string]map[day]Row{}
	for _, name := range candidates {
		forecast[name] = map[day]Row{}
	}
	for _, r := range res.Forecasts {
		if fs, ok := forecast[r.Model]; ok && inWindow(r.Origin) {
			fs[day{r.Origin, r.Horizon}] = r
		}
	}
	var eligible []string
	var excluded []Standing
	for _, name := range candidates {
		why := "no backtest score"
		if s, ok := res.Score(name); ok {
			why = opts.Ineligible(s)
		}
		if why == "" {
			seen := map[prevoir.Date]bool{}
			for k := range forecast[name] {
				seen[k.origin] = true
			}
			if len(seen) < len(window) {
				why = fmt.Sprintf("forecasts at %d of the %d origins", len(seen), len(window))
			}
		}
		if why != "" {
			excluded = append(excluded, Standing{Name: name, MAE: prevoir.Number(math.NaN()), Excluded: why})
			continue
		}
		eligible = append(eligible, name)
	}
	if len(eligible) == 0 {
		d.Ranking = excluded
		d.Reason = "no champion: no candidate is eligible (" + exclusions(excluded) + ")"
		if !slices.ContainsFunc(excluded, func(s Standing) bool { return s.Excluded != notScored }) {
			d.Reason = "no champion: no forecast day of the backtest has an observed value, so no model can be scored"
		}
		return d, fmt.Errorf("champion: %s", d.Reason)
	}
	// Days every eligible candidate forecast and that have an actual value.
	var days []day
	for k, r := range forecast[eligible[0]] {
		if math.IsNaN(float64(r.Actual)) {
			continue
		}
		all := true
		for _, name := range eligible[1:] {
			if _, ok := forecast[name][k]; !ok {
				all = false
				break
			}
		}
		if all {
			days = append(days, k)
		}
	}
	slices.SortFunc(days, func(a, b day) int {
		if a.origin != b.origin {
			return int(a.origin - b.origin)
		}
		return a.h - b.h
	})
	d.Points = len(days)
	if len(days) == 0 {
		d.Ranking = excluded
		for _, name := range eligible {
			d.Ranking = append(d.Ranking, Standing{Name: name, MAE: prevoir.Number(math.NaN())})
		}
		d.Reason = fmt.Sprintf("no champion: no forecast day of %s has an observed value, so the candidates cannot be ranked", span)
		return d, fmt.Errorf("champion: %s", d.Reason)
	}
	var ranked []Standing
	for _, name := range eligible {
		var s float64
		for _, k := range days {
			r := forecast[name][k]
			s += math.Abs(float64(r.Actual) - r.Point)
		}
		ranked = append(ranked, Standing{Name: name, MAE: prevoir.Number(s / float64(len(days)))})
	}
	value := func(s Standing) prevoir.Number { return s.MAE }
	measure := "MAE"
	span += fmt.Sprintf(" (%d forecast days)", d.Points)
	if opts.Weekly {
		if weeks := rankWeekly(res, ranked, inWindow); weeks > 0 {
			d.Measure, d.Weeks = MeasureWeeklyRelativeAE, weeks
			value = func(s Standing) prevoir.Number { return *s.RelativeAE }
			measure = "weekly relative AE"
			span = fmt.Sprintf("the %d origins %s to %s (%d weekly totals)", d.Window, d.From, d.To, weeks)
		}
	}
	slices.SortStableFunc(ranked, func(a, b Standing) int { return compareMAE(float64(value(a)), float64(value(b))) })
	d.Ranking = append(ranked, excluded...)
	best := ranked[0]
	d.Best = best.Name
	var cur *Standing
	for i := range ranked {
		if ranked[i].Name == current {
			cur = &ranked[i]
		}
	}
	switch {
	case current == "":
		d.Champion = best.Name
		d.Reason = fmt.Sprintf("no current champion; %s has the lowest %s, %.3f, over %s", best.Name, measure, value(best), span)
	case cur == nil:
		d.Champion = best.Name
		why := "not a candidate"
		if i := slices.IndexFunc(excluded, func(s Standing) bool { return s.Name == current }); i >= 0 {
			why = "not eligible: " + excluded[i].Excluded
		}
		d.Reason = fmt.Sprintf("current champion %s is %s; %s has the lowest %s, %.3f, over %s",
			current, why, best.Name, measure, value(best), span)
	case best.Name == current:
		d.Champion = current
		d.Improvement = 0
		d.Reason = fmt.Sprintf("current champion %s still has the lowest %s, %.3f, over %s", current, measure, value(best), span)
	default:
		imp := 1 - float64(value(best))/float64(value(*cur))
		d.Improvement = prevoir.Number(imp)
		if imp > opts.Margin {
			d.Champion = best.Name
			d.Reason = fmt.Sprintf("%s has the lowest %s, %.3f, over %s: %.1f%% better than current champion %s (%.3f), more than the %.1f%% margin",
				best.Name, measure, value(best), span, 100*imp, current, value(*cur), 100*opts.Margin)
		} else {
			d.Champion = current
			d.Reason = fmt.Sprintf("%s has the lowest %s, %.3f, over %s, but is only %.1f%% better than current champion %s (%.3f), within the %.1f%% margin: %s stays",
				best.Name, measure, value(best), span, 100*imp, current, value(*cur), 100*opts.Margin, current)
		}
	}
	if len(excluded) > 0 {
		d.Reason += "; not eligible: " + exclusions(excluded)
	}
	d.Changed = d.Champion != current
	return d, nil
}

// rankWeekly sets the weekly relative AE of each ranked candidate over the window's weeks
// (origins for which inWindow holds) that every one of them forecast, that were observed and
// that the reference forecast too, and returns their number; 0 (nothing set) when there is no
// such week. Over common weeks the reference's AE is common too, so the relative AE ranks as
// the weekly AE does and reads on the hubs' scale.
func rankWeekly(res *Result, ranked []Standing, inWindow func(prevoir.Date) bool) int {
	rows := map[string]map[weekKey]WeeklyRow{}
	for _, s := range ranked {
		rows[s.Name] = map[weekKey]WeeklyRow{}
	}
	for _, r := range res.Weekly {
		if m, ok := rows[r.Model]; ok && inWindow(r.Origin) {
			m[weekKey{r.Origin, r.Week}] = r
		}
	}
	var weeks []WeeklyRow // the reference's rows of the common weeks
	for _, r := range res.Reference.WeeklyRows {
		if !inWindow(r.Origin) || math.IsNaN(float64(r.Actual)) {
			continue
		}
		all := true
		for _, s := range ranked {
			if _, ok := rows[s.Name][weekKey{r.Origin, r.Week}]; !ok {
				all = false
				break
			}
		}
		if all {
			weeks = append(weeks, r)
		}
	}
	if len(weeks) == 0 {
		return 0
	}
	for i, s := range ranked {
		mine := make([]WeeklyRow, len(weeks))
		for k, r := range weeks {
			mine[k] = rows[s.Name][weekKey{r.Origin, r.Week}]
		}
		v := ScoreWeekly(mine, weeks, nil).RelativeAE
		ranked[i].RelativeAE = &v
	}
	return len(weeks)
}

// exclusions lists excluded candidates with their reasons.
func exclusions(ss []Standing) string {
	parts := make([]string, len(ss))
	for i, s := range ss {
		parts[i] = s.Name + " (" + s.Excluded + ")"
	}
	return strings.Join(parts, ", ")
}

// String returns the decision's reason followed by the ranking, for logs and terminals.
func (d Decision) String() string {
	var b strings.Builder
	name := d.Champion
	if name == "" {
		name = "none"
	}
	fmt.Fprintf(&b, "champion: %s — %s\n", name, d.Reason)
	for i, s := range d.Ranking {
		if s.Excluded != "" {
			fmt.Fprintf(&b, "  -  %s: excluded (%s)\n", s.Name, s.Excluded)
			continue
		}
		if s.RelativeAE != nil {
			fmt.Fprintf(&b, "  %2d %s: weekly relative AE %.3f, MAE %.3f\n", i+1, s.Name, *s.RelativeAE, s.MAE)
			continue
		}
		fmt.Fprintf(&b, "  %2d %s: MAE %.3f\n", i+1, s.Name, s.MAE)
	}
	return b.String()
}
