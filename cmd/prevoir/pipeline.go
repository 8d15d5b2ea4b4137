package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/flow"
	"github.com/prevoir/prevoir/jobs"
	"github.com/prevoir/prevoir/sqlstore"
)

// pipelineFlags are the settings every flow shares.
type pipelineFlags struct {
	sources         sourceFlags
	registeredModel string
}

func (p *pipelineFlags) register(cmd *cobra.Command) {
	p.sources.register(cmd)
	cmd.Flags().StringVar(&p.registeredModel, "registered-model", prevoir.DefaultTarget, "name of the forecasting task in the model registry")
}

// flows builds the flows on the opened stores.
func (a *app) flows(cmd *cobra.Command, p *pipelineFlags) (*flow.Flows, error) {
	srcs, err := p.sources.sources()
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
		RegisteredModel: p.registeredModel, FrameOptions: prevoir.DefaultFrameOptions(), Logger: a.logger, Config: string(cfg),
	}, nil
}

// effectiveConfig is the command's settings with their values, recorded with every run.
func (a *app) effectiveConfig(cmd *cobra.Command) map[string]string {
	m := map[string]string{}
	for name := range a.origins {
		if f := cmd.Flags().Lookup(name); f != nil {
			m[name] = f.Value.String()
		}
	}
	m["db"] = sqlstore.Redact(a.dbURL)
	m["artifacts"] = a.artifactsURL
	return m
}

func (a *app) runCommand() *cobra.Command {
	var p pipelineFlags
	cmd := &cobra.Command{
		Use:   "run FLOW",
		Short: "Run one flow now, in the foreground: ingest or score",
		Long: `Run one flow now, in the foreground, recorded as a run like the scheduled ones, and exit
non-zero if it fails:

  ingest   fetch both sources, store new releases, rebuild the frame
  score    score every stored forecast whose days have been observed since`,
		Example: `  prevoir run ingest --source-dir ../shared/data
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
					printResults(a, rep.Results)
				}
				if err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "frame: %d days, %s .. %s (run %s)\n", rep.Frame.Len(), rep.Frame.Dates[0], rep.Frame.Dates[rep.Frame.Len()-1], rep.RunID)
			case "score":
				rep, err := f.Score(ctx)
				if err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "scored %d forecast days of %d forecasts; live MAE over the last %d days %s, 80%%/95%% coverage %s/%s (run %s)\n",
					rep.Days, rep.Forecasts, flow.LiveWindow, num(rep.LiveMAE), pct(rep.LiveCover80), pct(rep.LiveCover95), rep.RunID)
			default:
				return usageError{fmt.Errorf("unknown flow %q: want ingest or score", args[0])}
			}
			return nil
		},
	}
	p.register(cmd)
	return cmd
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

func (q *queueFlags) register(cmd *cobra.Command, schedules bool) {
	def := jobs.DefaultConfig()
	q.cfg = def
	fl := cmd.Flags()
	fl.IntVar(&q.cfg.Workers, "workers", def.Workers, "jobs this process runs at once")
	fl.DurationVar(&q.cfg.RetryBase, "retry-base", def.RetryBase, "wait before the first retry of a transient failure (doubles each attempt, up to 1h)")
	fl.IntVar(&q.cfg.MaxAttempts, "max-attempts", def.MaxAttempts, "attempts of a job that keeps failing transiently")
	fl.DurationVar(&q.cfg.RescueAfter, "rescue-after", def.RescueAfter, "a job running longer than this (and than its timeout) is handed to another worker: its worker died")
	fl.DurationVar(&q.cfg.JobTimeout, "job-timeout", 0, "timeout of every job (0: per kind: 15m ingest and forecast, 10m score, 2h per trained model)")
	if schedules {
		fl.StringVar(&q.cfg.IngestSchedule, "ingest-schedule", def.IngestSchedule, "cron schedule of ingest (then forecast and score)")
		fl.StringVar(&q.cfg.TrainSchedule, "train-schedule", def.TrainSchedule, "cron schedule of training")
	}
}

// handlers maps the job kinds onto the flows.
func handlers(f *flow.Flows) *jobs.Handlers {
	return &jobs.Handlers{
		Ingest: func(ctx context.Context) error { _, err := f.Ingest(ctx); return err },
		Score:  func(ctx context.Context) error { _, err := f.Score(ctx); return err },
	}
}

// openQueue opens the job queue with the flows as handlers.
func (a *app) openQueue(cmd *cobra.Command, f *flow.Flows, q *queueFlags) (*jobs.Queue, error) {
	cfg := q.cfg
	host, _ := os.Hostname()
	cfg.ID = fmt.Sprintf("%s-%d", host, os.Getpid())
	var h *jobs.Handlers
	if f != nil {
		h = handlers(f)
	}
	return jobs.Open(cmd.Context(), a.db, h, cfg, a.logger)
}

func (a *app) workerCommand() *cobra.Command {
	var (
		p pipelineFlags
		q queueFlags
	)
	cmd := &cobra.Command{
		Use:   "worker",
		Short: "Work queued jobs (ingest, train, forecast, score) until stopped; for extra machines",
		Long: `Run jobs from the queue until SIGINT or SIGTERM. Several workers, on one machine or many
(with --db postgres://...), share the work; each job runs once. On a signal the worker stops
taking jobs and lets the running ones finish (up to 1 minute; a job still running then is
handed to another worker after --rescue-after). A worker inserts no scheduled jobs: prevoir
serve does.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := a.flows(cmd, &p)
			if err != nil {
				return err
			}
			queue, err := a.openQueue(cmd, f, &q)
			if err != nil {
				return err
			}
			defer queue.Close()
			return a.work(cmd.Context(), queue)
		},
	}
	p.register(cmd)
	q.register(cmd, false)
	return cmd
}

// work runs the queue until ctx ends, then stops gracefully.
func (a *app) work(ctx context.Context, queue *jobs.Queue) error {
	// The queue must outlive ctx's cancellation long enough to finish running jobs.
	if err := queue.Start(context.WithoutCancel(ctx)); err != nil {
		return err
	}
	a.logger.Info("worker started")
	<-ctx.Done()
	a.logger.Info("stopping: finishing running jobs")
	stopCtx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := queue.Stop(stopCtx); err != nil {
		return fmt.Errorf("stop the queue: %w", err)
	}
	return nil
}

func (a *app) jobsCommand() *cobra.Command {
	var (
		limit  int
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "jobs",
		Short: "List recent and scheduled jobs with their state",
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
				return a.printJSON(list)
			}
			t := newTable(a.stdout)
			t.row("ID", "KIND", "STATE", "ATTEMPT", "CREATED", "SCHEDULED", "ARGS", "LAST ERROR")
			for _, j := range list {
				lastErr := ""
				if len(j.Errors) > 0 {
					lastErr = firstLine(j.Errors[len(j.Errors)-1].Error, 60)
				}
				t.row(strconv.FormatInt(j.ID, 10), j.Kind, string(j.State), fmt.Sprintf("%d/%d", j.Attempt, j.MaxAttempts),
					shortTime(j.CreatedAt), shortTime(j.ScheduledAt), strings.TrimSpace(string(j.EncodedArgs)), lastErr)
			}
			return t.flush()
		},
	}
	cmd.Flags().IntVar(&limit, "limit", 30, "at most this many jobs")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	markPerInvocation(cmd, "limit", "json")
	return cmd
}
