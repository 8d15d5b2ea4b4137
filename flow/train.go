package flow

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/backtest"
	"github.com/prevoir/prevoir/csvsource"
	"github.com/prevoir/prevoir/forecast/models"
	"github.com/prevoir/prevoir/tracking"
)

// TrainOptions configure training.
type TrainOptions struct {
	// Origins is the number of weekly origins each model is backtested on before it is
	// registered (the champion rule ranks on them). Default 12, the champion window.
	Origins int
	// Epochs, when positive, overrides the neural models' epoch count.
	Epochs int
	// Champion configures the champion rule.
	Champion backtest.ChampionOptions
	// MinCoverage80 is the lowest backtest coverage of the 80% interval a champion may have,
	// taken as given (0: no minimum; the commands default to backtest.DefaultMinCoverage80):
	// a model without calibrated intervals (the networks, whose quantiles are their point
	// forecast) is trained, registered and compared, but never served (see
	// backtest.ChampionOptions.Ineligible).
	MinCoverage80 float64
}

func (o TrainOptions) withDefaults() TrainOptions {
	if o.Origins <= 0 {
		o.Origins = backtest.DefaultChampionWindow
	}
	return o
}

// ModelSpec is the prevoir.ModelSpecArtifact of a training run: what the forecast flow needs to
// rebuild the model. Its pinned state (forecast/models.Save) records what makes the version
// that model — the selected form and fitted parameters, a network's weights, a calibration —
// so that promoting the version serves that model: forecasting applies it to the latest data
// and estimates nothing.
type ModelSpec struct {
	Family string `json:"family"`
	// Pinned is the pinned state; nil for versions registered before pinning, which are
	// refitted on the latest data (or, for a network, bound to its Weights).
	Pinned *PinnedRef `json:"pinned,omitempty"`
	// Weights and Calibration are how versions registered before pinning kept a network: the
	// artifact of its weights and the conformal residuals of a "+cp" network. Read, no longer
	// written.
	Weights     string          `json:"weights,omitempty"`
	Calibration json.RawMessage `json:"calibration,omitempty"`
	// FittedUntil is the last day of the data the model was trained on.
	FittedUntil prevoir.Date `json:"fitted_until"`
	Horizon     int          `json:"horizon"`
	Quantiles   []float64    `json:"quantiles"`
}

// PinnedRef names the artifact of a version's pinned state.
type PinnedRef struct {
	Artifact string `json:"artifact"`
	// SHA256 is the state's hash: the forecast flow refuses a state that is not this one.
	SHA256 string `json:"sha256"`
	// Summary says what is pinned ("ETS(M,Ad,M) alpha=0.41 ...").
	Summary string `json:"summary"`
	// Blobs are the artifacts of the binary parts the state names (a network's weights).
	Blobs []string `json:"blobs,omitempty"`
}

// TrainReport is what training one model did.
type TrainReport struct {
	RunID   string
	Version *prevoir.ModelVersion
	Score   backtest.ModelScore
}

// Lineage records what a run on frame uses: the snapshots, the frame's hash, the effective
// configuration and the code version.
func (f *Flows) Lineage(frame *prevoir.Frame) prevoir.Lineage {
	l := prevoir.Lineage{Snapshots: map[string]string{}, FrameSHA256: csvsource.FrameSHA256(frame), Config: f.Config, CodeVersion: tracking.CodeVersion()}
	for _, s := range frame.Sources {
		l.Snapshots[s.Source] = s.SHA256
	}
	return l
}

// backtestOptions returns the backtest of a training: n weekly origins ending with the last
// day whose whole horizon is observed, the same for every model of a batch trained on the same
// frame.
func backtestOptions(frame *prevoir.Frame, n int) backtest.Options {
	return backtest.Options{}.WithOrigins(frame.Dates[frame.Len()-1], n)
}

