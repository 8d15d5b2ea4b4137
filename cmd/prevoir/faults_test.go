package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/riverqueue/river/rivertype"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/internal/testutil"
	"github.com/prevoir/prevoir/internal/testutil/s3server"
	"github.com/prevoir/prevoir/jobs"
	"github.com/prevoir/prevoir/sqlstore"
)

// The faults a team deployment meets (issue 12), played for real: prevoir processes on a
// PostgreSQL server and an S3 server of the scenario's own, which the test stops and starts,
// kills and signals.
const (
	// outage is how long a dependency is down: three missed heartbeats of 10 s, which a reaper
	// going by heartbeats alone (prevoir's, before issue 12) takes for a dead process.
	outage = 30 * time.Second
	// rescueAfter is the workers' --rescue-after in the kill -9 scenarios, and rescueMargin
	// what a rescue may take beyond it (the rescuer's period, a fetch, a loaded machine).
	rescueAfter  = 10 * time.Second
	rescueMargin = 5 * time.Second
	// handOnWithin is how soon a job stopped by SIGTERM must run on another process: far
	// below the 1 h --rescue-after of that scenario.
	handOnWithin = 10 * time.Second
	// longEpochs makes the rnn training of the kill and SIGTERM scenarios last about 25 s of
	// one core (two fits), so that it is killed mid-training.
	longEpochs = 1000
	// maxAttempts with a 1 s --retry-base: the retries of a job failing all along an outage
	// (1+2+4+8+16+32 s) outlast it.
	maxAttempts = 10
	faultToken  = "faults-s3cret-admin-token"
)

// TestFaults: a team deployment survives the faults it will meet. Each scenario but
// SimultaneousStart (a fresh schema of the shared server) has its own PostgreSQL cluster and
// S3 server; they run in parallel.
func TestFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL servers and prevoir processes, and waits out 30 s outages")
	}
	bin := buildBinary(t)
	for _, sc := range []struct {
		name string
		run  func(*faultTeam)
	}{
		{"PostgresOutageDuringTraining", func(ft *faultTeam) { testOutageDuringTraining(ft, "PostgreSQL", ft.pg.Stop, ft.pg.Start) }},
		{"S3OutageDuringTraining", func(ft *faultTeam) { testOutageDuringTraining(ft, "S3", ft.s3.Stop, ft.s3.Start) }},
		{"PostgresOutageDuringRefresh", func(ft *faultTeam) { testOutageDuringRefresh(ft, "PostgreSQL", ft.pg.Stop, ft.pg.Start) }},
		{"S3OutageDuringRefresh", func(ft *faultTeam) { testOutageDuringRefresh(ft, "S3", ft.s3.Stop, ft.s3.Start) }},
		{"CommandsAfterOutageReapNothingLive", testCommandsAfterOutage},
		{"KillWorker/LeaderAtDefaultsElsewhere", func(ft *faultTeam) { testKillWorker(ft, false) }},
		{"KillWorker/KilledWorkerLeads", func(ft *faultTeam) { testKillWorker(ft, true) }},
		{"SigtermHandsJobOn", testSigterm},
	} {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			sc.run(newFaultTeam(t, bin))
		})
	}
	t.Run("SimultaneousStart", func(t *testing.T) {
		t.Parallel()
		testSimultaneousStart(t, bin)
	})
}

// testOutageDuringTraining: the dependency goes down while a training's jobs run (the network
// trains for a few seconds, then writes its artifacts and records while it is down) and comes
// back 30 s later; every job of the training completes, and a refresh then serves a forecast.
func testOutageDuringTraining(ft *faultTeam, name string, down, up func()) {
	t := ft.t
	ft.env = append(ft.env, "PREVOIR_MODELS=snaive,ets,rnn+cp", "PREVOIR_EPOCHS=50")
	ft.mustCLI("run", "ingest")
	server, base := ft.serve("server", "--no-worker")
	// Both workers are up before the outage: a worker that cannot reach its queue at start
	// exits (its supervisor restarts it), which is not what these scenarios are about.
	for i := range 2 {
		waitForLog(t, ft.start(fmt.Sprintf("worker%d", i), []string{"PREVOIR_JOB_WORKERS=2"}, "worker"), "worker started", time.Minute)
	}

	trainID := postAction(t, base, faultToken, "retrain", server)
	long := ft.waitTrainModel(trainID, "rnn+cp", rivertype.JobStateRunning, nil, time.Minute)
	from, to := ft.outage(name, down, up, nil)
	t.Logf("the training's jobs:\n%s", describeJobs(ft.waitAllCompleted(4*time.Minute)))
	// The harness: the network's training was under way when the outage began and ended
	// after it began, so its writes met the outage.
	if j := ft.job(long.ID); j.FinalizedAt == nil || j.FinalizedAt.Before(from) {
		t.Fatalf("harness: the rnn+cp training finished at %v, before the outage (%s to %s)", j.FinalizedAt, from.Format(time.TimeOnly), to.Format(time.TimeOnly))
	}

	// A refresh (nothing new) forecasts with the champion the training chose.
	postAction(t, base, faultToken, "refresh", server)
	ft.waitAllCompleted(2 * time.Minute)
	checkForecast(t, waitForecast(t, base, time.Minute, server))
}

