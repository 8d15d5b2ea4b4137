package datagouv_test

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/datagouv"
)

// recordSleeps makes c record the waits between its attempts instead of spending them.
func recordSleeps(c *datagouv.Client) *[]time.Duration {
	var waits []time.Duration
	c.Sleep = func(ctx context.Context, d time.Duration) error {
		waits = append(waits, d)
		return ctx.Err()
	}
	return &waits
}

// TestFetchBackoffDoubles: the wait before each retry doubles, from Backoff up to MaxBackoff,
// each with its ±25% jitter.
func TestFetchBackoffDoubles(t *testing.T) {
	srv, n := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down", http.StatusServiceUnavailable)
	})
	c := &datagouv.Client{MaxAttempts: 6, Backoff: time.Second, MaxBackoff: 6 * time.Second}
	waits := recordSleeps(c)
	fetchFails(t, c, srv.URL+"/x.csv", 6, prevoir.EUNAVAILABLE, "503 Service Unavailable")
	if got := n.Load(); got != 6 {
		t.Errorf("server saw %d requests, want 6", got)
	}
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 6 * time.Second, 6 * time.Second}
	if len(*waits) != len(want) {
		t.Fatalf("waits %v, want %d (about %v)", *waits, len(want), want)
	}
	for i, d := range *waits {
		if lo, hi := want[i]*3/4, want[i]*5/4; d < lo || d > hi {
			t.Errorf("wait %d is %v, want %v ± 25%% (all waits: %v)", i+1, d, want[i], *waits)
		}
	}
}

// TestFetchWaitsRetryAfter: a 429 or 503 asking to retry after some seconds is retried after
// exactly that, when it is longer than the backoff; a shorter one does not shorten the backoff.
func TestFetchWaitsRetryAfter(t *testing.T) {
	tests := []struct {
		name       string
		answers    []int    // statuses before the file is served
		retryAfter []string // their Retry-After headers
		backoff    time.Duration
		lo, hi     []time.Duration // the bounds of each wait
	}{
		{"longer than the backoff", []int{http.StatusTooManyRequests, http.StatusServiceUnavailable}, []string{"7", "3"}, 10 * time.Millisecond,
			[]time.Duration{7 * time.Second, 3 * time.Second}, []time.Duration{7 * time.Second, 3 * time.Second}},
		{"shorter than the backoff", []int{http.StatusServiceUnavailable}, []string{"1"}, 4 * time.Second,
			[]time.Duration{3 * time.Second}, []time.Duration{5 * time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int64
			srv, _ := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
				if i := int(calls.Add(1)) - 1; i < len(tt.answers) {
					w.Header().Set("Retry-After", tt.retryAfter[i])
					http.Error(w, "wait", tt.answers[i])
					return
				}
				w.Write([]byte("date,x\n2022-08-26,1\n"))
			})
			c := &datagouv.Client{MaxAttempts: 4, Backoff: tt.backoff, MaxBackoff: 10 * time.Second}
			waits := recordSleeps(c)
			resp, err := c.Fetch(context.Background(), datagouv.Request{URL: srv.URL + "/x.csv"})
			if err != nil || resp.Attempts != len(tt.answers)+1 {
				t.Fatalf("got %v after %+v, want the file at attempt %d", err, resp, len(tt.answers)+1)
			}
			if len(*waits) != len(tt.lo) {
				t.Fatalf("waits %v, want %d", *waits, len(tt.lo))
			}
			for i, d := range *waits {
				if d < tt.lo[i] || d > tt.hi[i] {
					t.Errorf("wait %d after Retry-After %s s is %v, want %v to %v", i+1, tt.retryAfter[i], d, tt.lo[i], tt.hi[i])
				}
			}
		})
	}
}
