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
// them all before it writes anything.
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
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/sqlstore"
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
		f, err := copyFile(src, filepath.Join(dst, filepath.FromSlash(key)), "")
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
			return fmt.Errorf("%s: not a regular file", p)
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		return fn(filepath.ToSlash(rel), p)
	})
	return err
}

// Verify reads the manifest of the backup in dir and checks every file it lists against its
// size and SHA-256, and the database's integrity.
func Verify(ctx context.Context, dir string) (*Manifest, error) {
	m, err := ReadManifest(dir)
	if err != nil {
		return nil, err
	}
	check := func(f File, file string) error {
		got, err := describe(file, f.Path)
		if err != nil {
			return fmt.Errorf("verify backup %s: %w", dir, err)
		}
		if got.Size != f.Size || got.SHA256 != f.SHA256 {
			return prevoir.Errorf(prevoir.EINVALID, "verify backup %s: %s: size %d sha256 %s, the manifest says size %d sha256 %s",
				dir, file, got.Size, got.SHA256, f.Size, f.SHA256)
		}
		return nil
	}
	if err := check(m.Database, filepath.Join(dir, DatabaseName)); err != nil {
		return nil, err
	}
	for _, f := range m.Artifacts {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		file, err := artifactFile(dir, f.Path)
		if err != nil {
			return nil, err
		}
		if err := check(f, file); err != nil {
			return nil, err
		}
	}
	if _, err := checkDB(ctx, filepath.Join(dir, DatabaseName)); err != nil {
		return nil, fmt.Errorf("verify backup %s: database: %w", dir, err)
	}
	return m, nil
}

// ReadManifest reads and checks the form of the manifest of the backup in dir.
func ReadManifest(dir string) (*Manifest, error) {
	b, err := os.ReadFile(filepath.Join(dir, ManifestName))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, prevoir.Errorf(prevoir.EINVALID, "%s is not a complete backup: no %s", dir, ManifestName)
	}
	if err != nil {
		return nil, fmt.Errorf("read backup manifest: %w", err)
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, prevoir.Errorf(prevoir.EINVALID, "backup manifest %s: %v", filepath.Join(dir, ManifestName), err)
	}
	if m.Format != FormatVersion {
		return nil, prevoir.Errorf(prevoir.EINVALID, "backup %s has format %d; this prevoir reads format %d", dir, m.Format, FormatVersion)
	}
	if m.Database.Path != DatabaseName {
		return nil, prevoir.Errorf(prevoir.EINVALID, "backup manifest %s: database path %q, want %q", dir, m.Database.Path, DatabaseName)
	}
	return &m, nil
}

// artifactFile returns the file of an artifact key inside a backup, refusing keys that would
// leave its artifact folder.
func artifactFile(dir, key string) (string, error) {
	if key == "" || !fs.ValidPath(key) || path.Clean(key) != key {
		return "", prevoir.Errorf(prevoir.EINVALID, "backup manifest %s: artifact path %q is not a clean relative path", dir, key)
	}
	return filepath.Join(dir, ArtifactsName, filepath.FromSlash(key)), nil
}

// RestoreOptions tune Restore.
type RestoreOptions struct {
	// Force replaces an existing database and artifact folder; without it, Restore refuses a
	// home that holds either.
	Force bool
}

// Restore verifies the backup in dir and restores it into home. The home must be empty (no
// database file, an empty or missing artifact folder) unless opts.Force; prevoir must not be
// running on it. The artifacts are restored first and the database last, each file checked
// against the manifest as it is written, and the database put in place by a rename, so an
// interrupted restore never leaves a database whose artifacts are missing.
func Restore(ctx context.Context, dir string, home Home, opts RestoreOptions) (*Manifest, error) {
	m, err := Verify(ctx, dir)
	if err != nil {
		return nil, err
	}
	if latest := sqlstore.SchemaVersion(); m.SchemaVersion > latest {
		return nil, prevoir.Errorf(prevoir.ECONFLICT, "restore: the backup's schema version %d is newer than this binary's %d: use a newer prevoir", m.SchemaVersion, latest)
	}
	if err := prepareHome(home, opts.Force); err != nil {
		return nil, fmt.Errorf("restore: %w", err)
	}
	for _, f := range m.Artifacts {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		src, err := artifactFile(dir, f.Path)
		if err != nil {
			return nil, err
		}
		if _, err := copyFile(src, filepath.Join(home.Artifacts, filepath.FromSlash(f.Path)), f.SHA256); err != nil {
			return nil, fmt.Errorf("restore: artifact %s: %w", f.Path, err)
		}
	}
	if err := os.MkdirAll(filepath.Dir(home.DB), 0o755); err != nil {
		return nil, fmt.Errorf("restore: %w", err)
	}
	tmp := home.DB + ".restore.tmp"
	if _, err := copyFile(filepath.Join(dir, DatabaseName), tmp, m.Database.SHA256); err != nil {
		os.Remove(tmp)
		return nil, fmt.Errorf("restore: database: %w", err)
	}
	if err := os.Rename(tmp, home.DB); err != nil {
		os.Remove(tmp)
		return nil, fmt.Errorf("restore: database: %w", err)
	}
	if err := syncDir(filepath.Dir(home.DB)); err != nil {
		return nil, fmt.Errorf("restore: database: %w", err)
	}
	return m, nil
}

// prepareHome checks that home is empty, or with force empties it.
func prepareHome(home Home, force bool) error {
	// SQLite's -wal and -shm files belong to the database they sit beside: a stale WAL
	// replayed onto the restored file would corrupt it.
	dbFiles := []string{home.DB, home.DB + "-wal", home.DB + "-shm", home.DB + "-journal"}
	for _, f := range dbFiles {
		_, err := os.Stat(f)
		switch {
		case err == nil && !force:
			return prevoir.Errorf(prevoir.ECONFLICT, "%s exists: restore into an empty home, or pass --force to replace it", f)
		case err == nil:
			if err := os.Remove(f); err != nil {
				return err
			}
		case !errors.Is(err, fs.ErrNotExist):
			return err
		}
	}
	entries, err := os.ReadDir(home.Artifacts)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return os.MkdirAll(home.Artifacts, 0o755)
	case err != nil:
		return err
	case len(entries) > 0 && !force:
		return prevoir.Errorf(prevoir.ECONFLICT, "artifact folder %s is not empty: restore into an empty home, or pass --force to replace it", home.Artifacts)
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(home.Artifacts, e.Name())); err != nil {
			return err
		}
	}
	return nil
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
	f, err := os.Open(file)
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
// an error and is not put in place.
func copyFile(src, dst, wantSHA256 string) (File, error) {
	in, err := os.Open(src)
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
	n, err := io.Copy(io.MultiWriter(tmp, h), in)
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
