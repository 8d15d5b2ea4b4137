// Command healthcheck asks a prevoir server whether it is alive, for container health checks:
// the distroless image has no shell, curl or wget. It exits 0 when GET /healthz answers 200,
// and 1 otherwise.
//
//	healthcheck [URL]
//
// The default URL is http://127.0.0.1:PORT/healthz, with the port of $PREVOIR_ADDR (8080).
package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"
)

func main() {
	if err := check(os.Args[1:], os.Getenv("PREVOIR_ADDR")); err != nil {
		fmt.Fprintln(os.Stderr, "healthcheck:", err)
		os.Exit(1)
	}
}

func check(args []string, addr string) error {
	url := defaultURL(addr)
	if len(args) > 0 {
		url = args[0]
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return nil
}

// defaultURL is the /healthz URL of a server listening on addr (host:port), reached on the
// loopback interface.
func defaultURL(addr string) string {
	port := "8080"
	if _, p, err := net.SplitHostPort(addr); err == nil && p != "" {
		port = p
	}
	return "http://" + net.JoinHostPort("127.0.0.1", port) + "/healthz"
}
