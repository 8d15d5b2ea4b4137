package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/flow"
	"github.com/prevoir/prevoir/sqlstore"
)

// servedJSON is forecast show --json: the served forecast, and whether it is the champion's
// (the same fields as /api/v1/forecast), with its target's name. A target without a forecast
// (with several targets) has no forecast fields and a note saying why.
type servedJSON struct {
	*prevoir.StoredForecast
	Target     string `json:"target"`
	IsChampion bool   `json:"is_champion"`
	Note       string `json:"note,omitempty"`
}

// loadServed returns the forecast prevoir serves for model, as the server does, with its
// champion (nil when there is none).
func loadServed(ctx context.Context, db *sqlstore.DB, model string) (*prevoir.StoredForecast, *prevoir.ModelVersion, error) {
	champ, err := sqlstore.NewRegistry(db).ResolveAlias(ctx, model, prevoir.AliasChampion)
	if err != nil && prevoir.ErrorCode(err) != prevoir.ENOTFOUND {
		return nil, nil, err
	}
	version := 0
	if champ != nil {
		version = champ.Version
	}
	fc, err := sqlstore.NewForecastStore(db).ServedForecast(ctx, model, version)
	if prevoir.ErrorCode(err) == prevoir.ENOTFOUND {
		return nil, champ, prevoir.Errorf(prevoir.ENOTFOUND, "%s", prevoir.NoForecastNote(model, champ))
	}
	return fc, champ, err
}

// forecastChampion runs the forecast flow after the champion alias moved (a promotion, a
// rollback, a training), so that the forecast served is the new champion's from now on, and
// says what it did. With no data yet there is nothing to forecast from: it says so and does not
// fail. Any other failure is returned: the alias has moved, but the served forecast is still
// the previous champion's.
func (a *app) forecastChampion(ctx context.Context, f *flow.Flows) error {
	rep, err := f.Forecast(ctx)
	if err != nil {
		if _, ferr := f.Ingester.Frame(ctx, f.Sources, f.FrameOptions); prevoir.ErrorCode(ferr) == prevoir.ENOTFOUND {
			fmt.Fprintf(a.stdout, "no forecast made: no data to forecast from yet (%v); the champion forecasts once data is ingested\n", ferr)
			return nil
		}
		return fmt.Errorf("the champion's forecast could not be made, so the previous champion's forecast is still served (marked as not the champion's): %w", err)
	}
	fc := rep.Forecast
	how := fmt.Sprintf("made (run %s)", rep.RunID)
	if rep.Existing {
		how = "already made from this data (nothing recomputed)"
	}
	fmt.Fprintf(a.stdout, "forecast of %s v%d (%s) from %s %s: it is the forecast served now\n", fc.Model, fc.Version, fc.Family, fc.Origin, how)
	return nil
}

// afterAliasMove makes the forecast served the new champion's once a command moved target t's
// alias (nothing to do for another alias): the stored snapshots of the selected sources make
// the frame, with the frame settings of the command (those of run forecast).
func (a *app) afterAliasMove(cmd *cobra.Command, p *pipelineFlags, t prevoir.Target, alias string) error {
	if alias != prevoir.AliasChampion {
		return nil
	}
	f, err := a.baseFlows(cmd, p)
	if err != nil {
		return err
	}
	return a.forecastChampion(cmd.Context(), f.For(t))
}
