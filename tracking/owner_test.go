package tracking_test

import (
	"fmt"
	"os"
	"os/exec"
	"testing"

	"github.com/prevoir/prevoir/internal/testutil"
	"github.com/prevoir/prevoir/tracking"
)

// TestProcessDead: the name Owner gives this process (runs and job leases record it) reads as
// alive; the same host with the pid of an exited process reads as dead; a process of another
// host, or a name that is not host:pid, cannot be told dead.
func TestProcessDead(t *testing.T) {
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	if got, want := tracking.Owner(), testutil.OwnerOf(os.Getpid()); got != want {
		t.Fatalf("Owner() = %q, want %q", got, want)
	}
	host, _ := os.Hostname()
	for owner, want := range map[string]bool{
		tracking.Owner():                                     false,
		testutil.OwnerOf(gone.Process.Pid):                   true,
		fmt.Sprintf("another-%s:%d", host, gone.Process.Pid): false,
		fmt.Sprintf("%s-%d", host, gone.Process.Pid):         false,
		testutil.OwnerOf(os.Getppid()):                       false,
		"worker":                                             false,
	} {
		if got := tracking.ProcessDead(owner); got != want {
			t.Errorf("ProcessDead(%q) = %v, want %v", owner, got, want)
		}
	}
}
