package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/prevoir/prevoir"
)

// SnapshotStore implements prevoir.SnapshotStore.
type SnapshotStore struct {
	db *DB
}

var _ prevoir.SnapshotStore = (*SnapshotStore)(nil)

// NewSnapshotStore returns the snapshot store of db.
func NewSnapshotStore(db *DB) *SnapshotStore { return &SnapshotStore{db: db} }

const snapshotColumns = `s.id, s.source, s.sha256, s.blob_key, s.url, s.fetched_at, s.etag, s.last_modified,
	s.size_bytes, s.row_count, s.first_date, s.last_date, s.column_names, s.previous_id, s.revision,
	` + snapshotState + `, s.violations, s.violation_count, s.accepted_at, s.accepted_by, s.accept_reason,
	p.pinned_at, COALESCE(p.pinned_by, ''), COALESCE(p.reason, '')`

// snapshotFrom is the FROM clause of the snapshot queries: a snapshot with its pin, if any.
const snapshotFrom = " FROM snapshots s LEFT JOIN snapshot_pins p ON p.snapshot_id = s.id "

// snapshotState is a snapshot's prevoir.SnapshotState, derived from the facts it follows from
// (an acceptance, violations) rather than stored beside them, where it could contradict them.
const snapshotState = `CASE WHEN s.accepted_at IS NOT NULL THEN 'accepted' WHEN s.violation_count > 0 THEN 'quarantined' ELSE 'ok' END`

// rowScanner is *sql.Row or *sql.Rows.
type rowScanner interface{ Scan(...any) error }

func scanSnapshot(r rowScanner) (*prevoir.Snapshot, error) {
	var (
		s           prevoir.Snapshot
		first, last string
		cols        string
		prev        sql.NullInt64
		rev         sql.NullString
		state       string
		violations  sql.NullString
		acc         prevoir.Acceptance
		pin         prevoir.Pin
	)
	if err := r.Scan(&s.ID, &s.Source, &s.SHA256, &s.BlobKey, &s.URL, timeScan{&s.FetchedAt}, &s.ETag, &s.LastModified,
		&s.Size, &s.Rows, &first, &last, &cols, &prev, &rev,
		&state, &violations, &s.ViolationCount, timeScan{&acc.At}, &acc.By, &acc.Reason,
		timeScan{&pin.At}, &pin.By, &pin.Reason); err != nil {
		return nil, err
	}
	if !pin.At.IsZero() {
		s.Pin = &pin
	}
	s.State = prevoir.SnapshotState(state)
	if violations.Valid {
		if err := json.Unmarshal([]byte(violations.String), &s.Violations); err != nil {
			return nil, fmt.Errorf("snapshot %d: violations: %w", s.ID, err)
		}
	}
	if !acc.At.IsZero() {
		s.Acceptance = &acc
	}
	var err error
	if s.FirstDate, err = prevoir.ParseDate(first); err != nil {
		return nil, fmt.Errorf("snapshot %d: first_date: %w", s.ID, err)
	}
	if s.LastDate, err = prevoir.ParseDate(last); err != nil {
		return nil, fmt.Errorf("snapshot %d: last_date: %w", s.ID, err)
	}
	if err := json.Unmarshal([]byte(cols), &s.Columns); err != nil {
		return nil, fmt.Errorf("snapshot %d: column_names: %w", s.ID, err)
	}
	s.PreviousID = prev.Int64
	if rev.Valid {
		s.Revision = new(prevoir.Revision)
		if err := json.Unmarshal([]byte(rev.String), s.Revision); err != nil {
			return nil, fmt.Errorf("snapshot %d: revision: %w", s.ID, err)
		}
	}
	return &s, nil
}

func (st *SnapshotStore) findOne(ctx context.Context, what, where string, args ...any) (*prevoir.Snapshot, error) {
	q := "SELECT " + snapshotColumns + snapshotFrom + where
	s, err := scanSnapshot(st.db.sql.QueryRowContext(ctx, st.db.rebind(q), args...))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, prevoir.Errorf(prevoir.ENOTFOUND, "no snapshot %s", what)
	}
	if err != nil {
		return nil, fmt.Errorf("find snapshot %s: %w", what, err)
	}
	return s, nil
}

// FindSnapshot implements prevoir.SnapshotStore.
func (st *SnapshotStore) FindSnapshot(ctx context.Context, id int64) (*prevoir.Snapshot, error) {
	return st.findOne(ctx, fmt.Sprintf("with id %d", id), "WHERE s.id = ?", id)
}

// FindSnapshotBySHA implements prevoir.SnapshotStore.
func (st *SnapshotStore) FindSnapshotBySHA(ctx context.Context, source, sha256 string) (*prevoir.Snapshot, error) {
	return st.findOne(ctx, fmt.Sprintf("of %s with sha256 %s", source, sha256), "WHERE s.source = ? AND s.sha256 = ?", source, sha256)
}

