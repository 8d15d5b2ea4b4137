package prevoir

import (
	"context"
	"net/http"
	"time"
)

// Snapshot is one distinct release of a source, stored once, addressed by the SHA-256 of its raw
// bytes. The raw bytes live in the blob store under BlobKey; the metadata lives in SQL.
type Snapshot struct {
	ID     int64  `json:"id"`
	Source string `json:"source"`
	// SHA256 is the hex SHA-256 of the raw bytes, the snapshot's identity.
	SHA256 string `json:"sha256"`
	// BlobKey is where the raw bytes are in the artifact store.
	BlobKey string `json:"blob_key"`
	// URL is where the bytes were fetched from (after redirects).
	URL string `json:"url"`
	// FetchedAt is when these bytes were first downloaded.
	FetchedAt time.Time `json:"fetched_at"`
	// ETag and LastModified are the HTTP validators the server sent, if any.
	ETag         string `json:"etag,omitempty"`
	LastModified string `json:"last_modified,omitempty"`
	// Size is the number of raw bytes.
	Size int64 `json:"size"`
	// Rows is the number of parsed daily rows (after the source's row filter).
	Rows int `json:"rows"`
	// FirstDate and LastDate bound the rows.
	FirstDate Date `json:"first_date"`
	LastDate  Date `json:"last_date"`
	// Columns are the numeric columns of the release.
	Columns []string `json:"columns"`
	// PreviousID is the snapshot that was current for the source when this one arrived
	// (0 for the first), and Revision what changed since it.
	PreviousID int64     `json:"previous_id,omitempty"`
	Revision   *Revision `json:"revision,omitempty"`
	// State says whether the release passed the plausibility rules (ok), broke them and awaits
	// review (quarantined: never current), or broke them and was accepted by an operator.
	State SnapshotState `json:"state"`
	// Violations are the first rules the release broke (at most MaxViolationsKept) and
	// ViolationCount how many it broke in all; empty for a release that passed.
	Violations     []Violation `json:"violations,omitempty"`
	ViolationCount int         `json:"violation_count,omitempty"`
	// Acceptance records who accepted a quarantined release, when and why.
	Acceptance *Acceptance `json:"acceptance,omitempty"`
	// Pin records the operator who made this release its source's current one whatever the
	// releases' dates say (nil when it is not pinned).
	Pin *Pin `json:"pin,omitempty"`
}

// Pin is an operator's decision that a release is its source's current one, overriding the
// rule that the newest release is (see NewerThan).
type Pin struct {
	At     time.Time `json:"at"`
	By     string    `json:"by"`
	Reason string    `json:"reason,omitempty"`
}

// NewerThan reports whether s is a newer release than o by the releases' own dates: the later
// last day of data; on the same last day, the later Last-Modified the server sent (when both
// have one); then the one that arrived later (the higher ID; an unstored release, ID 0, is
// arriving now). The time a release was fetched says nothing of its age: an archived vintage
// can be ingested after the release that superseded it.
func (s *Snapshot) NewerThan(o *Snapshot) bool {
	if s.LastDate != o.LastDate {
		return s.LastDate > o.LastDate
	}
	sm, serr := http.ParseTime(s.LastModified)
	om, oerr := http.ParseTime(o.LastModified)
	if serr == nil && oerr == nil && !sm.Equal(om) {
		return sm.After(om)
	}
	switch {
	case s.ID == 0:
		return o.ID != 0
	case o.ID == 0:
		return false
	}
	return s.ID > o.ID
}

// SnapshotState is where a release stands with the plausibility rules.
type SnapshotState string

// Snapshot states.
const (
	SnapshotOK          SnapshotState = "ok"
	SnapshotQuarantined SnapshotState = "quarantined"
	SnapshotAccepted    SnapshotState = "accepted"
)

// Acceptance is an operator's decision to use a quarantined release after review.
type Acceptance struct {
	At     time.Time `json:"at"`
	By     string    `json:"by"`
	Reason string    `json:"reason,omitempty"`
}

// QuarantineError returns the error that reports the snapshot's quarantine, or nil when it is
// not quarantined.
func (s *Snapshot) QuarantineError() *QuarantineError {
	if s.State != SnapshotQuarantined {
		return nil
	}
	return &QuarantineError{Source: s.Source, SnapshotID: s.ID, Violations: s.Violations, Count: s.ViolationCount}
}

// FetchStatus is the outcome of one attempt to fetch a source.
type FetchStatus string

