// Package loadgen is an open-loop HTTP load generator: it sends requests at a fixed rate,
// whatever the server's speed, over a fixed number of connections, and measures each request's
// latency from the moment it was due, not from the moment a connection was free. A closed-loop
// tool (one request after the other on each connection, as wrk does) slows down with the
// server and so under-reports the latency readers see at a given rate ("coordinated omission").
package loadgen

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prevoir/prevoir"
)

// Config describes a run.
type Config struct {
	// URLs are requested in turn.
	URLs []string
	// Rate is the number of requests per second to send.
	Rate int
	// Conns is the number of connections (and of requests in flight at most).
	Conns int
	// Duration is how long to send for, after Warmup (whose requests are not measured).
	Duration, Warmup time.Duration
	// Gzip asks for compressed answers, as browsers do.
	Gzip bool
}

// Result is what a run measured.
type Result struct {
	Sent, Errors int
	// Achieved is the rate of completed measured requests, per second.
	Achieved                 float64
	P50, P90, P99, P999, Max time.Duration
	// Statuses counts the answers by status code.
	Statuses map[int]int
	// Bytes is the mean body size.
	Bytes int
}

func (r *Result) String() string {
	return fmt.Sprintf("sent %d, errors %d, achieved %.0f req/s, mean body %d B; latency p50 %s, p90 %s, p99 %s, p99.9 %s, max %s; statuses %v",
		r.Sent, r.Errors, r.Achieved, r.Bytes, r.P50, r.P90, r.P99, r.P999, r.Max, r.Statuses)
}

type sample struct {
	lat    time.Duration
	status int
	bytes  int
	err    bool
}

// Run sends the load and returns the latency distribution.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if len(cfg.URLs) == 0 || cfg.Rate <= 0 || cfg.Conns <= 0 || cfg.Duration <= 0 {
		return nil, fmt.Errorf("loadgen: want URLs, and a positive rate, connections and duration")
	}
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConns:        cfg.Conns,
		MaxIdleConnsPerHost: cfg.Conns,
		MaxConnsPerHost:     cfg.Conns,
		DisableCompression:  true, // the Accept-Encoding header is set by hand below
		IdleConnTimeout:     time.Minute,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}

	total := int((cfg.Warmup + cfg.Duration).Seconds() * float64(cfg.Rate))
	warm := int(cfg.Warmup.Seconds() * float64(cfg.Rate))
	type job struct {
		i   int
		due time.Time
	}
	jobs := make(chan job, total) // never blocks the scheduler: the queue is part of the latency
	results := make([]sample, total)
	var wg sync.WaitGroup
	for range cfg.Conns {
		wg.Go(func() {
			for j := range jobs {
				url := cfg.URLs[j.i%len(cfg.URLs)]
				req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
				if err != nil {
					results[j.i] = sample{err: true}
					continue
				}
				if cfg.Gzip {
					req.Header.Set("Accept-Encoding", "gzip")
				}
				resp, err := client.Do(req)
				if err != nil {
					results[j.i] = sample{lat: time.Since(j.due), err: true}
					continue
				}
				n, err := io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				results[j.i] = sample{lat: time.Since(j.due), status: resp.StatusCode, bytes: int(n), err: err != nil}
			}
		})
	}
	start := time.Now()
	interval := time.Second / time.Duration(cfg.Rate)
	var measuredStart, measuredEnd time.Time
	for i := range total {
		due := start.Add(time.Duration(i) * interval)
		if d := time.Until(due); d > 0 {
			select {
			case <-time.After(d):
			case <-ctx.Done():
				close(jobs)
				wg.Wait()
				return nil, ctx.Err()
			}
		}
		if i == warm {
			measuredStart = due
		}
		jobs <- job{i, due}
	}
	close(jobs)
	wg.Wait()
	measuredEnd = time.Now()

	r := &Result{Statuses: map[int]int{}}
	var lats []time.Duration
	var bytes int
	for _, s := range results[warm:] {
		r.Sent++
		if s.err {
			r.Errors++
			continue
		}
		r.Statuses[s.status]++
		lats = append(lats, s.lat)
		bytes += s.bytes
	}
	if len(lats) == 0 {
		return r, fmt.Errorf("loadgen: every request failed")
	}
	slices.Sort(lats)
	q := func(p float64) time.Duration { return lats[min(len(lats)-1, int(p*float64(len(lats))))] }
	r.P50, r.P90, r.P99, r.P999, r.Max = q(0.5), q(0.9), q(0.99), q(0.999), lats[len(lats)-1]
	r.Achieved = float64(len(lats)) / measuredEnd.Sub(measuredStart).Seconds()
	r.Bytes = bytes / len(lats)
	return r, nil
}

// ParseURLs splits a comma-separated list.
func ParseURLs(s string) []string {
	var out []string
	for u := range strings.SplitSeq(s, ",") {
		if u = strings.TrimSpace(u); u != "" {
			out = append(out, u)
		}
	}
	return out
}

// WithTargets spreads urls over targets: each URL once per target, with ?target=NAME, the URLs'
// order kept within a target and the targets taken in turn, so that consecutive requests
// ask for different targets. names are target names or "all" (prevoir.ParseTargets); none
// leaves urls as they are.
func WithTargets(urls, names []string) ([]string, error) {
	if len(names) == 0 {
		return urls, nil
	}
	targets, err := prevoir.ParseTargets(names)
	if err != nil {
		return nil, fmt.Errorf("loadgen: %w", err)
	}
	var out []string
	for _, raw := range urls {
		u, err := url.Parse(raw)
		if err != nil {
			return nil, fmt.Errorf("loadgen: URL %q: %w", raw, err)
		}
		for _, t := range targets {
			q := u.Query()
			q.Set("target", t.Name)
			v := *u
			v.RawQuery = q.Encode()
			out = append(out, v.String())
		}
	}
	return out, nil
}
