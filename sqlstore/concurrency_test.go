package sqlstore_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/internal/testutil"
	"github.com/prevoir/prevoir/sqlstore"
)

// The concurrency test runs writers in this process and in two child processes (this test
// binary, re-executed with PREVOIR_TEST_WRITER set), as two prevoir workers would.
func TestMain(m *testing.M) {
	if url := os.Getenv("PREVOIR_TEST_WRITER"); url != "" {
		if err := writeMany(context.Background(), url, os.Getenv("PREVOIR_TEST_WRITER_NAME")); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

const (
	writersPerProcess = 3
	runsPerWriter     = 4
	stepsPerRun       = 5
)

// writeMany is one process's share: goroutines that each log runs with a training curve and an
// artifact, register each as a version of model "m", and make it the champion.
func writeMany(ctx context.Context, url, name string) error {
	db, err := sqlstore.Open(ctx, url)
	if err != nil {
		return err
	}
	defer db.Close()
	rs, rg := sqlstore.NewRunStore(db), sqlstore.NewRegistry(db)
	var wg sync.WaitGroup
	errs := make(chan error, writersPerProcess)
	for g := range writersPerProcess {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range runsPerWriter {
				if err := writeOne(ctx, rs, rg, fmt.Sprintf("%s-%d-%d", name, g, k)); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

func writeOne(ctx context.Context, rs *sqlstore.RunStore, rg *sqlstore.Registry, name string) error {
	r := &prevoir.Run{Kind: prevoir.RunTrain, Name: name, Params: map[string]string{"name": name}}
	if err := rs.CreateRun(ctx, r); err != nil {
		return err
	}
	for s := range stepsPerRun {
		if err := rs.LogMetrics(ctx, r.ID, []prevoir.Metric{{Key: "loss", Step: int64(s), Value: 1 / float64(s+1)}}); err != nil {
			return err
		}
	}
	if err := rs.LogArtifact(ctx, prevoir.Artifact{RunID: r.ID, Path: "model.bin", BlobKey: "k/" + r.ID, SHA256: sha(9), Size: 1}); err != nil {
		return err
	}
	if err := rs.EndRun(ctx, r.ID, prevoir.RunFinished, ""); err != nil {
		return err
	}
	v := &prevoir.ModelVersion{Model: "m", Family: "ets", RunID: r.ID, ArtifactPath: "model.bin"}
	if err := rg.CreateModelVersion(ctx, v); err != nil {
		return err
	}
	_, err := rg.SetAlias(ctx, "m", prevoir.AliasChampion, v.Version, "by "+name)
	return err
}

func TestConcurrentWritersAndProcesses(t *testing.T) {
	testutil.ForEachDatabase(t, func(t *testing.T, url string) {
		ctx := context.Background()
		db := openDB(t, url)
		rs, rg := sqlstore.NewRunStore(db), sqlstore.NewRegistry(db)
		// A champion exists before the storm, so it must resolve at every moment.
		if err := writeOne(ctx, rs, rg, "seed"); err != nil {
			t.Fatal(err)
		}

		stop := make(chan struct{})
		var reads, bad atomic.Int64
		var readerDone sync.WaitGroup
		readerDone.Add(1)
		go func() {
			defer readerDone.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				v, err := rg.ResolveAlias(ctx, "m", prevoir.AliasChampion)
				if err != nil || v.Version < 1 {
					bad.Add(1)
					t.Errorf("champion did not resolve: %v", err)
				}
				reads.Add(1)
			}
		}()

		var procs []*exec.Cmd
		for p := range 2 {
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), "PREVOIR_TEST_WRITER="+url, "PREVOIR_TEST_WRITER_NAME=proc"+strconv.Itoa(p))
			cmd.Stderr = os.Stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			procs = append(procs, cmd)
		}
		if err := writeMany(ctx, url, "local"); err != nil {
			t.Error(err)
		}
		for _, p := range procs {
			if err := p.Wait(); err != nil {
				t.Errorf("writer process: %v", err)
			}
		}
		close(stop)
		readerDone.Wait()

		want := 1 + 3*writersPerProcess*runsPerWriter
		runs, err := rs.ListRuns(ctx, prevoir.RunFilter{})
		if err != nil || len(runs) != want {
			t.Fatalf("%d runs, want %d (%v)", len(runs), want, err)
		}
		names := map[string]bool{}
		for _, r := range runs {
			if names[r.Name] {
				t.Errorf("run %s stored twice", r.Name)
			}
			names[r.Name] = true
			if ms, _ := rs.Metrics(ctx, r.ID, "loss"); len(ms) != stepsPerRun {
				t.Errorf("run %s has %d loss values, want %d", r.Name, len(ms), stepsPerRun)
			}
		}
		versions, err := rg.ListModelVersions(ctx, "m")
		if err != nil {
			t.Fatal(err)
		}
		nums := make([]int, len(versions))
		for i, v := range versions {
			nums[i] = v.Version
		}
		sort.Ints(nums)
		for i, n := range nums {
			if n != i+1 {
				t.Fatalf("version numbers have a gap or a duplicate: %v", nums)
			}
		}
		if len(nums) != want {
			t.Errorf("%d versions, want %d", len(nums), want)
		}
		hist, _ := rg.AliasHistory(ctx, "m", prevoir.AliasChampion)
		if len(hist) != want {
			t.Errorf("%d champion moves recorded, want %d", len(hist), want)
		}
		// Each move starts from where the previous one left the alias.
		for i := 0; i+1 < len(hist); i++ {
			if hist[i].FromVersion != hist[i+1].Version {
				t.Errorf("move %d went from %d but the alias was at %d", i, hist[i].FromVersion, hist[i+1].Version)
			}
		}
		t.Logf("%d champion reads during the writes, %d bad", reads.Load(), bad.Load())
	})
}
