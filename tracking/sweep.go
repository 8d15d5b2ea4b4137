package tracking

import (
	"context"
	"fmt"
	"time"

	"github.com/prevoir/prevoir"
)

// DefaultSweepGrace is how old an object must be before a sweep may remove it: far longer than
// any write takes between its bytes and its record, and than any run that ends failed is looked
// at while it is news.
const DefaultSweepGrace = 24 * time.Hour

// RunsPrefix is the part of the artifact store that holds runs' artifacts: ArtifactKey puts them
// under it, and a sweep looks only there.
const RunsPrefix = "runs/"

// SweepStore is what a sweep needs of the run store (sqlstore.RunStore implements it).
type SweepStore interface {
	// SweepableArtifacts returns the artifacts of runs that ended failed or killed before
	// endedBefore and that no model version or forecast refers to.
	SweepableArtifacts(ctx context.Context, endedBefore time.Time) ([]prevoir.Artifact, error)
	// ForgetArtifact deletes the record of such an artifact if it still is one, and reports
	// whether it did.
	ForgetArtifact(ctx context.Context, a prevoir.Artifact, endedBefore time.Time) (bool, error)
	// ReferencedBlobKeys returns the keys under prefix that any record refers to.
	ReferencedBlobKeys(ctx context.Context, prefix string) (map[string]bool, error)
}

// SweepOptions configure a sweep.
type SweepOptions struct {
	// Before is the cutoff: only objects written, and runs ended, before it are removed
	// (time.Now() less DefaultSweepGrace when zero).
	Before time.Time
	// DryRun reports what would be removed and removes nothing.
	DryRun bool
}

// Swept is one object a sweep removed (or would remove).
type Swept struct {
	Key  string `json:"key"`
	Size int64  `json:"size"`
	// RunID is the failed run whose artifact it was; empty for an object no record refers to.
	RunID string `json:"run_id,omitempty"`
}

// SweepReport is what a sweep removed.
type SweepReport struct {
	Before time.Time `json:"before"`
	DryRun bool      `json:"dry_run"`
	// FailedRunArtifacts are the artifacts of failed and killed runs: records and objects.
	FailedRunArtifacts []Swept `json:"failed_run_artifacts"`
	// Unreferenced are objects under runs/ that no record refers to: the bytes of a write
	// whose record never landed, the temporary file of a write that was killed.
	Unreferenced []Swept `json:"unreferenced"`
	// Objects and Bytes total both lists.
	Objects int   `json:"objects"`
	Bytes   int64 `json:"bytes"`
}

func (r *SweepReport) add(list *[]Swept, s Swept) {
	*list = append(*list, s)
	r.Objects++
	r.Bytes += s.Size
}

// Sweep removes from the artifact store what nothing needs: the artifacts (records and
// objects) of runs that ended failed or killed, except a run a model version or a forecast
// refers to, and the objects under runs/ that no record refers to. Only what is older than
// the cutoff goes, so the bytes of a write in progress (stored before their record) and a run
// that just failed are left alone.
//
// A record is deleted before its object, so a crash between the two leaves an object no
// record refers to, which the next sweep removes; never a record without its object.
func (t *Tracker) Sweep(ctx context.Context, opts SweepOptions) (*SweepReport, error) {
	st, ok := t.Runs.(SweepStore)
	if !ok {
		return nil, fmt.Errorf("sweep artifacts: the run store (%T) cannot list what it refers to", t.Runs)
	}
	if opts.Before.IsZero() {
		opts.Before = time.Now().Add(-DefaultSweepGrace)
	}
	rep := &SweepReport{Before: opts.Before, DryRun: opts.DryRun, FailedRunArtifacts: []Swept{}, Unreferenced: []Swept{}}

	arts, err := st.SweepableArtifacts(ctx, opts.Before)
	if err != nil {
		return rep, fmt.Errorf("sweep artifacts: %w", err)
	}
	for _, a := range arts {
		if !opts.DryRun {
			forgot, err := st.ForgetArtifact(ctx, a, opts.Before)
			if err != nil {
				return rep, fmt.Errorf("sweep artifacts: %w", err)
			}
			if !forgot {
				continue // another sweep took it, or the run became needed
			}
			// The key is the run's own; should another record share it, the object stays.
			refs, err := st.ReferencedBlobKeys(ctx, a.BlobKey)
			if err != nil {
				return rep, fmt.Errorf("sweep artifacts: %w", err)
			}
			if !refs[a.BlobKey] {
				if err := t.Blobs.Delete(ctx, a.BlobKey); err != nil {
					return rep, fmt.Errorf("sweep artifacts: %w", err)
				}
			}
		}
		rep.add(&rep.FailedRunArtifacts, Swept{Key: a.BlobKey, Size: a.Size, RunID: a.RunID})
	}

	// Listed before the records are read: an object whose record exists when it is listed is
	// then seen as referenced.
	objs, err := t.Blobs.Objects(ctx, RunsPrefix)
	if err != nil {
		return rep, fmt.Errorf("sweep artifacts: %w", err)
	}
	refs, err := st.ReferencedBlobKeys(ctx, RunsPrefix)
	if err != nil {
		return rep, fmt.Errorf("sweep artifacts: %w", err)
	}
	for _, o := range objs {
		// A store that gives no time gives no age: such an object is kept.
		if refs[o.Key] || o.ModTime.IsZero() || !o.ModTime.Before(opts.Before) {
			continue
		}
		if !opts.DryRun {
			if err := t.Blobs.Delete(ctx, o.Key); err != nil {
				return rep, fmt.Errorf("sweep artifacts: %w", err)
			}
		}
		rep.add(&rep.Unreferenced, Swept{Key: o.Key, Size: o.Size})
	}
	t.logger().InfoContext(ctx, "artifact sweep", "dry_run", opts.DryRun, "before", opts.Before.Format(time.RFC3339),
		"failed_run_artifacts", len(rep.FailedRunArtifacts), "unreferenced", len(rep.Unreferenced), "objects", rep.Objects, "bytes", rep.Bytes)
	return rep, nil
}
