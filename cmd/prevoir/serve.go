package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/web"
)

func (a *app) serveCommand() *cobra.Command {
	var (
		p            pipelineFlags
		q            queueFlags
		addr         string
		adminToken   string
		allowedHosts []string
		refreshEvery time.Duration
		noWorker     bool
	)
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the dashboard and the API, and run the scheduled flows with an embedded worker",
		Long: `Serve the dashboard and the JSON/CSV API on --addr, and run an embedded worker that inserts
the scheduled jobs (ingest then forecast and score daily at 19:30 Europe/Paris, training on
Mondays at 20:00) and works them. On start, a schedule missed while prevoir was down is caught
up once. Actions (refresh, retrain, promote) need the admin token: set PREVOIR_ADMIN_TOKEN
(at least 16 characters; no token: actions disabled); a client that gives wrong tokens must
wait, longer after each. The token is never recorded or printed: runs and "prevoir config"
show it as (set). Requests must name the server by the host of --addr, localhost, 127.0.0.1
or [::1], or a name listed in --allowed-hosts (others get 421: a defence against DNS
rebinding; /healthz and /readyz answer any name). SIGINT or SIGTERM stops taking jobs and
cancels the running ones, which go back to the queue at once for another worker (their runs end
killed); meanwhile the pages and the API still answer, actions answer 503 with Retry-After and
/readyz 503; then the HTTP server drains. The embedded worker renews leases on its jobs and
hands on other processes' jobs whose leases lapsed, as prevoir worker does (see its help).`,
		Example: `  PREVOIR_ADMIN_TOKEN=$(openssl rand -hex 32) prevoir serve --addr 127.0.0.1:8080
  prevoir serve --addr 0.0.0.0:8080 --allowed-hosts prevoir.example.org,prevoir.example.org:8443`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := web.CheckAdminToken(adminToken); err != nil {
				return usageError{fmt.Errorf("%s: %w", a.origins["admin-token"], err)}
			}
			ctx := cmd.Context()
			f, err := a.flows(cmd, &p)
			if err != nil {
				return err
			}
			q.cfg.Schedules = !noWorker
			queue, err := a.openQueue(cmd, f, &p, &q)
			if err != nil {
				return err
			}
			defer queue.Close()
			srv, err := web.New(web.Config{
				Snapshots: f.Ingester.Snapshots, Runs: f.Tracker.Runs, Registry: f.Registry, Forecasts: f.Forecasts,
				Artifacts: f.Tracker, Sources: f.Sources, Targets: prevoir.Targets(), Logger: a.logger,
				Frame: func(ctx context.Context) (*prevoir.Frame, error) {
					return f.Ingester.Frame(ctx, f.Sources, f.FrameOptions)
				},
				Actions: &web.QueueActions{Queue: queue, Registry: f.Registry, MinCoverage80: p.train.MinCoverage80}, AdminToken: adminToken, RefreshEvery: refreshEvery,
				AllowedHosts: allowedHosts, Monitor: f.Monitor,
			})
			if err != nil {
				return err
			}
			if !noWorker {
				if _, err := queue.CatchUp(ctx, time.Now(), f.Tracker.Runs); err != nil {
					a.logger.Warn("could not catch up missed schedules", "err", err)
				}
				// The queue outlives ctx's cancellation: it is stopped below.
				if err := queue.Start(context.WithoutCancel(ctx)); err != nil {
					return err
				}
			}
			a.logger.Info("serving", "addr", addr, "actions", adminToken != "", "worker", !noWorker)
			fmt.Fprintf(a.stderr, "prevoir: serving http://%s/\n", addr)
			// HTTP outlives the signal too: it answers, from memory, until the queue has handed
			// its running jobs on.
			httpCtx, stopHTTP := context.WithCancel(context.WithoutCancel(ctx))
			defer stopHTTP()
			served := make(chan error, 1)
			go func() { served <- srv.Run(httpCtx, addr) }()
			var serveErr error
			stopped := false // the HTTP server stopped by itself
			select {
			case serveErr = <-served: // it could not listen, or serving failed
				stopped = true
			case <-ctx.Done():
				srv.Drain()
			}
			if !noWorker {
				if err := a.stopQueue(queue); err != nil {
					a.logger.Warn("stop the queue", "err", err)
				}
			}
			if !stopped {
				stopHTTP()
				serveErr = <-served
			}
			if serveErr != nil && !errors.Is(serveErr, context.Canceled) {
				return serveErr
			}
			return nil
		},
	}
	p.registerJobs(cmd)
	q.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&addr, "addr", "127.0.0.1:8080", "address to serve HTTP on")
	fl.StringVar(&adminToken, "admin-token", "", "token that authorises actions, at least 16 characters (set it with PREVOIR_ADMIN_TOKEN; empty disables actions; shown as (set))")
	markSecret(cmd, "admin-token")
	fl.StringSliceVar(&allowedHosts, "allowed-hosts", nil, "host names (with an optional :port) that requests may use besides the host of --addr, localhost, 127.0.0.1 and [::1], comma-separated")
	durationVar(fl, &refreshEvery, "refresh-every", web.DefaultRefreshEvery, moreThan(0), "how often the served data is reloaded from the stores")
	fl.BoolVar(&noWorker, "no-worker", false, "serve only: no embedded worker, no schedules (other processes run them)")
	return cmd
}
