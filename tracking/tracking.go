// Package tracking records prevoir's work as runs, the way MLflow's client does, on top of a
// prevoir.RunStore (SQL) and a blob store (artifacts): a run is started, beats while its process
// works, logs parameters, metrics and artifacts, and ends once. A run whose process died is
// found by the next command that writes (Reap) and marked failed, so nothing stays "running"
// forever; a run whose process is alive survives an outage of the database: its end is retried,
// and a reaper that took it for dead is corrected by its next heartbeat.
package tracking

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/blobstore"
)

// Defaults for Tracker.
const (
	// DefaultHeartbeat is how often a running run beats.
	DefaultHeartbeat = 10 * time.Second
	// DefaultAbandonAfter is how long a run whose process cannot be checked (it ran on another
	// host) may stay silent before it is taken for abandoned. An outage of the database silences
	// every run: a restart or a failover lasts seconds, a maintenance minutes; half an hour is
	// far beyond them, and short beside the hours a run left "running" by a dead machine would
	// otherwise confuse the listings.
	DefaultAbandonAfter = 30 * time.Minute
	// DefaultRetryFor bounds how long End retries a store that fails transiently.
	DefaultRetryFor = time.Minute
)

// Tracker starts and ends runs.
type Tracker struct {
	Runs   prevoir.RunStore
	Blobs  *blobstore.Store
	Logger *slog.Logger
	// Heartbeat is the beat interval (DefaultHeartbeat when zero).
	Heartbeat time.Duration
	// AbandonAfter is the silence after which Reap marks a run failed when its process cannot
	// be checked (DefaultAbandonAfter when zero).
	AbandonAfter time.Duration
	// RetryFor bounds how long End retries a write the store failed transiently (an outage),
	// so that a run does not stay "running" because it ended during one (DefaultRetryFor when
	// zero).
	RetryFor time.Duration
}

func (t *Tracker) beat() time.Duration { return orDefault(t.Heartbeat, DefaultHeartbeat) }

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

func (t *Tracker) logger() *slog.Logger {
	if t.Logger != nil {
		return t.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// Owner names this process: host:pid.
func Owner() string {
	host, _ := os.Hostname()
	return host + ":" + strconv.Itoa(os.Getpid())
}

// ProcessDead reports whether owner names a process of this host that no longer exists.
// Processes of other hosts cannot be checked: for them the heartbeat decides.
func ProcessDead(owner string) bool {
	host, pidText, ok := strings.Cut(owner, ":")
	if !ok {
		return false
	}
	if me, _ := os.Hostname(); host != me {
		return false
	}
	pid, err := strconv.Atoi(pidText)
	if err != nil || pid <= 0 {
		return false
	}
	if pid == os.Getpid() {
		return false
	}
	err = syscall.Kill(pid, 0)
	return errors.Is(err, syscall.ESRCH)
}

// CodeVersion returns the VCS revision the binary was built from ("unknown" without one).
func CodeVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	rev, dirty := "", ""
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "+dirty"
			}
		}
	}
	if rev == "" {
		return bi.Main.Version
	}
	return rev + dirty
}

// Reap marks failed the runs whose process is provably gone: a process of this host that no
// longer exists, or one silent for longer than AbandonAfter (a process of another host, which
// cannot be checked, or a pid taken over by another program). A late heartbeat is not enough:
// an outage of the database silences live processes too. Call it from commands that write.
func (t *Tracker) Reap(ctx context.Context) ([]string, error) {
	after := orDefault(t.AbandonAfter, DefaultAbandonAfter)
	ids, err := t.Runs.ReapRuns(ctx, time.Now().Add(-after), ProcessDead)
	for _, id := range ids {
		t.logger().WarnContext(ctx, "abandoned run marked failed: its process is gone, or silent for longer than abandon-after (the run's error says which)",
			"run", id, "abandon_after", after)
	}
	return ids, err
}

// Run is a run in progress.
type Run struct {
	*prevoir.Run
	t        *Tracker
	stop     chan struct{}
	stopOnce sync.Once
	done     chan struct{}
}

// Start creates the run (owner, code version filled in) and starts its heartbeat.
func (t *Tracker) Start(ctx context.Context, r *prevoir.Run) (*Run, error) {
	if r.Owner == "" {
		r.Owner = Owner()
	}
	if r.CodeVersion == "" {
		r.CodeVersion = CodeVersion()
	}
	if err := t.Runs.CreateRun(ctx, r); err != nil {
		return nil, err
	}
	ar := &Run{Run: r, t: t, stop: make(chan struct{}), done: make(chan struct{})}
	go ar.heartbeat()
	t.logger().InfoContext(ctx, "run started", "run", r.ID, "kind", r.Kind, "name", r.Name)
	return ar, nil
}

func (r *Run) heartbeat() {
	defer close(r.done)
	tick := time.NewTicker(r.t.beat())
	defer tick.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-tick.C:
			// A failed beat is tried again at the next tick: the ticker is the backoff, and a
			// run is abandoned only after AbandonAfter, far more beats than an outage costs.
			ctx, cancel := context.WithTimeout(context.Background(), r.t.beat())
			if _, err := r.beatOnce(ctx); err != nil {
				r.t.logger().Warn("run heartbeat failed", "run", r.ID, "err", err)
			}
			cancel()
		}
	}
}

// beatOnce refreshes the heartbeat, reviving the run if a reaper took this live process for
// dead (see prevoir.RunStore.Heartbeat).
func (r *Run) beatOnce(ctx context.Context) (revived bool, err error) {
	revived, err = r.t.Runs.Heartbeat(ctx, r.ID, r.Owner)
	if revived {
		r.t.logger().WarnContext(ctx, "run marked abandoned while its process was alive is running again", "run", r.ID, "owner", r.Owner)
	}
	return revived, err
}

