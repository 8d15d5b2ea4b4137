package main

import (
	"cmp"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/mlflow"
)

func duration(r *prevoir.Run) string {
	end := r.EndedAt
	if end.IsZero() {
		end = time.Now()
	}
	return end.Sub(r.StartedAt).Round(100 * time.Millisecond).String()
}

func (a *app) runsCommand() *cobra.Command {
	runs := &cobra.Command{
		Use:   "runs",
		Short: "List, show and export recorded runs (trainings, backtests, forecasts)",
	}
	var (
		f      prevoir.RunFilter
		kind   string
		status string
		asJSON bool
	)
	list := &cobra.Command{
		Use:   "list",
		Short: "List runs, newest first",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := oneOf("kind", kind, prevoir.Names(prevoir.RunKinds())); err != nil {
				return err
			}
			if err := oneOf("status", status, prevoir.Names(prevoir.RunStatuses())); err != nil {
				return err
			}
			if f.Target != "" {
				if _, err := prevoir.LookupTarget(f.Target); err != nil {
					return usageError{fmt.Errorf("--target: %w", err)}
				}
			}
			tr, _, err := a.tracker(cmd)
			if err != nil {
				return err
			}
			f.Kind, f.Status = prevoir.RunKind(kind), prevoir.RunStatus(status)
			rs, err := tr.Runs.ListRuns(cmd.Context(), f)
			if err != nil {
				return err
			}
			if asJSON {
				if rs == nil {
					rs = []*prevoir.Run{}
				}
				return a.printJSON(rs)
			}
			t := newTable(a.stdout)
			t.row("ID", "KIND", "TARGET", "NAME", "STATUS", "STARTED", "DURATION", "ERROR")
			for _, r := range rs {
				t.row(r.ID, string(r.Kind), cmp.Or(r.Target, "-"), r.Name, string(r.Status), shortTime(r.StartedAt), duration(r), firstLine(r.Error, 60))
			}
			return t.flush()
		},
	}
	list.Flags().StringVar(&kind, "kind", "", "only runs of this kind: "+strings.Join(prevoir.Names(prevoir.RunKinds()), ", "))
	list.Flags().StringVar(&status, "status", "", "only runs in this state: "+strings.Join(prevoir.Names(prevoir.RunStatuses()), ", "))
	list.Flags().StringVar(&f.Name, "name", "", "only runs with this name (model family)")
	list.Flags().StringVar(&f.Target, "target", "", "only the runs of this target: "+strings.Join(prevoir.TargetNames(), ", ")+" (ingests have none)")
	intVar(list.Flags(), &f.Limit, "limit", 20, atLeast(0), "at most this many runs (0: all)")
	list.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	markPerInvocation(list, "kind", "status", "name", "target", "limit", "json")

	var showJSON bool
	show := &cobra.Command{
		Use:   "show RUN_ID",
		Short: "Show a run: parameters, metrics, tags, artifacts and lineage",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			tr, _, err := a.tracker(cmd)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			r, err := tr.Runs.FindRun(ctx, args[0])
			if err != nil {
				return err
			}
			ms, err := tr.Runs.Metrics(ctx, r.ID, "")
			if err != nil {
				return err
			}
			arts, err := tr.Runs.Artifacts(ctx, r.ID)
			if err != nil {
				return err
			}
			if showJSON {
				return a.printJSON(struct {
					*prevoir.Run
					Metrics   []prevoir.Metric   `json:"metrics"`
					Artifacts []prevoir.Artifact `json:"artifacts"`
				}{r, prevoir.FiniteMetrics(ms), arts}) // the text output and the MLflow export show the others
			}
			w := a.stdout
			fmt.Fprintf(w, "Run %s\n  kind %s, name %q, experiment %s\n  status %s, started %s, duration %s, owner %s\n",
				r.ID, r.Kind, r.Name, r.Experiment, r.Status, shortTime(r.StartedAt), duration(r), r.Owner)
			if r.Error != "" {
				fmt.Fprintf(w, "  error: %s\n", r.Error)
			}
			fmt.Fprintf(w, "  code %s\n", r.CodeVersion)
			for _, src := range sortedKeys(r.Snapshots) {
				fmt.Fprintf(w, "  snapshot %s %s\n", src, r.Snapshots[src])
			}
			if r.FrameSHA256 != "" {
				fmt.Fprintf(w, "  frame sha256 %s\n", r.FrameSHA256)
			}
			section := func(title string, m map[string]string) error {
				if len(m) == 0 {
					return nil
				}
				fmt.Fprintf(w, "\n%s:\n", title)
				t := newTable(w)
				for _, k := range sortedKeys(m) {
					t.row("  "+k, m[k])
				}
				return t.flush()
			}
			if err := section("Parameters", r.Params); err != nil {
				return err
			}
			if err := section("Tags", r.Tags); err != nil {
				return err
			}
			if len(ms) > 0 {
				fmt.Fprintln(w, "\nMetrics (last value; steps):")
				t := newTable(w)
				for _, s := range summarizeMetrics(ms) {
					t.row("  "+s.key, strconv.FormatFloat(s.last, 'g', 6, 64), fmt.Sprintf("%d steps", s.n))
				}
				if err := t.flush(); err != nil {
					return err
				}
			}
			if len(arts) > 0 {
				fmt.Fprintln(w, "\nArtifacts:")
				t := newTable(w)
				for _, ar := range arts {
					t.row("  "+ar.Path, fmt.Sprintf("%d bytes", ar.Size), ar.SHA256[:12])
				}
				return t.flush()
			}
			return nil
		},
	}
	show.Flags().BoolVar(&showJSON, "json", false, "print JSON")
	markPerInvocation(show, "json")

	var format string
	export := &cobra.Command{
		Use:   "export DIR",
		Short: "Write runs in another tool's layout (--format mlflow: an MLflow file store under DIR/mlruns)",
		Long: `Write every run in the layout of an MLflow file store, DIR/mlruns/<experiment>/<run>/
{meta.yaml, params, metrics, tags, artifacts}, so that the MLflow UI can show them:

  prevoir runs export --format mlflow mlflow-export && mlflow ui --backend-store-uri mlflow-export/mlruns`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "mlflow" {
				return usageError{fmt.Errorf("--format %q: the only format is mlflow", format)}
			}
			tr, _, err := a.tracker(cmd)
			if err != nil {
				return err
			}
			n, err := mlflow.Export(cmd.Context(), args[0], tr.Runs, tr, prevoir.RunFilter{})
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "exported %d runs to %s\n", n, args[0]+"/mlruns")
			return nil
		},
	}
	export.Flags().StringVar(&format, "format", "mlflow", "layout to write: mlflow")
	markPerInvocation(export, "format")

	markReadOnly(list, show, export)
	runs.AddCommand(list, show, export)
	return runs
}

type metricSummary struct {
	key  string
	last float64
	n    int
}

func summarizeMetrics(ms []prevoir.Metric) []metricSummary {
	var out []metricSummary
	for _, m := range ms { // ordered by key, step
		if len(out) == 0 || out[len(out)-1].key != m.Key {
			out = append(out, metricSummary{key: m.Key})
		}
		s := &out[len(out)-1]
		s.last, s.n = m.Value, s.n+1
	}
	return out
}
