// Package blobstore stores prevoir's artifacts (raw snapshots, model files, plots) in a bucket
// opened by URL through gocloud.dev/blob: a local folder (file://) by default, S3 (s3://) or
// Google Cloud Storage (gs://) when the binary links those drivers, with no change to callers.
//
// Writes are atomic (the driver writes a temporary object and renames or commits it), so a
// crash never leaves a half-written artifact. Reads can be verified against a SHA-256 recorded
// in the database, so corrupted bytes are reported instead of used.
package blobstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gocloud.dev/blob"
	_ "gocloud.dev/blob/fileblob" // file:// buckets
	_ "gocloud.dev/blob/memblob"  // mem:// buckets
	"gocloud.dev/gcerrors"

	"github.com/prevoir/prevoir"
)

// Store is a bucket of artifacts.
type Store struct {
	bucket *blob.Bucket
	url    string // without credentials, for messages
}

// Open opens the bucket at rawURL. A plain directory path is taken as a local folder, created
// if needed.
func Open(ctx context.Context, rawURL string) (*Store, error) {
	u := rawURL
	if !strings.Contains(u, "://") {
		var err error
		if u, err = FileURL(u); err != nil {
			return nil, err
		}
	}
	b, err := blob.OpenBucket(ctx, u)
	if err != nil {
		// The drivers' errors quote the URL, credentials included.
		return nil, fmt.Errorf("open artifact store %s: %w", prevoir.RedactURL(rawURL), prevoir.RedactError(err, u))
	}
	return &Store{bucket: b, url: prevoir.RedactURL(rawURL)}, nil
}

// FileURL returns the file:// bucket URL of a local directory. Temporary files are written
// next to their target (no_tmp_dir), because a rename from $TMPDIR fails across file systems;
// no .attrs sidecar files are written (metadata=skip): prevoir keeps metadata in SQL.
func FileURL(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("artifact directory %s: %w", dir, err)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return "", fmt.Errorf("artifact directory %s: %w", dir, err)
	}
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(abs), RawQuery: "no_tmp_dir=1&metadata=skip"}).String(), nil
}

// Close closes the bucket.
func (s *Store) Close() error { return s.bucket.Close() }

// String returns the bucket URL without its credentials.
func (s *Store) String() string { return s.url }

// CheckKey rejects keys that could escape the bucket's namespace or confuse a file system:
// keys are built by prevoir, never taken from a user, and this makes sure of it.
func CheckKey(key string) error {
	if key == "" || strings.HasPrefix(key, "/") || strings.Contains(key, "\\") || strings.Contains(key, "//") {
		return prevoir.Errorf(prevoir.EINVALID, "artifact key %q: want a relative path like dir/name", key)
	}
	for _, part := range strings.Split(key, "/") {
		if part == "." || part == ".." {
			return prevoir.Errorf(prevoir.EINVALID, "artifact key %q: no . or .. segments", key)
		}
	}
	return nil
}

// Put writes data under key atomically: readers see the old object or the new one, never a
// partial one.
func (s *Store) Put(ctx context.Context, key string, data []byte) error {
	if err := CheckKey(key); err != nil {
		return err
	}
	w, err := s.bucket.NewWriter(ctx, key, nil)
	if err != nil {
		return fmt.Errorf("write artifact %s: %w", key, err)
	}
	if _, err := w.Write(data); err != nil {
		// Closing after a failed write aborts it; the error that matters is the write's.
		w.Close()
		return fmt.Errorf("write artifact %s: %w", key, err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("write artifact %s: %w", key, err)
	}
	return nil
}

// Get reads the object at key; a missing object is an ENOTFOUND error.
func (s *Store) Get(ctx context.Context, key string) ([]byte, error) {
	if err := CheckKey(key); err != nil {
		return nil, err
	}
	r, err := s.bucket.NewReader(ctx, key, nil)
	if err != nil {
		if gcerrors.Code(err) == gcerrors.NotFound {
			return nil, prevoir.Errorf(prevoir.ENOTFOUND, "artifact %s not found in %s", key, s.url)
		}
		return nil, fmt.Errorf("read artifact %s: %w", key, err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read artifact %s: %w", key, err)
	}
	return b, nil
}

// CorruptError reports an artifact whose bytes do not match their recorded SHA-256.
type CorruptError struct {
	Key       string
	Got, Want string
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("artifact %s is corrupted: its sha256 is %s, recorded %s", e.Key, e.Got, e.Want)
}

// ErrorCode classifies corruption as invalid data for prevoir.ErrorCode.
func (e *CorruptError) ErrorCode() string { return prevoir.EINVALID }

// GetVerified reads the object at key and checks that its SHA-256 is sha256hex.
func (s *Store) GetVerified(ctx context.Context, key, sha256hex string) ([]byte, error) {
	b, err := s.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	if got := SHA256(b); got != sha256hex {
		return nil, &CorruptError{Key: key, Got: got, Want: sha256hex}
	}
	return b, nil
}

// Exists reports whether an object is stored at key.
func (s *Store) Exists(ctx context.Context, key string) (bool, error) {
	if err := CheckKey(key); err != nil {
		return false, err
	}
	ok, err := s.bucket.Exists(ctx, key)
	if err != nil {
		return false, fmt.Errorf("stat artifact %s: %w", key, err)
	}
	return ok, nil
}

// List returns the keys under prefix, skipping the temporary objects of writes in progress.
func (s *Store) List(ctx context.Context, prefix string) ([]string, error) {
	objs, err := s.Objects(ctx, prefix)
	if err != nil {
		return nil, err
	}
	var keys []string
	for _, o := range objs {
		if !o.Temporary() {
			keys = append(keys, o.Key)
		}
	}
	return keys, nil
}

// Object is a stored object as listed.
type Object struct {
	Key     string
	Size    int64
	ModTime time.Time
}

// Temporary reports whether the object is the temporary file of a local folder's write: in
// progress, or abandoned by a process killed in the middle of it.
func (o Object) Temporary() bool { return strings.HasSuffix(o.Key, ".tmp") }

// Objects lists every object under prefix, temporary ones included, with its size and the time
// it was last written.
func (s *Store) Objects(ctx context.Context, prefix string) ([]Object, error) {
	var objs []Object
	it := s.bucket.List(&blob.ListOptions{Prefix: prefix})
	for {
		obj, err := it.Next(ctx)
		if err == io.EOF {
			return objs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("list artifacts %s: %w", prefix, err)
		}
		if !obj.IsDir {
			objs = append(objs, Object{Key: obj.Key, Size: obj.Size, ModTime: obj.ModTime})
		}
	}
}

// Delete removes the object at key; an object already gone is not an error, so that two
// processes sweeping at once, or a sweep run again after a crash, agree.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := CheckKey(key); err != nil {
		return err
	}
	if err := s.bucket.Delete(ctx, key); err != nil && gcerrors.Code(err) != gcerrors.NotFound {
		return fmt.Errorf("delete artifact %s: %w", key, err)
	}
	return nil
}

// SHA256 returns the hex SHA-256 of b.
func SHA256(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}
