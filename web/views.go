package web

import (
	"bytes"
	"cmp"
	"math"
	"slices"
	"time"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/backtest"
)

// This file holds the shapes of the API's JSON answers (the same values feed the pages) and
// the pure functions that build them from what the stores returned.

// ErrorResponse is the body of every error answer of the API.
type ErrorResponse struct {
	Error string `json:"error"`
	// Code is one of prevoir's error codes: "not_found", "invalid", "conflict", "unavailable",
	// "internal", or "unauthorized", "forbidden", "rate_limited", "method_not_allowed",
	// "misdirected", "disabled".
	Code string `json:"code"`
	// ErrorID is set on an internal error: the server logged the details under this id, and
	// the message says only what failed.
	ErrorID string `json:"error_id,omitempty"`
}

// ForecastDay is one forecast day. Quantiles are at ForecastResponse.QuantileLevels; the named
// bounds are those of the central 50%, 80% and 95% ranges (null when the forecast lacks them).
type ForecastDay struct {
	Date      prevoir.Date     `json:"date"`
	Horizon   int              `json:"horizon"`
	Point     prevoir.Number   `json:"point"`
	Quantiles []prevoir.Number `json:"quantiles"`
	Bands
}

// ForecastResponse is GET /api/v1/forecast: the served forecast of the registered model, the
// champion's from the latest origin (prevoir.ForecastStore.ServedForecast).
type ForecastResponse struct {
	RegisteredModel string `json:"registered_model"`
	Version         int    `json:"version"`
	Family          string `json:"family"`
	// IsChampion says whether the version that made it is the champion now. When it is not,
	// the champion was promoted or chosen since and its forecast is pending: Note says so.
	IsChampion bool      `json:"is_champion"`
	Note       string    `json:"note,omitempty"`
	RunID      string    `json:"run_id"`
	MadeAt     time.Time `json:"made_at"`
	// Origin is the last day of data the forecast saw.
	Origin  prevoir.Date `json:"origin"`
	Target  string       `json:"target"`
	Horizon int          `json:"horizon"`
	// Snapshots are the SHA-256 of the data snapshots it was made from, by source.
	Snapshots      map[string]string `json:"snapshots"`
	QuantileLevels []float64         `json:"quantile_levels"`
	Days           []ForecastDay     `json:"days"`
	// Weeks are the totals of the forecast's whole weeks with their own quantiles, when the
	// model gives them (omitted otherwise).
	Weeks []ForecastWeek `json:"weeks,omitempty"`
}

// ForecastWeek is the total of one whole week of a forecast: Week 1 is days 1-7 after the
// origin (the hubs' "1 wk ahead" with a Saturday origin). Its quantiles, at
// ForecastResponse.QuantileLevels, are the model's for the total, not sums of daily quantiles.
type ForecastWeek struct {
	Week      int              `json:"week"`
	From      prevoir.Date     `json:"from"`
	To        prevoir.Date     `json:"to"`
	Point     prevoir.Number   `json:"point"`
	Quantiles []prevoir.Number `json:"quantiles"`
	Bands
}

// Bands are the bounds of a forecast's central 50%, 80% and 95% ranges (null when the
// forecast lacks them); embedded, so that JSON has them at the top level of a day or a week.
type Bands struct {
	Lower50 prevoir.Number `json:"lower_50"`
	Upper50 prevoir.Number `json:"upper_50"`
	Lower80 prevoir.Number `json:"lower_80"`
	Upper80 prevoir.Number `json:"upper_80"`
	Lower95 prevoir.Number `json:"lower_95"`
	Upper95 prevoir.Number `json:"upper_95"`
}

// bands returns the Bands of the central ranges that at gives (Forecast.Interval or
// Forecast.WeekInterval of one day or week).
func bands(at func(coverage float64) (lo, hi float64, ok bool)) Bands {
	var b Bands
	b.Lower50, b.Upper50 = interval(at(0.5))
	b.Lower80, b.Upper80 = interval(at(0.8))
	b.Lower95, b.Upper95 = interval(at(0.95))
	return b
}

func interval(lo, hi float64, ok bool) (prevoir.Number, prevoir.Number) {
	if !ok {
		return prevoir.NaN(), prevoir.NaN()
	}
	return prevoir.Number(lo), prevoir.Number(hi)
}

