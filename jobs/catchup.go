package jobs

import (
	"context"
	"time"

	"github.com/riverqueue/river"
	"github.com/robfig/cron/v3"
)

// LastFire returns the latest instant of the schedule in (after, now], if any. Schedules fire
// at least weekly, so looking back eight days from now finds it.
func LastFire(s cron.Schedule, after, now time.Time) (time.Time, bool) {
	start := now.Add(-8 * 24 * time.Hour)
	if after.After(start) {
		start = after
	}
	var last time.Time
	for t := s.Next(start); !t.After(now); t = s.Next(t) {
		last = t
	}
	return last, !last.IsZero()
}

// CatchUp queues, for each schedule that fired since its flow last ran, one job: a worker that
// was down when runs were due catches up once, not once per missed slot. lastRun gives when
// each flow ("ingest", "train") last started (zero if never). It returns the kinds it queued.
func (q *Queue) CatchUp(ctx context.Context, now time.Time, lastRun map[string]time.Time) ([]string, error) {
	type sched struct {
		kind, expr string
		args       river.JobArgs
	}
	var queued []string
	for _, s := range []sched{
		{KindIngest, q.cfg.IngestSchedule, IngestArgs{Trigger: "catch-up"}},
		{KindTrain, q.cfg.TrainSchedule, TrainArgs{Trigger: "catch-up"}},
	} {
		cs, err := ParseSchedule(s.expr)
		if err != nil {
			return queued, err
		}
		last := lastRun[s.kind]
		if last.IsZero() {
			// Never ran: the first scheduled run will do; an empty home is set up by hand.
			continue
		}
		if fire, missed := LastFire(cs, last, now); missed {
			q.logger.InfoContext(ctx, "catching up a missed schedule", "flow", s.kind, "due", fire, "last_run", last)
			if _, dup, err := q.Insert(ctx, s.args); err != nil {
				return queued, err
			} else if !dup {
				queued = append(queued, s.kind)
			}
		}
	}
	return queued, nil
}