// CurrentSnapshot implements prevoir.SnapshotStore: the pinned snapshot, or else the newest
// (prevoir.Snapshot.NewerThan) of those that are not quarantined. The database narrows the
// candidates to the latest last day of data; NewerThan, which parses Last-Modified, settles
// the rest.
func (st *SnapshotStore) CurrentSnapshot(ctx context.Context, source string) (*prevoir.Snapshot, error) {
	what := "for source " + source + " (run prevoir ingest)"
	pinned, err := st.findOne(ctx, what, "WHERE p.source = ?", source)
	if prevoir.ErrorCode(err) != prevoir.ENOTFOUND {
		return pinned, err
	}
	rows, err := st.db.sql.QueryContext(ctx, st.db.rebind("SELECT "+snapshotColumns+snapshotFrom+
		`WHERE s.source = ? AND `+eligible+` AND s.last_date = (
			SELECT MAX(s.last_date) FROM snapshots s WHERE s.source = ? AND `+eligible+`)`), source, source)
	if err != nil {
		return nil, fmt.Errorf("current snapshot of %s: %w", source, err)
	}
	defer rows.Close()
	var newest *prevoir.Snapshot
	for rows.Next() {
		s, err := scanSnapshot(rows)
		if err != nil {
			return nil, fmt.Errorf("current snapshot of %s: %w", source, err)
		}
		if newest == nil || s.NewerThan(newest) {
			newest = s
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("current snapshot of %s: %w", source, err)
	}
	if newest == nil {
		return nil, prevoir.Errorf(prevoir.ENOTFOUND, "no snapshot %s", what)
	}
	return newest, nil
}

// eligible selects the snapshots that may be current: those not quarantined (snapshotState).
const eligible = `(` + snapshotState + `) <> 'quarantined'`

// PinSnapshot implements prevoir.SnapshotStore.
func (st *SnapshotStore) PinSnapshot(ctx context.Context, id int64, p prevoir.Pin) (*prevoir.Snapshot, error) {
	snap, err := st.FindSnapshot(ctx, id)
	if err != nil {
		return nil, err
	}
	if snap.State == prevoir.SnapshotQuarantined {
		return nil, prevoir.Errorf(prevoir.ECONFLICT, "snapshot %d is quarantined: review it and accept it (prevoir snapshots accept %d) before pinning it", id, id)
	}
	err = st.db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, st.db.rebind("DELETE FROM snapshot_pins WHERE source = ?"), snap.Source); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, st.db.rebind(`INSERT INTO snapshot_pins (source, snapshot_id, pinned_at, pinned_by, reason)
			VALUES (?, ?, ?, ?, ?)`), snap.Source, id, st.db.ts(p.At), p.By, p.Reason)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("pin snapshot %d: %w", id, err)
	}
	return st.FindSnapshot(ctx, id)
}

// UnpinSnapshot implements prevoir.SnapshotStore.
func (st *SnapshotStore) UnpinSnapshot(ctx context.Context, source string) (*prevoir.Snapshot, error) {
	pinned, err := st.findOne(ctx, "pinned for source "+source, "WHERE p.source = ?", source)
	if err != nil {
		return nil, err
	}
	if _, err := st.db.sql.ExecContext(ctx, st.db.rebind("DELETE FROM snapshot_pins WHERE source = ? AND snapshot_id = ?"), source, pinned.ID); err != nil {
		return nil, fmt.Errorf("unpin snapshot %d: %w", pinned.ID, err)
	}
	pinned.Pin = nil
	return pinned, nil
}

// AcceptSnapshot implements prevoir.SnapshotStore.
func (st *SnapshotStore) AcceptSnapshot(ctx context.Context, id int64, a prevoir.Acceptance) (*prevoir.Snapshot, error) {
	err := st.db.inTx(ctx, func(tx *sql.Tx) error {
		var state, by string
		var at time.Time
		err := tx.QueryRowContext(ctx, st.db.rebind("SELECT "+snapshotState+", s.accepted_by, s.accepted_at FROM snapshots s WHERE s.id = ?"), id).
			Scan(&state, &by, timeScan{&at})
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return prevoir.Errorf(prevoir.ENOTFOUND, "no snapshot with id %d", id)
		case err != nil:
			return err
		case state == string(prevoir.SnapshotAccepted):
			return prevoir.Errorf(prevoir.ECONFLICT, "snapshot %d was already accepted by %s on %s", id, by, at.Format(time.DateTime))
		case state != string(prevoir.SnapshotQuarantined):
			return prevoir.Errorf(prevoir.ECONFLICT, "snapshot %d is not quarantined (it passed the plausibility rules): nothing to accept", id)
		}
		_, err = tx.ExecContext(ctx, st.db.rebind(`UPDATE snapshots SET accepted_at = ?, accepted_by = ?, accept_reason = ?
			WHERE id = ?`), st.db.ts(a.At), a.By, a.Reason, id)
		return err
	})
	if err != nil {
		if prevoir.ErrorCode(err) != prevoir.EINTERNAL {
			return nil, err
		}
		return nil, fmt.Errorf("accept snapshot %d: %w", id, err)
	}
	return st.FindSnapshot(ctx, id)
}

