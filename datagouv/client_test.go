package datagouv_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/datagouv"
	"github.com/prevoir/prevoir/internal/testutil"
)

func newClient() *datagouv.Client {
	return &datagouv.Client{MaxAttempts: 3, Backoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond}
}

func setup(t *testing.T) (*testutil.DataGouvServer, prevoir.Source, []byte) {
	t.Helper()
	dir := testutil.DataDir(t)
	srv := testutil.NewDataGouvServer(t, dir)
	src := srv.Sources()[1]
	want, err := os.ReadFile(filepath.Join(dir, src.FileName))
	if err != nil {
		t.Fatal(err)
	}
	return srv, src, want
}

func TestFetchRedirectAndConditional(t *testing.T) {
	srv, src, want := setup(t)
	c := newClient()
	ctx := context.Background()
	resp, err := c.Fetch(ctx, datagouv.Request{URL: src.URL})
	if err != nil {
		t.Fatal(err)
	}
	if string(resp.Body) != string(want) || resp.ETag == "" || resp.LastModified == "" || resp.NotModified {
		t.Fatalf("first fetch: %d bytes, etag %q, last-modified %q", len(resp.Body), resp.ETag, resp.LastModified)
	}
	if !strings.Contains(resp.URL, "/static/") {
		t.Errorf("final URL %s: the redirect was not followed", resp.URL)
	}
	again, err := c.Fetch(ctx, datagouv.Request{URL: src.URL, ETag: resp.ETag, LastModified: resp.LastModified})
	if err != nil {
		t.Fatal(err)
	}
	if !again.NotModified || again.Body != nil || again.ETag != resp.ETag {
		t.Errorf("conditional fetch: NotModified=%v, %d bytes, etag %q", again.NotModified, len(again.Body), again.ETag)
	}
	if n := srv.Requests(src.ResourceID); n != 2 {
		t.Errorf("%d requests, want 2", n)
	}
}

func TestFetchRetries(t *testing.T) {
	tests := []struct {
		name     string
		faults   []testutil.Fault
		ok       bool
		attempts int
		msg      string
		code     string
	}{
		{"503 then 200", []testutil.Fault{testutil.Fault503}, true, 2, "", ""},
		{"truncated then 200", []testutil.Fault{testutil.FaultTruncated}, true, 2, "", ""},
		{"always 503", []testutil.Fault{testutil.Fault503, testutil.Fault503, testutil.Fault503}, false, 3, "503 Service Unavailable", prevoir.EUNAVAILABLE},
		{"always truncated", []testutil.Fault{testutil.FaultTruncated, testutil.FaultTruncated, testutil.FaultTruncated}, false, 3, "unexpected EOF", prevoir.EUNAVAILABLE},
		{"html page", []testutil.Fault{testutil.FaultHTML, testutil.FaultHTML, testutil.FaultHTML}, false, 3, "HTML page", prevoir.EUNAVAILABLE},
		{"404 is not retried", []testutil.Fault{testutil.Fault404}, false, 1, "404", prevoir.EINVALID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, src, want := setup(t)
			srv.Inject(src.ResourceID, tt.faults...)
			resp, err := newClient().Fetch(context.Background(), datagouv.Request{URL: src.URL})
			if tt.ok {
				if err != nil {
					t.Fatal(err)
				}
				if string(resp.Body) != string(want) || resp.Attempts != tt.attempts {
					t.Errorf("got %d bytes after %d attempts, want the whole file after %d", len(resp.Body), resp.Attempts, tt.attempts)
				}
				return
			}
			var fe *datagouv.FetchError
			if !errors.As(err, &fe) {
				t.Fatalf("got %v, want a *FetchError", err)
			}
			if fe.Attempts != tt.attempts || !strings.Contains(err.Error(), tt.msg) || prevoir.ErrorCode(err) != tt.code {
				t.Errorf("got %q after %d attempts (code %s), want %q after %d (code %s)", err, fe.Attempts, prevoir.ErrorCode(err), tt.msg, tt.attempts, tt.code)
			}
			if n := srv.Requests(src.ResourceID); n != tt.attempts {
				t.Errorf("server saw %d requests, want %d", n, tt.attempts)
			}
		})
	}
}

func TestFetchSizeCap(t *testing.T) {
	_, src, _ := setup(t)
	c := newClient()
	c.MaxBytes = 1000
	_, err := c.Fetch(context.Background(), datagouv.Request{URL: src.URL})
	if err == nil || !strings.Contains(err.Error(), "cap") {
		t.Errorf("got %v, want a size-cap error", err)
	}
}

func TestFetchCancelled(t *testing.T) {
	srv, src, _ := setup(t)
	srv.Inject(src.ResourceID, testutil.Fault503, testutil.Fault503, testutil.Fault503)
	c := &datagouv.Client{MaxAttempts: 3, Backoff: time.Hour, MaxBackoff: time.Hour}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := c.Fetch(ctx, datagouv.Request{URL: src.URL})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got %v, want the context's deadline", err)
	}
}

func TestFetchFileURL(t *testing.T) {
	dir := testutil.DataDir(t)
	path := filepath.Join(dir, "sp-fra-jour.csv")
	resp, err := newClient().Fetch(context.Background(), datagouv.Request{URL: datagouv.FileURL(path)})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := os.ReadFile(path)
	if string(resp.Body) != string(want) {
		t.Error("file URL body differs")
	}
	if _, err := newClient().Fetch(context.Background(), datagouv.Request{URL: datagouv.FileURL(filepath.Join(dir, "nope.csv"))}); err == nil {
		t.Error("missing file fetched")
	}
	if _, err := newClient().Fetch(context.Background(), datagouv.Request{URL: "ftp://example.test/x.csv"}); err == nil {
		t.Error("ftp URL fetched")
	}
}

// TestFetchErrorHidesCredentials: a mirror's URL may carry credentials; neither the error nor
// the retry log lines show them, whether the server answered or could not be reached.
func TestFetchErrorHidesCredentials(t *testing.T) {
	srv, src, _ := setup(t)
	srv.Inject(src.ResourceID, testutil.Fault503, testutil.Fault503, testutil.Fault503)
	withCreds := func(u string) string {
		return strings.Replace(u, "://", "://mirror-user:mirror-pw@", 1) + "?token=mirror-token"
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String() + "/r/x"
	ln.Close()
	for _, u := range []string{withCreds(src.URL), withCreds(closed)} {
		var logs bytes.Buffer
		c := newClient()
		c.Logger = slog.New(slog.NewTextHandler(&logs, nil))
		_, err := c.Fetch(context.Background(), datagouv.Request{URL: u})
		if err == nil {
			t.Fatalf("fetch %s succeeded", u)
		}
		for what, text := range map[string]string{"error": err.Error(), "logs": logs.String()} {
			if strings.Contains(text, "mirror-pw") || strings.Contains(text, "mirror-token") || !strings.Contains(text, "mirror-user:(set)@") {
				t.Errorf("%s of fetch %s:\n%s", what, u, text)
			}
		}
	}
}