// testOutageDuringRefresh: the dependency goes down while a refresh fetches a new release (the
// fake data.gouv.fr answers slowly), and comes back 30 s later; the ingest, the forecast and
// the score it queues all complete, and the server serves the forecast from the new release.
func testOutageDuringRefresh(ft *faultTeam, name string, down, up func()) {
	t := ft.t
	ft.env = append(ft.env, "PREVOIR_MODELS=snaive,ets")
	// The database holds the release of 5 August 2022 and a champion trained on it.
	data := testutil.DataDir(t)
	ind, sidep := ft.gouv.Sources()[0].ResourceID, ft.gouv.Sources()[1].ResourceID
	ft.gouv.SetFile(ind, filepath.Join(data, "vintages", "table-indicateurs-open-data-france-2022-08-05-19h01.csv"))
	ft.gouv.SetFile(sidep, filepath.Join(data, "vintages", "sp-fra-jour-2022-08-05-19h01.csv"))
	ft.mustCLI("run", "ingest")
	ft.mustCLI("run", "train")
	// Then the current files are published, and served slowly.
	ft.gouv.SetFile(ind, filepath.Join(data, "table-indicateurs-open-data-france.csv"))
	ft.gouv.SetFile(sidep, filepath.Join(data, "sp-fra-jour.csv"))
	ft.gouv.Inject(ind, testutil.FaultSlow)
	ft.gouv.Inject(sidep, testutil.FaultSlow)

	server, base := ft.serve("server", "--no-worker")
	// Both workers are up before the outage: a worker that cannot reach its queue at start
	// exits (its supervisor restarts it), which is not what these scenarios are about.
	for i := range 2 {
		waitForLog(t, ft.start(fmt.Sprintf("worker%d", i), []string{"PREVOIR_JOB_WORKERS=2"}, "worker"), "worker started", time.Minute)
	}
	ingestID := postAction(t, base, faultToken, "refresh", server)
	ft.waitJobState(ingestID, rivertype.JobStateRunning, time.Minute)
	from, to := ft.outage(name, down, up, nil)
	all := ft.waitAllCompleted(4 * time.Minute)
	t.Logf("the refresh's jobs:\n%s", describeJobs(all))
	if j := ft.job(ingestID); j.FinalizedAt == nil || j.FinalizedAt.Before(from) {
		t.Fatalf("harness: the ingest finished at %v, before the outage (%s to %s)", j.FinalizedAt, from.Format(time.TimeOnly), to.Format(time.TimeOnly))
	}
	kinds := map[string]bool{}
	for _, j := range all {
		kinds[j.Kind] = true
	}
	if !kinds[jobs.KindForecast] || !kinds[jobs.KindScore] {
		t.Errorf("the refresh queued no forecast or no score: %s", describeJobs(all))
	}
	checkForecast(t, waitForecast(t, base, time.Minute, server))
}

