// Package sqlstore implements prevoir's stores on SQL: SQLite (modernc.org/sqlite, pure Go, the
// default, one file) or PostgreSQL (jackc/pgx v5, for a team deployment). Callers never see
// the difference: Open takes a URL, and every query is written once, with ? placeholders that
// are rebound to $n for PostgreSQL. Where the two engines differ (identity columns, timestamp
// types), each has its own migration files under migrations/, with the same version numbers.
package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/prevoir/prevoir"
)

// Dialect names a SQL engine.
type Dialect string

// Supported engines.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

//go:embed migrations
var migrationFS embed.FS

// DB is an open prevoir database.
type DB struct {
	sql      *sql.DB
	dialect  Dialect
	url      string // redacted, for messages
	dsn      string // what the driver was opened with
	readOnly bool
}

// Open opens the database at rawURL and brings its schema up to date. Accepted forms:
// "sqlite:PATH", "sqlite://PATH", a plain file path (SQLite), and "postgres://..." or
// "postgresql://..." (PostgreSQL, any libpq/pgx connection URL).
func Open(ctx context.Context, rawURL string) (*DB, error) {
	return connect(ctx, rawURL, open, (*DB).migrate)
}

// OpenReadOnly opens the database at rawURL for reading only, for the commands that only read:
// it neither creates nor migrates the database, and the engine refuses writes. A database at
// an older schema version is refused (a command that writes upgrades it), as is a missing one.
func OpenReadOnly(ctx context.Context, rawURL string) (*DB, error) {
	return connect(ctx, rawURL, openReadOnly, (*DB).checkSchema)
}

// connect opens the database at rawURL with openURL, checks that it answers, and readies its
// schema (migrates or checks it), closing it on any failure.
func connect(ctx context.Context, rawURL string, openURL func(string) (*DB, error), ready func(*DB, context.Context) error) (*DB, error) {
	db, err := openURL(rawURL)
	if err != nil {
		return nil, err
	}
	if err := db.sql.PingContext(ctx); err != nil {
		db.sql.Close()
		how := ""
		if db.readOnly {
			how = " read-only"
		}
		return nil, fmt.Errorf("open database %s%s: %w", db.url, how, err)
	}
	if err := ready(db, ctx); err != nil {
		db.sql.Close()
		return nil, err
	}
	return db, nil
}

// sqlitePath returns the file of a SQLite URL, or "" for a PostgreSQL one.
func sqlitePath(rawURL string) (string, error) {
	switch {
	case strings.HasPrefix(rawURL, "postgres://"), strings.HasPrefix(rawURL, "postgresql://"):
		return "", nil
	case strings.Contains(rawURL, "://") && !strings.HasPrefix(rawURL, "sqlite://"):
		return "", prevoir.Errorf(prevoir.EINVALID, "database URL %q: want sqlite:PATH or postgres://...", prevoir.RedactURL(rawURL))
	}
	path := strings.TrimPrefix(strings.TrimPrefix(rawURL, "sqlite://"), "sqlite:")
	if path == "" {
		return "", prevoir.Errorf(prevoir.EINVALID, "database URL %q: empty SQLite path", rawURL)
	}
	return path, nil
}

func open(rawURL string) (*DB, error) {
	path, err := sqlitePath(rawURL)
	if err != nil {
		return nil, err
	}
	if path == "" {
		s, err := sql.Open("pgx", rawURL)
		if err != nil {
			return nil, fmt.Errorf("open database: %w", err)
		}
		return &DB{sql: s, dialect: Postgres, url: prevoir.RedactURL(rawURL), dsn: rawURL}, nil
	}
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("open database %s: %w", path, err)
		}
	}
	// WAL lets readers proceed during a write; busy_timeout makes a second process wait for
	// the lock instead of failing; _txlock=immediate takes the write lock at BEGIN, so two
	// transactions never deadlock upgrading from read to write.
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate"
	s, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	return &DB{sql: s, dialect: SQLite, url: "sqlite:" + path, dsn: dsn}, nil
}

