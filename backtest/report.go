package backtest

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"
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
// res.Models (increasing MAE), the champion marked with "*". Coverages are in percent.
func WriteLeaderboard(w io.Writer, res *Result) error {
	header := []string{"model", "MAE", "RMSE", "MASE", "sMAPE", "WIS", "cov50", "cov80", "cov95", "fit s"}
	rows := [][]string{header}
	num := func(v Number, prec int) string {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return "-"
		}
		return fmt.Sprintf("%.*f", prec, float64(v))
	}
	pct := func(v Number) string {
		if math.IsNaN(float64(v)) {
			return "-"
		}
		return fmt.Sprintf("%.0f%%", 100*float64(v))
	}
	for _, m := range res.Models {
		name := m.Name
		if name == res.Champion {
			name += " *"
		}
		if m.Failures > 0 {
			name += fmt.Sprintf(" (%d failed)", m.Failures)
		}
		rows = append(rows, []string{name, num(m.MAE, 2), num(m.RMSE, 2), num(m.MASE, 3), num(m.SMAPE, 1),
			num(m.WIS, 2), pct(m.Coverage50), pct(m.Coverage80), pct(m.Coverage95), fmt.Sprintf("%.2f", m.FitSeconds)})
	}
	width := make([]int, len(header))
	for _, r := range rows {
		for i, c := range r {
			width[i] = max(width[i], len([]rune(c)))
		}
	}
	var b strings.Builder
	for _, r := range rows {
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
	p := res.Protocol
	if len(p.Origins) > 0 {
		fmt.Fprintf(&b, "%d origins %s..%s every %d days, horizon %d; * champion: %s\n",
			len(p.Origins), p.Origins[0], p.Origins[len(p.Origins)-1], p.Every, p.Horizon, res.Decision.Reason)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
