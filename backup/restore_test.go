package backup_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/backup"
	"github.com/prevoir/prevoir/internal/testutil"
)

// usedHome makes a home with one run of its own, closed (no SQLite side files), in a folder of
// its own, and returns it with the state of that folder.
func usedHome(t *testing.T) (backup.Home, map[string]string) {
	t.Helper()
	h := newHome(t)
	db, tr := openHome(t, h)
	if _, err := logRun(context.Background(), tr, 99); err != nil {
		t.Fatal(err)
	}
	db.Close()
	return h, testutil.TreeState(t, filepath.Dir(h.DB))
}

// failingWriter fails with ENOSPC, as a full disk does, once budget bytes have been written
// through all the writers that share it.
type failingWriter struct {
	w      io.Writer
	budget *int64
}

func (f failingWriter) Write(p []byte) (int, error) {
	if int64(len(p)) > *f.budget {
		n, _ := f.w.Write(p[:*f.budget])
		*f.budget = 0
		return n, syscall.ENOSPC
	}
	*f.budget -= int64(len(p))
	return f.w.Write(p)
}

// TestRestoreFailingWriteLeavesHomeUnchanged: a restore --force whose writes fail (a full disk)
// after 0 bytes, a few bytes, in the middle of the artifacts and in the last bytes of the
// database leaves every file of the home as it was, byte for byte, and no partial copy.
func TestRestoreFailingWriteLeavesHomeUnchanged(t *testing.T) {
	ctx := context.Background()
	_, dir := smallBackup(t)
	m := readManifest(t, dir)
	total := m.Database.Size
	for _, f := range m.Artifacts {
		total += f.Size
	}
	home, before := usedHome(t)
	for _, budget := range []int64{0, 10, total / 3, total - 1} {
		left := budget
		opts := backup.RestoreOptions{Force: true, Hooks: backup.RestoreHooks{
			Write: func(_ string, w io.Writer) io.Writer { return failingWriter{w, &left} },
		}}
		_, err := backup.Restore(ctx, dir, home, opts)
		if !errors.Is(err, syscall.ENOSPC) {
			t.Fatalf("restore failing after %d of %d bytes: %v", budget, total, err)
		}
		testutil.SameTree(t, before, testutil.TreeState(t, filepath.Dir(home.DB)))
	}
}

// TestRestoreFailingVerificationLeavesHomeUnchanged: a staged copy that does not match the
// manifest (a byte flipped on the way to the disk, a stray file) is refused before the swap,
// and the home is left as it was.
func TestRestoreFailingVerificationLeavesHomeUnchanged(t *testing.T) {
	ctx := context.Background()
	_, dir := smallBackup(t)
	m := readManifest(t, dir)
	home, before := usedHome(t)
	for name, damage := range map[string]func(staged backup.Home) error{
		"flipped byte": func(staged backup.Home) error {
			file := filepath.Join(staged.Artifacts, filepath.FromSlash(m.Artifacts[1].Path))
			b, err := os.ReadFile(file)
			if err != nil {
				return err
			}
			b[len(b)/2] ^= 1
			return os.WriteFile(file, b, 0o644)
		},
		"truncated database": func(staged backup.Home) error { return os.Truncate(staged.DB, 4096) },
		"stray file": func(staged backup.Home) error {
			return os.WriteFile(filepath.Join(staged.Artifacts, "stray"), []byte("x"), 0o644)
		},
	} {
		_, err := backup.Restore(ctx, dir, home, backup.RestoreOptions{Force: true, Hooks: backup.RestoreHooks{Staged: damage}})
		if prevoir.ErrorCode(err) != prevoir.EINVALID || !strings.Contains(err.Error(), "does not verify") {
			t.Errorf("%s: %v", name, err)
		}
		testutil.SameTree(t, before, testutil.TreeState(t, filepath.Dir(home.DB)))
	}
}

// swapRenames is the number of renames of a swap into a used home whose database is closed (no
// SQLite side files): database and artifacts aside, the new ones into place.
const swapRenames = 4

