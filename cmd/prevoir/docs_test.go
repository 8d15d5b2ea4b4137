package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/prevoir/prevoir/internal/testutil"
)

// TestConfigurationDocIsCurrent fails when docs/configuration.md no longer describes the
// binary's settings; PREVOIR_UPDATE_DOCS=1 (make docs) rewrites it.
func TestConfigurationDocIsCurrent(t *testing.T) {
	a := &app{getenv: func(string) string { return "" }}
	want := configurationDoc(a.rootCommand())
	path := filepath.Join(testutil.ModuleRoot(t), "docs", "configuration.md")
	if os.Getenv("PREVOIR_UPDATE_DOCS") == "1" {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("docs/configuration.md is out of date: run make docs")
	}
}
