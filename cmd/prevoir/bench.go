package main

import (
	"encoding/json"
	"fmt"
	"runtime"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/prevoir/prevoir/forecast/neural"
	"github.com/prevoir/prevoir/internal/bench"
)

func (a *app) benchCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Benchmarks against the PyTorch reference",
	}
	cmd.AddCommand(a.benchTrainCommand())
	return cmd
}

func (a *app) benchTrainCommand() *cobra.Command {
	var (
		model, jsonOut, dataDir string
		epochs, threads, batch  int
		seed                    uint64
		lr                      float64
	)
	cmd := &cobra.Command{
		Use:   "train",
		Short: "Train the deep-learning models as the PyTorch reference benchmark does, and time them",
		Long: `Train the BlockRNN, TCN and Transformer networks (Darts 0.21 at its defaults) exactly as
shared/bench/torch_reference.py does, and report the same measurements under the same JSON field
names, so that the two outputs compare side by side.

Data: the original preprocessing (inner join on date, 17 covariates and the target, rows with a
missing value dropped) of table-indicateurs-open-data-france.csv and sp-fra-jour.csv in
--data-dir: 833 days, 2020-05-13 .. 2022-08-23. The min-max scaler is fitted on every row, as
the reference (and the original project) does; the last 14 days are held out. Training: every
stride-1 window of the first 819 rows (Darts' datasets: 792 for BlockRNN and Transformer, 791
for the TCN's shifted 15-step target), shuffled batches, Adam, MSE. The time is that of the
training loop only. val_mae is the MAE, in deaths/day, of the 14-day forecast made from the
end of the training part.

Progress goes to stderr when it is a terminal; a table goes to stdout.`,
		Example: `  prevoir bench train --model all --epochs 100 --threads 2 --json prevoir-bench.json
  prevoir bench train --model tcn --epochs 5`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var archs []neural.Arch
			if model == "all" {
				archs = []neural.Arch{neural.RNN, neural.TCN, neural.Transformer}
			} else {
				for _, s := range strings.Split(model, ",") {
					arch, err := neural.ParseArch(strings.TrimSpace(s))
					if err != nil {
						return usageError{fmt.Errorf("--model: %w", err)}
					}
					archs = append(archs, arch)
				}
			}
			ds, err := bench.ReferenceDataset(dataDir)
			if err != nil {
				return err
			}
			opts := bench.Options{Models: archs, Epochs: epochs, BatchSize: batch, LR: lr, Seed: seed, Threads: threads}
			if isTerminal(a.stderr) {
				opts.Progress = func(arch neural.Arch, p neural.Progress) {
					fmt.Fprintf(a.stderr, "\r%-12s epoch %3d/%d  train MSE %.6f  %6.1fs", arch, p.Epoch, p.Epochs, p.TrainMSE, p.Elapsed.Seconds())
					if p.Epoch == p.Epochs {
						fmt.Fprintln(a.stderr)
					}
				}
			}
			rep, err := bench.Run(cmd.Context(), ds, opts)
			if err != nil {
				return err
			}
			d := rep.Data
			fmt.Fprintf(a.stdout, "prevoir nn (%s, %s)  threads=%d  dtype=%s  seed=%d  epochs=%d  rows=%d (%s..%s), val %s..%s\n",
				rep.GEMMKernel, runtime.Version(), rep.Threads, rep.DType, rep.Seed, rep.Epochs, d.Rows, d.FirstDate, d.LastDate, d.ValFirstDate, d.ValLastDate)
			t := newTable(a.stdout)
			t.row("MODEL", "PARAMS", "WINDOWS", "TRAIN_S", "S/EPOCH", "MIN_EP_S", "CPU_S", "FINAL_MSE", "VAL_MAE", "LOAD1", "MAXRSS_MB")
			for _, arch := range archs {
				r := rep.Models[string(arch)]
				t.row(r.Model, strconv.Itoa(r.Params), strconv.Itoa(r.Windows), f2(r.TrainSeconds), f4(r.SecondsPerEpoch),
					f4(r.MinEpochSecs), fmt.Sprintf("%.1f", r.TrainCPUSeconds), fmt.Sprintf("%.6f", r.FinalTrainMSE),
					f2(r.ValMAE), f2(max(r.LoadBefore, r.LoadAfter)), fmt.Sprintf("%.0f", r.MaxRSSMB))
			}
			if err := t.flush(); err != nil {
				return err
			}
			if jsonOut == "" {
				return nil
			}
			b, err := json.MarshalIndent(rep, "", " ")
			if err != nil {
				return err
			}
			if err := writeFileAtomic(jsonOut, append(b, '\n')); err != nil {
				return fmt.Errorf("--json: %w", err)
			}
			fmt.Fprintf(a.stdout, "wrote %s\n", jsonOut)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&model, "model", "all", "model(s) to train: rnn, lstm, gru, tcn, transformer, a comma-separated list, or all (rnn,tcn,transformer)")
	intVar(fl, &epochs, "epochs", 100, atLeast(1), "training epochs")
	intVar(fl, &threads, "threads", runtime.NumCPU(), atLeast(1), "worker goroutines (results do not depend on it)")
	fl.Uint64Var(&seed, "seed", 0, "random seed (initialisation, shuffling, dropout)")
	fl.StringVar(&jsonOut, "json", "", "write the measurements to this JSON file (torch_reference.py's field names)")
	fl.StringVar(&dataDir, "data-dir", "testdata", "directory holding "+bench.ReferenceIndicatorsFile+" and "+bench.ReferenceSIDEPFile)
	intVar(fl, &batch, "batch-size", 32, atLeast(1), "mini-batch size")
	floatVar(fl, &lr, "lr", 1e-3, moreThan(0), "Adam learning rate")
	markPerInvocation(cmd, "model", "epochs", "threads", "seed", "json", "batch-size", "lr")
	return cmd
}

func f2(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }
func f4(v float64) string { return strconv.FormatFloat(v, 'f', 4, 64) }