// TestRestoreFailingSwapPutsHomeBack: whichever rename of the swap fails, the renames already
// done are undone and the home is left as it was.
func TestRestoreFailingSwapPutsHomeBack(t *testing.T) {
	ctx := context.Background()
	_, dir := smallBackup(t)
	home, before := usedHome(t)
	for k := 1; k <= swapRenames; k++ {
		calls := 0
		rename := func(oldpath, newpath string) error {
			if calls++; calls == k {
				return fmt.Errorf("rename %s: %w", oldpath, syscall.EIO)
			}
			return os.Rename(oldpath, newpath)
		}
		_, err := backup.Restore(ctx, dir, home, backup.RestoreOptions{Force: true, Hooks: backup.RestoreHooks{Rename: rename}})
		if !errors.Is(err, syscall.EIO) || !strings.Contains(err.Error(), "the home is unchanged") {
			t.Fatalf("rename %d failing: %v", k, err)
		}
		testutil.SameTree(t, before, testutil.TreeState(t, filepath.Dir(home.DB)))
	}
}

// died stands for the death of the process: a hook panics, and nothing of Restore runs after
// it except the deferred removals of temporary files.
type died struct{}

// restoreAndDie runs a restore whose hooks panic with died, and reports whether one did.
func restoreAndDie(t *testing.T, dir string, home backup.Home, hooks backup.RestoreHooks) (dead bool) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(died); !ok {
				panic(r)
			}
			dead = true
		}
	}()
	_, err := backup.Restore(context.Background(), dir, home, backup.RestoreOptions{Force: true, Hooks: hooks})
	t.Errorf("restore returned %v", err)
	return false
}

