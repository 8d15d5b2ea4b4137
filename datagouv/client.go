// Package datagouv downloads Santé publique France's files from data.gouv.fr.
//
// It fetches the stable resource links (https://www.data.gouv.fr/fr/datasets/r/<id>), which
// redirect to the current file on the static host, with what a daily robot needs to be a good
// citizen and to survive a bad day: a timeout per attempt, a bounded number of retries with
// exponential backoff and jitter on timeouts, connection failures, 429 and 5xx answers and
// truncated bodies; conditional requests (If-None-Match / If-Modified-Since) so that an
// unchanged file costs a 304; a size cap; and a refusal of HTML pages served in place of a
// file. file:// URLs are read from disk with the same size cap, which is how local copies
// (--source-dir) and tests that need no server are served.
package datagouv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/prevoir/prevoir"
)

// Defaults for Client.
const (
	DefaultTimeout     = 60 * time.Second
	DefaultMaxAttempts = 4
	DefaultBackoff     = 2 * time.Second
	DefaultMaxBackoff  = 30 * time.Second
	DefaultMaxBytes    = 64 << 20 // the largest source is about 150 kB; a runaway body is an error
	DefaultUserAgent   = "prevoir (+https://github.com/prevoir/prevoir)"
)

// Client downloads files. The zero value is usable and takes the defaults above.
type Client struct {
	// HTTP is the client used; its Timeout bounds each attempt (headers and body).
	HTTP *http.Client
	// MaxAttempts bounds the attempts of one Fetch, the first included.
	MaxAttempts int
	// Backoff is the wait before the first retry; it doubles at each retry, up to MaxBackoff,
	// with ±25% jitter so that many clients do not retry in step.
	Backoff, MaxBackoff time.Duration
	// MaxBytes caps the size of a body.
	MaxBytes  int64
	UserAgent string
	Logger    *slog.Logger
}

// Request is one file to fetch.
type Request struct {
	URL string
	// ETag and LastModified are the validators of the copy already held; when set, the request
	// is conditional and a 304 answer means nothing new.
	ETag         string
	LastModified string
}

// Response is a fetched file.
type Response struct {
	// Body is the file's bytes (nil when NotModified).
	Body []byte
	// URL is where the bytes came from, after redirects.
	URL string
	// ETag and LastModified are the validators the server sent.
	ETag         string
	LastModified string
	// NotModified is true when the server answered 304 to a conditional request.
	NotModified bool
	// Attempts is the number of attempts made.
	Attempts int
}

func (c *Client) httpClient() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return &http.Client{Timeout: DefaultTimeout}
}

func (c *Client) logger() *slog.Logger {
	if c.Logger != nil {
		return c.Logger
	}
	return slog.New(slog.DiscardHandler)
}

