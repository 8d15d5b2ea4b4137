package backtest_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/backtest"
	"github.com/prevoir/prevoir/forecast/models"
	"github.com/prevoir/prevoir/internal/testutil"
)

// The 2022 accuracy protocol (docs/protocols/README.md): origins every 7 days from 2022-01-02
// to 2022-12-11 (50 Sundays), horizon 14, expanding window, on the target alone.
const protocolFrom, protocolTo = "2022-01-02", "2022-12-11"

// TestProtocolNumbers reproduces, to the digits docs/protocols/backtest.md prints, the scores
// of the cheap baselines over the whole 2022 protocol, and the champion decision: the rule
// ranks the candidates on the protocol's last 12 origins, so a backtest on those 12 alone
// gives the documented ranking and MAEs (ensemble_mean 13.720, ensemble 15.191, ...).
// The full table is TestProtocol's (PREVOIR_PROTOCOL=1).
func TestProtocolNumbers(t *testing.T) {
	f := testutil.TargetFrame(t)
	run := func(list, from string) *backtest.Result {
		t.Helper()
		ms, err := models.Parse(list)
		if err != nil {
			t.Fatal(err)
		}
		res, err := backtest.Run(context.Background(), f, ms, backtest.Options{From: prevoir.MustParseDate(from), To: prevoir.MustParseDate(protocolTo)})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	// model: MAE RMSE MASE sMAPE cov50 cov80 cov95, as the table prints them.
	res := run("naive,snaive,mean7,drift,theta,otm", protocolFrom)
	if n := len(res.Protocol.Origins); n != 50 {
		t.Fatalf("%d origins, want 50", n)
	}
	for name, want := range map[string]string{
		"otm":    "22.51 30.15 1.010 32.8 67% 91% 98%",
		"theta":  "22.88 30.54 1.027 33.3 66% 91% 98%",
		"snaive": "24.24 35.33 1.081 32.3 68% 86% 95%",
		"mean7":  "39.54 52.97 1.753 50.2 56% 83% 95%",
		"naive":  "69.80 89.27 3.091 118.2 74% 91% 97%",
		"drift":  "70.51 89.94 3.122 121.3 74% 91% 97%",
	} {
		s, ok := res.Score(name)
		if !ok {
			t.Fatalf("no score for %s", name)
		}
		got := fmt.Sprintf("%.2f %.2f %.3f %.1f %.0f%% %.0f%% %.0f%%", float64(s.MAE), float64(s.RMSE), float64(s.MASE), float64(s.SMAPE),
			100*float64(s.Coverage50), 100*float64(s.Coverage80), 100*float64(s.Coverage95))
		if got != want || s.Points != 700 || s.Failures != 0 {
			t.Errorf("%s: %s on %d days (%d failures), want %s on 700", name, got, s.Points, s.Failures, want)
		}
	}

	res = run("ensemble_mean,ensemble,ets_fast,ets,linreg", "2022-09-25")
	if n := len(res.Protocol.Origins); n != 12 {
		t.Fatalf("%d origins, want the protocol's last 12", n)
	}
	if res.Decision.Champion != "ensemble_mean" {
		t.Errorf("champion %q, want ensemble_mean: %s", res.Decision.Champion, res.Decision.Reason)
	}
	for name, want := range map[string]string{"ensemble_mean": "13.720", "ensemble": "15.191", "ets_fast": "15.252", "ets": "16.222", "linreg": "17.789"} {
		s, _ := res.Score(name)
		if got := fmt.Sprintf("%.3f", float64(s.MAE)); got != want || s.Points != 168 {
			t.Errorf("%s: MAE %s over %d days, want %s over 168", name, got, s.Points, want)
		}
	}
}

// TestProtocol runs the whole 2022 accuracy protocol on every model of PREVOIR_MODELS (all
// registered models by default, the networks included: that takes long) and prints the
// leaderboard and the champion decision; docs/protocols/backtest.md shows its output. It is
// skipped unless PREVOIR_PROTOCOL=1:
//
//	PREVOIR_PROTOCOL=1 PREVOIR_MODELS=naive,snaive,ets go test ./backtest -run '^TestProtocol$' -v
//
// PREVOIR_PROTOCOL_FROM and PREVOIR_PROTOCOL_TO override the origins (for a validation span);
// PREVOIR_PROTOCOL_OUT names a directory for result.json, leaderboard.txt and backtest.svg.
func TestProtocol(t *testing.T) {
	if os.Getenv("PREVOIR_PROTOCOL") != "1" {
		t.Skip("set PREVOIR_PROTOCOL=1 to run the accuracy protocol")
	}
	list := strings.Join(models.Names(), ",")
	if s := os.Getenv("PREVOIR_MODELS"); s != "" {
		list = s
	}
	ms, err := models.Parse(list)
	if err != nil {
		t.Fatal(err)
	}
	from, to := protocolFrom, protocolTo
	if s := os.Getenv("PREVOIR_PROTOCOL_FROM"); s != "" {
		from = s
	}
	if s := os.Getenv("PREVOIR_PROTOCOL_TO"); s != "" {
		to = s
	}
	f := testutil.TargetFrame(t)
	opts := backtest.Options{From: prevoir.MustParseDate(from), To: prevoir.MustParseDate(to)}
	cpu0, start := cpuSeconds(), time.Now()
	res, err := backtest.Run(context.Background(), f, ms, opts)
	if err != nil {
		t.Fatal(err)
	}
	wall, cpu := time.Since(start), cpuSeconds()-cpu0
	if n := len(res.Protocol.Origins); from == protocolFrom && to == protocolTo && n != 50 {
		t.Fatalf("%d origins, want 50", n)
	}
	var b strings.Builder
	if err := backtest.WriteLeaderboard(&b, res); err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s\nwall %.2f s, process CPU %.2f s, %d workers\n%s", b.String(), wall.Seconds(), cpu, backtest.DefaultWorkers, res.Decision)
	if dir := os.Getenv("PREVOIR_PROTOCOL_OUT"); dir != "" {
		var js, svg strings.Builder
		if err := backtest.WriteJSON(&js, res); err != nil {
			t.Fatal(err)
		}
		if err := backtest.WriteSVG(&svg, res); err != nil {
			t.Fatal(err)
		}
		for name, s := range map[string]string{"result.json": js.String(), "leaderboard.txt": b.String(), "backtest.svg": svg.String()} {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// cpuSeconds is the process's user+system CPU time.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}
