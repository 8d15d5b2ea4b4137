package main

import (
	"encoding/json"
	"fmt"
	"sort"
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

func (f *sourceFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringSliceVar(&f.names, "sources", nil, "sources to use, by name (default: all: indicateurs,sidep)")
	cmd.Flags().StringVar(&f.dir, "source-dir", "", "read the sources from local copies in this directory instead of data.gouv.fr")
	cmd.Flags().StringVar(&f.baseURL, "datagouv-url", prevoir.DataGouvBase, "base URL of data.gouv.fr (or of a mirror)")
}

// sources returns the selected sources with their URLs set.
func (f *sourceFlags) sources() ([]prevoir.Source, error) {
	all := prevoir.DefaultSources()
	for i := range all {
		all[i].URL = prevoir.StableURL(strings.TrimSuffix(f.baseURL, "/"), all[i].ResourceID)
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
(same bytes: nothing stored), not modified (the server said so: nothing downloaded), revised
(past values changed: how many dates and which columns) or failed (why).

The exit code is non-zero when any source failed; the other sources are ingested all the same.`,
		Example: `  prevoir ingest --source-dir ../shared/data
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
			} else {
				printResults(a, results)
			}
			return ierr
		},
	}
	sf.register(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the results as JSON")
	markPerInvocation(cmd, "json")
	return cmd
}

func printResults(a *app, results []ingest.Result) {
	t := newTable(a.stdout)
	t.row("SOURCE", "STATUS", "SNAPSHOT", "ROWS", "FIRST", "LAST", "SHA256", "CHANGES")
	for _, r := range results {
		snap, rows, first, last, sha := "-", "-", "-", "-", "-"
		if s := r.Snapshot; s != nil {
			snap, rows, first, last, sha = fmt.Sprint(s.ID), fmt.Sprint(s.Rows), s.FirstDate.String(), s.LastDate.String(), s.SHA256[:12]
		}
		changes := describeRevision(r.Revision)
		if r.Err != nil {
			changes = "error: see below"
		}
		t.row(r.Source, string(r.Status), snap, rows, first, last, sha, changes)
	}
	t.flush()
}

// describeRevision says in a few words how a release differs from the one before.
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
		cols := make([]string, 0, len(r.ChangedColumns))
		for c := range r.ChangedColumns {
			cols = append(cols, c)
		}
		// Most revised columns first.
		sort.Slice(cols, func(i, j int) bool {
			if r.ChangedColumns[cols[i]] != r.ChangedColumns[cols[j]] {
				return r.ChangedColumns[cols[i]] > r.ChangedColumns[cols[j]]
			}
			return cols[i] < cols[j]
		})
		desc := make([]string, 0, 4)
		for _, c := range cols[:min(4, len(cols))] {
			desc = append(desc, fmt.Sprintf("%s %d", c, r.ChangedColumns[c]))
		}
		if len(cols) > 4 {
			desc = append(desc, fmt.Sprintf("+%d more", len(cols)-4))
		}
		parts = append(parts, fmt.Sprintf("%d past dates revised %s..%s (%s)", r.ChangedDates, r.FirstChanged, r.LastChanged, strings.Join(desc, ", ")))
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
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
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
			t.row("ID", "SOURCE", "FETCHED", "ROWS", "FIRST", "LAST", "BYTES", "SHA256", "CURRENT", "CHANGES")
			for _, s := range list {
				cur := ""
				if current[s.ID] {
					cur = "*"
				}
				t.row(fmt.Sprint(s.ID), s.Source, s.FetchedAt.Local().Format(time.DateTime), fmt.Sprint(s.Rows),
					s.FirstDate.String(), s.LastDate.String(), fmt.Sprint(s.Size), s.SHA256[:12], cur, describeRevision(s.Revision))
			}
			if len(list) == 0 {
				fmt.Fprintln(a.stderr, "no snapshots yet: run prevoir ingest")
			}
			return t.flush()
		},
	}
	cmd.Flags().StringVar(&source, "source", "", "only this source's snapshots")
	cmd.Flags().IntVar(&limit, "limit", 0, "at most this many snapshots (0: all)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	markPerInvocation(cmd, "source", "limit", "json")
	markReadOnly(cmd)
	return cmd
}
