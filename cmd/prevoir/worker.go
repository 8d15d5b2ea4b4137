package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/prevoir/prevoir/jobs"
)

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
