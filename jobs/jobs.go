// Package jobs runs prevoir's flows on the River job queue (github.com/riverqueue/river), on
// the same database as everything else: SQLite (riversqlite) on one machine, PostgreSQL
// (riverpgxv5) when several workers share the work. It replaces the original project's Prefect
// deployment: periodic jobs on cron schedules in a time zone, retries with backoff for
// transient failures and none for permanent ones, unique jobs so a schedule never runs twice at
// once, timeouts, a training fan-out of one job per (target, model), and a catch-up that runs
// a missed schedule once, not once per missed slot.
//
// Every job but an ingest is for one target (prevoir.Target): its args carry the target's name,
// "" standing for prevoir.DefaultTarget, so that jobs queued before targets existed still run
// as they were meant to. A job that names no target where one is expected (a train, an
// ingest's follow-ups) is for every target the process running it is configured with
// (Config.Targets).
package jobs

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"
	"github.com/robfig/cron/v3"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/sqlstore"
	"github.com/prevoir/prevoir/tracking"
)

// Job kinds, one per flow (train fans out into train_model jobs and a select_champion job).
const (
	KindIngest         = "ingest"
	KindForecast       = "forecast"
	KindScore          = "score"
	KindTrain          = "train"
	KindTrainModel     = "train_model"
	KindSelectChampion = "select_champion"
)

// IngestArgs asks for the ingest flow; a successful ingest queues a forecast and a score for
// every configured target. The ingest itself is shared by the targets: it has none.
type IngestArgs struct {
	Trigger string `json:"trigger"` // "schedule", "catch-up", "manual", ...
}

// Kind implements river.JobArgs.
func (IngestArgs) Kind() string { return KindIngest }

// ForecastArgs asks for the forecast flow, which forecasts with whichever version is the
// champion when it runs.
type ForecastArgs struct {
	Trigger string `json:"trigger"`
	// Target is the target forecast ("": prevoir.DefaultTarget).
	Target string `json:"target,omitempty"`
	// Champion is the champion's version when the job was queued after a promotion or a
	// training, so that a forecast job queued for an earlier champion, still
	// unfinished, does not stand for this one (jobs are unique by their arguments).
	Champion int `json:"champion,omitempty"`
}

// Kind implements river.JobArgs.
func (ForecastArgs) Kind() string { return KindForecast }

// ScoreArgs asks for the score flow of a target; a drift asks for an early training of it.
type ScoreArgs struct {
	Trigger string `json:"trigger"`
	// Target is the target scored ("": prevoir.DefaultTarget).
	Target string `json:"target,omitempty"`
}

// Kind implements river.JobArgs.
func (ScoreArgs) Kind() string { return KindScore }

// TrainArgs asks for a training of Models (each target's configured models when empty) for
// Target, or for every configured target when Target is "".
type TrainArgs struct {
	Target  string   `json:"target,omitempty"`
	Models  []string `json:"models,omitempty"`
	Epochs  int      `json:"epochs,omitempty"`
	Trigger string   `json:"trigger"`
}

// Kind implements river.JobArgs.
func (TrainArgs) Kind() string { return KindTrain }

// TrainModelArgs trains one model of a target's training batch.
type TrainModelArgs struct {
	// Target is the target trained ("": prevoir.DefaultTarget).
	Target string `json:"target,omitempty"`
	Batch  string `json:"batch"`
	Model  string `json:"model"`
	Epochs int    `json:"epochs,omitempty"`
}

// Kind implements river.JobArgs.
func (TrainModelArgs) Kind() string { return KindTrainModel }

// SelectChampionArgs applies the champion rule once every model of the target's batch is
// trained; then the champion's forecast is queued at once, so that what is served is its own.
type SelectChampionArgs struct {
	// Target is the target whose champion is chosen ("": prevoir.DefaultTarget).
	Target string   `json:"target,omitempty"`
	Batch  string   `json:"batch"`
	Models []string `json:"models"`
}