func openReadOnly(rawURL string) (*DB, error) {
	path, err := sqlitePath(rawURL)
	if err != nil {
		return nil, err
	}
	if path == "" {
		// Every transaction of the session is read-only: PostgreSQL refuses a write.
		u, err := url.Parse(rawURL)
		if err != nil {
			return nil, prevoir.Errorf(prevoir.EINVALID, "database URL %s: %v", prevoir.RedactURL(rawURL), prevoir.RedactError(err, rawURL))
		}
		q := u.Query()
		q.Set("default_transaction_read_only", "on")
		u.RawQuery = q.Encode()
		dsn := u.String()
		s, err := sql.Open("pgx", dsn)
		if err != nil {
			return nil, fmt.Errorf("open database: %w", err)
		}
		return &DB{sql: s, dialect: Postgres, url: prevoir.RedactURL(rawURL), dsn: dsn, readOnly: true}, nil
	}
	if _, err := os.Stat(path); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, prevoir.Errorf(prevoir.ENOTFOUND, "database %s does not exist: run prevoir ingest first (a read-only command does not create it)", path)
		}
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	// A read-only SQLite connection to a WAL database creates the -wal and -shm files when
	// they are missing, and leaves them behind. They are missing only when no process has the
	// database open, so then the file is read as immutable, which creates nothing and takes no
	// lock (a writer that starts and checkpoints during the read may make it fail: run it
	// again). When they exist, a writer may be at work: read through its WAL as any reader does.
	mode := "immutable=1"
	for _, side := range []string{"-wal", "-shm"} {
		if _, err := os.Lstat(path + side); err == nil {
			mode = "mode=ro"
		}
	}
	dsn := "file:" + path + "?" + mode + "&_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=query_only(1)"
	s, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	return &DB{sql: s, dialect: SQLite, url: "sqlite:" + path, dsn: dsn, readOnly: true}, nil
}

// Close closes the database.
func (db *DB) Close() error { return db.sql.Close() }

// ReadOnly reports whether the database was opened by OpenReadOnly: components that bring
// their own schema (the job queue) must not migrate it then.
func (db *DB) ReadOnly() bool { return db.readOnly }

// Dialect returns the engine.
func (db *DB) Dialect() Dialect { return db.dialect }

// String returns the database URL without its password.
func (db *DB) String() string { return db.url }

// SQL returns the underlying handle, for components that bring their own schema (the job queue).
func (db *DB) SQL() *sql.DB { return db.sql }

// ConnString returns what the driver was opened with (a SQLite DSN with prevoir's pragmas, or
// the PostgreSQL URL), so that a component needing its own connection pool (River on SQLite
// wants a single connection) opens the same database the same way. It holds credentials: do
// not log it.
func (db *DB) ConnString() string { return db.dsn }

// rebind turns ? placeholders into $1, $2, ... for PostgreSQL. Queries in this package never
// contain a literal question mark.
func (db *DB) rebind(q string) string {
	if db.dialect != Postgres {
		return q
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}

// ts converts a time for storage: TIMESTAMPTZ for PostgreSQL, RFC 3339 text (which sorts in
// time order) for SQLite. Times are stored in UTC.
func (db *DB) ts(t time.Time) any {
	if db.dialect == Postgres {
		return t.UTC()
	}
	return t.UTC().Format(timeLayout)
}

const timeLayout = "2006-01-02T15:04:05.000000000Z07:00"

// timeScan scans a timestamp stored by ts, whichever engine stored it.
type timeScan struct{ t *time.Time }

func (s timeScan) Scan(v any) error {
	switch x := v.(type) {
	case time.Time:
		*s.t = x.UTC()
	case string:
		t, err := time.Parse(time.RFC3339Nano, x)
		if err != nil {
			return fmt.Errorf("timestamp %q: %w", x, err)
		}
		*s.t = t.UTC()
	case []byte:
		return s.Scan(string(x))
	case nil:
		*s.t = time.Time{}
	default:
		return fmt.Errorf("timestamp: unexpected %T", v)
	}
	return nil
}

// isUniqueViolation reports whether err is a unique-constraint violation on either engine.
func isUniqueViolation(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "23505"
	}
	return false
}

// inTx runs fn in a transaction, committing when it returns nil and rolling back otherwise.
func (db *DB) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// migration is one versioned schema change.
type migration struct {
	version int
	name    string
	sql     string
	// vacuum asks for a VACUUM once the migrations are committed (SQLite): the migration
	// rewrote data that must not survive in the free space of the database file.
	vacuum bool
}

// vacuumDirective, a line of a SQLite migration file, sets migration.vacuum.
const vacuumDirective = "-- prevoir:vacuum"

