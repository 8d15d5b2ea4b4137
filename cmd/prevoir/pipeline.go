package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
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

// defaultTrainModels are the models a training trains when none are named: the candidates
// and the original project's networks, with conformal intervals (+cp) so that they can be
// champion.
func defaultTrainModels() string {
	return strings.Join(append(models.Candidates(), "rnn+cp", "tcn+cp", "transformer+cp"), ",")
}

// pipelineFlags are the settings of the flows. Each command registers those it uses, so that
// its help lists them and no other (see register, registerFlows, registerJobs).
type pipelineFlags struct {
	sources         sourceFlags
	frame           frameFlags
	registeredModel string
	trainModels     string
	train           flow.TrainOptions
	monitor         monitor.Options
	retrainOnDrift  bool
}

// register adds what every command that builds the frame and reads the registry uses
// (backtest, run, worker, serve): the sources, the frame settings, the registered model.
func (p *pipelineFlags) register(cmd *cobra.Command) {
	p.registerFrame(cmd)
	cmd.Flags().StringVar(&p.registeredModel, "registered-model", prevoir.DefaultTarget, "name of the forecasting task in the model registry")
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
	floatVar(fl, &p.monitor.DriftFactor, "alert-drift-factor", 1.5, moreThan(0), "alert when the champion's live MAE over its last 14 scored days exceeds this times its backtest MAE")
	durationVar(fl, &p.monitor.StaleAfter, "alert-stale-after", 96*time.Hour, moreThan(0), "alert when a source has not changed for longer than this")
	fl.StringVar(&p.trainModels, "models", defaultTrainModels(), "models a training trains (comma-separated; see prevoir backtest --help)")
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

func (p *pipelineFlags) models() []string {
	var out []string
	for _, m := range strings.Split(p.trainModels, ",") {
		if m = strings.TrimSpace(m); m != "" {
			out = append(out, m)
		}
	}
	return out
}

// flows builds the flows on the opened stores.
func (a *app) flows(cmd *cobra.Command, p *pipelineFlags) (*flow.Flows, error) {
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
		RegisteredModel: p.registeredModel, FrameOptions: fopts, Logger: a.logger, Config: string(cfg),
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

func (a *app) runCommand() *cobra.Command {
	var p pipelineFlags
	cmd := &cobra.Command{
		Use:   "run FLOW",
		Short: "Run one flow now, in the foreground: ingest, train, forecast or score",
		Long: `Run one flow now, in the foreground, recorded as a run like the scheduled ones, and exit
non-zero if it fails:

  ingest    fetch both sources, store new releases, rebuild the frame
  train     backtest and train every model of --models, register a version of each, and
            apply the champion rule (the champion alias moves, with its reason); a new
            champion forecasts at once
  forecast  forecast the next 14 days with the champion, with quantiles, and store it
  score     score every stored forecast whose days have been observed since`,
		Example: `  prevoir run ingest --source-dir ../shared/data
  prevoir run train --models snaive,ets,theta
  prevoir run forecast
  prevoir run score`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := a.flows(cmd, &p)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			switch args[0] {
			case "ingest":
				rep, err := f.Ingest(ctx)
				if rep != nil && len(rep.Results) > 0 {
					if perr := printResults(a, rep.Results); perr != nil {
						return errors.Join(err, perr)
					}
				}
				if rep != nil {
					printAlerts(a, rep.Alerts)
				}
				if err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "frame: %d days, %s .. %s (run %s)\n", rep.Frame.Len(), rep.Frame.Dates[0], rep.Frame.Dates[rep.Frame.Len()-1], rep.RunID)
			case "train":
				names := p.models()
				if _, err := models.Parse(strings.Join(names, ",")); err != nil {
					return usageError{fmt.Errorf("--models: %w", err)}
				}
				rep, errs := f.Train(ctx, names, p.train)
				for _, err := range errs {
					fmt.Fprintf(a.stderr, "prevoir: %v\n", err)
				}
				if rep != nil && rep.Champion != nil {
					fmt.Fprintf(a.stdout, "champion: %s v%d (changed: %v) — %s\n", rep.Champion.Family, rep.Champion.Version, rep.Changed, rep.Decision.Reason)
				}
				var ferr error
				if rep != nil && rep.Champion != nil {
					// The served forecast is the champion's: a new one forecasts now, as after
					// the queue's training (an unchanged one has usually forecast already),
					// even when some model of the batch failed.
					ferr = a.forecastChampion(ctx, f)
				}
				if len(errs) > 0 {
					if ferr != nil {
						fmt.Fprintf(a.stderr, "prevoir: %v\n", ferr)
					}
					return fmt.Errorf("training failed for %d of %d steps", len(errs), len(names)+1)
				}
				return ferr
			case "forecast":
				rep, err := f.Forecast(ctx)
				if err != nil {
					return err
				}
				if err := printForecast(a, rep.Forecast); err != nil {
					return err
				}
				if rep.Existing {
					fmt.Fprintln(a.stdout, "(already forecast from this origin by this version: nothing recomputed)")
				}
			case "score":
				rep, err := f.Score(ctx)
				if err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "scored %d forecast days of %d forecasts; live MAE over the last %d days %s, 80%%/95%% coverage %s/%s (run %s)\n",
					rep.Days, rep.Forecasts, flow.LiveWindow, num(rep.LiveMAE), pct(rep.LiveCover80), pct(rep.LiveCover95), rep.RunID)
				printAlerts(a, rep.Alerts)
			default:
				return usageError{fmt.Errorf("unknown flow %q: want ingest, train, forecast or score", args[0])}
			}
			return nil
		},
	}
	p.registerFlows(cmd)
	return cmd
}