// Kind implements river.JobArgs.
func (SelectChampionArgs) Kind() string { return KindSelectChampion }

// Handlers are the flows the workers run. A nil handler leaves its kind unregistered: this
// process does not fetch such jobs (another one may). The target handlers are given is a
// target's name, never "" (a job's "" is prevoir.DefaultTarget).
type Handlers struct {
	Ingest   func(ctx context.Context) error
	Forecast func(ctx context.Context, target string) error
	// Score scores a target's forecasts; retrain asks for an early training of that target
	// (its champion drifted).
	Score func(ctx context.Context, target string) (retrain bool, err error)
	// TrainModel trains one model of a target as part of a batch; SelectChampion applies the
	// champion rule over the models of a target's batch once they are all done, and returns
	// the champion's version (0: none), whose forecast is then queued: it is new when the
	// champion changed, and found already made (nothing recomputed) when it did not.
	TrainModel     func(ctx context.Context, target, batch, model string, epochs int) error
	SelectChampion func(ctx context.Context, target, batch string, models []string) (champion int, err error)
	// Models returns the models a train job of target trains when it names none (nil: a train
	// job must name them).
	Models func(target string) []string
}

// targetOf returns the target a job's target field names: "" is prevoir.DefaultTarget, what
// every job meant before targets existed.
func targetOf(name string) string {
	if name == "" {
		return prevoir.DefaultTarget
	}
	return name
}

// Config configures the queue.
type Config struct {
	// Schedules makes this process insert the periodic jobs (prevoir serve); a plain worker
	// (prevoir worker) leaves them to the server. Only River's elected leader inserts them.
	Schedules bool
	// IngestSchedule and TrainSchedule are cron expressions, with an optional CRON_TZ= prefix.
	IngestSchedule string
	TrainSchedule  string
	// Workers is how many jobs this process runs at once.
	Workers int
	// MaxAttempts bounds the attempts of a job that keeps failing transiently.
	MaxAttempts int
	// RetryBase is the wait before the first retry; it doubles at each attempt, up to an hour.
	RetryBase time.Duration
	// RescueAfter is how long a job's lease lasts: the process working a job renews it a few
	// times per RescueAfter, and once it has lapsed (the process died, or lost the database
	// for that long) any process working jobs hands the job on, whatever the job's timeout.
	// It is the delay of the process that runs the job that counts, whichever process rescues.
	RescueAfter time.Duration
	// JobTimeout, when positive, replaces every kind's timeout (see kindTimeout). A job that
	// outlives its timeout is cancelled and retried.
	JobTimeout time.Duration
	// ID names this process in River's tables and in job leases (tracking.Owner by default,
	// the name runs record).
	ID string
	// Targets are the targets this process trains, forecasts and scores when a job names none:
	// a scheduled or untargeted training, an ingest's forecasts and scores, the catch-up of
	// the training schedule (empty: every target). Processes sharing a queue should share it,
	// since the process that runs such a job decides. A job naming its target is worked
	// whatever the setting: the work of a fan-out spreads over every worker.
	Targets []string
}

// DefaultConfig returns the defaults: ingest then forecast and score every day at 19:30 Paris
// time (the sources were published around 19:00), training on Mondays at 20:00 Paris time as
// the original project's Prefect deployment did.
func DefaultConfig() Config {
	return Config{
		IngestSchedule: "CRON_TZ=Europe/Paris 30 19 * * *",
		TrainSchedule:  "CRON_TZ=Europe/Paris 0 20 * * 1",
		Workers:        2,
		MaxAttempts:    6,
		RetryBase:      30 * time.Second,
		RescueAfter:    3 * time.Hour,
	}
}

// minRescueAfter is the shortest RescueAfter: leases are renewed four times per RescueAfter,
// but not more often than every 250 ms (see beatEvery).
const minRescueAfter = time.Second

