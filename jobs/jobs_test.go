package jobs_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river/rivertype"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/internal/testutil"
	"github.com/prevoir/prevoir/jobs"
	"github.com/prevoir/prevoir/sqlstore"
)

func paris(t *testing.T) *time.Location {
	loc, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// TestSchedulesAcrossDST: the default schedules fire once a day at 19:30 and on Mondays at
// 20:00 Paris time, neither skipped nor doubled on the last Sundays of March and October.
func TestSchedulesAcrossDST(t *testing.T) {
	loc := paris(t)
	cfg := jobs.DefaultConfig()
	ingest, err := jobs.ParseSchedule(cfg.IngestSchedule)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		from      time.Time
		days      int
		utcBefore int // UTC hour of 19:30 Paris before the change
		utcAfter  int
		change    time.Time // the day the clocks change
	}{
		{time.Date(2026, 3, 25, 12, 0, 0, 0, loc), 8, 18, 17, time.Date(2026, 3, 29, 0, 0, 0, 0, loc)},   // CET -> CEST
		{time.Date(2026, 10, 21, 12, 0, 0, 0, loc), 8, 17, 18, time.Date(2026, 10, 25, 0, 0, 0, 0, loc)}, // CEST -> CET
	} {
		fire := tc.from
		for d := 0; d < tc.days; d++ {
			next := ingest.Next(fire)
			local := next.In(loc)
			wantDay := tc.from.AddDate(0, 0, d)
			if local.Hour() != 19 || local.Minute() != 30 || local.Day() != wantDay.Day() {
				t.Fatalf("fire %d after %s: %s, want 19:30 on day %d", d, fire, local, wantDay.Day())
			}
			wantUTC := tc.utcBefore
			if !local.Before(tc.change) {
				wantUTC = tc.utcAfter
			}
			if next.UTC().Hour() != wantUTC {
				t.Errorf("%s is %s UTC, want %d:30", local, next.UTC(), wantUTC)
			}
			fire = next
		}
	}
	train, err := jobs.ParseSchedule(cfg.TrainSchedule)
	if err != nil {
		t.Fatal(err)
	}
	// Mondays around both changes: 2026-03-23, 03-30, 10-19, 10-26.
	at := time.Date(2026, 3, 20, 0, 0, 0, 0, loc)
	for _, want := range []string{"2026-03-23 20:00", "2026-03-30 20:00"} {
		at = train.Next(at)
		if got := at.In(loc).Format("2006-01-02 15:04"); got != want {
			t.Errorf("train fired %s, want %s", got, want)
		}
	}
	at = time.Date(2026, 10, 17, 0, 0, 0, 0, loc)
	for _, want := range []string{"2026-10-19 20:00", "2026-10-26 20:00"} {
		at = train.Next(at)
		if got := at.In(loc).Format("2006-01-02 15:04"); got != want {
			t.Errorf("train fired %s, want %s", got, want)
		}
	}
	if _, err := jobs.ParseSchedule("CRON_TZ=Mars/Olympus 0 1 * * *"); prevoir.ErrorCode(err) != prevoir.EINVALID {
		t.Errorf("bad time zone: %v", err)
	}
}

