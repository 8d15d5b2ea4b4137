package neural

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"time"

	"github.com/prevoir/prevoir/nn"
)

// TrainOptions configure Train. The zero value of a field means Darts' default
// (TorchForecastingModel.fit: 100 epochs, batch 32, Adam with lr 1e-3, no validation).
type TrainOptions struct {
	// Epochs is the number of passes over the training windows; 0 means 100.
	Epochs int
	// BatchSize is the mini-batch size; 0 means 32. The last batch of an epoch may be
	// smaller (drop_last=False).
	BatchSize int
	// LR is Adam's learning rate; 0 means 1e-3.
	LR float64
	// Seed fixes the initial parameters, the shuffling and the dropout masks.
	Seed uint64
	// Threads is the number of worker goroutines; 0 means runtime.GOMAXPROCS(0). Results
	// do not depend on it (the engine's reductions have a fixed order).
	Threads int
	// ValidationRows holds out the last rows of the dataset: no training window reads them,
	// and the validation loss (MSE, scaled units) of the forecasts whose targets lie in them
	// is computed after every epoch. 0 means no validation.
	ValidationRows int
	// Patience stops training after this many epochs without a lower validation loss and
	// restores the parameters of the best epoch (early stopping; needs ValidationRows). 0
	// means no early stopping.
	Patience int
	// ScaleAllRows fits the min-max scaler on every row, validation rows included, as the
	// original project did (its scaler saw the whole series, so the validation forecast was
	// scaled with the validation block's own extremes: a leak). By default the scaler sees
	// only the training rows.
	ScaleAllRows bool
	// Progress, if set, is called after every epoch.
	Progress func(Progress)
}

// Progress reports the end of an epoch.
type Progress struct {
	Epoch, Epochs int
	// TrainMSE is the mean training loss of the epoch over its windows (scaled units,
	// dropout on), Lightning's epoch train_loss.
	TrainMSE float64
	// ValMSE is the validation loss (NaN without validation).
	ValMSE float64
	// Elapsed is the training time so far.
	Elapsed time.Duration
}

// Report describes a training run.
type Report struct {
	// Windows and ValWindows count the training and validation samples; Batches is the
	// number of mini-batches per epoch.
	Windows, ValWindows, Batches int
	// TrainRows is the number of rows the training windows lie in.
	TrainRows int
	// Epochs is the number of epochs run; BestEpoch (1-based) the one whose parameters the
	// model has (the last one without early stopping).
	Epochs, BestEpoch int
	// EpochMSE and ValMSE are the per-epoch training and validation losses (ValMSE empty
	// without validation); EpochSeconds the per-epoch training times.
	EpochMSE, ValMSE, EpochSeconds []float64
	// TrainSeconds is the wall time of the training loop (mini-batches: forward, backward,
	// Adam), without validation passes, data preparation or model construction.
	TrainSeconds float64
	// ValSeconds is the time spent computing validation losses.
	ValSeconds float64
	// Stopped says why training ended early ("" when it ran every epoch).
	Stopped string
}

func (o TrainOptions) withDefaults() TrainOptions {
	if o.Epochs == 0 {
		o.Epochs = 100
	}
	if o.BatchSize == 0 {
		o.BatchSize = 32
	}
	if o.LR == 0 {
		o.LR = 1e-3
	}
	if o.Threads == 0 {
		o.Threads = runtime.GOMAXPROCS(0)
	}
	return o
}

func (o TrainOptions) validate() error {
	switch {
	case o.Epochs < 0 || o.BatchSize < 0 || o.Threads < 0:
		return fmt.Errorf("neural: epochs %d, batch size %d and threads %d must not be negative", o.Epochs, o.BatchSize, o.Threads)
	case !(o.LR >= 0) || math.IsInf(o.LR, 0):
		return fmt.Errorf("neural: learning rate %v must be finite and non-negative", o.LR)
	case o.ValidationRows < 0 || o.Patience < 0:
		return fmt.Errorf("neural: validation rows %d and patience %d must not be negative", o.ValidationRows, o.Patience)
	case o.Patience > 0 && o.ValidationRows == 0:
		return fmt.Errorf("neural: early stopping (patience %d) needs validation rows", o.Patience)
	}
	return nil
}

