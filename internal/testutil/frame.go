package testutil

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/csvsource"
)

// Frame builds the frame of real data files with opts, as csvsource.FrameFromFiles does; the
// files' paths are relative to DataDir, e.g. "vintages/sp-fra-jour-2022-08-05-19h01.csv".
func Frame(tb testing.TB, opts prevoir.FrameOptions, files ...csvsource.File) *prevoir.Frame {
	tb.Helper()
	dir := DataDir(tb)
	files = slices.Clone(files) // the caller's slice keeps its relative paths
	for i := range files {
		files[i].Path = filepath.Join(dir, files[i].Path)
	}
	f, err := csvsource.FrameFromFiles(opts, files...)
	if err != nil {
		tb.Fatal(err)
	}
	return f
}

// TargetFrame is the frame of the target alone, from the current release of the indicators
// file: 2020-03-19 to 2022-12-31, the series of the accuracy protocols (docs/protocols/README.md).
func TargetFrame(tb testing.TB) *prevoir.Frame {
	tb.Helper()
	opts := prevoir.DefaultFrameOptions()
	opts.Covariates = nil
	return Frame(tb, opts, csvsource.File{Source: prevoir.SourceIndicators, Path: "table-indicateurs-open-data-france.csv"})
}
