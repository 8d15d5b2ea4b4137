package testutil_test

import (
	"context"
	"database/sql"
	"errors"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/prevoir/prevoir/internal/testutil"
)

// TestPostgresCluster: the private cluster ends open sessions and refuses connections while
// stopped, and comes back on the same URL with its data.
func TestPostgresCluster(t *testing.T) {
	c := testutil.StartPostgresCluster(t)
	ctx := context.Background()
	db, err := sql.Open("pgx", c.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, "CREATE TABLE kept (v int); INSERT INTO kept VALUES (42)"); err != nil {
		t.Fatal(err)
	}
	conn, err := db.Conn(ctx) // a session open across the outage
	if err != nil {
		t.Fatal(err)
	}

	c.Stop()
	var pgErr *pgconn.PgError
	if _, err := conn.ExecContext(ctx, "SELECT 1"); err == nil {
		t.Error("a session survived the stop")
	} else if errors.As(err, &pgErr) && pgErr.Code != "57P01" {
		t.Errorf("open session ended with %v, want 57P01 admin_shutdown or a closed connection", err)
	}
	conn.Close()
	other, err := sql.Open("pgx", c.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if err := other.PingContext(ctx); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("new connection while stopped: %v, want connection refused", err)
	}

	c.Start()
	var v int
	if err := db.QueryRowContext(ctx, "SELECT v FROM kept").Scan(&v); err != nil || v != 42 {
		t.Errorf("after restart: %d, %v", v, err)
	}
}
