// Package mlflow writes prevoir's runs in the layout of an MLflow file store
// (mlruns/<experiment id>/<run id>/{meta.yaml, params, metrics, tags, artifacts}), so that a
// team that already uses MLflow can open prevoir's runs in the MLflow UI
// ("mlflow ui --backend-store-uri DIR").
//
// The layout follows MLflow's FileStore (mlflow/store/tracking/file_store.py): one directory per
// experiment with a meta.yaml, one per run with a meta.yaml, one file per parameter holding its
// value, one per tag, and one per metric holding "timestamp value step" lines.
package mlflow

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/prevoir/prevoir"
)

// ArtifactReader reads a run's verified artifact bytes.
type ArtifactReader interface {
	ReadArtifact(ctx context.Context, runID, path string) ([]byte, error)
}

// Export writes the runs selected by f under dir/mlruns and returns how many it wrote. Files
// are written to a temporary directory renamed into place at the end, so an interrupted
// export leaves no half-written store.
func Export(ctx context.Context, dir string, runs prevoir.RunStore, arts ArtifactReader, f prevoir.RunFilter) (int, error) {
	list, err := runs.ListRuns(ctx, f)
	if err != nil {
		return 0, err
	}
	root, err := filepath.Abs(filepath.Join(dir, "mlruns"))
	if err != nil {
		return 0, err
	}
	if _, err := os.Stat(root); err == nil {
		return 0, prevoir.Errorf(prevoir.ECONFLICT, "%s exists: export into an empty directory", root)
	}
	tmp := root + ".tmp"
	os.RemoveAll(tmp)
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return 0, err
	}
	defer os.RemoveAll(tmp)

	// Experiment 0 is MLflow's "Default"; prevoir's experiments get 1, 2, ... by name.
	names := map[string]bool{}
	for _, r := range list {
		names[r.Experiment] = true
	}
	expNames := make([]string, 0, len(names))
	for n := range names {
		expNames = append(expNames, n)
	}
	sort.Strings(expNames)
	expID := map[string]string{}
	now := time.Now().UnixMilli()
	if err := writeExperiment(tmp, root, "0", "Default", now); err != nil {
		return 0, err
	}
	for i, n := range expNames {
		expID[n] = strconv.Itoa(i + 1)
		if err := writeExperiment(tmp, root, expID[n], n, now); err != nil {
			return 0, err
		}
	}
	for _, r := range list {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		full, err := runs.FindRun(ctx, r.ID)
		if err != nil {
			return 0, err
		}
		if err := writeRun(ctx, tmp, root, expID[r.Experiment], full, runs, arts); err != nil {
			return 0, fmt.Errorf("export run %s: %w", r.ID, err)
		}
	}
	if err := os.Rename(tmp, root); err != nil {
		return 0, err
	}
	return len(list), nil
}

func writeExperiment(tmp, root, id, name string, now int64) error {
	d := filepath.Join(tmp, id)
	if err := os.MkdirAll(d, 0o755); err != nil {
		return err
	}
	return writeYAML(filepath.Join(d, "meta.yaml"), [][2]string{
		{"artifact_location", "file://" + filepath.Join(root, id)},
		{"creation_time", strconv.FormatInt(now, 10)},
		{"experiment_id", quote(id)},
		{"last_update_time", strconv.FormatInt(now, 10)},
		{"lifecycle_stage", "active"},
		{"name", quote(name)},
	})
}

// MLflow's RunStatus values.
var runStatus = map[prevoir.RunStatus]string{
	prevoir.RunRunning: "1", prevoir.RunFinished: "3", prevoir.RunFailed: "4", prevoir.RunKilled: "5",
}