// TestRestoreInterruptedRecovers: a restore whose process dies while it copies, or between any
// two renames of its swap, leaves a journal; the home is refused while half-swapped, and
// Recover (which the next restore or writing command runs) puts it back as it was, byte for
// byte, with no leftover.
func TestRestoreInterruptedRecovers(t *testing.T) {
	_, dir := smallBackup(t)
	home, before := usedHome(t)
	root := filepath.Dir(home.DB)

	// Dead while copying: the home is whole, only the copy must go.
	written := int64(0)
	if !restoreAndDie(t, dir, home, backup.RestoreHooks{Write: func(_ string, w io.Writer) io.Writer {
		return writerFunc(func(p []byte) (int, error) {
			if written += int64(len(p)); written > 5000 {
				panic(died{})
			}
			return w.Write(p)
		})
	}}) {
		t.Fatal("the restore did not die while copying")
	}
	if err := backup.CheckHome(home); err != nil {
		t.Errorf("a home whose restore died while copying is refused: %v", err)
	}
	if msg, err := backup.Recover(home); err != nil || !strings.Contains(msg, "partial copy") {
		t.Errorf("recover after a death while copying: %q, %v", msg, err)
	}
	testutil.SameTree(t, before, testutil.TreeState(t, root))

	// Dead before each rename of the swap.
	for k := 1; k <= swapRenames; k++ {
		calls := 0
		if !restoreAndDie(t, dir, home, backup.RestoreHooks{Rename: func(oldpath, newpath string) error {
			if calls++; calls == k {
				panic(died{})
			}
			return os.Rename(oldpath, newpath)
		}}) {
			t.Fatalf("the restore did not die at rename %d", k)
		}
		if err := backup.CheckHome(home); prevoir.ErrorCode(err) != prevoir.ECONFLICT || !strings.Contains(err.Error(), "interrupted") {
			t.Errorf("died before rename %d: the half-swapped home is not refused: %v", k, err)
		}
		if msg, err := backup.Recover(home); err != nil || !strings.Contains(msg, "put back") {
			t.Errorf("died before rename %d: recover: %q, %v", k, msg, err)
		}
		testutil.SameTree(t, before, testutil.TreeState(t, root))
	}

	// After all that, a restore goes through, and leaves nothing beside the home.
	if _, err := backup.Restore(context.Background(), dir, home, backup.RestoreOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(dirNames(t, root), " "); got != "artifacts prevoir.db" {
		t.Errorf("after a restore the home holds %s", got)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// TestRestoreRefusesLinksAndFIFOs: a backup holding a symbolic link (to a file outside it, with
// the very bytes the manifest expects), a symbolic link to a folder, or a FIFO, in place of a
// file or beside them, is refused with a message naming the file and what it is; the restore
// does not block, and the home is left as it was.
func TestRestoreRefusesLinksAndFIFOs(t *testing.T) {
	for name, tc := range map[string]struct {
		tamper func(t *testing.T, dir string, m *backup.Manifest) string // returns the file named in the error
		what   string
	}{
		"artifact is a link outside": {func(t *testing.T, dir string, m *backup.Manifest) string {
			return linkOutside(t, filepath.Join(dir, backup.ArtifactsName, filepath.FromSlash(m.Artifacts[0].Path)))
		}, "symbolic link"},
		"folder is a link": {func(t *testing.T, dir string, m *backup.Manifest) string {
			return linkOutside(t, filepath.Join(dir, backup.ArtifactsName, strings.Split(m.Artifacts[0].Path, "/")[0]))
		}, "symbolic link"},
		"artifact is a FIFO": {func(t *testing.T, dir string, m *backup.Manifest) string {
			return fifoInstead(t, filepath.Join(dir, backup.ArtifactsName, filepath.FromSlash(m.Artifacts[0].Path)))
		}, "named pipe (FIFO)"},
		"stray FIFO": {func(t *testing.T, dir string, m *backup.Manifest) string {
			file := filepath.Join(dir, backup.ArtifactsName, "fifo")
			mustDo(t, syscall.Mkfifo(file, 0o644))
			return file
		}, "named pipe (FIFO)"},
		"database is a FIFO": {func(t *testing.T, dir string, m *backup.Manifest) string {
			return fifoInstead(t, filepath.Join(dir, backup.DatabaseName))
		}, "named pipe (FIFO)"},
		"manifest is a FIFO": {func(t *testing.T, dir string, m *backup.Manifest) string {
			return fifoInstead(t, filepath.Join(dir, backup.ManifestName))
		}, "named pipe (FIFO)"},
	} {
		t.Run(name, func(t *testing.T) {
			_, dir := smallBackup(t)
			m := readManifest(t, dir)
			file := tc.tamper(t, dir, m)
			home, before := usedHome(t)
			var err error
			done := make(chan error, 1)
			go func() {
				_, err := backup.Restore(context.Background(), dir, home, backup.RestoreOptions{Force: true})
				done <- err
			}()
			select {
			case err = <-done:
			case <-time.After(time.Minute): // a guard against a hang, not a speed check
				t.Fatal("restore blocked")
			}
			if prevoir.ErrorCode(err) != prevoir.EINVALID || !strings.Contains(err.Error(), file) || !strings.Contains(err.Error(), tc.what) {
				t.Errorf("restore: %v; want an error naming %s as %s", err, file, tc.what)
			}
			testutil.SameTree(t, before, testutil.TreeState(t, filepath.Dir(home.DB)))
		})
	}
}

// linkOutside moves file (or folder) out of the backup and puts a symbolic link to it in its
// place, so that the link leads to the very bytes the manifest expects; it returns file.
func linkOutside(t *testing.T, file string) string {
	t.Helper()
	outside := filepath.Join(t.TempDir(), "outside")
	mustRename(t, file, outside)
	mustDo(t, os.Symlink(outside, file))
	return file
}

// fifoInstead replaces file with a FIFO, and returns file.
func fifoInstead(t *testing.T, file string) string {
	t.Helper()
	mustDo(t, os.Remove(file))
	mustDo(t, syscall.Mkfifo(file, 0o644))
	return file
}

func mustDo(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func mustRename(t *testing.T, from, to string) { t.Helper(); mustDo(t, os.Rename(from, to)) }

// writeManifest replaces the manifest of the backup in dir.
func writeManifest(t *testing.T, dir string, m *backup.Manifest) {
	t.Helper()
	b, err := json.Marshal(m)
	mustDo(t, err)
	mustDo(t, os.WriteFile(filepath.Join(dir, backup.ManifestName), b, 0o644))
}

// TestVerifyChecksManifestAgainstDatabase: a backup whose manifest (and folder) lack an artifact
// the database references, or whose artifact differs from the SHA-256 the database records,
// is refused, naming the artifact, though every listed file matches the manifest.
func TestVerifyChecksManifestAgainstDatabase(t *testing.T) {
	ctx := context.Background()
	t.Run("missing", func(t *testing.T) {
		_, dir := smallBackup(t)
		m := readManifest(t, dir)
		gone := m.Artifacts[2]
		m.Artifacts = append(m.Artifacts[:2], m.Artifacts[3:]...)
		mustDo(t, os.Remove(filepath.Join(dir, backup.ArtifactsName, filepath.FromSlash(gone.Path))))
		writeManifest(t, dir, m)
		_, err := backup.Verify(ctx, dir)
		if prevoir.ErrorCode(err) != prevoir.EINVALID || !strings.Contains(err.Error(), "references 1 artifacts the manifest does not list: run_artifacts "+gone.Path) {
			t.Errorf("verify: %v", err)
		}
		if _, err := backup.Restore(ctx, dir, newHome(t), backup.RestoreOptions{}); prevoir.ErrorCode(err) != prevoir.EINVALID {
			t.Errorf("restore: %v", err)
		}
	})
	t.Run("different", func(t *testing.T) {
		_, dir := smallBackup(t)
		m := readManifest(t, dir)
		f := &m.Artifacts[0]
		file := filepath.Join(dir, backup.ArtifactsName, filepath.FromSlash(f.Path))
		mustDo(t, os.WriteFile(file, []byte("other bytes"), 0o644))
		got, err := backup.Verify(ctx, dir) // the manifest no longer matches: refused
		if err == nil {
			t.Fatalf("verify of a changed file: %+v", got)
		}
		// The manifest rewritten to match the new bytes: the database still disagrees.
		sum := sha256.Sum256([]byte("other bytes"))
		f.Size, f.SHA256 = 11, hex.EncodeToString(sum[:])
		writeManifest(t, dir, m)
		_, err = backup.Verify(ctx, dir)
		if prevoir.ErrorCode(err) != prevoir.EINVALID || !strings.Contains(err.Error(), "differ from what the database records: run_artifacts "+f.Path) {
			t.Errorf("verify: %v", err)
		}
	})
}

// TestCheckHomeRefusesEmptyDatabaseBesideArtifacts: a zero-byte database beside artifacts is
// a failed copy, refused with advice; beside no artifacts it is a new home.
func TestCheckHomeRefusesEmptyDatabaseBesideArtifacts(t *testing.T) {
	h := newHome(t)
	mustDo(t, os.WriteFile(h.DB, nil, 0o644))
	if err := backup.CheckHome(h); err != nil {
		t.Errorf("a zero-byte database in an empty home: %v", err)
	}
	mustDo(t, os.MkdirAll(filepath.Join(h.Artifacts, "runs"), 0o755))
	if err := backup.CheckHome(h); err != nil {
		t.Errorf("a zero-byte database beside empty folders: %v", err)
	}
	mustDo(t, os.WriteFile(filepath.Join(h.Artifacts, "runs", "model.bin"), []byte("weights"), 0o644))
	err := backup.CheckHome(h)
	if prevoir.ErrorCode(err) != prevoir.EINVALID || !strings.Contains(err.Error(), "is empty (0 bytes)") || !strings.Contains(err.Error(), "prevoir restore") {
		t.Errorf("a zero-byte database beside artifacts: %v", err)
	}
}

// TestRestoreThroughLinks: a home whose artifact folder is a symbolic link to another folder
// (another disk) is restored there, beside the link's target: the link stays as it was and
// leads to the restored artifacts, and nothing is left beside either.
func TestRestoreThroughLinks(t *testing.T) {
	ctx := context.Background()
	_, dir := smallBackup(t)
	home, _ := usedHome(t)
	elsewhere := filepath.Join(t.TempDir(), "disk", "artifacts")
	mustDo(t, os.MkdirAll(filepath.Dir(elsewhere), 0o755))
	mustRename(t, home.Artifacts, elsewhere)
	mustDo(t, os.Symlink(elsewhere, home.Artifacts))

	if _, err := backup.Restore(ctx, dir, home, backup.RestoreOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
	if target, err := os.Readlink(home.Artifacts); err != nil || target != elsewhere {
		t.Errorf("the artifact folder's link: %q, %v; want it to lead to %s still", target, err, elsewhere)
	}
	m := readManifest(t, dir)
	files := 0
	for _, s := range testutil.TreeState(t, elsewhere) {
		if strings.Contains(s, "sha256") {
			files++
		}
	}
	if files != len(m.Artifacts) {
		t.Errorf("the link's target holds %d files, want the %d restored artifacts", files, len(m.Artifacts))
	}
	for _, d := range []string{filepath.Dir(elsewhere), filepath.Dir(home.DB)} {
		entries, err := os.ReadDir(d)
		mustDo(t, err)
		for _, e := range entries {
			if strings.Contains(e.Name(), ".restore") || strings.Contains(e.Name(), ".old-") {
				t.Errorf("left beside the home: %s", filepath.Join(d, e.Name()))
			}
		}
	}
	_, tr := openHome(t, home)
	runs, err := tr.Runs.ListRuns(ctx, prevoir.RunFilter{})
	mustDo(t, err)
	for _, r := range runs {
		if _, err := tr.ReadArtifact(ctx, r.ID, "model.bin"); err != nil {
			t.Error(err)
		}
	}
	if len(runs) != 2 {
		t.Errorf("%d runs restored, want 2", len(runs))
	}
}
