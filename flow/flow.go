// Package flow holds prevoir's flows — ingest, train, forecast, score — as plain Go functions
// over the other packages. Each flow is recorded as a run, can be run in the foreground
// ("prevoir run FLOW") or as a job on the queue, and is idempotent: running it twice on the same
// data does no duplicate work. The recorded backtest (Backtest) and the score job's drift →
// retrain policy (ScoreAndDecide) are use cases here too: the commands only call and print them.
package flow

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/csvsource"
	"github.com/prevoir/prevoir/ingest"
	"github.com/prevoir/prevoir/monitor"
	"github.com/prevoir/prevoir/tracking"
)

// Flows runs the flows on a configured set of stores.
type Flows struct {
	Sources   []prevoir.Source
	Ingester  *ingest.Service
	Tracker   *tracking.Tracker
	Registry  prevoir.Registry
	Forecasts prevoir.ForecastStore
	// RegisteredModel is the registry name of the forecasting task ("incid_dchosp").
	RegisteredModel string
	FrameOptions    prevoir.FrameOptions
	Logger          *slog.Logger
	// Config is the effective configuration as JSON, recorded with every run.
	Config string
	// Monitor sets the alerts' thresholds (package monitor).
	Monitor monitor.Options
	// RetrainOnDrift lets the score job ask for an early training when the champion drifts
	// (ScoreAndDecide).
	RetrainOnDrift bool
}

// For returns the flows of target t, which is a forecasting task of its own: its registered
// model (the registry name is the target's name), its frame (t's column forecast and no
// longer a covariate) and its alerts. The stores are shared.
func (f *Flows) For(t prevoir.Target) *Flows {
	g := *f
	g.RegisteredModel = t.Name
	g.FrameOptions = t.FrameOptions(f.FrameOptions)
	g.Monitor.Model = t.Name
	return &g
}

func (f *Flows) logger() *slog.Logger {
	if f.Logger != nil {
		return f.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// track runs fn as a recorded run and ends it with fn's outcome. Every run but an ingest
// (which fetches the sources all targets share) is recorded under the flows' target.
func (f *Flows) track(ctx context.Context, r *prevoir.Run, fn func(*tracking.Run) error) error {
	if r.Config == "" {
		r.Config = f.Config
	}
	if r.Target == "" && r.Kind != prevoir.RunIngest {
		r.Target = f.RegisteredModel
	}
	run, err := f.Tracker.Start(ctx, r)
	if err != nil {
		return err
	}
	ferr := fn(run)
	if err := run.End(ctx, ferr); err != nil && ferr == nil {
		return err
	}
	return ferr
}

// raiseAlerts runs the monitoring checks, logs each alert and tags the run with it.
func (f *Flows) raiseAlerts(ctx context.Context, runID string) ([]monitor.Alert, error) {
	mo := f.Monitor
	if mo.Model == "" {
		mo.Model = f.RegisteredModel
	}
	alerts, err := monitor.Check(ctx, monitor.Stores{Registry: f.Registry, Forecasts: f.Forecasts, Snapshots: f.Ingester.Snapshots, Runs: f.Tracker.Runs}, mo)
	if err != nil {
		return nil, fmt.Errorf("monitoring checks: %w", err)
	}
	tags := map[string]string{}
	for _, a := range alerts {
		f.logger().WarnContext(ctx, "alert", "kind", a.Kind, "subject", a.Subject, "message", a.Message)
		tags["alert."+a.Kind+"."+a.Subject] = a.Message
	}
	if err := f.Tracker.Runs.SetTags(ctx, runID, tags); err != nil {
		return nil, err
	}
	return alerts, nil
}

// IngestReport is what the ingest flow did.
type IngestReport struct {
	RunID   string
	Results []ingest.Result
	Frame   *prevoir.Frame
	// Alerts are the monitoring alerts, checked when a release was quarantined.
	Alerts []monitor.Alert
}

// Ingest fetches every source, stores new releases and rebuilds the frame. The error keeps the
// code of the failure: EUNAVAILABLE when a source could not be reached (worth retrying later),
// EINVALID when a release is malformed or quarantined (retrying will not help: someone must
// look). A quarantine raises its alert at once, on the same channels as the other alerts.
func (f *Flows) Ingest(ctx context.Context) (*IngestReport, error) {
	rep := &IngestReport{}
	err := f.track(ctx, &prevoir.Run{Kind: prevoir.RunIngest, Name: "ingest"}, func(run *tracking.Run) error {
		rep.RunID = run.ID
		results, ierr := f.Ingester.Ingest(ctx, f.Sources)
		rep.Results = results
		metrics := map[string]float64{}
		tags := map[string]string{}
		for _, r := range results {
			tags["status."+r.Source] = string(r.Status)
			if r.Snapshot != nil {
				metrics["rows."+r.Source] = float64(r.Snapshot.Rows)
			}
		}
		if err := f.Tracker.Runs.SetTags(ctx, run.ID, tags); err != nil {
			return err
		}
		if err := run.LogMetrics(ctx, metrics); err != nil {
			return err
		}
		if slices.ContainsFunc(results, func(r ingest.Result) bool { return r.Status == prevoir.FetchQuarantined }) {
			var err error
			if rep.Alerts, err = f.raiseAlerts(ctx, run.ID); err != nil {
				return errors.Join(ierr, err)
			}
		}
		if ierr != nil {
			return ierr
		}
		frame, err := f.Ingester.Frame(ctx, f.Sources, f.FrameOptions)
		if err != nil {
			return fmt.Errorf("rebuild the frame: %w", err)
		}
		rep.Frame = frame
		return f.Tracker.Runs.SetTags(ctx, run.ID, map[string]string{"frame_sha256": csvsource.FrameSHA256(frame),
			"frame_last_date": frame.Dates[frame.Len()-1].String()})
	})
	return rep, err
}