// kindTimeout is each kind's timeout: a job running longer is cancelled and retried.
func kindTimeout(kind string) time.Duration {
	switch kind {
	case KindIngest, KindForecast:
		return 15 * time.Minute
	case KindScore, KindSelectChampion:
		return 10 * time.Minute
	case KindTrainModel:
		return 2 * time.Hour
	default: // KindTrain only queues jobs
		return time.Minute
	}
}

func (q *Queue) timeout(kind string) time.Duration {
	if q.cfg.JobTimeout > 0 {
		return q.cfg.JobTimeout
	}
	return kindTimeout(kind)
}

// longestTimeout is the longest of the kinds' timeouts.
func (q *Queue) longestTimeout() time.Duration {
	var d time.Duration
	for _, k := range []string{KindIngest, KindForecast, KindScore, KindTrain, KindTrainModel, KindSelectChampion} {
		d = max(d, q.timeout(k))
	}
	return d
}

// ParseSchedule parses a cron expression ("m h dom mon dow", with an optional CRON_TZ=Zone
// prefix) into a schedule.
func ParseSchedule(expr string) (cron.Schedule, error) {
	s, err := cron.ParseStandard(expr)
	if err != nil {
		return nil, prevoir.Errorf(prevoir.EINVALID, "schedule %q: %v", expr, err)
	}
	return s, nil
}

// Queue is a River client on prevoir's database.
type Queue struct {
	client  client
	cfg     Config
	logger  *slog.Logger
	closers []func()
	// noTables: the database, opened read-only, has no job tables yet, hence no jobs.
	noTables bool
	// working: the queue has handlers, so Start works jobs (and rescues others' jobs).
	working bool
	leases  *sqlstore.JobLeases
	// life ends when the queue stops: the lease beats and the rescuer stop with it.
	life    context.Context
	endLife context.CancelFunc
	beats   sync.WaitGroup
	rescuer sync.WaitGroup
	// closed is closed by Close.
	closed    chan struct{}
	closeOnce sync.Once
}

// client is the part of river.Client[TTx] prevoir uses, whatever the driver's transaction type.
type client interface {
	Start(ctx context.Context) error
	StopAndCancel(ctx context.Context) error
	Insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
	JobList(ctx context.Context, params *river.JobListParams) (*river.JobListResult, error)
	JobGet(ctx context.Context, id int64) (*rivertype.JobRow, error)
}

