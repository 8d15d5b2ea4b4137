package prevoir

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"math"
	"time"
)

// RunKind says what a run did.
type RunKind string

// Run kinds.
const (
	RunTrain    RunKind = "train"
	RunBacktest RunKind = "backtest"
	RunForecast RunKind = "forecast"
	RunIngest   RunKind = "ingest"
	RunScore    RunKind = "score"
	RunSelect   RunKind = "select" // the champion rule applied to a training batch
)

// RunStatus is the state of a run.
type RunStatus string

// Run states. A run is created running and ends exactly once in one of the other states.
const (
	RunRunning  RunStatus = "running"
	RunFinished RunStatus = "finished"
	RunFailed   RunStatus = "failed"
	RunKilled   RunStatus = "killed" // stopped on purpose (a signal, a cancelled job)
)

// The artifacts the flows record in their runs (Artifact.Path), named once for the packages
// that write and read them.
const (
	// ModelSpecArtifact is a training run's model spec (flow.ModelSpec): what the forecast
	// flow needs to rebuild the model; a version's ArtifactPath.
	ModelSpecArtifact = "model.json"
	// PinnedArtifact holds a training run's pinned state (forecast/models.Save).
	PinnedArtifact = "pinned.json"
	// BacktestArtifact is a backtest's result (backtest.WriteJSON): a training run's, for its
	// model; a champion selection's, the batch's leaderboard; a backtest run's. The dashboard
	// shows the latest leaderboard.
	BacktestArtifact = "backtest.json"
	// BacktestPlotArtifact is a backtest run's plot (backtest.WriteSVG).
	BacktestPlotArtifact = "backtest.svg"
	// DecisionArtifact is a champion selection's decision (backtest.Decision), with every
	// number it used.
	DecisionArtifact = "decision.json"
)

// RunKinds returns every run kind.
func RunKinds() []RunKind {
	return []RunKind{RunTrain, RunSelect, RunBacktest, RunForecast, RunIngest, RunScore}
}

// RunStatuses returns every run state.
func RunStatuses() []RunStatus {
	return []RunStatus{RunRunning, RunFinished, RunFailed, RunKilled}
}

// Names returns the values of a string type as strings, in their order: for messages that list
// the valid ones.
func Names[T ~string](values []T) []string {
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = string(v)
	}
	return out
}

// Run is one recorded piece of work: a training, a backtest, a forecast. It plays the part of
// an MLflow run: parameters, metrics with steps, tags, artifacts, and lineage.
type Run struct {
	// ID is 32 hex digits, like an MLflow run ID, unique across databases.
	ID string `json:"id"`
	// Experiment groups runs ("prevoir" by default), as MLflow experiments do.
	Experiment string  `json:"experiment"`
	Kind       RunKind `json:"kind"`
	Name       string  `json:"name"` // e.g. the model family trained
	// Target is the target the run worked for (its registered model's name, e.g.
	// "incid_dchosp"): set on every target-specific run (train, select, backtest, forecast,
	// score), empty for an ingest, which fetches the sources every target shares.
	Target    string    `json:"target,omitempty"`
	Status    RunStatus `json:"status"`
	StartedAt time.Time `json:"started_at"`
	EndedAt   time.Time `json:"ended_at,omitzero"`
	// HeartbeatAt is refreshed while the run's process works; Owner names that process
	// (host:pid). Together they let a later start find runs whose process died.
	HeartbeatAt time.Time `json:"heartbeat_at"`
	Owner       string    `json:"owner"`
	Error       string    `json:"error,omitempty"`

	Params map[string]string `json:"params"`
	Tags   map[string]string `json:"tags"`
	Lineage
}

// Lineage records what a run was made from, so that any result can be traced back to its data,
// its settings and its code.
type Lineage struct {
	// Snapshots are the SHA-256 of the raw snapshots used, by source.
	Snapshots map[string]string `json:"snapshots,omitempty"`
	// FrameSHA256 identifies the frame (the hash of its CSV form).
	FrameSHA256 string `json:"frame_sha256,omitempty"`
	// Config is the effective configuration, as JSON.
	Config string `json:"config,omitempty"`
	// CodeVersion is the VCS revision of the binary (debug.ReadBuildInfo).
	CodeVersion string `json:"code_version,omitempty"`
}

// NewRunID returns a random 32-hex-digit run ID.
func NewRunID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Metric is one value of a run's metric; Step orders a series (the epoch of a training curve).
type Metric struct {
	Key   string    `json:"key"`
	Value float64   `json:"value"`
	Step  int64     `json:"step"`
	Time  time.Time `json:"time"`
}

// FiniteMetrics returns ms without its non-finite values, which JSON cannot carry (never nil).
func FiniteMetrics(ms []Metric) []Metric {
	out := make([]Metric, 0, len(ms))
	for _, m := range ms {
		if !math.IsNaN(m.Value) && !math.IsInf(m.Value, 0) {
			out = append(out, m)
		}
	}
	return out
}

// Artifact is a file attached to a run, stored in the blob store and verified by its hash.
type Artifact struct {
	RunID   string `json:"run_id"`
	Path    string `json:"path"` // relative path in the run, e.g. "model.bin"
	BlobKey string `json:"blob_key"`
	SHA256  string `json:"sha256"`
	Size    int64  `json:"size"`
}