func numbers(x []float64) []prevoir.Number {
	out := make([]prevoir.Number, len(x))
	for i, v := range x {
		out[i] = prevoir.Number(v)
	}
	return out
}

func forecastResponse(sf *prevoir.StoredForecast, champion *prevoir.ModelVersion, target string) *ForecastResponse {
	r := &ForecastResponse{
		RegisteredModel: sf.Model, Version: sf.Version, Family: sf.Family, RunID: sf.RunID, MadeAt: sf.MadeAt,
		Origin: sf.Origin, Target: target, Horizon: len(sf.Dates), Snapshots: sf.Snapshots,
		QuantileLevels: sf.Quantiles, IsChampion: champion != nil && champion.Version == sf.Version, Note: prevoir.PendingNote(sf, champion),
	}
	if r.Snapshots == nil {
		r.Snapshots = map[string]string{}
	}
	fc := &sf.Forecast
	for i, d := range sf.Dates {
		r.Days = append(r.Days, ForecastDay{Date: d, Horizon: i + 1, Point: prevoir.Number(sf.Point[i]), Quantiles: numbers(sf.Values[i]),
			Bands: bands(func(c float64) (float64, float64, bool) { return fc.Interval(i, c) })})
	}
	if sf.Weekly != nil {
		for w := range sf.Weekly.Point {
			from, to := fc.WeekSpan(w)
			r.Weeks = append(r.Weeks, ForecastWeek{Week: w + 1, From: from, To: to,
				Point: prevoir.Number(sf.Weekly.Point[w]), Quantiles: numbers(sf.Weekly.Values[w]),
				Bands: bands(func(c float64) (float64, float64, bool) { return fc.WeekInterval(w, c) })})
		}
	}
	return r
}

// TargetSummary is a target at a glance: GET /api/v1/targets and the home page's lines.
type TargetSummary struct {
	prevoir.Target
	// LastDate and LastValue are the target's last observed day and value (omitted and null
	// before any data).
	LastDate  prevoir.Date   `json:"last_date,omitzero"`
	LastValue prevoir.Number `json:"last_value"`
	// Champion is the version whose forecasts are served (null before one is chosen).
	Champion *ChampionSummary `json:"champion"`
	// NextWeek is the served forecast's first week (days 1 to 7 after its origin) in one
	// number: the total of a daily count, the mean of an occupancy's days (null before a
	// forecast). NextWeekStat says which: "total" or "mean".
	NextWeek     *WeekFigure `json:"next_week"`
	NextWeekStat string      `json:"next_week_stat"`
	// PastWeek is the same number over the seven observed days that end on the forecast's
	// origin, and Trend compares NextWeek with it: "up" or "down" beyond TrendThreshold,
	// "flat" within it (empty when either is missing).
	PastWeek *WeekFigure `json:"past_week"`
	Trend    string      `json:"trend,omitempty"`
	// Change is NextWeek over PastWeek minus one (null when either is missing or PastWeek is 0).
	Change prevoir.Number `json:"change"`
}

// ChampionSummary names a target's champion.
type ChampionSummary struct {
	Version int    `json:"version"`
	Family  string `json:"family"`
}

// WeekFigure is a week's total or mean and the days it covers.
type WeekFigure struct {
	From  prevoir.Date   `json:"from"`
	To    prevoir.Date   `json:"to"`
	Value prevoir.Number `json:"value"`
}

// TrendThreshold is the relative change between the past week and the next one below which a
// target's trend is "flat": smaller moves are within a week's usual noise.
const TrendThreshold = 0.05

// TargetsResponse is GET /api/v1/targets: the served targets in the configured order, each
// with its summary, and the one served when a request names none.
type TargetsResponse struct {
	Default string          `json:"default"`
	Targets []TargetSummary `json:"targets"`
}

// weekStat is how a target's week is summed up in one number: the total of a daily count (the
// hubs' weekly target), the mean of an occupancy (a stock of patients does not add up over days).
func weekStat(k prevoir.TargetKind) string {
	if k == prevoir.KindOccupancy {
		return "mean"
	}
	return "total"
}