// Open creates a queue on db, migrating River's tables first. With a nil handlers the queue
// only inserts and lists jobs. On a database opened read-only the tables are checked, not
// migrated, and the queue only lists jobs.
func Open(ctx context.Context, db *sqlstore.DB, h *Handlers, cfg Config, logger *slog.Logger) (*Queue, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	def := DefaultConfig()
	if cfg.Workers <= 0 {
		cfg.Workers = def.Workers
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = def.MaxAttempts
	}
	if cfg.RetryBase <= 0 {
		cfg.RetryBase = def.RetryBase
	}
	if cfg.RescueAfter <= 0 {
		cfg.RescueAfter = def.RescueAfter
	}
	if cfg.RescueAfter < minRescueAfter {
		return nil, prevoir.Errorf(prevoir.EINVALID, "rescue-after %s: want at least %s", cfg.RescueAfter, minRescueAfter)
	}
	if cfg.ID == "" {
		cfg.ID = tracking.Owner()
	}
	if len(cfg.Targets) == 0 {
		cfg.Targets = []string{prevoir.AllTargets}
	}
	ts, err := prevoir.ParseTargets(cfg.Targets)
	if err != nil {
		return nil, fmt.Errorf("job queue: targets: %w", err)
	}
	cfg.Targets = cfg.Targets[:0:0]
	for _, t := range ts {
		cfg.Targets = append(cfg.Targets, t.Name)
	}
	q := &Queue{cfg: cfg, logger: logger, working: h != nil, leases: sqlstore.NewJobLeases(db), closed: make(chan struct{})}
	q.life, q.endLife = context.WithCancel(context.Background())
	rc, err := q.riverConfig(h)
	if err != nil {
		return nil, err
	}
	switch db.Dialect() {
	case sqlstore.SQLite:
		// River on SQLite needs a handle of its own with a single connection.
		sdb, err := sql.Open("sqlite", db.ConnString())
		if err != nil {
			return nil, err
		}
		sdb.SetMaxOpenConns(1)
		q.closers = append(q.closers, func() { sdb.Close() })
		// The DSN's _txlock=immediate makes BEGIN take the database's write lock.
		begin := func(ctx context.Context) (*sql.Tx, func() error, error) {
			tx, err := sdb.BeginTx(ctx, nil)
			if err != nil {
				return nil, nil, err
			}
			return tx, tx.Rollback, nil
		}
		c, noTables, err := newClient(ctx, riversqlite.New(sdb), rc, db.ReadOnly(), begin, (*sql.Tx).Commit)
		if err != nil {
			q.Close()
			return nil, err
		}
		q.client, q.noTables = c, noTables
	case sqlstore.Postgres:
		pool, err := pgxpool.New(ctx, db.ConnString())
		if err != nil {
			return nil, fmt.Errorf("job queue: %w", err)
		}
		q.closers = append(q.closers, pool.Close)
		begin := func(ctx context.Context) (pgx.Tx, func() error, error) {
			tx, err := pool.Begin(ctx)
			if err != nil {
				return nil, nil, err
			}
			rollback := func() error { return tx.Rollback(context.WithoutCancel(ctx)) }
			if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", sqlstore.MigrationLockKey); err != nil {
				rollback()
				return nil, nil, fmt.Errorf("lock: %w", err)
			}
			return tx, rollback, nil
		}
		commit := func(tx pgx.Tx) error { return tx.Commit(ctx) }
		c, noTables, err := newClient(ctx, riverpgxv5.New(pool), rc, db.ReadOnly(), begin, commit)
		if err != nil {
			q.Close()
			return nil, err
		}
		q.client, q.noTables = c, noTables
	default:
		return nil, fmt.Errorf("job queue: unsupported database %s", db.Dialect())
	}
	return q, nil
}

// newClient migrates River's tables and makes a client; on a read-only database it checks the
// tables instead, and reports whether they are missing. begin starts a transaction holding
// the database's migration lock (and returns its rollback); commit commits it.
func newClient[TTx any](ctx context.Context, driver riverdriver.Driver[TTx], rc *river.Config, readOnly bool,
	begin func(context.Context) (TTx, func() error, error), commit func(TTx) error) (_ *river.Client[TTx], noTables bool, _ error) {
	m, err := rivermigrate.New(driver, nil)
	if err != nil {
		return nil, false, fmt.Errorf("job queue: %w", err)
	}
	if readOnly {
		// A read-only command must not migrate: River's tables are missing in a home where no
		// job was ever queued (there is nothing to list), and older ones are refused.
		have, err := m.ExistingVersions(ctx)
		if err != nil {
			return nil, false, fmt.Errorf("job queue: %w", err)
		}
		if want := len(m.AllVersions()); len(have) > 0 && len(have) < want {
			return nil, false, prevoir.Errorf(prevoir.ECONFLICT, "job queue: its tables are at version %d of %d, and a read-only command does not upgrade them: run prevoir serve or prevoir worker first", len(have), want)
		}
		noTables = len(have) == 0
	} else if err := migrateLocked(ctx, m, begin, commit); err != nil {
		return nil, false, fmt.Errorf("job queue: migrate: %w", err)
	}
	c, err := river.NewClient(driver, rc)
	if err != nil {
		return nil, false, fmt.Errorf("job queue: %w", err)
	}
	return c, noTables, nil
}

