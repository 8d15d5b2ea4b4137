package main

import (
	"context"
	"fmt"
	"slices"
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
	var (
		asJSON    bool
		listNames []string
	)
	list := &cobra.Command{
		Use:   "list",
		Short: "List registered models (one per target trained) with their latest version and aliases",
		Long: `List the registered models with their latest version and aliases. Each target is a
registered model of its name; --target lists only those of the targets named.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var only []prevoir.Target
			if len(listNames) > 0 {
				var err error
				if only, err = (&targetFlags{names: listNames}).targets(); err != nil {
					return err
				}
			}
			_, reg, err := a.tracker(cmd)
			if err != nil {
				return err
			}
			ms, err := reg.ListModels(cmd.Context())
			if err != nil {
				return err
			}
			if only != nil {
				ms = slices.DeleteFunc(ms, func(m *prevoir.RegisteredModel) bool {
					return !slices.ContainsFunc(only, func(t prevoir.Target) bool { return t.Name == m.Name })
				})
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
	list.Flags().StringSliceVar(&listNames, "target", nil, "only the registered models of these targets: "+strings.Join(prevoir.TargetNames(), ", ")+", or "+prevoir.AllTargets+"; repeat the flag or separate with commas (default: every registered model)")
	markPerInvocation(list, "json", "target")

	var (
		showJSON bool
		showTF   targetFlags
	)
	show := &cobra.Command{
		Use:   "show [TARGET]",
		Short: "Show a target's model versions and the history of its champion",
		Long: `Show the versions of a target's registered model (the target's name), what each pins,
and the history of its champion. The target is --target, or the argument (the registered
model's name, as before targets); default incid_dchosp.`,
		Example: `  prevoir models show
  prevoir models show --target hosp --json`,
		Args: maxArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			tg, err := showTF.target(argOr(args, 0))
			if err != nil {
				return err
			}
			model := tg.Name
			tr, reg, err := a.tracker(cmd)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			vs, err := reg.ListModelVersions(ctx, model)
			if err != nil {
				return err
			}
			if len(vs) == 0 {
				return prevoir.Errorf(prevoir.ENOTFOUND, "no registered model %s: target %s (%s) has no model trained yet (prevoir run train --target %s)", model, tg.Name, tg.Label, tg.Name)
			}
			hist, err := reg.AliasHistory(ctx, model, prevoir.AliasChampion)
			if err != nil {
				return err
			}
			aliases := map[int][]string{}
			for _, al := range []string{prevoir.AliasChampion, prevoir.AliasChallenger} {
				if v, err := reg.ResolveAlias(ctx, model, al); err == nil {
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
	showTF.register(show, oneTargetUsage("whose registered model is shown"))
	markPerInvocation(show, "json")

	var (
		alias, reason string
		force         bool
		minCoverage   float64
		srcs          pipelineFlags
	)
	promote := &cobra.Command{
		Use:   "promote [TARGET] VERSION",
		Short: "Point an alias (champion by default) of a target's registered model at a version",
		Long: `Point an alias (champion by default) of a target's registered model at a version. The
target is --target, or the first argument (the registered model's name, as before targets);
default incid_dchosp. A champion must pass the gate of the
champion rule that training applies: scored at every backtest origin on observed days, with
prediction intervals whose 80% coverage is at least --min-coverage. A version that fails it is
refused unless --force, which says what it overrides and records it in the alias history.
A new champion forecasts at once from the stored data (of --sources), so that the forecast
served is its own; if that fails, the promotion stands, the previous forecast is served marked
as not the champion's, and the command exits non-zero.`,
		Example: `  prevoir models promote --target hosp 3
  prevoir models promote incid_dchosp v2 --alias challenger`,
		Args: rangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			va := args[len(args)-1]
			version, err := strconv.Atoi(strings.TrimPrefix(va, "v"))
			if err != nil || version < 1 {
				return usageError{fmt.Errorf("version %q: want a positive number", va)}
			}
			t, err := srcs.target(argOr(args[:len(args)-1], 0))
			if err != nil {
				return err
			}
			model := t.Name
			_, reg, err := a.tracker(cmd)
			if err != nil {
				return err
			}
			why := reason
			if why == "" {
				why = "promoted by hand (prevoir models promote)"
			}
			if alias == prevoir.AliasChampion {
				v, err := reg.FindModelVersion(cmd.Context(), model, version)
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
			ch, err := reg.SetAlias(cmd.Context(), model, alias, version, why)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "%s %s: v%d -> v%d\n", model, alias, ch.FromVersion, ch.Version)
			return a.afterAliasMove(cmd, &srcs, t, alias)
		},
	}
	srcs.registerFrame(promote)
	srcs.targetFlags.register(promote, oneTargetUsage("whose registered model's alias moves"))
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
		Use:   "rollback [TARGET]",
		Short: "Move an alias (champion by default) of a target's registered model back to the version it pointed at before its last move",
		Long: `Move an alias (champion by default) of a target's registered model back to the version it
pointed at before its last move. The target is --target, or the argument (the registered
model's name, as before targets); default incid_dchosp. The champion it moves back to serves
its forecast at once, as after models promote.`,
		Example: `  prevoir models rollback --target hosp`,
		Args:    maxArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			t, err := rbSrcs.target(argOr(args, 0))
			if err != nil {
				return err
			}
			model := t.Name
			_, reg, err := a.tracker(cmd)
			if err != nil {
				return err
			}
			hist, err := reg.AliasHistory(cmd.Context(), model, rbAlias)
			if err != nil {
				return err
			}
			if len(hist) == 0 || hist[0].FromVersion == 0 {
				return prevoir.Errorf(prevoir.ECONFLICT, "%s %s has no earlier version to roll back to", model, rbAlias)
			}
			ch, err := reg.SetAlias(cmd.Context(), model, rbAlias, hist[0].FromVersion,
				fmt.Sprintf("rolled back by hand from v%d (prevoir models rollback)", hist[0].Version))
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "%s %s: v%d -> v%d\n", model, rbAlias, ch.FromVersion, ch.Version)
			return a.afterAliasMove(cmd, &rbSrcs, t, rbAlias)
		},
	}
	rbSrcs.registerFrame(rollback)
	rbSrcs.targetFlags.register(rollback, oneTargetUsage("whose registered model's alias moves back"))
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