func orDefault[T int | int64 | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

// FetchError is a failed fetch. Temporary tells whether trying again later may succeed (the
// server was down or slow) or not (the URL is wrong, the answer is not a file).
type FetchError struct {
	URL       string
	Attempts  int
	Temporary bool
	Err       error
}

func (e *FetchError) Error() string {
	s := fmt.Sprintf("fetch %s: %v", prevoir.RedactURL(e.URL), prevoir.RedactError(e.Err, e.URL))
	if e.Attempts > 1 {
		s += fmt.Sprintf(" (after %d attempts)", e.Attempts)
	}
	return s
}

func (e *FetchError) Unwrap() error { return e.Err }

// ErrorCode maps a temporary failure to EUNAVAILABLE, so a job queue retries it later, and
// any other to EINVALID.
func (e *FetchError) ErrorCode() string {
	if e.Temporary {
		return prevoir.EUNAVAILABLE
	}
	return prevoir.EINVALID
}

// attemptError is the outcome of one failed attempt; retry says whether another may succeed.
type attemptError struct {
	err        error
	retry      bool
	retryAfter time.Duration
}

// Fetch downloads req.URL.
func (c *Client) Fetch(ctx context.Context, req Request) (*Response, error) {
	u, err := url.Parse(req.URL)
	if err != nil {
		return nil, &FetchError{URL: req.URL, Err: err}
	}
	switch u.Scheme {
	case "file":
		return c.readFile(u)
	case "http", "https":
	default:
		return nil, &FetchError{URL: req.URL, Err: fmt.Errorf("unsupported URL scheme %q (want https, http or file)", u.Scheme)}
	}
	attempts := orDefault(c.MaxAttempts, DefaultMaxAttempts)
	wait := orDefault(c.Backoff, DefaultBackoff)
	maxWait := orDefault(c.MaxBackoff, DefaultMaxBackoff)
	var last *attemptError
	for n := 1; ; n++ {
		resp, aerr := c.attempt(ctx, req)
		if aerr == nil {
			resp.Attempts = n
			return resp, nil
		}
		last = aerr
		if !aerr.retry || n == attempts || ctx.Err() != nil {
			return nil, &FetchError{URL: req.URL, Attempts: n, Temporary: aerr.retry, Err: aerr.err}
		}
		d := wait
		if aerr.retryAfter > d {
			d = min(aerr.retryAfter, maxWait)
		}
		d = time.Duration(float64(d) * (0.75 + 0.5*rand.Float64()))
		c.logger().WarnContext(ctx, "fetch failed, retrying", "url", prevoir.RedactURL(req.URL), "attempt", n, "of", attempts, "wait", d.Round(time.Millisecond), "err", prevoir.RedactError(last.err, req.URL))
		select {
		case <-ctx.Done():
			return nil, &FetchError{URL: req.URL, Attempts: n, Temporary: true, Err: ctx.Err()}
		case <-time.After(d):
		}
		wait = min(2*wait, maxWait)
	}
}

func (c *Client) attempt(ctx context.Context, req Request) (*Response, *attemptError) {
	hr, err := http.NewRequestWithContext(ctx, http.MethodGet, req.URL, nil)
	if err != nil {
		return nil, &attemptError{err: err}
	}
	hr.Header.Set("User-Agent", orString(c.UserAgent, DefaultUserAgent))
	hr.Header.Set("Accept", "text/csv, text/plain;q=0.9, */*;q=0.1")
	if req.ETag != "" {
		hr.Header.Set("If-None-Match", req.ETag)
	}
	if req.LastModified != "" {
		hr.Header.Set("If-Modified-Since", req.LastModified)
	}
	resp, err := c.httpClient().Do(hr)
	if err != nil {
		return nil, &attemptError{err: err, retry: retryable(err)}
	}
	defer resp.Body.Close()
	out := &Response{URL: resp.Request.URL.String(), ETag: resp.Header.Get("ETag"), LastModified: resp.Header.Get("Last-Modified")}
	switch {
	case resp.StatusCode == http.StatusNotModified:
		out.NotModified = true
		if out.ETag == "" {
			out.ETag = req.ETag
		}
		if out.LastModified == "" {
			out.LastModified = req.LastModified
		}
		return out, nil
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return nil, &attemptError{err: fmt.Errorf("server answered %s", resp.Status), retry: true, retryAfter: retryAfter(resp.Header)}
	case resp.StatusCode != http.StatusOK:
		return nil, &attemptError{err: fmt.Errorf("server answered %s", resp.Status)}
	}
	maxBytes := orDefault(c.MaxBytes, DefaultMaxBytes)
	if resp.ContentLength > maxBytes {
		return nil, &attemptError{err: fmt.Errorf("file is %d bytes, more than the %d-byte cap", resp.ContentLength, maxBytes)}
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBytes+1))
	if err != nil {
		// A connection cut mid-body (fewer bytes than Content-Length) is worth another try.
		return nil, &attemptError{err: fmt.Errorf("read body: %w", err), retry: true}
	}
	if int64(len(body)) > maxBytes {
		return nil, &attemptError{err: fmt.Errorf("file is more than the %d-byte cap", maxBytes)}
	}
	if isHTML(resp.Header.Get("Content-Type"), body) {
		// An HTML page with a 200 is a portal's error or maintenance page, not the file.
		return nil, &attemptError{err: fmt.Errorf("got an HTML page (Content-Type %q), not a CSV file", resp.Header.Get("Content-Type")), retry: true}
	}
	out.Body = body
	return out, nil
}

func (c *Client) readFile(u *url.URL) (*Response, error) {
	path := u.Path
	if u.Host != "" && u.Host != "localhost" {
		return nil, &FetchError{URL: u.String(), Err: errors.New("file URL with a host: want file:///absolute/path")}
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, &FetchError{URL: u.String(), Err: err}
	}
	defer f.Close()
	maxBytes := orDefault(c.MaxBytes, DefaultMaxBytes)
	body, err := io.ReadAll(io.LimitReader(f, maxBytes+1))
	if err != nil {
		return nil, &FetchError{URL: u.String(), Err: err}
	}
	if int64(len(body)) > maxBytes {
		return nil, &FetchError{URL: u.String(), Err: fmt.Errorf("file is more than the %d-byte cap", maxBytes)}
	}
	var lastMod string
	if st, err := f.Stat(); err == nil {
		lastMod = st.ModTime().UTC().Format(http.TimeFormat)
	}
	return &Response{Body: body, URL: u.String(), LastModified: lastMod, Attempts: 1}, nil
}

// FileURL returns the file:// URL of a local path.
func FileURL(path string) string {
	return (&url.URL{Scheme: "file", Path: path}).String()
}

// retryable reports whether a transport error may pass: timeouts, refused or reset
// connections, DNS failures. Context cancellation is not retried.
func retryable(err error) bool {
	if errors.Is(err, context.Canceled) {
		return false
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	var oe *net.OpError
	if errors.As(err, &oe) {
		return true
	}
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)
}

// retryAfter reads a Retry-After header given in seconds.
func retryAfter(h http.Header) time.Duration {
	s, err := strconv.Atoi(strings.TrimSpace(h.Get("Retry-After")))
	if err != nil || s < 0 {
		return 0
	}
	return time.Duration(s) * time.Second
}

func isHTML(contentType string, body []byte) bool {
	if strings.HasPrefix(strings.ToLower(strings.TrimSpace(contentType)), "text/html") {
		return true
	}
	head := bytes.ToLower(bytes.TrimSpace(bytes.TrimPrefix(body[:min(len(body), 512)], []byte{0xEF, 0xBB, 0xBF})))
	return bytes.HasPrefix(head, []byte("<!doctype html")) || bytes.HasPrefix(head, []byte("<html"))
}

func orString(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
