package jobs_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/internal/testutil"
	"github.com/prevoir/prevoir/jobs"
)

// TestTrainFansOutPerTarget: one train job naming no target, on a queue configured for two
// targets, fans out one train_model job per (target, model), each target with its own models,
// and one select_champion per target over its batch's models; each selection queues the
// forecast of its own target's champion. A score that finds drift retrains its target only.
// Jobs queued before targets existed (no target) are the default target's.
func TestTrainFansOutPerTarget(t *testing.T) {
	testutil.ForEachDatabase(t, func(t *testing.T, dbURL string) {
		ctx := context.Background()
		dt, hosp := prevoir.DefaultTarget, prevoir.TargetHospitalised
		models := map[string][]string{dt: {"snaive", "ets"}, hosp: {"ets", "theta"}}
		champions := map[string]int{dt: 3, hosp: 1}
		var (
			mu        sync.Mutex
			trained   []string            // "target/model"
			selected  map[string][]string // target -> the models it selected among
			forecasts []string            // targets forecast
			batches   = map[string]string{}
		)
		selected = map[string][]string{}
		h := &jobs.Handlers{
			Forecast: func(ctx context.Context, target string) error {
				mu.Lock()
				defer mu.Unlock()
				forecasts = append(forecasts, target)
				return nil
			},
			Score: func(ctx context.Context, target string) (bool, error) { return target == hosp, nil },
			TrainModel: func(ctx context.Context, target, batch, model string, epochs int) error {
				mu.Lock()
				defer mu.Unlock()
				trained = append(trained, target+"/"+model)
				batches[target+"/"+model] = batch
				return nil
			},
			SelectChampion: func(ctx context.Context, target, batch string, ms []string) (int, error) {
				mu.Lock()
				defer mu.Unlock()
				for _, m := range ms {
					if batches[target+"/"+m] != batch {
						return 0, fmt.Errorf("select %s of batch %s before its model %s was trained", target, batch, m)
					}
				}
				selected[target] = ms
				return champions[target], nil
			},
			Models: func(target string) []string { return models[target] },
		}
		cfg := jobs.DefaultConfig()
		cfg.Targets = []string{dt, hosp}
		q, _ := openQueue(t, dbURL, h, cfg)
		if err := q.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { q.Stop(ctx) })

		train, _, err := q.Insert(ctx, jobs.TrainArgs{Trigger: "test"})
		if err != nil {
			t.Fatal(err)
		}
		waitState(t, q, train.ID, rivertype.JobStateCompleted)
		// Every selection and the forecasts it queues done.
		waitFor(t, "each target's selection and forecast", func() (bool, string) {
			mu.Lock()
			defer mu.Unlock()
			return len(forecasts) == 2, fmt.Sprintf("trained %v, selected %v, forecast %v", trained, selected, forecasts)
		})
		mu.Lock()
		slices.Sort(trained)
		if want := []string{hosp + "/ets", hosp + "/theta", dt + "/ets", dt + "/snaive"}; !slices.Equal(trained, want) {
			t.Errorf("trained %v; want one job per (target, model): %v", trained, want)
		}
		for target, ms := range models {
			if !slices.Equal(selected[target], ms) {
				t.Errorf("%s selected among %v; want its batch's models %v", target, selected[target], ms)
			}
		}
		mu.Unlock()
		list, err := q.Jobs(ctx, 50)
		if err != nil {
			t.Fatal(err)
		}
		perTarget := map[string]int{}
		for _, j := range list {
			switch j.Kind {
			case jobs.KindSelectChampion:
				var a jobs.SelectChampionArgs
				if err := json.Unmarshal(j.EncodedArgs, &a); err != nil {
					t.Fatal(err)
				}
				perTarget["select "+a.Target]++
				if a.Batch != fmt.Sprintf("train-%d", train.ID) {
					t.Errorf("selection of %s in batch %s; want the train job's", a.Target, a.Batch)
				}
			case jobs.KindForecast:
				var a jobs.ForecastArgs
				if err := json.Unmarshal(j.EncodedArgs, &a); err != nil {
					t.Fatal(err)
				}
				perTarget["forecast "+a.Target]++
				if a.Champion != champions[a.Target] || a.Trigger != "champion" {
					t.Errorf("forecast job of %s: %+v; want its champion v%d", a.Target, a, champions[a.Target])
				}
			}
		}
		for _, target := range cfg.Targets {
			if perTarget["select "+target] != 1 || perTarget["forecast "+target] != 1 {
				t.Errorf("jobs per target: %v; want one selection and one forecast of %s", perTarget, target)
			}
		}

		// Drift in the score of hosp retrains hosp only; the default target's score does not.
		for _, target := range []string{dt, hosp} {
			score, _, err := q.Insert(ctx, jobs.ScoreArgs{Trigger: "test", Target: target})
			if err != nil {
				t.Fatal(err)
			}
			waitState(t, q, score.ID, rivertype.JobStateCompleted)
		}
		list, err = q.Jobs(ctx, 50)
		if err != nil {
			t.Fatal(err)
		}
		var drift []string
		for _, j := range list {
			var a jobs.TrainArgs
			if j.Kind == jobs.KindTrain && json.Unmarshal(j.EncodedArgs, &a) == nil && a.Trigger == "drift" {
				drift = append(drift, a.Target)
			}
		}
		if !slices.Equal(drift, []string{hosp}) {
			t.Errorf("trainings queued on drift: %v; want %s's only", drift, hosp)
		}

		// A forecast job queued before targets existed forecasts the default target.
		mu.Lock()
		forecasts = nil
		mu.Unlock()
		old, _, err := q.Insert(ctx, jobs.ForecastArgs{Trigger: "before the upgrade"})
		if err != nil {
			t.Fatal(err)
		}
		waitState(t, q, old.ID, rivertype.JobStateCompleted)
		mu.Lock()
		defer mu.Unlock()
		if !slices.Contains(forecasts, dt) {
			t.Errorf("a forecast job with no target forecast %v; want %s", forecasts, dt)
		}
	})
}

