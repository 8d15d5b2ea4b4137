package main

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"os/user"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/datagouv"
	"github.com/prevoir/prevoir/ingest"
	"github.com/prevoir/prevoir/sqlstore"
)

// sourceFlags select and locate the sources.
type sourceFlags struct {
	names   []string
	dir     string
	baseURL string
}

// register adds the selection and the location of the sources.
func (f *sourceFlags) register(cmd *cobra.Command) {
	f.registerNames(cmd)
	f.registerLocation(cmd)
}

// registerLocation adds where the sources are fetched from, for the commands that fetch.
func (f *sourceFlags) registerLocation(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.dir, "source-dir", "", "read the sources from local copies in this directory instead of data.gouv.fr")
	cmd.Flags().StringVar(&f.baseURL, "datagouv-url", prevoir.DataGouvBase, "base URL of data.gouv.fr (or of a mirror)")
}

// registerNames adds the selection only, for the commands that read the stored snapshots.
func (f *sourceFlags) registerNames(cmd *cobra.Command) {
	cmd.Flags().StringSliceVar(&f.names, "sources", nil, "sources to use, by name (default: all: indicateurs,sidep)")
}

// sources returns the selected sources with their URLs set.
func (f *sourceFlags) sources() ([]prevoir.Source, error) {
	all := prevoir.DefaultSources()
	for i := range all {
		// A command that reads only the stored snapshots has no --datagouv-url.
		all[i].URL = prevoir.StableURL(strings.TrimSuffix(cmp.Or(f.baseURL, prevoir.DataGouvBase), "/"), all[i].ResourceID)
	}
	srcs := all
	if len(f.names) > 0 {
		srcs = nil
		for _, n := range f.names {
			s, err := prevoir.LookupSource(all, n)
			if err != nil {
				return nil, usageError{fmt.Errorf("--sources: %w", err)}
			}
			srcs = append(srcs, s)
		}
	}
	if f.dir != "" {
		return ingest.WithSourceDir(srcs, f.dir)
	}
	return srcs, nil
}

func (a *app) ingestService(cmd *cobra.Command) (*ingest.Service, error) {
	db, blobs, err := a.stores(cmd.Context())
	if err != nil {
		return nil, err
	}
	return &ingest.Service{
		Snapshots: sqlstore.NewSnapshotStore(db),
		Blobs:     blobs,
		Client:    &datagouv.Client{Logger: a.logger},
		Logger:    a.logger,
	}, nil
}

