package jobs

import (
	"context"
	"encoding/json"
	"strconv"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// workerSet runs the handlers as River workers.
type workerSet struct {
	q *Queue
	h *Handlers
}

// funcWorker is a River worker that runs a function under its kind's timeout (Queue.timeout),
// holding the job's lease meanwhile. River cancels the job's context at the timeout.
type funcWorker[T river.JobArgs] struct {
	river.WorkerDefaults[T]
	q    *Queue
	work func(context.Context, *river.Job[T]) error
}

func newWorker[T river.JobArgs](q *Queue, work func(context.Context, *river.Job[T]) error) *funcWorker[T] {
	return &funcWorker[T]{q: q, work: work}
}

func (w *funcWorker[T]) Work(ctx context.Context, job *river.Job[T]) error {
	return w.q.leased(ctx, job.JobRow, func(ctx context.Context) error { return w.work(ctx, job) })
}

func (w *funcWorker[T]) Timeout(job *river.Job[T]) time.Duration { return w.q.timeout(job.Args.Kind()) }

func (w *workerSet) ingest(ctx context.Context, job *river.Job[IngestArgs]) error {
	if err := w.h.Ingest(ctx); err != nil {
		w.q.logger.ErrorContext(ctx, "ingest job failed", "job", job.ID, "attempt", job.Attempt, "err", err)
		return classify(err)
	}
	// New data: forecast from it, and score the forecasts it makes observable.
	for _, next := range []river.JobArgs{ForecastArgs{Trigger: "ingest"}, ScoreArgs{Trigger: "ingest"}} {
		if _, _, err := w.q.Insert(ctx, next); err != nil {
			return err
		}
	}
	return nil
}

func (w *workerSet) forecast(ctx context.Context, job *river.Job[ForecastArgs]) error {
	return classify(w.h.Forecast(ctx))
}

func (w *workerSet) score(ctx context.Context, job *river.Job[ScoreArgs]) error {
	retrain, err := w.h.Score(ctx)
	if err != nil {
		return classify(err)
	}
	if retrain {
		w.q.logger.WarnContext(ctx, "the champion drifted: queueing an early training")
		if _, _, err := w.q.Insert(ctx, TrainArgs{Trigger: "drift"}); err != nil {
			return err
		}
	}
	return nil
}

// train fans out: one train_model job per model, so that several workers share a training, and
// one select_champion job that waits for them.
func (w *workerSet) train(ctx context.Context, job *river.Job[TrainArgs]) error {
	models := job.Args.Models
	if len(models) == 0 {
		models = w.h.Models
	}
	batch := "train-" + strconv.FormatInt(job.ID, 10)
	for _, m := range models {
		if _, _, err := w.q.Insert(ctx, TrainModelArgs{Batch: batch, Model: m, Epochs: job.Args.Epochs}); err != nil {
			return err
		}
	}
	_, _, err := w.q.Insert(ctx, SelectChampionArgs{Batch: batch, Models: models})
	return err
}

func (w *workerSet) trainModel(ctx context.Context, job *river.Job[TrainModelArgs]) error {
	return classify(w.h.TrainModel(ctx, job.Args.Batch, job.Args.Model, job.Args.Epochs))
}

// finished reports whether a job is in a state it does not leave.
func finished(s rivertype.JobState) bool {
	return s == rivertype.JobStateCompleted || s == rivertype.JobStateCancelled || s == rivertype.JobStateDiscarded
}

func (w *workerSet) selectChampion(ctx context.Context, job *river.Job[SelectChampionArgs]) error {
	res, err := w.q.client.JobList(ctx, river.NewJobListParams().Kinds(KindTrainModel).
		States(rivertype.JobStates()...).OrderBy(river.JobListOrderByID, river.SortOrderDesc).First(1000))
	if err != nil {
		return err
	}
	for _, j := range res.Jobs {
		var a TrainModelArgs
		if json.Unmarshal(j.EncodedArgs, &a) != nil || a.Batch != job.Args.Batch {
			continue
		}
		if !finished(j.State) {
			// Some model of the batch is still training: look again later. Snoozing does not
			// use up an attempt.
			return river.JobSnooze(15 * time.Second)
		}
	}
	champion, err := w.h.SelectChampion(ctx, job.Args.Batch, job.Args.Models)
	if err != nil {
		return classify(err)
	}
	if champion != 0 {
		// The served forecast is the champion's: make a new champion's now, not at the next
		// scheduled refresh. Queued whether or not the champion changed, so that a retry of
		// this job (the alias already moved) still queues it.
		if _, _, err := w.q.Insert(ctx, ForecastArgs{Trigger: "champion", Champion: champion}); err != nil {
			return err
		}
	}
	return nil
}
