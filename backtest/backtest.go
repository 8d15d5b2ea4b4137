// Package backtest evaluates forecasters honestly: by rolling-origin backtests (Tashman 2000,
// "Out-of-sample tests of forecasting accuracy: an analysis and review", International Journal
// of Forecasting 16(4), 437-450; Hyndman & Athanasopoulos, "Forecasting: Principles and
// Practice", 3rd ed., section 5.10), several accuracy measures, the calibration of prediction
// intervals, and a champion rule that changes the production model only for a clear gain.
//
// At each origin o (From, From+Every, ..., up to To) every model is fitted on the frame up to
// and including o — Frame.Until(o), cut to the last Window days when Window > 0 — and forecasts
// days o+1 .. o+Horizon, which are scored against the values later observed. No model sees a
// value after its origin; models that learn from their own track record (conformal intervals,
// ensembles that choose their members, see package forecast/rolling) see only forecasts whose
// target day is on or before o, and the fits they need at earlier origins are made once and
// shared.
//
// Run returns a Result (JSON-ready); WriteLeaderboard prints it as a table, WriteSVG draws the
// champion's forecasts and the error by horizon, and Champion re-applies the champion rule to
// a stored Result.
package backtest

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/forecast/conformal"
	"github.com/prevoir/prevoir/forecast/models"
	"github.com/prevoir/prevoir/forecast/rolling"
)

// Defaults.
const (
	DefaultEvery   = 7
	DefaultWorkers = 2
	// MASEDays is the span of the in-sample seasonal naive error that scales MASE.
	MASEDays = 365
	// MASEPeriod is the period of that seasonal naive forecast.
	MASEPeriod = 7
)

// SeasonalReference is the registered name of the model the daily RelativeWIS is relative to.
const SeasonalReference = "snaive"

// Options configure a backtest. From and To are required; the rest has defaults.
type Options struct {
	// From and To bound the scored origins: From, From+Every, ... up to To.
	From, To prevoir.Date
	// Every is the number of days between origins (DefaultEvery).
	Every int
	// Horizon is the number of days forecast (prevoir.DefaultHorizon).
	Horizon int
	// Window is the sliding training window in days; 0 is an expanding window.
	Window int
	// Quantiles are the forecast quantile levels (prevoir.DefaultQuantiles).
	Quantiles []float64
	// Workers is the number of fits run at once (DefaultWorkers).
	Workers int
	// Conformal adds, for every model without conformal intervals, a twin named
	// "<model>+cp" with conformal intervals (package forecast/conformal, default options).
	Conformal bool
	// Seasonal is the seasonal naive model that the daily RelativeWIS divides by, fitted at
	// every origin even when it is not among the models (shared with it when it is); nil
	// means the registered "snaive".
	Seasonal prevoir.Forecaster
	// Champion configures the champion rule; Current is the champion in production, kept
	// unless a challenger is clearly better.
	Champion ChampionOptions
	Current  string
	// Progress, when set, is called after each fit (one call at a time).
	Progress func(Progress)
}

// Progress reports a finished fit.
type Progress struct {
	// Done of Total fits (Total includes the fits at past origins that composite models need).
	Done, Total int
	Model       string
	Origin      prevoir.Date
	// Index is the origin's position among the scored origins (1-based), 0 for a past
	// origin fitted for a composite model.
	Index, Origins int
	Err            error
}

func (o Options) withDefaults() Options {
	if o.Every <= 0 {
		o.Every = DefaultEvery
	}
	if o.Horizon <= 0 {
		o.Horizon = prevoir.DefaultHorizon
	}
	if o.Quantiles == nil {
		o.Quantiles = prevoir.DefaultQuantiles()
	}
	if o.Workers <= 0 {
		o.Workers = DefaultWorkers
	}
	if o.Seasonal == nil {
		o.Seasonal, _ = models.Lookup(SeasonalReference) // registered: cannot fail
	}
	return o
}