func (a *app) ingestCommand() *cobra.Command {
	var (
		sf     sourceFlags
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "ingest",
		Short: "Fetch the sources and store each new release as a snapshot",
		Long: `Fetch both sources (the national indicators and SI-DEP) from data.gouv.fr, or from local
copies with --source-dir, validate them, and store each release not seen before as a
content-addressed snapshot. For each source it prints whether the release is new, unchanged
(bytes already stored: nothing stored, nothing changes), not modified (the server said so:
nothing downloaded), revised (past values changed: how many dates and which columns, those the
frame uses first), older (a release older than the current one by its dates, an archived
vintage: stored, the current release stays current), quarantined or failed (why).

The current release of a source is the newest by its own dates (its last day of data, then
the Last-Modified the server sent, then the one stored last), whatever order the releases are
ingested in, unless an operator pinned one (prevoir snapshots pin).

A release that parses but breaks a plausibility rule of its source (a negative count, a rate
out of its range, a day before 2020 or after tomorrow, a value more than ten times the largest
seen so far) is quarantined: its bytes are stored, the previous release stays current, and
the first violation is printed with its file, line, column and rule. Review it, then accept it
with "prevoir snapshots accept ID".

The exit code is non-zero when any source failed or was quarantined; the other sources are
ingested all the same.`,
		Example: `  prevoir ingest --source-dir testdata
  prevoir ingest --sources sidep --json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			srcs, err := sf.sources()
			if err != nil {
				return err
			}
			svc, err := a.ingestService(cmd)
			if err != nil {
				return err
			}
			results, ierr := svc.Ingest(cmd.Context(), srcs)
			if asJSON {
				type out struct {
					ingest.Result
					Error string `json:"error,omitempty"`
				}
				rs := make([]out, len(results))
				for i, r := range results {
					rs[i] = out{Result: r}
					if r.Err != nil {
						rs[i].Error = r.Err.Error()
					}
				}
				enc := json.NewEncoder(a.stdout)
				enc.SetIndent("", "  ")
				if err := enc.Encode(rs); err != nil {
					return err
				}
			} else if err := printResults(a, results); err != nil {
				return errors.Join(ierr, err)
			}
			return ierr
		},
	}
	sf.register(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the results as JSON")
	markPerInvocation(cmd, "json")
	return cmd
}

func printResults(a *app, results []ingest.Result) error {
	t := newTable(a.stdout)
	t.row("SOURCE", "STATUS", "SNAPSHOT", "ROWS", "FIRST", "LAST", "SHA256", "CHANGES")
	for _, r := range results {
		snap, rows, first, last, sha := "-", "-", "-", "-", "-"
		s := r.Snapshot
		switch {
		case r.Quarantined != nil:
			s = r.Quarantined // the release fetched, not the one that stays current
		case r.Fetched != nil:
			s = r.Fetched
		}
		if s != nil {
			snap, rows, first, last, sha = fmt.Sprint(s.ID), fmt.Sprint(s.Rows), s.FirstDate.String(), s.LastDate.String(), s.SHA256[:12]
		}
		changes := describeRevision(r.Revision)
		switch {
		case r.Fetched != nil && r.Quarantined == nil:
			changes = strings.TrimPrefix(strings.Join([]string{changes, fetchedNote(r.Snapshot)}, "; "), "; ")
		case r.Quarantined != nil:
			changes = fmt.Sprintf("%d plausibility rule violations: see below", r.Quarantined.ViolationCount)
		case r.Err != nil:
			changes = "error: see below"
		}
		t.row(r.Source, string(r.Status), snap, rows, first, last, sha, changes)
	}
	return t.flush()
}

// describeRevision says in a few words how a release differs from the one current before it.
func describeRevision(r *prevoir.Revision) string {
	if r == nil {
		return ""
	}
	var parts []string
	if r.AddedDates > 0 {
		parts = append(parts, fmt.Sprintf("+%d days", r.AddedDates))
	}
	if r.RemovedDates > 0 {
		parts = append(parts, fmt.Sprintf("-%d days", r.RemovedDates))
	}
	if len(r.AddedColumns) > 0 {
		parts = append(parts, "new columns "+strings.Join(r.AddedColumns, ","))
	}
	if len(r.RemovedColumns) > 0 {
		parts = append(parts, "removed columns "+strings.Join(r.RemovedColumns, ","))
	}
	if r.ChangedDates > 0 {
		// The columns the frame uses first: a revision of them changes the forecasts.
		parts = append(parts, fmt.Sprintf("%d past dates revised %s..%s (%s)", r.ChangedDates, r.FirstChanged, r.LastChanged,
			describeChangedColumns(r, prevoir.DefaultFrameOptions().Columns())))
	}
	if len(parts) == 0 {
		return "no change in values"
	}
	return strings.Join(parts, "; ")
}

func (a *app) snapshotsCommand() *cobra.Command {
	var (
		source string
		limit  int
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "snapshots",
		Short: "List the stored snapshots, newest first",
		Long: `List the stored snapshots, newest first. CURRENT marks the release each source's frame is
built from: the newest by its own dates (its last day of data, then the Last-Modified the
server sent, then the one stored last), whatever order the releases were ingested in, unless
an operator pinned one ("pinned"; see prevoir snapshots pin). STATE says "quarantined" for a
release that broke the plausibility rules (kept, never current until accepted) and "accepted"
for one an operator accepted; the violations of quarantined releases, acceptances and pins are
listed below the table. CHANGES lists the columns a revision changed, those the frame uses
first.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := oneOf("source", source, sourceNames()); err != nil {
				return err
			}
			db, _, err := a.stores(cmd.Context())
			if err != nil {
				return err
			}
			st := sqlstore.NewSnapshotStore(db)
			list, err := st.ListSnapshots(cmd.Context(), prevoir.SnapshotFilter{Source: source, Limit: limit})
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(a.stdout)
				enc.SetIndent("", "  ")
				if list == nil {
					list = []*prevoir.Snapshot{}
				}
				return enc.Encode(list)
			}
			current := map[int64]bool{}
			for _, s := range prevoir.DefaultSources() {
				if c, err := st.CurrentSnapshot(cmd.Context(), s.Name); err == nil {
					current[c.ID] = true
				}
			}
			t := newTable(a.stdout)
			t.row("ID", "SOURCE", "FETCHED", "ROWS", "FIRST", "LAST", "BYTES", "SHA256", "CURRENT", "STATE", "CHANGES")
			var notes []string
			for _, s := range list {
				cur, state := "", ""
				if current[s.ID] {
					cur = "*"
				}
				if s.Pin != nil {
					cur += " pinned"
				}
				if s.State != prevoir.SnapshotOK {
					state = string(s.State)
				}
				t.row(fmt.Sprint(s.ID), s.Source, s.FetchedAt.Local().Format(time.DateTime), fmt.Sprint(s.Rows),
					s.FirstDate.String(), s.LastDate.String(), fmt.Sprint(s.Size), s.SHA256[:12], cur, state, describeRevision(s.Revision))
				if qerr := s.QuarantineError(); qerr != nil {
					notes = append(notes, fmt.Sprintf("snapshot %d (%s) %s", s.ID, s.Source, qerr))
				} else if acc := s.Acceptance; acc != nil {
					notes = append(notes, fmt.Sprintf("snapshot %d (%s) accepted by %s on %s: %s", s.ID, s.Source, acc.By,
						acc.At.Local().Format(time.DateTime), cmp.Or(acc.Reason, "no reason given")))
				}
				if p := s.Pin; p != nil {
					notes = append(notes, fmt.Sprintf("snapshot %d (%s) pinned by %s on %s: %s", s.ID, s.Source, p.By,
						p.At.Local().Format(time.DateTime), cmp.Or(p.Reason, "no reason given")))
				}
			}
			if len(list) == 0 {
				fmt.Fprintln(a.stderr, "no snapshots yet: run prevoir ingest")
			}
			if err := t.flush(); err != nil {
				return err
			}
			for _, n := range notes {
				fmt.Fprintln(a.stdout, n)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&source, "source", "", "only this source's snapshots: "+strings.Join(sourceNames(), " or "))
	intVar(cmd.Flags(), &limit, "limit", 0, atLeast(0), "at most this many snapshots (0: all)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	markPerInvocation(cmd, "source", "limit", "json")
	markReadOnly(cmd)
	cmd.AddCommand(a.snapshotsAcceptCommand(), a.snapshotsPinCommand(), a.snapshotsUnpinCommand())
	return cmd
}

// snapshotDecision reads what the commands that record a decision on one snapshot (accept,
// pin) share: the snapshot's ID (the argument), who decides (by, else the user running
// prevoir) and the store, so that both check and default them alike.
func (a *app) snapshotDecision(cmd *cobra.Command, arg, by string) (int64, string, *sqlstore.SnapshotStore, error) {
	id, err := strconv.ParseInt(arg, 10, 64)
	if err != nil || id <= 0 {
		return 0, "", nil, usageError{fmt.Errorf("snapshot ID %q: want a positive integer (see prevoir snapshots)", arg)}
	}
	if by == "" {
		by = operatorName(a.getenv)
	}
	db, _, err := a.stores(cmd.Context())
	if err != nil {
		return 0, "", nil, err
	}
	return id, by, sqlstore.NewSnapshotStore(db), nil
}

func (a *app) snapshotsAcceptCommand() *cobra.Command {
	var by, reason string
	cmd := &cobra.Command{
		Use:   "accept ID",
		Short: "Accept a quarantined snapshot after review: it becomes its source's current release",
		Long: `Accept a snapshot that was quarantined because it broke plausibility rules, once you have
reviewed it (prevoir snapshots lists its violations). It becomes its source's current release,
unless a newer release (by its dates) is stored or another is pinned; who accepted it, when and why are
recorded with the snapshot. Accepting an unknown snapshot, or one that is not quarantined, is
an error.`,
		Example: `  prevoir snapshots accept 7 --reason "late death reports, confirmed by SpF"`,
		Args:    exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, by, st, err := a.snapshotDecision(cmd, args[0], by)
			if err != nil {
				return err
			}
			snap, err := st.AcceptSnapshot(cmd.Context(), id, prevoir.Acceptance{At: time.Now(), By: by, Reason: reason})
			if err != nil {
				return err
			}
			a.logger.Info("snapshot accepted", "snapshot", snap.ID, "source", snap.Source, "by", by, "reason", reason)
			fmt.Fprintf(a.stdout, "snapshot %d (%s, %d rows, %s .. %s) accepted by %s\n", snap.ID, snap.Source, snap.Rows, snap.FirstDate, snap.LastDate, by)
			cur, err := st.CurrentSnapshot(cmd.Context(), snap.Source)
			if err != nil {
				return err
			}
			if cur.ID == snap.ID {
				fmt.Fprintf(a.stdout, "it is now the current release of %s\n", snap.Source)
			} else {
				fmt.Fprintf(a.stdout, "snapshot %d stays the current release of %s (%s)\n", cur.ID, snap.Source, currentWhy(cur))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why the release is accepted, recorded with it")
	cmd.Flags().StringVar(&by, "by", "", "who accepts it, recorded with it (default: the user running prevoir)")
	markPerInvocation(cmd, "reason", "by")
	return cmd
}

// operatorName names the person running prevoir, for the records of their decisions.
func operatorName(getenv func(string) string) string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return cmp.Or(getenv("USER"), getenv("USERNAME"), "unknown")
}
