package prevoir

import "math"

// LiveWindow is how many of the most recent scored dates a live error covers: recent enough to
// tell how a model does now, long enough to average a week's reporting pattern out.
const LiveWindow = 14

// LiveError is the error of forecasts on the days observed since they were made, over the
// LiveWindow most recent scored dates.
type LiveError struct {
	// From and To are the first and last scored dates in the window.
	From, To Date
	// Days counts the scored dates in the window, Points the scores (a date is scored once for
	// each forecast that covers it).
	Days, Points int
	// MAE is the mean absolute error of the points, Coverage80 and Coverage95 the fractions
	// inside the 80% and 95% intervals; all NaN when there is no point.
	MAE, Coverage80, Coverage95 float64
}

// Live measures the live error of scores over the LiveWindow dates that end on the latest
// scored date: a score counts when its date is after that date minus LiveWindow. It is the one
// definition of the live error; callers choose what it measures by the scores they pass (one
// version's, or a registered model's).
func Live(scores []ForecastScore) LiveError {
	l := LiveError{MAE: math.NaN(), Coverage80: math.NaN(), Coverage95: math.NaN()}
	if len(scores) == 0 {
		return l
	}
	l.To = scores[0].Date
	for _, s := range scores {
		l.To = max(l.To, s.Date)
	}
	l.From = l.To
	days := map[Date]bool{}
	var sum, in80, in95 float64
	for _, s := range scores {
		if s.Date <= l.To-LiveWindow {
			continue
		}
		l.From = min(l.From, s.Date)
		days[s.Date] = true
		l.Points++
		sum += s.AbsError
		if s.In80 {
			in80++
		}
		if s.In95 {
			in95++
		}
	}
	n := float64(l.Points)
	l.Days, l.MAE, l.Coverage80, l.Coverage95 = len(days), sum/n, in80/n, in95/n
	return l
}
