package main

import (
	"github.com/spf13/cobra"

	"github.com/prevoir/prevoir"
)

// frameFlags are the frame settings of every command that builds the frame (frame, backtest,
// run, worker, serve): a setting given once shapes the frame that is shown and the one models
// learn from alike.
type frameFlags struct {
	stale      string
	staleAfter int
	covariates []string
}

func (f *frameFlags) register(cmd *cobra.Command) {
	def := prevoir.DefaultFrameOptions()
	fl := cmd.Flags()
	fl.StringVar(&f.stale, "stale-covariates", string(def.Stale), "what to do with a covariate that stops before the target: drop or flag")
	intVar(fl, &f.staleAfter, "stale-after", def.StaleAfter, atLeast(0), "days a covariate may lag the target before it counts as stale")
	fl.StringSliceVar(&f.covariates, "covariates", def.Covariates, "covariate columns, in order")
}

// options returns the frame options (the full mode, the default target) with these settings.
func (f *frameFlags) options() (prevoir.FrameOptions, error) {
	opts := prevoir.DefaultFrameOptions()
	opts.Covariates, opts.Stale, opts.StaleAfter = f.covariates, prevoir.StalePolicy(f.stale), f.staleAfter
	if err := opts.Validate(); err != nil {
		return opts, usageError{err}
	}
	return opts, nil
}
