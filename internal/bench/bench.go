// Package bench is the harness of "prevoir bench train": it trains the networks of
// forecast/neural as the PyTorch reference benchmark (shared/bench/torch_reference.py and its
// README) does, on the same data, and reports per model the same measurements under the same
// JSON field names, so that the two outputs compare field by field. It reads the data files
// and measures the process (CPU time, peak RSS, load average), which the model package does
// not.
package bench

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/csvsource"
	"github.com/prevoir/prevoir/forecast/neural"
	"github.com/prevoir/prevoir/nn"
)

// Reference data files, in the data directory.
const (
	ReferenceIndicatorsFile = "table-indicateurs-open-data-france.csv"
	ReferenceSIDEPFile      = "sp-fra-jour.csv"
)

// ReferenceDataset reads the benchmark's data from dataDir: the original project's
// preprocessing (prevoir.FrameOriginal: inner join of the two files on date, the 17
// covariates and the target, rows with a missing value dropped) of the files
// torch_reference.py's load_frame reads, table-indicateurs-open-data-france.csv (not the
// 2022-08-26 vintage: a few covariates were revised in between) and sp-fra-jour.csv. It has
// 833 rows, 2020-05-13 .. 2022-08-23, target first.
func ReferenceDataset(dataDir string) (*neural.Dataset, error) {
	opts := prevoir.DefaultFrameOptions()
	opts.Mode = prevoir.FrameOriginal
	f, err := csvsource.FrameFromFiles(opts,
		csvsource.File{Source: prevoir.SourceIndicators, Path: filepath.Join(dataDir, ReferenceIndicatorsFile)},
		csvsource.File{Source: prevoir.SourceSIDEP, Path: filepath.Join(dataDir, ReferenceSIDEPFile)})
	if err != nil {
		return nil, err
	}
	return neural.DatasetFromFrame(f)
}

// Options configure Run. Zero values mean the reference's defaults.
type Options struct {
	Models    []neural.Arch
	Epochs    int // 100
	BatchSize int // 32
	LR        float64
	Seed      uint64
	Threads   int
	// Progress, if set, is called after every epoch of every model.
	Progress func(neural.Arch, neural.Progress)
}

// Report is the benchmark's JSON output. Fields shared with torch_reference.py's
// output have its names.
type Report struct {
	Engine       string             `json:"engine"`
	GoVersion    string             `json:"go_version"`
	Machine      string             `json:"machine"`
	CPUCount     int                `json:"cpu_count"`
	Threads      int                `json:"threads"`
	GEMMKernel   string             `json:"gemm_kernel"`
	DType        string             `json:"dtype"`
	Seed         uint64             `json:"seed"`
	Epochs       int                `json:"epochs"`
	BatchSize    int                `json:"batch_size"`
	LR           float64            `json:"lr"`
	DartsVersion string             `json:"darts_version_mirrored"`
	Data         Data               `json:"data"`
	Models       map[string]*Result `json:"models"`
}

// Data summarises the dataset.
type Data struct {
	Rows         int      `json:"rows"`
	FirstDate    string   `json:"first_date"`
	LastDate     string   `json:"last_date"`
	TrainRows    int      `json:"train_rows"`
	ValFirstDate string   `json:"val_first_date"`
	ValLastDate  string   `json:"val_last_date"`
	Columns      []string `json:"columns"`
}

// Result holds one model's measurements (see the reference README for each field).
type Result struct {
	Model            string         `json:"model"`
	InputChunkLength int            `json:"input_chunk_length"`
	Params           int            `json:"params"`
	Windows          int            `json:"windows"`
	BatchesPerEpoch  int            `json:"batches_per_epoch"`
	TrainSeconds     float64        `json:"train_seconds"`
	SecondsPerEpoch  float64        `json:"seconds_per_epoch"`
	MedianEpochSecs  float64        `json:"median_epoch_seconds"`
	MinEpochSecs     float64        `json:"min_epoch_seconds"`
	TrainCPUSeconds  float64        `json:"train_cpu_seconds"`
	LoadBefore       float64        `json:"loadavg1_before"`
	LoadAfter        float64        `json:"loadavg1_after"`
	EpochSeconds     []float64      `json:"epoch_seconds"`
	FinalTrainMSE    float64        `json:"final_train_mse"`
	FirstTrainMSE    float64        `json:"first_train_mse"`
	ValMAE           float64        `json:"val_mae"`
	ValMSEScaled     float64        `json:"val_mse_scaled"`
	Forecast         []float64      `json:"forecast"`
	Actual           []float64      `json:"actual"`
	EpochMSE         []float64      `json:"epoch_mse"`
	Layers           []neural.Layer `json:"layers"`
	// MaxRSSMB is the process's peak resident memory so far (getrusage ru_maxrss), in MiB.
	MaxRSSMB float64 `json:"max_rss_mb"`
}

// Horizon is the validation block of the reference: the last 14 days.
const Horizon = 14

