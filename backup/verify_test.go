package backup_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/backup"
	"github.com/prevoir/prevoir/internal/testutil"
)

// flipByte flips one byte in the middle of a file, keeping its size.
func flipByte(t *testing.T, file string) {
	t.Helper()
	b, err := os.ReadFile(file)
	mustDo(t, err)
	b[len(b)/2] ^= 0x55
	mustDo(t, os.WriteFile(file, b, 0o644))
}

// TestVerifyRefusesTamperedBackup: a backup file whose bytes changed, its size unchanged, fails
// Verify with an error naming the file and both SHA-256, whether it is an artifact or the
// database.
func TestVerifyRefusesTamperedBackup(t *testing.T) {
	for _, which := range []string{"artifact", "database"} {
		t.Run(which, func(t *testing.T) {
			_, dir := smallBackup(t)
			m := readManifest(t, dir)
			f, file := m.Database, filepath.Join(dir, backup.DatabaseName)
			if which == "artifact" {
				f = m.Artifacts[1]
				file = filepath.Join(dir, backup.ArtifactsName, filepath.FromSlash(f.Path))
			}
			if _, err := backup.Verify(context.Background(), dir); err != nil {
				t.Fatalf("the untouched backup: %v", err)
			}
			flipByte(t, file)
			_, err := backup.Verify(context.Background(), dir)
			want := file + ": size " + strconv.FormatInt(f.Size, 10) + " sha256 "
			says := ", the manifest says size " + strconv.FormatInt(f.Size, 10) + " sha256 " + f.SHA256
			if prevoir.ErrorCode(err) != prevoir.EINVALID || err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), says) {
				t.Errorf("verify of a backup with a byte of %s changed: %v; want an invalid-input error saying %q...%q", which, err, want, says)
			}
		})
	}
}

// TestRestoreRefusesBackupChangedDuringCopy: a backup file that changes after Verify checked
// it, while the restore copies the files before it, is refused as it is copied, with an error
// naming it and the SHA-256 it should have, and the home is left as it was.
func TestRestoreRefusesBackupChangedDuringCopy(t *testing.T) {
	home, before := usedHome(t)
	for _, which := range []string{"artifact", "database"} {
		t.Run(which, func(t *testing.T) {
			_, dir := smallBackup(t)
			m := readManifest(t, dir)
			// The artifacts are copied in the manifest's order, then the database.
			f, file, prefix := m.Database, filepath.Join(dir, backup.DatabaseName), "database: copy "
			if which == "artifact" {
				f = m.Artifacts[1]
				file = filepath.Join(dir, backup.ArtifactsName, filepath.FromSlash(f.Path))
				prefix = "artifact " + f.Path + ": copy "
			}
			changed := false
			opts := backup.RestoreOptions{Force: true, Hooks: backup.RestoreHooks{
				// The first file copied changes the backup's later file.
				Write: func(_ string, w io.Writer) io.Writer {
					if !changed {
						changed = true
						flipByte(t, file)
					}
					return w
				},
			}}
			_, err := backup.Restore(context.Background(), dir, home, opts)
			want := ", want " + f.SHA256
			if prevoir.ErrorCode(err) != prevoir.EINVALID || err == nil || !strings.Contains(err.Error(), prefix) || !strings.Contains(err.Error(), want) {
				t.Errorf("restore of a backup whose %s changed during the copy: %v; want an invalid-input error saying %q...%q", which, err, prefix, want)
			}
			testutil.SameTree(t, before, testutil.TreeState(t, filepath.Dir(home.DB)))
		})
	}
}