// migrations returns the dialect's migrations in version order.
func migrations(d Dialect) ([]migration, error) {
	dir := "migrations/" + string(d)
	entries, err := fs.ReadDir(migrationFS, dir)
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range entries {
		name := e.Name()
		v, err := strconv.Atoi(strings.SplitN(name, "_", 2)[0])
		if err != nil || !strings.HasSuffix(name, ".sql") {
			return nil, fmt.Errorf("migration file %s: want NNNN_name.sql", name)
		}
		b, err := fs.ReadFile(migrationFS, dir+"/"+name)
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: strings.TrimSuffix(name, ".sql"), sql: string(b),
			vacuum: slices.Contains(strings.Split(string(b), "\n"), vacuumDirective)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i, m := range ms {
		if m.version != i+1 {
			return nil, fmt.Errorf("migrations/%s: version %d where %d was expected", d, m.version, i+1)
		}
	}
	return ms, nil
}

// SchemaVersion returns the latest migration version this binary knows.
func SchemaVersion() int {
	ms, _ := migrations(SQLite)
	return len(ms)
}

// schemaVersion returns the database's schema version, refusing one newer than latest.
func (db *DB) schemaVersion(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, latest int) (int, error) {
	var v int
	if err := q.QueryRowContext(ctx, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations").Scan(&v); err != nil {
		return 0, fmt.Errorf("schema version of %s: %w", db.url, err)
	}
	if v > latest {
		return v, prevoir.Errorf(prevoir.ECONFLICT, "database %s has schema version %d, newer than this binary's %d: upgrade prevoir", db.url, v, latest)
	}
	return v, nil
}

// checkSchema checks, without changing anything, that the database holds this binary's schema
// version: what a read-only open needs, since it cannot migrate.
func (db *DB) checkSchema(ctx context.Context) error {
	exists := "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
	if db.dialect == Postgres {
		exists = "SELECT COUNT(*) FROM (SELECT to_regclass('schema_migrations') AS t) r WHERE t IS NOT NULL"
	}
	var n int
	if err := db.sql.QueryRowContext(ctx, exists).Scan(&n); err != nil {
		return fmt.Errorf("open database %s: %w", db.url, err)
	}
	if n == 0 {
		return prevoir.Errorf(prevoir.ENOTFOUND, "database %s holds no prevoir schema: run prevoir ingest first (a read-only command does not create it)", db.url)
	}
	latest := SchemaVersion()
	v, err := db.schemaVersion(ctx, db.sql, latest)
	if err != nil {
		return err
	}
	if v < latest {
		return prevoir.Errorf(prevoir.ECONFLICT, "database %s has schema version %d, older than this binary's %d, and a read-only command does not upgrade it: run a command that writes (prevoir ingest, run or serve) first", db.url, v, latest)
	}
	return nil
}

// MigrationLockKey is the PostgreSQL advisory lock that serialises every schema migration of a
// database, prevoir's and the job queue's (River's), so that processes started together on an
// empty database do not race to create the same tables and types.
const MigrationLockKey = 8022001

// migrate applies the missing migrations, all in one transaction, so a failure leaves the
// schema as it was. Concurrent starts are serialised by the write lock (SQLite) or the
// advisory lock MigrationLockKey (PostgreSQL).
func (db *DB) migrate(ctx context.Context) error {
	ms, err := migrations(db.dialect)
	if err != nil {
		return err
	}
	vacuum := false
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		if db.dialect == Postgres {
			if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", MigrationLockKey); err != nil {
				return fmt.Errorf("migrate: lock: %w", err)
			}
		}
		if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    INTEGER PRIMARY KEY,
			name       TEXT NOT NULL,
			applied_at TEXT NOT NULL)`); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		current, err := db.schemaVersion(ctx, tx, len(ms))
		if err != nil {
			return err
		}
		for _, m := range ms[current:] {
			if _, err := tx.ExecContext(ctx, m.sql); err != nil {
				return fmt.Errorf("migrate %s: %w", m.name, err)
			}
			if _, err := tx.ExecContext(ctx, db.rebind("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)"),
				m.version, m.name, time.Now().UTC().Format(time.RFC3339)); err != nil {
				return fmt.Errorf("migrate %s: %w", m.name, err)
			}
			vacuum = vacuum || m.vacuum
		}
		return nil
	})
	if err != nil || !vacuum || db.dialect != SQLite {
		return err
	}
	// VACUUM cannot run in the migrations' transaction; it rebuilds the file, leaving none of
	// the bytes the migrations replaced.
	if _, err := db.sql.ExecContext(ctx, "VACUUM"); err != nil {
		return fmt.Errorf("migrate: vacuum %s after scrubbing it: %w", db.url, err)
	}
	return nil
}
