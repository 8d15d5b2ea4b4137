package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/backtest"
	"github.com/prevoir/prevoir/flow"
	"github.com/prevoir/prevoir/forecast/models"
	"github.com/prevoir/prevoir/jobs"
	"github.com/prevoir/prevoir/monitor"
	"github.com/prevoir/prevoir/sqlstore"
)

// pipelineFlags are the settings of the flows. Each command registers those it uses, so that
// its help lists them and no other (see register, registerFlows, registerJobs).
type pipelineFlags struct {
	sources sourceFlags
	frame   frameFlags
	// targetFlags: the commands that take --target register it themselves (register adds
	// only the deprecated --registered-model).
	targetFlags
	trainModels    string
	train          flow.TrainOptions
	monitor        monitor.Options
	retrainOnDrift bool
}

// register adds what every command that builds the frame and reads the registry uses
// (backtest, run, worker, serve): the sources, the frame settings, and the deprecated
// --registered-model (a target's name), which the flows follow (see flows).
func (p *pipelineFlags) register(cmd *cobra.Command) {
	p.registerFrame(cmd)
	p.registerAlias(cmd)
}

// registerFrame adds what building the frame from the stored snapshots uses: the sources and
// the frame settings (models promote and rollback forecast with the new champion so).
func (p *pipelineFlags) registerFrame(cmd *cobra.Command) {
	p.sources.registerNames(cmd)
	p.frame.register(cmd)
}

// registerFlows adds what running the flows uses (run, worker, serve): where the sources are
// fetched from, the alerts' thresholds and the training settings.
func (p *pipelineFlags) registerFlows(cmd *cobra.Command) {
	p.register(cmd)
	p.sources.registerLocation(cmd)
	fl := cmd.Flags()
	floatVar(fl, &p.monitor.DriftFactor, "alert-drift-factor", 1.5, moreThan(0), "alert when the champion's live MAE over its last "+strconv.Itoa(prevoir.LiveWindow)+" scored days exceeds this times its backtest MAE")
	durationVar(fl, &p.monitor.StaleAfter, "alert-stale-after", 96*time.Hour, moreThan(0), "alert when a source has not changed for longer than this")
	fl.StringVar(&p.trainModels, "models", "", "models a training trains, the same for every target (comma-separated; see prevoir backtest --help; default: each target's own defaults)")
	intVar(fl, &p.train.Epochs, "epochs", 0, atLeast(1), "epochs of the neural models (default: their own, 100)")
	intVar(fl, &p.train.Origins, "train-origins", backtest.DefaultChampionWindow, atLeast(1), "weekly origins each model is backtested on when trained")
	floatVar(fl, &p.train.Champion.Margin, "champion-margin", backtest.DefaultChampionMargin, between(0, 1), "relative MAE improvement a challenger needs to replace the champion (0: any improvement)")
	floatVar(fl, &p.train.MinCoverage80, "min-coverage", backtest.DefaultMinCoverage80, between(0, 1), minCoverageUsage)
}

// registerJobs adds, to the flows' settings, what working the queue's jobs uses (worker, serve).
func (p *pipelineFlags) registerJobs(cmd *cobra.Command) {
	p.registerFlows(cmd)
	cmd.Flags().BoolVar(&p.retrainOnDrift, "retrain-on-drift", true, "queue an early training when the champion's live error drifts (see --alert-drift-factor)")
}

// models returns the models of --models, or the default target's defaults when none are named.
func (p *pipelineFlags) models() []string {
	t, _ := prevoir.LookupTarget(prevoir.DefaultTarget)
	return p.modelsFor(t)
}

// modelsFor returns the models a training of target t trains: those of --models, the same for
// every target, or t's own defaults when none are named.
func (p *pipelineFlags) modelsFor(t prevoir.Target) []string {
	var out []string
	for _, m := range strings.Split(p.trainModels, ",") {
		if m = strings.TrimSpace(m); m != "" {
			out = append(out, m)
		}
	}
	if len(out) == 0 {
		return models.TrainDefaults(t)
	}
	return out
}

// flows builds the flows on the opened stores: those of the target the deprecated
// --registered-model names, or of the default target.
func (a *app) flows(cmd *cobra.Command, p *pipelineFlags) (*flow.Flows, error) {
	t, err := (&targetFlags{registeredModel: p.registeredModel}).target("")
	if err != nil {
		return nil, err
	}
	f, err := a.baseFlows(cmd, p)
	if err != nil {
		return nil, err
	}
	return f.For(t), nil
}

// baseFlows builds the flows of the default target on the opened stores, the base of every
// target's (f.For(t)).
func (a *app) baseFlows(cmd *cobra.Command, p *pipelineFlags) (*flow.Flows, error) {
	srcs, err := p.sources.sources()
	if err != nil {
		return nil, err
	}
	fopts, err := p.frame.options()
	if err != nil {
		return nil, err
	}
	svc, err := a.ingestService(cmd)
	if err != nil {
		return nil, err
	}
	tr, reg, err := a.tracker(cmd)
	if err != nil {
		return nil, err
	}
	cfg, _ := json.Marshal(a.effectiveConfig(cmd))
	return &flow.Flows{
		Sources: srcs, Ingester: svc, Tracker: tr, Registry: reg, Forecasts: sqlstore.NewForecastStore(a.db),
		RegisteredModel: prevoir.DefaultTarget, FrameOptions: fopts, Logger: a.logger, Config: string(cfg),
		Monitor: p.monitor, RetrainOnDrift: p.retrainOnDrift,
	}, nil
}

