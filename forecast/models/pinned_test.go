package models_test

import (
	"context"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/forecast/internal/testframe"
	"github.com/prevoir/prevoir/forecast/models"
)

func predict(t *testing.T, ft prevoir.Fitted) *prevoir.Forecast {
	t.Helper()
	fc, err := ft.Predict(context.Background(), prevoir.DefaultHorizon, prevoir.DefaultQuantiles())
	if err != nil {
		t.Fatal(err)
	}
	return fc
}

func blobs(saved *models.Saved) func(string) ([]byte, error) {
	return func(name string) ([]byte, error) {
		b, ok := saved.Blobs[name]
		if !ok {
			return nil, fmt.Errorf("no blob %s", name)
		}
		return b, nil
	}
}

// TestPinnedModels: for every family (and the wrappers), a pinned fit loaded on the frame it
// was fitted on forecasts exactly as the fit; loaded on a longer frame it keeps the pinned
// parameters (pinning it again gives the same state) and forecasts otherwise than a fit on that
// frame, except the benchmarks, which estimate nothing.
func TestPinnedModels(t *testing.T) {
	ctx := context.Background()
	y := testframe.Noisy(780, 7)
	short, long := testframe.New(y[:700], nil), testframe.New(y, nil)
	// The models on leading indicators read admissions: deaths are a delayed tenth of them.
	adm := testframe.Noisy(800, 3)
	deaths := make([]float64, len(y))
	for i := range deaths {
		deaths[i] = math.Round(adm[i+20-12] / 10)
	}
	covShort := testframe.New(deaths[:700], map[string][]float64{"incid_hosp": adm[20:720], "incid_rea": adm[20:720]})
	covLong := testframe.New(deaths, map[string][]float64{"incid_hosp": adm[20:800], "incid_rea": adm[20:800]})
	for _, name := range []string{"naive", "snaive", "mean7", "drift", "ets", "ets_log", "ets_fast", "ets_log_fast", "theta", "otm",
		"linreg", "leadreg", "weekly", "ets+hol", "theta+cp", "linreg+hol+cp", "leadreg+hol+cp", "ensemble", "ensemble_mean", "rnn",
		"secondary", "secondary_rea", "secondary+cp", "ensemble_lead",
		"ets_damped", "growthreg", "leadreg_rea", "weekly_rea", "ensemble_adm_mean", "ensemble_icu", "ensemble_occ_mean"} {
		t.Run(name, func(t *testing.T) {
			short, long := short, long
			if strings.HasPrefix(name, "secondary") || strings.HasPrefix(name, "leadreg") || strings.HasPrefix(name, "weekly") ||
				slices.Contains([]string{"ensemble_lead", "ensemble_adm_mean", "ensemble_icu", "ensemble_occ_mean"}, name) {
				short, long = covShort, covLong
			}
			fc, err := models.Lookup(name)
			if err != nil {
				t.Fatal(err)
			}
			fc = models.WithEpochs(fc, 1)
			ft, err := fc.Fit(ctx, short)
			if err != nil {
				t.Fatal(err)
			}
			saved, err := models.Save(ctx, ft)
			if err != nil {
				t.Fatal(err)
			}
			if saved.Summary == "" {
				t.Error("no summary")
			}
			loaded, err := models.Load(ctx, saved.State, blobs(saved), short)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := predict(t, loaded), predict(t, ft); !reflect.DeepEqual(got, want) {
				t.Fatalf("loaded on the same frame:\n%+v\nwant\n%+v", got, want)
			}

			later, err := models.Load(ctx, saved.State, blobs(saved), long)
			if err != nil {
				t.Fatal(err)
			}
			again, err := models.Save(ctx, later)
			if err != nil {
				t.Fatal(err)
			}
			if string(again.State) != string(saved.State) || !reflect.DeepEqual(again.Blobs, saved.Blobs) {
				t.Errorf("pinned again on the longer frame, the state changed:\n%.600s\nwant\n%.600s", again.State, saved.State)
			}
			got := predict(t, later)
			if got.Origin != long.Dates[long.Len()-1] {
				t.Fatalf("forecast from %s, want the longer frame's last day %s", got.Origin, long.Dates[long.Len()-1])
			}
			refit, err := fc.Fit(ctx, long)
			if err != nil {
				t.Fatal(err)
			}
			estimates := !slices.Contains([]string{"naive", "snaive", "mean7", "drift"}, name)
			if same := reflect.DeepEqual(got, predict(t, refit)); same == estimates {
				t.Errorf("on the longer frame the pinned model forecasts the same as a refit: %v, want %v", same, !estimates)
			}
		})
	}
}

// TestLoadRefusesBadStates: an unknown kind, a missing blob and a state that is not JSON are
// errors that say so.
func TestLoadRefusesBadStates(t *testing.T) {
	ctx := context.Background()
	f := testframe.New(testframe.Noisy(200, 1), nil)
	none := func(name string) ([]byte, error) { return nil, fmt.Errorf("no blob %s", name) }
	for state, want := range map[string]string{
		`{"kind": "prophet", "state": {}}`:                                  `unknown kind "prophet"`,
		`{"kind": "neural", "state": {"name": "rnn"}, "blob": "model.bin"}`: "no blob model.bin",
		`ETS(A,N,N)`: "pinned state",
		`{"kind": "secondary", "state": {"name": "secondary", "params": {"delay_mean": 12, "delay_sd": 3, "dispersion": 20}}}`:                     "want one inner",
		`{"kind": "ets", "state": {"name": "ets", "start": "2030-01-01", "model": {"spec": "ANN", "alpha": 0.5, "phi": 1, "initial_state": [1]}}}`: "outside the frame",
	} {
		if _, err := models.Load(ctx, []byte(state), none, f); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Load(%s): %v, want an error with %q", state, err, want)
		}
	}
}