// migrateLocked applies River's missing migrations one per transaction, each holding the
// migration lock that prevoir's own migrations take (sqlstore.MigrationLockKey on PostgreSQL,
// the write lock on SQLite), and each reading which versions are applied under that lock:
// processes started together on an empty database then apply each migration once, in turn,
// instead of racing to create the same types and tables. One transaction for them all would
// not do: a later River migration uses an enum value an earlier one adds, which PostgreSQL
// allows only once that one has committed. (River's MigrateTx is deprecated for that reason,
// but one step at a time it is what a caller-held lock needs.)
func migrateLocked[TTx any](ctx context.Context, m *rivermigrate.Migrator[TTx], begin func(context.Context) (TTx, func() error, error), commit func(TTx) error) error {
	for {
		tx, rollback, err := begin(ctx)
		if err != nil {
			return err
		}
		res, err := m.MigrateTx(ctx, tx, rivermigrate.DirectionUp, &rivermigrate.MigrateOpts{MaxSteps: 1})
		if err != nil {
			rollback()
			return err
		}
		if err := commit(tx); err != nil {
			return err
		}
		if len(res.Versions) == 0 {
			return nil
		}
	}
}

// uniqueWhileActive makes a job unique by its arguments among jobs not yet finished: a
// schedule never has two runs of a flow queued or running at once, and once one has finished
// the next may run.
func uniqueWhileActive() river.UniqueOpts {
	return river.UniqueOpts{ByArgs: true, ByState: []rivertype.JobState{
		rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning,
		rivertype.JobStateScheduled, rivertype.JobStateRetryable,
	}}
}

func (q *Queue) riverConfig(h *Handlers) (*river.Config, error) {
	rc := &river.Config{
		ID:          q.cfg.ID,
		Logger:      q.logger,
		MaxAttempts: q.cfg.MaxAttempts,
		// Jobs are handed on by their leases (see rescue), by every process working jobs;
		// River's rescuer, on the elected leader only and waiting for a job's timeout, stays
		// as a far backstop.
		RescueStuckJobsAfter: q.longestTimeout() + q.cfg.RescueAfter,
		RetryPolicy:          &backoff{base: q.cfg.RetryBase},
		// A process may queue jobs that another one works (a worker without a training
		// handler queues nothing it cannot work, but a server may).
		FetchOnlyKnownKinds: true,
		SkipUnknownJobCheck: true,
		// Every worker sets its own timeout (kindTimeout); the client-wide one is off.
		JobTimeout: -1,
	}
	if h == nil {
		return rc, nil
	}
	workers := river.NewWorkers()
	w := &workerSet{q: q, h: h}
	if h.Ingest != nil {
		river.AddWorker(workers, newWorker(q, w.ingest))
	}
	if h.Forecast != nil {
		river.AddWorker(workers, newWorker(q, w.forecast))
	}
	if h.Score != nil {
		river.AddWorker(workers, newWorker(q, w.score))
	}
	if h.TrainModel != nil && h.SelectChampion != nil {
		river.AddWorker(workers, newWorker(q, w.train))
		river.AddWorker(workers, newWorker(q, w.trainModel))
		river.AddWorker(workers, newWorker(q, w.selectChampion))
	}
	rc.Workers = workers
	rc.Queues = map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: q.cfg.Workers}}
	if q.cfg.Schedules {
		pj, err := periodicJobs(q.cfg)
		if err != nil {
			return nil, err
		}
		rc.PeriodicJobs = pj
	}
	return rc, nil
}

func periodicJobs(cfg Config) ([]*river.PeriodicJob, error) {
	ingest, err := ParseSchedule(cfg.IngestSchedule)
	if err != nil {
		return nil, err
	}
	train, err := ParseSchedule(cfg.TrainSchedule)
	if err != nil {
		return nil, err
	}
	opts := &river.InsertOpts{UniqueOpts: uniqueWhileActive()}
	return []*river.PeriodicJob{
		river.NewPeriodicJob(ingest, func() (river.JobArgs, *river.InsertOpts) {
			return IngestArgs{Trigger: "schedule"}, opts
		}, &river.PeriodicJobOpts{ID: "ingest"}),
		river.NewPeriodicJob(train, func() (river.JobArgs, *river.InsertOpts) {
			return TrainArgs{Trigger: "schedule"}, opts
		}, &river.PeriodicJobOpts{ID: "train"}),
	}, nil
}

