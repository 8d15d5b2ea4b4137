package main

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/csvsource"
)

func (a *app) frameCommand() *cobra.Command {
	var (
		format   string
		original bool
		target   string
		ff       frameFlags
		sf       sourceFlags
	)
	def := prevoir.DefaultFrameOptions()
	cmd := &cobra.Command{
		Use:   "frame",
		Short: "Print the daily frame built from the current snapshots",
		Long: `Print the daily frame that models learn from: one row per day, the covariates then the
target, built from the current snapshot of each source (run "prevoir ingest" first).

By default the frame keeps the target's whole span on a continuous calendar: a missing value
is an empty field, never a dropped row. A covariate whose source stops well before the target
(SI-DEP ended on 2022-08-23) is dropped, or with --stale-covariates flag kept beside a 0/1
column <name>_available. Each decision is logged and is part of the JSON output.

--original reproduces the original project's preprocessing instead: inner join of the sources
on date, the 17 covariates and the target, rows with any missing value dropped.

Formats: csv (default), json (values, decisions, gaps and source snapshots), summary (for a
person: span, sources, decisions, gaps, first and last rows).`,
		Example: `  prevoir frame > frame.csv
  prevoir frame --original
  prevoir frame --format summary --stale-covariates flag`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts, err := ff.options()
			if err != nil {
				return err
			}
			opts.Target = target
			if original {
				opts.Mode = prevoir.FrameOriginal
			}
			if err := opts.Validate(); err != nil {
				return usageError{err}
			}
			if format != "csv" && format != "json" && format != "summary" {
				return usageError{fmt.Errorf("--format %q: want csv, json or summary", format)}
			}
			srcs, err := sf.sources()
			if err != nil {
				return err
			}
			svc, err := a.ingestService(cmd)
			if err != nil {
				return err
			}
			f, err := svc.Frame(cmd.Context(), srcs, opts)
			if err != nil {
				return err
			}
			for _, d := range f.Decisions {
				if d.Action != prevoir.ActionKept {
					a.logger.Info("frame column "+d.Action, "column", d.Column, "source", d.Source, "reason", d.Reason)
				}
			}
			switch format {
			case "json":
				enc := json.NewEncoder(a.stdout)
				enc.SetIndent("", " ")
				return enc.Encode(frameJSON{Frame: f, Gaps: f.Gaps()})
			case "summary":
				return writeSummary(a, f)
			}
			return csvsource.WriteFrame(a.stdout, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&format, "format", "csv", "output format: csv, json or summary")
	fl.BoolVar(&original, "original", false, "reproduce the original project's preprocessing (inner join, rows with a missing value dropped)")
	fl.StringVar(&target, "target", def.Target, "the column to forecast (any numeric column of the sources; a command-line setting only, unlike the other commands' --target, which names targets)")
	ff.register(cmd)
	sf.registerNames(cmd)
	markPerInvocation(cmd, "format", "target")
	markReadOnly(cmd)
	return cmd
}

// frameJSON adds the gaps, which are derived, to the frame's JSON.
type frameJSON struct {
	*prevoir.Frame
	Gaps []prevoir.Gap `json:"gaps"`
}

func writeSummary(a *app, f *prevoir.Frame) error {
	w := a.stdout
	fmt.Fprintf(w, "Frame (%s mode): %d days, %s .. %s, target %s\n\n", f.Mode, f.Len(), f.Dates[0], f.Dates[f.Len()-1], f.Target)
	fmt.Fprintln(w, "Sources:")
	t := newTable(w)
	t.row("  SOURCE", "SNAPSHOT", "SHA256", "FIRST", "LAST")
	for _, s := range f.Sources {
		sha := s.SHA256
		if len(sha) > 12 {
			sha = sha[:12]
		}
		t.row("  "+s.Source, strconv.FormatInt(s.SnapshotID, 10), sha, s.FirstDate.String(), s.LastDate.String())
	}
	if err := t.flush(); err != nil {
		return err
	}
	fmt.Fprintln(w, "\nColumns:")
	t = newTable(w)
	t.row("  COLUMN", "SOURCE", "ACTION", "OBSERVED", "MISSING", "WHY")
	for _, d := range f.Decisions {
		obs := "-"
		if d.First != 0 || d.Last != 0 {
			obs = d.First.String() + ".." + d.Last.String()
		}
		t.row("  "+d.Column, d.Source, d.Action, obs, strconv.Itoa(d.Missing), d.Reason)
	}
	if err := t.flush(); err != nil {
		return err
	}
	gaps := f.Gaps()
	fmt.Fprintf(w, "\nGaps (runs of missing values): %d\n", len(gaps))
	for i, g := range gaps {
		if i == 10 {
			fmt.Fprintf(w, "  ... %d more (see --format json)\n", len(gaps)-10)
			break
		}
		fmt.Fprintf(w, "  %-14s %s .. %s (%d days)\n", g.Column, g.From, g.To, g.Days)
	}
	fmt.Fprintln(w, "\nFirst and last rows:")
	t = newTable(w)
	t.row(append([]string{"  date"}, f.Names()...)...)
	rows := []int{0, 1, 2, -1, f.Len() - 3, f.Len() - 2, f.Len() - 1}
	if f.Len() <= 6 {
		rows = rows[:0]
		for i := range f.Len() {
			rows = append(rows, i)
		}
	}
	for _, i := range rows {
		if i < 0 {
			dots := make([]string, len(f.Columns)+1)
			dots[0] = "  ..."
			t.row(dots...)
			continue
		}
		cells := []string{"  " + f.Dates[i].String()}
		for _, c := range f.Columns {
			v := c.Values[i]
			if math.IsNaN(v) {
				cells = append(cells, "")
			} else {
				cells = append(cells, strconv.FormatFloat(v, 'f', -1, 64))
			}
		}
		t.row(cells...)
	}
	return t.flush()
}
