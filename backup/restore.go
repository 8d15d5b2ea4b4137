package backup

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/sqlstore"
)

// Verify reads the manifest of the backup in dir and checks the backup against it: every file
// is a regular file of the listed size and SHA-256, the artifact folder holds nothing else, the
// database passes SQLite's integrity check at the listed schema version, and every artifact the
// database references is listed.
func Verify(ctx context.Context, dir string) (*Manifest, error) {
	m, err := ReadManifest(dir)
	if err != nil {
		return nil, err
	}
	dbFile := filepath.Join(dir, DatabaseName)
	if err := verifyFiles(ctx, dbFile, filepath.Join(dir, ArtifactsName), m); err != nil {
		return nil, fmt.Errorf("verify backup %s: %w", dir, err)
	}
	if err := verifyDatabase(ctx, dbFile, m); err != nil {
		return nil, fmt.Errorf("verify backup %s: %w", dir, err)
	}
	return m, nil
}

// verifyFiles checks a database file and an artifact folder, a backup's or a restore's staged
// copy, against the manifest m: the folder holds only regular files the manifest lists, and
// every listed file has the listed size and SHA-256.
func verifyFiles(ctx context.Context, dbFile, artifacts string, m *Manifest) error {
	check := func(f File, file string) error {
		got, err := describe(file, f.Path)
		if err != nil {
			return err
		}
		if got.Size != f.Size || got.SHA256 != f.SHA256 {
			return prevoir.Errorf(prevoir.EINVALID, "%s: size %d sha256 %s, the manifest says size %d sha256 %s",
				file, got.Size, got.SHA256, f.Size, f.SHA256)
		}
		return nil
	}
	listed := m.artifactsByPath()
	// The folder first, before any file is read: walkArtifacts refuses what is not a regular
	// file or a folder (a symbolic link, which could lead outside, a FIFO), and a file the
	// manifest does not list was not made by prevoir backup.
	err := walkArtifacts(artifacts, func(key, file string) error {
		if _, ok := listed[key]; !ok {
			return prevoir.Errorf(prevoir.EINVALID, "%s is not listed in the manifest", file)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := check(m.Database, dbFile); err != nil {
		return err
	}
	for _, f := range m.Artifacts {
		if err := ctx.Err(); err != nil {
			return err
		}
		file, err := artifactFile(artifacts, f.Path)
		if err != nil {
			return err
		}
		if err := check(f, file); err != nil {
			return err
		}
	}
	return nil
}

// verifyDatabase checks the database file of a backup whose files match its manifest m: it
// passes SQLite's integrity check, has the listed schema version, and references only listed
// artifacts. The checks depend on the file's bytes alone, so a copy that verifyFiles finds
// identical to a verified backup's need not be checked again.
func verifyDatabase(ctx context.Context, dbFile string, m *Manifest) error {
	v, err := checkDB(ctx, dbFile)
	if err != nil {
		return fmt.Errorf("database: %w", err)
	}
	if v != m.SchemaVersion {
		return prevoir.Errorf(prevoir.EINVALID, "database: schema version %d, the manifest says %d", v, m.SchemaVersion)
	}
	return checkReferences(ctx, dbFile, m.artifactsByPath())
}

// artifactsByPath returns the manifest's artifacts by path.
func (m *Manifest) artifactsByPath() map[string]File {
	listed := make(map[string]File, len(m.Artifacts))
	for _, f := range m.Artifacts {
		listed[f.Path] = f
	}
	return listed
}

// checkReferences checks that the manifest, whose artifacts listed holds by path, lists every
// artifact the database references, with the SHA-256 the database records: a backup whose
// database points at missing artifacts would restore a home whose snapshots or models cannot
// be read.
func checkReferences(ctx context.Context, dbFile string, listed map[string]File) error {
	db, err := sql.Open("sqlite", "file:"+dbFile+"?mode=ro")
	if err != nil {
		return err
	}
	defer db.Close()
	// Every table that records an artifact, found by its blob_key column, as the sweep finds them.
	tables, err := sqlstore.BlobKeyTables(ctx, db, sqlstore.SQLite)
	if err != nil {
		return fmt.Errorf("database: %w", err)
	}
	var missing, differ []string
	for _, t := range tables {
		q := `SELECT blob_key, '' FROM "` + t.Name + `"`
		if t.HasSHA256 {
			q = `SELECT blob_key, sha256 FROM "` + t.Name + `"`
		}
		rows, err := db.QueryContext(ctx, q)
		if err != nil {
			return fmt.Errorf("database: %s: %w", t.Name, err)
		}
		for rows.Next() {
			var key, sum string
			if err := rows.Scan(&key, &sum); err != nil {
				rows.Close()
				return fmt.Errorf("database: %s: %w", t.Name, err)
			}
			f, ok := listed[key]
			switch {
			case !ok:
				missing = append(missing, t.Name+" "+key)
			case sum != "" && sum != f.SHA256:
				differ = append(differ, fmt.Sprintf("%s %s (sha256 %s in the database, %s in the manifest)", t.Name, key, sum, f.SHA256))
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("database: %s: %w", t.Name, err)
		}
	}
	if len(missing) > 0 {
		return prevoir.Errorf(prevoir.EINVALID, "the database references %d artifacts the manifest does not list: %s", len(missing), firstFew(missing))
	}
	if len(differ) > 0 {
		return prevoir.Errorf(prevoir.EINVALID, "%d artifacts differ from what the database records: %s", len(differ), firstFew(differ))
	}
	return nil
}

// firstFew joins the first five items of a list for a message.
func firstFew(items []string) string {
	if len(items) <= 5 {
		return strings.Join(items, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(items[:5], ", "), len(items)-5)
}

// ReadManifest reads and checks the form of the manifest of the backup in dir.
func ReadManifest(dir string) (*Manifest, error) {
	file := filepath.Join(dir, ManifestName)
	f, err := openRegular(file)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, prevoir.Errorf(prevoir.EINVALID, "%s is not a complete backup: no %s", dir, ManifestName)
	}
	if err != nil {
		return nil, fmt.Errorf("read backup manifest: %w", err)
	}
	b, err := io.ReadAll(f)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("read backup manifest: %w", err)
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, prevoir.Errorf(prevoir.EINVALID, "backup manifest %s: %v", file, err)
	}
	if m.Format != FormatVersion {
		return nil, prevoir.Errorf(prevoir.EINVALID, "backup %s has format %d; this prevoir reads format %d", dir, m.Format, FormatVersion)
	}
	if m.Database.Path != DatabaseName {
		return nil, prevoir.Errorf(prevoir.EINVALID, "backup manifest %s: database path %q, want %q", dir, m.Database.Path, DatabaseName)
	}
	return &m, nil
}

// artifactFile returns the file of an artifact key inside an artifact folder, refusing keys
// that would leave it.
func artifactFile(artifacts, key string) (string, error) {
	if key == "" || !fs.ValidPath(key) || path.Clean(key) != key {
		return "", prevoir.Errorf(prevoir.EINVALID, "backup manifest: artifact path %q is not a clean relative path", key)
	}
	return filepath.Join(artifacts, filepath.FromSlash(key)), nil
}

// RestoreOptions tune Restore.
type RestoreOptions struct {
	// Force replaces an existing database and artifact folder; without it, Restore refuses a
	// home that holds either.
	Force bool
	// Hooks let tests make a restore fail where a real one can.
	Hooks RestoreHooks
}

// RestoreHooks are the places where a test can make a restore fail; nil fields do nothing.
type RestoreHooks struct {
	// Write wraps the writer of every file the restore copies (dst is the file's staged path):
	// a writer that fails stands for a full disk.
	Write func(dst string, w io.Writer) io.Writer
	// Staged is called once the copy is staged, before it is verified, with its paths.
	Staged func(staged Home) error
	// Rename replaces os.Rename for the swap and its undoing.
	Rename func(oldpath, newpath string) error
}

// Restore verifies the backup in dir and restores it into home. The home must be empty (no
// database file, an empty or missing artifact folder) unless opts.Force; prevoir must not be
// running on it.
//
// The old home is never written to until the new one is complete: the backup is copied beside
// it (DB.restore-ID/ and ARTIFACTS.restore-ID, in the same folders, so that renames are
// atomic), the copy is checked against the manifest (sizes and SHA-256: the backup's database,
// whose bytes it then holds, passed the integrity and reference checks), then the old database
// (with its -wal and -shm files) and artifact folder are renamed aside (DB.old-ID,
// ARTIFACTS.old-ID), the new ones renamed into place, and the old ones removed. A failure
// before that last step puts the old home back and removes the copy. The database and the
// artifact folder are renamed one by one, never the folder that holds them, which may be a
// mount point or carry its own permissions; symbolic links to them are resolved first, so that
// the copy is made beside their targets, on the same file system, and the links kept. A journal
// beside the database (DB.restore.json) records each step, so that if the process dies, Recover
// (which the next restore and the next prevoir command that writes run) undoes an unfinished
// swap or removes what a finished one left.
func Restore(ctx context.Context, dir string, home Home, opts RestoreOptions) (*Manifest, error) {
	home, err := home.resolve()
	if err != nil {
		return nil, fmt.Errorf("restore: %w", err)
	}
	if _, err := Recover(home); err != nil {
		return nil, fmt.Errorf("restore: %w", err)
	}
	m, err := Verify(ctx, dir)
	if err != nil {
		return nil, err
	}
	if latest := sqlstore.SchemaVersion(); m.SchemaVersion > latest {
		return nil, prevoir.Errorf(prevoir.ECONFLICT, "restore: the backup's schema version %d is newer than this binary's %d: use a newer prevoir", m.SchemaVersion, latest)
	}
	if err := checkEmpty(home, opts.Force); err != nil {
		return nil, fmt.Errorf("restore: %w", err)
	}
	rename := opts.Hooks.Rename
	if rename == nil {
		rename = os.Rename
	}
	j, err := beginRestore(home)
	if err != nil {
		return nil, fmt.Errorf("restore: %w", err)
	}
	if err := j.stage(ctx, dir, m, opts.Hooks); err != nil {
		if cerr := j.discard(); cerr != nil {
			return nil, fmt.Errorf("restore: %w (and removing the partial copy: %v)", err, cerr)
		}
		return nil, fmt.Errorf("restore: %w; the home is unchanged", err)
	}
	if err := j.swap(rename); err != nil {
		if rerr := j.rollBack(rename); rerr != nil {
			return nil, fmt.Errorf("restore: %w; putting the old home back failed too (%v): the journal %s records where each file is, and the next prevoir command that writes puts it back", err, rerr, j.file)
		}
		return nil, fmt.Errorf("restore: %w; the home is unchanged", err)
	}
	// The new home is in place: what remains is the old one's removal, which Recover finishes
	// if it is interrupted.
	if err := j.finish(); err != nil {
		return m, fmt.Errorf("restore: the backup is restored, but %w", err)
	}
	return m, nil
}

// resolve returns the home with absolute paths free of symbolic links: the journal must name
// the same files whatever the working directory of the process that reads it, and a database
// or artifact folder that is a link to another disk is replaced there, beside its target, with
// the link left as it is.
func (h Home) resolve() (Home, error) {
	var err error
	if h.DB, err = realPath(h.DB); err != nil {
		return h, err
	}
	if h.Artifacts, err = realPath(h.Artifacts); err != nil {
		return h, err
	}
	return h, nil
}

// realPath returns the absolute path of file with every symbolic link resolved, for as much
// of it as exists.
func realPath(file string) (string, error) {
	abs, err := filepath.Abs(file)
	if err != nil {
		return "", err
	}
	p, err := filepath.EvalSymlinks(abs)
	switch {
	case err == nil:
		return p, nil
	case !errors.Is(err, fs.ErrNotExist) || filepath.Dir(abs) == abs:
		return "", err
	}
	dir, err := realPath(filepath.Dir(abs))
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, filepath.Base(abs)), nil
}

// sqliteSideFiles are the suffixes of the files SQLite keeps beside a database: they belong to
// it, and a stale WAL replayed onto another database would corrupt it.
func sqliteSideFiles() []string { return []string{"-wal", "-shm", "-journal"} }

// checkEmpty refuses a home that holds a database or artifacts, unless force.
func checkEmpty(home Home, force bool) error {
	if force {
		return nil
	}
	for _, side := range append([]string{""}, sqliteSideFiles()...) {
		if _, err := os.Lstat(home.DB + side); err == nil {
			return prevoir.Errorf(prevoir.ECONFLICT, "%s exists: restore into an empty home, or pass --force to replace it", home.DB+side)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	entries, err := os.ReadDir(home.Artifacts)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return err
	case len(entries) > 0:
		return prevoir.Errorf(prevoir.ECONFLICT, "artifact folder %s is not empty: restore into an empty home, or pass --force to replace it", home.Artifacts)
	}
	return nil
}

// Journal states, in order.
const (
	stateStaging   = "staging"   // the copy is being made: the home is untouched
	stateSwapping  = "swapping"  // the copy is verified and being renamed into place
	stateCommitted = "committed" // the new home is in place; the old one is being removed
)

// journal records a restore in progress, in a file beside the database.
type journal struct {
	file string

	State string `json:"state"`
	// The home's database and artifact folder, absolute.
	DB        string `json:"db"`
	Artifacts string `json:"artifacts"`
	// ID names the staged copy and the old home's files.
	ID string `json:"id"`
	// What the home held before the restore.
	HadDB        bool `json:"had_db"`
	HadArtifacts bool `json:"had_artifacts"`
}

func journalFile(db string) string { return db + ".restore.json" }

// stagedDir holds the new database until it is renamed into place.
func (j *journal) stagedDir() string { return j.DB + ".restore-" + j.ID }

// staged is where the new home is copied.
func (j *journal) staged() Home {
	return Home{DB: filepath.Join(j.stagedDir(), filepath.Base(j.DB)), Artifacts: j.Artifacts + ".restore-" + j.ID}
}

// old is where the old home is moved during the swap.
func (j *journal) old() Home {
	return Home{DB: j.DB + ".old-" + j.ID, Artifacts: j.Artifacts + ".old-" + j.ID}
}

func (j *journal) save(state string) error {
	j.State = state
	b, err := json.MarshalIndent(j, "", "  ")
	if err != nil {
		return err
	}
	if err := writeFileSync(j.file, append(b, '\n')); err != nil {
		return fmt.Errorf("restore journal %s: %w", j.file, err)
	}
	return nil
}

// beginRestore starts the journal of a restore into home.
func beginRestore(home Home) (*journal, error) {
	id := make([]byte, 6)
	if _, err := rand.Read(id); err != nil {
		return nil, err
	}
	j := &journal{file: journalFile(home.DB), DB: home.DB, Artifacts: home.Artifacts, ID: hex.EncodeToString(id)}
	var err error
	if j.HadDB, err = exists(home.DB); err != nil {
		return nil, err
	}
	if j.HadArtifacts, err = exists(home.Artifacts); err != nil {
		return nil, err
	}
	for _, d := range []string{filepath.Dir(home.DB), filepath.Dir(home.Artifacts)} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	return j, j.save(stateStaging)
}

// stage copies the backup in dir beside the home and verifies the copy.
func (j *journal) stage(ctx context.Context, dir string, m *Manifest, hooks RestoreHooks) error {
	st := j.staged()
	if err := os.Mkdir(j.stagedDir(), 0o755); err != nil {
		return err
	}
	if err := os.Mkdir(st.Artifacts, 0o755); err != nil {
		return err
	}
	if j.HadArtifacts {
		// The new folder takes the old one's permissions.
		if info, err := os.Stat(j.Artifacts); err == nil {
			if err := os.Chmod(st.Artifacts, info.Mode().Perm()); err != nil {
				return err
			}
		}
	}
	dirs := map[string]bool{j.stagedDir(): true}
	for _, f := range m.Artifacts {
		if err := ctx.Err(); err != nil {
			return err
		}
		src, err := artifactFile(filepath.Join(dir, ArtifactsName), f.Path)
		if err != nil {
			return err
		}
		dst, err := artifactFile(st.Artifacts, f.Path)
		if err != nil {
			return err
		}
		if _, err := copyFile(src, dst, f.SHA256, hooks.Write); err != nil {
			return fmt.Errorf("artifact %s: %w", f.Path, err)
		}
		for d := filepath.Dir(dst); !dirs[d] && d != filepath.Dir(st.Artifacts); d = filepath.Dir(d) {
			dirs[d] = true
		}
	}
	if _, err := copyFile(filepath.Join(dir, DatabaseName), st.DB, m.Database.SHA256, hooks.Write); err != nil {
		return fmt.Errorf("database: %w", err)
	}
	for d := range dirs {
		if err := syncDir(d); err != nil {
			return err
		}
	}
	if hooks.Staged != nil {
		if err := hooks.Staged(st); err != nil {
			return err
		}
	}
	if err := verifyFiles(ctx, st.DB, st.Artifacts, m); err != nil {
		return fmt.Errorf("the restored copy does not verify: %w", err)
	}
	return nil
}

// discard removes the staged copy of a restore that did not swap, and its journal.
func (j *journal) discard() error {
	st := j.staged()
	if err := os.RemoveAll(st.Artifacts); err != nil {
		return err
	}
	if err := os.RemoveAll(j.stagedDir()); err != nil {
		return err
	}
	return j.remove()
}

// remove removes the journal: the restore is over.
func (j *journal) remove() error {
	if err := os.Remove(j.file); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return syncDir(filepath.Dir(j.file))
}

// swap moves the old home aside and the staged copy into place.
func (j *journal) swap(rename func(oldpath, newpath string) error) error {
	if err := j.save(stateSwapping); err != nil {
		return err
	}
	st, old := j.staged(), j.old()
	for _, side := range append(sqliteSideFiles(), "") {
		if err := renameIfExists(rename, j.DB+side, old.DB+side); err != nil {
			return fmt.Errorf("move the old database aside: %w", err)
		}
	}
	if j.HadArtifacts {
		if err := rename(j.Artifacts, old.Artifacts); err != nil {
			return fmt.Errorf("move the old artifact folder aside: %w", err)
		}
	}
	if err := rename(st.Artifacts, j.Artifacts); err != nil {
		return fmt.Errorf("put the restored artifact folder in place: %w", err)
	}
	if err := rename(st.DB, j.DB); err != nil {
		return fmt.Errorf("put the restored database in place: %w", err)
	}
	return j.syncHome()
}

// syncHome makes the renames in the home's folders durable.
func (j *journal) syncHome() error {
	if err := syncDir(filepath.Dir(j.DB)); err != nil {
		return err
	}
	return syncDir(filepath.Dir(j.Artifacts))
}

// rollBack undoes a swap, wherever it stopped: every file the swap moved is moved back, the
// copy is removed, then the journal. It may run again after it was itself interrupted.
func (j *journal) rollBack(rename func(oldpath, newpath string) error) error {
	st, old := j.staged(), j.old()
	// undo puts the old file of target back, moving the new one, if in place, to staged.
	undo := func(target, oldFile, staged string, had bool) error {
		hasOld, err := exists(oldFile)
		if err != nil {
			return err
		}
		hasStaged, err := exists(staged)
		if err != nil {
			return err
		}
		hasTarget, err := exists(target)
		if err != nil {
			return err
		}
		// The target is the new file when the old one was moved aside, or when there was none
		// and the staged one has gone.
		if hasTarget && (hasOld || (!had && !hasStaged)) {
			if err := rename(target, staged); err != nil {
				return err
			}
		}
		if hasOld {
			return rename(oldFile, target)
		}
		return nil
	}
	if err := os.MkdirAll(j.stagedDir(), 0o755); err != nil {
		return err
	}
	if err := undo(j.DB, old.DB, st.DB, j.HadDB); err != nil {
		return fmt.Errorf("put the old database back: %w", err)
	}
	for _, side := range sqliteSideFiles() {
		if err := renameIfExists(rename, old.DB+side, j.DB+side); err != nil {
			return fmt.Errorf("put the old database back: %w", err)
		}
	}
	if err := undo(j.Artifacts, old.Artifacts, st.Artifacts, j.HadArtifacts); err != nil {
		return fmt.Errorf("put the old artifact folder back: %w", err)
	}
	if err := j.syncHome(); err != nil {
		return err
	}
	return j.discard()
}

// finish commits a swap and removes the old home.
func (j *journal) finish() error {
	if err := j.save(stateCommitted); err != nil {
		return err
	}
	old := j.old()
	for _, side := range append(sqliteSideFiles(), "") {
		if err := os.Remove(old.DB + side); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove the old database: %w", err)
		}
	}
	if err := os.RemoveAll(old.Artifacts); err != nil {
		return fmt.Errorf("remove the old artifact folder: %w", err)
	}
	// An empty staging folder may remain from the swap.
	if err := os.RemoveAll(j.stagedDir()); err != nil {
		return err
	}
	return j.remove()
}

// readJournal returns the journal of an interrupted restore into home, or nil.
func readJournal(home Home) (*journal, error) {
	file := journalFile(home.DB)
	b, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("restore journal: %w", err)
	}
	j := &journal{file: file}
	if err := json.Unmarshal(b, j); err != nil || j.ID == "" || j.DB == "" || j.Artifacts == "" {
		return nil, prevoir.Errorf(prevoir.EINVALID, "restore journal %s is damaged (%v): compare it with the files beside it and remove it by hand", file, err)
	}
	return j, nil
}

// Recover finishes what an interrupted Restore left in home: it removes a partial copy (the
// restore stopped before the swap), puts the old home back (it stopped during the swap), or
// removes the old home (it stopped after the new one was in place). It returns what it did, ""
// when there was nothing to do. Run it only while no restore is running on the home.
func Recover(home Home) (string, error) {
	home, err := home.resolve()
	if err != nil {
		return "", err
	}
	j, err := readJournal(home)
	if err != nil || j == nil {
		return "", err
	}
	switch j.State {
	case stateStaging:
		if err := j.discard(); err != nil {
			return "", fmt.Errorf("remove the partial copy of an interrupted restore (journal %s): %w", j.file, err)
		}
		return "removed the partial copy of an interrupted restore; the home was not changed", nil
	case stateSwapping:
		if err := j.rollBack(os.Rename); err != nil {
			return "", fmt.Errorf("put back the home an interrupted restore was replacing (journal %s): %w", j.file, err)
		}
		return "put back the home an interrupted restore was replacing: it is as it was before that restore", nil
	case stateCommitted:
		if err := j.finish(); err != nil {
			return "", fmt.Errorf("remove the old home an interrupted restore replaced (journal %s): %w", j.file, err)
		}
		return "removed the old home that a restore had replaced", nil
	}
	return "", prevoir.Errorf(prevoir.EINVALID, "restore journal %s: unknown state %q", j.file, j.State)
}

// CheckHome refuses to open a home that is not what it seems: one that a restore left halfway
// through its swap (Recover puts it back), and a zero-byte database beside artifacts, which is
// a failed copy rather than a new home (SQLite would take it for a new, empty database). A
// zero-byte database beside no artifacts is a new home.
func CheckHome(home Home) error {
	home, err := home.resolve()
	if err != nil {
		return err
	}
	j, err := readJournal(home)
	if err != nil {
		return err
	}
	if j != nil && j.State == stateSwapping {
		return prevoir.Errorf(prevoir.ECONFLICT, "a restore into this home was interrupted while it replaced %s and %s (journal %s): run a prevoir command that writes (prevoir ingest) or prevoir restore to put the old home back", j.DB, j.Artifacts, j.file)
	}
	info, err := os.Stat(home.DB)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("database %s: %w", home.DB, err)
	}
	if info.Size() > 0 || !info.Mode().IsRegular() {
		return nil
	}
	errFound := errors.New("found")
	err = walkArtifacts(home.Artifacts, func(string, string) error { return errFound })
	if errors.Is(err, errFound) {
		return prevoir.Errorf(prevoir.EINVALID, "database %s is empty (0 bytes) but the artifact folder %s holds artifacts: probably a failed copy. Restore the home from a backup (prevoir restore --force DIR), or remove the empty file if you mean to start a new home", home.DB, home.Artifacts)
	}
	return nil
}

// renameIfExists renames from to to if from exists: the swap and its undoing move a
// database's side files only when SQLite left them.
func renameIfExists(rename func(oldpath, newpath string) error, from, to string) error {
	ok, err := exists(from)
	if err != nil || !ok {
		return err
	}
	return rename(from, to)
}

// exists reports whether a file exists, without following a symbolic link.
func exists(file string) (bool, error) {
	_, err := os.Lstat(file)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}
