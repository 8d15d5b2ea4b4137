package prevoir_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	_ "gocloud.dev/blob/s3blob" // s3:// buckets, as the binary links them
	_ "modernc.org/sqlite"      // the "sqlite" driver

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/blobstore"
	"github.com/prevoir/prevoir/internal/testutil"
	"github.com/prevoir/prevoir/internal/testutil/s3server"
)

// The classifier is tested on errors made by the real libraries failing for real: a port
// nobody listens on, a connection reset, a PostgreSQL backend terminated under its client, an
// S3 server answering 503, a SQLite file held by another connection. Errors that cannot be
// provoked here without stopping a shared server (a PostgreSQL shutting down, a deadlock) are
// the library's own types with the codes the server sends.

// serveOnce accepts connections on a loopback port and hands each to handle.
func serveOnce(t *testing.T, handle func(net.Conn)) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go handle(c)
		}
	}()
	return l.Addr().String()
}

type transientCase struct {
	name string
	err  error
	want bool
}

func checkTransient(t *testing.T, cases []transientCase) {
	t.Helper()
	for _, c := range cases {
		if c.err == nil && c.name != "nil" {
			t.Errorf("%s: the library returned no error", c.name)
			continue
		}
		if got := prevoir.Transient(c.err); got != c.want {
			t.Errorf("%s: Transient(%T %v) = %v, want %v", c.name, c.err, c.err, got, c.want)
		}
	}
}

func TestTransientNetwork(t *testing.T) {
	ctx := context.Background()
	_, refused := net.Dial("tcp", testutil.FreeAddr(t))
	_, httpRefused := http.Get("http://" + testutil.FreeAddr(t) + "/x")

	// A server that resets the connection (SO_LINGER 0) as soon as it has read the request.
	reset := serveOnce(t, func(c net.Conn) {
		c.Read(make([]byte, 1024))
		c.(*net.TCPConn).SetLinger(0)
		c.Close()
	})
	_, httpReset := http.Get("http://" + reset + "/x")
	// One that closes cleanly without answering.
	closer := serveOnce(t, func(c net.Conn) {
		c.Read(make([]byte, 1024))
		c.Close()
	})
	_, httpEOF := http.Get("http://" + closer + "/x")
	// One that never answers, read with a deadline.
	silent := serveOnce(t, func(c net.Conn) { io.Copy(io.Discard, c) })
	conn, err := net.Dial("tcp", silent)
	if err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
	_, readTimeout := conn.Read(make([]byte, 1))
	conn.Close()

	expired, cancel := context.WithDeadline(ctx, time.Now().Add(-time.Second))
	defer cancel()
	req, _ := http.NewRequestWithContext(expired, http.MethodGet, "http://"+silent+"/x", nil)
	_, httpDeadline := http.DefaultClient.Do(req)
	cancelled, cancelNow := context.WithCancel(ctx)
	cancelNow()
	req, _ = http.NewRequestWithContext(cancelled, http.MethodGet, "http://"+silent+"/x", nil)
	_, httpCancelled := http.DefaultClient.Do(req)

	_, notExist := os.ReadFile(filepath.Join(t.TempDir(), "none"))

	checkTransient(t, []transientCase{
		{"nil", nil, false},
		{"dial: connection refused", refused, true},
		{"HTTP: connection refused", httpRefused, true},
		{"HTTP: connection reset", httpReset, true},
		{"HTTP: closed before answering", httpEOF, true},
		{"read timeout", readTimeout, true},
		{"HTTP: deadline exceeded", httpDeadline, true},
		{"HTTP: cancelled", httpCancelled, false},
		{"wrapped refusal", fmt.Errorf("write artifact x: %w", refused), true},
		{"DNS: no such host (a stopped container's name)", &net.DNSError{Err: "no such host", Name: "db", IsNotFound: true}, true},
		{"DNS: temporary", &net.DNSError{Err: "server misbehaving", Name: "example.org", IsTemporary: true}, true},
		{"missing file", notExist, false},
		{"plain error", errors.New("boom"), false},
	})
}