func writeRun(ctx context.Context, tmp, root, expID string, r *prevoir.Run, runs prevoir.RunStore, arts ArtifactReader) error {
	d := filepath.Join(tmp, expID, r.ID)
	for _, sub := range []string{"params", "metrics", "tags", "artifacts"} {
		if err := os.MkdirAll(filepath.Join(d, sub), 0o755); err != nil {
			return err
		}
	}
	end := "null"
	if !r.EndedAt.IsZero() {
		end = strconv.FormatInt(r.EndedAt.UnixMilli(), 10)
	}
	name := r.Name
	if name == "" {
		name = string(r.Kind)
	}
	if err := writeYAML(filepath.Join(d, "meta.yaml"), [][2]string{
		{"artifact_uri", "file://" + filepath.Join(root, expID, r.ID, "artifacts")},
		{"end_time", end},
		{"entry_point_name", "''"},
		{"experiment_id", quote(expID)},
		{"lifecycle_stage", "active"},
		{"run_id", r.ID},
		{"run_name", quote(name)},
		{"run_uuid", r.ID},
		{"source_name", "''"},
		{"source_type", "4"}, // LOCAL
		{"source_version", quote(r.CodeVersion)},
		{"start_time", strconv.FormatInt(r.StartedAt.UnixMilli(), 10)},
		{"status", runStatus[r.Status]},
		{"tags", "[]"},
		{"user_id", "prevoir"},
	}); err != nil {
		return err
	}
	for k, v := range r.Params {
		if err := writeKey(d, "params", k, v); err != nil {
			return err
		}
	}
	tags := map[string]string{
		"mlflow.runName":           name,
		"mlflow.source.git.commit": r.CodeVersion,
		"mlflow.user":              "prevoir",
		"prevoir.kind":             string(r.Kind),
		"prevoir.owner":            r.Owner,
	}
	if r.Error != "" {
		tags["prevoir.error"] = r.Error
	}
	if r.Target != "" {
		tags["prevoir.target"] = r.Target
	}
	if r.FrameSHA256 != "" {
		tags["prevoir.frame_sha256"] = r.FrameSHA256
	}
	for src, sha := range r.Snapshots {
		tags["prevoir.snapshot."+src] = sha
	}
	for k, v := range r.Tags {
		tags[k] = v
	}
	for k, v := range tags {
		if err := writeKey(d, "tags", k, v); err != nil {
			return err
		}
	}
	ms, err := runs.Metrics(ctx, r.ID, "")
	if err != nil {
		return err
	}
	lines := map[string]*strings.Builder{}
	for _, m := range ms {
		b := lines[m.Key]
		if b == nil {
			b = &strings.Builder{}
			lines[m.Key] = b
		}
		v := strconv.FormatFloat(m.Value, 'g', -1, 64)
		if math.IsNaN(m.Value) {
			v = "nan"
		}
		fmt.Fprintf(b, "%d %s %d\n", m.Time.UnixMilli(), v, m.Step)
	}
	for k, b := range lines {
		if err := writeKey(d, "metrics", k, b.String()); err != nil {
			return err
		}
	}
	list, err := runs.Artifacts(ctx, r.ID)
	if err != nil {
		return err
	}
	for _, a := range list {
		data, err := arts.ReadArtifact(ctx, r.ID, a.Path)
		if err != nil {
			return err
		}
		if err := writeKey(d, "artifacts", a.Path, string(data)); err != nil {
			return err
		}
	}
	return nil
}

// writeKey writes one params/metrics/tags/artifacts file; keys may contain "/" (MLflow keeps
// them as sub-directories) but may not leave the directory.
func writeKey(runDir, kind, key, content string) error {
	p := filepath.Join(runDir, kind, filepath.FromSlash(key))
	if !strings.HasPrefix(p, filepath.Join(runDir, kind)+string(filepath.Separator)) {
		return fmt.Errorf("%s key %q leaves the run directory", kind, key)
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return os.WriteFile(p, []byte(content), 0o644)
}

func writeYAML(path string, kv [][2]string) error {
	var b strings.Builder
	for _, p := range kv {
		b.WriteString(p[0])
		b.WriteString(": ")
		b.WriteString(p[1])
		b.WriteByte('\n')
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

// quote writes a YAML single-quoted scalar.
func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
