package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/internal/testutil"
)

// TestQuarantineAndAccept: through the CLI, a release with a negative death count is
// quarantined by both "ingest" and "run ingest" (non-zero exit, the violation with its file,
// line, column and rule, an alert), listed as such, leaves the frame alone, and becomes current
// with "snapshots accept ID", which records who and why and refuses what it cannot accept.
func TestQuarantineAndAccept(t *testing.T) {
	c := newCLI(t)
	dir := copyData(t, "vintages/table-indicateurs-open-data-france-2022-08-26-19h01.csv", "sp-fra-jour.csv")
	c.ok("ingest", "--source-dir", dir)
	frame := c.ok("frame", "--format", "csv")
	good := c.snapshots()

	body, line := testutil.SpoilField(t, "table-indicateurs-open-data-france.csv", "2022-11-15", "incid_dchosp", "-3")
	if err := os.WriteFile(filepath.Join(dir, "table-indicateurs-open-data-france.csv"), body, 0o644); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf(`quarantined: table-indicateurs-open-data-france.csv line %d column incid_dchosp: -3 breaks rule "non-negative integer"`, line)
	code, out, errs := c.run("ingest", "--source-dir", dir)
	if code != 1 || !strings.Contains(errs, want) || !strings.Contains(out, "quarantined") {
		t.Fatalf("ingest: exit %d\n%s\n%s\nwant %s", code, out, errs, want)
	}
	// The flow does the same, and raises the alert.
	code, out, errs = c.run("run", "ingest", "--source-dir", dir)
	if code != 1 || !strings.Contains(errs, want) || !strings.Contains(out, "ALERT quarantined_release indicateurs") {
		t.Fatalf("run ingest: exit %d\n%s\n%s", code, out, errs)
	}

	list := c.snapshots()
	if len(list) != len(good)+1 || list[0].State != prevoir.SnapshotQuarantined || list[0].ViolationCount != 1 {
		t.Fatalf("snapshots: %+v", list)
	}
	q := list[0]
	if table := c.ok("snapshots"); !strings.Contains(table, "quarantined") || !strings.Contains(table, want) ||
		!strings.Contains(table, fmt.Sprintf("prevoir snapshots accept %d", q.ID)) {
		t.Errorf("snapshots table:\n%s", table)
	}
	if got := c.ok("frame", "--format", "csv"); got != frame {
		t.Error("a quarantined release changed the frame")
	}
	// The server shows the alert and the quarantined snapshot.
	db, blobs := c.stores()
	get := serveHome(t, db, blobs, nil)
	if api := get("/api/v1/alerts"); !strings.Contains(api, `"kind":"quarantined_release"`) || !strings.Contains(api, "line "+fmt.Sprint(line)) {
		t.Errorf("alerts API: %s", api)
	}
	if m := get("/metrics"); !strings.Contains(m, `prevoir_alerts{kind="quarantined_release"} 1`) {
		t.Errorf("metrics lack the alert:\n%s", grepLines(m, "alert"))
	}
	if csv := get("/api/v1/snapshots?format=csv"); !strings.Contains(csv, ",state\n") || !strings.Contains(csv, ",quarantined\n") {
		t.Errorf("snapshots CSV:\n%s", csv)
	}
	if page := get("/data"); !strings.Contains(page, fmt.Sprintf("%d (quarantined)", q.ID)) || !strings.Contains(page, "Needs attention") {
		t.Error("the data page does not show the quarantine")
	}

	// What cannot be accepted.
	for _, tt := range []struct {
		id   string
		code int
		want string
	}{
		{"seven", 2, `snapshot ID "seven": want a positive integer`},
		{"999", 1, "no snapshot with id 999"},
		{fmt.Sprint(good[0].ID), 1, "is not quarantined"},
	} {
		if code, _, errs := c.run("snapshots", "accept", tt.id); code != tt.code || !strings.Contains(errs, tt.want) {
			t.Errorf("accept %s: exit %d, %q; want %d, %q", tt.id, code, errs, tt.code, tt.want)
		}
	}

	out = c.ok("snapshots", "accept", fmt.Sprint(q.ID), "--by", "alice", "--reason", "late reports, checked")
	if !strings.Contains(out, "it is now the current release of indicateurs") {
		t.Errorf("accept:\n%s", out)
	}
	if got := c.ok("frame", "--format", "csv"); got == frame {
		t.Error("the frame did not change after the acceptance")
	}
	list = c.snapshots()
	if a := list[0].Acceptance; list[0].State != prevoir.SnapshotAccepted || a == nil || a.By != "alice" || a.Reason != "late reports, checked" {
		t.Errorf("accepted snapshot: %+v", list[0])
	}
	if table := c.ok("snapshots"); !strings.Contains(table, "accepted by alice") {
		t.Errorf("snapshots table:\n%s", table)
	}
	if code, _, errs := c.run("snapshots", "accept", fmt.Sprint(q.ID)); code != 1 || !strings.Contains(errs, "already accepted by alice") {
		t.Errorf("accepting twice: exit %d, %s", code, errs)
	}
	// The release is now current: ingesting it again is unchanged and succeeds.
	if out := c.ok("ingest", "--source-dir", dir); !strings.Contains(out, "unchanged") {
		t.Errorf("ingest after the acceptance:\n%s", out)
	}
}
