// Package testutil holds helpers shared by the tests of several packages: where the real data
// files are, and how to read them.
package testutil

import (
	"net"
	"os"
	"path/filepath"
	"testing"
)

// ModuleRoot returns the directory holding go.mod, walking up from the working directory
// (go test runs each package in its own directory).
func ModuleRoot(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Fatal("testutil: no go.mod above the working directory")
		}
		dir = parent
	}
}

// DataDir returns the directory of the real Santé publique France files: the repository's
// testdata directory (see testdata/README.md), or $PREVOIR_TEST_DATA when set. The tests need
// the real files, so a missing directory fails the test rather than skipping it.
func DataDir(tb testing.TB) string {
	tb.Helper()
	dir := os.Getenv("PREVOIR_TEST_DATA")
	if dir == "" {
		dir = filepath.Join(ModuleRoot(tb), "testdata")
	}
	if _, err := os.Stat(filepath.Join(dir, "sp-fra-jour.csv")); err != nil {
		tb.Fatalf("testutil: the real data files are not in %s: %v", dir, err)
	}
	return dir
}

// ReadData returns the bytes of a file of DataDir, e.g. "vintages/sp-fra-jour-2022-08-05-19h01.csv".
func ReadData(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(DataDir(tb), name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// FreeAddr returns a loopback address (host:port) nobody listens on now: for a server the test
// starts, or for a server that is down.
func FreeAddr(tb testing.TB) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
