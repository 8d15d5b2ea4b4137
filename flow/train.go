package flow

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"

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
}

func (o TrainOptions) withDefaults() TrainOptions {
	if o.Origins <= 0 {
		o.Origins = backtest.DefaultChampionWindow
	}
	return o
}

// ModelSpec is the "model.json" artifact of a training run: what the forecast flow needs to
// rebuild the model. Statistical models are refitted on the latest data at each forecast
// (milliseconds), so their spec is their registered name.
type ModelSpec struct {
	Family string `json:"family"`
	// FittedUntil is the last day of the data the model was trained on.
	FittedUntil prevoir.Date `json:"fitted_until"`
	Horizon     int          `json:"horizon"`
	Quantiles   []float64    `json:"quantiles"`
}

// Artifact names.
const (
	ModelSpecArtifact = "model.json"
	BacktestArtifact  = "backtest.json"
)

// TrainReport is what training one model did.
type TrainReport struct {
	RunID   string
	Version *prevoir.ModelVersion
	Score   backtest.ModelScore
}

// lineage records the frame and snapshots a run uses.
func (f *Flows) lineage(frame *prevoir.Frame) prevoir.Lineage {
	l := prevoir.Lineage{Snapshots: map[string]string{}, FrameSHA256: csvsource.FrameSHA256(frame), Config: f.Config, CodeVersion: tracking.CodeVersion()}
	for _, s := range frame.Sources {
		l.Snapshots[s.Source] = s.SHA256
	}
	return l
}

// backtestOrigins returns the weekly origins ending with the last day whose whole horizon is
// observed: the same for every model of a batch trained on the same frame.
func backtestOrigins(frame *prevoir.Frame, n int) (from, to prevoir.Date) {
	to = frame.Dates[frame.Len()-1] - prevoir.DefaultHorizon
	return to - prevoir.Date((n-1)*backtest.DefaultEvery), to
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
		Lineage: f.lineage(frame)}, func(run *tracking.Run) error {
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
		if _, err := run.LogArtifact(ctx, BacktestArtifact, b.Bytes()); err != nil {
			return err
		}
		if err := run.LogMetrics(ctx, scoreMetrics(rep.Score)); err != nil {
			return err
		}
		// The final fit on all the data proves the model works on today's frame.
		fitted, err := fc.Fit(ctx, frame)
		if err != nil {
			return fmt.Errorf("fit %s: %w", name, err)
		}
		if _, err := fitted.Predict(ctx, prevoir.DefaultHorizon, prevoir.DefaultQuantiles()); err != nil {
			return fmt.Errorf("predict with %s: %w", name, err)
		}
		spec, _ := json.MarshalIndent(ModelSpec{Family: name, FittedUntil: frame.Dates[frame.Len()-1], Horizon: prevoir.DefaultHorizon,
			Quantiles: prevoir.DefaultQuantiles()}, "", "  ")
		_, err = run.LogArtifact(ctx, ModelSpecArtifact, spec)
		return err
	})
	if err != nil {
		return rep, err
	}
	// Registered only once the run finished: a crash before leaves no version.
	v := &prevoir.ModelVersion{Model: f.RegisteredModel, Family: name, RunID: rep.RunID, ArtifactPath: ModelSpecArtifact,
		Metrics: scoreMetrics(rep.Score), Description: "batch " + batch}
	if err := f.Registry.CreateModelVersion(ctx, v); err != nil {
		return rep, err
	}
	rep.Version = v
	f.logger().InfoContext(ctx, "model trained and registered", "model", name, "version", v.Version, "mae", float64(rep.Score.MAE))
	return rep, nil
}

// less orders MAEs with NaN (a model that could not be scored) last.
func less(a, b backtest.Number) bool {
	if math.IsNaN(float64(b)) {
		return !math.IsNaN(float64(a))
	}
	return float64(a) < float64(b)
}

func scoreMetrics(s backtest.ModelScore) map[string]float64 {
	return map[string]float64{"mae": float64(s.MAE), "rmse": float64(s.RMSE), "mase": float64(s.MASE), "wis": float64(s.WIS),
		"coverage_80": float64(s.Coverage80), "coverage_95": float64(s.Coverage95), "fit_seconds": s.FitSeconds}
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
// is the alias change's reason and the select run's artifact.
func (f *Flows) SelectChampion(ctx context.Context, batch string, names []string, opts TrainOptions) (*SelectReport, error) {
	rep := &SelectReport{}
	err := f.track(ctx, &prevoir.Run{Kind: prevoir.RunSelect, Name: "select_champion", Params: map[string]string{"batch": batch, "models": strings.Join(names, ",")}},
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
				b, err := f.Tracker.ReadArtifact(ctx, v.RunID, BacktestArtifact)
				if err != nil {
					return err
				}
				res, err := backtest.ReadJSON(bytes.NewReader(b))
				if err != nil {
					return err
				}
				if merged.Protocol.Target == "" {
					merged.Protocol = res.Protocol
				}
				merged.Models = append(merged.Models, res.Models...)
				merged.Forecasts = append(merged.Forecasts, res.Forecasts...)
				merged.Fits = append(merged.Fits, res.Fits...)
			}
			if len(merged.Models) == 0 {
				return prevoir.Errorf(prevoir.EINVALID, "batch %s: no model was trained successfully", batch)
			}
			current := ""
			cur, err := f.Registry.ResolveAlias(ctx, f.RegisteredModel, prevoir.AliasChampion)
			if err == nil {
				current = cur.Family
			} else if prevoir.ErrorCode(err) != prevoir.ENOTFOUND {
				return err
			}
			dec, err := backtest.Champion(merged, current, opts.Champion)
			if err != nil {
				return err
			}
			rep.Decision = dec
			b, _ := json.MarshalIndent(dec, "", "  ")
			if _, err := run.LogArtifact(ctx, "decision.json", b); err != nil {
				return err
			}
			// The batch's leaderboard, in the backtest command's format, for the dashboard.
			merged.Champion, merged.Decision = dec.Champion, dec
			sort.SliceStable(merged.Models, func(i, j int) bool { return less(merged.Models[i].MAE, merged.Models[j].MAE) })
			var mb bytes.Buffer
			if err := backtest.WriteJSON(&mb, merged); err != nil {
				return err
			}
			if _, err := run.LogArtifact(ctx, BacktestArtifact, mb.Bytes()); err != nil {
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
	return rep, err
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
