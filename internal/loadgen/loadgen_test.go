package loadgen_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/internal/loadgen"
)

func TestWithTargets(t *testing.T) {
	got, err := loadgen.WithTargets([]string{"http://h/api/v1/forecast?format=csv", "http://h/"}, []string{"all"})
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, base := range []string{"http://h/api/v1/forecast?format=csv&target=", "http://h/?target="} {
		for _, n := range prevoir.TargetNames() {
			want = append(want, base+n)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("WithTargets = %q, want %q", got, want)
	}
	if got, _ := loadgen.WithTargets([]string{"http://h/"}, nil); !slices.Equal(got, []string{"http://h/"}) {
		t.Errorf("no targets: %q", got)
	}
	if _, err := loadgen.WithTargets([]string{"http://h/"}, []string{"hosp", "beds"}); err == nil || !strings.Contains(err.Error(), `"beds"`) {
		t.Errorf("an unknown target: %v", err)
	}
}

// TestRunSpreadsTheTargets sends a short load over the five targets' URLs to a real server,
// which counts what it was asked for: every target, in equal shares.
func TestRunSpreadsTheTargets(t *testing.T) {
	var mu sync.Mutex
	asked := map[string]int{}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		asked[r.URL.Query().Get("target")]++
		mu.Unlock()
		w.Write([]byte("{}"))
	}))
	defer ts.Close()
	urls, err := loadgen.WithTargets([]string{ts.URL + "/api/v1/forecast"}, []string{"all"})
	if err != nil {
		t.Fatal(err)
	}
	r, err := loadgen.Run(context.Background(), loadgen.Config{URLs: urls, Rate: 100, Conns: 4, Duration: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if r.Sent != 50 || r.Errors != 0 || r.Statuses[200] != 50 {
		t.Fatalf("result %s", r)
	}
	for _, n := range prevoir.TargetNames() {
		if asked[n] != 10 {
			t.Errorf("target %s asked %d times, want 10 (all: %v)", n, asked[n], asked)
		}
	}
}
