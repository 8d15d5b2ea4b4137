// Package datagouv downloads Santé publique France's files from data.gouv.fr.
//
// It fetches the stable resource links (https://www.data.gouv.fr/fr/datasets/r/<id>), which
// redirect to the current file on the static host, with what a daily robot needs to be a good
// citizen and to survive a bad day: a timeout per attempt, a bounded number of retries with
// exponential backoff and jitter on transient failures only (timeouts, refused or reset
// connections, 408, 429 and 5xx answers, truncated bodies; a Retry-After is honoured up to
// MaxBackoff), and none on failures that cannot pass (a host that does not exist, a redirect
// to another scheme than http(s), 404 and the other 4xx answers); conditional requests
// (If-None-Match / If-Modified-Since) so that an unchanged file costs a 304; a size cap; and a
// refusal of HTML pages served in place of a file. file:// URLs are read from disk with the
// same size cap, which is how local copies (--source-dir) and tests that need no server are
// served.
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
	// with ±25% jitter so that many clients do not retry in step. A longer Retry-After is
	// waited for, up to MaxBackoff; beyond, the fetch fails (temporarily) at once.
	Backoff, MaxBackoff time.Duration
	// MaxBytes caps the size of a body.
	MaxBytes  int64
	UserAgent string
	Logger    *slog.Logger
	// Sleep waits d before a retry, or returns ctx's error if ctx ends first (a timer when
	// nil): tests see the waits without spending them.
	Sleep func(ctx context.Context, d time.Duration) error
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

