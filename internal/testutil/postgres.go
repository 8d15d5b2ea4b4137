package testutil

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver
)

// PostgresURL returns the URL of a fresh, empty schema in the test PostgreSQL database named by
// $PREVOIR_TEST_POSTGRES, dropped when the test ends. Without that variable the test is skipped,
// except under CI (CI=true), where a missing server is a failure: .ci/run starts one.
func PostgresURL(tb testing.TB) string {
	tb.Helper()
	base := os.Getenv("PREVOIR_TEST_POSTGRES")
	if base == "" {
		if os.Getenv("CI") == "true" {
			tb.Fatal("PREVOIR_TEST_POSTGRES is not set under CI: .ci/run must start PostgreSQL")
		}
		tb.Skip("PREVOIR_TEST_POSTGRES not set: skipping the PostgreSQL variant (make test sets it)")
	}
	db, err := sql.Open("pgx", base)
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	schema := fmt.Sprintf("test_%x", rand.Uint64())
	ctx := context.Background()
	if _, err := db.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		tb.Fatalf("create test schema in %s: %v", base, err)
	}
	tb.Cleanup(func() {
		db, err := sql.Open("pgx", base)
		if err != nil {
			return
		}
		defer db.Close()
		db.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
	})
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// SQLiteURL returns the URL of a new SQLite file in a temporary directory.
func SQLiteURL(tb testing.TB) string {
	tb.Helper()
	return "sqlite:" + filepath.Join(tb.TempDir(), "prevoir.db")
}

// ForEachDatabase runs fn as a subtest against a new SQLite file and a fresh PostgreSQL schema,
// so that every store test holds on both engines.
func ForEachDatabase(t *testing.T, fn func(t *testing.T, dbURL string)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { fn(t, SQLiteURL(t)) })
	t.Run("postgres", func(t *testing.T) { fn(t, PostgresURL(t)) })
}
