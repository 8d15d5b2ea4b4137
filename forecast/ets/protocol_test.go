package ets_test

import (
	"context"
	"fmt"
	"math"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prevoir/prevoir/forecast/ets"
	"github.com/prevoir/prevoir/forecast/naive"
	"github.com/prevoir/prevoir/forecast/theta"
	"github.com/prevoir/prevoir/internal/testutil"
)

// The 2022 accuracy protocol (docs/protocols/README.md): origins every 7 days from
// 2022-01-02 to 2022-12-11 (50 Sundays, the origin is the last observed day), horizon 14,
// each model fitted on data up to its origin only, forecasts and interval bounds clipped at 0,
// MAE over all origins × horizons. docs/protocols/ets.md has the table and the command.
const (
	protocolFirst = "2022-01-02"
	protocolLast  = "2022-12-11"
	protocolH     = 14
)

var protocolProbs = []float64{0.025, 0.1, 0.5, 0.9, 0.975}

// loadSeries returns the protocol's series, the target from 2020-03-19 (its first day).
func loadSeries(t *testing.T) (dates []string, y []float64) {
	t.Helper()
	f := testutil.TargetFrame(t)
	for _, d := range f.Dates {
		dates = append(dates, d.String())
	}
	return dates, f.TargetValues()
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return math.NaN()
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

type forecaster func(ctx context.Context, y []float64) (point []float64, q [][]float64, err error)

// run holds one model's forecasts at every origin.
type run struct {
	name, window string
	point        [][]float64 // [origin][h]
	q            [][][]float64
	cpu          float64
	specs        map[string]int
}

type score struct {
	mae, rmse, cov80, cov95 float64
}

// String formats the score as the table does: MAE RMSE cov80 cov95.
func (s score) String() string {
	return fmt.Sprintf("%.2f %.2f %.0f%% %.0f%%", s.mae, s.rmse, 100*s.cov80, 100*s.cov95)
}

// origins returns the indices of the protocol's forecast origins in dates.
func origins(dates []string) []int {
	var out []int
	for i, d := range dates {
		if d < protocolFirst || d > protocolLast {
			continue
		}
		if t0, _ := time.Parse("2006-01-02", d); t0.Weekday() == time.Sunday {
			out = append(out, i)
		}
	}
	return out
}

func forecastAll(t *testing.T, y []float64, orig []int, name, window string, f forecaster) run {
	r := run{name: name, window: window, specs: map[string]int{}}
	for _, i := range orig {
		train := y[:i+1]
		if window == "365" && len(train) > 365 {
			train = train[len(train)-365:]
		}
		c0 := cpuSeconds()
		point, q, err := f(context.Background(), train)
		r.cpu += cpuSeconds() - c0
		if err != nil {
			t.Fatalf("%s/%s at origin %d: %v", name, window, i, err)
		}
		r.point = append(r.point, point)
		r.q = append(r.q, q)
	}
	return r
}

func evaluate(y []float64, orig []int, r run) score {
	var ae, se float64
	var in80, in95, n int
	for k, i := range orig {
		for h := 0; h < protocolH && i+1+h < len(y); h++ {
			actual := y[i+1+h]
			if math.IsNaN(actual) {
				continue
			}
			q := r.q[k][h]
			e := actual - math.Max(r.point[k][h], 0)
			ae += math.Abs(e)
			se += e * e
			if actual >= math.Max(q[1], 0) && actual <= math.Max(q[3], 0) {
				in80++
			}
			if actual >= math.Max(q[0], 0) && actual <= math.Max(q[4], 0) {
				in95++
			}
			n++
		}
	}
	fn := float64(n)
	return score{ae / fn, math.Sqrt(se / fn), float64(in80) / fn, float64(in95) / fn}
}

// combine averages point forecasts and quantiles (quantile averaging keeps them monotone).
func combine(name string, runs ...run) run {
	out := run{name: name, window: "mix"}
	for k := range runs[0].point {
		h := len(runs[0].point[k])
		point := make([]float64, h)
		q := make([][]float64, h)
		for i := range q {
			q[i] = make([]float64, len(protocolProbs))
			for _, r := range runs {
				point[i] += r.point[k][i] / float64(len(runs))
				for j := range q[i] {
					q[i][j] += r.q[k][i][j] / float64(len(runs))
				}
			}
		}
		out.point = append(out.point, point)
		out.q = append(out.q, q)
	}
	for _, r := range runs {
		out.cpu += r.cpu
	}
	return out
}

func naiveF(fit func([]float64) (*naive.Model, error)) forecaster {
	return func(_ context.Context, y []float64) ([]float64, [][]float64, error) {
		md, err := fit(y)
		if err != nil {
			return nil, nil, err
		}
		return md.Forecast(protocolH, protocolProbs)
	}
}

func autoF(opts ets.Options, specs map[string]int) forecaster {
	return func(ctx context.Context, y []float64) ([]float64, [][]float64, error) {
		md, err := ets.Auto(ctx, y, opts)
		if err != nil {
			return nil, nil, err
		}
		specs[md.Spec().String()]++
		return md.Forecast(protocolH, protocolProbs)
	}
}

func fixedF(code string, opts ets.Options) forecaster {
	sp, err := ets.ParseSpec(code)
	return func(ctx context.Context, y []float64) ([]float64, [][]float64, error) {
		if err != nil {
			return nil, nil, err
		}
		md, err := ets.Fit(ctx, y, sp, opts)
		if err != nil {
			return nil, nil, err
		}
		return md.Forecast(protocolH, protocolProbs)
	}
}

func thetaF(opts theta.Options) forecaster {
	return func(_ context.Context, y []float64) ([]float64, [][]float64, error) {
		md, err := theta.Fit(y, opts)
		if err != nil {
			return nil, nil, err
		}
		return md.Forecast(protocolH, protocolProbs)
	}
}

// TestProtocolNumbers reproduces rows of docs/protocols/ets.md's table, to the digits it
// prints, over the whole protocol: the baselines and the AutoETS the catalogue's ets uses
// (365 days, Tol 1e-6), with the models AutoETS picked. The whole table is TestProtocol's.
func TestProtocolNumbers(t *testing.T) {
	dates, y := loadSeries(t)
	orig := origins(dates)
	if len(orig) != 50 {
		t.Fatalf("found %d origins, want 50", len(orig))
	}
	for _, tt := range []struct {
		name, window string
		f            forecaster
		want         string // MAE RMSE cov80 cov95, as the table prints them
	}{
		{"naive", "full", naiveF(naive.Naive), "69.80 89.27 92% 97%"},
		{"snaive7", "365", naiveF(func(y []float64) (*naive.Model, error) { return naive.SeasonalNaive(y, 7) }), "24.24 35.33 86% 95%"},
		{"mean7", "365", naiveF(func(y []float64) (*naive.Model, error) { return naive.Mean(y, 7) }), "39.54 52.97 83% 95%"},
		{"drift", "full", naiveF(naive.Drift), "70.69 89.93 92% 97%"},
		{"drift", "365", naiveF(naive.Drift), "70.51 89.94 91% 97%"},
		{"theta", "365", thetaF(theta.Options{}), "22.88 30.54 91% 98%"},
		{"otm", "365", thetaF(theta.Options{Optimize: true}), "22.51 30.15 91% 98%"},
	} {
		s := evaluate(y, orig, forecastAll(t, y, orig, tt.name, tt.window, tt.f))
		if got := s.String(); got != tt.want {
			t.Errorf("%s/%s: %s, want %s", tt.name, tt.window, got, tt.want)
		}
	}
	specs := map[string]int{}
	s := evaluate(y, orig, forecastAll(t, y, orig, "autoets_tol1e-6", "365", autoF(ets.Options{Tol: 1e-6}, specs)))
	if got, want := s.String(), "19.33 26.58 78% 90%"; got != want || specs["ETS(M,Ad,M)"] != 50 {
		t.Errorf("autoets_tol1e-6/365: %s, picked %v; want %s, ETS(M,Ad,M)×50", got, specs, want)
	}
}

// TestProtocol prints the accuracy table of docs/protocols/ets.md (about 15 s of CPU). It is
// skipped unless PREVOIR_PROTOCOL=1; PREVOIR_PROTOCOL_FULL=1 adds the slow full-likelihood
// variants:
//
//	PREVOIR_PROTOCOL=1 go test ./forecast/ets -run '^TestProtocol$' -v -timeout 30m
func TestProtocol(t *testing.T) {
	if os.Getenv("PREVOIR_PROTOCOL") != "1" {
		t.Skip("set PREVOIR_PROTOCOL=1 to run the accuracy protocol")
	}
	dates, y := loadSeries(t)
	orig := origins(dates)
	if len(orig) != 50 {
		t.Fatalf("found %d origins, want 50", len(orig))
	}
	type model struct {
		name string
		f    func(specs map[string]int) forecaster
	}
	fixed := func(f forecaster) func(map[string]int) forecaster {
		return func(map[string]int) forecaster { return f }
	}
	auto := func(o ets.Options) func(map[string]int) forecaster {
		return func(specs map[string]int) forecaster { return autoF(o, specs) }
	}
	models := []model{
		{"naive", fixed(naiveF(naive.Naive))},
		{"snaive7", fixed(naiveF(func(y []float64) (*naive.Model, error) { return naive.SeasonalNaive(y, 7) }))},
		{"mean7", fixed(naiveF(func(y []float64) (*naive.Model, error) { return naive.Mean(y, 7) }))},
		{"drift", fixed(naiveF(naive.Drift))},
		{"theta", fixed(thetaF(theta.Options{}))},
		{"otm", fixed(thetaF(theta.Options{Optimize: true}))},
		{"ets_AAdA", fixed(fixedF("AAdA", ets.Options{}))},
		{"ets_log_AAdA", fixed(fixedF("AAdA", ets.Options{Transform: ets.Log1p()}))},
		{"autoets_heur", auto(ets.Options{Init: ets.InitHeuristic})},
		{"autoets_log_heur", auto(ets.Options{Init: ets.InitHeuristic, Transform: ets.Log1p()})},
		{"autoets_tol1e-5", auto(ets.Options{Tol: 1e-5})},
		{"autoets_tol1e-6", auto(ets.Options{Tol: 1e-6})},
		{"autoets_log_tol1e-6", auto(ets.Options{Tol: 1e-6, Transform: ets.Log1p()})},
	}
	if os.Getenv("PREVOIR_PROTOCOL_FULL") == "1" {
		models = append(models,
			model{"autoets_2stage", auto(ets.Options{Init: ets.InitTwoStage})},
			model{"autoets_log_2stage", auto(ets.Options{Init: ets.InitTwoStage, Transform: ets.Log1p()})},
			model{"autoets_Rtol", auto(ets.Options{})},
			model{"autoets_log_Rtol", auto(ets.Options{Transform: ets.Log1p()})})
	}
	runs := map[string]run{}
	var order []string
	for _, md := range models {
		for _, w := range []string{"full", "365"} {
			specs := map[string]int{}
			r := forecastAll(t, y, orig, md.name, w, md.f(specs))
			r.specs = specs
			key := md.name + "/" + w
			runs[key] = r
			order = append(order, key)
		}
	}
	for _, c := range [][]string{
		{"autoets_tol1e-6/365", "autoets_log_tol1e-6/full"},
		{"autoets_tol1e-6/365", "otm/365"},
		{"autoets_tol1e-6/365", "autoets_log_tol1e-6/full", "otm/365"},
		{"autoets_heur/365", "autoets_log_heur/full", "otm/365"},
	} {
		var rs []run
		for _, k := range c {
			rs = append(rs, runs[k])
		}
		key := "mean(" + strings.Join(c, " + ") + ")"
		runs[key] = combine(key, rs...)
		order = append(order, key)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n| model | window | MAE | RMSE | cov80 | cov95 | CPU s | models picked |\n|---|---|---:|---:|---:|---:|---:|---|\n")
	for _, k := range order {
		r := runs[k]
		s := evaluate(y, orig, r)
		picked := ""
		for sp, v := range r.specs {
			picked += fmt.Sprintf("%s×%d ", sp, v)
		}
		fmt.Fprintf(&b, "| %s | %s | %.2f | %.2f | %.0f%% | %.0f%% | %.2f | %s|\n",
			r.name, r.window, s.mae, s.rmse, 100*s.cov80, 100*s.cov95, r.cpu, picked)
	}
	t.Log(b.String())
}
