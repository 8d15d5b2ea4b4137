package main

import (
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/prevoir/prevoir/tracking"
)

func (a *app) artifactsCommand() *cobra.Command {
	arts := &cobra.Command{
		Use:   "artifacts",
		Short: "Read run artifacts (model files, backtest results, plots); sweep what nothing needs",
	}
	var out string
	get := &cobra.Command{
		Use:   "get RUN_ID PATH",
		Short: "Write an artifact to stdout (or -o FILE), after checking it against its recorded SHA-256",
		Args:  exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			tr, _, err := a.tracker(cmd)
			if err != nil {
				return err
			}
			b, err := tr.ReadArtifact(cmd.Context(), args[0], args[1])
			if err != nil {
				return err
			}
			if out != "" && out != "-" {
				return writeFileAtomic(out, b)
			}
			_, err = a.stdout.Write(b)
			return err
		},
	}
	get.Flags().StringVarP(&out, "output", "o", "", "write to this file instead of stdout")
	markPerInvocation(get, "output")
	markReadOnly(get)

	var (
		olderThan time.Duration
		dryRun    bool
		sweepJSON bool
	)
	sweep := &cobra.Command{
		Use:   "sweep",
		Short: "Delete the artifacts of failed runs and the stored objects no record refers to",
		Long: `Delete from the artifact store what nothing needs, once older than --older-than:

  - the artifacts (records and objects) of runs that ended failed or killed, except a run
    that a registered model version or a stored forecast refers to;
  - the objects under runs/ that no record refers to: the bytes of a write whose record never
    landed (an outage, a killed process), the temporary file of a write that was killed.

A run's bytes are stored before their record, so the grace period keeps a write in progress
safe. Records go before their objects: a sweep interrupted half-way leaves objects that the
next one removes. The weekly training sweeps by itself after its champion selection.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			tr, _, err := a.tracker(cmd)
			if err != nil {
				return err
			}
			rep, err := tr.Sweep(cmd.Context(), tracking.SweepOptions{Before: time.Now().Add(-olderThan), DryRun: dryRun})
			if err != nil {
				return err
			}
			if sweepJSON {
				return a.printJSON(rep)
			}
			verb := "removed"
			if dryRun {
				verb = "would remove"
			}
			t := newTable(a.stdout)
			t.row("KEY", "BYTES", "WHY")
			for _, s := range rep.FailedRunArtifacts {
				t.row(s.Key, strconv.FormatInt(s.Size, 10), "run "+s.RunID+" failed")
			}
			for _, s := range rep.Unreferenced {
				t.row(s.Key, strconv.FormatInt(s.Size, 10), "no record refers to it")
			}
			if rep.Objects > 0 {
				if err := t.flush(); err != nil {
					return err
				}
			}
			_, err = fmt.Fprintf(a.stdout, "%s %d objects, %d bytes (%d artifacts of failed runs, %d unreferenced), older than %s\n",
				verb, rep.Objects, rep.Bytes, len(rep.FailedRunArtifacts), len(rep.Unreferenced), olderThan)
			return err
		},
	}
	durationVar(sweep.Flags(), &olderThan, "older-than", tracking.DefaultSweepGrace, atLeast(0), "only what was written, or whose run ended, longer ago than this")
	sweep.Flags().BoolVar(&dryRun, "dry-run", false, "print what would be removed and remove nothing")
	sweep.Flags().BoolVar(&sweepJSON, "json", false, "print JSON")
	markPerInvocation(sweep, "older-than", "dry-run", "json")
	arts.AddCommand(get, sweep)
	return arts
}
