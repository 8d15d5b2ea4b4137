// Package monitor watches a running prevoir and raises alerts an operator should act on: the
// champion's live error has drifted well above its backtest error (the model no longer fits
// the epidemic), a source has not changed for longer than expected (the publisher stopped or
// the fetch is stuck), a source's latest release broke the plausibility rules and waits in
// quarantine for review, or a flow failed twice in a row (something is broken, not flaky).
//
// The checks read only stored numbers (scores, model versions, fetches, runs), so every
// alert can be explained from the database, and any process can compute them.
package monitor

import (
	"context"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/prevoir/prevoir"
)

// Alert kinds.
const (
	KindModelDrift  = "model_drift"
	KindStaleSource = "stale_source"
	KindFlowFailing = "flow_failing"
	KindQuarantine  = "quarantined_release"
)

// Kinds lists every alert kind, in the order Check sorts them.
func Kinds() []string {
	return []string{KindFlowFailing, KindModelDrift, KindQuarantine, KindStaleSource}
}

// Alert is one condition that needs attention.
type Alert struct {
	Kind string `json:"kind"`
	// Subject is what it is about: a model version ("incid_dchosp v3"), a source, a flow.
	Subject string  `json:"subject"`
	Message string  `json:"message"`
	Value   float64 `json:"value"`
	Limit   float64 `json:"limit"`
	// Retrain says whether an early retraining may help (model drift).
	Retrain bool `json:"retrain"`
}

// Options are the thresholds.
type Options struct {
	// Model is the registered model watched ("incid_dchosp").
	Model string
	// DriftFactor: alert when the champion's live MAE (prevoir.Live: over its last
	// prevoir.LiveWindow scored dates) exceeds DriftFactor times its backtest MAE (default 1.5).
	DriftFactor float64
	// MinScored is the fewest scored forecast days in the live window needed to judge
	// (default 7).
	MinScored int
	// StaleAfter: alert when a source's content has not changed for longer (default 4 days:
	// the sources were updated on weekdays).
	StaleAfter time.Duration
	// Sources are the sources watched.
	Sources []string
	// Flows are the run kinds watched for consecutive failures.
	Flows []prevoir.RunKind
	// Now is the current time (time.Now when nil).
	Now func() time.Time
}