// weekFigure is the total or mean (stat) of the week's values; NaN days are left out of a
// mean, and make a total missing.
func weekFigure(dates []prevoir.Date, vals []float64, stat string) *WeekFigure {
	if len(vals) == 0 {
		return nil
	}
	sum, n := 0.0, 0
	for _, v := range vals {
		if math.IsNaN(v) {
			continue
		}
		sum += v
		n++
	}
	w := &WeekFigure{From: dates[0], To: dates[len(dates)-1], Value: prevoir.NaN()}
	switch {
	case n == 0:
	case stat == "mean":
		w.Value = prevoir.Number(sum / float64(n))
	case n == len(vals):
		w.Value = prevoir.Number(sum)
	}
	return w
}

// trend compares next with past: up, down or flat (TrendThreshold), and the relative change.
func trend(past, next *WeekFigure) (string, prevoir.Number) {
	if past == nil || next == nil || !past.Value.Valid() || !next.Value.Valid() {
		return "", prevoir.NaN()
	}
	p, n := float64(past.Value), float64(next.Value)
	change := prevoir.NaN()
	if p != 0 {
		change = prevoir.Number(n/p - 1)
	}
	switch {
	case n > p*(1+TrendThreshold):
		return "up", change
	case n < p*(1-TrendThreshold):
		return "down", change
	}
	return "flat", change
}

// targetSummary sums up the state's target from the frame and the served forecast.
func (st *state) targetSummary() TargetSummary {
	sum := TargetSummary{Target: st.t, LastValue: prevoir.NaN(), Change: prevoir.NaN(), NextWeekStat: weekStat(st.t.Kind)}
	var vals []float64
	if st.frame != nil {
		vals = st.frame.Column(st.target)
	}
	for i := len(vals) - 1; i >= 0; i-- {
		if !math.IsNaN(vals[i]) {
			sum.LastDate, sum.LastValue = st.frame.Dates[i], prevoir.Number(vals[i])
			break
		}
	}
	if st.champion != nil {
		sum.Champion = &ChampionSummary{Version: st.champion.Version, Family: st.champion.Family}
	}
	sf := st.served
	if sf == nil || len(sf.Dates) < prevoir.WeekDays {
		return sum
	}
	sum.NextWeek = weekFigure(sf.Dates[:prevoir.WeekDays], sf.Point[:prevoir.WeekDays], sum.NextWeekStat)
	if sum.NextWeekStat == "total" && sf.Weekly != nil && len(sf.Weekly.Point) > 0 {
		sum.NextWeek.Value = prevoir.Number(sf.Weekly.Point[0]) // the model's own total, as the week's table shows
	}
	// The past week: the seven days that end on the origin, as observed now.
	if vals != nil {
		if end := slices.Index(st.frame.Dates, sf.Origin); end >= prevoir.WeekDays-1 {
			sum.PastWeek = weekFigure(st.frame.Dates[end-prevoir.WeekDays+1:end+1], vals[end-prevoir.WeekDays+1:end+1], sum.NextWeekStat)
		}
	}
	sum.Trend, sum.Change = trend(sum.PastWeek, sum.NextWeek)
	return sum
}

// HistoryDay is one observed day of the target; Value is null where the source has a gap.
type HistoryDay struct {
	Date  prevoir.Date   `json:"date"`
	Value prevoir.Number `json:"value"`
}

// HistoryResponse is GET /api/v1/history: the observed target over a span.
type HistoryResponse struct {
	Target string `json:"target"`
	// From and To are the first and last day of Days. When no day matches, they are the span
	// asked for: null for an open end, and for a span counted back from the last day when
	// there is no data.
	From *prevoir.Date `json:"from"`
	To   *prevoir.Date `json:"to"`
	Days []HistoryDay  `json:"days"`
	// Sources are the snapshots the series comes from.
	Sources []prevoir.FrameSource `json:"sources"`
}

// PastForecastDay is a forecast day and, once observed, what happened.
type PastForecastDay struct {
	Date     prevoir.Date   `json:"date"`
	Horizon  int            `json:"horizon"`
	Point    prevoir.Number `json:"point"`
	Lower80  prevoir.Number `json:"lower_80"`
	Upper80  prevoir.Number `json:"upper_80"`
	Lower95  prevoir.Number `json:"lower_95"`
	Upper95  prevoir.Number `json:"upper_95"`
	Actual   prevoir.Number `json:"actual"`
	AbsError prevoir.Number `json:"abs_error"`
}

