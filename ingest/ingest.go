// Package ingest brings the sources into prevoir: it fetches the sources, validates the
// bytes, stores each distinct release once (raw bytes in the artifact store, addressed by their
// SHA-256; metadata in SQL), reports how a new release revises the one before, and rebuilds the
// daily frame from the current releases.
//
// Nothing is stored for a release that fails validation. A release that parses but breaks the
// sources' plausibility rules is stored quarantined: kept, reported, never current until an
// operator accepts it. A release's bytes are written before its database row, so the database
// never points at bytes that are not there. (A crash between the two leaves an unreferenced
// object, which the next ingest of the same bytes reuses.)
package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path"
	"path/filepath"
	"sync"
	"time"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/blobstore"
	"github.com/prevoir/prevoir/csvsource"
	"github.com/prevoir/prevoir/datagouv"
)

// Service ingests sources and builds frames.
type Service struct {
	Snapshots prevoir.SnapshotStore
	Blobs     *blobstore.Store
	Client    *datagouv.Client
	Logger    *slog.Logger
	// Now returns the current time; time.Now when nil.
	Now func() time.Time
}

// Result is the outcome of ingesting one source.
type Result struct {
	Source string              `json:"source"`
	Status prevoir.FetchStatus `json:"status"`
	// Snapshot is the source's current snapshot after the fetch (nil if it failed before one
	// existed).
	Snapshot *prevoir.Snapshot `json:"snapshot,omitempty"`
	// Revision is how the fetched release differs from the one current before it (nil for the
	// first release, an unchanged or not-modified one).
	Revision *prevoir.Revision `json:"revision,omitempty"`
	// Quarantined is the release that broke plausibility rules, when Status is quarantined:
	// stored, with its violations, but not current.
	Quarantined *prevoir.Snapshot `json:"quarantined,omitempty"`
	// Fetched is the release fetched when it is not the current one: an older release than
	// the current (an archived vintage, new or already stored), or any release while an
	// operator pins another. Nil when the release fetched is current.
	Fetched *prevoir.Snapshot `json:"fetched,omitempty"`
	Fetch   *prevoir.Fetch    `json:"fetch"`
	// Err is the failure, when Status is failed or quarantined.
	Err error `json:"-"`
}

// WithSourceDir points each source at its copy in dir (file:// URLs), for offline runs.
func WithSourceDir(sources []prevoir.Source, dir string) ([]prevoir.Source, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	out := make([]prevoir.Source, len(sources))
	for i, s := range sources {
		s.URL = datagouv.FileURL(filepath.Join(abs, s.FileName))
		out[i] = s
	}
	return out, nil
}

// Ingest fetches every source at the same time and returns a result for each, in the order of
// sources. The error is non-nil when any source failed; a failing source does not stop the
// others.
func (s *Service) Ingest(ctx context.Context, sources []prevoir.Source) ([]Result, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	results := make([]Result, len(sources))
	var wg sync.WaitGroup
	for i, src := range sources {
		wg.Go(func() { results[i] = s.ingestOne(ctx, src) })
	}
	wg.Wait()
	var errs []error
	for _, r := range results {
		if r.Err != nil {
			errs = append(errs, r.Err)
		}
	}
	return results, errors.Join(errs...)
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Service) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// BlobKey is where a release's raw bytes are stored: one object per (source, content).
func BlobKey(source, sha256 string) string {
	return path.Join("snapshots", source, sha256+".csv")
}