func (o Options) withDefaults() Options {
	if o.Model == "" {
		o.Model = prevoir.DefaultTarget
	}
	if o.DriftFactor <= 0 {
		o.DriftFactor = 1.5
	}
	if o.MinScored <= 0 {
		o.MinScored = 7
	}
	if o.StaleAfter <= 0 {
		o.StaleAfter = 4 * 24 * time.Hour
	}
	if o.Sources == nil {
		for _, s := range prevoir.DefaultSources() {
			o.Sources = append(o.Sources, s.Name)
		}
	}
	if o.Flows == nil {
		o.Flows = []prevoir.RunKind{prevoir.RunIngest, prevoir.RunTrain, prevoir.RunForecast, prevoir.RunScore}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Stores are what the checks read.
type Stores struct {
	Registry  prevoir.Registry
	Forecasts prevoir.ForecastStore
	Snapshots prevoir.SnapshotStore
	Runs      prevoir.RunStore
}

// Check runs every check and returns the alerts, most urgent kinds first.
func Check(ctx context.Context, st Stores, opts Options) ([]Alert, error) {
	opts = opts.withDefaults()
	var alerts []Alert
	a, err := drift(ctx, st, opts)
	if err != nil {
		return nil, err
	}
	alerts = append(alerts, a...)
	if a, err = stale(ctx, st, opts); err != nil {
		return nil, err
	}
	alerts = append(alerts, a...)
	if a, err = failing(ctx, st, opts); err != nil {
		return nil, err
	}
	alerts = append(alerts, a...)
	if a, err = quarantined(ctx, st, opts); err != nil {
		return nil, err
	}
	alerts = append(alerts, a...)
	sort.SliceStable(alerts, func(i, j int) bool { return alerts[i].Kind < alerts[j].Kind })
	return alerts, nil
}

// drift compares the champion's live error with its backtest error.
func drift(ctx context.Context, st Stores, o Options) ([]Alert, error) {
	v, err := st.Registry.ResolveAlias(ctx, o.Model, prevoir.AliasChampion)
	if prevoir.ErrorCode(err) == prevoir.ENOTFOUND {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	backtest, ok := v.Metrics["mae"]
	if !ok || math.IsNaN(backtest) || backtest <= 0 {
		return nil, nil
	}
	scores, err := st.Forecasts.Scores(ctx, o.Model, 0)
	if err != nil {
		return nil, err
	}
	var mine []prevoir.ForecastScore
	for _, s := range scores {
		if s.Version == v.Version {
			mine = append(mine, s)
		}
	}
	l := prevoir.Live(mine)
	if l.Points < o.MinScored { // MinScored is at least 1
		return nil, nil
	}
	live, limit := l.MAE, o.DriftFactor*backtest
	if live <= limit {
		return nil, nil
	}
	unit := "" // a registered model that is no target (made by hand) has no known unit
	if t, err := prevoir.LookupTarget(o.Model); err == nil {
		unit = " " + t.Unit
	}
	return []Alert{{Kind: KindModelDrift, Subject: fmt.Sprintf("%s v%d (%s)", o.Model, v.Version, v.Family), Value: live, Limit: limit, Retrain: true,
		Message: fmt.Sprintf("the champion's live MAE over its last %d scored days is %.1f%s, more than %.1f × its backtest MAE %.1f",
			prevoir.LiveWindow, live, unit, o.DriftFactor, backtest)}}, nil
}

// stale finds sources whose content has not changed for too long.
func stale(ctx context.Context, st Stores, o Options) ([]Alert, error) {
	var out []Alert
	now := o.Now()
	for _, src := range o.Sources {
		f, err := st.Snapshots.LastFetch(ctx, src, prevoir.FetchNew, prevoir.FetchRevised)
		if prevoir.ErrorCode(err) == prevoir.ENOTFOUND {
			continue // never ingested: nothing to compare with
		}
		if err != nil {
			return nil, err
		}
		if age := now.Sub(f.StartedAt); age > o.StaleAfter {
			out = append(out, Alert{Kind: KindStaleSource, Subject: src, Value: age.Hours() / 24, Limit: o.StaleAfter.Hours() / 24,
				Message: fmt.Sprintf("source %s has not changed since %s (%.0f days; expected within %.0f)",
					src, f.StartedAt.Format(time.DateTime), age.Hours()/24, o.StaleAfter.Hours()/24)})
		}
	}
	return out, nil
}

// quarantined finds sources whose latest release broke the plausibility rules and has not been
// accepted: the data stand still until someone reviews it. A later release that passes, or
// the previous one served again, ends the alert.
func quarantined(ctx context.Context, st Stores, o Options) ([]Alert, error) {
	var out []Alert
	for _, src := range o.Sources {
		f, err := st.Snapshots.LastFetch(ctx, src, prevoir.FetchNew, prevoir.FetchRevised, prevoir.FetchUnchanged, prevoir.FetchQuarantined)
		if prevoir.ErrorCode(err) == prevoir.ENOTFOUND {
			continue
		}
		if err != nil {
			return nil, err
		}
		if f.Status != prevoir.FetchQuarantined {
			continue
		}
		snap, err := st.Snapshots.FindSnapshot(ctx, f.SnapshotID)
		if err != nil {
			return nil, err
		}
		if qerr := snap.QuarantineError(); qerr != nil {
			out = append(out, Alert{Kind: KindQuarantine, Subject: src, Value: float64(qerr.Count), Limit: 0,
				Message: fmt.Sprintf("the release of %s fetched %s is %s", src, f.StartedAt.Format(time.DateTime), qerr)})
		}
	}
	return out, nil
}

// failing finds flows whose last two runs failed: the model's own runs (its target's), or the
// ingest, which every target shares.
func failing(ctx context.Context, st Stores, o Options) ([]Alert, error) {
	var out []Alert
	for _, kind := range o.Flows {
		f := prevoir.RunFilter{Kind: kind, Target: o.Model, Limit: 3}
		if kind == prevoir.RunIngest {
			f.Target = ""
		}
		runs, err := st.Runs.ListRuns(ctx, f)
		if err != nil {
			return nil, err
		}
		var ended []*prevoir.Run
		for _, r := range runs {
			if r.Status != prevoir.RunRunning {
				ended = append(ended, r)
			}
		}
		if len(ended) >= 2 && ended[0].Status == prevoir.RunFailed && ended[1].Status == prevoir.RunFailed {
			out = append(out, Alert{Kind: KindFlowFailing, Subject: string(kind), Value: 2, Limit: 2,
				Message: fmt.Sprintf("the %s flow failed twice in a row; last error: %s", kind, ended[0].Error)})
		}
	}
	return out, nil
}