// Origins returns the scored origins of the options: From, From+Every, ... up to To.
func (o Options) Origins() []prevoir.Date {
	o = o.withDefaults()
	var out []prevoir.Date
	for d := o.From; d <= o.To; d += prevoir.Date(o.Every) {
		out = append(out, d)
	}
	return out
}

// key identifies a fit: a model (by name) at an origin.
type key struct {
	name   string
	origin prevoir.Date
}

// entry is one fit, made once and shared by everything that needs it.
type entry struct {
	key
	model  prevoir.Forecaster
	index  int // position among the scored origins (1-based), 0 if not scored
	deps   []*entry
	level  int
	once   sync.Once
	fitted prevoir.Fitted
	fc     *prevoir.Forecast
	err    error
	secs   float64
}

type runner struct {
	f      *prevoir.Frame
	opts   Options
	mu     sync.Mutex
	fits   map[key]*entry
	done   int
	total  int
	progMu sync.Mutex
}

// Run backtests models on f (see the package documentation). A model that fails at an origin
// is recorded (ModelScore.Failures, Fit.Error) and the backtest goes on; Run fails on bad
// options or a cancelled context.
//
// Names identify models: the names in models must be unique, and a composite's member that
// has the name of another model is taken to be that model, so its fits are shared (the
// registry, package forecast/models, gives every configuration its own name).
func Run(ctx context.Context, f *prevoir.Frame, models []prevoir.Forecaster, opts Options) (*Result, error) {
	opts = opts.withDefaults()
	origins, err := validate(f, models, opts)
	if err != nil {
		return nil, err
	}
	// Composites calibrated on their past forecasts (conformal intervals, ensembles) are set
	// up for the horizon asked, not the 14 days they default to.
	models = slices.Clone(models)
	for i, m := range models {
		models[i] = rolling.WithHorizon(m, opts.Horizon)
	}
	if opts.Conformal {
		for _, m := range slices.Clone(models) {
			if _, ok := m.(*conformal.Forecaster); !ok {
				models = append(models, conformal.Wrap(m, conformal.Options{Horizon: opts.Horizon}))
			}
		}
		if err := uniqueNames(models); err != nil {
			return nil, err
		}
	}
	r := &runner{f: f, opts: opts, fits: map[key]*entry{}}
	// Plan every fit: the scored ones and, recursively, what composite models need.
	var scored [][]*entry // [model][origin]
	for _, m := range models {
		row := make([]*entry, len(origins))
		for i, o := range origins {
			row[i] = r.plan(m, o)
			row[i].index = i + 1
		}
		scored = append(scored, row)
	}
	// The seasonal naive reference, forecast at every origin (the model's own fits when it
	// is among the models).
	seasonal := make([]*entry, len(origins))
	sm := rolling.WithHorizon(opts.Seasonal, opts.Horizon)
	for i, o := range origins {
		seasonal[i] = r.plan(sm, o)
		seasonal[i].index = i + 1
	}
	levels := r.levels()
	r.total = len(r.fits)
	for _, lv := range levels {
		if err := r.runLevel(ctx, lv, len(origins)); err != nil {
			return nil, err
		}
	}
	return r.result(models, origins, scored, seasonal), nil
}

func validate(f *prevoir.Frame, models []prevoir.Forecaster, opts Options) ([]prevoir.Date, error) {
	switch {
	case f == nil || f.Len() == 0:
		return nil, prevoir.Errorf(prevoir.EINVALID, "backtest: empty frame")
	case f.TargetValues() == nil:
		return nil, prevoir.Errorf(prevoir.EINVALID, "backtest: frame has no target column %q", f.Target)
	case len(models) == 0:
		return nil, prevoir.Errorf(prevoir.EINVALID, "backtest: no models")
	case opts.From == 0 || opts.To == 0 || opts.To < opts.From:
		return nil, prevoir.Errorf(prevoir.EINVALID, "backtest: origins from %s to %s: want From <= To", opts.From, opts.To)
	case opts.Window < 0:
		return nil, prevoir.Errorf(prevoir.EINVALID, "backtest: window %d days: want >= 0", opts.Window)
	}
	for i, p := range opts.Quantiles {
		if !(p > 0 && p < 1) || (i > 0 && p <= opts.Quantiles[i-1]) {
			return nil, prevoir.Errorf(prevoir.EINVALID, "backtest: quantiles %v: want increasing levels in (0, 1)", opts.Quantiles)
		}
	}
	if err := uniqueNames(models); err != nil {
		return nil, err
	}
	origins := opts.Origins()
	for _, o := range origins {
		if _, ok := slices.BinarySearch(f.Dates, o); !ok {
			return nil, prevoir.Errorf(prevoir.EINVALID, "backtest: origin %s is not a day of the frame (%s to %s)", o, f.Dates[0], f.Dates[f.Len()-1])
		}
	}
	return origins, nil
}