// Train fits a network of configuration cfg to ds as Darts' TorchForecastingModel.fit does:
// min-max scaling, every stride-1 window of the training rows (trainingWindows), shuffled
// mini-batches without dropping the last, MSE loss (torch.nn.MSELoss, mean over batch and
// time) and Adam (torch.optim.Adam). cfg.InputSize is set from ds (a non-zero value must
// match). With the same seed, data and options, the result is bit-for-bit the same,
// whatever the number of threads.
//
// Train returns ctx's error, and no model, when ctx is cancelled.
func Train(ctx context.Context, cfg Config, ds *Dataset, opts TrainOptions) (*Model, *Report, error) {
	return train(ctx, cfg, ds, nil, opts)
}

// train is Train; a non-nil scaler is used instead of fitting one.
func train(ctx context.Context, cfg Config, ds *Dataset, scaler *Scaler, opts TrainOptions) (*Model, *Report, error) {
	if err := opts.validate(); err != nil {
		return nil, nil, err
	}
	opts = opts.withDefaults()
	if err := ds.validate(); err != nil {
		return nil, nil, err
	}
	if cfg.InputSize == 0 {
		cfg.InputSize = len(ds.Names)
	}
	if cfg.InputSize != len(ds.Names) {
		return nil, nil, fmt.Errorf("neural: configuration has %d input features, dataset %d columns", cfg.InputSize, len(ds.Names))
	}
	if err := cfg.Validate(); err != nil {
		return nil, nil, err
	}
	rows := ds.Len()
	trainRows := rows - opts.ValidationRows
	if trainRows < cfg.span() {
		return nil, nil, fmt.Errorf("neural: %s needs at least %d training rows for one window, got %d (%d rows, %d held out)",
			cfg.Arch, cfg.span(), max(trainRows, 0), rows, opts.ValidationRows)
	}
	if scaler == nil {
		fitRows := ds.Rows[:trainRows]
		if opts.ScaleAllRows {
			fitRows = ds.Rows
		}
		var err error
		if scaler, err = FitScaler(fitRows); err != nil {
			return nil, nil, err
		}
	} else if err := scaler.validate(cfg.InputSize); err != nil {
		return nil, nil, err
	}
	scaled := scaler.transform(ds.Rows)
	train := trainingWindows(cfg, scaled[:trainRows*cfg.InputSize], trainRows)
	var val windows
	if opts.ValidationRows > 0 {
		val = forecastWindows(cfg, scaled, rows, trainRows)
		if val.n == 0 {
			return nil, nil, fmt.Errorf("neural: %d validation rows hold no %d-day forecast", opts.ValidationRows, cfg.OutputLen)
		}
	}

	m, err := newModel(cfg, opts.Seed)
	if err != nil {
		return nil, nil, err
	}
	m.names = slices.Clone(ds.Names)
	m.scaler = scaler
	rep, err := m.fit(ctx, train, val, opts)
	if err != nil {
		return nil, nil, err
	}
	rep.TrainRows = trainRows
	return m, rep, nil
}

