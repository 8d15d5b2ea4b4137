package main

import (
	"encoding/json"
	"time"

	"github.com/riverqueue/river/rivertype"
)

// jobJSON is a job as "prevoir jobs --json" prints it. The field names are River's, which the
// command printed before it had a type of its own: they are set here so that they stay the same
// whatever River does. The arguments (EncodedArgs) and the metadata are JSON objects, not the
// base64 of their bytes, and Process names the process that runs the job or ran its last
// attempt.
type jobJSON struct {
	ID           int64                    `json:"ID"`
	Kind         string                   `json:"Kind"`
	State        rivertype.JobState       `json:"State"`
	Queue        string                   `json:"Queue"`
	Priority     int                      `json:"Priority"`
	Attempt      int                      `json:"Attempt"`
	MaxAttempts  int                      `json:"MaxAttempts"`
	Process      string                   `json:"Process"`
	AttemptedBy  []string                 `json:"AttemptedBy"`
	AttemptedAt  *time.Time               `json:"AttemptedAt"`
	CreatedAt    time.Time                `json:"CreatedAt"`
	ScheduledAt  time.Time                `json:"ScheduledAt"`
	FinalizedAt  *time.Time               `json:"FinalizedAt"`
	EncodedArgs  json.RawMessage          `json:"EncodedArgs"`
	Metadata     json.RawMessage          `json:"Metadata"`
	Errors       []rivertype.AttemptError `json:"Errors"`
	Tags         []string                 `json:"Tags"`
	UniqueKey    []byte                   `json:"UniqueKey"`
	UniqueStates []rivertype.JobState     `json:"UniqueStates"`
}

func newJobJSON(j *rivertype.JobRow) jobJSON {
	return jobJSON{
		ID: j.ID, Kind: j.Kind, State: j.State, Queue: j.Queue, Priority: j.Priority,
		Attempt: j.Attempt, MaxAttempts: j.MaxAttempts, Process: jobProcess(j), AttemptedBy: j.AttemptedBy,
		AttemptedAt: j.AttemptedAt, CreatedAt: j.CreatedAt, ScheduledAt: j.ScheduledAt, FinalizedAt: j.FinalizedAt,
		EncodedArgs: rawJSON(j.EncodedArgs), Metadata: rawJSON(j.Metadata), Errors: j.Errors, Tags: j.Tags,
		UniqueKey: j.UniqueKey, UniqueStates: j.UniqueStates,
	}
}

// jobProcess is the process running the job, or that ran its last attempt ("" if none did).
func jobProcess(j *rivertype.JobRow) string {
	if len(j.AttemptedBy) == 0 {
		return ""
	}
	return j.AttemptedBy[len(j.AttemptedBy)-1]
}

// rawJSON passes JSON bytes through as JSON, and anything else as a string: the queue stores
// JSON, but one malformed row must not stop the listing.
func rawJSON(b []byte) json.RawMessage {
	if len(b) == 0 {
		return json.RawMessage("null")
	}
	if json.Valid(b) {
		return b
	}
	s, _ := json.Marshal(string(b))
	return s
}
