package prevoir_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/prevoir/prevoir"
)

// TestNewerThan: releases are ordered by their own dates, never by when they were fetched.
func TestNewerThan(t *testing.T) {
	snap := func(id int64, last, lastModified string) *prevoir.Snapshot {
		return &prevoir.Snapshot{ID: id, LastDate: prevoir.MustParseDate(last), LastModified: lastModified}
	}
	for _, tt := range []struct {
		name string
		a, b *prevoir.Snapshot
		want bool
	}{
		{"later last day, stored earlier", snap(1, "2022-08-26", ""), snap(2, "2022-08-05", ""), true},
		{"earlier last day, arriving now", snap(0, "2022-08-05", ""), snap(1, "2022-08-26", ""), false},
		{"earlier last day, newer Last-Modified", snap(2, "2022-08-05", "Sat, 27 Aug 2022 08:00:00 GMT"), snap(1, "2022-08-26", "Fri, 26 Aug 2022 17:01:00 GMT"), false},
		{"same last day, later Last-Modified, stored earlier", snap(1, "2022-08-26", "Fri, 26 Aug 2022 17:01:00 GMT"), snap(2, "2022-08-26", "Thu, 25 Aug 2022 17:01:00 GMT"), true},
		{"same last day, earlier Last-Modified, arriving now", snap(0, "2022-08-26", "Thu, 25 Aug 2022 17:01:00 GMT"), snap(2, "2022-08-26", "Fri, 26 Aug 2022 17:01:00 GMT"), false},
		{"same last day, one Last-Modified missing: arrival", snap(2, "2022-08-26", ""), snap(1, "2022-08-26", "Fri, 26 Aug 2022 17:01:00 GMT"), true},
		{"same last day, unparsable Last-Modified: arrival", snap(1, "2022-08-26", "yesterday"), snap(2, "2022-08-26", "Fri, 26 Aug 2022 17:01:00 GMT"), false},
		{"same everything, arriving now", snap(0, "2022-08-26", ""), snap(5, "2022-08-26", ""), true},
	} {
		if got := tt.a.NewerThan(tt.b); got != tt.want {
			t.Errorf("%s: NewerThan = %v, want %v", tt.name, got, tt.want)
		}
		if tt.a.NewerThan(tt.b) && tt.b.NewerThan(tt.a) {
			t.Errorf("%s: each is newer than the other", tt.name)
		}
	}
}

// TestChangedColumnsByUse: the columns a frame uses come first, each group by most dates
// changed, then name.
func TestChangedColumnsByUse(t *testing.T) {
	r := prevoir.Revision{ChangedColumns: map[string]int{"dc_tot": 300, "esms_dc": 300, "incid_dchosp": 4, "hosp": 12, "rea": 12, "conf": 50}}
	used, others := r.ChangedColumnsByUse(prevoir.DefaultFrameOptions().Columns())
	if want := []string{"hosp", "rea", "incid_dchosp"}; !slices.Equal(used, want) {
		t.Errorf("used %v, want %v", used, want)
	}
	if want := []string{"dc_tot", "esms_dc", "conf"}; !slices.Equal(others, want) {
		t.Errorf("others %v, want %v", others, want)
	}
}

// TestUnknownCovariateRefused: a covariate or target no source has is an error naming it and
// the sources' columns, not a column silently dropped; a covariate of a source left out is
// dropped with its reason.
func TestUnknownCovariateRefused(t *testing.T) {
	ind := parse(t, "vintages/table-indicateurs-open-data-france-2022-08-26-19h01.csv", prevoir.SourceIndicators)
	sidep := parse(t, "sp-fra-jour.csv", prevoir.SourceSIDEP)
	both := []prevoir.FrameInput{{Table: ind}, {Table: sidep}}
	for _, mode := range []prevoir.FrameMode{prevoir.FrameFull, prevoir.FrameOriginal} {
		for _, tt := range []struct {
			target     string
			covariates []string
			bad        string
			kind       prevoir.ColumnKind
		}{
			{prevoir.DefaultTarget, []string{"hosp", "nope"}, "nope", prevoir.KindCovariate},
			{"incid_dchosb", []string{"hosp"}, "incid_dchosb", prevoir.KindTarget},
		} {
			opts := prevoir.DefaultFrameOptions()
			opts.Mode, opts.Target, opts.Covariates = mode, tt.target, tt.covariates
			_, err := prevoir.BuildFrame(both, opts)
			var ue *prevoir.UnknownColumnError
			if !errors.As(err, &ue) || ue.Column != tt.bad || ue.Kind != tt.kind || prevoir.ErrorCode(err) != prevoir.EINVALID {
				t.Errorf("%s mode, %s %q: %v, want an unknown-column error", mode, tt.kind, tt.bad, err)
				continue
			}
			for _, want := range []string{`"` + tt.bad + `"`, "incid_dchosp", "hosp", "Tp"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("%s mode: %q does not name %s", mode, err, want)
				}
			}
		}
	}
	f, err := prevoir.BuildFrame([]prevoir.FrameInput{{Table: ind}}, prevoir.DefaultFrameOptions())
	if err != nil {
		t.Fatalf("indicators alone: %v", err)
	}
	i := slices.IndexFunc(f.Decisions, func(d prevoir.Decision) bool { return d.Column == "Tp" })
	if i < 0 || f.Decisions[i].Action != prevoir.ActionDropped || f.Decisions[i].Source != prevoir.SourceSIDEP {
		t.Errorf("SI-DEP's Tp without SI-DEP: %+v", f.Decisions)
	}
}
