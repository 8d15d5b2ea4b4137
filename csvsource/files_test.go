package csvsource_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/csvsource"
	"github.com/prevoir/prevoir/internal/testutil"
)

// TestFrameFromFiles: the two real files give the original project's frame (833 days, the 17
// covariates and the target), and a bad file list is an error naming the file.
func TestFrameFromFiles(t *testing.T) {
	dir := testutil.DataDir(t)
	ind := csvsource.File{Source: prevoir.SourceIndicators, Path: filepath.Join(dir, "vintages/table-indicateurs-open-data-france-2022-08-26-19h01.csv")}
	sidep := csvsource.File{Source: prevoir.SourceSIDEP, Path: filepath.Join(dir, "sp-fra-jour.csv")}
	opts := prevoir.DefaultFrameOptions()
	opts.Mode = prevoir.FrameOriginal
	f, err := csvsource.FrameFromFiles(opts, ind, sidep)
	if err != nil {
		t.Fatal(err)
	}
	if f.Len() != 833 || f.Dates[0].String() != "2020-05-13" || len(f.Names()) != 18 {
		t.Errorf("frame of %d days from %s, %d columns; want 833 from 2020-05-13, 18", f.Len(), f.Dates[0], len(f.Names()))
	}

	missing := filepath.Join(dir, "no-such-file.csv")
	for name, c := range map[string]struct {
		files []csvsource.File
		want  []string
	}{
		"unknown source": {[]csvsource.File{{Source: "nosuch", Path: ind.Path}}, []string{ind.Path, "nosuch"}},
		"missing file":   {[]csvsource.File{ind, {Source: prevoir.SourceSIDEP, Path: missing}}, []string{prevoir.SourceSIDEP, missing}},
		"wrong source":   {[]csvsource.File{{Source: prevoir.SourceSIDEP, Path: ind.Path}}, []string{ind.Path}},
	} {
		_, err := csvsource.FrameFromFiles(opts, c.files...)
		if err == nil {
			t.Errorf("%s: no error", name)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not name %q", name, err, w)
			}
		}
	}
}
