package testutil

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// TreeState describes every file and folder under dir: a file by its mode, size, modification
// time and SHA-256, a folder by its mode. Equal states mean that nothing under dir was written,
// created, removed or renamed.
func TreeState(tb testing.TB, dir string) map[string]string {
	tb.Helper()
	state := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		if !info.Mode().IsRegular() {
			state[rel] = info.Mode().String()
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		h := sha256.Sum256(b)
		state[rel] = fmt.Sprintf("%s %d bytes, modified %d, sha256 %s", info.Mode(), info.Size(), info.ModTime().UnixNano(), hex.EncodeToString(h[:]))
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return state
}

// SameTree reports, as test errors, every difference between two TreeStates.
func SameTree(tb testing.TB, before, after map[string]string) {
	tb.Helper()
	for p, s := range after {
		if b, ok := before[p]; !ok {
			tb.Errorf("%s appeared: %s", p, s)
		} else if b != s {
			tb.Errorf("%s changed: %s, was %s", p, s, b)
		}
	}
	for p := range before {
		if _, ok := after[p]; !ok {
			tb.Errorf("%s disappeared", p)
		}
	}
}
