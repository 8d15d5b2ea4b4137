// Package backup copies a one-machine prevoir home (a SQLite database and a local artifact
// folder) to a backup directory while prevoir runs, and restores such a copy into a home.
//
// A backup is consistent without stopping anything: the database is copied with SQLite's
// VACUUM INTO, which writes a transactionally consistent snapshot while writers go on, and the
// artifact folder is copied after it. Artifacts are immutable and written before the rows that
// reference them, so every artifact the database snapshot references was on disk before the
// snapshot was taken and is in the copy (the copy may hold a few more, from writes after the
// snapshot; they are harmless). A manifest (manifest.json, written last: a directory without
// one is an incomplete backup) lists every file with its size and SHA-256, and restore checks
// them all, and that the manifest lists every artifact the database references, before it
// writes anything.
//
// Restore never writes into the home it replaces: it copies the backup beside it, verifies the
// copy, and swaps the two by renames, recording each step in a journal so that an interrupted
// restore is undone (or finished) by Recover; see Restore.
//
// A team deployment (PostgreSQL and an object store) is backed up with those services' own
// tools (pg_dump, bucket versioning or replication); this package refuses their URLs.
package backup

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver

	"github.com/prevoir/prevoir"
)

// Names inside a backup directory.
const (
	ManifestName  = "manifest.json"
	DatabaseName  = "prevoir.db"
	ArtifactsName = "artifacts"
)

// FormatVersion is the version of the backup layout this package writes and reads.
const FormatVersion = 1

// Manifest describes a backup: what it holds and how to check it.
type Manifest struct {
	Format    int       `json:"format"`
	CreatedAt time.Time `json:"created_at"`
	// Prevoir is the version of the binary that made the backup.
	Prevoir string `json:"prevoir,omitempty"`
	// SchemaVersion is the database's schema version; a binary whose schema is older cannot
	// restore it.
	SchemaVersion int `json:"schema_version"`
	// Source database and artifact folder, for information.
	SourceDB        string `json:"source_db"`
	SourceArtifacts string `json:"source_artifacts"`
	// Database is the SQLite file, DatabaseName in the backup.
	Database File `json:"database"`
	// Artifacts are the artifact folder's files, by key (the path under ArtifactsName), sorted.
	Artifacts []File `json:"artifacts"`
}

