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

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/backtest"
	"github.com/prevoir/prevoir/csvsource"
	"github.com/prevoir/prevoir/forecast/models"
	"github.com/prevoir/prevoir/forecast/neural"
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

// ModelSpec is the "model.json" artifact of a training run: what the forecast flow needs to
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

// backtestOrigins returns the weekly origins ending with the last day whose whole horizon is
// observed: the same for every model of a batch trained on the same frame.
func backtestOrigins(frame *prevoir.Frame, n int) (from, to prevoir.Date) {
	o := backtest.Options{}.WithOrigins(frame.Dates[frame.Len()-1], n)
	return o.From, o.To
}

// TrainModel trains one model as part of a batch: it backtests it on the recent origins,
// fits it on all the data, records the run (metrics, backtest, model spec) and registers a new
// version of the forecasting task. batch ties the models trained together for the champion rule.
func (f *Flows) TrainModel(ctx context.Context, batch, name string, opts TrainOptions) (*TrainReport, error) {
	opts = opts.withDefaults()
	fc, err := models.Lookup(name)
	if err != nil {
		return nil, err
	}
	name = fc.Name() // the canonical name ("ets+cp+hol" is recorded as ets+hol+cp)
	if opts.Epochs > 0 {
		fc = models.WithEpochs(fc, opts.Epochs)
	}
	frame, err := f.Ingester.Frame(ctx, f.Sources, f.FrameOptions)
	if err != nil {
		return nil, err
	}
	from, to := backtestOrigins(frame, opts.Origins)
	rep := &TrainReport{}
	params := map[string]string{"model": name, "batch": batch, "backtest_from": from.String(), "backtest_to": to.String(),
		"backtest_every": strconv.Itoa(backtest.DefaultEvery), "horizon": strconv.Itoa(prevoir.DefaultHorizon)}
	if opts.Epochs > 0 {
		params["epochs"] = strconv.Itoa(opts.Epochs)
	}
	err = f.track(ctx, &prevoir.Run{Kind: prevoir.RunTrain, Name: name, Params: params, Tags: map[string]string{"batch": batch},
		Lineage: f.Lineage(frame)}, func(run *tracking.Run) error {
		rep.RunID = run.ID
		res, err := backtest.Run(ctx, frame, []prevoir.Forecaster{fc}, backtest.Options{From: from, To: to})
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
		// The final fit on all the data proves the model works on today's frame; a network's
		// weights are kept (the forecast flow does not retrain it), with its training curve.
		final := fc
		if nf, ok := fc.(neural.Forecaster); ok {
			nf.Refit = nil
			nf.Options.Progress = func(p neural.Progress) {
				run.LogMetric(ctx, "train_mse", p.TrainMSE, int64(p.Epoch))
			}
			final = nf
		}
		fitted, err := final.Fit(ctx, frame)
		if err != nil {
			return fmt.Errorf("fit %s: %w", name, err)
		}
		if _, err := fitted.Predict(ctx, prevoir.DefaultHorizon, prevoir.DefaultQuantiles()); err != nil {
			return fmt.Errorf("predict with %s: %w", name, err)
		}
		spec := ModelSpec{Family: name, FittedUntil: frame.Dates[frame.Len()-1], Horizon: prevoir.DefaultHorizon, Quantiles: prevoir.DefaultQuantiles()}
		if spec.Pinned, err = f.pin(ctx, run, fitted); err != nil {
			return fmt.Errorf("pin %s: %w", name, err)
		}
		sb, _ := json.MarshalIndent(spec, "", "  ")
		_, err = run.LogArtifact(ctx, prevoir.ModelSpecArtifact, sb)
		return err
	})
	if err != nil {
		return rep, err
	}
	// Registered only once the run finished: a crash before leaves no version.
	v := &prevoir.ModelVersion{Model: f.RegisteredModel, Family: name, RunID: rep.RunID, ArtifactPath: prevoir.ModelSpecArtifact,
		Metrics: rep.Score.Metrics(), Description: "batch " + batch}
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

// SelectChampion applies the champion rule to the models of a training batch: their backtests
// (the same origins) are merged and ranked; the champion alias moves to the best one's version
// unless the current champion stays within the margin. The decision, with every number it used,
// is the alias change's reason and the select run's artifact. When the rule names no champion
// (no model eligible, nothing observed to rank them on), the alias does not move and the
// selection fails with the decision's reason.
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
			merged := &backtest.Result{}
			versions := map[string]*prevoir.ModelVersion{}
			all, err := f.Registry.ListModelVersions(ctx, f.RegisteredModel)
			if err != nil {
				return err
			}
			for _, v := range all {
				if v.Description == "batch "+batch && slices.Contains(names, v.Family) && versions[v.Family] == nil {
					versions[v.Family] = v
				}
			}
			for _, name := range names {
				v := versions[name]
				if v == nil {
					f.logger().WarnContext(ctx, "model of the batch not registered (its training failed): not a candidate", "model", name, "batch", batch)
					continue
				}
				b, err := f.Tracker.ReadArtifact(ctx, v.RunID, prevoir.BacktestArtifact)
				if err != nil {
					return err
				}
				res, err := backtest.ReadJSON(bytes.NewReader(b))
				if err != nil {
					return err
				}
				if merged.Protocol.Target == "" {
					// The references are the same for every model of the batch (same frame,
					// same origins).
					merged.Protocol, merged.Reference = res.Protocol, res.Reference
				}
				merged.Models = append(merged.Models, res.Models...)
				merged.Forecasts = append(merged.Forecasts, res.Forecasts...)
				merged.Weekly = append(merged.Weekly, res.Weekly...)
				merged.Fits = append(merged.Fits, res.Fits...)
			}
			if len(merged.Models) == 0 {
				return prevoir.Errorf(prevoir.EINVALID, "batch %s: no model was trained successfully", batch)
			}
			// Every model of the batch is a candidate; the rule's gate keeps those that may
			// not serve (no calibrated intervals, ...) from being champion.
			copts := opts.Champion
			copts.MinCoverage80, copts.Candidates = opts.MinCoverage80, nil
			current := ""
			cur, err := f.Registry.ResolveAlias(ctx, f.RegisteredModel, prevoir.AliasChampion)
			if err == nil {
				current = cur.Family
			} else if prevoir.ErrorCode(err) != prevoir.ENOTFOUND {
				return err
			}
			if cur != nil && versions[cur.Family] == nil {
				// The champion was not retrained in this batch (a training of a few models):
				// it competes with its own backtest if that was made on the same origins, and
				// otherwise it stays, since nothing comparable says a challenger is better.
				ok, err := f.mergeChampion(ctx, merged, cur)
				if err != nil {
					return err
				}
				if !ok {
					rep.Champion = cur
					rep.Decision = backtest.Decision{Champion: cur.Family, Current: cur.Family,
						Reason: fmt.Sprintf("current champion %s v%d kept: it was not retrained in batch %s and its backtest is on other origins, so the batch's models cannot be compared with it", cur.Family, cur.Version, batch)}
					b, _ := json.MarshalIndent(rep.Decision, "", "  ")
					_, err := run.LogArtifact(ctx, prevoir.DecisionArtifact, b)
					return err
				}
			}
			dec, derr := backtest.Champion(merged, current, copts)
			rep.Decision = dec
			b, _ := json.MarshalIndent(dec, "", "  ")
			if _, err := run.LogArtifact(ctx, prevoir.DecisionArtifact, b); err != nil {
				return err
			}
			if derr != nil {
				kept := "there is no champion"
				if cur != nil {
					kept = fmt.Sprintf("the champion stays %s v%d", cur.Family, cur.Version)
				}
				return prevoir.Errorf(prevoir.EINVALID, "batch %s: %s; %s", batch, dec.Reason, kept)
			}
			// The batch's leaderboard, in the backtest command's format, for the dashboard.
			merged.Champion, merged.Decision = dec.Champion, dec
			backtest.SortModels(merged.Models)
			var mb bytes.Buffer
			if err := backtest.WriteJSON(&mb, merged); err != nil {
				return err
			}
			if _, err := run.LogArtifact(ctx, prevoir.BacktestArtifact, mb.Bytes()); err != nil {
				return err
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
			_, err = f.Registry.SetAlias(ctx, f.RegisteredModel, prevoir.AliasChampion, win.Version, dec.Reason+" (decision: run "+run.ID+" decision.json)")
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

// mergeChampion adds the current champion's own backtest to a batch's merged result when it
// was made on the same origins (the same frame); it reports whether it did.
func (f *Flows) mergeChampion(ctx context.Context, merged *backtest.Result, cur *prevoir.ModelVersion) (bool, error) {
	b, err := f.Tracker.ReadArtifact(ctx, cur.RunID, prevoir.BacktestArtifact)
	if prevoir.ErrorCode(err) == prevoir.ENOTFOUND {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	res, err := backtest.ReadJSON(bytes.NewReader(b))
	if err != nil {
		return false, err
	}
	if !slices.Equal(res.Protocol.Origins, merged.Protocol.Origins) || res.Protocol.Horizon != merged.Protocol.Horizon {
		return false, nil
	}
	merged.Models = append(merged.Models, res.Models...)
	merged.Forecasts = append(merged.Forecasts, res.Forecasts...)
	merged.Weekly = append(merged.Weekly, res.Weekly...)
	merged.Fits = append(merged.Fits, res.Fits...)
	return true, nil
}

// Train trains every model of names as one batch and applies the champion rule: what a train
// job does through its fan-out, in one process.
func (f *Flows) Train(ctx context.Context, names []string, opts TrainOptions) (*SelectReport, []error) {
	batch := "run-" + prevoir.NewRunID()[:12]
	var errs []error
	for _, n := range names {
		if _, err := f.TrainModel(ctx, batch, n, opts); err != nil {
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
