package backtest

import (
	"fmt"
	"slices"

	"github.com/prevoir/prevoir"
)

// SelectBatch is the champion rule of a training batch, whole: what the training flow applies
// once every model of the batch is trained and registered, from what it stored.
//
//   - results are the backtests of the batch's models (one per model trained successfully),
//     made on the same frame and origins: they are merged, and every model of the batch is a
//     candidate (opts.Candidates is ignored).
//   - The gate (Ineligible) keeps a model from being champion when it failed at some origin,
//     has no interval, or its 80% interval covered less than opts.MinCoverage80.
//   - current is the current champion (nil if none). Retrained in this batch, it competes
//     through its new backtest. Not retrained (a training of a few models), it competes with
//     its own stored backtest, currentBacktest, when that was made on the batch's origins and
//     horizon; otherwise (other origins, or no stored backtest) it stays, since nothing
//     comparable says a challenger is better, and the decision says so.
//   - The candidates are ranked and the margin applied as Champion does.
//
// It returns the decision and the batch's leaderboard: the merged result with the decision,
// its models in SortModels order, in a backtest's format; the leaderboard is nil when nothing
// was ranked. When the rule names no champion (no model in the batch, none eligible, no
// observed day to rank them on) the error (EINVALID) gives the decision's reason and says that
// the current champion stays; the decision is zero only when the batch has no model.
func SelectBatch(batch string, results []*Result, current *prevoir.ModelVersion, currentBacktest *Result, opts ChampionOptions) (Decision, *Result, error) {
	if len(results) == 0 {
		return Decision{}, nil, prevoir.Errorf(prevoir.EINVALID, "batch %s: no model was trained successfully", batch)
	}
	merged := &Result{Protocol: results[0].Protocol, Reference: results[0].Reference}
	for _, r := range results {
		merge(merged, r)
	}
	opts.Candidates = nil
	name := ""
	if current != nil {
		name = current.Family
		if _, retrained := merged.Score(name); !retrained {
			if !sameOrigins(currentBacktest, merged) {
				return Decision{Champion: name, Current: name,
					Reason: fmt.Sprintf("current champion %s v%d kept: it was not retrained in batch %s and its backtest is on other origins, so the batch's models cannot be compared with it",
						name, current.Version, batch)}, nil, nil
			}
			merge(merged, currentBacktest)
		}
	}
	dec, err := Champion(merged, name, opts)
	if err != nil {
		kept := "there is no champion"
		if current != nil {
			kept = fmt.Sprintf("the champion stays %s v%d", current.Family, current.Version)
		}
		return dec, nil, prevoir.Errorf(prevoir.EINVALID, "batch %s: %s; %s", batch, dec.Reason, kept)
	}
	merged.Champion, merged.Decision = dec.Champion, dec
	SortModels(merged.Models)
	return dec, merged, nil
}

// sameOrigins reports whether r (nil: none) was made on the origins and horizon of batch.
func sameOrigins(r, batch *Result) bool {
	return r != nil && slices.Equal(r.Protocol.Origins, batch.Protocol.Origins) && r.Protocol.Horizon == batch.Protocol.Horizon
}

// merge appends r's models, forecasts and fits to into; the protocol and references are
// into's (the same for every model of a batch: same frame, same origins).
func merge(into, r *Result) {
	into.Models = append(into.Models, r.Models...)
	into.Forecasts = append(into.Forecasts, r.Forecasts...)
	into.Weekly = append(into.Weekly, r.Weekly...)
	into.Fits = append(into.Fits, r.Fits...)
}
