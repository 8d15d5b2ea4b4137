package prevoir

import "time"

// JobStatus is a queued job's state, in plain types: what the API and the pages show of a job,
// without the queue's own types.
type JobStatus struct {
	ID          int64      `json:"id"`
	Kind        string     `json:"kind"`
	State       string     `json:"state"`
	Attempt     int        `json:"attempt"`
	MaxAttempts int        `json:"max_attempts"`
	CreatedAt   time.Time  `json:"created_at"`
	AttemptedAt *time.Time `json:"attempted_at,omitempty"`
	FinalizedAt *time.Time `json:"finalized_at,omitempty"`
	// Errors are the failed attempts' messages, oldest first.
	Errors []string `json:"errors,omitempty"`
	// Done is true once the job will not run again (completed, cancelled or discarded).
	Done bool `json:"done"`
}
