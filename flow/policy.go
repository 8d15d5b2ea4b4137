package flow

import (
	"context"
	"slices"

	"github.com/prevoir/prevoir/monitor"
)

// ScoreAndDecide is the score job: it runs the score flow and applies the drift → retrain
// policy, asking for an early training (retrain) when an alert of the scoring says retraining
// may help (the champion drifted: monitor.Alert.Retrain) and RetrainOnDrift allows it.
func (f *Flows) ScoreAndDecide(ctx context.Context) (retrain bool, err error) {
	rep, err := f.Score(ctx)
	if err != nil {
		return false, err
	}
	return f.RetrainOnDrift && slices.ContainsFunc(rep.Alerts, func(a monitor.Alert) bool { return a.Retrain }), nil
}