// File is one file of a backup.
type File struct {
	Path   string `json:"path"` // slash-separated, relative to its folder
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Home is where a one-machine prevoir keeps its state.
type Home struct {
	// DB is the SQLite database file.
	DB string
	// Artifacts is the local artifact folder.
	Artifacts string
}

// ParseHome resolves prevoir's --db and --artifacts settings into a Home, refusing a
// PostgreSQL database or a remote artifact store: those are backed up with their own tools.
func ParseHome(dbURL, artifactsURL string) (Home, error) {
	var h Home
	switch {
	case strings.HasPrefix(dbURL, "postgres://"), strings.HasPrefix(dbURL, "postgresql://"):
		return h, prevoir.Errorf(prevoir.EINVALID, "database %s is PostgreSQL: back it up with pg_dump (prevoir backup handles the SQLite + local folder mode)", prevoir.RedactURL(dbURL))
	case strings.Contains(dbURL, "://") && !strings.HasPrefix(dbURL, "sqlite://"):
		return h, prevoir.Errorf(prevoir.EINVALID, "database URL %q: want sqlite:PATH", prevoir.RedactURL(dbURL))
	}
	h.DB = strings.TrimPrefix(strings.TrimPrefix(dbURL, "sqlite://"), "sqlite:")
	if h.DB == "" {
		return h, prevoir.Errorf(prevoir.EINVALID, "database URL %q: empty SQLite path", dbURL)
	}
	h.Artifacts = artifactsURL
	if strings.Contains(artifactsURL, "://") {
		u, err := url.Parse(artifactsURL)
		if err != nil || u.Scheme != "file" {
			return h, prevoir.Errorf(prevoir.EINVALID, "artifact store %s is not a local folder: back it up with the object store's own tools (versioning, replication)", prevoir.RedactURL(artifactsURL))
		}
		h.Artifacts = filepath.FromSlash(u.Path)
	}
	if h.Artifacts == "" {
		return h, prevoir.Errorf(prevoir.EINVALID, "artifact store %q: empty path", artifactsURL)
	}
	return h, nil
}

// Options tune Create.
type Options struct {
	// Prevoir is the binary's version, recorded in the manifest.
	Prevoir string
	// Now returns the current time (time.Now when nil).
	Now func() time.Time
}

// Create backs up home into dir, which must not exist or be empty, and returns the manifest
// it wrote there. The home's database and artifact folder may be in use.
func Create(ctx context.Context, home Home, dir string, opts Options) (*Manifest, error) {
	if _, err := os.Stat(home.DB); err != nil {
		return nil, fmt.Errorf("backup: database %s: %w", home.DB, err)
	}
	if err := ensureEmptyDir(dir); err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	m := &Manifest{Format: FormatVersion, CreatedAt: now().UTC(), Prevoir: opts.Prevoir,
		SourceDB: home.DB, SourceArtifacts: home.Artifacts, Artifacts: []File{}}

	// 1. The database, as one consistent snapshot.
	dbCopy := filepath.Join(dir, DatabaseName)
	if err := snapshotDB(ctx, home.DB, dbCopy); err != nil {
		return nil, err
	}
	v, err := checkDB(ctx, dbCopy)
	if err != nil {
		return nil, fmt.Errorf("backup: the copy of %s: %w", home.DB, err)
	}
	m.SchemaVersion = v
	if m.Database, err = describe(dbCopy, DatabaseName); err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}

	// 2. The artifacts, after the snapshot: every artifact it references is already written.
	dst := filepath.Join(dir, ArtifactsName)
	err = walkArtifacts(home.Artifacts, func(key, src string) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		f, err := copyFile(src, filepath.Join(dst, filepath.FromSlash(key)), "", nil)
		if err != nil {
			return err
		}
		f.Path = key
		m.Artifacts = append(m.Artifacts, f)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("backup: artifacts: %w", err)
	}
	slices.SortFunc(m.Artifacts, func(a, b File) int { return strings.Compare(a.Path, b.Path) })

	// 3. The manifest, last: its presence marks a complete backup.
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("backup: manifest: %w", err)
	}
	if err := writeFileSync(filepath.Join(dir, ManifestName), append(b, '\n')); err != nil {
		return nil, fmt.Errorf("backup: manifest: %w", err)
	}
	return m, nil
}

// snapshotDB writes a consistent copy of the SQLite database at src to dst with VACUUM INTO,
// through a connection of its own: concurrent writers are not stopped, and the source's schema
// is left as it is (no migration).
func snapshotDB(ctx context.Context, src, dst string) error {
	db, err := sql.Open("sqlite", "file:"+src+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return fmt.Errorf("backup: open %s: %w", src, err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "VACUUM INTO ?", dst); err != nil {
		return fmt.Errorf("backup: snapshot %s: %w", src, err)
	}
	return syncFile(dst)
}

// checkDB runs SQLite's integrity check on a database file that no one else uses, and returns
// its prevoir schema version.
func checkDB(ctx context.Context, file string) (int, error) {
	db, err := sql.Open("sqlite", "file:"+file+"?mode=ro")
	if err != nil {
		return 0, err
	}
	defer db.Close()
	var res string
	if err := db.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&res); err != nil {
		return 0, fmt.Errorf("integrity check: %w", err)
	}
	if res != "ok" {
		return 0, prevoir.Errorf(prevoir.EINVALID, "integrity check failed: %s", res)
	}
	var v int
	if err := db.QueryRowContext(ctx, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations").Scan(&v); err != nil {
		return 0, fmt.Errorf("schema version: %w", err)
	}
	return v, nil
}