func TestTransientDomainCodes(t *testing.T) {
	checkTransient(t, []transientCase{
		{"unavailable", prevoir.Errorf(prevoir.EUNAVAILABLE, "source down"), true},
		{"wrapped unavailable", fmt.Errorf("ingest: %w", prevoir.Errorf(prevoir.EUNAVAILABLE, "source down")), true},
		{"invalid", prevoir.Errorf(prevoir.EINVALID, "bad release"), false},
		{"not found", prevoir.Errorf(prevoir.ENOTFOUND, "no run"), false},
		{"conflict", prevoir.Errorf(prevoir.ECONFLICT, "a run that ended is read-only"), false},
		// A code wins over what it wraps: a validation error is not retried because a
		// deadline passed while it was found.
		{"invalid around a deadline", &codedError{prevoir.EINVALID, context.DeadlineExceeded}, false},
		// EINTERNAL says nothing: what it wraps decides.
		{"internal around a refusal", &codedError{prevoir.EINTERNAL, &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}}, true},
		{"deadline", context.DeadlineExceeded, true},
		{"cancelled", context.Canceled, false},
		{"cancelled around a refusal", fmt.Errorf("%w: %w", context.Canceled, syscall.ECONNREFUSED), false},
	})
}

// codedError is an error of another package with a code, as csvsource's parse errors are.
type codedError struct {
	code string
	err  error
}

func (e *codedError) Error() string     { return e.code + ": " + e.err.Error() }
func (e *codedError) ErrorCode() string { return e.code }
func (e *codedError) Unwrap() error     { return e.err }

func TestTransientSQLite(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "x.db")
	holder, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(0)")
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	if _, err := holder.ExecContext(ctx, "CREATE TABLE t (k TEXT PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	if _, err := holder.ExecContext(ctx, "INSERT INTO t VALUES ('a')"); err != nil {
		t.Fatal(err)
	}
	_, duplicate := holder.ExecContext(ctx, "INSERT INTO t VALUES ('a')")
	_, syntax := holder.ExecContext(ctx, "SELEC 1")

	// Another connection holds the write lock; this one does not wait.
	tx, err := holder.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, "INSERT INTO t VALUES ('b')"); err != nil {
		t.Fatal(err)
	}
	other, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(0)")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	_, busy := other.ExecContext(ctx, "INSERT INTO t VALUES ('c')")

	checkTransient(t, []transientCase{
		{"busy", busy, true},
		{"unique violation", duplicate, false},
		{"syntax error", syntax, false},
	})
	if busy != nil && !strings.Contains(busy.Error(), "SQLITE_BUSY") {
		t.Errorf("the lock did not make SQLite busy: %v", busy)
	}
}