// effectiveConfig is the command's settings with their values, without secrets, recorded
// with every run.
func (a *app) effectiveConfig(cmd *cobra.Command) map[string]string {
	m := map[string]string{}
	for name := range a.origins {
		if f := cmd.Flags().Lookup(name); f != nil {
			m[name] = shownValue(f, f.Value.String())
		}
	}
	return m
}

// queueFlags configure the job queue.
type queueFlags struct {
	cfg jobs.Config
}

func (q *queueFlags) register(cmd *cobra.Command) {
	def := jobs.DefaultConfig()
	q.cfg = def
	fl := cmd.Flags()
	intVar(fl, &q.cfg.Workers, "job-workers", def.Workers, atLeast(1), "jobs this process runs at once")
	renamedFlag(cmd, "workers", "job-workers")
	durationVar(fl, &q.cfg.RetryBase, "retry-base", def.RetryBase, moreThan(0), "wait before the first retry of a transient failure (doubles each attempt, up to 1h)")
	intVar(fl, &q.cfg.MaxAttempts, "max-attempts", def.MaxAttempts, atLeast(1), "attempts of a job that keeps failing transiently")
	durationVar(fl, &q.cfg.RescueAfter, "rescue-after", def.RescueAfter, atLeast(float64(time.Second)), "lease of the jobs this process runs: a job whose process stops renewing it for this long (it died, or lost the database) is handed on by any serve or worker, whatever the job's timeout")
	durationVar(fl, &q.cfg.JobTimeout, "job-timeout", 0, moreThan(0), "timeout of every job (default: per kind: 15m ingest and forecast, 10m score, 2h per trained model)")
	fl.StringVar(&q.cfg.IngestSchedule, "ingest-schedule", def.IngestSchedule, "cron schedule of ingest (then forecast and score), with an optional CRON_TZ= prefix")
	fl.StringVar(&q.cfg.TrainSchedule, "train-schedule", def.TrainSchedule, "cron schedule of training, with an optional CRON_TZ= prefix")
	fl.StringSliceVar(&q.cfg.Targets, "targets", []string{prevoir.AllTargets}, "targets the schedules train, forecast and score, and this process when a job names none (comma-separated, or all: "+strings.Join(prevoir.TargetNames(), ",")+")")
}

// handlers maps the job kinds onto the flows of each job's target (flow.Flows.For). A job
// naming an unknown target fails at once (EINVALID, not retried).
func handlers(f *flow.Flows, p *pipelineFlags) *jobs.Handlers {
	forTarget := func(name string) (*flow.Flows, error) {
		t, err := prevoir.LookupTarget(name)
		if err != nil {
			return nil, err
		}
		return f.For(t), nil
	}
	return &jobs.Handlers{
		Ingest: func(ctx context.Context) error { _, err := f.Ingest(ctx); return err },
		Score: func(ctx context.Context, target string) (bool, error) {
			tf, err := forTarget(target)
			if err != nil {
				return false, err
			}
			return tf.ScoreAndDecide(ctx)
		},
		Forecast: func(ctx context.Context, target string) error {
			tf, err := forTarget(target)
			if err != nil {
				return err
			}
			_, err = tf.Forecast(ctx)
			return err
		},
		TrainModel: func(ctx context.Context, target, batch, model string, epochs int) error {
			tf, err := forTarget(target)
			if err != nil {
				return err
			}
			opts := p.train
			if epochs > 0 {
				opts.Epochs = epochs
			}
			_, err = tf.TrainModel(ctx, batch, model, opts)
			return err
		},
		SelectChampion: func(ctx context.Context, target, batch string, models []string) (int, error) {
			tf, err := forTarget(target)
			if err != nil {
				return 0, err
			}
			rep, err := tf.SelectChampion(ctx, batch, models, p.train)
			if err != nil || rep.Champion == nil {
				return 0, err
			}
			return rep.Champion.Version, nil
		},
		Models: func(target string) []string {
			t, err := prevoir.LookupTarget(target)
			if err != nil {
				return nil
			}
			return p.modelsFor(t)
		},
	}
}

// openQueue opens the job queue with the flows as handlers.
func (a *app) openQueue(cmd *cobra.Command, f *flow.Flows, p *pipelineFlags, q *queueFlags) (*jobs.Queue, error) {
	var h *jobs.Handlers
	if f != nil {
		h = handlers(f, p)
	}
	if _, err := prevoir.ParseTargets(q.cfg.Targets); err != nil {
		return nil, usageError{fmt.Errorf("%s: %w", a.origins["targets"], err)}
	}
	// q.cfg.ID is empty: jobs.Open names the process tracking.Owner(), the name runs record.
	return jobs.Open(cmd.Context(), a.db, h, q.cfg, a.logger)
}
