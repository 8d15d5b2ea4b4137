package testutil

import (
	"crypto/sha256"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prevoir/prevoir"
)

// Fault is a misbehaviour the fake data.gouv.fr server can inject.
type Fault int

// Faults.
const (
	Fault503       Fault = iota + 1 // 503 Service Unavailable
	FaultTruncated                  // a body cut short of its Content-Length
	FaultHTML                       // a 200 with an HTML error page
	Fault404                        // 404 Not Found
	FaultSlow                       // the file, after SlowDelay
)

// SlowDelay is how long a FaultSlow answer waits.
const SlowDelay = 4 * time.Second

// DataGouvServer is a local stand-in for data.gouv.fr (the real host is out of reach here):
// it serves real files behind the stable /fr/datasets/r/<id> links, which redirect to
// /static/<file> as the real site does, with ETag and Last-Modified validators and 304
// answers, and it can inject faults.
type DataGouvServer struct {
	*httptest.Server
	mu       sync.Mutex
	files    map[string]string // resource id -> path on disk
	faults   map[string][]Fault
	requests map[string]int // resource id -> requests for the file itself
	modTime  time.Time
}

// NewDataGouvServer serves the default sources' files from dir (usually DataDir).
func NewDataGouvServer(tb testing.TB, dir string) *DataGouvServer {
	tb.Helper()
	s := &DataGouvServer{files: map[string]string{}, faults: map[string][]Fault{}, requests: map[string]int{},
		modTime: time.Date(2022, 8, 26, 17, 1, 0, 0, time.UTC)}
	for _, src := range prevoir.DefaultSources() {
		s.files[src.ResourceID] = filepath.Join(dir, src.FileName)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /fr/datasets/r/{id}", func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		s.mu.Lock()
		_, ok := s.files[id]
		s.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		http.Redirect(w, r, "/static/"+id+".csv", http.StatusFound)
	})
	mux.HandleFunc("GET /static/{name}", s.serveFile)
	s.Server = httptest.NewServer(mux)
	tb.Cleanup(s.Close)
	return s
}

// Sources returns the default sources pointed at this server.
func (s *DataGouvServer) Sources() []prevoir.Source {
	srcs := prevoir.DefaultSources()
	for i := range srcs {
		srcs[i].URL = prevoir.StableURL(s.URL, srcs[i].ResourceID)
	}
	return srcs
}

// SetFile makes the server serve path for the resource, as when a new release is published.
func (s *DataGouvServer) SetFile(resourceID, path string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.files[resourceID] = path
	s.modTime = s.modTime.Add(24 * time.Hour)
}

// Inject queues faults for the next requests of the resource's file, one per request.
func (s *DataGouvServer) Inject(resourceID string, faults ...Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[resourceID] = append(s.faults[resourceID], faults...)
}

// Requests returns how many times the resource's file was requested.
func (s *DataGouvServer) Requests(resourceID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[resourceID]
}

func (s *DataGouvServer) serveFile(w http.ResponseWriter, r *http.Request) {
	id := strings.TrimSuffix(r.PathValue("name"), ".csv")
	s.mu.Lock()
	path, ok := s.files[id]
	var fault Fault
	if q := s.faults[id]; len(q) > 0 {
		fault, s.faults[id] = q[0], q[1:]
	}
	s.requests[id]++
	modTime := s.modTime
	s.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	switch fault {
	case Fault503:
		w.Header().Set("Retry-After", "0")
		http.Error(w, "service unavailable", http.StatusServiceUnavailable)
		return
	case Fault404:
		http.NotFound(w, r)
		return
	case FaultSlow:
		select {
		case <-time.After(SlowDelay):
		case <-r.Context().Done():
			return
		}
	case FaultHTML:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, "<!DOCTYPE html><html><head><title>Maintenance</title></head><body>data.gouv.fr est en maintenance</body></html>")
		return
	}
	body, err := os.ReadFile(path)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	etag := fmt.Sprintf(`"%x"`, sha256.Sum256(body))
	w.Header().Set("ETag", etag)
	w.Header().Set("Last-Modified", modTime.Format(http.TimeFormat))
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	if fault == FaultTruncated {
		// Promise the whole file, send half, and let the handler return: the server closes
		// the connection and the client sees an unexpected EOF.
		w.Write(body[:len(body)/2])
		return
	}
	w.Write(body)
}
