package backtest_test

import (
	"context"
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

// TestProtocol runs the accuracy protocol of ../shared/bench/ACCURACY.md — origins every 7
// days from 2022-01-02 to 2022-12-11 (50 origins), horizon 14, expanding window — on every
// registered model and prints the leaderboard and the champion decision. It is skipped unless
// PREVOIR_PROTOCOL=1:
//
//	PREVOIR_PROTOCOL=1 go test ./backtest -run TestProtocol -v
//
// PREVOIR_MODELS overrides the model list (e.g. "snaive,ets+hol,ensemble_mean");
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
	from, to := "2022-01-02", "2022-12-11"
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
	if n := len(res.Protocol.Origins); from == "2022-01-02" && to == "2022-12-11" && n != 50 {
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
