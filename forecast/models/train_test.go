package models_test

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"

	"github.com/prevoir/prevoir/forecast/internal/testframe"
	"github.com/prevoir/prevoir/forecast/models"
)

// TestFitFinalReportsEveryNetwork: the fit a training registers reports each epoch of the
// network it serves, alone or inside the +hol and +cp wrappers (whose networks WithEpochs
// reaches too), even when a fit before it (the backtest's last origin) already trained that
// network on the retraining grid; it is the same model as that fit. A model without a network
// reports nothing.
func TestFitFinalReportsEveryNetwork(t *testing.T) {
	ctx := context.Background()
	f := testframe.New(testframe.Noisy(400, 7), nil)
	for _, name := range []string{"rnn", "rnn+cp", "rnn+hol", "tcn+hol+cp", "ets+cp"} {
		t.Run(name, func(t *testing.T) {
			fc, err := models.Lookup(name)
			if err != nil {
				t.Fatal(err)
			}
			fc = models.WithEpochs(fc, 2)
			before, err := fc.Fit(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			var (
				mu  sync.Mutex
				got []string
			)
			ft, err := models.FitFinal(ctx, fc, f, func(epoch int, metric string, value float64) {
				mu.Lock()
				defer mu.Unlock()
				got = append(got, fmt.Sprintf("%s@%d", metric, epoch))
			})
			if err != nil {
				t.Fatal(err)
			}
			want := []string{models.MetricTrainMSE + "@1", models.MetricTrainMSE + "@2"}
			if name == "ets+cp" {
				want = nil
			}
			if !slices.Equal(got, want) {
				t.Errorf("reported %v, want %v", got, want)
			}
			if name != "rnn" { // a network alone is trained on all the data, not on the grid
				if a, b := predict(t, ft), predict(t, before); !reflect.DeepEqual(a.Point, b.Point) || !reflect.DeepEqual(a.Values, b.Values) {
					t.Errorf("the final fit forecasts %v, the fit before it %v", a.Point, b.Point)
				}
			}
		})
	}
}
