package web

import (
	"container/list"
	"net/netip"
	"sync"
	"time"
)

// The admin token is checked in constant time, but nothing would stop a client from trying
// tokens as fast as the server answers. authThrottle slows that down: after authFreeFailures
// wrong tokens from one client, the client must wait before its next attempt, twice as long
// after each further failure, up to authMaxDelay; a right token forgets the client. It tracks
// at most authMaxClients clients, forgetting the one whose last failure is the oldest, so that
// an attack from many addresses costs a bounded amount of memory.
const (
	authFreeFailures = 5
	authBaseDelay    = time.Second
	authMaxDelay     = 15 * time.Minute
	// authForgetAfter is how long after its last failure a client's count starts again from
	// zero: an operator's typo a day does not add up to a lock-out.
	authForgetAfter = time.Hour
	authMaxClients  = 10_000
)

// authThrottle counts the wrong tokens of the latest clients that gave one.
type authThrottle struct {
	mu      sync.Mutex
	max     int
	clients map[netip.Addr]*list.Element // values are *clientFailures
	recent  list.List                    // most recent failure first
}

type clientFailures struct {
	client   netip.Addr
	failures int
	last     time.Time // the latest failure
}

// until is when c's delay ends: its latest failure plus the backoff its count has earned
// (none while the failures are free).
func (c *clientFailures) until() time.Time {
	if c.failures < authFreeFailures {
		return time.Time{}
	}
	return c.last.Add(authBackoff(c.failures - authFreeFailures))
}

func newAuthThrottle(maxClients int) *authThrottle {
	return &authThrottle{max: maxClients, clients: map[netip.Addr]*list.Element{}}
}

// clientOf is the client a request comes from: its remote address (the server trusts no
// forwarding header), and for IPv6 its /64 network, which one host usually has whole. An
// address that cannot be parsed is the zero Addr: such clients share one count.
func clientOf(remoteAddr string) netip.Addr {
	var a netip.Addr
	if ap, err := netip.ParseAddrPort(remoteAddr); err == nil {
		a = ap.Addr()
	} else if a, err = netip.ParseAddr(remoteAddr); err != nil {
		return netip.Addr{}
	}
	a = a.Unmap()
	if a.Is6() {
		if p, err := a.Prefix(64); err == nil {
			a = p.Addr()
		}
	}
	return a
}

// wait returns how long client must wait before its next attempt (0: it may try now).
func (t *authThrottle) wait(client netip.Addr, now time.Time) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.clients[client]
	if !ok {
		return 0
	}
	return max(e.Value.(*clientFailures).until().Sub(now), 0)
}

// fail records a wrong token from client and returns how long it must now wait.
func (t *authThrottle) fail(client netip.Addr, now time.Time) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	var c *clientFailures
	if e, ok := t.clients[client]; ok {
		c = e.Value.(*clientFailures)
		t.recent.MoveToFront(e)
		if now.Sub(c.last) > authForgetAfter {
			c.failures = 0
		}
	} else {
		if t.recent.Len() >= t.max {
			oldest := t.recent.Back()
			delete(t.clients, oldest.Value.(*clientFailures).client)
			t.recent.Remove(oldest)
		}
		c = &clientFailures{client: client}
		t.clients[client] = t.recent.PushFront(c)
	}
	c.failures++
	c.last = now
	return max(c.until().Sub(now), 0)
}

// authBackoff is the delay after the n-th failure beyond the free ones (n from 0).
func authBackoff(n int) time.Duration {
	if n >= 30 { // the shift would overflow long before; the cap is reached at n = 10
		return authMaxDelay
	}
	return min(authBaseDelay<<n, authMaxDelay)
}

// succeed forgets client: it gave the right token.
func (t *authThrottle) succeed(client netip.Addr) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if e, ok := t.clients[client]; ok {
		t.recent.Remove(e)
		delete(t.clients, client)
	}
}