// Start starts working jobs (and, with Schedules, inserting the periodic ones), and rescuing
// the jobs whose leases lapsed.
func (q *Queue) Start(ctx context.Context) error {
	if err := q.client.Start(ctx); err != nil {
		return err
	}
	if q.working {
		q.rescuer.Go(func() { q.rescueLoop(q.life) })
	}
	return nil
}

// Stop stops fetching jobs and cancels the running ones: River puts each back in the queue at
// once, without counting the attempt, for another process to take within its fetch poll, and
// the runs they recorded end killed. It waits for them to return until ctx ends; a job still
// running then has its lease given up, so that another process takes it over without waiting
// for RescueAfter.
func (q *Queue) Stop(ctx context.Context) error {
	err := q.client.StopAndCancel(ctx)
	q.endLife()
	q.rescuer.Wait()
	if err == nil {
		return nil
	}
	q.beats.Wait() // no beat may renew a lease after it is given up
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if aerr := q.leases.Abandon(actx, q.cfg.ID); aerr != nil {
		q.logger.WarnContext(ctx, "could not give up the leases of the jobs still running", "err", aerr)
	}
	return fmt.Errorf("stop the job queue: %w", err)
}

// Close releases the queue's connections.
func (q *Queue) Close() {
	q.closeOnce.Do(func() { close(q.closed) })
	q.endLife()
	for i := len(q.closers) - 1; i >= 0; i-- {
		q.closers[i]()
	}
	q.closers = nil
}

// Insert queues a job, unique among the unfinished jobs with the same arguments; it returns the
// job and whether an identical job was already queued (then nothing new is inserted).
func (q *Queue) Insert(ctx context.Context, args river.JobArgs) (*rivertype.JobRow, bool, error) {
	res, err := q.client.Insert(ctx, args, &river.InsertOpts{UniqueOpts: uniqueWhileActive()})
	if err != nil {
		return nil, false, fmt.Errorf("queue %s job: %w", args.Kind(), err)
	}
	return res.Job, res.UniqueSkippedAsDuplicate, nil
}

// Job returns a job by ID.
func (q *Queue) Job(ctx context.Context, id int64) (*rivertype.JobRow, error) {
	return q.client.JobGet(ctx, id)
}

// Jobs lists up to n jobs, newest first.
func (q *Queue) Jobs(ctx context.Context, n int) ([]*rivertype.JobRow, error) {
	if q.noTables {
		return nil, nil
	}
	res, err := q.client.JobList(ctx, river.NewJobListParams().
		States(rivertype.JobStates()...).OrderBy(river.JobListOrderByID, river.SortOrderDesc).First(n))
	if err != nil {
		return nil, fmt.Errorf("list jobs: %w", err)
	}
	return res.Jobs, nil
}

// backoff is the retry policy: base·2^(attempt-1), capped at an hour.
type backoff struct{ base time.Duration }

func (b *backoff) NextRetry(job *rivertype.JobRow) time.Time {
	d := b.base << min(job.Attempt-1, 20)
	if d <= 0 || d > time.Hour {
		d = time.Hour
	}
	return time.Now().Add(d)
}

// classify turns a flow's error into River's outcome: transient failures (a source, the
// database or the object store down or slow; see prevoir.Transient) are retried with backoff,
// within the job's attempts; anything else (a release that fails validation, a bug) is
// cancelled at once, loudly, because retrying cannot fix it.
func classify(err error) error {
	if err == nil {
		return nil
	}
	if prevoir.Transient(err) {
		return err
	}
	return river.JobCancel(err)
}
