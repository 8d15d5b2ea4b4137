package testutil

import (
	"slices"
	"strings"
	"testing"
)

// SpoilField returns the bytes of a comma-separated real data file (see ReadData) with one
// field changed: column (or the date column, by its name) of the row dated day. It also
// returns that row's 1-based line, for the messages that must name it.
func SpoilField(tb testing.TB, name, day, column, value string) (body []byte, line int) {
	tb.Helper()
	lines := strings.Split(string(ReadData(tb, name)), "\n")
	col := slices.Index(strings.Split(lines[0], ","), column)
	if col < 0 {
		tb.Fatalf("testutil: %s has no column %s", name, column)
	}
	for i, l := range lines {
		if strings.HasPrefix(l, day+",") {
			f := strings.Split(l, ",")
			f[col] = value
			lines[i], line = strings.Join(f, ","), i+1
		}
	}
	if line == 0 {
		tb.Fatalf("testutil: %s has no day %s", name, day)
	}
	return []byte(strings.Join(lines, "\n")), line
}