// testCommandsAfterOutage: while a worker trains, PostgreSQL is down for 30 s (three missed
// heartbeats of the run). The read-only commands run during and right after the outage, and a
// new worker starts right after it (a command that writes, and reaps the runs of dead
// processes): none marks the live training's run failed, and it completes.
func testCommandsAfterOutage(ft *faultTeam) {
	t := ft.t
	ctx := context.Background()
	ft.env = append(ft.env, "PREVOIR_MODELS=snaive,rnn", "PREVOIR_TRAIN_ORIGINS=1")
	ft.mustCLI("run", "ingest")
	server, _ := ft.serve("server", "--no-worker")
	worker := ft.start("worker0", []string{"PREVOIR_JOB_WORKERS=2"}, "worker")

	// The network's backtest fit (about 40 s of one core) holds no transaction: the outage
	// falls in it, and the run is alive throughout, beating whenever the database is up. The
	// outage waits for snaive's training, which runs beside it and writes all along: a write cut
	// by the outage fails that run (its job is retried), which is not what this scenario is about.
	ft.insertTraining(3000, "snaive", "rnn")
	runs := sqlstore.NewRunStore(ft.db)
	var live *prevoir.Run
	waitFor(t, time.Minute, "the rnn training's run to start and snaive's to finish", func() bool {
		list, err := runs.ListRuns(ctx, prevoir.RunFilter{Kind: prevoir.RunTrain})
		if err != nil {
			t.Fatal(err)
		}
		live = nil
		snaiveDone := false
		for _, r := range list {
			switch {
			case r.Name == "rnn" && r.Status == prevoir.RunRunning:
				live = r
			case r.Name == "snaive" && r.Status == prevoir.RunFinished:
				snaiveDone = true
			}
		}
		return live != nil && snaiveDone
	}, worker)
	if pid := processPID(live.Owner); pid != worker.pid() {
		t.Fatalf("the training's run is owned by %q, not by the worker (pid %d)", live.Owner, worker.pid())
	}

	readOnly := [][]string{{"jobs"}, {"runs", "list"}}
	var outputs []string
	ft.outage("PostgreSQL", ft.pg.Stop, ft.pg.Start, func() {
		time.Sleep(outage / 2)
		for _, args := range readOnly {
			out, err := ft.cli(args...)
			if err == nil {
				t.Errorf("harness: prevoir %s succeeded while PostgreSQL was down:\n%s", strings.Join(args, " "), out)
			}
			outputs = append(outputs, out)
		}
	})
	for _, args := range readOnly {
		outputs = append(outputs, ft.mustCLI(args...))
	}
	late := ft.start("worker1", nil, "worker")
	waitForLog(t, late, "worker started", time.Minute)
	outputs = append(outputs, late.output())
	for _, out := range outputs {
		if strings.Contains(out, "abandoned") {
			t.Errorf("a command reaped a run after the outage:\n%s", out)
		}
	}
	if r, err := runs.FindRun(ctx, live.ID); err != nil {
		t.Fatal(err)
	} else if r.Status == prevoir.RunFailed {
		t.Errorf("the live training's run %s was marked failed: %s", r.ID, r.Error)
	}

	ft.waitAllCompleted(5*time.Minute, server, worker, late)
	if r, err := runs.FindRun(ctx, live.ID); err != nil {
		t.Fatal(err)
	} else if r.Status != prevoir.RunFinished {
		t.Errorf("the training's run %s ended %s (%s), want finished", r.ID, r.Status, r.Error)
	}
	all, err := runs.ListRuns(ctx, prevoir.RunFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range all {
		if r.Status == prevoir.RunFailed {
			t.Errorf("run %s (%s %s, owner %s) failed although no process died: %s", r.ID, r.Kind, r.Name, r.Owner, r.Error)
		}
	}
}

// testKillWorker: a worker running a training is killed with SIGKILL; its job runs again on
// another process within the workers' --rescue-after (10 s) plus a margin, while the server
// runs at its defaults (3 h), whichever process leads: the server (alive), or the killed
// worker itself.
func testKillWorker(ft *faultTeam, killedLeads bool) {
	t := ft.t
	ft.env = append(ft.env, "PREVOIR_TRAIN_ORIGINS=1")
	ft.mustCLI("run", "ingest")
	rescue := []string{"PREVOIR_RESCUE_AFTER=" + rescueAfter.String(), "PREVOIR_JOB_WORKERS=2"}
	// The server works jobs one at a time, at the default --rescue-after (not the scenario's).
	atDefaults := []string{"PREVOIR_JOB_WORKERS=1", "PREVOIR_RESCUE_AFTER=" + jobs.DefaultConfig().RescueAfter.String()}

	var victim *teamProcess
	var long []*rivertype.JobRow
	if killedLeads {
		// The worker starts alone: it leads, and runs the training.
		victim = ft.start("worker1", rescue, "worker")
		ft.waitLeader(victim)
		trainID := ft.insertTraining(longEpochs, "snaive", "rnn")
		long = append(long, ft.waitTrainModel(trainID, "rnn", rivertype.JobStateRunning, victim, time.Minute))
		server, _ := ft.serve("server", atDefaults...)
		other := ft.start("worker2", rescue, "worker")
		waitForLog(t, other, "worker started", time.Minute)
		if ft.leaderPID() != victim.pid() {
			t.Fatalf("harness: the worker to kill (pid %d) does not lead; the leader is pid %d (server %d)", victim.pid(), ft.leaderPID(), server.pid())
		}
	} else {
		// The server starts first and leads. It runs at most one of the two networks, so
		// the worker runs the other.
		server, _ := ft.serve("server", atDefaults...)
		ft.waitLeader(server)
		victim = ft.start("worker1", rescue, "worker")
		trainID := ft.insertTraining(longEpochs, "snaive", "rnn", "rnn+cp")
		waitFor(t, time.Minute, "the worker to run a network's training", func() bool {
			long = nil
			for _, j := range batchJobs(t, ft.queue, trainID) {
				if m := trainedModel(j); strings.HasPrefix(m, "rnn") && j.State == rivertype.JobStateRunning && lastPID(j) == victim.pid() {
					long = append(long, j)
				}
			}
			return len(long) > 0
		}, victim, server)
		other := ft.start("worker2", rescue, "worker")
		waitForLog(t, other, "worker started", time.Minute)
		if ft.leaderPID() != server.pid() {
			t.Fatalf("harness: the server (pid %d) does not lead; the leader is pid %d", server.pid(), ft.leaderPID())
		}
	}

	killed := time.Now()
	victim.kill()
	if ws, ok := victim.cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("harness: the worker did not die of SIGKILL: %v", victim.cmd.ProcessState)
	}
	t.Logf("killed the worker (pid %d) running %d network training(s)", victim.pid(), len(long))
	for _, j := range long {
		again := ft.waitRunningElsewhere(j.ID, victim, killed, rescueAfter+rescueMargin)
		t.Logf("job %d running again on %s %s after the kill", j.ID, again.AttemptedBy[len(again.AttemptedBy)-1], again.AttemptedAt.Sub(killed).Round(time.Second))
	}
	ft.waitAllCompleted(4 * time.Minute)
}