// Fetch outcomes.
const (
	// FetchNew: a release not seen before that only adds days or columns.
	FetchNew FetchStatus = "new"
	// FetchRevised: a release not seen before that changes or removes past values.
	FetchRevised FetchStatus = "revised"
	// FetchUnchanged: bytes already stored (the current release's, or an earlier one's);
	// nothing stored, and the current release stays current.
	FetchUnchanged FetchStatus = "unchanged"
	// FetchOlder: a release not seen before that is older than the current one (see
	// NewerThan), an archived vintage: stored, but the current release stays current.
	FetchOlder FetchStatus = "older"
	// FetchNotModified: the server answered 304 to a conditional request; nothing downloaded.
	FetchNotModified FetchStatus = "not-modified"
	// FetchFailed: the download or the validation failed; nothing stored.
	FetchFailed FetchStatus = "failed"
	// FetchQuarantined: a release that parses but breaks plausibility rules; its bytes are
	// stored as a quarantined snapshot, which does not become current until accepted.
	FetchQuarantined FetchStatus = "quarantined"
)

// Fetch records one attempt to fetch a source, successful or not, so that freshness ("last
// checked", "last changed") and failures are visible.
type Fetch struct {
	ID        int64         `json:"id"`
	Source    string        `json:"source"`
	URL       string        `json:"url"`
	StartedAt time.Time     `json:"started_at"`
	Duration  time.Duration `json:"duration_ns"`
	Status    FetchStatus   `json:"status"`
	// SnapshotID is the snapshot the fetch resolved to (0 when it failed or was not modified).
	SnapshotID int64 `json:"snapshot_id,omitempty"`
	// ETag and LastModified are the validators to send with the next conditional request.
	ETag         string `json:"etag,omitempty"`
	LastModified string `json:"last_modified,omitempty"`
	// Error is the failure message when Status is FetchFailed or FetchQuarantined.
	Error string `json:"error,omitempty"`
}

// SnapshotFilter selects snapshots in ListSnapshots.
type SnapshotFilter struct {
	Source string // empty: every source
	Limit  int    // 0: no limit
}

// SnapshotStore records snapshots and fetch attempts. Implementations must be safe for
// concurrent use and make each call atomic: a failed call stores nothing.
type SnapshotStore interface {
	// FindSnapshotBySHA returns the snapshot of source with the given content hash, or an
	// ENOTFOUND error.
	FindSnapshotBySHA(ctx context.Context, source, sha256 string) (*Snapshot, error)
	// FindSnapshot returns the snapshot with the given ID, or an ENOTFOUND error.
	FindSnapshot(ctx context.Context, id int64) (*Snapshot, error)
	// CurrentSnapshot returns the release the source's frame is built from: the one an
	// operator pinned, or else the newest (NewerThan) of those not quarantined (a quarantined
	// release counts once accepted). ENOTFOUND when the source has none.
	CurrentSnapshot(ctx context.Context, source string) (*Snapshot, error)
	// PinSnapshot makes a snapshot its source's current release whatever the dates say,
	// recording p, and returns it. An unknown ID is an ENOTFOUND error; a quarantined release
	// an ECONFLICT one (accept it first).
	PinSnapshot(ctx context.Context, id int64, p Pin) (*Snapshot, error)
	// UnpinSnapshot removes the source's pin, if any, and returns the snapshot that was pinned;
	// ENOTFOUND when none was.
	UnpinSnapshot(ctx context.Context, source string) (*Snapshot, error)
	// AcceptSnapshot marks a quarantined snapshot accepted, recording a, and returns it. An
	// unknown ID is an ENOTFOUND error; a snapshot that is not quarantined an ECONFLICT one.
	AcceptSnapshot(ctx context.Context, id int64, a Acceptance) (*Snapshot, error)
	// ListSnapshots returns snapshots, newest first.
	ListSnapshots(ctx context.Context, f SnapshotFilter) ([]*Snapshot, error)
	// RecordFetch stores a fetch attempt and, when snap is not nil and has no ID yet, the new
	// snapshot it produced, in one transaction; it sets the IDs it assigns. Storing a snapshot
	// whose (source, sha256) exists is an ECONFLICT error.
	RecordFetch(ctx context.Context, f *Fetch, snap *Snapshot) error
	// LastFetch returns the latest fetch of the source whose status is one of statuses (any
	// status when none is given), or an ENOTFOUND error.
	LastFetch(ctx context.Context, source string, statuses ...FetchStatus) (*Fetch, error)
}
