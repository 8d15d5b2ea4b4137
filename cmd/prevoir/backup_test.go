package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prevoir/prevoir"
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