// testSigterm: the process running a training gets SIGTERM; its job runs on another process at
// once (not after the 1 h --rescue-after) and completes, and the process exits cleanly.
func testSigterm(ft *faultTeam) {
	t := ft.t
	ft.env = append(ft.env, "PREVOIR_TRAIN_ORIGINS=1", "PREVOIR_RESCUE_AFTER=1h")
	ft.mustCLI("run", "ingest")
	server, _ := ft.serve("server", "PREVOIR_JOB_WORKERS=1")
	procs := []*teamProcess{server}
	for i := range 2 {
		procs = append(procs, ft.start(fmt.Sprintf("worker%d", i), []string{"PREVOIR_JOB_WORKERS=1"}, "worker"))
	}
	for _, w := range procs[1:] {
		waitForLog(t, w, "worker started", time.Minute)
	}
	trainID := ft.insertTraining(longEpochs, "snaive", "rnn")
	running := ft.waitTrainModel(trainID, "rnn", rivertype.JobStateRunning, nil, time.Minute)
	var victim *teamProcess
	for _, p := range procs {
		if p.pid() == lastPID(running) {
			victim = p
		}
	}
	if victim == nil {
		t.Fatalf("harness: job %d is run by %q, none of the processes started", running.ID, running.AttemptedBy)
	}

	stopped := time.Now()
	victim.terminate()
	again := ft.waitRunningElsewhere(running.ID, victim, stopped, handOnWithin)
	t.Logf("SIGTERM to %s (pid %d); job %d running again on %s %s later", victim.name, victim.pid(), running.ID,
		again.AttemptedBy[len(again.AttemptedBy)-1], again.AttemptedAt.Sub(stopped).Round(time.Second))
	ft.waitAllCompleted(4 * time.Minute)
	if !victim.wait(90 * time.Second) {
		t.Errorf("%s did not exit after SIGTERM", victim.name)
	} else if victim.err != nil {
		t.Errorf("%s exited with %v after SIGTERM", victim.name, victim.err)
	}
}

