package prevoir

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
)

// Error codes, in the spirit of WTF Dial: a small set of kinds that callers (the CLI's exit
// code, the HTTP API's status, the job queue's retry decision) can act on without parsing text.
const (
	ECONFLICT    = "conflict"     // the operation conflicts with stored state
	EINTERNAL    = "internal"     // a bug or an unexpected failure
	EINVALID     = "invalid"      // bad input: a malformed file, a bad parameter
	ENOTFOUND    = "not_found"    // the thing asked for does not exist
	EUNAVAILABLE = "unavailable"  // a transient failure: the source is down, a timeout
	ENOTMODIFIED = "not_modified" // nothing new upstream
)

// Error is a domain error with a code and a human-readable message.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Message }

// ErrorCode returns the error's code.
func (e *Error) ErrorCode() string { return e.Code }

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first error in err's chain that has one (an *Error, or
// any error with an ErrorCode() string method, such as a parse error), EINTERNAL for any other
// non-nil error, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e interface{ ErrorCode() string }
	if errors.As(err, &e) {
		return e.ErrorCode()
	}
	return EINTERNAL
}

// Transient reports whether an operation that failed with err may succeed if tried again
// unchanged, a little later: the job queue retries these with backoff, the HTTP API answers
// them 503 with Retry-After, the downloader tries again. Everything else is permanent: bad
// input, a missing or conflicting record, a refused request (4xx), a cancelled context, a bug.
//
// It knows the errors of prevoir's dependencies by their methods, not their types, so that
// this package imports no driver: PostgreSQL's SQLSTATE (pgconn.PgError), pgconn's errors of
// the connection (they have SafeToRetry), SQLite's result code, an HTTP status (the S3 SDK's
// ResponseError), plus the standard library's network, context and database/sql errors.
func Transient(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	// A code set by prevoir (or an adapter that knows its library) decides; EINTERNAL is also
	// what a wrapper says when it does not know, so what it wraps decides then.
	var coded interface{ ErrorCode() string }
	if errors.As(err, &coded) {
		switch coded.ErrorCode() {
		case EUNAVAILABLE:
			return true
		case EINVALID, ENOTFOUND, ECONFLICT, ENOTMODIFIED:
			return false
		}
	}
	var (
		sqlState  interface{ SQLState() string }
		status    interface{ HTTPStatusCode() int }
		sqlite    interface{ Code() int }
		retryable interface{ SafeToRetry() bool }
	)
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return true
	case errors.Is(err, driver.ErrBadConn), errors.Is(err, sql.ErrConnDone):
		// database/sql's word for a connection that broke under it.
		return true
	case errors.As(err, &sqlState):
		// The server answered: its SQLSTATE says whether it can do better later.
		return transientSQLState(sqlState.SQLState())
	case errors.As(err, &status) && status.HTTPStatusCode() != 0:
		// An answer's status (0: no answer; the network error under it decides).
		return transientHTTPStatus(status.HTTPStatusCode())
	case errors.As(err, &sqlite) && (sqlite.Code()&0xff == sqliteBusy || sqlite.Code()&0xff == sqliteLocked):
		// Another process held the database for longer than the busy timeout.
		return true
	case errors.As(err, &retryable):
		// pgconn's errors of the connection itself (the server's answers are SQLSTATEs, above):
		// it failed before the request reached the server (SafeToRetry), or broke under it
		// ("conn closed", "receive message failed"). Either way a new connection may succeed,
		// and a job is written to be run again.
		return true
	}
	return transientNetwork(err)
}

// SQLite's primary result codes for a database held by another connection.
const (
	sqliteBusy   = 5
	sqliteLocked = 6
)

// transientSQLState reports whether a PostgreSQL SQLSTATE means "not now": a connection
// exception (class 08), a server shutting down, crashed or starting (57P01, 57P02, 57P03),
// insufficient resources (class 53: disk full, out of memory, too many connections), a
// serialization failure or a deadlock (40001, 40P01), which a new transaction resolves.
func transientSQLState(state string) bool {
	switch {
	case strings.HasPrefix(state, "08"), strings.HasPrefix(state, "53"):
		return true
	}
	switch state {
	case "57P01", "57P02", "57P03", "40001", "40P01":
		return true
	}
	return false
}

// transientHTTPStatus reports whether an HTTP answer may be different later: 408, 429 and the
// 5xx answers but 501 and 505, which say the server will never do it.
func transientHTTPStatus(code int) bool {
	switch code {
	case http.StatusRequestTimeout, http.StatusTooManyRequests:
		return true
	case http.StatusNotImplemented, http.StatusHTTPVersionNotSupported:
		return false
	}
	return code >= 500 && code <= 599
}

// transientNetwork reports whether err is a connection that failed on the way: refused, reset,
// aborted, unreachable, timed out, a failed DNS lookup, or closed before the answer was whole.
// A name that does not resolve counts too: a container platform drops a stopped service's name
// from its DNS (Docker's embedded server does) until it is back, which is an outage, not a
// misconfiguration (a misspelt database host fails the process's start instead). datagouv
// keeps an unknown host permanent: a download URL's host does not come and go.
func transientNetwork(err error) bool {
	var (
		dns *net.DNSError
		ne  net.Error
	)
	switch {
	case errors.As(err, &dns):
		return dns.IsNotFound || dns.IsTimeout || dns.IsTemporary
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ECONNABORTED),
		errors.Is(err, syscall.EPIPE), errors.Is(err, syscall.ETIMEDOUT), errors.Is(err, syscall.ENETUNREACH),
		errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETDOWN):
		return true
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		// The peer closed the connection before answering, or in the middle of the answer
		// (PostgreSQL's driver returns it bare). prevoir reads files whole and checks them with
		// coded errors, so an EOF that gets here comes from a connection.
		return true
	case errors.As(err, &ne) && ne.Timeout():
		return true
	}
	return false
}
