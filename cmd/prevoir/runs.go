package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/backtest"
	"github.com/prevoir/prevoir/flow"
	"github.com/prevoir/prevoir/mlflow"
	"github.com/prevoir/prevoir/sqlstore"
	"github.com/prevoir/prevoir/tracking"
)

// tracker returns the run tracker on the opened stores.
func (a *app) tracker(cmd *cobra.Command) (*tracking.Tracker, *sqlstore.Registry, error) {
	db, blobs, err := a.stores(cmd.Context())
	if err != nil {
		return nil, nil, err
	}
	return &tracking.Tracker{Runs: sqlstore.NewRunStore(db), Blobs: blobs, Logger: a.logger}, sqlstore.NewRegistry(db), nil
}

func (a *app) printJSON(v any) error {
	enc := json.NewEncoder(a.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func shortTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format(time.DateTime)
}

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
			t.row("ID", "KIND", "NAME", "STATUS", "STARTED", "DURATION", "ERROR")
			for _, r := range rs {
				t.row(r.ID, string(r.Kind), r.Name, string(r.Status), shortTime(r.StartedAt), duration(r), firstLine(r.Error, 60))
			}
			return t.flush()
		},
	}
	list.Flags().StringVar(&kind, "kind", "", "only runs of this kind: "+strings.Join(prevoir.Names(prevoir.RunKinds()), ", "))
	list.Flags().StringVar(&status, "status", "", "only runs in this state: "+strings.Join(prevoir.Names(prevoir.RunStatuses()), ", "))
	list.Flags().StringVar(&f.Name, "name", "", "only runs with this name (model family)")
	intVar(list.Flags(), &f.Limit, "limit", 20, atLeast(0), "at most this many runs (0: all)")
	list.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	markPerInvocation(list, "kind", "status", "name", "limit", "json")

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
			section := func(title string, m map[string]string) {
				if len(m) == 0 {
					return
				}
				fmt.Fprintf(w, "\n%s:\n", title)
				t := newTable(w)
				for _, k := range sortedKeys(m) {
					t.row("  "+k, m[k])
				}
				t.flush()
			}
			section("Parameters", r.Params)
			section("Tags", r.Tags)
			if len(ms) > 0 {
				fmt.Fprintln(w, "\nMetrics (last value; steps):")
				t := newTable(w)
				for _, s := range summarizeMetrics(ms) {
					t.row("  "+s.key, strconv.FormatFloat(s.last, 'g', 6, 64), fmt.Sprintf("%d steps", s.n))
				}
				t.flush()
			}
			if len(arts) > 0 {
				fmt.Fprintln(w, "\nArtifacts:")
				t := newTable(w)
				for _, ar := range arts {
					t.row("  "+ar.Path, fmt.Sprintf("%d bytes", ar.Size), ar.SHA256[:12])
				}
				t.flush()
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

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func firstLine(s string, n int) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > n {
		s = s[:n-1] + "…"
	}
	return s
}

// exactArgs is cobra.ExactArgs as a usage error.
func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usageError{fmt.Errorf("%s takes %d argument(s), got %d", cmd.CommandPath(), n, len(args))}
		}
		return nil
	}
}