// testSimultaneousStart: a server and two workers started at the same instant on an empty
// database (as a compose file starts them) all come up and stay up; three times, each on a
// fresh schema.
func testSimultaneousStart(t *testing.T, bin string) {
	gouv := testutil.NewDataGouvServer(t, testutil.DataDir(t))
	for i := range 3 {
		t.Run(fmt.Sprintf("try%d", i), func(t *testing.T) {
			env := []string{
				"PREVOIR_DB=" + testutil.PostgresURL(t),
				"PREVOIR_ARTIFACTS=" + t.TempDir(),
				"PREVOIR_DATAGOUV_URL=" + gouv.URL,
				"PREVOIR_LOG_FORMAT=json",
				"PREVOIR_LOG_LEVEL=info",
			}
			addr := testutil.FreeAddr(t)
			procs := []*teamProcess{
				startProcess(t, bin, "server", append(env, "PREVOIR_ADDR="+addr), "serve"),
				startProcess(t, bin, "worker0", env, "worker"),
				startProcess(t, bin, "worker1", env, "worker"),
			}
			up := func() bool {
				for _, p := range procs {
					if p.exited() {
						t.Fatalf("%s exited (%v):\n%s", p.name, p.err, p.output())
					}
				}
				return httpOK("http://"+addr+"/healthz") && logged(procs[1], "worker started") && logged(procs[2], "worker started")
			}
			waitFor(t, time.Minute, "the three processes to come up", up, procs...)
			// They stay up: nothing they do next (River's leader election, maintenance)
			// trips on the others.
			time.Sleep(3 * time.Second)
			if !up() {
				t.Error("the server stopped answering /healthz")
			}
		})
	}
}

// faultTeam is one scenario's team deployment: a PostgreSQL cluster and an S3 server of its
// own, the fake data.gouv.fr, the settings every prevoir process of the scenario shares, and
// the test's own view of the database and the queue.
type faultTeam struct {
	t     *testing.T
	bin   string
	pg    *testutil.PostgresCluster
	s3    *s3server.Server
	gouv  *testutil.DataGouvServer
	env   []string
	db    *sqlstore.DB
	queue *jobs.Queue
}