func uniqueNames(models []prevoir.Forecaster) error {
	seen := map[string]bool{}
	for _, m := range models {
		n := m.Name()
		if n == "" || seen[n] {
			return prevoir.Errorf(prevoir.EINVALID, "backtest: model name %q empty or used twice", n)
		}
		seen[n] = true
	}
	return nil
}

// plan registers the fit of m at origin and, for a composite, the fits it needs.
func (r *runner) plan(m prevoir.Forecaster, origin prevoir.Date) *entry {
	k := key{m.Name(), origin}
	if e, ok := r.fits[k]; ok {
		return e
	}
	e := &entry{key: k, model: m, level: -1}
	r.fits[k] = e
	if c, ok := m.(rolling.Composite); ok {
		for _, n := range c.Needs(origin) {
			if n.Origin < r.f.Dates[0] || n.Origin > origin {
				continue // before the data: the composite does without it
			}
			e.deps = append(e.deps, r.plan(n.Model, n.Origin))
		}
	}
	return e
}

// levels groups the fits so that each one's dependencies are in earlier groups, in a
// deterministic order (by origin, then model name).
func (r *runner) levels() [][]*entry {
	var depth func(e *entry) int
	depth = func(e *entry) int {
		if e.level >= 0 {
			return e.level
		}
		l := 0
		for _, d := range e.deps {
			l = max(l, depth(d)+1)
		}
		e.level = l
		return l
	}
	var out [][]*entry
	for _, e := range r.fits {
		l := depth(e)
		for len(out) <= l {
			out = append(out, nil)
		}
		out[l] = append(out[l], e)
	}
	for _, lv := range out {
		slices.SortFunc(lv, func(a, b *entry) int {
			if a.origin != b.origin {
				return int(a.origin - b.origin)
			}
			if a.name < b.name {
				return -1
			}
			if a.name > b.name {
				return 1
			}
			return 0
		})
	}
	return out
}

// runLevel makes the fits of one level with the worker pool.
func (r *runner) runLevel(ctx context.Context, lv []*entry, norigins int) error {
	jobs := make(chan *entry)
	var wg sync.WaitGroup
	for range min(r.opts.Workers, len(lv)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for e := range jobs {
				r.run(ctx, e)
				r.progress(e, norigins)
			}
		}()
	}
