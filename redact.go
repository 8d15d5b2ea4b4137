package prevoir

import (
	"net/url"
	"strings"
)

// Secrets (the admin token, passwords, keys in URLs) are never recorded, logged, printed or
// served: where a setting would show one, it shows Redacted instead, so that a reader still
// sees that it is set.
const Redacted = "(set)"

// RedactSecret returns how a secret value may be shown: Redacted when it is set, "" when not.
func RedactSecret(v string) string {
	if v == "" {
		return ""
	}
	return Redacted
}

// RedactURL returns rawURL without its credentials, keeping what identifies the resource: the
// password of its user information and the values of query parameters whose names say they
// hold a secret (secret_access_key, password, token, ...) become Redacted. A string that is not
// a URL with credentials is returned unchanged; one with a scheme that does not parse is
// reduced to its scheme, since where its secrets are cannot be known.
func RedactURL(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		if scheme, _, ok := strings.Cut(rawURL, "://"); ok {
			return scheme + "://" + Redacted + " (unparsable URL)"
		}
		return rawURL
	}
	changed, userinfo := false, ""
	if u.User != nil {
		if _, ok := u.User.Password(); ok {
			// Put back after String, which would escape the parentheses of Redacted.
			userinfo = url.User(u.User.Username()).String() + ":" + Redacted + "@"
			u.User = nil
			changed = true
		}
	}
	if u.RawQuery != "" {
		// The query is rewritten pair by pair, not through url.Values, to keep its order and
		// its encoding: only secret values change.
		pairs := strings.Split(u.RawQuery, "&")
		for i, p := range pairs {
			k, _, _ := strings.Cut(p, "=")
			name, err := url.QueryUnescape(k)
			if err != nil {
				name = k
			}
			if secretParam(name) {
				pairs[i] = k + "=" + Redacted
				changed = true
			}
		}
		u.RawQuery = strings.Join(pairs, "&")
	}
	if !changed {
		return rawURL
	}
	if userinfo == "" {
		return u.String()
	}
	scheme, rest, _ := strings.Cut(u.String(), "://")
	return scheme + "://" + userinfo + rest
}

// secretParam reports whether a URL query parameter's name says it holds a secret, such as
// the access keys of an S3 URL, a PostgreSQL password or an API token. A parameter that merely
// names a key (kmskeyid) is hidden too: showing a little less is the safe mistake.
func secretParam(name string) bool {
	n := strings.ToLower(name)
	if n == "sig" {
		return true
	}
	for _, s := range []string{"secret", "password", "passwd", "pwd", "token", "key", "credential", "signature", "auth"} {
		if strings.Contains(n, s) {
			return true
		}
	}
	return false
}

// RedactError returns err with rawURL, wherever its message quotes it, replaced by
// RedactURL(rawURL): for the errors of libraries that quote the URL they were given,
// credentials included. The result still unwraps to err.
func RedactError(err error, rawURL string) error {
	red := RedactURL(rawURL)
	if err == nil || red == rawURL {
		return err
	}
	forms := []string{rawURL}
	if u, perr := url.Parse(rawURL); perr == nil {
		// Libraries print the parsed URL, which may be spelled differently, and some hide its
		// password themselves (net/http as ***, url.URL.Redacted as xxxxx) but not its query.
		forms = append(forms, u.String(), u.Redacted())
		if u.User != nil {
			forms = append(forms, strings.Replace(u.String(), u.User.String()+"@", u.User.Username()+":***@", 1))
		}
	}
	msg := err.Error()
	for _, f := range forms {
		msg = strings.ReplaceAll(msg, f, red)
	}
	return &redactedError{msg: msg, err: err}
}

type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }
