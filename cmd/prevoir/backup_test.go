package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/backup"
	"github.com/prevoir/prevoir/internal/testutil"
)

// runBackupCLI runs a prevoir command line on home, as the other CLI tests do.
func runBackupCLI(t *testing.T, home string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	args = append([]string{"--home", home, "--log-level", "warn"}, args...)
	code = run(context.Background(), args, strings.NewReader(""), &out, &errb, func(string) string { return "" })
	return code, out.String(), errb.String()
}

// TestBackupRestoreCommands: "prevoir backup" copies a home, "prevoir restore" puts it into a
// new home whose snapshots and frame are the same, refuses a used home without --force, and
// both refuse a PostgreSQL database.
func TestBackupRestoreCommands(t *testing.T) {
	c := newCLI(t)
	c.ok("ingest", "--source-dir", testutil.DataDir(t))
	frame := c.ok("frame", "--format", "csv")

	dir := filepath.Join(t.TempDir(), "backup")
	code, out, errs := runBackupCLI(t, c.home, "backup", dir)
	if code != 0 || !strings.Contains(out, "2 artifacts") {
		t.Fatalf("backup: exit %d\n%s%s", code, out, errs)
	}
	restored := newCLI(t)
	code, out, errs = runBackupCLI(t, restored.home, "restore", dir)
	if code != 0 || !strings.Contains(out, "2 artifacts verified") {
		t.Fatalf("restore: exit %d\n%s%s", code, out, errs)
	}
	var before, after []prevoir.Snapshot
	json.Unmarshal([]byte(c.ok("snapshots", "--json")), &before)
	json.Unmarshal([]byte(restored.ok("snapshots", "--json")), &after)
	if len(after) != 2 || after[0].SHA256 != before[0].SHA256 || after[1].SHA256 != before[1].SHA256 {
		t.Errorf("restored snapshots %+v, want %+v", after, before)
	}
	// The frame is rebuilt from the restored snapshot files, verified against their hashes.
	if got := restored.ok("frame", "--format", "csv"); got != frame {
		t.Error("the restored home builds another frame")
	}

	if code, _, errs := runBackupCLI(t, restored.home, "restore", dir); code == 0 || !strings.Contains(errs, "--force") {
		t.Errorf("restore into a used home: exit %d, %s", code, errs)
	}
	if code, out, errs := runBackupCLI(t, restored.home, "restore", "--force", dir); code != 0 {
		t.Errorf("restore --force: exit %d\n%s%s", code, out, errs)
	}
	code, _, errs = runBackupCLI(t, c.home, "--db", "postgres://u:p@127.0.0.1/x", "backup", filepath.Join(t.TempDir(), "b"))
	if code == 0 || !strings.Contains(errs, "pg_dump") || strings.Contains(errs, "u:p@") {
		t.Errorf("backup of PostgreSQL: exit %d, %s", code, errs)
	}
}

// TestReadOnlyCommandsOnReadOnlyHome: the commands that only read work on a home made
// read-only, and write nothing to it: every file keeps its bytes and modification time, and no
// SQLite -wal, -shm or journal file appears (they open the database read-only, never migrate
// it, never reap runs). Root ignores permission bits, so the comparison of the home's files,
// not the permissions, is what shows it.
func TestReadOnlyCommandsOnReadOnlyHome(t *testing.T) {
	c := newCLI(t)
	data := testutil.DataDir(t)
	c.ok("run", "ingest", "--source-dir", data)
	c.ok("run", "train", "--source-dir", data, "--models", "snaive", "--train-origins", "2")
	c.ok("run", "forecast", "--source-dir", data)
	var runs []prevoir.Run
	if err := json.Unmarshal([]byte(c.ok("runs", "list", "--json", "--kind", "train")), &runs); err != nil || len(runs) == 0 {
		t.Fatalf("runs list: %v %v", runs, err)
	}
	var shown struct {
		Artifacts []prevoir.Artifact `json:"artifacts"`
	}
	if err := json.Unmarshal([]byte(c.ok("runs", "show", "--json", runs[0].ID)), &shown); err != nil || len(shown.Artifacts) == 0 {
		t.Fatalf("runs show: %+v %v", shown, err)
	}

	setWritable(t, c.home, false)
	t.Cleanup(func() { setWritable(t, c.home, true) })
	before := testutil.TreeState(t, c.home)
	for _, args := range [][]string{
		{"snapshots"}, {"snapshots", "--json"},
		{"frame", "--format", "summary"},
		{"runs", "list"}, {"runs", "show", runs[0].ID},
		{"runs", "export", filepath.Join(t.TempDir(), "export")},
		{"models", "list"}, {"models", "show", "incid_dchosp"},
		{"forecast", "show"},
		{"jobs"},
		{"config"},
		{"artifacts", "get", runs[0].ID, shown.Artifacts[0].Path},
	} {
		if code, _, errs := c.run(args...); code != 0 {
			t.Errorf("prevoir %v on a read-only home: exit %d\n%s", args, code, errs)
		}
	}
	testutil.SameTree(t, before, testutil.TreeState(t, c.home))
}

