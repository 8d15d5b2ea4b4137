// Package s3server runs an S3-compatible object server on a loopback port for tests, so that
// prevoir's s3:// artifact store is exercised over real HTTP, by the test process and by the
// prevoir processes it starts, with no cloud account. The server is gofakes3 with its in-memory
// backend: objects live as long as the test, across Stop and Start (an outage).
package s3server

import (
	"errors"
	"net"
	"net/http"
	"net/url"
	"sync"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// Credentials the server is used with. gofakes3 does not check signatures, but the AWS SDK
// signs every request and refuses to run without credentials.
const (
	AccessKeyID     = "prevoir-test"
	SecretAccessKey = "prevoir-test-secret"
	Region          = "us-east-1"
)

// Server is a running S3-compatible server.
type Server struct {
	// URL is the server's endpoint, e.g. http://127.0.0.1:41234.
	URL string

	tb      testing.TB
	addr    string
	handler http.Handler
	mu      sync.Mutex
	srv     *http.Server // nil while stopped
}

// Start starts a server on 127.0.0.1 with the named buckets created, and stops it when the
// test ends.
func Start(tb testing.TB, buckets ...string) *Server {
	tb.Helper()
	backend := s3mem.New()
	for _, b := range buckets {
		if err := backend.CreateBucket(b); err != nil {
			tb.Fatalf("s3server: create bucket %s: %v", b, err)
		}
	}
	s := &Server{tb: tb, addr: "127.0.0.1:0", handler: gofakes3.New(backend, gofakes3.WithoutVersioning()).Server()}
	s.Start()
	s.URL = "http://" + s.addr
	tb.Cleanup(s.Stop)
	return s
}

// Stop makes the server unreachable, as in an outage: it stops listening and closes every open
// connection, so clients see refused connections until Start. The objects are kept.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		s.srv.Close()
		s.srv = nil
	}
}

// Start listens again on the same address, with the same objects, after Stop (at once if the
// server is running).
func (s *Server) Start() {
	s.tb.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		return
	}
	l, err := net.Listen("tcp", s.addr)
	if err != nil {
		s.tb.Fatalf("s3server: listen on %s: %v", s.addr, err)
	}
	s.addr = l.Addr().String()
	srv := &http.Server{Handler: s.handler}
	s.srv = srv
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.tb.Errorf("s3server: %v", err)
		}
	}()
}

// BucketURL returns the gocloud.dev s3blob URL of a bucket on this server, as --artifacts
// takes it: path-style addressing (the bucket is in the path, not the host name) and an
// explicit endpoint and region.
func (s *Server) BucketURL(bucket string) string {
	q := url.Values{}
	q.Set("endpoint", s.URL)
	q.Set("region", Region)
	q.Set("use_path_style", "true")
	return (&url.URL{Scheme: "s3", Host: bucket, RawQuery: q.Encode()}).String()
}

// Env returns the environment a process needs to reach the server with the AWS SDK: the
// credentials, and no instance-metadata lookups.
func (s *Server) Env() []string {
	return []string{
		"AWS_ACCESS_KEY_ID=" + AccessKeyID,
		"AWS_SECRET_ACCESS_KEY=" + SecretAccessKey,
		"AWS_REGION=" + Region,
		"AWS_EC2_METADATA_DISABLED=true",
	}
}

// SetEnv sets Env in the test's own environment (restored when the test ends), so that the
// test process itself can open BucketURL.
func (s *Server) SetEnv(t *testing.T) {
	t.Helper()
	for _, kv := range s.Env() {
		for i := range len(kv) {
			if kv[i] == '=' {
				t.Setenv(kv[:i], kv[i+1:])
				break
			}
		}
	}
}
