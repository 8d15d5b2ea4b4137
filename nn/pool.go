package nn

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// workerPool runs the chunks of parallel regions on helper goroutines that
// live as long as the Engine.
//
// A training step runs hundreds of short parallel regions (tens of
// microseconds each) back to back. Starting a goroutine per region made the
// second thread useless: by the time the runtime had woken an idle thread
// the calling goroutine had done most chunks alone. The helpers instead
// spin briefly on an epoch counter after each region, so the next region
// finds them awake, and then park on a condition variable so that an idle
// engine costs no CPU (the spin is kept short because the machine is
// shared; GNU OpenMP's long default spin is what made PyTorch's 2-thread
// runs slow there, see shared/bench/README.md).
//
// The caller always works too and takes chunks from the same atomic
// counter, so a region never waits for a helper that has not started; it
// only waits for chunks a helper has already claimed.
type workerPool struct {
	epoch  atomic.Uint64
	cur    atomic.Pointer[job]
	quit   atomic.Bool
	mu     sync.Mutex
	cond   *sync.Cond
	parked int // helpers waiting on cond, guarded by mu
}

type job struct {
	fn        func(w, lo, hi int)
	n, chunks int
	next      atomic.Int64 // next chunk to claim
	done      atomic.Int64 // chunks finished
}

// helperSpin is how long a helper polls the epoch before parking: longer
// than the serial gaps between the regions of a training step (a Tape
// op's bookkeeping, the loss, the next batch), much shorter than a
// scheduler time slice. It is a time, not a count of polls: 4096 polls,
// the earlier bound, lasted only a few µs on the Intel machine of issue
// 16, so helpers parked between regions and woke too late for the next
// one (2 threads 1.17× faster than 1 on a quiet machine, against 1.45-1.6×
// with a 100 µs spin; docs/benchmarks/nn.md).
const helperSpin = 100 * time.Microsecond

func newWorkerPool(helpers int) *workerPool {
	p := &workerPool{}
	p.cond = sync.NewCond(&p.mu)
	for w := 1; w <= helpers; w++ {
		go p.helper(w)
	}
	return p
}

// run executes j's chunks on the calling goroutine (worker 0) and the
// helpers, and returns when all are done.
func (p *workerPool) run(j *job) {
	p.cur.Store(j)
	p.epoch.Add(1)
	p.mu.Lock()
	if p.parked > 0 {
		p.cond.Broadcast()
	}
	p.mu.Unlock()
	j.work(0)
	for spins := 0; j.done.Load() < int64(j.chunks); spins++ {
		if spins > 64 {
			runtime.Gosched() // a helper was descheduled mid-chunk
		}
	}
	// Drop the job: its closure may reference the Engine, which must stay
	// collectable (its cleanup stops the helpers).
	p.cur.Store(nil)
}

func (j *job) work(w int) {
	for {
		c := int(j.next.Add(1) - 1)
		if c >= j.chunks {
			return
		}
		j.fn(w, j.n*c/j.chunks, j.n*(c+1)/j.chunks)
		j.done.Add(1)
	}
}

func (p *workerPool) helper(w int) {
	var seen uint64
	for {
		var start time.Time
		for spins := 0; p.epoch.Load() == seen; spins++ {
			if p.quit.Load() {
				return
			}
			if spins&255 != 0 { // read the clock every 256 polls
				continue
			}
			if spins == 0 {
				start = time.Now()
			}
			if time.Since(start) < helperSpin {
				continue
			}
			p.mu.Lock()
			p.parked++
			for p.epoch.Load() == seen && !p.quit.Load() {
				p.cond.Wait()
			}
			p.parked--
			p.mu.Unlock()
		}
		seen = p.epoch.Load()
		if j := p.cur.Load(); j != nil {
			j.work(w)
		}
	}
}

func (p *workerPool) close() {
	p.quit.Store(true)
	p.mu.Lock()
	p.cond.Broadcast()
	p.mu.Unlock()
}