// ListSnapshots implements prevoir.SnapshotStore.
func (st *SnapshotStore) ListSnapshots(ctx context.Context, f prevoir.SnapshotFilter) ([]*prevoir.Snapshot, error) {
	q := "SELECT " + snapshotColumns + snapshotFrom
	var args []any
	if f.Source != "" {
		q += " WHERE s.source = ?"
		args = append(args, f.Source)
	}
	q += " ORDER BY s.id DESC"
	if f.Limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	rows, err := st.db.sql.QueryContext(ctx, st.db.rebind(q), args...)
	if err != nil {
		return nil, fmt.Errorf("list snapshots: %w", err)
	}
	defer rows.Close()
	var out []*prevoir.Snapshot
	for rows.Next() {
		s, err := scanSnapshot(rows)
		if err != nil {
			return nil, fmt.Errorf("list snapshots: %w", err)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// RecordFetch implements prevoir.SnapshotStore.
func (st *SnapshotStore) RecordFetch(ctx context.Context, f *prevoir.Fetch, snap *prevoir.Snapshot) error {
	if f.Source == "" || f.Status == "" {
		return prevoir.Errorf(prevoir.EINVALID, "record fetch: empty source or status")
	}
	var snapID int64
	err := st.db.inTx(ctx, func(tx *sql.Tx) error {
		if snap != nil && snap.ID == 0 {
			id, err := st.insertSnapshot(ctx, tx, snap)
			if err != nil {
				return err
			}
			snapID = id
		} else if snap != nil {
			snapID = snap.ID
		}
		var sid any
		if snapID != 0 {
			sid = snapID
		}
		return tx.QueryRowContext(ctx, st.db.rebind(`INSERT INTO fetches
			(source, url, started_at, duration_ms, status, snapshot_id, etag, last_modified, error)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`),
			f.Source, f.URL, st.db.ts(f.StartedAt), f.Duration.Milliseconds(), string(f.Status), sid,
			f.ETag, f.LastModified, f.Error).Scan(&f.ID)
	})
	if err != nil {
		if isUniqueViolation(err) {
			return prevoir.Errorf(prevoir.ECONFLICT, "snapshot of %s with sha256 %s already stored", snap.Source, snap.SHA256)
		}
		return fmt.Errorf("record fetch of %s: %w", f.Source, err)
	}
	// IDs are set only once the transaction committed, so a failed call changes nothing.
	if snap != nil {
		snap.ID = snapID
		if snap.State == "" {
			snap.State = prevoir.SnapshotOK
		}
	}
	f.SnapshotID = snapID
	return nil
}

func (st *SnapshotStore) insertSnapshot(ctx context.Context, tx *sql.Tx, s *prevoir.Snapshot) (int64, error) {
	cols, err := json.Marshal(s.Columns)
	if err != nil {
		return 0, err
	}
	var rev, prev, violations any
	if len(s.Violations) > 0 {
		b, err := json.Marshal(s.Violations)
		if err != nil {
			return 0, err
		}
		violations = string(b)
	}
	if s.Revision != nil {
		b, err := json.Marshal(s.Revision)
		if err != nil {
			return 0, err
		}
		rev = string(b)
	}
	if s.PreviousID != 0 {
		prev = s.PreviousID
	}
	var id int64
	err = tx.QueryRowContext(ctx, st.db.rebind(`INSERT INTO snapshots
		(source, sha256, blob_key, url, fetched_at, etag, last_modified, size_bytes, row_count,
		 first_date, last_date, column_names, previous_id, revision, violations, violation_count)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`),
		s.Source, s.SHA256, s.BlobKey, s.URL, st.db.ts(s.FetchedAt), s.ETag, s.LastModified, s.Size, s.Rows,
		s.FirstDate.String(), s.LastDate.String(), string(cols), prev, rev, violations, s.ViolationCount).Scan(&id)
	return id, err
}

// LastFetch implements prevoir.SnapshotStore.
func (st *SnapshotStore) LastFetch(ctx context.Context, source string, statuses ...prevoir.FetchStatus) (*prevoir.Fetch, error) {
	q := `SELECT id, source, url, started_at, duration_ms, status, snapshot_id, etag, last_modified, error
		FROM fetches WHERE source = ?`
	args := []any{source}
	if len(statuses) > 0 {
		q += " AND status IN (" + strings.TrimSuffix(strings.Repeat("?, ", len(statuses)), ", ") + ")"
		for _, s := range statuses {
			args = append(args, string(s))
		}
	}
	q += " ORDER BY id DESC LIMIT 1"
	var (
		f      prevoir.Fetch
		ms     int64
		status string
		sid    sql.NullInt64
	)
	err := st.db.sql.QueryRowContext(ctx, st.db.rebind(q), args...).Scan(&f.ID, &f.Source, &f.URL, timeScan{&f.StartedAt},
		&ms, &status, &sid, &f.ETag, &f.LastModified, &f.Error)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, prevoir.Errorf(prevoir.ENOTFOUND, "no fetch of source %s", source)
	}
	if err != nil {
		return nil, fmt.Errorf("last fetch of %s: %w", source, err)
	}
	f.Duration = time.Duration(ms) * time.Millisecond
	f.Status = prevoir.FetchStatus(status)
	f.SnapshotID = sid.Int64
	return &f, nil
}
