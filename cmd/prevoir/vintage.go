package main

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/sqlstore"
)

// sourceNames returns the names of the default sources.
func sourceNames() []string {
	var out []string
	for _, s := range prevoir.DefaultSources() {
		out = append(out, s.Name)
	}
	return out
}

// describeChangedColumns names the columns a revision changed, those the frame uses (usedCols:
// its target and covariates) first, with the number of dates each changed.
func describeChangedColumns(r *prevoir.Revision, usedCols []string) string {
	used, others := r.ChangedColumnsByUse(usedCols)
	list := func(cols []string, n int) string {
		desc := make([]string, 0, n+1)
		for _, c := range cols[:min(n, len(cols))] {
			desc = append(desc, fmt.Sprintf("%s %d", c, r.ChangedColumns[c]))
		}
		if len(cols) > n {
			desc = append(desc, fmt.Sprintf("+%d more", len(cols)-n))
		}
		return strings.Join(desc, ", ")
	}
	var parts []string
	if len(used) > 0 {
		parts = append(parts, "used: "+list(used, 4))
	}
	if len(others) > 0 {
		parts = append(parts, "not used: "+list(others, 2))
	}
	return strings.Join(parts, "; ")
}

// currentWhy says why a release is current.
func currentWhy(cur *prevoir.Snapshot) string {
	if cur.Pin != nil {
		return "pinned by " + cur.Pin.By
	}
	return "newer: to " + cur.LastDate.String()
}

// fetchedNote says why the release an ingest fetched is not current: current is.
func fetchedNote(current *prevoir.Snapshot) string {
	if current == nil {
		return ""
	}
	return fmt.Sprintf("not current: snapshot %d stays current (%s)", current.ID, currentWhy(current))
}

func (a *app) snapshotsPinCommand() *cobra.Command {
	var by, reason string
	cmd := &cobra.Command{
		Use:   "pin ID",
		Short: "Make a snapshot its source's current release, whatever the releases' dates say",
		Long: `Make a snapshot its source's current release until it is unpinned, whatever the releases'
dates say: to reproduce what an older release gave, or to hold back a newer one under review.
Without a pin the current release is the newest by its own dates (its last day of data, then
the Last-Modified the server sent, then the one stored last), whatever order the releases were
ingested in. Pinning replaces the source's previous pin; who pinned, when and why are recorded
and listed by prevoir snapshots. A quarantined snapshot must be accepted before it is pinned.`,
		Example: `  prevoir snapshots pin 3 --reason "reproduce the forecast of 2022-08-05"`,
		Args:    exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, by, st, err := a.snapshotDecision(cmd, args[0], by)
			if err != nil {
				return err
			}
			snap, err := st.PinSnapshot(cmd.Context(), id, prevoir.Pin{At: time.Now(), By: by, Reason: reason})
			if err != nil {
				return err
			}
			a.logger.Info("snapshot pinned", "snapshot", snap.ID, "source", snap.Source, "by", by, "reason", reason)
			fmt.Fprintf(a.stdout, "snapshot %d (%s, %s .. %s) pinned by %s: it is the current release of %s until prevoir snapshots unpin %s\n",
				snap.ID, snap.Source, snap.FirstDate, snap.LastDate, by, snap.Source, snap.Source)
			return nil
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why the release is pinned, recorded with it")
	cmd.Flags().StringVar(&by, "by", "", "who pins it, recorded with it (default: the user running prevoir)")
	markPerInvocation(cmd, "reason", "by")
	return cmd
}

func (a *app) snapshotsUnpinCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "unpin SOURCE",
		Short: "Remove a source's pin: its newest release is current again",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !slices.Contains(sourceNames(), args[0]) {
				return usageError{fmt.Errorf("source %q: want one of %s", args[0], strings.Join(sourceNames(), ", "))}
			}
			db, _, err := a.stores(cmd.Context())
			if err != nil {
				return err
			}
			st := sqlstore.NewSnapshotStore(db)
			was, err := st.UnpinSnapshot(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			a.logger.Info("snapshot unpinned", "snapshot", was.ID, "source", was.Source)
			cur, err := st.CurrentSnapshot(cmd.Context(), was.Source)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "snapshot %d unpinned; the current release of %s is snapshot %d (%s .. %s), the newest\n",
				was.ID, was.Source, cur.ID, cur.FirstDate, cur.LastDate)
			return nil
		},
	}
	return cmd
}