feed:
	for _, e := range lv {
		select {
		case jobs <- e:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	return ctx.Err()
}

func (r *runner) progress(e *entry, norigins int) {
	r.progMu.Lock()
	defer r.progMu.Unlock()
	r.done++
	if r.opts.Progress != nil {
		r.opts.Progress(Progress{Done: r.done, Total: r.total, Model: e.name, Origin: e.origin,
			Index: e.index, Origins: norigins, Err: e.err})
	}
}

// run makes the fit of e once: fit on the frame up to the origin and, for a scored origin,
// forecast.
func (r *runner) run(ctx context.Context, e *entry) {
	e.once.Do(func() {
		start := time.Now()
		defer func() { e.secs = time.Since(start).Seconds() }()
		g, err := r.frameAt(e.origin)
		if err != nil {
			e.err = err
			return
		}
		e.fitted, e.err = rolling.Fit(ctx, e.model, g, rolling.Bounded(source{r}, e.origin))
		if e.err != nil || e.index == 0 {
			return
		}
		e.fc, e.err = e.fitted.Predict(ctx, r.opts.Horizon, r.opts.Quantiles)
		if e.err == nil {
			e.err = e.fc.Validate()
		}
	})
}

// frameAt is the data a fit at origin sees: the frame up to origin, cut to the window.
func (r *runner) frameAt(origin prevoir.Date) (*prevoir.Frame, error) {
	if _, ok := slices.BinarySearch(r.f.Dates, origin); !ok {
		return nil, fmt.Errorf("backtest: no data on origin %s", origin)
	}
	g, err := r.f.Until(origin)
	if err != nil {
		return nil, err
	}
	if w := r.opts.Window; w > 0 {
		i, _ := slices.BinarySearch(g.Dates, origin-prevoir.Date(w-1))
		g.Dates = g.Dates[i:]
		for c := range g.Columns {
			g.Columns[c].Values = g.Columns[c].Values[i:]
		}
	}
	return g, nil
}

// source serves composite models the fits of the plan; a fit that was not planned (a
// composite that asks for more than its Needs) is made on the spot.
type source struct{ r *runner }

func (s source) Fit(ctx context.Context, m prevoir.Forecaster, origin prevoir.Date) (prevoir.Fitted, error) {
	r := s.r
	r.mu.Lock()
	e, ok := r.fits[key{m.Name(), origin}]
	if !ok {
		e = &entry{key: key{m.Name(), origin}, model: m}
		r.fits[e.key] = e
	}
	r.mu.Unlock()
	r.run(ctx, e)
	return e.fitted, e.err
}

// result assembles the Result.
func (r *runner) result(models []prevoir.Forecaster, origins []prevoir.Date, scored [][]*entry, seasonal []*entry) *Result {
	o := r.opts
	y := r.f.TargetValues()
	res := &Result{Protocol: Protocol{
		Target:    r.f.Target,
		Origins:   origins,
		Every:     o.Every,
		Horizon:   o.Horizon,
		Window:    o.Window,
		Refit:     "every model refitted at every origin on the data up to and including the origin",
		Quantiles: slices.Clone(o.Quantiles),
		MASEScale: fmt.Sprintf("per origin: in-sample seasonal naive (period %d) MAE on the %d days up to the origin", MASEPeriod, MASEDays),
		Data:      slices.Clone(r.f.Sources),
	}}
	// Models that are not refitted at every origin (the networks) say how they are.
	for _, m := range models {
		if rp, ok := m.(interface{ RefitPolicy() string }); ok {
			res.Protocol.Refit += "; " + m.Name() + ": " + rp.RefitPolicy()
		}
	}
	window := "an expanding window (all the data up to the origin)"
	if o.Window > 0 {
		window = fmt.Sprintf("a sliding window of the last %d days", o.Window)
	}
	res.Protocol.Description = fmt.Sprintf("Rolling origins every %d days from %s to %s (%d origins). At each origin every model "+
		"is fitted on %s and forecasts the %d following days; each forecast is scored against the value later observed "+
		"(days without a value are left out). Models that learn from their past forecasts (conformal intervals, "+
		"ensembles) use only forecasts whose target day is on or before the origin. Point forecasts and quantiles are "+
		"clipped at 0. The forecasts' whole weeks (days 1-7, 8-14, ...) are scored on their totals: the sum of the daily points, "+
		"and the model's own weekly quantiles when it gives them (never the sums of daily quantiles); relative measures divide "+
		"by %s's on the same weeks, and the daily relative WIS by the seasonal naive's (%s) on the same days.",
		o.Every, origins[0], origins[len(origins)-1], len(origins), window, o.Horizon, WeeklyReference, o.Seasonal.Name())
	scales := map[prevoir.Date]float64{}
	for _, d := range origins {
		scales[d] = SeasonalScale(r.f.Dates, y, d, MASEPeriod, MASEDays)
	}
	res.Reference = Reference{Weekly: WeeklyReference, WeeklyDescription: weeklyReferenceDescription, Daily: o.Seasonal.Name()}
	for _, d := range origins {
		// An origin without its last week observed has no reference: its weeks are left out
		// of the relative measures.
		res.Reference.WeeklyRows = append(res.Reference.WeeklyRows, referenceRows(r.f.Dates, y, d, o.Horizon/prevoir.WeekDays, o.Quantiles)...)
	}
	res.Reference.WeeklyScore = ScoreWeekly(res.Reference.WeeklyRows, res.Reference.WeeklyRows, o.Quantiles)
	for _, e := range seasonal {
		if e.err == nil {
			res.Reference.DailyRows = append(res.Reference.DailyRows, r.rows(e)...)
		}
	}
	for mi, m := range models {
		var rows []Row
		var weeks []WeeklyRow
		score := ModelScore{Name: m.Name()}
		for _, e := range scored[mi] {
			fit := Fit{Model: e.name, Origin: e.origin, Seconds: e.secs}
			if e.err != nil {
				fit.Error = e.err.Error()
				score.Failures++
				if score.Error == "" {
					score.Error = fmt.Sprintf("%s: %v", e.origin, e.err)
				}
			} else {
				if d, ok := e.fitted.(interface{ Describe() string }); ok {
					fit.Description = d.Describe()
				}
				rows = append(rows, r.rows(e)...)
				weeks = append(weeks, weeklyRows(e.fc, r.f.Dates, y)...)
			}
			res.Fits = append(res.Fits, fit)
		}
		s := Score(rows, o.Quantiles, o.Horizon, func(d prevoir.Date) float64 { return scales[d] })
		s.Name, s.Failures, s.Error = score.Name, score.Failures, score.Error
		s.FitSeconds = cost(scored[mi])
		s.RelativeWIS = RelativeWIS(rows, res.Reference.DailyRows, o.Quantiles)
		s.Weekly = ScoreWeekly(weeks, res.Reference.WeeklyRows, o.Quantiles)
		res.Models = append(res.Models, s)
		res.Forecasts = append(res.Forecasts, rows...)
		res.Weekly = append(res.Weekly, weeks...)
	}
	SortModels(res.Models)
	res.Decision, _ = Champion(res, o.Current, o.Champion)
	res.Champion = res.Decision.Champion
	return res
}

// rows are the daily rows of a scored fit's forecast.
func (r *runner) rows(e *entry) []Row {
	y := r.f.TargetValues()
	out := make([]Row, len(e.fc.Dates))
	for h, d := range e.fc.Dates {
		out[h] = Row{Model: e.name, Origin: e.origin, Date: d, Horizon: h + 1,
			Actual: prevoir.Number(valueOn(r.f.Dates, y, d)), Point: e.fc.Point[h], Quantiles: e.fc.Values[h]}
	}
	return out
}

// cost sums the time of every fit the entries depend on, each counted once.
func cost(es []*entry) float64 {
	seen := map[*entry]bool{}
	var s float64
	var walk func(e *entry)
	walk = func(e *entry) {
		if seen[e] {
			return
		}
		seen[e] = true
		s += e.secs
		for _, d := range e.deps {
			walk(d)
		}
	}
	for _, e := range es {
		walk(e)
	}
	return s
}

// SortModels orders scores for a leaderboard: the models forecast at every origin by
// increasing MAE (unscored last), then the models that failed at some origins, by MAE too:
// scored on fewer origins, they are not comparable with the others.
func SortModels(ms []ModelScore) {
	slices.SortStableFunc(ms, func(a, b ModelScore) int {
		if pa, pb := a.Failures > 0, b.Failures > 0; pa != pb {
			if pa {
				return 1
			}
			return -1
		}
		return compareMAE(float64(a.MAE), float64(b.MAE))
	})
}

// compareMAE orders by increasing MAE, NaN last.
func compareMAE(a, b float64) int {
	switch an, bn := math.IsNaN(a), math.IsNaN(b); {
	case an && bn:
		return 0
	case an:
		return 1
	case bn:
		return -1
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
