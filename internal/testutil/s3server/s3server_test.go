package s3server_test

import (
	"context"
	"errors"
	"net"
	"slices"
	"strings"
	"syscall"
	"testing"

	_ "gocloud.dev/blob/s3blob" // s3:// buckets

	"github.com/prevoir/prevoir/blobstore"
	"github.com/prevoir/prevoir/internal/testutil/s3server"
)

// openBucket starts a server with the bucket "artifacts" and opens it as the artifact store.
func openBucket(t *testing.T) (*s3server.Server, *blobstore.Store) {
	t.Helper()
	srv := s3server.Start(t, "artifacts")
	srv.SetEnv(t)
	st, err := blobstore.Open(context.Background(), srv.BucketURL("artifacts"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return srv, st
}

// TestBlobstoreOverS3: the artifact store writes, lists and reads back objects through the
// S3 API of the local server, including a key in a nested "directory".
func TestBlobstoreOverS3(t *testing.T) {
	_, st := openBucket(t)
	ctx := context.Background()
	data := []byte("date,incid_dchosp\n2022-12-31,12\n")
	if err := st.Put(ctx, "runs/abc/artifacts/model.json", data); err != nil {
		t.Fatal(err)
	}
	if _, err := st.GetVerified(ctx, "runs/abc/artifacts/model.json", blobstore.SHA256(data)); err != nil {
		t.Fatal(err)
	}
	keys, err := st.List(ctx, "runs/")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(keys, []string{"runs/abc/artifacts/model.json"}) {
		t.Errorf("keys %q", keys)
	}
	if _, err := st.Get(ctx, "runs/missing"); err == nil {
		t.Error("missing key read without error")
	}
}

// TestOutage: while stopped the server refuses connections, an open connection included; it
// comes back on the same endpoint with the objects it held.
func TestOutage(t *testing.T) {
	srv, st := openBucket(t)
	ctx := context.Background()
	data := []byte("kept across the outage")
	if err := st.Put(ctx, "runs/abc/artifacts/model.json", data); err != nil {
		t.Fatal(err)
	}

	srv.Stop()
	if _, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://")); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("dial while stopped: %v, want connection refused", err)
	}
	if err := st.Put(ctx, "runs/abc/artifacts/other.json", data); err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("put while stopped: %v, want connection refused", err)
	}

	srv.Start()
	if _, err := st.GetVerified(ctx, "runs/abc/artifacts/model.json", blobstore.SHA256(data)); err != nil {
		t.Errorf("after restart: %v", err)
	}
	if err := st.Put(ctx, "runs/abc/artifacts/other.json", data); err != nil {
		t.Errorf("put after restart: %v", err)
	}
}