func printAlerts(a *app, alerts []monitor.Alert) {
	for _, al := range alerts {
		fmt.Fprintf(a.stdout, "ALERT %s %s: %s\n", al.Kind, al.Subject, al.Message)
	}
}

func num(v float64) string {
	if math.IsNaN(v) {
		return "-"
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

func pct(v float64) string {
	if math.IsNaN(v) {
		return "-"
	}
	return strconv.FormatFloat(100*v, 'f', 0, 64) + "%"
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
}

// handlers maps the job kinds onto the flows.
func handlers(f *flow.Flows, p *pipelineFlags) *jobs.Handlers {
	return &jobs.Handlers{
		Ingest:   func(ctx context.Context) error { _, err := f.Ingest(ctx); return err },
		Score:    f.ScoreAndDecide,
		Forecast: func(ctx context.Context) error { _, err := f.Forecast(ctx); return err },
		TrainModel: func(ctx context.Context, batch, model string, epochs int) error {
			opts := p.train
			if epochs > 0 {
				opts.Epochs = epochs
			}
			_, err := f.TrainModel(ctx, batch, model, opts)
			return err
		},
		SelectChampion: func(ctx context.Context, batch string, models []string) (int, error) {
			rep, err := f.SelectChampion(ctx, batch, models, p.train)
			if err != nil || rep.Champion == nil {
				return 0, err
			}
			return rep.Champion.Version, nil
		},
		Models: p.models(),
	}
}

// openQueue opens the job queue with the flows as handlers.
func (a *app) openQueue(cmd *cobra.Command, f *flow.Flows, p *pipelineFlags, q *queueFlags) (*jobs.Queue, error) {
	var h *jobs.Handlers
	if f != nil {
		h = handlers(f, p)
	}
	// q.cfg.ID is empty: jobs.Open names the process tracking.Owner(), the name runs record.
	return jobs.Open(cmd.Context(), a.db, h, q.cfg, a.logger)
}

func (a *app) workerCommand() *cobra.Command {
	var (
		p         pipelineFlags
		q         queueFlags
		schedules bool
		niceness  int
	)
	cmd := &cobra.Command{
		Use:   "worker",
		Short: "Work queued jobs (ingest, train, forecast, score) until stopped; for extra machines",
		Long: `Run jobs from the queue until SIGINT or SIGTERM. Several workers, on one machine or many
(with --db postgres://...), share the work; each job runs once. A worker renews a lease on each
job it runs; a job whose worker died (killed, its machine lost) or lost the database stops being
renewed, and any worker or server hands it on once its lease has lapsed, after the
--rescue-after of the worker that ran it (at once when that worker is a process of the same host
that no longer exists). On a signal the worker stops taking jobs and cancels the running ones:
they go back to the queue at once, without using up an attempt, for another process to take,
and their runs end killed (a job that does not stop within a minute is handed on without
waiting for --rescue-after). A worker inserts no scheduled jobs: prevoir serve does, unless
this worker is given --schedules (for a server run with --no-worker).

Training saturates the cores: --nice lowers this process's CPU priority so that a server on
the same machine keeps answering fast.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if niceness != 0 {
				if err := setNice(niceness); err != nil {
					return fmt.Errorf("--nice %d: %w", niceness, err)
				}
			}
			f, err := a.flows(cmd, &p)
			if err != nil {
				return err
			}
			q.cfg.Schedules = schedules
			queue, err := a.openQueue(cmd, f, &p, &q)
			if err != nil {
				return err
			}
			defer queue.Close()
			if schedules {
				if _, err := queue.CatchUp(cmd.Context(), time.Now(), f.Tracker.Runs); err != nil {
					a.logger.Warn("could not catch up missed schedules", "err", err)
				}
			}
			return a.work(cmd.Context(), queue)
		},
	}
	p.registerJobs(cmd)
	q.register(cmd)
	cmd.Flags().BoolVar(&schedules, "schedules", false, "also insert the scheduled jobs (when the server runs with --no-worker)")
	intVar(cmd.Flags(), &niceness, "nice", 0, between(0, 19), "lower this process's CPU priority by this much, as nice(1) does (0: unchanged)")
	return cmd
}

// work runs the queue until ctx ends, then stops it.
func (a *app) work(ctx context.Context, queue *jobs.Queue) error {
	// The queue outlives ctx's cancellation: stopQueue stops it.
	if err := queue.Start(context.WithoutCancel(ctx)); err != nil {
		return err
	}
	a.logger.Info("worker started")
	<-ctx.Done()
	return a.stopQueue(queue)
}

// stopQueue stops a started queue on shutdown: it takes no more jobs and cancels the running
// ones, which go back to the queue at once for another process (their runs end killed). A job
// still running after a minute is left to the others, its lease given up.
func (a *app) stopQueue(queue *jobs.Queue) error {
	a.logger.Info("stopping: handing the running jobs on")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return queue.Stop(ctx)
}

func (a *app) jobsCommand() *cobra.Command {
	var (
		limit  int
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "jobs",
		Short: "List recent and scheduled jobs with their state and the process running them",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, _, err := a.stores(cmd.Context()); err != nil {
				return err
			}
			queue, err := jobs.Open(cmd.Context(), a.db, nil, jobs.DefaultConfig(), a.logger)
			if err != nil {
				return err
			}
			defer queue.Close()
			list, err := queue.Jobs(cmd.Context(), limit)
			if err != nil {
				return err
			}
			if asJSON {
				out := make([]jobJSON, 0, len(list))
				for _, j := range list {
					out = append(out, newJobJSON(j))
				}
				return a.printJSON(out)
			}
			t := newTable(a.stdout)
			t.row("ID", "KIND", "STATE", "PROCESS", "ATTEMPT", "CREATED", "SCHEDULED", "ARGS", "LAST ERROR")
			for _, j := range list {
				lastErr := ""
				if len(j.Errors) > 0 {
					lastErr = firstLine(j.Errors[len(j.Errors)-1].Error, 60)
				}
				proc := jobProcess(j)
				if proc == "" {
					proc = "-"
				}
				t.row(strconv.FormatInt(j.ID, 10), j.Kind, string(j.State), proc, fmt.Sprintf("%d/%d", j.Attempt, j.MaxAttempts),
					shortTime(j.CreatedAt), shortTime(j.ScheduledAt), strings.TrimSpace(string(j.EncodedArgs)), lastErr)
			}
			return t.flush()
		},
	}
	intVar(cmd.Flags(), &limit, "limit", 30, between(1, 10000), "at most this many jobs")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	markPerInvocation(cmd, "limit", "json")
	markReadOnly(cmd)
	return cmd
}

// printForecast prints a stored forecast: one row per day with the point and the quantiles,
// then, when the model gave them, one row per whole week with its total and the total's own
// quantiles.
func printForecast(a *app, fc *prevoir.StoredForecast) error {
	fmt.Fprintf(a.stdout, "Forecast of %s from %s (last observed day), made %s by %s v%d (%s), run %s\n",
		fc.Model, fc.Origin, shortTime(fc.MadeAt), fc.Model, fc.Version, fc.Family, fc.RunID)
	levels := make([]string, len(fc.Quantiles))
	for j, q := range fc.Quantiles {
		levels[j] = "Q" + strconv.FormatFloat(q, 'f', -1, 64)
	}
	// deaths prints a forecast value with one decimal (num, with two, is for errors).
	deaths := func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }
	t := newTable(a.stdout)
	t.row(append([]string{"DATE", "POINT"}, levels...)...)
	for i, d := range fc.Dates {
		row := []string{d.String(), deaths(fc.Point[i])}
		for _, v := range fc.Values[i] {
			row = append(row, deaths(v))
		}
		t.row(row...)
	}
	if err := t.flush(); err != nil {
		return err
	}
	if fc.Weekly == nil {
		return nil
	}
	fmt.Fprintf(a.stdout, "\nWeekly totals (week N: days %d(N-1)+1 .. %dN after %s), with their own quantiles\n", prevoir.WeekDays, prevoir.WeekDays, fc.Origin)
	t = newTable(a.stdout)
	t.row(append([]string{"WEEK", "FROM", "TO", "POINT"}, levels...)...)
	for w, p := range fc.Weekly.Point {
		from, to := fc.WeekSpan(w)
		row := []string{strconv.Itoa(w + 1), from.String(), to.String(), deaths(p)}
		for _, v := range fc.Weekly.Values[w] {
			row = append(row, deaths(v))
		}
		t.row(row...)
	}
	return t.flush()
}

func (a *app) forecastCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "forecast",
		Short: "Show stored forecasts",
	}
	var (
		p      pipelineFlags
		asJSON bool
	)
	show := &cobra.Command{
		Use:   "show",
		Short: "Print the served forecast, the champion's from the latest origin: one row per day with the point forecast and the quantiles",
		Long: `Print the forecast prevoir serves (as GET /api/v1/forecast does): the champion's forecast
from the latest origin. Right after a promotion or a training, while the new champion's
forecast is pending, it is the previous champion's, marked as not the champion's
("is_champion": false in --json, with a note).`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			db, _, err := a.stores(cmd.Context())
			if err != nil {
				return err
			}
			fc, champ, err := loadServed(cmd.Context(), db, p.registeredModel)
			if err != nil {
				return err
			}
			note := prevoir.PendingNote(fc, champ)
			if asJSON {
				return a.printJSON(servedJSON{StoredForecast: fc, IsChampion: champ != nil && champ.Version == fc.Version, Note: note})
			}
			if err := printForecast(a, fc); err != nil {
				return err
			}
			if note != "" {
				fmt.Fprintf(a.stdout, "Not the champion's forecast: %s.\n", note)
			}
			return nil
		},
	}
	show.Flags().StringVar(&p.registeredModel, "registered-model", prevoir.DefaultTarget, "name of the forecasting task in the model registry")
	show.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	markPerInvocation(show, "json")
	markReadOnly(show)
	cmd.AddCommand(show, a.forecastExportCommand())
	return cmd
}
