package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"
)

// healthcheckTimeout bounds a health check: under the container's HEALTHCHECK --timeout (5s),
// so that a hung server is reported unhealthy by the check itself.
const healthcheckTimeout = 3 * time.Second

func (a *app) healthcheckCommand() *cobra.Command {
	var addr string
	cmd := &cobra.Command{
		Use:   "healthcheck [URL]",
		Short: "Exit 0 when a prevoir server answers GET /healthz with 200, 1 otherwise: the container's health check",
		Long: `Ask a prevoir server whether it is alive, for container health checks (the image has no
shell, curl or wget): exit 0 when GET URL answers 200 within 3 seconds, 1 otherwise, with the
reason on stderr. The default URL is http://127.0.0.1:PORT/healthz, with the port of --addr
(PREVOIR_ADDR, the address prevoir serve listens on): the check runs beside the server.`,
		Example: `  prevoir healthcheck                                   # the server of PREVOIR_ADDR, on this machine
  prevoir healthcheck http://127.0.0.1:8080/healthz`,
		Args: maxArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			url := healthzURL(addr)
			if len(args) > 0 {
				url = args[0]
			}
			return checkHealth(cmd.Context(), url)
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:8080", "address the server listens on (prevoir serve --addr): the default URL is /healthz on its port, on 127.0.0.1")
	return cmd
}

// checkHealth fails unless GET url answers 200 within healthcheckTimeout.
func checkHealth(ctx context.Context, url string) error {
	ctx, cancel := context.WithTimeout(ctx, healthcheckTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	resp.Body.Close() // the status is the answer
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: GET %s: %s", url, resp.Status)
	}
	return nil
}

// healthzURL is the /healthz URL of a server listening on addr (host:port), reached on the
// loopback interface; port 8080 when addr has none.
func healthzURL(addr string) string {
	port := "8080"
	if _, p, err := net.SplitHostPort(addr); err == nil && p != "" {
		port = p
	}
	return "http://" + net.JoinHostPort("127.0.0.1", port) + "/healthz"
}
