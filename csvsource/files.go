package csvsource

import (
	"fmt"
	"os"

	"github.com/prevoir/prevoir"
)

// File is a local CSV file read as a release of one of the default sources.
type File struct {
	Source string // a name of prevoir.DefaultSources: prevoir.SourceIndicators, prevoir.SourceSIDEP
	Path   string
}

// FrameFromFiles builds the daily frame of local CSV files, without the snapshot store: each
// file is parsed as a release of its source, in the order given, then merged by
// prevoir.BuildFrame with opts. The tests and the benchmarks build their frames this way, from
// the files the ingest flow would store.
func FrameFromFiles(opts prevoir.FrameOptions, files ...File) (*prevoir.Frame, error) {
	inputs := make([]prevoir.FrameInput, 0, len(files))
	for _, file := range files {
		src, err := prevoir.LookupSource(prevoir.DefaultSources(), file.Source)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", file.Path, err)
		}
		b, err := os.ReadFile(file.Path)
		if err != nil {
			return nil, fmt.Errorf("read %s release: %w", file.Source, err)
		}
		tab, err := Parse(file.Path, b, src)
		if err != nil {
			return nil, err
		}
		inputs = append(inputs, prevoir.FrameInput{Table: tab})
	}
	return prevoir.BuildFrame(inputs, opts)
}
