package backtest

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"regexp"
	"strings"

	"github.com/prevoir/prevoir"
)

// WriteJSON writes the result as indented JSON.
func WriteJSON(w io.Writer, res *Result) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", " ")
	return enc.Encode(res)
}

// ReadJSON reads a result written by WriteJSON.
func ReadJSON(r io.Reader) (*Result, error) {
	var res Result
	if err := json.NewDecoder(r).Decode(&res); err != nil {
		return nil, fmt.Errorf("backtest: read result: %w", err)
	}
	return &res, nil
}

// WriteLeaderboard writes the models' scores as an aligned text table, in the order of
// res.Models (SortModels), the champion marked with "*"; the models that failed at some
// origins come last, under a line that says they are not ranked, and the failures' reasons
// follow the table, grouped by model and error. Coverages are in percent, "-" for a model
// without intervals. Beside the daily measures are the daily WIS relative to the seasonal
// naive's and the weekly totals' relative AE, relative WIS and coverages (see ScoreWeekly).
func WriteLeaderboard(w io.Writer, res *Result) error {
	header := []string{"model", "MAE", "RMSE", "MASE", "sMAPE", "WIS", "rWIS", "cov50", "cov80", "cov95", "wk rAE", "wk rWIS", "wk cov50", "wk cov95", "fit s"}
	rows := [][]string{header}
	num := func(v prevoir.Number, prec int) string {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return "-"
		}
		return fmt.Sprintf("%.*f", prec, float64(v))
	}
	pct := func(v prevoir.Number) string {
		if math.IsNaN(float64(v)) {
			return "-"
		}
		return fmt.Sprintf("%.0f%%", 100*float64(v))
	}
	partial := 0    // row index of the first model that failed at some origins
	weekly := false // whether any model was scored on weekly totals
	for _, m := range res.Models {
		name := m.Name
		if name == res.Champion && name != "" {
			name += " *"
		}
		if m.Failures > 0 {
			name += fmt.Sprintf(" (failed at %d of %d)", m.Failures, m.Failures+m.Origins)
			if partial == 0 {
				partial = len(rows)
			}
		}
		shown := res.Shown(m)
		w, rwis := shown.Weekly, shown.RelativeWIS
		weekly = weekly || w.Weeks > 0
		rows = append(rows, []string{name, num(m.MAE, 2), num(m.RMSE, 2), num(m.MASE, 3), num(m.SMAPE, 1),
			num(m.WIS, 2), num(rwis, 3), pct(m.Coverage50), pct(m.Coverage80), pct(m.Coverage95),
			num(w.RelativeAE, 3), num(w.RelativeWIS, 3), pct(w.Coverage50), pct(w.Coverage95), fmt.Sprintf("%.2f", m.FitSeconds)})
	}
	width := make([]int, len(header))
	for _, r := range rows {
		for i, c := range r {
			width[i] = max(width[i], len([]rune(c)))
		}
	}
	var b strings.Builder
	for k, r := range rows {
		if k == partial && k > 0 {
			b.WriteString("-- not ranked: failed at some origins, scored on fewer than the models above --\n")
		}
		for i, c := range r {
			pad := strings.Repeat(" ", width[i]-len([]rune(c)))
			switch {
			case i == 0:
				b.WriteString(c + pad)
			default:
				b.WriteString("  " + pad + c)
			}
		}
		b.WriteByte('\n')
	}
	writeFailures(&b, res)
	if weekly {
		fmt.Fprintf(&b, "rWIS: daily WIS relative to %s's; wk: totals of the forecasts' whole weeks (days 1-7, 8-14, ...), "+
			"AE and WIS relative to %s (last observed week's total repeated), coverage of the weekly 50%%/95%% intervals "+
			"(\"-\": no weekly quantiles)\n", res.Reference.Daily, res.Reference.Weekly)
	}
	p := res.Protocol
	if len(p.Origins) > 0 {
		champ := "* champion: " + res.Decision.Reason
		if res.Champion == "" {
			champ = res.Decision.Reason
		}
		fmt.Fprintf(&b, "%d origins %s..%s every %d days, horizon %d; %s\n",
			len(p.Origins), p.Origins[0], p.Origins[len(p.Origins)-1], p.Every, p.Horizon, champ)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Shown returns m as a leaderboard shows it: the relative and weekly measures that the result
// has not computed are NaN (no score) rather than the zeros a result stored before relative or
// weekly scoring holds. WriteLeaderboard and the dashboard show the same numbers through it.
func (r *Result) Shown(m ModelScore) ModelScore {
	if m.Weekly.Weeks == 0 { // nothing scored weekly, or a result stored before weekly scoring
		m.Weekly = noWeeklyScore()
	}
	if r.Reference.Daily == "" { // a result stored before relative scores: 0 is no score
		m.RelativeWIS = prevoir.NaN()
	}
	return m
}

// maxFailureGroups is the number of distinct errors listed per model.
const maxFailureGroups = 3

// isoDate matches the dates inside error messages, which differ from origin to origin.
var isoDate = regexp.MustCompile(`\d{4}-\d{2}-\d{2}`)

// writeFailures lists why models failed, one line per model and error (errors that differ
// only by their dates are one error), with the number of origins and the first and last.
func writeFailures(b *strings.Builder, res *Result) {
	type group struct {
		err         string
		first, last prevoir.Date
		n           int
	}
	for _, m := range res.Models {
		if m.Failures == 0 {
			continue
		}
		var groups []*group
		byKey := map[string]*group{}
		for _, f := range res.Fits {
			if f.Model != m.Name || f.Error == "" {
				continue
			}
			k := isoDate.ReplaceAllString(f.Error, "…")
			g := byKey[k]
			if g == nil {
				g = &group{err: f.Error, first: f.Origin}
				byKey[k] = g
				groups = append(groups, g)
			}
			g.n++
			g.last = max(g.last, f.Origin)
			g.first = min(g.first, f.Origin)
		}
		total := m.Failures + m.Origins
		if len(groups) == 0 { // a result without its fits: the first error only
			fmt.Fprintf(b, "%s: %d of %d origins failed: %s\n", m.Name, m.Failures, total, m.Error)
			continue
		}
		for i, g := range groups {
			if i == maxFailureGroups {
				rest := 0
				for _, g := range groups[i:] {
					rest += g.n
				}
				fmt.Fprintf(b, "%s: %d more origins failed with %d other errors (see the JSON result)\n", m.Name, rest, len(groups)-i)
				break
			}
			when := g.first.String()
			if g.n > 1 {
				when += " to " + g.last.String()
			}
			fmt.Fprintf(b, "%s: %d of %d origins failed (%s): %s\n", m.Name, g.n, total, when, g.err)
		}
	}
}
