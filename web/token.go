package web

import (
	"unicode/utf8"

	"github.com/prevoir/prevoir"
)

// MinAdminTokenLen is the shortest admin token accepted: a shorter one can be found by trying
// them all, however slowly failures are answered.
const MinAdminTokenLen = 16

// CheckAdminToken rejects an admin token too short to resist brute force. An empty token is
// accepted: it disables the actions.
func CheckAdminToken(token string) error {
	if n := utf8.RuneCountInString(token); n > 0 && n < MinAdminTokenLen {
		return prevoir.Errorf(prevoir.EINVALID, "admin token: %d characters, want at least %d: a short token can be guessed by brute force (generate one with: openssl rand -hex 32)", n, MinAdminTokenLen)
	}
	return nil
}
