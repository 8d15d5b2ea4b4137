package models

import (
	"context"
	"fmt"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/forecast/conformal"
	"github.com/prevoir/prevoir/forecast/holiday"
	"github.com/prevoir/prevoir/forecast/neural"
)

// MetricTrainMSE is the measure a network reports after each epoch of its training (see
// Progress): the epoch's mean training loss, in scaled units.
const MetricTrainMSE = "train_mse"

// Progress receives the progress of the trainings a fit runs: after each epoch, the value of a
// measure (MetricTrainMSE). It may be called from several goroutines at once.
type Progress func(epoch int, metric string, value float64)

// WithEpochs returns fc with every network it holds, alone or inside the +hol and +cp
// wrappers, trained for epochs epochs; a model without a network is returned as it is.
func WithEpochs(fc prevoir.Forecaster, epochs int) prevoir.Forecaster {
	return mapNetworks(fc, func(n neural.Forecaster) neural.Forecaster {
		n.Options.Epochs = epochs
		return n
	})
}

// FitFinal fits fc on all of f: the fit a training registers, after the backtest that ran fc
// at past origins. Every network fc holds, alone or inside the +hol and +cp wrappers, reports
// each epoch of its training to progress (nil: nothing is reported).
//
// A network alone is trained on all of f: its backtest's retraining grid (neural.Refit) serves
// the backtest only, and it reports its epochs as it trains. Inside a wrapper it keeps the grid,
// whose networks the backtest trained and a conformal calibration reuses; once fitted, the
// training of the network served (the one of f's last grid day, trained by the backtest or by
// this fit) is reported from the grid's record of it (neural.Refit.Curve), and no other
// network's: a calibration may train older grid days too.
func FitFinal(ctx context.Context, fc prevoir.Forecaster, f *prevoir.Frame, progress Progress) (prevoir.Fitted, error) {
	if f.Len() == 0 {
		return nil, fmt.Errorf("%s: empty frame", fc.Name())
	}
	origin := f.Dates[f.Len()-1]
	report := func(n *neural.Forecaster) {
		if progress != nil {
			n.Options.Progress = func(p neural.Progress) { progress(p.Epoch, MetricTrainMSE, p.TrainMSE) }
		}
	}
	if n, ok := fc.(neural.Forecaster); ok {
		n.Refit = nil
		report(&n)
		return n.Fit(ctx, f)
	}
	var grids []*neural.Refit
	fc = mapNetworks(fc, func(n neural.Forecaster) neural.Forecaster {
		if n.Refit == nil {
			report(&n) // no grid: the network is trained on all of f, now
		} else {
			grids = append(grids, n.Refit)
		}
		return n
	})
	fitted, err := fc.Fit(ctx, f)
	if err != nil || progress == nil {
		return fitted, err
	}
	for _, g := range grids {
		for i, mse := range g.Curve(origin) {
			progress(i+1, MetricTrainMSE, mse)
		}
	}
	return fitted, nil
}

// mapNetworks returns fc with fn applied to every network it holds, alone or inside the +hol
// and +cp wrappers (the only composites of the catalogue that may hold one: the ensembles and
// the secondary models hold statistical models only). The wrappers are copied, fc is not
// changed.
func mapNetworks(fc prevoir.Forecaster, fn func(neural.Forecaster) neural.Forecaster) prevoir.Forecaster {
	switch m := fc.(type) {
	case neural.Forecaster:
		return fn(m)
	case *conformal.Forecaster:
		w := *m
		w.Inner = mapNetworks(m.Inner, fn)
		return &w
	case *holiday.Forecaster:
		w := *m
		w.Inner = mapNetworks(m.Inner, fn)
		return &w
	}
	return fc
}
