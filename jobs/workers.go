package jobs

import (
	"context"
	"encoding/json"
	"strconv"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/prevoir/prevoir"
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
	// New data: forecast every target from it, and score the forecasts it makes observable.
	for _, t := range w.q.cfg.Targets {
		for _, next := range []river.JobArgs{ForecastArgs{Trigger: "ingest", Target: t}, ScoreArgs{Trigger: "ingest", Target: t}} {
			if _, _, err := w.q.Insert(ctx, next); err != nil {
				return err
			}
		}
	}
	return nil
}

func (w *workerSet) forecast(ctx context.Context, job *river.Job[ForecastArgs]) error {
	return classify(w.h.Forecast(ctx, targetOf(job.Args.Target)))
}

func (w *workerSet) score(ctx context.Context, job *river.Job[ScoreArgs]) error {
	target := targetOf(job.Args.Target)
	retrain, err := w.h.Score(ctx, target)
	if err != nil {
		return classify(err)
	}
	if retrain {
		w.q.logger.WarnContext(ctx, "the champion drifted: queueing an early training", "target", target)
		if _, _, err := w.q.Insert(ctx, TrainArgs{Trigger: "drift", Target: target}); err != nil {
			return err
		}
	}
	return nil
}

// train fans out: one train_model job per (target, model), so that several workers share a
// training, and one select_champion job per target that waits for its models. A train job
// naming no target trains every configured target; the batch is the job's, each target's
// selection choosing among that target's versions of it.
func (w *workerSet) train(ctx context.Context, job *river.Job[TrainArgs]) error {
	targets := w.q.cfg.Targets
	if job.Args.Target != "" {
		targets = []string{job.Args.Target}
	}
	batch := "train-" + strconv.FormatInt(job.ID, 10)
	models := map[string][]string{}
	for _, t := range targets {
		models[t] = job.Args.Models
		if len(models[t]) == 0 && w.h.Models != nil {
			models[t] = w.h.Models(t)
		}
		if len(models[t]) == 0 {
			return river.JobCancel(prevoir.Errorf(prevoir.EINVALID, "train %s: no model to train (name them, or configure the models)", t))
		}
	}
	for _, t := range targets {
		for _, m := range models[t] {
			if _, _, err := w.q.Insert(ctx, TrainModelArgs{Target: t, Batch: batch, Model: m, Epochs: job.Args.Epochs}); err != nil {
				return err
			}
		}
		if _, _, err := w.q.Insert(ctx, SelectChampionArgs{Target: t, Batch: batch, Models: models[t]}); err != nil {
			return err
		}
	}
	return nil
}

func (w *workerSet) trainModel(ctx context.Context, job *river.Job[TrainModelArgs]) error {
	return classify(w.h.TrainModel(ctx, targetOf(job.Args.Target), job.Args.Batch, job.Args.Model, job.Args.Epochs))
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
	target := targetOf(job.Args.Target)
	for _, j := range res.Jobs {
		var a TrainModelArgs
		if json.Unmarshal(j.EncodedArgs, &a) != nil || a.Batch != job.Args.Batch || targetOf(a.Target) != target {
			continue
		}
		if !finished(j.State) {
			// Some model of the batch is still training: look again later. Snoozing does not
			// use up an attempt.
			return river.JobSnooze(15 * time.Second)
		}
	}
	champion, err := w.h.SelectChampion(ctx, target, job.Args.Batch, job.Args.Models)
	if err != nil {
		return classify(err)
	}
	if champion != 0 {
		// The served forecast is the champion's: make a new champion's now, not at the next
		// scheduled refresh. Queued whether or not the champion changed, so that a retry of
		// this job (the alias already moved) still queues it.
		if _, _, err := w.q.Insert(ctx, ForecastArgs{Trigger: "champion", Target: target, Champion: champion}); err != nil {
			return err
		}
	}
	return nil
}