// write calls fn, a write to the run; when the run was marked abandoned under this live
// process (ECONFLICT), it revives the run and calls fn again, so that a reaper's mistake does
// not fail the work in the few seconds before the next heartbeat.
func (r *Run) write(ctx context.Context, fn func() error) error {
	err := fn()
	if prevoir.ErrorCode(err) != prevoir.ECONFLICT {
		return err
	}
	if revived, _ := r.beatOnce(ctx); revived {
		return fn()
	}
	return err
}

// LogMetric records one metric value.
func (r *Run) LogMetric(ctx context.Context, key string, value float64, step int64) error {
	return r.write(ctx, func() error {
		return r.t.Runs.LogMetrics(ctx, r.ID, []prevoir.Metric{{Key: key, Value: value, Step: step, Time: time.Now()}})
	})
}

// LogMetrics records several values of step 0 at once.
func (r *Run) LogMetrics(ctx context.Context, values map[string]float64) error {
	ms := make([]prevoir.Metric, 0, len(values))
	now := time.Now()
	for k, v := range values {
		ms = append(ms, prevoir.Metric{Key: k, Value: v, Time: now})
	}
	return r.write(ctx, func() error { return r.t.Runs.LogMetrics(ctx, r.ID, ms) })
}

// LogParams records parameters.
func (r *Run) LogParams(ctx context.Context, params map[string]string) error {
	return r.write(ctx, func() error { return r.t.Runs.LogParams(ctx, r.ID, params) })
}

// ArtifactKey is where a run's artifact is stored in the blob store.
func ArtifactKey(runID, p string) string { return path.Join(RunsPrefix, runID, "artifacts", p) }

// LogArtifact stores data as the run's artifact at path p (e.g. "model.bin"): bytes first,
// atomically, then the record with their hash.
func (r *Run) LogArtifact(ctx context.Context, p string, data []byte) (prevoir.Artifact, error) {
	clean := path.Clean(p)
	if clean != p || strings.HasPrefix(p, "/") || strings.HasPrefix(p, "..") || p == "." {
		return prevoir.Artifact{}, prevoir.Errorf(prevoir.EINVALID, "artifact path %q: want a clean relative path", p)
	}
	a := prevoir.Artifact{RunID: r.ID, Path: p, BlobKey: ArtifactKey(r.ID, p), SHA256: blobstore.SHA256(data), Size: int64(len(data))}
	if err := r.t.Blobs.Put(ctx, a.BlobKey, data); err != nil {
		return prevoir.Artifact{}, err
	}
	if err := r.write(ctx, func() error { return r.t.Runs.LogArtifact(ctx, a) }); err != nil {
		return prevoir.Artifact{}, err
	}
	return a, nil
}

// End ends the run: finished when err is nil, killed when err is a cancellation, failed
// otherwise. It stops the heartbeat either way.
func (r *Run) End(ctx context.Context, err error) error {
	r.stopOnce.Do(func() { close(r.stop) })
	<-r.done
	status, msg := prevoir.RunFinished, ""
	switch {
	case errors.Is(err, context.Canceled):
		status, msg = prevoir.RunKilled, err.Error()
	case err != nil:
		status, msg = prevoir.RunFailed, err.Error()
	}
	// The run must end even when ctx was what stopped the work, and even when the database is
	// down for a while: a run left "running" by a live process would not be reaped for long.
	ectx, cancel := context.WithTimeout(context.WithoutCancel(ctx), orDefault(r.t.RetryFor, DefaultRetryFor))
	defer cancel()
	retried := false
	eerr := r.t.retry(ectx, func(ctx context.Context) error {
		err := r.write(ctx, func() error { return r.t.Runs.EndRun(ctx, r.ID, status, msg) })
		if err != nil && prevoir.Transient(err) {
			retried = true
			r.t.logger().WarnContext(ctx, "end run failed, retrying", "run", r.ID, "err", err)
		}
		return err
	})
	if eerr != nil && retried && prevoir.ErrorCode(eerr) == prevoir.ECONFLICT {
		// An attempt that failed on the way back may have ended the run.
		if got, ferr := r.t.Runs.FindRun(ectx, r.ID); ferr == nil && got.Status == status {
			eerr = nil
		}
	}
	if eerr != nil {
		return fmt.Errorf("end run %s: %w", r.ID, eerr)
	}
	r.Status = status
	r.t.logger().InfoContext(ctx, "run ended", "run", r.ID, "status", status)
	return nil
}

// retry calls fn until it succeeds, fails for good, or ctx ends, waiting between attempts from
// a beat (at most a second) doubling up to 10 s.
func (t *Tracker) retry(ctx context.Context, fn func(context.Context) error) error {
	wait := min(t.beat(), time.Second)
	for {
		err := fn(ctx)
		if err == nil || !prevoir.Transient(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
		wait = min(2*wait, 10*time.Second)
	}
}

// ReadArtifact returns a run's artifact, verified against its recorded hash.
func (t *Tracker) ReadArtifact(ctx context.Context, runID, p string) ([]byte, error) {
	arts, err := t.Runs.Artifacts(ctx, runID)
	if err != nil {
		return nil, err
	}
	for _, a := range arts {
		if a.Path == p {
			return t.Blobs.GetVerified(ctx, a.BlobKey, a.SHA256)
		}
	}
	return nil, prevoir.Errorf(prevoir.ENOTFOUND, "run %s has no artifact %s", runID, p)
}
