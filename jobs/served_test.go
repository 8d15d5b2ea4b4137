package jobs_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/riverqueue/river/rivertype"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/internal/testutil"
	"github.com/prevoir/prevoir/jobs"
)

// TestChampionSelectionQueuesItsForecast: once a training's champion selection has run, the
// champion's forecast is queued (one job per champion), so that a new champion's forecast is
// served without waiting for the next refresh; a selection that fails, or leaves no champion,
// queues none.
func TestChampionSelectionQueuesItsForecast(t *testing.T) {
	testutil.ForEachDatabase(t, func(t *testing.T, dbURL string) {
		ctx := context.Background()
		outcomes := map[string]struct {
			champion int
			err      error
		}{
			"train-1": {champion: 3},
			"train-2": {champion: 4},
			"train-3": {err: prevoir.Errorf(prevoir.EINVALID, "batch train-3: no model was trained successfully")},
			"train-4": {},
		}
		h := &jobs.Handlers{
			// The selections are queued directly: no model is trained.
			TrainModel: func(context.Context, string, string, string, int) error { return nil },
			SelectChampion: func(ctx context.Context, target, batch string, models []string) (int, error) {
				o := outcomes[batch]
				return o.champion, o.err
			},
		}
		q, _ := openQueue(t, dbURL, h, jobs.DefaultConfig())
		if err := q.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { q.Stop(ctx) })
		want := map[string]rivertype.JobState{"train-1": rivertype.JobStateCompleted, "train-2": rivertype.JobStateCompleted,
			"train-3": rivertype.JobStateCancelled, "train-4": rivertype.JobStateCompleted}
		for _, batch := range []string{"train-1", "train-2", "train-3", "train-4"} {
			job, _, err := q.Insert(ctx, jobs.SelectChampionArgs{Batch: batch, Models: []string{"ets"}})
			if err != nil {
				t.Fatal(err)
			}
			if j := waitState(t, q, job.ID, rivertype.JobStateCompleted, rivertype.JobStateCancelled); j.State != want[batch] {
				t.Errorf("select %s: %s, want %s", batch, j.State, want[batch])
			}
		}
		list, err := q.Jobs(ctx, 20)
		if err != nil {
			t.Fatal(err)
		}
		var champions []int
		for _, j := range list {
			if j.Kind != jobs.KindForecast {
				continue
			}
			var a jobs.ForecastArgs
			if err := json.Unmarshal(j.EncodedArgs, &a); err != nil {
				t.Fatal(err)
			}
			if a.Trigger != "champion" {
				t.Errorf("forecast job %d: trigger %q", j.ID, a.Trigger)
			}
			// No worker here forecasts: the jobs wait.
			if j.State != rivertype.JobStateAvailable {
				t.Errorf("forecast job %d: %s", j.ID, j.State)
			}
			champions = append(champions, a.Champion)
		}
		// Newest first: v4's job, then v3's, though v3's has not run yet.
		if len(champions) != 2 || champions[0] != 4 || champions[1] != 3 {
			t.Errorf("forecast jobs queued for champions %v, want [4 3]", champions)
		}
	})
}