func (a *app) modelsCommand() *cobra.Command {
	models := &cobra.Command{
		Use:   "models",
		Short: "The model registry: versions, aliases (champion, challenger), promotion and rollback",
	}
	var asJSON bool
	list := &cobra.Command{
		Use:   "list",
		Short: "List registered models with their latest version and aliases",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			_, reg, err := a.tracker(cmd)
			if err != nil {
				return err
			}
			ms, err := reg.ListModels(cmd.Context())
			if err != nil {
				return err
			}
			if asJSON {
				if ms == nil {
					ms = []*prevoir.RegisteredModel{}
				}
				return a.printJSON(ms)
			}
			t := newTable(a.stdout)
			t.row("MODEL", "VERSIONS", "ALIASES", "CREATED")
			for _, m := range ms {
				var al []string
				for _, k := range sortedKeys(m.Aliases) {
					al = append(al, fmt.Sprintf("%s=v%d", k, m.Aliases[k]))
				}
				t.row(m.Name, strconv.Itoa(m.LatestVersion), strings.Join(al, " "), shortTime(m.CreatedAt))
			}
			return t.flush()
		},
	}
	list.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	markPerInvocation(list, "json")

	var showJSON bool
	show := &cobra.Command{
		Use:   "show MODEL",
		Short: "Show a model's versions and the history of its champion",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			tr, reg, err := a.tracker(cmd)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			vs, err := reg.ListModelVersions(ctx, args[0])
			if err != nil {
				return err
			}
			if len(vs) == 0 {
				return prevoir.Errorf(prevoir.ENOTFOUND, "no registered model %s", args[0])
			}
			hist, err := reg.AliasHistory(ctx, args[0], prevoir.AliasChampion)
			if err != nil {
				return err
			}
			aliases := map[int][]string{}
			for _, al := range []string{prevoir.AliasChampion, prevoir.AliasChallenger} {
				if v, err := reg.ResolveAlias(ctx, args[0], al); err == nil {
					aliases[v.Version] = append(aliases[v.Version], al)
				}
			}
			pinned := pinnedSummaries(ctx, tr, vs)
			if showJSON {
				return a.printJSON(struct {
					Versions        []*prevoir.ModelVersion `json:"versions"`
					ChampionHistory []*prevoir.AliasChange  `json:"champion_history"`
					Pinned          map[int]string          `json:"pinned"`
				}{vs, hist, pinned})
			}
			t := newTable(a.stdout)
			t.row("VERSION", "FAMILY", "ALIASES", "RUN", "CREATED", "METRICS")
			for _, v := range vs {
				var mets []string
				for _, k := range sortedKeys(v.Metrics) {
					mets = append(mets, fmt.Sprintf("%s=%.4g", k, v.Metrics[k]))
				}
				t.row(strconv.Itoa(v.Version), v.Family, strings.Join(aliases[v.Version], ","), v.RunID, shortTime(v.CreatedAt), strings.Join(mets, " "))
			}
			t.flush()
			if len(pinned) > 0 {
				fmt.Fprintln(a.stdout, "\nWhat each version pins (what promoting it serves):")
				t = newTable(a.stdout)
				for _, v := range vs {
					if p, ok := pinned[v.Version]; ok {
						t.row(fmt.Sprintf("  v%d", v.Version), v.Family, p)
					}
				}
				t.flush()
			}
			if len(hist) > 0 {
				fmt.Fprintln(a.stdout, "\nChampion history (newest first):")
				t = newTable(a.stdout)
				for _, h := range hist {
					t.row("  "+shortTime(h.At), fmt.Sprintf("v%d -> v%d", h.FromVersion, h.Version), h.Reason)
				}
				t.flush()
			}
			return nil
		},
	}
	show.Flags().BoolVar(&showJSON, "json", false, "print JSON")
	markPerInvocation(show, "json")

	var (
		alias, reason string
		force         bool
		minCoverage   float64
		srcs          pipelineFlags
	)
	promote := &cobra.Command{
		Use:   "promote MODEL VERSION",
		Short: "Point an alias (champion by default) at a version",
		Long: `Point an alias (champion by default) at a version. A champion must pass the gate of the
champion rule that training applies: scored at every backtest origin on observed days, with
prediction intervals whose 80% coverage is at least --min-coverage. A version that fails it is
refused unless --force, which says what it overrides and records it in the alias history.
A new champion forecasts at once from the stored data (of --sources), so that the forecast
served is its own; if that fails, the promotion stands, the previous forecast is served marked
as not the champion's, and the command exits non-zero.`,
		Args: exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			version, err := strconv.Atoi(strings.TrimPrefix(args[1], "v"))
			if err != nil || version < 1 {
				return usageError{fmt.Errorf("version %q: want a positive number", args[1])}
			}
			_, reg, err := a.tracker(cmd)
			if err != nil {
				return err
			}
			why := reason
			if why == "" {
				why = "promoted by hand (prevoir models promote)"
			}
			if alias == prevoir.AliasChampion {
				v, err := reg.FindModelVersion(cmd.Context(), args[0], version)
				if err != nil {
					return err
				}
				override, err := backtest.CheckPromotion(v, backtest.ChampionOptions{MinCoverage80: minCoverage}, force)
				if err != nil {
					return fmt.Errorf("%w (--force promotes it anyway)", err)
				}
				if override != "" {
					fmt.Fprintf(a.stderr, "prevoir: warning: %s\n", override)
					why += "; " + override
				}
			}
			ch, err := reg.SetAlias(cmd.Context(), args[0], alias, version, why)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "%s %s: v%d -> v%d\n", args[0], alias, ch.FromVersion, ch.Version)
			return a.afterAliasMove(cmd, &srcs, args[0], alias)
		},
	}
	srcs.registerFrame(promote)
	promote.Flags().StringVar(&alias, "alias", prevoir.AliasChampion, "the alias to move")
	promote.Flags().StringVar(&reason, "reason", "", "why (recorded in the alias history)")
	promote.Flags().BoolVar(&force, "force", false, "promote a version the champion rule refuses (no intervals, too low a coverage, ...), saying what is overridden")
	floatVar(promote.Flags(), &minCoverage, "min-coverage", backtest.DefaultMinCoverage80, between(0, 1), minCoverageUsage)
	markPerInvocation(promote, "alias", "reason", "force")

	var (
		rbAlias string
		rbSrcs  pipelineFlags
	)
	rollback := &cobra.Command{
		Use:   "rollback MODEL",
		Short: "Move an alias (champion by default) back to the version it pointed at before its last move",
		Long: `Move an alias (champion by default) back to the version it pointed at before its last move.
The champion it moves back to serves its forecast at once, as after models promote.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, reg, err := a.tracker(cmd)
			if err != nil {
				return err
			}
			hist, err := reg.AliasHistory(cmd.Context(), args[0], rbAlias)
			if err != nil {
				return err
			}
			if len(hist) == 0 || hist[0].FromVersion == 0 {
				return prevoir.Errorf(prevoir.ECONFLICT, "%s %s has no earlier version to roll back to", args[0], rbAlias)
			}
			ch, err := reg.SetAlias(cmd.Context(), args[0], rbAlias, hist[0].FromVersion,
				fmt.Sprintf("rolled back by hand from v%d (prevoir models rollback)", hist[0].Version))
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "%s %s: v%d -> v%d\n", args[0], rbAlias, ch.FromVersion, ch.Version)
			return a.afterAliasMove(cmd, &rbSrcs, args[0], rbAlias)
		},
	}
	rbSrcs.registerFrame(rollback)
	rollback.Flags().StringVar(&rbAlias, "alias", prevoir.AliasChampion, "the alias to move back")
	markPerInvocation(rollback, "alias")

	markReadOnly(list, show)
	models.AddCommand(list, show, promote, rollback)
	return models
}

// pinnedSummaries says what each version pins, from its model spec; a version whose spec
// cannot be read (not a training run's) is left out.
func pinnedSummaries(ctx context.Context, tr *tracking.Tracker, vs []*prevoir.ModelVersion) map[int]string {
	out := map[int]string{}
	for _, v := range vs {
		if spec, err := flow.ReadSpec(ctx, tr, v); err == nil {
			out[v.Version] = spec.PinnedSummary()
		}
	}
	return out
}

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

// writeFileAtomic writes through a temporary file renamed into place: a failure leaves the
// file as it was and no temporary file behind.
func writeFileAtomic(path string, b []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, 0o644)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}