// fit runs the training loop.
func (m *Model) fit(ctx context.Context, train, val windows, opts TrainOptions) (*Report, error) {
	c := m.cfg
	eng := nn.NewEngine(opts.Threads)
	opt, err := nn.NewAdam(eng, m.params, nn.AdamConfig{LR: opts.LR})
	if err != nil {
		return nil, err
	}
	shuffle := rand.New(rand.NewPCG(opts.Seed, streamShuffle))
	tp := nn.NewTape(eng, rand.New(rand.NewPCG(opts.Seed, streamDropout)))
	evalTape := nn.NewInferenceTape(eng)

	bs := opts.BatchSize
	rep := &Report{Windows: train.n, ValWindows: val.n, Batches: (train.n + bs - 1) / bs}
	xStep, yStep := train.inLen*train.feat, train.yLen
	xb := make([]float32, bs*xStep)
	yb := make([]float32, bs*yStep)
	perm := make([]int, train.n)
	var best []*nn.Tensor // parameters of the best epoch, with early stopping
	bestVal, bestEpoch := math.Inf(1), 0
	var elapsed time.Duration

	for epoch := 1; epoch <= opts.Epochs; epoch++ {
		start := time.Now()
		for i := range perm {
			perm[i] = i
		}
		shuffle.Shuffle(len(perm), func(i, j int) { perm[i], perm[j] = perm[j], perm[i] })
		var sum float64
		for b0 := 0; b0 < train.n; b0 += bs {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			idx := perm[b0:min(b0+bs, train.n)]
			n := len(idx)
			for k, w := range idx {
				copy(xb[k*xStep:(k+1)*xStep], train.x[w*xStep:(w+1)*xStep])
				copy(yb[k*yStep:(k+1)*yStep], train.y[w*yStep:(w+1)*yStep])
			}
			x, _ := nn.FromSlice(xb[:n*xStep], n, c.InputLen, c.InputSize)
			y, _ := nn.FromSlice(yb[:n*yStep], n, yStep)
			nn.ZeroGrad(m.params)
			loss, err := tp.MSE(m.net.forward(tp, x), y)
			if err != nil {
				return nil, err
			}
			l := float64(loss.Data[0])
			if err := tp.Backward(loss); err != nil {
				return nil, err
			}
			opt.Step()
			tp.Reset()
			if math.IsNaN(l) || math.IsInf(l, 0) {
				return nil, fmt.Errorf("neural: %s: training loss is %v at epoch %d (learning rate %v too high?)", c.Arch, l, epoch, opts.LR)
			}
			sum += l * float64(n) // sample-weighted, as Lightning's epoch mean
		}
		d := time.Since(start)
		elapsed += d
		rep.EpochSeconds = append(rep.EpochSeconds, d.Seconds())
		rep.EpochMSE = append(rep.EpochMSE, sum/float64(train.n))
		rep.Epochs, rep.BestEpoch = epoch, epoch

		valMSE := math.NaN()
		if val.n > 0 {
			vs := time.Now()
			valMSE = m.valLoss(evalTape, val)
			rep.ValSeconds += time.Since(vs).Seconds()
			rep.ValMSE = append(rep.ValMSE, valMSE)
		}
		if opts.Progress != nil {
			opts.Progress(Progress{Epoch: epoch, Epochs: opts.Epochs, TrainMSE: rep.EpochMSE[epoch-1], ValMSE: valMSE, Elapsed: elapsed})
		}
		if opts.Patience > 0 {
			if valMSE < bestVal {
				bestVal, bestEpoch = valMSE, epoch
				best = snapshot(m.params, best)
			}
			if epoch-bestEpoch >= opts.Patience && epoch < opts.Epochs {
				rep.Stopped = fmt.Sprintf("early stopping: no better validation loss in %d epochs", opts.Patience)
				break
			}
		}
	}
	rep.TrainSeconds = elapsed.Seconds()
	if best != nil {
		for i, p := range m.params {
			copy(p.Data, best[i].Data)
		}
		rep.BestEpoch = bestEpoch
	}
	return rep, nil
}

// snapshot copies the parameters' values into dst (allocated on first use).
func snapshot(params []*nn.Param, dst []*nn.Tensor) []*nn.Tensor {
	if dst == nil {
		dst = make([]*nn.Tensor, len(params))
		for i, p := range params {
			dst[i] = nn.New(p.Shape...)
		}
	}
	for i, p := range params {
		copy(dst[i].Data, p.Data)
	}
	return dst
}

// valLoss is the MSE (scaled units) of the forecasts of the validation windows, computed in
// evaluation mode in batches.
func (m *Model) valLoss(tp *nn.Tape, val windows) float64 {
	const batch = 256
	step := val.inLen * val.feat
	var s float64
	for b0 := 0; b0 < val.n; b0 += batch {
		n := min(batch, val.n-b0)
		out := m.evalOn(tp, val.x[b0*step:(b0+n)*step], n)
		for i, v := range out {
			d := float64(v) - float64(val.y[b0*val.yLen+i])
			s += d * d
		}
	}
	return s / float64(val.n*val.yLen)
}
