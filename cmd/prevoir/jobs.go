package main

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/prevoir/prevoir/jobs"
	"github.com/riverqueue/river/rivertype"
	"github.com/spf13/cobra"
)

// jobJSON is a job as "prevoir jobs --json" prints it, under prevoir's own snake_case names
// (those of runs and snapshots), fixed here whatever River does: the arguments and the metadata
// are JSON objects (River's row holds their bytes), and process names the process that runs the
// job or ran its last attempt (host:pid, as runs name their owner).
type jobJSON struct {
	ID          int64                    `json:"id"`
	Kind        string                   `json:"kind"`
	State       rivertype.JobState       `json:"state"`
	Args        json.RawMessage          `json:"args"`
	Process     string                   `json:"process"`
	AttemptedBy []string                 `json:"attempted_by"`
	Attempt     int                      `json:"attempt"`
	MaxAttempts int                      `json:"max_attempts"`
	CreatedAt   time.Time                `json:"created_at"`
	ScheduledAt time.Time                `json:"scheduled_at"`
	AttemptedAt *time.Time               `json:"attempted_at"`
	FinalizedAt *time.Time               `json:"finalized_at"`
	Errors      []rivertype.AttemptError `json:"errors"`
	Metadata    json.RawMessage          `json:"metadata"`
	Queue       string                   `json:"queue"`
	Priority    int                      `json:"priority"`
	Tags        []string                 `json:"tags"`
}

func newJobJSON(j *rivertype.JobRow) jobJSON {
	return jobJSON{
		ID: j.ID, Kind: j.Kind, State: j.State, Args: rawJSON(j.EncodedArgs), Process: jobProcess(j),
		AttemptedBy: j.AttemptedBy, Attempt: j.Attempt, MaxAttempts: j.MaxAttempts,
		CreatedAt: j.CreatedAt, ScheduledAt: j.ScheduledAt, AttemptedAt: j.AttemptedAt, FinalizedAt: j.FinalizedAt,
		Errors: j.Errors, Metadata: rawJSON(j.Metadata), Queue: j.Queue, Priority: j.Priority, Tags: j.Tags,
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

func (a *app) jobsCommand() *cobra.Command {
	var (
		limit  int
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "jobs",
		Short: "List recent and scheduled jobs with their state and the process running them",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, _, err := a.stores(cmd.Context()); err != nil {
				return err
			}
			queue, err := jobs.Open(cmd.Context(), a.db, nil, jobs.DefaultConfig(), a.logger)
			if err != nil {
				return err
			}
			defer queue.Close()
			list, err := queue.Jobs(cmd.Context(), limit)
			if err != nil {
				return err
			}
			if asJSON {
				out := make([]jobJSON, 0, len(list))
				for _, j := range list {
					out = append(out, newJobJSON(j))
				}
				return a.printJSON(out)
			}
			t := newTable(a.stdout)
			t.row("ID", "KIND", "STATE", "PROCESS", "ATTEMPT", "CREATED", "SCHEDULED", "ARGS", "LAST ERROR")
			for _, j := range list {
				lastErr := ""
				if len(j.Errors) > 0 {
					lastErr = firstLine(j.Errors[len(j.Errors)-1].Error, 60)
				}
				proc := jobProcess(j)
				if proc == "" {
					proc = "-"
				}
				t.row(strconv.FormatInt(j.ID, 10), j.Kind, string(j.State), proc, fmt.Sprintf("%d/%d", j.Attempt, j.MaxAttempts),
					shortTime(j.CreatedAt), shortTime(j.ScheduledAt), strings.TrimSpace(string(j.EncodedArgs)), lastErr)
			}
			return t.flush()
		},
	}
	intVar(cmd.Flags(), &limit, "limit", 30, between(1, 10000), "at most this many jobs")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	markPerInvocation(cmd, "limit", "json")
	markReadOnly(cmd)
	return cmd
}
