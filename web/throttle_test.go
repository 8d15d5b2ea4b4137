package web

import (
	"net/netip"
	"testing"
	"time"
)

// TestAuthThrottleIsBounded: an attack from many more addresses than the throttle tracks keeps
// it at its bound, and the latest attackers are the ones it remembers.
func TestAuthThrottleIsBounded(t *testing.T) {
	th := newAuthThrottle(authMaxClients)
	now := time.Date(2023, 1, 4, 12, 0, 0, 0, time.UTC)
	addr := func(i int) netip.Addr {
		return netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
	}
	const attackers = 3 * authMaxClients
	for i := range attackers {
		for range authFreeFailures {
			th.fail(addr(i), now)
		}
		if n := len(th.clients); n > authMaxClients {
			t.Fatalf("after %d clients the throttle tracks %d, more than its bound %d", i+1, n, authMaxClients)
		}
	}
	if n := len(th.clients); n != authMaxClients {
		t.Errorf("tracks %d clients, want %d", n, authMaxClients)
	}
	if d := th.wait(addr(attackers-1), now); d != authBaseDelay {
		t.Errorf("the latest attacker waits %s, want %s", d, authBaseDelay)
	}
	if d := th.wait(addr(attackers-authMaxClients), now); d != authBaseDelay {
		t.Errorf("the oldest attacker still tracked waits %s, want %s", d, authBaseDelay)
	}
	if d := th.wait(addr(0), now); d != 0 {
		t.Errorf("the first attacker, forgotten, waits %s", d)
	}
}

// TestAuthThrottleBackoff: free failures, then a delay that doubles up to the cap; a success
// or an hour without failure starts the count again.
func TestAuthThrottleBackoff(t *testing.T) {
	th := newAuthThrottle(10)
	c := netip.MustParseAddr("192.0.2.7")
	now := time.Date(2023, 1, 4, 12, 0, 0, 0, time.UTC)
	for i := range authFreeFailures - 1 {
		if d := th.fail(c, now); d != 0 {
			t.Fatalf("failure %d: wait %s, want none", i+1, d)
		}
	}
	var want []time.Duration
	for d := authBaseDelay; d < authMaxDelay; d *= 2 {
		want = append(want, d)
	}
	want = append(want, authMaxDelay, authMaxDelay)
	for i, w := range want {
		d := th.fail(c, now)
		if d != w {
			t.Fatalf("failure %d: wait %s, want %s", authFreeFailures+i, d, w)
		}
		if got := th.wait(c, now.Add(d-time.Nanosecond)); got != time.Nanosecond {
			t.Fatalf("just before the delay ends: wait %s", got)
		}
		now = now.Add(d)
		if got := th.wait(c, now); got != 0 {
			t.Fatalf("once the delay ended: wait %s", got)
		}
	}
	th.succeed(c)
	if d := th.fail(c, now); d != 0 || len(th.clients) != 1 {
		t.Errorf("after a success, a failure waits %s", d)
	}
	for range authFreeFailures - 2 {
		th.fail(c, now)
	}
	if d := th.fail(c, now.Add(authForgetAfter+time.Second)); d != 0 {
		t.Errorf("a failure an hour after the previous ones waits %s", d)
	}
}

func TestClientOf(t *testing.T) {
	for _, tc := range []struct{ a, b string }{
		{"192.0.2.7:1234", "192.0.2.7:999"},
		{"[2001:db8:1:2::7]:1234", "[2001:db8:1:2:ffff::1]:80"}, // one /64
		{"[::ffff:192.0.2.7]:1", "192.0.2.7:2"},
	} {
		if clientOf(tc.a) != clientOf(tc.b) || !clientOf(tc.a).IsValid() {
			t.Errorf("%s and %s are not the same client: %s, %s", tc.a, tc.b, clientOf(tc.a), clientOf(tc.b))
		}
	}
	for _, tc := range []struct{ a, b string }{
		{"192.0.2.7:1", "192.0.2.8:1"},
		{"[2001:db8:1:2::7]:1", "[2001:db8:1:3::7]:1"},
	} {
		if clientOf(tc.a) == clientOf(tc.b) {
			t.Errorf("%s and %s are the same client", tc.a, tc.b)
		}
	}
}

func TestHostPolicy(t *testing.T) {
	p, err := newHostPolicy([]string{"Prevoir.Example.org", "other.example:8443", "[2001:db8::7]", "192.0.2.9:81"})
	if err != nil {
		t.Fatal(err)
	}
	for host, want := range map[string]bool{
		"localhost": true, "localhost:8080": true, "LOCALHOST.:1": true, "127.0.0.1": true, "127.0.0.1:9": true,
		"[::1]": true, "[::1]:8080": true, "prevoir.example.org": true, "prevoir.example.org:443": true,
		"other.example:8443": true, "[2001:db8::7]:80": true, "[2001:DB8:0::7]": true, "192.0.2.9:81": true,
		"": false, "evil.example": false, "other.example": false, "other.example:80": false, "192.0.2.9": false,
		"192.0.2.9:80": false, "127.0.0.2": false, "localhost.evil.example": false, "prevoir.example.org.evil": false,
		"[::1]x": false,
	} {
		if got := p.allows(host); got != want {
			t.Errorf("Host %q: allowed %v, want %v", host, got, want)
		}
	}
	for addr, everywhere := range map[string]bool{"0.0.0.0:8080": true, ":8080": true, "[::]:8080": true, "10.1.2.3:8080": false, "prevoir-box:8080": false} {
		q := p.withListen(addr)
		if q.everywhere != everywhere {
			t.Errorf("listen on %s: everywhere %v", addr, q.everywhere)
		}
		if name, _ := splitHost(addr); !everywhere && (!q.allows(name) || !q.allows(addr) || p.allows(addr)) {
			t.Errorf("listen on %s: its host is not answered by the new policy only", addr)
		}
	}
	for _, bad := range []string{"", " ", "http://prevoir.example.org", "prevoir.example.org/x", "prevoir.example.org:99999", "prevoir.example.org:x", "user@host", "pré.example"} {
		if _, err := newHostPolicy([]string{bad}); err == nil {
			t.Errorf("entry %q accepted", bad)
		}
	}
}