func (s *Service) ingestOne(ctx context.Context, src prevoir.Source) Result {
	log := s.logger().With("source", src.Name)
	start := s.now()
	fetch := &prevoir.Fetch{Source: src.Name, URL: prevoir.RedactURL(src.URL), StartedAt: start}
	res := Result{Source: src.Name, Fetch: fetch}

	// fail records a failed fetch; the record itself failing is reported alongside.
	fail := func(err error) Result {
		fetch.Status, fetch.Error, fetch.Duration = prevoir.FetchFailed, err.Error(), s.now().Sub(start)
		if rerr := s.Snapshots.RecordFetch(context.WithoutCancel(ctx), fetch, nil); rerr != nil {
			err = errors.Join(err, fmt.Errorf("record failed fetch: %w", rerr))
		}
		log.ErrorContext(ctx, "ingest failed", "err", err)
		res.Status, res.Err = prevoir.FetchFailed, fmt.Errorf("ingest %s: %w", src.Name, err)
		return res
	}

	if err := src.Validate(); err != nil {
		return fail(err)
	}
	cur, err := s.Snapshots.CurrentSnapshot(ctx, src.Name)
	if err != nil && prevoir.ErrorCode(err) != prevoir.ENOTFOUND {
		return fail(err)
	}
	res.Snapshot = cur

	// Conditional request: only when the copy the validators describe is still held.
	req := datagouv.Request{URL: src.URL}
	if cur != nil {
		if last, err := s.Snapshots.LastFetch(ctx, src.Name, prevoir.FetchNew, prevoir.FetchRevised, prevoir.FetchUnchanged, prevoir.FetchOlder, prevoir.FetchNotModified); err == nil && last.URL == fetch.URL {
			req.ETag, req.LastModified = last.ETag, last.LastModified
		}
	}
	log.InfoContext(ctx, "fetching", "url", fetch.URL, "conditional", req.ETag != "" || req.LastModified != "")
	resp, err := s.Client.Fetch(ctx, req)
	if err != nil {
		return fail(err)
	}
	fetch.ETag, fetch.LastModified = resp.ETag, resp.LastModified
	if resp.NotModified {
		fetch.Status, fetch.Duration = prevoir.FetchNotModified, s.now().Sub(start)
		if err := s.Snapshots.RecordFetch(ctx, fetch, nil); err != nil {
			return fail(err)
		}
		res.Status = prevoir.FetchNotModified
		log.InfoContext(ctx, "not modified", "snapshot", cur.ID)
		return res
	}

	sha := blobstore.SHA256(resp.Body)
	known, err := s.Snapshots.FindSnapshotBySHA(ctx, src.Name, sha)
	switch {
	case err == nil && known.State != prevoir.SnapshotQuarantined:
		// Bytes already stored (the current release's, or an earlier one's: a source that went
		// back to it, an archived vintage ingested again): nothing stored, nothing changes.
		fetch.Status, fetch.Duration = prevoir.FetchUnchanged, s.now().Sub(start)
		if err := s.Snapshots.RecordFetch(ctx, fetch, known); err != nil {
			return fail(err)
		}
		res.Status = prevoir.FetchUnchanged
		if cur == nil || cur.ID != known.ID {
			res.Fetched = known
		}
		log.InfoContext(ctx, "unchanged", "snapshot", known.ID, "current", cur != nil && cur.ID == known.ID, "sha256", sha[:12])
		return res
	case err != nil && prevoir.ErrorCode(err) != prevoir.ENOTFOUND:
		return fail(err)
	}

	// A release not stored (or stored quarantined): validate all of it before storing anything.
	table, err := csvsource.Parse(src.FileName, resp.Body, src)
	if err != nil {
		return fail(err)
	}
	status := prevoir.FetchNew
	var (
		rev  *prevoir.Revision
		prev *prevoir.Table
	)
	if cur != nil {
		prev, err = s.LoadTable(ctx, src, cur)
		if err != nil {
			return fail(fmt.Errorf("load current snapshot %d to compare: %w", cur.ID, err))
		}
		r := prevoir.Diff(prev, table)
		rev = &r
		if r.Revised() {
			status = prevoir.FetchRevised
		}
	}
	res.Revision = rev

	snap := known
	if snap == nil {
		snap = &prevoir.Snapshot{
			Source: src.Name, SHA256: sha, BlobKey: BlobKey(src.Name, sha), URL: prevoir.RedactURL(resp.URL), FetchedAt: start,
			ETag: resp.ETag, LastModified: resp.LastModified, Size: int64(len(resp.Body)), Rows: table.Len(),
			Columns: table.Columns, Revision: rev, State: prevoir.SnapshotOK,
		}
		snap.FirstDate, snap.LastDate, _ = table.Span()
		if cur != nil {
			snap.PreviousID = cur.ID
			if !snap.NewerThan(cur) {
				// An archived vintage: kept, but the newer release stays current.
				status = prevoir.FetchOlder
			}
		}
		// Plausibility is judged once, when a release first arrives, against the release
		// current then; an implausible one is kept (nothing is lost) but not made current.
		if vs := prevoir.CheckPlausibility(src, table, prevoir.DateOf(start), prev); len(vs) > 0 {
			snap.State, snap.ViolationCount, snap.Violations = prevoir.SnapshotQuarantined, len(vs), vs[:min(len(vs), prevoir.MaxViolationsKept)]
		}
		if err := s.putBlob(ctx, snap.BlobKey, resp.Body); err != nil {
			return fail(err)
		}
	}
	// record records the fetch as resolving to snap: a quarantined release is reported as such
	// every time it is fetched again, until accepted.
	record := func() error {
		fetch.Status, fetch.Error, fetch.Duration = status, "", s.now().Sub(start)
		if qerr := snap.QuarantineError(); qerr != nil {
			fetch.Status, fetch.Error = prevoir.FetchQuarantined, qerr.Summary()
		}
		return s.Snapshots.RecordFetch(ctx, fetch, snap)
	}
	err = record()
	if prevoir.ErrorCode(err) == prevoir.ECONFLICT {
		// Another process stored the same release between our lookup and our insert.
		if snap, err = s.Snapshots.FindSnapshotBySHA(ctx, src.Name, sha); err == nil {
			err = record()
		}
	}
	if err != nil {
		return fail(err)
	}
	if qerr := snap.QuarantineError(); qerr != nil {
		res.Status, res.Quarantined, res.Err = prevoir.FetchQuarantined, snap, fmt.Errorf("ingest %s: %w", src.Name, qerr)
		log.ErrorContext(ctx, "release quarantined", "snapshot", snap.ID, "sha256", sha[:12], "violations", snap.ViolationCount, "err", qerr)
		return res
	}
	res.Status, res.Snapshot = status, snap
	// The release fetched is current unless it is older, or an operator pinned another.
	if cur, err := s.Snapshots.CurrentSnapshot(ctx, src.Name); err != nil {
		return fail(err)
	} else if cur.ID != snap.ID {
		res.Snapshot, res.Fetched = cur, snap
	}
	attrs := []any{"snapshot", snap.ID, "current", res.Fetched == nil, "rows", snap.Rows, "first", snap.FirstDate, "last", snap.LastDate, "sha256", sha[:12]}
	if rev != nil {
		attrs = append(attrs, "added_dates", rev.AddedDates, "changed_dates", rev.ChangedDates, "changed_cells", rev.ChangedCells)
	}
	log.InfoContext(ctx, string(status), attrs...)
	return res
}