// Run trains each model on ds as torch_reference.py does: scaler fitted on every row
// (validation block included, as the reference and the original project do), training
// windows in the first len-14 rows, then a 14-day forecast from the end of the training
// part, compared with the last 14 days. The training time covers the training loop only.
func Run(ctx context.Context, ds *neural.Dataset, opts Options) (*Report, error) {
	if opts.Epochs == 0 {
		opts.Epochs = 100
	}
	if opts.BatchSize == 0 {
		opts.BatchSize = 32
	}
	if opts.LR == 0 {
		opts.LR = 1e-3
	}
	if opts.Threads == 0 {
		opts.Threads = runtime.GOMAXPROCS(0)
	}
	if len(opts.Models) == 0 {
		opts.Models = []neural.Arch{neural.RNN, neural.TCN, neural.Transformer}
	}
	n := ds.Len()
	nTrain := n - Horizon
	if nTrain < 1 {
		return nil, fmt.Errorf("bench: needs more than %d rows, got %d", Horizon, n)
	}
	rep := &Report{
		Engine: "prevoir nn", GoVersion: runtime.Version(), Machine: runtime.GOARCH, CPUCount: runtime.NumCPU(),
		Threads: opts.Threads, GEMMKernel: nn.NewEngine(1).KernelName(), DType: "float32",
		Seed: opts.Seed, Epochs: opts.Epochs, BatchSize: opts.BatchSize, LR: opts.LR, DartsVersion: "0.21.0",
		Data:   Data{Rows: n, TrainRows: nTrain, Columns: slices.Clone(ds.Names)},
		Models: map[string]*Result{},
	}
	if ds.Dates != nil {
		rep.Data.FirstDate, rep.Data.LastDate = ds.Dates[0].String(), ds.Dates[n-1].String()
		rep.Data.ValFirstDate, rep.Data.ValLastDate = ds.Dates[nTrain].String(), ds.Dates[n-1].String()
	}
	for _, a := range opts.Models {
		r, err := benchModel(ctx, a, ds, nTrain, opts)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", a, err)
		}
		rep.Models[string(a)] = r
	}
	return rep, nil
}

func benchModel(ctx context.Context, a neural.Arch, ds *neural.Dataset, nTrain int, opts Options) (*Result, error) {
	cfg := neural.DefaultConfig(a)
	to := neural.TrainOptions{
		Epochs: opts.Epochs, BatchSize: opts.BatchSize, LR: opts.LR, Seed: opts.Seed, Threads: opts.Threads,
	}
	if opts.Progress != nil {
		to.Progress = func(p neural.Progress) { opts.Progress(a, p) }
	}
	// The validation block is simply left out of the training data; the scaler is fitted on
	// all rows first, then imposed.
	scaler, err := neural.FitScaler(ds.Rows)
	if err != nil {
		return nil, err
	}
	runtime.GC() // start each model's timing from a clean heap
	load0 := loadAvg1()
	cpu0 := cpuSeconds()
	m, tr, err := neural.TrainScaled(ctx, cfg, ds.Slice(0, nTrain), scaler, to)
	if err != nil {
		return nil, err
	}
	cpu := cpuSeconds() - cpu0
	load1 := loadAvg1()

	L := m.Config().InputLen
	fc, err := m.Forecast(ds.Rows[nTrain-L : nTrain])
	if err != nil {
		return nil, err
	}
	r := &Result{
		Model: string(a), InputChunkLength: L, Params: m.NumParams(), Windows: tr.Windows, BatchesPerEpoch: tr.Batches,
		TrainSeconds: tr.TrainSeconds, SecondsPerEpoch: tr.TrainSeconds / float64(tr.Epochs),
		MedianEpochSecs: median(tr.EpochSeconds), MinEpochSecs: slices.Min(tr.EpochSeconds),
		TrainCPUSeconds: cpu, LoadBefore: load0, LoadAfter: load1, EpochSeconds: tr.EpochSeconds,
		FinalTrainMSE: tr.EpochMSE[len(tr.EpochMSE)-1], FirstTrainMSE: tr.EpochMSE[0],
		Forecast: fc, EpochMSE: tr.EpochMSE, Layers: m.Layers(), MaxRSSMB: maxRSSMB(),
	}
	for i := range Horizon {
		actual := ds.Rows[nTrain+i][0]
		r.Actual = append(r.Actual, actual)
		r.ValMAE += math.Abs(fc[i]-actual) / Horizon
		d := (fc[i] - actual) / scaler.Range[0]
		r.ValMSEScaled += d * d / Horizon
	}
	return r, nil
}

// median is the median of the epoch times v (v is left as it is).
func median(v []float64) float64 {
	s := slices.Sorted(slices.Values(v))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// loadAvg1 is the 1-minute load average (0 where /proc/loadavg is unavailable).
func loadAvg1() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	var l float64
	fmt.Sscan(string(b), &l)
	return l
}