// PastForecast is a stored forecast with its realised error over its scored days.
type PastForecast struct {
	ID         int64             `json:"id"`
	Version    int               `json:"version"`
	Family     string            `json:"family"`
	RunID      string            `json:"run_id"`
	Origin     prevoir.Date      `json:"origin"`
	MadeAt     time.Time         `json:"made_at"`
	Horizon    int               `json:"horizon"`
	ScoredDays int               `json:"scored_days"`
	MAE        prevoir.Number    `json:"mae"`
	Coverage80 prevoir.Number    `json:"coverage_80"`
	Coverage95 prevoir.Number    `json:"coverage_95"`
	Days       []PastForecastDay `json:"days"`
}

// ForecastsResponse is GET /api/v1/forecasts: past forecasts, latest origin first.
type ForecastsResponse struct {
	RegisteredModel string         `json:"registered_model"`
	Forecasts       []PastForecast `json:"forecasts"`
}

func pastForecasts(fcs []*prevoir.StoredForecast, scores []prevoir.ForecastScore) []PastForecast {
	byForecast := map[int64]map[prevoir.Date]prevoir.ForecastScore{}
	for _, s := range scores {
		m := byForecast[s.ForecastID]
		if m == nil {
			m = map[prevoir.Date]prevoir.ForecastScore{}
			byForecast[s.ForecastID] = m
		}
		m[s.Date] = s
	}
	out := make([]PastForecast, 0, len(fcs))
	for _, f := range fcs {
		pf := PastForecast{ID: f.ID, Version: f.Version, Family: f.Family, RunID: f.RunID, Origin: f.Origin, MadeAt: f.MadeAt, Horizon: len(f.Dates)}
		var sum, in80, in95 float64
		for i, d := range f.Dates {
			day := PastForecastDay{Date: d, Horizon: i + 1, Point: prevoir.Number(f.Point[i]), Actual: prevoir.NaN(), AbsError: prevoir.NaN()}
			day.Lower80, day.Upper80 = interval(f.Interval(i, 0.8))
			day.Lower95, day.Upper95 = interval(f.Interval(i, 0.95))
			if s, ok := byForecast[f.ID][d]; ok {
				day.Actual, day.AbsError = prevoir.Number(s.Actual), prevoir.Number(s.AbsError)
				pf.ScoredDays++
				sum += s.AbsError
				if s.In80 {
					in80++
				}
				if s.In95 {
					in95++
				}
			}
			pf.Days = append(pf.Days, day)
		}
		pf.MAE, pf.Coverage80, pf.Coverage95 = prevoir.NaN(), prevoir.NaN(), prevoir.NaN()
		if n := float64(pf.ScoredDays); n > 0 {
			pf.MAE, pf.Coverage80, pf.Coverage95 = prevoir.Number(sum/n), prevoir.Number(in80/n), prevoir.Number(in95/n)
		}
		out = append(out, pf)
	}
	return out
}

// BacktestModel is one model's line of the backtest leaderboard: its score as the backtest
// stored it (backtest.ModelScore, as backtest.Result.Shown shows it) and whether the backtest's
// champion rule chose it.
type BacktestModel struct {
	backtest.ModelScore
	Champion bool `json:"champion"`
}

// Tried counts the origins the model was backtested on, failed ones included.
func (m BacktestModel) Tried() int { return m.Origins + m.Failures }

// Backtest is the latest finished backtest run's leaderboard.
type Backtest struct {
	RunID    string    `json:"run_id"`
	EndedAt  time.Time `json:"ended_at"`
	Champion string    `json:"champion"`
	// Models are in the order of backtest.SortModels, as the command line's leaderboard.
	Models []BacktestModel `json:"models"`
	// Relative and Weekly say whether any model has a relative daily WIS and weekly scores,
	// so that the page shows their columns.
	Relative bool `json:"-"`
	Weekly   bool `json:"-"`
}