// RunFilter selects runs in ListRuns.
type RunFilter struct {
	Experiment string
	Kind       RunKind
	Name       string
	// Target selects a target's runs ("" any run, ingests included).
	Target string
	Status RunStatus
	Limit  int
}

// RunStore records runs. Every call is atomic; writes that are repeated with the same content
// (a retried request) are stored once.
type RunStore interface {
	// CreateRun stores a new run in the running state; it sets ID, StartedAt and HeartbeatAt
	// when they are empty.
	CreateRun(ctx context.Context, r *Run) error
	// EndRun moves a running run to a final state; ending a run that is not running is an
	// ECONFLICT error (a run ends once).
	EndRun(ctx context.Context, id string, status RunStatus, errMsg string) error
	// Heartbeat refreshes a running run's heartbeat, for its owner. A run that ReapRuns marked
	// failed as abandoned (its owner silent during an outage, but alive) is running again when
	// that owner beats: its end and error are cleared and revived is true. A run that is not
	// running otherwise is an ECONFLICT error.
	Heartbeat(ctx context.Context, id, owner string) (revived bool, err error)
	// LogParams records parameters; a parameter is immutable: logging another value for a
	// key already logged is an ECONFLICT error.
	LogParams(ctx context.Context, id string, params map[string]string) error
	// SetTags sets tags (mutable).
	SetTags(ctx context.Context, id string, tags map[string]string) error
	// LogMetrics records metric values; a (key, step) logged again is overwritten, so a
	// retried write is stored once.
	LogMetrics(ctx context.Context, id string, ms []Metric) error
	// LogArtifact records an artifact whose bytes are already in the blob store.
	LogArtifact(ctx context.Context, a Artifact) error

	FindRun(ctx context.Context, id string) (*Run, error)
	ListRuns(ctx context.Context, f RunFilter) ([]*Run, error)
	// Metrics returns a run's metric values ordered by key and step; key "" means all keys.
	Metrics(ctx context.Context, id, key string) ([]Metric, error)
	Artifacts(ctx context.Context, id string) ([]Artifact, error)

	// ReapRuns marks failed, as abandoned, every running run whose process is gone: dead(owner)
	// reports a process known to be dead (same host, no such pid), and a heartbeat older than
	// staleBefore means the process stopped beating long ago. It returns the runs it marked.
	ReapRuns(ctx context.Context, staleBefore time.Time, dead func(owner string) bool) ([]string, error)
}

// ModelVersion is a trained model registered from a run.
type ModelVersion struct {
	// Model is the registered model's name: the forecasting task, e.g. "incid_dchosp".
	Model string `json:"model"`
	// Version numbers start at 1 and have no gaps within a model.
	Version int `json:"version"`
	// Family is the model family ("ets", "transformer", ...).
	Family string `json:"family"`
	RunID  string `json:"run_id"`
	// ArtifactPath is the run's artifact holding the model.
	ArtifactPath string             `json:"artifact_path"`
	CreatedAt    time.Time          `json:"created_at"`
	Metrics      map[string]float64 `json:"metrics,omitempty"`
	// Batch names the training batch the version was trained in (the models trained together
	// on one frame, among which the champion rule chooses); "" when it was registered outside
	// a batch.
	Batch       string `json:"batch,omitempty"`
	Description string `json:"description,omitempty"`
}

// Aliases used by prevoir.
const (
	AliasChampion   = "champion"
	AliasChallenger = "challenger"
)

// AliasChange is one move of an alias, with the reason (for the champion: the decision of the
// champion rule, with the numbers it used).
type AliasChange struct {
	Model       string    `json:"model"`
	Alias       string    `json:"alias"`
	Version     int       `json:"version"`      // 0 when the alias was removed
	FromVersion int       `json:"from_version"` // 0 when the alias was new
	Reason      string    `json:"reason"`
	At          time.Time `json:"at"`
}

// RegisteredModel summarises a registered model.
type RegisteredModel struct {
	Name          string         `json:"name"`
	LatestVersion int            `json:"latest_version"`
	Aliases       map[string]int `json:"aliases"`
	CreatedAt     time.Time      `json:"created_at"`
}

// Registry holds registered models, their versions and aliases.
type Registry interface {
	// CreateModelVersion registers the next version of model from a finished run.
	CreateModelVersion(ctx context.Context, v *ModelVersion) error
	FindModelVersion(ctx context.Context, model string, version int) (*ModelVersion, error)
	ListModelVersions(ctx context.Context, model string) ([]*ModelVersion, error)
	ListModels(ctx context.Context) ([]*RegisteredModel, error)
	// SetAlias points alias at version (0 removes it), atomically, and records the change.
	SetAlias(ctx context.Context, model, alias string, version int, reason string) (*AliasChange, error)
	// ResolveAlias returns the version an alias points at, or ENOTFOUND.
	ResolveAlias(ctx context.Context, model, alias string) (*ModelVersion, error)
	// AliasHistory returns an alias's changes, newest first.
	AliasHistory(ctx context.Context, model, alias string) ([]*AliasChange, error)
}