func (c *Client) sleep(ctx context.Context, d time.Duration) error {
	if c.Sleep != nil {
		return c.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
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

// statusError is an HTTP answer other than 200 and 304.
type statusError struct {
	Code   int
	Status string // as the server sent it, e.g. "503 Service Unavailable"
	// RetryAfter is the wait the server asked for (Retry-After), 0 when it asked none.
	RetryAfter time.Duration
}

func (e *statusError) Error() string { return "server answered " + e.Status }

// HTTPStatusCode is how prevoir.Transient reads the answer's status.
func (e *statusError) HTTPStatusCode() int { return e.Code }

// redirectError is a redirect this client refuses to follow.
type redirectError struct{ to string }

func (e *redirectError) Error() string {
	return fmt.Sprintf("redirected to %s: only http and https redirects are followed", e.to)
}

// htmlPageError is an HTML page served with a 200 in place of the file.
type htmlPageError struct{ contentType string }

func (e *htmlPageError) Error() string {
	return fmt.Sprintf("got an HTML page (Content-Type %q), not a CSV file", e.contentType)
}

// bodyError is a failure while reading the body of a 200 answer.
type bodyError struct{ err error }

func (e *bodyError) Error() string { return "read body: " + e.err.Error() }
func (e *bodyError) Unwrap() error { return e.err }

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
	hc := c.redirectChecked()
	attempts := orDefault(c.MaxAttempts, DefaultMaxAttempts)
	wait := orDefault(c.Backoff, DefaultBackoff)
	maxWait := orDefault(c.MaxBackoff, DefaultMaxBackoff)
	for n := 1; ; n++ {
		resp, err := c.attempt(ctx, hc, req)
		if err == nil {
			resp.Attempts = n
			return resp, nil
		}
		retry := transient(err)
		if !retry || n == attempts || ctx.Err() != nil {
			return nil, &FetchError{URL: req.URL, Attempts: n, Temporary: retry, Err: err}
		}
		d := time.Duration(float64(wait) * (0.75 + 0.5*rand.Float64()))
		var se *statusError
		if errors.As(err, &se) && se.RetryAfter > d {
			if se.RetryAfter > maxWait {
				// Retrying sooner than asked is impolite, and waiting longer than MaxBackoff
				// stalls the flow: leave it to the next scheduled fetch.
				return nil, &FetchError{URL: req.URL, Attempts: n, Temporary: true,
					Err: fmt.Errorf("%w, and asks to retry after %s, longer than the %s this client waits", err, se.RetryAfter, maxWait)}
			}
			d = se.RetryAfter
		}
		c.logger().WarnContext(ctx, "fetch failed, retrying", "url", prevoir.RedactURL(req.URL), "attempt", n, "of", attempts, "wait", d.Round(time.Millisecond), "err", prevoir.RedactError(err, req.URL))
		if err := c.sleep(ctx, d); err != nil {
			return nil, &FetchError{URL: req.URL, Attempts: n, Temporary: true, Err: err}
		}
		wait = min(2*wait, maxWait)
	}
}

// redirectChecked returns the HTTP client with a redirect policy that refuses any scheme but
// http and https (net/http would fail on file:// anyway, with a less clear error), on top of
// the client's own policy.
func (c *Client) redirectChecked() *http.Client {
	hc := *c.httpClient()
	next := hc.CheckRedirect
	hc.CheckRedirect = func(r *http.Request, via []*http.Request) error {
		if r.URL.Scheme != "http" && r.URL.Scheme != "https" {
			return &redirectError{to: r.URL.String()}
		}
		if next != nil {
			return next(r, via)
		}
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		return nil
	}
	return &hc
}

func (c *Client) attempt(ctx context.Context, hc *http.Client, req Request) (*Response, error) {
	hr, err := http.NewRequestWithContext(ctx, http.MethodGet, req.URL, nil)
	if err != nil {
		return nil, err
	}
	if host := hr.URL.Hostname(); reservedInvalid(host) {
		return nil, &net.DNSError{Err: "no such host (the .invalid domain is reserved and never resolves)", Name: host, IsNotFound: true}
	}
	hr.Header.Set("User-Agent", orString(c.UserAgent, DefaultUserAgent))
	hr.Header.Set("Accept", "text/csv, text/plain;q=0.9, */*;q=0.1")
	if req.ETag != "" {
		hr.Header.Set("If-None-Match", req.ETag)
	}
	if req.LastModified != "" {
		hr.Header.Set("If-Modified-Since", req.LastModified)
	}
	resp, err := hc.Do(hr)
	if err != nil {
		return nil, transportError(err)
	}
	defer resp.Body.Close()
	out := &Response{URL: resp.Request.URL.String(), ETag: resp.Header.Get("ETag"), LastModified: resp.Header.Get("Last-Modified")}
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusNotModified:
		out.NotModified = true
		if out.ETag == "" {
			out.ETag = req.ETag
		}
		if out.LastModified == "" {
			out.LastModified = req.LastModified
		}
		return out, nil
	default:
		// Drain a little so that the connection can be reused.
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return nil, &statusError{Code: resp.StatusCode, Status: resp.Status, RetryAfter: retryAfter(resp.Header, time.Now())}
	}
	maxBytes := orDefault(c.MaxBytes, DefaultMaxBytes)
	if resp.ContentLength > maxBytes {
		return nil, fmt.Errorf("file is %d bytes, more than the %d-byte cap", resp.ContentLength, maxBytes)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBytes+1))
	if err != nil {
		return nil, &bodyError{err}
	}
	if int64(len(body)) > maxBytes {
		return nil, fmt.Errorf("file is more than the %d-byte cap", maxBytes)
	}
	if isHTML(resp.Header.Get("Content-Type"), body) {
		return nil, &htmlPageError{resp.Header.Get("Content-Type")}
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

// transient reports whether a failed attempt may succeed if tried again: what
// prevoir.Transient says of the connection (a timeout, a refused, reset or unreachable
// connection, a temporary DNS failure, an answer 408, 429 or 5xx but 501 and 505), plus what
// only a download knows: a body cut short, an HTML maintenance page. Anything else (a host that
// does not exist, a refused redirect, 404 and the other 4xx, a certificate or protocol error, a
// file over the size cap, a cancelled context) is permanent.
func transient(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	var (
		re *redirectError
		he *htmlPageError
		be *bodyError
		de *net.DNSError
	)
	switch {
	case errors.As(err, &re):
		return false
	case errors.As(err, &de) && de.IsNotFound:
		// A mistyped host: prevoir.Transient counts an unknown name as an outage (a stopped
		// container's), which a download URL's host is not.
		return false
	case errors.As(err, &he):
		// A portal serves its maintenance page with a 200.
		return true
	case errors.As(err, &be):
		// The answer was a 200: a body cut short (unexpected EOF, a reset, an HTTP/2 stream
		// reset, a timeout) is the connection's fault.
		return true
	}
	return prevoir.Transient(err)
}

// transportError strips what net/http wraps around a failed request (the URL, which the
// FetchError names already) and the resolver's address from a DNS failure: it is a detail of
// the machine, not of the fetch.
func transportError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var de *net.DNSError
	if errors.As(err, &de) {
		d := *de
		d.Server = ""
		return &d
	}
	return err
}

// reservedInvalid reports whether host is in the .invalid domain, which RFC 6761 reserves
// for names that never resolve and asks resolvers to answer at once: without a network, a
// resolver would otherwise wait for its timeout.
func reservedInvalid(host string) bool {
	h := strings.TrimSuffix(strings.ToLower(host), ".")
	return h == "invalid" || strings.HasSuffix(h, ".invalid")
}

// retryAfter reads a Retry-After header, given in seconds or as an HTTP date.
func retryAfter(h http.Header, now time.Time) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil {
		return time.Duration(max(s, 0)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
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
