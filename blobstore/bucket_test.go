package blobstore_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "gocloud.dev/blob/s3blob" // s3:// buckets

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/blobstore"
	"github.com/prevoir/prevoir/internal/testutil"
	"github.com/prevoir/prevoir/internal/testutil/s3server"
)

// TestCheckBucketMissing: a bucket that does not exist is reported by name with the command
// that creates it, and is created when allowed; the store then works.
func TestCheckBucketMissing(t *testing.T) {
	srv := s3server.Start(t) // no bucket
	srv.SetEnv(t)
	ctx := context.Background()
	st, err := blobstore.Open(ctx, srv.BucketURL("prevoir-artifacts"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	_, err = st.CheckBucket(ctx, false)
	if prevoir.ErrorCode(err) != prevoir.ENOTFOUND {
		t.Fatalf("missing bucket: got %v, want a not-found error", err)
	}
	if want := "aws s3 mb s3://prevoir-artifacts --endpoint-url " + srv.URL; !strings.Contains(err.Error(), want) {
		t.Errorf("missing bucket: %v\nwant the advice %q", err, want)
	}
	if err := st.Put(ctx, "runs/x/artifacts/a", []byte("a")); err == nil {
		t.Fatal("a write into a missing bucket succeeded: the check above tests nothing")
	}

	if created, err := st.CheckBucket(ctx, true); err != nil || !created {
		t.Fatalf("create the bucket: created %v, %v", created, err)
	}
	if err := st.Put(ctx, "runs/x/artifacts/a", []byte("a")); err != nil {
		t.Fatalf("write after creating the bucket: %v", err)
	}
	// Checked again (another process starting), with or without leave to create: it exists.
	for _, create := range []bool{false, true} {
		if created, err := st.CheckBucket(ctx, create); err != nil || created {
			t.Errorf("CheckBucket(create=%v) on an existing bucket: created %v, %v", create, created, err)
		}
	}
}

// TestCheckBucketUnreachable: a store that does not answer is an error of its own kind, not a
// missing bucket, so that a process starting during an outage can tell them apart.
func TestCheckBucketUnreachable(t *testing.T) {
	srv := &s3server.Server{URL: "http://" + testutil.FreeAddr(t)}
	srv.SetEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := blobstore.Open(ctx, srv.BucketURL("prevoir-artifacts"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	_, err = st.CheckBucket(ctx, true)
	if err == nil || prevoir.ErrorCode(err) == prevoir.ENOTFOUND || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("unreachable store: got %v, want a connection error", err)
	}
}

// TestCheckBucketFile: a local folder is there once opened.
func TestCheckBucketFile(t *testing.T) {
	ctx := context.Background()
	st, err := blobstore.Open(ctx, filepath.Join(t.TempDir(), "artifacts"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if created, err := st.CheckBucket(ctx, false); err != nil || created {
		t.Fatalf("created %v, %v", created, err)
	}
}