// TrainModel trains one model as part of a batch: it backtests it on the recent origins,
// fits it on all the data, records the run (metrics, backtest, model spec) and registers a new
// version of the forecasting task. batch ties the models trained together for the champion rule.
func (f *Flows) TrainModel(ctx context.Context, batch, name string, opts TrainOptions) (*TrainReport, error) {
	frame, err := f.Ingester.Frame(ctx, f.Sources, f.FrameOptions)
	if err != nil {
		return nil, err
	}
	return f.trainModel(ctx, frame, batch, name, opts)
}

// trainModel is TrainModel on frame: Train builds the frame once for its whole batch.
func (f *Flows) trainModel(ctx context.Context, frame *prevoir.Frame, batch, name string, opts TrainOptions) (*TrainReport, error) {
	opts = opts.withDefaults()
	fc, err := models.Lookup(name)
	if err != nil {
		return nil, err
	}
	name = fc.Name() // the canonical name ("ets+cp+hol" is recorded as ets+hol+cp)
	if opts.Epochs > 0 {
		fc = models.WithEpochs(fc, opts.Epochs)
	}
	bo := backtestOptions(frame, opts.Origins)
	rep := &TrainReport{}
	params := map[string]string{"model": name, "batch": batch, "backtest_from": bo.From.String(), "backtest_to": bo.To.String(),
		"backtest_every": strconv.Itoa(bo.Every), "horizon": strconv.Itoa(bo.Horizon)}
	if opts.Epochs > 0 {
		params["epochs"] = strconv.Itoa(opts.Epochs)
	}
	err = f.track(ctx, &prevoir.Run{Kind: prevoir.RunTrain, Name: name, Params: params, Tags: map[string]string{"batch": batch},
		Lineage: f.Lineage(frame)}, func(run *tracking.Run) error {
		rep.RunID = run.ID
		res, err := backtest.Run(ctx, frame, []prevoir.Forecaster{fc}, bo)
		if err != nil {
			return err
		}
		rep.Score = res.Models[0]
		if rep.Score.Failures > 0 {
			return prevoir.Errorf(prevoir.EINVALID, "model %s failed at %d of %d backtest origins: %s", name, rep.Score.Failures, opts.Origins, rep.Score.Error)
		}
		var b bytes.Buffer
		if err := backtest.WriteJSON(&b, res); err != nil {
			return err
		}
		if _, err := run.LogArtifact(ctx, prevoir.BacktestArtifact, b.Bytes()); err != nil {
			return err
		}
		if err := run.LogMetrics(ctx, rep.Score.Metrics()); err != nil {
			return err
		}
		// The final fit on all the data proves the model works on today's frame, and records
		// the training curve of any network it trains. A metric the store refuses fails the run
		// once the fit is done (the first error is kept, no later epoch is written): the run of
		// a registered version must hold what it says it holds, and a store that refuses a
		// metric would refuse the artifacts next.
		var (
			mu     sync.Mutex
			logErr error
		)
		fitted, err := models.FitFinal(ctx, fc, frame, func(epoch int, metric string, value float64) {
			mu.Lock()
			defer mu.Unlock()
			if logErr == nil {
				logErr = run.LogMetric(ctx, metric, value, int64(epoch))
			}
		})
		if err != nil {
			return fmt.Errorf("fit %s: %w", name, err)
		}
		if logErr != nil {
			return fmt.Errorf("record the training curve of %s: %w", name, logErr)
		}
		if _, err := fitted.Predict(ctx, prevoir.DefaultHorizon, prevoir.DefaultQuantiles()); err != nil {
			return fmt.Errorf("predict with %s: %w", name, err)
		}
		spec := ModelSpec{Family: name, FittedUntil: frame.Dates[frame.Len()-1], Horizon: prevoir.DefaultHorizon, Quantiles: prevoir.DefaultQuantiles()}
		if spec.Pinned, err = f.pin(ctx, run, fitted); err != nil {
			return fmt.Errorf("pin %s: %w", name, err)
		}
		sb, err := json.MarshalIndent(spec, "", "  ")
		if err != nil {
			return fmt.Errorf("encode the model spec of %s: %w", name, err)
		}
		_, err = run.LogArtifact(ctx, prevoir.ModelSpecArtifact, sb)
		return err
	})
	if err != nil {
		return rep, err
	}
	// Registered only once the run finished: a crash before leaves no version.
	v := &prevoir.ModelVersion{Model: f.RegisteredModel, Family: name, RunID: rep.RunID, ArtifactPath: prevoir.ModelSpecArtifact,
		Metrics: rep.Score.Metrics(), Batch: batch, Description: "batch " + batch}
	if err := f.Registry.CreateModelVersion(ctx, v); err != nil {
		return rep, err
	}
	rep.Version = v
	f.logger().InfoContext(ctx, "model trained and registered", "model", name, "version", v.Version, "mae", float64(rep.Score.MAE))
	return rep, nil
}

