package testutil

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
)

// PostgresCluster is a private PostgreSQL server that a test may stop and start, to show what
// an outage does to the processes using it. The shared server of PostgresURL must never be
// stopped: other packages' tests use it at the same time.
type PostgresCluster struct {
	// URL is the server's "prevoir" database (trust authentication: no password).
	URL string

	tb   testing.TB
	bin  string   // directory of initdb, pg_ctl, postgres
	run  []string // prefix of every command: runuser -u postgres -- when running as root
	dir  string   // owned by the user running the server; holds data/ and server.log
	port string
}

// StartPostgresCluster creates a PostgreSQL cluster in a fresh directory, starts it on a free
// loopback port with a "prevoir" database, and removes it when the test ends. Without the
// PostgreSQL binaries (scripts/setup-test-env.sh installs them) the test is skipped, except
// under CI (CI=true), where they are a requirement.
func StartPostgresCluster(tb testing.TB) *PostgresCluster {
	tb.Helper()
	bin, err := postgresBinDir()
	if err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("PostgreSQL binaries are missing under CI (scripts/setup-test-env.sh installs them): %v", err)
		}
		tb.Skipf("PostgreSQL binaries not found, skipping a test that stops and starts its own server: %v", err)
	}
	c := &PostgresCluster{tb: tb, bin: bin}
	// t.TempDir's parents are private to the test's user; PostgreSQL refuses to run as root,
	// so as root the server runs as "postgres" in a directory of its own.
	dir, err := os.MkdirTemp("", "prevoir-pg-")
	if err != nil {
		tb.Fatal(err)
	}
	c.dir = dir
	tb.Cleanup(func() {
		c.pgctl("stop", "-m", "immediate", "-w")
		os.RemoveAll(dir)
	})
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			tb.Fatalf("running as root, PostgreSQL needs the postgres user: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			tb.Fatal(err)
		}
		c.run = []string{"runuser", "-u", "postgres", "--"}
	}
	if out, err := c.command("initdb", "-D", c.data(), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync").CombinedOutput(); err != nil {
		tb.Fatalf("initdb: %v\n%s", err, out)
	}
	_, c.port, _ = net.SplitHostPort(FreeAddr(tb))
	c.Start()
	c.URL = "postgres://postgres@127.0.0.1:" + c.port + "/prevoir?sslmode=disable"
	db, err := sql.Open("pgx", "postgres://postgres@127.0.0.1:"+c.port+"/postgres?sslmode=disable")
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(context.Background(), "CREATE DATABASE prevoir"); err != nil {
		tb.Fatalf("create database in the private cluster: %v", err)
	}
	return c
}

// Stop shuts the server down the way an outage looks to its clients: a fast shutdown ends every
// session (FATAL 57P01 admin_shutdown), then connections are refused until Start.
func (c *PostgresCluster) Stop() {
	c.tb.Helper()
	if out, err := c.pgctl("stop", "-m", "fast", "-w"); err != nil {
		c.tb.Fatalf("stop the private PostgreSQL: %v\n%s", err, out)
	}
}

// Start starts the server again, on the same port and data, and waits until it accepts
// connections.
func (c *PostgresCluster) Start() {
	c.tb.Helper()
	opts := fmt.Sprintf("-p %s -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c fsync=off -c max_connections=200", c.port)
	if out, err := c.pgctl("start", "-w", "-t", "60", "-l", filepath.Join(c.dir, "server.log"), "-o", opts); err != nil {
		log, _ := os.ReadFile(filepath.Join(c.dir, "server.log"))
		c.tb.Fatalf("start the private PostgreSQL on port %s: %v\n%s\n%s", c.port, err, out, log)
	}
}

func (c *PostgresCluster) data() string { return filepath.Join(c.dir, "data") }

func (c *PostgresCluster) pgctl(args ...string) ([]byte, error) {
	return c.command("pg_ctl", append([]string{"-D", c.data()}, args...)...).CombinedOutput()
}

// command runs a PostgreSQL binary, as the postgres user when this process is root.
func (c *PostgresCluster) command(name string, args ...string) *exec.Cmd {
	argv := append(slices.Clone(c.run), filepath.Join(c.bin, name))
	argv = append(argv, args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = c.dir
	return cmd
}

// postgresBinDir finds the directory of initdb and pg_ctl: Debian keeps them off the PATH, in
// /usr/lib/postgresql/<version>/bin (the newest version wins).
func postgresBinDir() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int {
		va, _ := strconv.Atoi(filepath.Base(filepath.Dir(a)))
		vb, _ := strconv.Atoi(filepath.Base(filepath.Dir(b)))
		return vb - va
	})
	if p, err := exec.LookPath("initdb"); err == nil {
		dirs = append(dirs, filepath.Dir(p))
	}
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err != nil {
			continue
		}
		if _, err := os.Stat(filepath.Join(d, "pg_ctl")); err == nil {
			return d, nil
		}
	}
	return "", fmt.Errorf("no initdb and pg_ctl in /usr/lib/postgresql/*/bin nor on the PATH")
}