// parseBacktest reads a backtest.json artifact (backtest.WriteJSON), and returns the column it
// forecast ("" when it does not say).
func parseBacktest(runID string, ended time.Time, data []byte) (*Backtest, string, error) {
	res, err := backtest.ReadJSON(bytes.NewReader(data))
	if err != nil {
		return nil, "", prevoir.Errorf(prevoir.EINVALID, "backtest.json of run %s: %v", runID, err)
	}
	backtest.SortModels(res.Models)
	bt := &Backtest{RunID: runID, EndedAt: ended, Champion: res.Champion, Models: make([]BacktestModel, 0, len(res.Models))}
	for _, m := range res.Models {
		m = res.Shown(m)
		bt.Relative = bt.Relative || m.RelativeWIS.Valid()
		bt.Weekly = bt.Weekly || m.Weekly.Weeks > 0
		bt.Models = append(bt.Models, BacktestModel{ModelScore: m, Champion: m.Name == res.Champion})
	}
	return bt, res.Protocol.Target, nil
}

// LiveScore is a model version's error on the forecast days observed since it made them: over
// the prevoir.LiveWindow days that end on its latest scored date (prevoir.Live).
type LiveScore struct {
	Version    int            `json:"version"`
	Family     string         `json:"family"`
	From       prevoir.Date   `json:"from"`
	To         prevoir.Date   `json:"to"`
	Days       int            `json:"days"`
	Points     int            `json:"points"`
	MAE        prevoir.Number `json:"mae"`
	Coverage80 prevoir.Number `json:"coverage_80"`
	Coverage95 prevoir.Number `json:"coverage_95"`
	Champion   bool           `json:"champion"`
}

// liveScores computes each version's live error over its own last window of scored dates (a
// retired version stops being scored, and its last days still describe it), newest version
// first.
func liveScores(scores []prevoir.ForecastScore, champion int) []LiveScore {
	byVersion := map[int][]prevoir.ForecastScore{}
	family := map[int]string{}
	for _, s := range scores {
		byVersion[s.Version] = append(byVersion[s.Version], s)
		family[s.Version] = s.Family
	}
	out := make([]LiveScore, 0, len(byVersion))
	for v, vs := range byVersion {
		l := prevoir.Live(vs)
		out = append(out, LiveScore{Version: v, Family: family[v], From: l.From, To: l.To, Days: l.Days, Points: l.Points,
			MAE: prevoir.Number(l.MAE), Coverage80: prevoir.Number(l.Coverage80), Coverage95: prevoir.Number(l.Coverage95), Champion: v == champion})
	}
	slices.SortFunc(out, func(a, b LiveScore) int { return cmp.Compare(b.Version, a.Version) })
	return out
}

// LiveDaily is a version's mean absolute error over the forecast days observed on one date.
type LiveDaily struct {
	Version int            `json:"version"`
	Date    prevoir.Date   `json:"date"`
	MAE     prevoir.Number `json:"mae"`
	Points  int            `json:"points"`
}

func liveDaily(scores []prevoir.ForecastScore) []LiveDaily {
	type key struct {
		v int
		d prevoir.Date
	}
	sum := map[key]float64{}
	n := map[key]int{}
	for _, s := range scores {
		k := key{s.Version, s.Date}
		sum[k] += s.AbsError
		n[k]++
	}
	out := make([]LiveDaily, 0, len(n))
	for k, c := range n {
		out = append(out, LiveDaily{Version: k.v, Date: k.d, MAE: prevoir.Number(sum[k] / float64(c)), Points: c})
	}
	slices.SortFunc(out, func(a, b LiveDaily) int {
		return cmp.Or(cmp.Compare(a.Version, b.Version), cmp.Compare(a.Date, b.Date))
	})
	return out
}

// LeaderboardResponse is GET /api/v1/leaderboard: how good the models have been, in backtests
// (forecasting the past) and live (forecasts scored once their days were observed).
type LeaderboardResponse struct {
	RegisteredModel string `json:"registered_model"`
	// Champion is the version whose forecasts are served, null when none was chosen yet.
	Champion *prevoir.ModelVersion `json:"champion"`
	// Backtest is the latest finished backtest, null when there is none (BacktestMessage
	// says why).
	Backtest        *Backtest              `json:"backtest"`
	BacktestMessage string                 `json:"backtest_message,omitempty"`
	LiveWindowDays  int                    `json:"live_window_days"`
	Live            []LiveScore            `json:"live"`
	LiveDaily       []LiveDaily            `json:"live_daily"`
	ChampionHistory []*prevoir.AliasChange `json:"champion_history"`
}