// pin records the fitted model's pinned state, and the blobs it names, as the run's artifacts.
func (f *Flows) pin(ctx context.Context, run *tracking.Run, fitted prevoir.Fitted) (*PinnedRef, error) {
	saved, err := models.Save(ctx, fitted)
	if err != nil {
		return nil, err
	}
	ref := &PinnedRef{Artifact: prevoir.PinnedArtifact, Summary: saved.Summary}
	for _, name := range slices.Sorted(maps.Keys(saved.Blobs)) {
		if _, err := run.LogArtifact(ctx, name, saved.Blobs[name]); err != nil {
			return nil, err
		}
		ref.Blobs = append(ref.Blobs, name)
	}
	a, err := run.LogArtifact(ctx, prevoir.PinnedArtifact, saved.State)
	if err != nil {
		return nil, err
	}
	ref.SHA256 = a.SHA256
	return ref, nil
}

// SelectReport is the champion rule's outcome for a batch.
type SelectReport struct {
	RunID    string
	Decision backtest.Decision
	Champion *prevoir.ModelVersion
	Changed  bool
}

// SelectChampion applies the champion rule (backtest.SelectBatch) to the models of a training
// batch: it loads what the rule needs — the backtests of the batch's versions, the current
// champion and its own backtest — and stores what it decides: the decision, with every number
// it used, as the select run's artifact and the alias change's reason, and the champion alias.
// When the rule names no champion (no model eligible, nothing observed to rank them on), the
// alias does not move and the selection fails with the decision's reason.
func (f *Flows) SelectChampion(ctx context.Context, batch string, names []string, opts TrainOptions) (*SelectReport, error) {
	names, cerr := canonicalNames(names) // as TrainModel registered them
	if cerr != nil {
		return nil, cerr
	}
	rep := &SelectReport{}
	params := map[string]string{"batch": batch, "models": strings.Join(names, ","),
		"champion_margin": strconv.FormatFloat(opts.Champion.Margin, 'g', -1, 64), "min_coverage": strconv.FormatFloat(opts.MinCoverage80, 'g', -1, 64)}
	err := f.track(ctx, &prevoir.Run{Kind: prevoir.RunSelect, Name: "select_champion", Params: params},
		func(run *tracking.Run) error {
			rep.RunID = run.ID
			versions := map[string]*prevoir.ModelVersion{}
			all, err := f.Registry.ListModelVersions(ctx, f.RegisteredModel)
			if err != nil {
				return err
			}
			for _, v := range all {
				if v.Batch == batch && slices.Contains(names, v.Family) && versions[v.Family] == nil {
					versions[v.Family] = v
				}
			}
			var results []*backtest.Result
			for _, name := range names {
				v := versions[name]
				if v == nil {
					f.logger().WarnContext(ctx, "model of the batch not registered (its training failed): not a candidate", "model", name, "batch", batch)
					continue
				}
				res, err := f.readBacktest(ctx, v)
				if err != nil {
					return err
				}
				results = append(results, res)
			}
			cur, err := f.Registry.ResolveAlias(ctx, f.RegisteredModel, prevoir.AliasChampion)
			if prevoir.ErrorCode(err) == prevoir.ENOTFOUND {
				cur, err = nil, nil
			}
			if err != nil {
				return err
			}
			var curBacktest *backtest.Result
			if cur != nil && versions[cur.Family] == nil && len(results) > 0 {
				// Not retrained in this batch: the rule compares it on its own backtest, if it
				// has one on the same origins. (A batch with no model fails on that alone.)
				if curBacktest, err = f.readBacktest(ctx, cur); prevoir.ErrorCode(err) == prevoir.ENOTFOUND {
					curBacktest, err = nil, nil
				}
				if err != nil {
					return err
				}
			}
			copts := opts.Champion
			copts.MinCoverage80 = opts.MinCoverage80
			dec, board, derr := backtest.SelectBatch(batch, results, cur, curBacktest, copts)
			rep.Decision = dec
			if dec.Reason != "" {
				b, err := json.MarshalIndent(dec, "", "  ")
				if err != nil {
					return fmt.Errorf("batch %s: encode the decision: %w", batch, err)
				}
				if _, err := run.LogArtifact(ctx, prevoir.DecisionArtifact, b); err != nil {
					return err
				}
			}
			if derr != nil {
				return derr
			}
			if board != nil {
				// The batch's leaderboard, in the backtest command's format, for the dashboard.
				var mb bytes.Buffer
				if err := backtest.WriteJSON(&mb, board); err != nil {
					return err
				}
				if _, err := run.LogArtifact(ctx, prevoir.BacktestArtifact, mb.Bytes()); err != nil {
					return err
				}
			}
			win := versions[dec.Champion]
			if win == nil {
				// The rule kept a current champion that this batch did not retrain.
				rep.Champion = cur
				return nil
			}
			rep.Champion = win
			if cur != nil && cur.Version == win.Version {
				return nil
			}
			rep.Changed = true
			_, err = f.Registry.SetAlias(ctx, f.RegisteredModel, prevoir.AliasChampion, win.Version, dec.Reason+" (decision: run "+run.ID+" "+prevoir.DecisionArtifact+")")
			return err
		})
	if err == nil {
		f.sweep(ctx)
	}
	return rep, err
}

