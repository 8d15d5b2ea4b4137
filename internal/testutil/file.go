package testutil

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// WriteFileAt writes data to file, creating its folders, and dates it mtime: an object of a
// given age in a local artifact folder, as a killed write or a lost record leaves one.
func WriteFileAt(tb testing.TB, file string, data []byte, mtime time.Time) {
	tb.Helper()
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(file, data, 0o644); err != nil {
		tb.Fatal(err)
	}
	if err := os.Chtimes(file, mtime, mtime); err != nil {
		tb.Fatal(err)
	}
}
