package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/backtest"
	"github.com/prevoir/prevoir/flow"
	"github.com/prevoir/prevoir/tracking"
)

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
			if err := t.flush(); err != nil {
				return err
			}
			if len(pinned) > 0 {
				fmt.Fprintln(a.stdout, "\nWhat each version pins (what promoting it serves):")
				t = newTable(a.stdout)
				for _, v := range vs {
					if p, ok := pinned[v.Version]; ok {
						t.row(fmt.Sprintf("  v%d", v.Version), v.Family, p)
					}
				}
				if err := t.flush(); err != nil {
					return err
				}
			}
			if len(hist) > 0 {
				fmt.Fprintln(a.stdout, "\nChampion history (newest first):")
				t = newTable(a.stdout)
				for _, h := range hist {
					t.row("  "+shortTime(h.At), fmt.Sprintf("v%d -> v%d", h.FromVersion, h.Version), h.Reason)
				}
				return t.flush()
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