// sweep removes from the artifact store what failed runs and interrupted writes left there,
// once they are older than the grace period. It runs after each champion selection, the end of
// a training, the work that stores the most; a failure is logged, and the selection stands.
func (f *Flows) sweep(ctx context.Context) {
	if _, err := f.Tracker.Sweep(ctx, tracking.SweepOptions{}); err != nil {
		f.logger().WarnContext(ctx, "artifact sweep failed; the next training sweeps again", "err", err)
	}
}

// readBacktest returns the backtest stored with version v's training run.
func (f *Flows) readBacktest(ctx context.Context, v *prevoir.ModelVersion) (*backtest.Result, error) {
	b, err := f.Tracker.ReadArtifact(ctx, v.RunID, prevoir.BacktestArtifact)
	if err != nil {
		return nil, err
	}
	res, err := backtest.ReadJSON(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("%s v%d: %w", v.Model, v.Version, err)
	}
	return res, nil
}

// Train trains every model of names as one batch and applies the champion rule: what a train
// job does through its fan-out, in one process.
func (f *Flows) Train(ctx context.Context, names []string, opts TrainOptions) (*SelectReport, []error) {
	batch := "run-" + prevoir.NewRunID()[:12]
	frame, err := f.Ingester.Frame(ctx, f.Sources, f.FrameOptions)
	if err != nil {
		return nil, []error{err}
	}
	var errs []error
	for _, n := range names {
		if _, err := f.trainModel(ctx, frame, batch, n, opts); err != nil {
			errs = append(errs, fmt.Errorf("train %s: %w", n, err))
			if ctx.Err() != nil {
				return nil, errs
			}
		}
	}
	rep, err := f.SelectChampion(ctx, batch, names, opts)
	if err != nil {
		errs = append(errs, err)
	}
	return rep, errs
}
