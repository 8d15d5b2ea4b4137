package main

import (
	"context"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/csvsource"
	"github.com/prevoir/prevoir/forecast/models"
	"github.com/prevoir/prevoir/ingest"
	"github.com/prevoir/prevoir/internal/testutil"
	"github.com/prevoir/prevoir/sqlstore"
)

// TestPromotedOldVersionServesItsPinnedModel: ets trained on the release of 5 August 2022,
// then on the current data, gives two versions with different parameters; promoting the old
// one serves its parameters applied to the latest data — not the newest version's forecast, nor
// a refit — and models show says what each version pins.
func TestPromotedOldVersionServesItsPinnedModel(t *testing.T) {
	c := newCLI(t)
	old := copyData(t, "vintages/table-indicateurs-open-data-france-2022-08-05-19h01.csv", "vintages/sp-fra-jour-2022-08-05-19h01.csv")
	data := testutil.DataDir(t)
	c.ok("run", "ingest", "--source-dir", old)
	c.ok("run", "train", "--source-dir", old, "--models", "snaive,ets,theta", "--train-origins", "2")
	c.ok("run", "ingest", "--source-dir", data)
	c.ok("run", "train", "--source-dir", data, "--models", "snaive,ets,theta", "--train-origins", "2")

	var shown struct {
		Versions []prevoir.ModelVersion `json:"versions"`
		Pinned   map[int]string         `json:"pinned"`
	}
	c.okJSON(&shown, "models", "show", "incid_dchosp", "--json")
	var ets []prevoir.ModelVersion // oldest first
	for _, v := range shown.Versions {
		if v.Family == "ets" {
			ets = append(ets, v)
		}
	}
	slices.SortFunc(ets, func(a, b prevoir.ModelVersion) int { return a.Version - b.Version })
	if len(ets) != 2 {
		t.Fatalf("ets versions %+v, want 2", ets)
	}
	first, newest := ets[0], ets[1]
	if p, q := shown.Pinned[first.Version], shown.Pinned[newest.Version]; !strings.HasPrefix(p, "ETS(") || !strings.Contains(p, "alpha=") || p == q {
		t.Fatalf("pinned: v%d %q, v%d %q; want two different ETS models", first.Version, p, newest.Version, q)
	}
	if text := c.ok("models", "show", "incid_dchosp"); !strings.Contains(text, "What each version pins") || !strings.Contains(text, shown.Pinned[first.Version]) {
		t.Errorf("models show does not say what v%d pins:\n%s", first.Version, text)
	}

	served := func(v prevoir.ModelVersion) *prevoir.StoredForecast {
		t.Helper()
		c.ok("models", "promote", "incid_dchosp", strconv.Itoa(v.Version))
		c.ok("run", "forecast", "--source-dir", data)
		var fc prevoir.StoredForecast
		c.okJSON(&fc, "forecast", "show", "--json")
		if fc.Version != v.Version {
			t.Fatalf("served v%d's forecast, promoted v%d", fc.Version, v.Version)
		}
		return &fc
	}
	fromOld, fromNewest := served(first), served(newest)
	if reflect.DeepEqual(fromOld.Point, fromNewest.Point) {
		t.Fatalf("the old ets version forecasts as the newest: %v", fromOld.Point)
	}

	// What the old parameters give on the latest data, recomputed from its pinned state.
	ctx := context.Background()
	db, blobs := c.stores()
	srcs, err := ingest.WithSourceDir(prevoir.DefaultSources(), data)
	if err != nil {
		t.Fatal(err)
	}
	frame, err := (&ingest.Service{Snapshots: sqlstore.NewSnapshotStore(db), Blobs: blobs}).Frame(ctx, srcs, prevoir.DefaultFrameOptions())
	if err != nil {
		t.Fatal(err)
	}
	if sha := csvsource.FrameSHA256(frame); sha != fromOld.FrameSHA256 {
		t.Fatalf("frame %.12s, the forecast's %.12s", sha, fromOld.FrameSHA256)
	}
	state := c.ok("artifacts", "get", first.RunID, prevoir.PinnedArtifact)
	ft, err := models.Load(ctx, []byte(state), nil, frame)
	if err != nil {
		t.Fatal(err)
	}
	want, err := ft.Predict(ctx, prevoir.DefaultHorizon, prevoir.DefaultQuantiles())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(fromOld.Point, want.Point) || !reflect.DeepEqual(fromOld.Values, want.Values) {
		t.Errorf("v%d served %v, its pinned parameters give %v on the latest data", first.Version, fromOld.Point, want.Point)
	}
	fc, _ := models.Lookup("ets")
	refit, err := fc.Fit(ctx, frame)
	if err != nil {
		t.Fatal(err)
	}
	if r, _ := refit.Predict(ctx, prevoir.DefaultHorizon, nil); reflect.DeepEqual(r.Point, fromOld.Point) {
		t.Errorf("v%d served a refit on the latest data", first.Version)
	}
}
