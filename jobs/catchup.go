package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/prevoir/prevoir"
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
// was down when runs were due catches up once, not once per missed slot. When a flow last ran
// is when its latest run started, as runs records it: an ingest run for the ingest schedule, a
// target's champion selection (the end of its training) for the training schedule of that
// target, each configured target catching up on its own; a flow that never ran is left to its
// first scheduled run (an empty home, or a target new to it, is set up by hand). It returns
// the kinds it queued, a training as "train:TARGET".
func (q *Queue) CatchUp(ctx context.Context, now time.Time, runs prevoir.RunStore) ([]string, error) {
	type sched struct {
		name, expr string
		filter     prevoir.RunFilter
		args       river.JobArgs
	}
	scheds := []sched{{KindIngest, q.cfg.IngestSchedule, prevoir.RunFilter{Kind: prevoir.RunIngest, Limit: 1}, IngestArgs{Trigger: "catch-up"}}}
	for _, t := range q.cfg.Targets {
		scheds = append(scheds, sched{KindTrain + ":" + t, q.cfg.TrainSchedule, prevoir.RunFilter{Kind: prevoir.RunSelect, Target: t, Limit: 1},
			TrainArgs{Trigger: "catch-up", Target: t}})
	}
	var queued []string
	for _, s := range scheds {
		cs, err := ParseSchedule(s.expr)
		if err != nil {
			return queued, err
		}
		rs, err := runs.ListRuns(ctx, s.filter)
		if err != nil {
			return queued, fmt.Errorf("catch up %s: its last run: %w", s.name, err)
		}
		if len(rs) == 0 {
			continue
		}
		last := rs[0].StartedAt
		if fire, missed := LastFire(cs, last, now); missed {
			q.logger.InfoContext(ctx, "catching up a missed schedule", "flow", s.name, "due", fire, "last_run", last)
			if _, dup, err := q.Insert(ctx, s.args); err != nil {
				return queued, err
			} else if !dup {
				queued = append(queued, s.name)
			}
		}
	}
	if len(queued) > 0 {
		q.logger.InfoContext(ctx, "caught up missed schedules", "queued", queued)
	}
	return queued, nil
}
