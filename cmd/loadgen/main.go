// Command loadgen sends an open-loop HTTP load (a fixed rate over a fixed number of
// connections) and prints the latency distribution, measured from each request's due time:
//
//	go run ./cmd/loadgen -url http://127.0.0.1:8080/api/v1/forecast -rate 1000 -conns 64 -duration 10s
//
// -targets all (or a comma-separated list of target names) asks each URL for every target in
// turn, with ?target=NAME.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"time"

	"github.com/prevoir/prevoir/internal/loadgen"
)

func main() {
	var cfg loadgen.Config
	urls := flag.String("url", "", "comma-separated URLs, requested in turn")
	flag.IntVar(&cfg.Rate, "rate", 1000, "requests per second")
	flag.IntVar(&cfg.Conns, "conns", 64, "connections")
	flag.DurationVar(&cfg.Duration, "duration", 10*time.Second, "measured duration")
	flag.DurationVar(&cfg.Warmup, "warmup", time.Second, "unmeasured warm-up before it")
	flag.BoolVar(&cfg.Gzip, "gzip", false, "ask for gzip-compressed answers")
	targets := flag.String("targets", "", `comma-separated target names, or "all": each URL is asked for each in turn (?target=NAME)`)
	flag.Parse()
	var err error
	if cfg.URLs, err = loadgen.WithTargets(loadgen.ParseURLs(*urls), loadgen.ParseURLs(*targets)); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	r, err := loadgen.Run(ctx, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
	fmt.Println(r)
}