// walkArtifacts calls fn for every file of an artifact folder with its key, skipping the
// temporary files of writes in progress. A missing folder has no artifacts.
func walkArtifacts(root string, fn func(key, file string) error) error {
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && p == root {
				return fs.SkipAll
			}
			return err
		}
		if d.IsDir() || strings.HasSuffix(d.Name(), ".tmp") {
			return nil
		}
		if !d.Type().IsRegular() {
			return notRegular(p, d.Type())
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		return fn(filepath.ToSlash(rel), p)
	})
	return err
}

// ensureEmptyDir creates dir, or checks that it is an empty directory.
func ensureEmptyDir(dir string) error {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return os.MkdirAll(dir, 0o755)
	case err != nil:
		return err
	case len(entries) > 0:
		return prevoir.Errorf(prevoir.ECONFLICT, "%s is not empty: back up into a new directory", dir)
	}
	return nil
}

// describe returns a file's size and SHA-256, under the name key.
func describe(file, key string) (File, error) {
	f, err := openRegular(file)
	if err != nil {
		return File{}, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return File{}, fmt.Errorf("read %s: %w", file, err)
	}
	return File{Path: key, Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

// copyFile copies src to dst (creating its directory) through a temporary file renamed into
// place, and returns its size and SHA-256. When wantSHA256 is set, a copy with another hash is
// an error and is not put in place. wrap, when set, wraps the writer of the copy.
func copyFile(src, dst, wantSHA256 string, wrap func(dst string, w io.Writer) io.Writer) (File, error) {
	in, err := openRegular(src)
	if err != nil {
		return File{}, err
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return File{}, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".*.tmp")
	if err != nil {
		return File{}, err
	}
	defer os.Remove(tmp.Name()) // after a successful rename, there is nothing left to remove
	h := sha256.New()
	var w io.Writer = tmp
	if wrap != nil {
		w = wrap(dst, w)
	}
	n, err := io.Copy(io.MultiWriter(w, h), in)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return File{}, fmt.Errorf("copy %s: %w", src, err)
	}
	got := hex.EncodeToString(h.Sum(nil))
	if wantSHA256 != "" && got != wantSHA256 {
		return File{}, prevoir.Errorf(prevoir.EINVALID, "copy %s: sha256 %s, want %s", src, got, wantSHA256)
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return File{}, err
	}
	return File{Size: n, SHA256: got}, nil
}

// openRegular opens a file for reading only if it is a regular file: a backup may come from
// anywhere, and a symbolic link would read a file outside it, a FIFO would block forever, a
// device would never end. The type is checked before opening (so a FIFO is never opened) and
// again on the opened file (in case it was swapped between the two).
func openRegular(file string) (*os.File, error) {
	info, err := os.Lstat(file)
	if err != nil {
		return nil, err
	}
	if !info.Mode().IsRegular() {
		return nil, notRegular(file, info.Mode())
	}
	f, err := os.OpenFile(file, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	if info, err = f.Stat(); err != nil || !info.Mode().IsRegular() {
		f.Close()
		if err == nil {
			err = notRegular(file, info.Mode())
		}
		return nil, err
	}
	return f, nil
}

// notRegular is the error for a file that is not a regular file, saying what it is.
func notRegular(file string, mode fs.FileMode) error {
	var what string
	switch {
	case mode&fs.ModeSymlink != 0:
		what = "a symbolic link, "
	case mode&fs.ModeNamedPipe != 0:
		what = "a named pipe (FIFO), "
	case mode&fs.ModeSocket != 0:
		what = "a socket, "
	case mode&fs.ModeDevice != 0:
		what = "a device, "
	case mode.IsDir():
		what = "a directory, "
	}
	return prevoir.Errorf(prevoir.EINVALID, "%s is %snot a regular file", file, what)
}

// writeFileSync writes a file through a temporary file, synced and renamed into place.
func writeFileSync(file string, b []byte) error {
	tmp := file + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, file)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	return syncDir(filepath.Dir(file))
}

func syncFile(file string) error {
	f, err := os.OpenFile(file, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}
