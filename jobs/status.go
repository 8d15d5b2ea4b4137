package jobs

import (
	"context"
	"errors"
	"fmt"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/prevoir/prevoir"
)

// The methods of this file are the queue in plain types, for callers that should not depend on
// River (the web server's actions: web.JobQueue).

// InsertIngest queues the ingest flow (which queues the forecast and the score) and returns the
// job's ID; an identical job still unfinished is returned instead of a new one.
func (q *Queue) InsertIngest(ctx context.Context, trigger string) (int64, error) {
	return q.insertID(ctx, IngestArgs{Trigger: trigger})
}

// InsertTrain queues a training of target with its configured models, or of every
// configured target when target is "", as InsertIngest.
func (q *Queue) InsertTrain(ctx context.Context, trigger, target string) (int64, error) {
	if target != "" {
		if _, err := prevoir.LookupTarget(target); err != nil {
			return 0, err
		}
	}
	return q.insertID(ctx, TrainArgs{Trigger: trigger, Target: target})
}

// InsertForecast queues the forecast flow of target ("" for the default one) for champion
// (see ForecastArgs), as InsertIngest.
func (q *Queue) InsertForecast(ctx context.Context, trigger, target string, champion int) (int64, error) {
	if _, err := prevoir.LookupTarget(targetOf(target)); err != nil {
		return 0, err
	}
	return q.insertID(ctx, ForecastArgs{Trigger: trigger, Target: target, Champion: champion})
}

func (q *Queue) insertID(ctx context.Context, args river.JobArgs) (int64, error) {
	job, _, err := q.Insert(ctx, args)
	if err != nil {
		return 0, err
	}
	return job.ID, nil
}

// Status returns a job's state, or an ENOTFOUND error.
func (q *Queue) Status(ctx context.Context, id int64) (*prevoir.JobStatus, error) {
	row, err := q.Job(ctx, id)
	if errors.Is(err, rivertype.ErrNotFound) {
		return nil, prevoir.Errorf(prevoir.ENOTFOUND, "no job %d", id)
	}
	if err != nil {
		return nil, fmt.Errorf("job %d: %w", id, err)
	}
	return status(row), nil
}

// FailedJobs counts, by kind, the jobs that failed for good (discarded or cancelled) among the
// latest n.
func (q *Queue) FailedJobs(ctx context.Context, n int) (map[string]int, error) {
	rows, err := q.Jobs(ctx, n)
	if err != nil {
		return nil, err
	}
	out := map[string]int{}
	for _, r := range rows {
		if r.State == rivertype.JobStateDiscarded || r.State == rivertype.JobStateCancelled {
			out[r.Kind]++
		}
	}
	return out, nil
}

func status(row *rivertype.JobRow) *prevoir.JobStatus {
	js := &prevoir.JobStatus{ID: row.ID, Kind: row.Kind, State: string(row.State), Attempt: row.Attempt, MaxAttempts: row.MaxAttempts,
		CreatedAt: row.CreatedAt, AttemptedAt: row.AttemptedAt, FinalizedAt: row.FinalizedAt}
	for _, e := range row.Errors {
		js.Errors = append(js.Errors, e.Error)
	}
	switch row.State {
	case rivertype.JobStateCompleted, rivertype.JobStateCancelled, rivertype.JobStateDiscarded:
		js.Done = true
	}
	return js
}