// putBlob stores bytes unless they are already there (content addressing makes that safe).
func (s *Service) putBlob(ctx context.Context, key string, body []byte) error {
	ok, err := s.Blobs.Exists(ctx, key)
	if err != nil {
		return err
	}
	if ok {
		return nil
	}
	return s.Blobs.Put(ctx, key, body)
}

// LoadTable reads a stored snapshot's bytes, checks them against the recorded hash, and
// parses them.
func (s *Service) LoadTable(ctx context.Context, src prevoir.Source, snap *prevoir.Snapshot) (*prevoir.Table, error) {
	body, err := s.Blobs.GetVerified(ctx, snap.BlobKey, snap.SHA256)
	if err != nil {
		return nil, err
	}
	t, err := csvsource.Parse(fmt.Sprintf("%s (snapshot %d)", src.FileName, snap.ID), body, src)
	if err != nil {
		return nil, err
	}
	return t, nil
}

// Frame builds the daily frame from the current snapshot of each source.
func (s *Service) Frame(ctx context.Context, sources []prevoir.Source, opts prevoir.FrameOptions) (*prevoir.Frame, error) {
	inputs := make([]prevoir.FrameInput, 0, len(sources))
	for _, src := range sources {
		snap, err := s.Snapshots.CurrentSnapshot(ctx, src.Name)
		if err != nil {
			return nil, err
		}
		t, err := s.LoadTable(ctx, src, snap)
		if err != nil {
			return nil, err
		}
		inputs = append(inputs, prevoir.FrameInput{Table: t, Snapshot: snap})
	}
	return prevoir.BuildFrame(inputs, opts)
}
