//go:build linux

package main

import (
	"os"
	"strconv"
	"syscall"
)

// setNice lowers the process's scheduling priority, as nice(1) does. On Linux a priority
// belongs to each thread, and a new thread inherits its creator's: setting it on every
// existing thread of the Go runtime covers the threads it creates later too.
func setNice(n int) error {
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return err
	}
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		if err := syscall.Setpriority(syscall.PRIO_PROCESS, tid, n); err != nil {
			return err
		}
	}
	return nil
}
