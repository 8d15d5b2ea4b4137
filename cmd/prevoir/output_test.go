package main

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/prevoir/prevoir/internal/testutil"
)

// brokenWriter fails every write, as a closed pipe does.
type brokenWriter struct{}

func (brokenWriter) Write([]byte) (int, error) { return 0, errors.New("stdout is gone") }

// TestTableWriteErrorsFail: a command whose table cannot be written fails, naming why, rather
// than exiting 0 having printed nothing.
func TestTableWriteErrorsFail(t *testing.T) {
	c := newCLI(t)
	c.ok("ingest", "--source-dir", testutil.DataDir(t))
	seedRegistry(t, c)
	for _, args := range [][]string{
		{"ingest", "--source-dir", testutil.DataDir(t)},
		{"frame", "--format", "summary"},
		{"models", "show", "incid_dchosp"},
	} {
		var errb strings.Builder
		all := append([]string{"--home", c.home, "--log-level", "warn"}, args...)
		code := run(context.Background(), all, strings.NewReader(""), brokenWriter{}, &errb, func(string) string { return "" })
		if code != exitFailure || !strings.Contains(errb.String(), "stdout is gone") {
			t.Errorf("prevoir %s to a broken stdout: exit %d, stderr %q; want 1 and the write error", strings.Join(args, " "), code, errb.String())
		}
	}
}