func openQueue(t *testing.T, dbURL string, h *jobs.Handlers, cfg jobs.Config) (*jobs.Queue, *sqlstore.DB) {
	t.Helper()
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	q, err := jobs.Open(ctx, db, h, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(q.Close)
	return q, db
}

// TestCatchUpOnce: a worker down for three scheduled ingests queues one ingest when it comes
// back, and none more on a second start; the training, whose champion selection ran after its
// Monday schedule, is not queued, nor are the flows of a home where nothing ever ran.
func TestCatchUpOnce(t *testing.T) {
	loc := paris(t)
	cfg := jobs.DefaultConfig()
	q, db := openQueue(t, testutil.SQLiteURL(t), nil, cfg)
	ctx := context.Background()
	runs := sqlstore.NewRunStore(db)
	now := time.Date(2026, 3, 26, 21, 0, 0, 0, loc) // Thursday: ingests of 24, 25, 26 missed
	if queued, err := q.CatchUp(ctx, now, runs); err != nil || len(queued) != 0 {
		t.Fatalf("nothing ever ran: queued %v, %v; want nothing (the first scheduled runs will do)", queued, err)
	}
	lastIngest := time.Date(2026, 3, 23, 19, 35, 0, 0, loc) // Monday
	startRun(t, runs, prevoir.RunIngest, lastIngest)
	startRun(t, runs, prevoir.RunSelect, time.Date(2026, 3, 23, 20, 5, 0, 0, loc))
	queued, err := q.CatchUp(ctx, now, runs)
	if err != nil || len(queued) != 1 || queued[0] != jobs.KindIngest {
		t.Fatalf("queued %v, %v; want one ingest", queued, err)
	}
	if queued, _ := q.CatchUp(ctx, now, runs); len(queued) != 0 {
		t.Errorf("second start queued %v", queued)
	}
	list, err := q.Jobs(ctx, 10)
	if err != nil || len(list) != 1 || list[0].Kind != jobs.KindIngest {
		t.Errorf("jobs = %v, %v", list, err)
	}
	fire, ok := jobs.LastFire(mustSchedule(t, cfg.IngestSchedule), lastIngest, now)
	if !ok || fire.In(loc).Format("2006-01-02 15:04") != "2026-03-26 19:30" {
		t.Errorf("last fire %s", fire)
	}
	// Nothing missed: nothing queued.
	if _, ok := jobs.LastFire(mustSchedule(t, cfg.IngestSchedule), time.Date(2026, 3, 26, 19, 31, 0, 0, loc), now); ok {
		t.Error("a run after the last fire still counts as missed")
	}
}

// TestCatchUpTraining: a target's training whose last champion selection is older than the last
// Monday schedule is queued for that target, whatever training runs of single models say (a
// batch ends with its selection); a target selected since, or never trained, is not; an ingest
// whose latest run came after its schedule is not.
func TestCatchUpTraining(t *testing.T) {
	loc := paris(t)
	q, db := openQueue(t, testutil.SQLiteURL(t), nil, jobs.DefaultConfig())
	ctx := context.Background()
	runs := sqlstore.NewRunStore(db)
	now := time.Date(2026, 3, 24, 21, 0, 0, 0, loc) // Tuesday
	startRun(t, runs, prevoir.RunIngest, time.Date(2026, 3, 24, 19, 40, 0, 0, loc))
	startRun(t, runs, prevoir.RunIngest, time.Date(2026, 3, 20, 19, 35, 0, 0, loc)) // older: the latest counts
	startRun(t, runs, prevoir.RunSelect, time.Date(2026, 3, 16, 20, 30, 0, 0, loc)) // the Monday before
	startRun(t, runs, prevoir.RunTrain, time.Date(2026, 3, 23, 20, 10, 0, 0, loc))  // a batch that never selected
	// Patients in hospital were trained on the last Monday: nothing to catch up.
	startRunFor(t, runs, prevoir.RunSelect, prevoir.TargetHospitalised, time.Date(2026, 3, 23, 20, 40, 0, 0, loc))
	queued, err := q.CatchUp(ctx, now, runs)
	if want := []string{jobs.KindTrain + ":" + prevoir.DefaultTarget}; err != nil || !slices.Equal(queued, want) {
		t.Fatalf("queued %v, %v; want %v only", queued, err, want)
	}
	list, err := q.Jobs(ctx, 10)
	if err != nil || len(list) != 1 || list[0].Kind != jobs.KindTrain {
		t.Fatalf("jobs = %v, %v; want one train job", list, err)
	}
	var a jobs.TrainArgs
	if err := json.Unmarshal(list[0].EncodedArgs, &a); err != nil || a.Trigger != "catch-up" || a.Target != prevoir.DefaultTarget {
		t.Errorf("train job args %s (%v): want the catch-up of %s", list[0].EncodedArgs, err, prevoir.DefaultTarget)
	}
}

// startRun records a run of kind started at, for the default target unless it is an ingest.
func startRun(t *testing.T, runs prevoir.RunStore, kind prevoir.RunKind, at time.Time) {
	t.Helper()
	target := prevoir.DefaultTarget
	if kind == prevoir.RunIngest {
		target = ""
	}
	startRunFor(t, runs, kind, target, at)
}

// startRunFor records a run of kind for target started at.
func startRunFor(t *testing.T, runs prevoir.RunStore, kind prevoir.RunKind, target string, at time.Time) {
	t.Helper()
	if err := runs.CreateRun(context.Background(), &prevoir.Run{Kind: kind, Name: string(kind), Target: target, StartedAt: at}); err != nil {
		t.Fatal(err)
	}
}

func mustSchedule(t *testing.T, expr string) interface{ Next(time.Time) time.Time } {
	s, err := jobs.ParseSchedule(expr)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// waitFor polls cond until it holds, failing the test (with what cond waits for, and the
// last thing it said) after 30 seconds.
func waitFor(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ok, last := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s: %s", what, last)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitState polls a job until it reaches one of the states.
func waitState(t *testing.T, q *jobs.Queue, id int64, states ...rivertype.JobState) *rivertype.JobRow {
	t.Helper()
	var j *rivertype.JobRow
	waitFor(t, fmt.Sprintf("job %d to reach %v", id, states), func() (bool, string) {
		var err error
		if j, err = q.Job(context.Background(), id); err != nil {
			t.Fatal(err)
		}
		return slices.Contains(states, j.State), fmt.Sprintf("state %s (attempt %d, errors %v)", j.State, j.Attempt, j.Errors)
	})
	return j
}

// outcomeQueue starts a queue, stopped when the test ends, whose ingest handler returns the
// next error sent on outcome, or nil when none waits; calls counts its calls.
func outcomeQueue(t *testing.T, dbURL string, retryBase time.Duration) (q *jobs.Queue, outcome chan<- error, calls *atomic.Int64) {
	t.Helper()
	ctx := context.Background()
	out := make(chan error, 10)
	calls = new(atomic.Int64)
	h := &jobs.Handlers{Ingest: func(ctx context.Context) error {
		calls.Add(1)
		select {
		case err := <-out:
			return err
		default:
			return nil
		}
	}}
	cfg := jobs.DefaultConfig()
	cfg.RetryBase = retryBase
	q, _ = openQueue(t, dbURL, h, cfg)
	if err := q.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Stop(ctx) })
	return q, out, calls
}

func TestIngestJobRetriesAndChains(t *testing.T) {
	testutil.ForEachDatabase(t, func(t *testing.T, dbURL string) {
		ctx := context.Background()
		q, outcome, calls := outcomeQueue(t, dbURL, 100*time.Millisecond)

		// Unreachable source, then success: retried, then forecast and score follow.
		outcome <- prevoir.Errorf(prevoir.EUNAVAILABLE, "source down")
		outcome <- nil
		job, dup, err := q.Insert(ctx, jobs.IngestArgs{Trigger: "test"})
		if err != nil || dup {
			t.Fatal(err, dup)
		}
		if _, dup, _ := q.Insert(ctx, jobs.IngestArgs{Trigger: "test"}); !dup {
			t.Error("a second identical ingest was queued while the first is unfinished")
		}
		done := waitState(t, q, job.ID, rivertype.JobStateCompleted)
		if done.Attempt != 2 || calls.Load() != 2 {
			t.Errorf("completed after %d attempts, %d calls; want 2", done.Attempt, calls.Load())
		}
		// A forecast and a score of every target (the configured ones: all by default).
		list, _ := q.Jobs(ctx, 20)
		followed := map[string]int{}
		for _, j := range list {
			var a struct{ Target string }
			if j.Kind == jobs.KindForecast || j.Kind == jobs.KindScore {
				if err := json.Unmarshal(j.EncodedArgs, &a); err != nil {
					t.Fatal(err)
				}
				followed[j.Kind+" "+a.Target]++
			}
		}
		for _, target := range prevoir.TargetNames() {
			if followed[jobs.KindForecast+" "+target] != 1 || followed[jobs.KindScore+" "+target] != 1 {
				t.Errorf("after ingest, jobs %v; want one forecast and one score of %s", followed, target)
			}
		}
		if len(followed) != 2*len(prevoir.TargetNames()) {
			t.Errorf("after ingest, jobs %v; want a forecast and a score of each target", followed)
		}

		// A malformed release is not retried: the job is cancelled with the error.
		outcome <- prevoir.Errorf(prevoir.EINVALID, "parse sp-fra-jour.csv line 3: bad")
		job, _, _ = q.Insert(ctx, jobs.IngestArgs{Trigger: "test-2"})
		bad := waitState(t, q, job.ID, rivertype.JobStateCancelled, rivertype.JobStateCompleted)
		if bad.State != rivertype.JobStateCancelled || bad.Attempt != 1 || len(bad.Errors) == 0 {
			t.Errorf("invalid release: state %s after %d attempts, errors %v", bad.State, bad.Attempt, bad.Errors)
		}

		// Nor is a quarantined one (as the ingest flow wraps it, beside a source that is fine):
		// quarantine is permanent for that release, and the job fails visibly with the reason.
		outcome <- errors.Join(fmt.Errorf("ingest indicateurs: %w", &prevoir.QuarantineError{Source: "indicateurs", SnapshotID: 3, Count: 1,
			Violations: []prevoir.Violation{{File: "table-indicateurs-open-data-france.csv", Line: 812, Column: "incid_dchosp", Value: "-3", Rule: prevoir.RuleNonNegativeInteger}}}))
		job, _, _ = q.Insert(ctx, jobs.IngestArgs{Trigger: "test-3"})
		quarantined := waitState(t, q, job.ID, rivertype.JobStateCancelled, rivertype.JobStateCompleted)
		if quarantined.State != rivertype.JobStateCancelled || quarantined.Attempt != 1 || len(quarantined.Errors) == 0 ||
			!strings.Contains(quarantined.Errors[0].Error, `line 812 column incid_dchosp: -3 breaks rule "non-negative integer"`) {
			t.Errorf("quarantined release: state %s after %d attempts, errors %v", quarantined.State, quarantined.Attempt, quarantined.Errors)
		}
	})
}

// TestReadOnlyQueue: a queue on a database opened read-only lists the jobs without migrating
// River's tables: none in a home where no job was ever queued, the queued ones otherwise.
func TestReadOnlyQueue(t *testing.T) {
	testutil.ForEachDatabase(t, func(t *testing.T, url string) {
		ctx := context.Background()
		w, err := sqlstore.Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		list := func() []*rivertype.JobRow {
			t.Helper()
			db, err := sqlstore.OpenReadOnly(ctx, url)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			q, err := jobs.Open(ctx, db, nil, jobs.DefaultConfig(), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer q.Close()
			got, err := q.Jobs(ctx, 10)
			if err != nil {
				t.Fatal(err)
			}
			return got
		}
		if got := list(); len(got) != 0 {
			t.Errorf("%d jobs before any was queued", len(got))
		}
		exists := "SELECT COUNT(*) FROM sqlite_master WHERE name = 'river_job'"
		if w.Dialect() == sqlstore.Postgres {
			exists = "SELECT COUNT(*) FROM (SELECT to_regclass('river_job') AS t) r WHERE t IS NOT NULL"
		}
		var n int
		if err := w.SQL().QueryRowContext(ctx, exists).Scan(&n); err != nil || n != 0 {
			t.Errorf("after a read-only queue: %d river_job tables, %v", n, err)
		}
		q, err := jobs.Open(ctx, w, nil, jobs.DefaultConfig(), nil)
		if err != nil {
			t.Fatal(err)
		}
		job, _, err := q.Insert(ctx, jobs.IngestArgs{Trigger: "test"})
		q.Close()
		if err != nil {
			t.Fatal(err)
		}
		if got := list(); len(got) != 1 || got[0].ID != job.ID {
			t.Errorf("read-only list: %v, want job %d", got, job.ID)
		}
	})
}