// TestJobsUniquePerTarget: two targets' otherwise identical jobs are two jobs, not one.
func TestJobsUniquePerTarget(t *testing.T) {
	ctx := context.Background()
	q, _ := openQueue(t, testutil.SQLiteURL(t), nil, jobs.DefaultConfig())
	for _, args := range []struct{ a, b river.JobArgs }{
		{jobs.ForecastArgs{Trigger: "x", Target: prevoir.DefaultTarget}, jobs.ForecastArgs{Trigger: "x", Target: prevoir.TargetHospitalised}},
		{jobs.ScoreArgs{Trigger: "x", Target: prevoir.DefaultTarget}, jobs.ScoreArgs{Trigger: "x", Target: prevoir.TargetHospitalised}},
		{jobs.TrainModelArgs{Batch: "b", Model: "ets", Target: prevoir.DefaultTarget}, jobs.TrainModelArgs{Batch: "b", Model: "ets", Target: prevoir.TargetHospitalised}},
		{jobs.SelectChampionArgs{Batch: "b", Models: []string{"ets"}, Target: prevoir.DefaultTarget}, jobs.SelectChampionArgs{Batch: "b", Models: []string{"ets"}, Target: prevoir.TargetHospitalised}},
		{jobs.TrainArgs{Trigger: "x", Target: prevoir.DefaultTarget}, jobs.TrainArgs{Trigger: "x", Target: prevoir.TargetHospitalised}},
	} {
		ja, _, err := q.Insert(ctx, args.a)
		if err != nil {
			t.Fatal(err)
		}
		jb, dup, err := q.Insert(ctx, args.b)
		if err != nil || dup || jb.ID == ja.ID {
			t.Errorf("%s of two targets: one job (%v, duplicate %v)", args.a.Kind(), err, dup)
		}
	}
}
