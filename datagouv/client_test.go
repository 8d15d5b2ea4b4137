package datagouv_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
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

// countingServer answers every request with h and counts the requests.
func countingServer(t *testing.T, h http.HandlerFunc) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		h(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

// fetchFails fetches url, expects a *FetchError after the given number of attempts with the
// given error code and message, and returns it.
func fetchFails(t *testing.T, c *datagouv.Client, url string, attempts int, code, msg string) *datagouv.FetchError {
	t.Helper()
	_, err := c.Fetch(context.Background(), datagouv.Request{URL: url})
	var fe *datagouv.FetchError
	if !errors.As(err, &fe) {
		t.Fatalf("got %v, want a *FetchError", err)
	}
	if fe.Attempts != attempts || prevoir.ErrorCode(err) != code || !strings.Contains(err.Error(), msg) {
		t.Errorf("got %q after %d attempts (code %s), want %q after %d (code %s)", err, fe.Attempts, prevoir.ErrorCode(err), msg, attempts, code)
	}
	return fe
}

func TestFetchStatusRetries(t *testing.T) {
	tests := []struct {
		status, attempts int
		code             string
	}{
		{http.StatusNotFound, 1, prevoir.EINVALID},
		{http.StatusForbidden, 1, prevoir.EINVALID},
		{http.StatusGone, 1, prevoir.EINVALID},
		{http.StatusRequestTimeout, 3, prevoir.EUNAVAILABLE},
		{http.StatusServiceUnavailable, 3, prevoir.EUNAVAILABLE},
		{http.StatusBadGateway, 3, prevoir.EUNAVAILABLE},
		{http.StatusNotImplemented, 1, prevoir.EINVALID},
	}
	for _, tt := range tests {
		t.Run(http.StatusText(tt.status), func(t *testing.T) {
			srv, n := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
				http.Error(w, "no", tt.status)
			})
			fetchFails(t, newClient(), srv.URL+"/x.csv", tt.attempts, tt.code, http.StatusText(tt.status))
			if got := n.Load(); got != int64(tt.attempts) {
				t.Errorf("server saw %d requests, want %d", got, tt.attempts)
			}
		})
	}
}

func TestFetchRetryAfter(t *testing.T) {
	// The server asks for ?wait= seconds at the first request, and serves the file after.
	var asked atomic.Bool
	srv, n := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		if !asked.Swap(true) {
			w.Header().Set("Retry-After", r.URL.Query().Get("wait"))
			http.Error(w, "slow down", http.StatusTooManyRequests)
			return
		}
		w.Write([]byte("date,x\n2022-08-26,1\n"))
	})
	// A 429 is retried (after the Retry-After, here 0 s), then the file comes.
	resp, err := newClient().Fetch(context.Background(), datagouv.Request{URL: srv.URL + "/x.csv?wait=0"})
	if err != nil || resp.Attempts != 2 {
		t.Fatalf("got %v after %+v, want the file at the second attempt", err, resp)
	}
	// One longer than MaxBackoff ends the fetch at once, marked temporary for the next run.
	n.Store(0)
	asked.Store(false)
	c := newClient()
	c.MaxBackoff = time.Minute
	fetchFails(t, c, srv.URL+"/x.csv?wait=360", 1, prevoir.EUNAVAILABLE, "asks to retry after 6m0s, longer than the 1m0s this client waits")
	if got := n.Load(); got != 1 {
		t.Errorf("server saw %d requests, want 1", got)
	}
}

func TestFetchRefusesRedirectToFile(t *testing.T) {
	srv, n := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "file:///etc/passwd", http.StatusFound)
	})
	fe := fetchFails(t, newClient(), srv.URL+"/fr/datasets/r/x", 1, prevoir.EINVALID,
		"redirected to file:///etc/passwd: only http and https redirects are followed")
	if fe.Temporary {
		t.Error("a refused redirect is marked temporary")
	}
	if got := n.Load(); got != 1 {
		t.Errorf("server saw %d requests, want 1", got)
	}
}

func TestFetchConnectionRefusedIsRetried(t *testing.T) {
	fetchFails(t, newClient(), "http://"+testutil.FreeAddr(t)+"/x.csv", 3, prevoir.EUNAVAILABLE, "connection refused")
}

func TestFetchUnknownHostIsNotRetried(t *testing.T) {
	// .invalid never resolves (RFC 6761) and is answered without asking the network, so this
	// is fast offline too.
	fe := fetchFails(t, newClient(), "http://nonexistent.invalid/x.csv", 1, prevoir.EINVALID, "lookup nonexistent.invalid: no such host")
	var de *net.DNSError
	if !errors.As(fe, &de) || !de.IsNotFound {
		t.Errorf("got %v, want a DNS not-found error", fe.Err)
	}

	// Any other name goes through the resolver: a local DNS server that answers every
	// question "no such domain" (NXDOMAIN) stands in for the real one.
	dns, queries := nxdomainServer(t)
	dialer := &net.Dialer{Resolver: &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp", dns)
	}}}
	c := newClient()
	c.HTTP = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DialContext: dialer.DialContext}}
	fe = fetchFails(t, c, "http://prevoir-nonexistent.test/x.csv", 1, prevoir.EINVALID, "lookup prevoir-nonexistent.test")
	if !errors.As(fe, &de) || !de.IsNotFound {
		t.Errorf("got %v, want a DNS not-found error", fe.Err)
	}
	if queries.Load() == 0 {
		t.Error("the local DNS server was not asked")
	}
	if de.Server != "" || strings.Contains(fe.Error(), ":53") {
		t.Errorf("%q names the resolver's address", fe)
	}
}

// nxdomainServer serves DNS on a local UDP port, answering every query with NXDOMAIN, and
// returns its address and the count of queries.
func nxdomainServer(t *testing.T) (string, *atomic.Int64) {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	var queries atomic.Int64
	go func() {
		buf := make([]byte, 512)
		for {
			n, addr, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if n < 12 {
				continue
			}
			queries.Add(1)
			// The query's header and question, answered: QR, RD and RA set, RCODE 3
			// (NXDOMAIN), one question, no records.
			resp := append([]byte(nil), buf[:n]...)
			resp[2], resp[3] = 0x81, 0x83
			copy(resp[6:12], []byte{0, 0, 0, 0, 0, 0})
			pc.WriteTo(resp, addr)
		}
	}()
	return pc.LocalAddr().String(), &queries
}

// TestFetchErrorHidesCredentials: a mirror's URL may carry credentials; neither the error nor
// the retry log lines show them, whether the server answered or could not be reached.
func TestFetchErrorHidesCredentials(t *testing.T) {
	srv, src, _ := setup(t)
	srv.Inject(src.ResourceID, testutil.Fault503, testutil.Fault503, testutil.Fault503)
	withCreds := func(u string) string {
		return strings.Replace(u, "://", "://mirror-user:mirror-pw@", 1) + "?token=mirror-token"
	}
	closed := "http://" + testutil.FreeAddr(t) + "/r/x"
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
