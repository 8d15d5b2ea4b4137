package datagouv

// In package datagouv, not datagouv_test: the table builds the error types that attempt returns,
// which are not exported.

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"syscall"
	"testing"
	"time"
)

func TestTransient(t *testing.T) {
	// As net/http reports a failed dial or read: *url.Error around *net.OpError around
	// *os.SyscallError around the errno.
	sys := func(op string, errno syscall.Errno) error {
		return &url.Error{Op: "Get", URL: "https://example.test/x.csv",
			Err: &net.OpError{Op: op, Net: "tcp", Err: os.NewSyscallError(op, errno)}}
	}
	status := func(code int) error {
		return &statusError{Code: code, Status: fmt.Sprintf("%d %s", code, http.StatusText(code))}
	}
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"404", status(404), false},
		{"400", status(400), false},
		{"401", status(401), false},
		{"403", status(403), false},
		{"410", status(410), false},
		{"408", status(408), true},
		{"429", status(429), true},
		{"500", status(500), true},
		{"502", status(502), true},
		{"503", status(503), true},
		{"504", status(504), true},
		{"501", status(501), false},
		{"505", status(505), false},
		{"204", status(204), false},
		{"300", status(300), false},
		{"DNS: no such host", &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: "nonexistent.invalid", IsNotFound: true}}, false},
		{"DNS: timeout", &net.DNSError{Err: "i/o timeout", Name: "www.data.gouv.fr", IsTimeout: true}, true},
		{"DNS: server failure", &net.DNSError{Err: "server misbehaving", Name: "www.data.gouv.fr", IsTemporary: true}, true},
		{"DNS: other", &net.DNSError{Err: "no answer from DNS server", Name: "www.data.gouv.fr"}, false},
		{"redirect to file://", &url.Error{Op: "Get", URL: "file:///etc/passwd", Err: &redirectError{to: "file:///etc/passwd"}}, false},
		{"too many redirects", &url.Error{Op: "Get", URL: "https://example.test/", Err: errors.New("stopped after 10 redirects")}, false},
		{"connection refused", sys("dial", syscall.ECONNREFUSED), true},
		{"connection reset", sys("read", syscall.ECONNRESET), true},
		{"network unreachable", sys("dial", syscall.ENETUNREACH), true},
		{"host unreachable", sys("dial", syscall.EHOSTUNREACH), true},
		{"broken pipe", sys("write", syscall.EPIPE), true},
		{"permission denied", sys("dial", syscall.EACCES), false},
		{"dial timeout", &url.Error{Op: "Get", URL: "https://example.test/", Err: &net.OpError{Op: "dial", Net: "tcp", Err: timeoutError{}}}, true},
		{"server closed before answering", &url.Error{Op: "Get", URL: "https://example.test/", Err: io.EOF}, true},
		{"body cut short", &bodyError{io.ErrUnexpectedEOF}, true},
		{"body: stream reset", &bodyError{errors.New("stream error: stream ID 3; INTERNAL_ERROR")}, true},
		{"body: cancelled", &bodyError{context.Canceled}, false},
		{"HTML page", &htmlPageError{"text/html"}, true},
		{"cancelled", &url.Error{Op: "Get", URL: "https://example.test/", Err: context.Canceled}, false},
		{"deadline", context.DeadlineExceeded, true},
		{"bad certificate", &url.Error{Op: "Get", URL: "https://example.test/", Err: &tlsVerifyError}, false},
		{"size cap", errors.New("file is more than the 1000-byte cap"), false},
		{"malformed response", &url.Error{Op: "Get", URL: "https://example.test/", Err: errors.New(`net/http: HTTP/1.x transport connection broken: malformed HTTP response "\x00"`)}, false},
	}
	for _, tt := range tests {
		if got := transient(tt.err); got != tt.want {
			t.Errorf("%s: transient(%v) = %v, want %v", tt.name, tt.err, got, tt.want)
		}
	}
}

var tlsVerifyError = x509.UnknownAuthorityError{}

type timeoutError struct{}

func (timeoutError) Error() string   { return "i/o timeout" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }

func TestRetryAfter(t *testing.T) {
	now := time.Date(2022, 8, 26, 17, 0, 0, 0, time.UTC)
	tests := []struct {
		value string
		want  time.Duration
	}{
		{"", 0},
		{"0", 0},
		{"7", 7 * time.Second},
		{" 120 ", 2 * time.Minute},
		{"-3", 0},
		{"soon", 0},
		{"Fri, 26 Aug 2022 17:01:30 GMT", 90 * time.Second},
		{"Fri, 26 Aug 2022 16:59:00 GMT", 0}, // in the past
	}
	for _, tt := range tests {
		h := http.Header{}
		if tt.value != "" {
			h.Set("Retry-After", tt.value)
		}
		if got := retryAfter(h, now); got != tt.want {
			t.Errorf("Retry-After %q: %v, want %v", tt.value, got, tt.want)
		}
	}
}

func TestReservedInvalid(t *testing.T) {
	for host, want := range map[string]bool{
		"nonexistent.invalid": true, "NONEXISTENT.INVALID.": true, "invalid": true,
		"www.data.gouv.fr": false, "invalid.example.org": false, "myinvalid": false, "127.0.0.1": false,
	} {
		if got := reservedInvalid(host); got != want {
			t.Errorf("reservedInvalid(%q) = %v, want %v", host, got, want)
		}
	}
}