// newFaultTeam starts the scenario's servers and creates the schema and the queue's tables,
// as a first start would (TestFaults/SimultaneousStart covers processes racing to do that).
func newFaultTeam(t *testing.T, bin string) *faultTeam {
	t.Helper()
	ft := &faultTeam{t: t, bin: bin, pg: testutil.StartPostgresCluster(t), s3: s3server.Start(t, "prevoir"),
		gouv: testutil.NewDataGouvServer(t, testutil.DataDir(t))}
	ft.env = append(ft.s3.Env(),
		"PREVOIR_DB="+ft.pg.URL,
		"PREVOIR_ARTIFACTS="+ft.s3.BucketURL("prevoir"),
		"PREVOIR_DATAGOUV_URL="+ft.gouv.URL,
		"PREVOIR_TRAIN_ORIGINS=3",
		// One target: the scenarios count one target's jobs and runs.
		"PREVOIR_TARGETS="+prevoir.DefaultTarget,
		"PREVOIR_LOG_FORMAT=json",
		"PREVOIR_LOG_LEVEL=info",
		"PREVOIR_RETRY_BASE=1s",
		"PREVOIR_MAX_ATTEMPTS="+strconv.Itoa(maxAttempts),
		// A job whose end could not be recorded during an outage is handed on after this.
		"PREVOIR_RESCUE_AFTER=1m",
	)
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, ft.pg.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	// The jobs the test queues get as many attempts as the processes' own.
	cfg := jobs.DefaultConfig()
	cfg.MaxAttempts = maxAttempts
	queue, err := jobs.Open(ctx, db, nil, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(queue.Close)
	ft.db, ft.queue = db, queue
	return ft
}

// start starts a prevoir process with the scenario's settings, then env.
func (ft *faultTeam) start(name string, env []string, args ...string) *teamProcess {
	ft.t.Helper()
	return startProcess(ft.t, ft.bin, name, append(append([]string{}, ft.env...), env...), args...)
}

// serve starts "prevoir serve" with the admin token on a free port, with the extra arguments
// (flags, or PREVOIR_ variables), and waits until it answers.
func (ft *faultTeam) serve(name string, extra ...string) (*teamProcess, string) {
	ft.t.Helper()
	addr := testutil.FreeAddr(ft.t)
	env := []string{"PREVOIR_ADMIN_TOKEN=" + faultToken, "PREVOIR_ADDR=" + addr, "PREVOIR_REFRESH_EVERY=1s"}
	args := []string{"serve"}
	for _, e := range extra {
		if strings.HasPrefix(e, "PREVOIR_") {
			env = append(env, e)
		} else {
			args = append(args, e)
		}
	}
	p := ft.start(name, env, args...)
	base := "http://" + addr
	waitForOK(ft.t, time.Minute, base+"/healthz", p)
	return p, base
}

// cli runs a one-off prevoir command with the scenario's settings and returns its output.
func (ft *faultTeam) cli(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, ft.bin, args...)
	cmd.Env = append(append(os.Environ(), ft.env...), "PREVOIR_LOG_FORMAT=text")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (ft *faultTeam) mustCLI(args ...string) string {
	ft.t.Helper()
	out, err := ft.cli(args...)
	if err != nil {
		ft.t.Fatalf("prevoir %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// outage takes a dependency down, runs during (if any), brings the dependency back once the
// outage has lasted its length, and returns when it began and ended.
func (ft *faultTeam) outage(name string, down, up func(), during func()) (from, to time.Time) {
	ft.t.Helper()
	from = time.Now()
	down()
	ft.t.Logf("%s down at %s", name, from.Format(time.TimeOnly))
	if during != nil {
		during()
	}
	time.Sleep(time.Until(from.Add(outage)))
	up()
	to = time.Now()
	ft.t.Logf("%s up again at %s", name, to.Format(time.TimeOnly))
	return from, to
}

// insertTraining queues a training of models with the test's queue, as the API would.
func (ft *faultTeam) insertTraining(epochs int, models ...string) int64 {
	ft.t.Helper()
	j, _, err := ft.queue.Insert(context.Background(), jobs.TrainArgs{Models: models, Epochs: epochs, Trigger: "test"})
	if err != nil {
		ft.t.Fatal(err)
	}
	return j.ID
}

func (ft *faultTeam) job(id int64) *rivertype.JobRow {
	ft.t.Helper()
	j, err := ft.queue.Job(context.Background(), id)
	if err != nil {
		ft.t.Fatal(err)
	}
	return j
}

// waitJobState waits until a job is in state.
func (ft *faultTeam) waitJobState(id int64, state rivertype.JobState, timeout time.Duration) *rivertype.JobRow {
	ft.t.Helper()
	var j *rivertype.JobRow
	waitFor(ft.t, timeout, fmt.Sprintf("job %d to be %s", id, state), func() bool {
		j = ft.job(id)
		return j.State == state
	})
	return j
}

// waitTrainModel waits until the train_model job of model, in the training queued by job
// trainID, is in state (and run by p, unless nil).
func (ft *faultTeam) waitTrainModel(trainID int64, model string, state rivertype.JobState, p *teamProcess, timeout time.Duration) *rivertype.JobRow {
	ft.t.Helper()
	var found *rivertype.JobRow
	waitFor(ft.t, timeout, fmt.Sprintf("the %s training to be %s", model, state), func() bool {
		for _, j := range batchJobs(ft.t, ft.queue, trainID) {
			if trainedModel(j) == model && j.State == state {
				if p != nil && lastPID(j) != p.pid() {
					ft.t.Fatalf("harness: job %d is run by %q, not by %s (pid %d)", j.ID, j.AttemptedBy, p.name, p.pid())
				}
				found = j
				return true
			}
		}
		return false
	})
	return found
}

// waitRunningElsewhere waits, for up to within after since, for a job to run again (or to have
// completed) on a process other than gone, and returns it.
func (ft *faultTeam) waitRunningElsewhere(id int64, gone *teamProcess, since time.Time, within time.Duration) *rivertype.JobRow {
	ft.t.Helper()
	deadline := since.Add(within)
	for {
		j, err := ft.queue.Job(context.Background(), id)
		if err != nil {
			ft.t.Fatal(err)
		}
		if (j.State == rivertype.JobStateRunning || j.State == rivertype.JobStateCompleted) && len(j.AttemptedBy) > 0 && lastPID(j) != gone.pid() {
			return j
		}
		if time.Now().After(deadline) {
			ft.t.Fatalf("job %d (%s) is not running on another process %s after %s (pid %d) went: %s, attempt %d, attempted by %q",
				id, j.Kind, within, gone.name, gone.pid(), j.State, j.Attempt, j.AttemptedBy)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitAllCompleted waits until every job in the queue has completed, and returns them; a
// cancelled or discarded job fails the test at once. The database may be unreachable for a
// while: reads are retried.
func (ft *faultTeam) waitAllCompleted(timeout time.Duration, procs ...*teamProcess) []*rivertype.JobRow {
	ft.t.Helper()
	deadline := time.Now().Add(timeout)
	var all []*rivertype.JobRow
	for {
		list, err := ft.queue.Jobs(context.Background(), 200)
		if err == nil {
			all = list
			done := len(list) > 0
			for _, j := range list {
				if j.State == rivertype.JobStateCancelled || j.State == rivertype.JobStateDiscarded {
					ft.t.Fatalf("job %d (%s) %s:\n%s", j.ID, j.Kind, j.State, describeJobs(list))
				}
				done = done && j.State == rivertype.JobStateCompleted
			}
			if done {
				return all
			}
		}
		if time.Now().After(deadline) {
			for _, p := range procs {
				ft.t.Logf("%s log:\n%s", p.name, p.output())
			}
			ft.t.Fatalf("not every job completed after %s (last error %v):\n%s", timeout, err, describeJobs(all))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// waitLeader waits until p is River's elected leader.
func (ft *faultTeam) waitLeader(p *teamProcess) {
	ft.t.Helper()
	waitFor(ft.t, time.Minute, p.name+" to lead", func() bool { return ft.leaderPID() == p.pid() }, p)
}

// leaderPID returns the pid of River's elected leader (0 without one).
func (ft *faultTeam) leaderPID() int {
	var id string
	err := ft.db.SQL().QueryRowContext(context.Background(), "SELECT leader_id FROM river_leader WHERE expires_at > now()").Scan(&id)
	if err != nil {
		return 0
	}
	return processPID(id)
}

// processPID returns the pid of a process name, host:pid (a run's owner, River's client ID).
func processPID(name string) int {
	pid, err := strconv.Atoi(name[strings.LastIndex(name, ":")+1:])
	if err != nil {
		return 0
	}
	return pid
}

// trainedModel returns the model a train_model job trains ("" for another job).
func trainedModel(j *rivertype.JobRow) string {
	var a jobs.TrainModelArgs
	if j.Kind != jobs.KindTrainModel || json.Unmarshal(j.EncodedArgs, &a) != nil {
		return ""
	}
	return a.Model
}

// lastPID returns the pid of the process that last took a job.
func lastPID(j *rivertype.JobRow) int {
	if len(j.AttemptedBy) == 0 {
		return 0
	}
	return processPID(j.AttemptedBy[len(j.AttemptedBy)-1])
}

func describeJobs(list []*rivertype.JobRow) string {
	var b strings.Builder
	for _, j := range list {
		fmt.Fprintf(&b, "  job %d %s %s, attempt %d/%d by %q, args %s\n", j.ID, j.Kind, j.State, j.Attempt, j.MaxAttempts, j.AttemptedBy, j.EncodedArgs)
		for _, e := range j.Errors {
			fmt.Fprintf(&b, "    attempt %d at %s: %s\n", e.Attempt, e.At.Format(time.TimeOnly), firstLine(e.Error, 200))
		}
	}
	return b.String()
}

// logged reports whether a process has logged a JSON record with message msg.
func logged(p *teamProcess, msg string) bool {
	return strings.Contains(p.output(), `"msg":"`+msg+`"`)
}

// waitForLog waits until a process logs msg, failing at once if it exits first.
func waitForLog(t *testing.T, p *teamProcess, msg string, timeout time.Duration) {
	t.Helper()
	waitFor(t, timeout, fmt.Sprintf("%s to log %q", p.name, msg), func() bool {
		if p.exited() {
			t.Fatalf("%s exited (%v):\n%s", p.name, p.err, p.output())
		}
		return logged(p, msg)
	}, p)
}
