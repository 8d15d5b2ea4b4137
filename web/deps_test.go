package web_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoQueueLibraryInTheImportGraph: web sees the job queue through the JobQueue interface;
// the queue (package jobs, on River) stays out of the server's import graph.
func TestNoQueueLibraryInTheImportGraph(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command, to list the imports: %v", err)
	}
	out, err := exec.Command(goBin, "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 10 || !strings.Contains(string(out), "github.com/prevoir/prevoir/web\n") {
		t.Fatalf("go list -deps listed %d packages, not web's: %s", len(deps), out)
	}
	for _, p := range deps {
		if strings.Contains(p, "riverqueue") || p == "github.com/prevoir/prevoir/jobs" {
			t.Errorf("web depends on %s", p)
		}
	}
}
