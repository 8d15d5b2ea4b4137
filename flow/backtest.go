package flow

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/backtest"
	"github.com/prevoir/prevoir/forecast/models"
	"github.com/prevoir/prevoir/tracking"
)

// BacktestOptions configure a recorded backtest (Flows.Backtest).
type BacktestOptions struct {
	// Options are the backtest's. Origins left unset are those of
	// backtest.Options.WithOrigins over backtest.DefaultOrigins origins; an unset Current is
	// the champion in production, which the champion rule keeps unless a challenger is
	// clearly better.
	backtest.Options
	// Epochs, when positive, overrides the networks' epoch count.
	Epochs int
}

// BacktestReport is what a recorded backtest did.
type BacktestReport struct {
	RunID  string
	Result *backtest.Result
	// JSON and SVG are the bytes the run recorded as its prevoir.BacktestArtifact and
	// prevoir.BacktestPlotArtifact.
	JSON, SVG []byte
}

// OriginError is a backtest origin the data cannot serve: outside the frame, or a first
// origin after the last. It is a mistake in the request, found before anything is recorded.
type OriginError struct {
	// Option is the origin at fault: "from" or "to" (backtest.Options.From, To).
	Option string
	Origin prevoir.Date
	// To is set when From is after it.
	To prevoir.Date
	// First and Last are the days the data run over; DefaultTo is the default last origin,
	// the last day whose whole horizon is observed.
	First, Last, DefaultTo prevoir.Date
}

func (e *OriginError) Error() string {
	if e.To != 0 {
		return fmt.Sprintf("backtest: first origin %s is after the last, %s", e.Origin, e.To)
	}
	return fmt.Sprintf("backtest: origin %s %s: the data run from %s to %s; want an origin in that span (the default last origin is %s, the last day whose whole horizon is observed)",
		e.Option, e.Origin, e.First, e.Last, e.DefaultTo)
}

// checkOrigins refuses origins outside the frame, and a first origin after the last.
func checkOrigins(opts backtest.Options, frame *prevoir.Frame) error {
	if opts.From > opts.To {
		return &OriginError{Option: "from", Origin: opts.From, To: opts.To}
	}
	first, last := frame.Dates[0], frame.Dates[frame.Len()-1]
	for _, o := range []struct {
		option string
		d      prevoir.Date
	}{{"from", opts.From}, {"to", opts.To}} {
		if o.d < first || o.d > last {
			return &OriginError{Option: o.option, Origin: o.d, First: first, Last: last,
				DefaultTo: backtest.Options{Horizon: opts.Horizon}.WithOrigins(last, 1).To}
		}
	}
	return nil
}

// Backtest backtests the models on the current frame and records it as a run: its
// parameters, the measures of every model (backtest.Result.Metrics), the result as
// prevoir.BacktestArtifact and its plot as prevoir.BacktestPlotArtifact. Origins outside the
// data are an *OriginError, returned before the run starts.
func (f *Flows) Backtest(ctx context.Context, ms []prevoir.Forecaster, opts BacktestOptions) (*BacktestReport, error) {
	if opts.Epochs > 0 {
		ms = append([]prevoir.Forecaster(nil), ms...)
		for i, m := range ms {
			ms[i] = models.WithEpochs(m, opts.Epochs)
		}
	}
	frame, err := f.Ingester.Frame(ctx, f.Sources, f.FrameOptions)
	if err != nil {
		return nil, err
	}
	bo := opts.WithOrigins(frame.Dates[frame.Len()-1], backtest.DefaultOrigins)
	if err := checkOrigins(bo, frame); err != nil {
		return nil, err
	}
	if bo.Current == "" {
		cur, err := f.Registry.ResolveAlias(ctx, f.RegisteredModel, prevoir.AliasChampion)
		switch {
		case err == nil:
			bo.Current = cur.Family
		case prevoir.ErrorCode(err) != prevoir.ENOTFOUND:
			return nil, fmt.Errorf("backtest: the current champion: %w", err)
		}
	}
	names := make([]string, len(ms))
	for i, m := range ms {
		names[i] = m.Name() // the canonical name (models.Canonical), as versions record it
	}
	c := bo.Champion
	params := map[string]string{
		"models": strings.Join(names, ","), "from": bo.From.String(), "to": bo.To.String(), "every": strconv.Itoa(bo.Every),
		"horizon": strconv.Itoa(bo.Horizon), "window": strconv.Itoa(bo.Window), "conformal": strconv.FormatBool(bo.Conformal),
		"champion_window": strconv.Itoa(c.Window), "champion_margin": strconv.FormatFloat(c.Margin, 'g', -1, 64),
		"min_coverage": strconv.FormatFloat(c.MinCoverage80, 'g', -1, 64), "champion_weekly": strconv.FormatBool(c.Weekly),
	}
	if opts.Epochs > 0 {
		params["epochs"] = strconv.Itoa(opts.Epochs)
	}
	rep := &BacktestReport{}
	err = f.track(ctx, &prevoir.Run{Kind: prevoir.RunBacktest, Name: "backtest", Params: params, Lineage: f.Lineage(frame)},
		func(run *tracking.Run) error {
			rep.RunID = run.ID
			res, err := backtest.Run(ctx, frame, ms, bo)
			if err != nil {
				return err
			}
			if err := run.LogMetrics(ctx, res.Metrics()); err != nil {
				return err
			}
			var jb, sb bytes.Buffer
			if err := backtest.WriteJSON(&jb, res); err != nil {
				return fmt.Errorf("backtest: write %s: %w", prevoir.BacktestArtifact, err)
			}
			if _, err := run.LogArtifact(ctx, prevoir.BacktestArtifact, jb.Bytes()); err != nil {
				return err
			}
			if err := backtest.WriteSVG(&sb, res); err != nil {
				return fmt.Errorf("backtest: draw %s: %w", prevoir.BacktestPlotArtifact, err)
			}
			if _, err := run.LogArtifact(ctx, prevoir.BacktestPlotArtifact, sb.Bytes()); err != nil {
				return err
			}
			rep.Result, rep.JSON, rep.SVG = res, jb.Bytes(), sb.Bytes()
			return nil
		})
	return rep, err
}
