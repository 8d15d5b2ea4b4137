package testutil

import (
	"fmt"
	"os"
	"os/exec"
	"testing"
)

// LiveOwner starts a process of this host that lives until the test ends and returns its
// name as runs and job leases record it (host:pid, see tracking.Owner).
func LiveOwner(tb testing.TB) string {
	tb.Helper()
	alive := exec.Command("sleep", "600")
	if err := alive.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { alive.Process.Kill(); alive.Wait() })
	return OwnerOf(alive.Process.Pid)
}

// GoneOwner returns the name (host:pid) of a process of this host that has exited.
func GoneOwner(tb testing.TB) string {
	tb.Helper()
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		tb.Fatal(err)
	}
	return OwnerOf(gone.Process.Pid)
}

// OwnerOf is the name (host:pid) of process pid of this host, as tracking.Owner names a process.
func OwnerOf(pid int) string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s:%d", host, pid)
}
