package prevoir

import (
	"errors"
	"fmt"
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
