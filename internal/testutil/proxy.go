package testutil

import (
	"io"
	"net"
	"net/url"
	"sync"
	"testing"
)

// Proxy forwards TCP connections from a loopback port to a server, and can cut them: an
// outage of that server as its clients see it (connections refused, open ones reset), without
// stopping a server other tests share.
type Proxy struct {
	// Addr is the proxy's address (host:port), stable across Down and Up.
	Addr   string
	target string
	tb     testing.TB

	mu    sync.Mutex
	l     net.Listener
	conns map[net.Conn]struct{}
}

// StartProxy starts a proxy to target (host:port), stopped when the test ends.
func StartProxy(tb testing.TB, target string) *Proxy {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	p := &Proxy{Addr: l.Addr().String(), target: target, tb: tb, conns: map[net.Conn]struct{}{}}
	p.serve(l)
	tb.Cleanup(p.Down)
	return p
}

// ProxyTo starts a proxy to the server of rawURL (a postgres:// or http:// URL) and returns it
// with rawURL rewritten to go through it.
func ProxyTo(tb testing.TB, rawURL string) (*Proxy, string) {
	tb.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		tb.Fatal(err)
	}
	p := StartProxy(tb, u.Host)
	u.Host = p.Addr
	return p, u.String()
}

// Down closes the port and every open connection: new connections are refused.
func (p *Proxy) Down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.l != nil {
		p.l.Close()
		p.l = nil
	}
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
}

// Up opens the port again.
func (p *Proxy) Up() {
	p.tb.Helper()
	l, err := net.Listen("tcp", p.Addr)
	if err != nil {
		p.tb.Fatalf("proxy: listen again on %s: %v", p.Addr, err)
	}
	p.serve(l)
}

func (p *Proxy) serve(l net.Listener) {
	p.mu.Lock()
	p.l = l
	p.mu.Unlock()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go p.forward(c)
		}
	}()
}

func (p *Proxy) forward(c net.Conn) {
	s, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	if p.l == nil { // went down meanwhile
		p.mu.Unlock()
		c.Close()
		s.Close()
		return
	}
	p.conns[c], p.conns[s] = struct{}{}, struct{}{}
	p.mu.Unlock()
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		io.Copy(dst, src)
		done <- struct{}{}
	}
	go pipe(s, c)
	go pipe(c, s)
	<-done
	c.Close()
	s.Close()
	p.mu.Lock()
	delete(p.conns, c)
	delete(p.conns, s)
	p.mu.Unlock()
}
