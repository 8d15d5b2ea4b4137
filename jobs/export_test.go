package jobs

import (
	"context"
	"time"
)

// RescueNow runs one pass of the queue's rescuer, as after an hour of a database that answers.
func (q *Queue) RescueNow(ctx context.Context) error { return q.rescue(ctx, time.Hour) }