// setWritable gives or takes the write permission of every file and folder under dir.
func setWritable(t *testing.T, dir string, w bool) {
	t.Helper()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		mode := info.Mode().Perm() &^ 0o222
		if w {
			mode |= 0o200
		}
		return os.Chmod(p, mode)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestEmptyDatabaseBesideArtifacts: a database truncated to zero bytes beside the artifacts
// (a failed copy) is refused by every command, which leave it as it is; in an otherwise empty
// home a zero-byte database is a new one.
func TestEmptyDatabaseBesideArtifacts(t *testing.T) {
	c := newCLI(t)
	c.ok("ingest", "--source-dir", testutil.DataDir(t))
	db := filepath.Join(c.home, "prevoir.db")
	if err := os.Truncate(db, 0); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"snapshots"}, {"ingest", "--source-dir", testutil.DataDir(t)}} {
		code, _, errs := c.run(args...)
		if code != 1 || !strings.Contains(errs, "is empty (0 bytes)") || !strings.Contains(errs, "prevoir restore") {
			t.Errorf("prevoir %v beside an empty database: exit %d, %s", args, code, errs)
		}
	}
	if info, err := os.Stat(db); err != nil || info.Size() != 0 {
		t.Errorf("the empty database was written: %v %v", info, err)
	}

	fresh := newCLI(t)
	if err := os.MkdirAll(fresh.home, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(fresh.home, "prevoir.db"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	fresh.ok("ingest", "--source-dir", testutil.DataDir(t))
	if n := len(fresh.snapshots()); n != 2 {
		t.Errorf("a zero-byte database in an empty home: %d snapshots after ingest", n)
	}
}

// TestInterruptedRestoreRecoveredByNextCommand: after a restore whose process died halfway
// through the swap, a read-only command refuses the home, and the next command that writes
// puts the old home back (saying so) before it runs.
func TestInterruptedRestoreRecoveredByNextCommand(t *testing.T) {
	src := newCLI(t)
	src.ok("ingest", "--source-dir", testutil.DataDir(t))
	dir := filepath.Join(t.TempDir(), "backup")
	if code, out, errs := runBackupCLI(t, src.home, "backup", dir); code != 0 {
		t.Fatalf("backup: exit %d\n%s%s", code, out, errs)
	}

	c := newCLI(t)
	c.ok("ingest", "--source-dir", copyData(t, "vintages/table-indicateurs-open-data-france-2022-08-05-19h01.csv", "vintages/sp-fra-jour-2022-08-05-19h01.csv"))
	before := c.ok("snapshots", "--json")
	home := backup.Home{DB: filepath.Join(c.home, "prevoir.db"), Artifacts: filepath.Join(c.home, "artifacts")}
	renames := 0
	func() {
		defer func() { recover() }() // the process "dies" at the third rename of the swap
		backup.Restore(context.Background(), dir, home, backup.RestoreOptions{Force: true, Hooks: backup.RestoreHooks{
			Rename: func(oldpath, newpath string) error {
				if renames++; renames == 3 {
					panic("died")
				}
				return os.Rename(oldpath, newpath)
			},
		}})
	}()
	if renames != 3 {
		t.Fatalf("the restore made %d renames", renames)
	}
	if code, _, errs := c.run("snapshots"); code != 1 || !strings.Contains(errs, "interrupted") {
		t.Errorf("snapshots on a half-swapped home: exit %d, %s", code, errs)
	}
	code, _, errs := c.run("ingest", "--source-dir", testutil.DataDir(t), "--log-level", "warn")
	if code != 0 || !strings.Contains(errs, "put back the home") {
		t.Errorf("ingest on a half-swapped home: exit %d, %s", code, errs)
	}
	// The old home is back (its snapshots, then those the ingest added), not the backup's.
	var was, now []prevoir.Snapshot
	json.Unmarshal([]byte(before), &was)
	json.Unmarshal([]byte(c.ok("snapshots", "--json")), &now)
	kept := map[string]bool{}
	for _, s := range now {
		kept[s.SHA256] = true
	}
	for _, s := range was {
		if !kept[s.SHA256] {
			t.Errorf("snapshot %d (%s) of the home is gone", s.ID, s.Source)
		}
	}
	if len(was) != 2 || len(now) != 4 {
		t.Errorf("%d snapshots before, %d after an ingest of other releases; want 2 and 4", len(was), len(now))
	}
}