// VersionView is a registered model version with its aliases and live error.
type VersionView struct {
	*prevoir.ModelVersion
	Aliases []string   `json:"aliases"`
	Live    *LiveScore `json:"live"`
}

// ModelsResponse is GET /api/v1/models: the registered model's versions, newest first.
type ModelsResponse struct {
	RegisteredModel string                 `json:"registered_model"`
	Aliases         map[string]int         `json:"aliases"`
	Versions        []VersionView          `json:"versions"`
	ChampionHistory []*prevoir.AliasChange `json:"champion_history"`
}

// RunDetail is GET /api/v1/runs/{id}: a run with its metrics, artifacts and the model versions
// registered from it.
type RunDetail struct {
	*prevoir.Run
	Metrics       []prevoir.Metric   `json:"metrics"`
	Artifacts     []prevoir.Artifact `json:"artifacts"`
	ModelVersions []int              `json:"model_versions"`
}

// RunsResponse is GET /api/v1/runs: runs, newest first. The runs carry no configuration (see
// the run's own endpoint).
type RunsResponse struct {
	Runs []*prevoir.Run `json:"runs"`
}

// SnapshotSummary names a stored release.
type SnapshotSummary struct {
	ID        int64        `json:"id"`
	SHA256    string       `json:"sha256"`
	FetchedAt time.Time    `json:"fetched_at"`
	Rows      int          `json:"rows"`
	FirstDate prevoir.Date `json:"first_date"`
	LastDate  prevoir.Date `json:"last_date"`
}

// SourceFreshness says how current a source is.
type SourceFreshness struct {
	Source string `json:"source"`
	Title  string `json:"title"`
	// Snapshot is the current release (null when the source was never fetched).
	Snapshot *SnapshotSummary `json:"snapshot"`
	// LastDate is the last day the current release has data for; AgeDays is how many days ago
	// that is.
	LastDate prevoir.Date `json:"last_date,omitzero"`
	AgeDays  *int         `json:"age_days"`
	// LastChecked is the last fetch attempt, LastCheckStatus its outcome and LastError says
	// that it failed, with the error id the server logged the reason under; LastChanged is when
	// a new release last arrived.
	LastChecked     time.Time `json:"last_checked,omitzero"`
	LastCheckStatus string    `json:"last_check_status,omitempty"`
	LastError       string    `json:"last_error,omitempty"`
	LastChanged     time.Time `json:"last_changed,omitzero"`

	// lastFetch is the ID of the fetch LastError is about: its error is logged once.
	lastFetch int64
}

// FrameSummary describes the daily frame the models learn from.
type FrameSummary struct {
	Target    string                `json:"target"`
	FirstDate prevoir.Date          `json:"first_date"`
	LastDate  prevoir.Date          `json:"last_date"`
	Rows      int                   `json:"rows"`
	Columns   []string              `json:"columns"`
	Sources   []prevoir.FrameSource `json:"sources"`
	Decisions []prevoir.Decision    `json:"decisions"`
}

// DataResponse is GET /api/v1/data: data freshness.
type DataResponse struct {
	// Now is when this answer was computed (it is refreshed periodically).
	Now     time.Time         `json:"now"`
	Sources []SourceFreshness `json:"sources"`
	// Frame is null when it cannot be built yet (FrameError says why).
	Frame      *FrameSummary `json:"frame"`
	FrameError string        `json:"frame_error,omitempty"`
}

// SnapshotsResponse is GET /api/v1/snapshots: stored releases, newest first, with what each
// revised.
type SnapshotsResponse struct {
	Snapshots []*prevoir.Snapshot `json:"snapshots"`
}

// ActionResponse is the answer to an action.
type ActionResponse struct {
	Action  string `json:"action"`
	Message string `json:"message"`
	// JobID and StatusURL follow a queued job: the action itself (refresh, retrain), or after
	// a promotion, which is done at once, the new champion's forecast.
	JobID     int64  `json:"job_id,omitempty"`
	StatusURL string `json:"status_url,omitempty"`
	// Change is the alias move of a promotion.
	Change *prevoir.AliasChange `json:"change,omitempty"`
}

// queued reports whether the action itself was queued rather than done (202 Accepted).
func (r *ActionResponse) queued() bool { return r.JobID != 0 && r.Change == nil }