func TestTransientPostgres(t *testing.T) {
	ctx := context.Background()
	// Refused: nothing listens (the server is down).
	down, err := sql.Open("pgx", "postgres://prevoir:secret@"+testutil.FreeAddr(t)+"/prevoir?sslmode=disable&connect_timeout=5")
	if err != nil {
		t.Fatal(err)
	}
	defer down.Close()
	_, refused := down.ExecContext(ctx, "SELECT 1")
	var ce *pgconn.ConnectError
	if !errors.As(refused, &ce) {
		t.Errorf("a closed port gave %T, want a *pgconn.ConnectError", refused)
	}
	// Shutting down and deadlocked: the server's codes, in pgx's type.
	shuttingDown := &pgconn.PgError{Severity: "FATAL", Code: "57P03", Message: "the database system is shutting down"}
	deadlock := &pgconn.PgError{Severity: "ERROR", Code: "40P01", Message: "deadlock detected"}
	tooMany := &pgconn.PgError{Severity: "FATAL", Code: "53300", Message: "sorry, too many clients already"}
	cases := []transientCase{
		{"failed to connect: refused", refused, true},
		{"shutting down", fmt.Errorf("begin: %w", shuttingDown), true},
		{"deadlock", deadlock, true},
		{"too many connections", tooMany, true},
		{"bad password", &pgconn.PgError{Severity: "FATAL", Code: "28P01", Message: "password authentication failed"}, false},
	}

	url := testutil.PostgresURL(t) // skips the rest without a server
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	admin, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()

	// A backend terminated under its client (what a restart does to every connection).
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var pid int
	if err := conn.QueryRowContext(ctx, "SELECT pg_backend_pid()").Scan(&pid); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.ExecContext(ctx, "SELECT pg_terminate_backend($1)", pid); err != nil {
		t.Fatal(err)
	}
	_, terminated := conn.ExecContext(ctx, "SELECT 1")
	_, afterwards := conn.ExecContext(ctx, "SELECT 1")

	if _, err := db.ExecContext(ctx, "CREATE TABLE t (k TEXT PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	db.ExecContext(ctx, "INSERT INTO t VALUES ('a')")
	_, duplicate := db.ExecContext(ctx, "INSERT INTO t VALUES ('a')")
	_, missing := db.ExecContext(ctx, "SELECT * FROM no_such_table")
	expired, cancel := context.WithDeadline(ctx, time.Now().Add(-time.Second))
	defer cancel()
	_, deadline := db.ExecContext(expired, "SELECT 1")
	slow, cancelSlow := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancelSlow()
	_, timedOut := db.ExecContext(slow, "SELECT pg_sleep(5)")

	// A pooled connection cut under its pool (pgx's native interface, as the job queue uses),
	// then a pool that cannot connect again.
	proxy, proxied := testutil.ProxyTo(t, url)
	pool, err := pgxpool.New(ctx, proxied)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if _, err := pool.Exec(ctx, "SELECT 1"); err != nil {
		t.Fatal(err)
	}
	proxy.Down()
	_, cut := pool.Begin(ctx)
	_, unreachable := pool.Begin(ctx)

	cases = append(cases,
		transientCase{"pooled connection cut", cut, true},
		transientCase{"pool cannot connect", unreachable, true},
		transientCase{"backend terminated", terminated, true},
		transientCase{"connection gone", afterwards, true},
		transientCase{"unique violation", duplicate, false},
		transientCase{"no such table", missing, false},
		transientCase{"context expired", deadline, true},
		transientCase{"query timed out", timedOut, true},
	)
	checkTransient(t, cases)
	var pe *pgconn.PgError
	if !errors.As(terminated, &pe) || pe.Code != "57P01" {
		t.Errorf("terminating the backend gave %v, want SQLSTATE 57P01", terminated)
	}
}

func TestTransientObjectStore(t *testing.T) {
	ctx := context.Background()
	s3 := s3server.Start(t, "artifacts")
	s3.SetEnv(t)

	put := func(bucketURL string) error {
		t.Helper()
		st, err := blobstore.Open(ctx, bucketURL)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		return st.Put(ctx, "runs/1/artifacts/model.bin", []byte("weights"))
	}
	if err := put(s3.BucketURL("artifacts")); err != nil {
		t.Fatalf("the S3 server works: %v", err)
	}
	unavailable := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>`)
	}))
	defer unavailable.Close()
	forbidden := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>`)
	}))
	defer forbidden.Close()
	down := &s3server.Server{URL: "http://" + testutil.FreeAddr(t)}

	// The SDK retries a 503 and a refused connection itself (3 attempts, gocloud's setting)
	// before it gives up: what is left is what the queue must retry later.
	slowDown := put((&s3server.Server{URL: unavailable.URL}).BucketURL("artifacts"))
	if slowDown == nil || !strings.Contains(slowDown.Error(), "StatusCode: 503") {
		t.Errorf("the 503 server gave %v", slowDown)
	}
	missingBucket := put(s3.BucketURL("no-such-bucket"))
	st, err := blobstore.Open(ctx, s3.BucketURL("artifacts"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	_, missingObject := st.Get(ctx, "runs/none")
	checkTransient(t, []transientCase{
		{"S3 503", slowDown, true},
		{"S3 down", put(down.BucketURL("artifacts")), true},
		{"S3 403", put((&s3server.Server{URL: forbidden.URL}).BucketURL("artifacts")), false},
		{"S3 missing bucket", missingBucket, false},
		{"S3 missing object", missingObject, false},
	})
}
