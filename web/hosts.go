package web

import (
	"fmt"
	"maps"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"

	"github.com/prevoir/prevoir"
)

// DNS rebinding: a page of another site can point its own name at 127.0.0.1, or at an address
// of the operator's network, and read what the server answers as if it were its own site. The
// browser still sends that other site's name in the Host header, so the server answers only the
// names it is known by: the host of its listen address, localhost, 127.0.0.1 and [::1], and the
// names the operator lists (Config.AllowedHosts, --allowed-hosts). /healthz and /readyz answer
// any Host: load balancers and container health checks probe by an address or an internal
// name, and the two say only whether the server is up.

// hostPolicy is the set of Host header values the server answers.
type hostPolicy struct {
	names map[string]bool // names answered on any port
	exact map[string]bool // "name:port" answered on that port only
	// everywhere is set when the server listens on every interface (0.0.0.0, ::): the names it
	// is reached by are then for the operator to list.
	everywhere bool
}

// loopbackNames are answered by every server.
var loopbackNames = [...]string{"localhost", "127.0.0.1", "::1"}

// newHostPolicy returns the policy answering the loopback names and the allowed entries, each
// a name or an address, with or without a port.
func newHostPolicy(allowed []string) (*hostPolicy, error) {
	p := &hostPolicy{names: map[string]bool{}, exact: map[string]bool{}}
	for _, n := range loopbackNames {
		p.names[n] = true
	}
	for _, entry := range allowed {
		name, port, err := parseAllowedHost(entry)
		if err != nil {
			return nil, err
		}
		if port == "" {
			p.names[name] = true
		} else {
			p.exact[net.JoinHostPort(name, port)] = true
		}
	}
	return p, nil
}

// parseAllowedHost reads an allowed-hosts entry: a host name or an IP address, optionally with a
// port ("example.org", "example.org:8443", "192.0.2.7", "[2001:db8::7]:8080").
func parseAllowedHost(entry string) (name, port string, err error) {
	bad := func(why string) error {
		return prevoir.Errorf(prevoir.EINVALID, "allowed hosts: entry %q: %s; want a host name or an IP address, with an optional :port (e.g. prevoir.example.org or prevoir.example.org:8443)", entry, why)
	}
	e := strings.TrimSpace(entry)
	switch {
	case e == "":
		return "", "", bad("empty")
	case strings.Contains(e, "://") || strings.ContainsAny(e, "/?#@ "):
		return "", "", bad("a URL or a path, not a host")
	}
	name, port = splitHost(e)
	if port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return "", "", bad("port " + port + " is not a number from 1 to 65535")
		}
	}
	if name == "" {
		return "", "", bad("no host")
	}
	if _, err := netip.ParseAddr(name); err != nil && strings.ContainsFunc(name, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '.' || r == '_')
	}) {
		return "", "", bad("a host name has only letters, digits, '-', '.' and '_'")
	}
	return name, port, nil
}

// splitHost splits a Host header value or an allowed-hosts entry into its normalised name
// (lower case, no trailing dot, an IPv6 address without brackets and in its canonical form)
// and its port ("" when it has none).
func splitHost(hostport string) (name, port string) {
	name = hostport
	if h, p, err := net.SplitHostPort(hostport); err == nil {
		name, port = h, p
	} else {
		name = strings.TrimSuffix(strings.TrimPrefix(name, "["), "]")
	}
	name = strings.TrimSuffix(strings.ToLower(name), ".")
	if a, err := netip.ParseAddr(name); err == nil {
		name = a.Unmap().String()
	}
	return name, port
}

// withListen returns a copy of p that also answers the host of the listen address addr, or
// that knows it listens on every interface.
func (p *hostPolicy) withListen(addr string) *hostPolicy {
	q := &hostPolicy{names: maps.Clone(p.names), exact: p.exact, everywhere: p.everywhere}
	name, _ := splitHost(addr)
	if a, err := netip.ParseAddr(name); name == "" || err == nil && a.IsUnspecified() {
		q.everywhere = true
	} else {
		q.names[name] = true
	}
	return q
}

// allows reports whether the server answers a request with this Host header. The port matters
// only for entries given with one: a rebinding page's requests carry its own name, whatever
// the port.
func (p *hostPolicy) allows(host string) bool {
	name, port := splitHost(host)
	if name == "" {
		return false
	}
	return p.names[name] || port != "" && p.exact[net.JoinHostPort(name, port)]
}

// misdirected is the answer to a request for a host the server does not answer.
func (p *hostPolicy) misdirected(host string) *httpError {
	msg := fmt.Sprintf("this server does not answer to the host %q: it answers its listen address, localhost, 127.0.0.1, [::1] "+
		"and the names given with --allowed-hosts (PREVOIR_ALLOWED_HOSTS), so that pages of other sites cannot reach it through DNS rebinding; "+
		"add the name you reach it by to --allowed-hosts", truncate(host, 100))
	if p.everywhere {
		msg += " (the server listens on every interface, so the names it is reached by must be listed)"
	}
	return &httpError{status: http.StatusMisdirectedRequest, code: "misdirected", msg: msg}
}

// anyHost lists the paths answered whatever the Host (see above).
func anyHost(path string) bool { return path == "/healthz" || path == "/readyz" }

// checkHost refuses requests for hosts the server does not answer, with a 421: JSON under
// /api/, plain text elsewhere (not a page: pages show the alerts).
func (s *Server) checkHost(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := s.hosts.Load()
		if p.allows(r.Host) || anyHost(r.URL.Path) {
			next.ServeHTTP(w, r)
			return
		}
		e := p.misdirected(r.Host)
		s.log.DebugContext(r.Context(), "request for another host refused", "host", truncate(r.Host, 100), "path", truncate(r.URL.Path, 100), "remote", r.RemoteAddr)
		if isAPI(r.URL.Path) {
			s.writeAPIError(w, r, e)
			return
		}
		body := []byte(e.msg + "\n")
		serveBlob(w, r, &blob{status: e.status, ctype: "text/plain; charset=utf-8", body: body, etag: newBlobETag(body)})
	})
}

// allowListen makes the server answer the host of its listen address addr too, and returns
// the policy now in force.
func (s *Server) allowListen(addr string) *hostPolicy {
	p := s.hosts.Load().withListen(addr)
	s.hosts.Store(p)
	return p
}
