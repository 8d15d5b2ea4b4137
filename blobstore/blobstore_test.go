package blobstore_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/blobstore"
)

func TestFileStore(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "artifacts")
	s, err := blobstore.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	data := []byte("date,x\n2020-01-01,1\n")
	key := "snapshots/sidep/abc.csv"
	if err := s.Put(ctx, key, data); err != nil {
		t.Fatal(err)
	}
	// The object is a plain file under the directory, with no sidecar.
	if b, err := os.ReadFile(filepath.Join(dir, "snapshots", "sidep", "abc.csv")); err != nil || string(b) != string(data) {
		t.Fatalf("file on disk: %q, %v", b, err)
	}
	if ok, err := s.Exists(ctx, key); !ok || err != nil {
		t.Errorf("Exists = %v, %v", ok, err)
	}
	got, err := s.GetVerified(ctx, key, blobstore.SHA256(data))
	if err != nil || string(got) != string(data) {
		t.Fatalf("GetVerified = %q, %v", got, err)
	}
	keys, err := s.List(ctx, "snapshots/")
	if err != nil || len(keys) != 1 || keys[0] != key {
		t.Errorf("List = %v, %v", keys, err)
	}

	// Bytes changed on disk behind prevoir's back are detected.
	if err := os.WriteFile(filepath.Join(dir, "snapshots", "sidep", "abc.csv"), []byte("date,x\n2020-01-01,2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var ce *blobstore.CorruptError
	if _, err := s.GetVerified(ctx, key, blobstore.SHA256(data)); !errors.As(err, &ce) || prevoir.ErrorCode(err) != prevoir.EINVALID {
		t.Errorf("corrupted read: got %v, want a *CorruptError", err)
	}

	if _, err := s.Get(ctx, "snapshots/none"); prevoir.ErrorCode(err) != prevoir.ENOTFOUND {
		t.Errorf("missing key: %v", err)
	}
	for _, bad := range []string{"", "/etc/passwd", "../x", "a/../../b", "a//b", `a\b`, "./a"} {
		if err := s.Put(ctx, bad, data); prevoir.ErrorCode(err) != prevoir.EINVALID {
			t.Errorf("Put(%q) = %v, want invalid", bad, err)
		}
	}
}

func TestMemStore(t *testing.T) {
	ctx := context.Background()
	s, err := blobstore.Open(ctx, "mem://")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Put(ctx, "a/b", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if b, err := s.Get(ctx, "a/b"); err != nil || string(b) != "x" {
		t.Errorf("Get = %q, %v", b, err)
	}
}

// TestOpenErrorHidesCredentials: the drivers quote the URL they could not open; the error
// names the store and the cause without the URL's credentials.
func TestOpenErrorHidesCredentials(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ url, want string }{
		// No driver for the scheme in this binary.
		{"azblob://AKIA:blob-pw-1@bucket?region=x&secret_access_key=blob-secret-1", `no driver registered for "azblob"`},
		// A parameter the driver does not know.
		{"file://" + filepath.ToSlash(dir) + "?secret_access_key=blob-secret-2", `secret_access_key`},
	} {
		_, err := blobstore.Open(context.Background(), tc.url)
		if err == nil {
			t.Fatalf("Open(%s) succeeded", tc.url)
		}
		msg := err.Error()
		if strings.Contains(msg, "blob-pw") || strings.Contains(msg, "blob-secret") || !strings.Contains(msg, tc.want) || !strings.Contains(msg, prevoir.Redacted) {
			t.Errorf("Open(%s): %v", tc.url, err)
		}
	}
}
