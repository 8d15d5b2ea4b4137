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
	// Candidates restricts the rule to these models; nil means every model.
	Candidates []string
}

func (o ChampionOptions) withDefaults() ChampionOptions {
	if o.Window <= 0 {
		o.Window = DefaultChampionWindow
	}
	o.Margin = math.Max(o.Margin, 0)
	return o
}

// Standing is a candidate's MAE over the champion window.
type Standing struct {
	Name string `json:"name"`
	MAE  Number `json:"mae"`
	// Excluded says why the candidate could not compete (a failed origin), if so.
	Excluded string `json:"excluded,omitempty"`
}

// Decision is the outcome of the champion rule, with every number it used.
type Decision struct {
	Champion string `json:"champion"`
	// Best is the candidate with the lowest MAE over the window.
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
	Margin float64      `json:"margin"`
	// Improvement is Best's relative MAE improvement over Current, 1 − MAE(best)/MAE(current).
	Improvement Number `json:"improvement"`
	// Ranking lists the candidates by increasing MAE.
	Ranking []Standing `json:"ranking"`
	Reason  string     `json:"reason"`
}

// Champion applies the champion rule to a backtest result, using only its stored forecasts:
// rank the candidates by MAE over the last Window scored origins, on the forecast days with an
// actual value that every eligible candidate forecast (so that all are judged on the same
// days); a candidate that failed at one of those origins is excluded. The best candidate
// becomes champion unless the current champion is still eligible and the best improves on its
// MAE by less than Margin (relative), in which case the current champion stays.
func Champion(res *Result, current string, opts ChampionOptions) (Decision, error) {
	opts = opts.withDefaults()
	origins := res.Protocol.Origins
	if len(origins) == 0 {
		return Decision{}, fmt.Errorf("champion: the result has no origins")
	}
	window := origins[max(0, len(origins)-opts.Window):]
	d := Decision{Current: current, Window: len(window), From: window[0], To: window[len(window)-1],
		Margin: opts.Margin, Improvement: Number(math.NaN())}
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
	for _, name := range candidates {
		seen := map[prevoir.Date]bool{}
		for k := range forecast[name] {
			seen[k.origin] = true
		}
		if len(seen) < len(window) {
			d.Ranking = append(d.Ranking, Standing{Name: name, MAE: Number(math.NaN()),
				Excluded: fmt.Sprintf("forecasts at %d of the %d origins", len(seen), len(window))})
			continue
		}
		eligible = append(eligible, name)
	}
	if len(eligible) == 0 {
		d.Champion = current
		d.Reason = "no candidate forecast at every origin of the window; the champion is unchanged"
		return d, fmt.Errorf("champion: no eligible candidate")
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
	var ranked []Standing
	for _, name := range eligible {
		var s float64
		for _, k := range days {
			r := forecast[name][k]
			s += math.Abs(float64(r.Actual) - r.Point)
		}
		mae := math.NaN()
		if len(days) > 0 {
			mae = s / float64(len(days))
		}
		ranked = append(ranked, Standing{Name: name, MAE: Number(mae)})
	}
	slices.SortStableFunc(ranked, func(a, b Standing) int { return compareMAE(float64(a.MAE), float64(b.MAE)) })
	d.Ranking = append(ranked, d.Ranking...)
	best := ranked[0]
	d.Best = best.Name
	span := fmt.Sprintf("the %d origins %s to %s (%d forecast days)", d.Window, d.From, d.To, d.Points)
	if math.IsNaN(float64(best.MAE)) {
		d.Champion = current
		if current == "" {
			d.Champion = best.Name
		}
		d.Reason = fmt.Sprintf("no actual value yet over %s; champion %q unchanged", span, d.Champion)
		d.Changed = d.Champion != current
		return d, nil
	}
	var cur *Standing
	for i := range ranked {
		if ranked[i].Name == current {
			cur = &ranked[i]
		}
	}
	switch {
	case current == "":
		d.Champion = best.Name
		d.Reason = fmt.Sprintf("no current champion; %s has the lowest MAE, %.3f, over %s", best.Name, best.MAE, span)
	case cur == nil:
		d.Champion = best.Name
		d.Reason = fmt.Sprintf("current champion %s is not an eligible candidate over %s; %s has the lowest MAE, %.3f",
			current, span, best.Name, best.MAE)
	case best.Name == current:
		d.Champion = current
		d.Improvement = 0
		d.Reason = fmt.Sprintf("current champion %s still has the lowest MAE, %.3f, over %s", current, best.MAE, span)
	default:
		imp := 1 - float64(best.MAE)/float64(cur.MAE)
		d.Improvement = Number(imp)
		if imp > opts.Margin {
			d.Champion = best.Name
			d.Reason = fmt.Sprintf("%s has the lowest MAE, %.3f, over %s: %.1f%% better than current champion %s (%.3f), more than the %.1f%% margin",
				best.Name, best.MAE, span, 100*imp, current, cur.MAE, 100*opts.Margin)
		} else {
			d.Champion = current
			d.Reason = fmt.Sprintf("%s has the lowest MAE, %.3f, over %s, but is only %.1f%% better than current champion %s (%.3f), within the %.1f%% margin: %s stays",
				best.Name, best.MAE, span, 100*imp, current, cur.MAE, 100*opts.Margin, current)
		}
	}
	d.Changed = d.Champion != current
	return d, nil
}

// String returns the decision's reason followed by the ranking, for logs and terminals.
func (d Decision) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "champion: %s — %s\n", d.Champion, d.Reason)
	for i, s := range d.Ranking {
		if s.Excluded != "" {
			fmt.Fprintf(&b, "  -  %s: excluded (%s)\n", s.Name, s.Excluded)
			continue
		}
		fmt.Fprintf(&b, "  %2d %s: MAE %.3f\n", i+1, s.Name, s.MAE)
	}
	return b.String()
}
