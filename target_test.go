package prevoir

import (
	"slices"
	"strings"
	"testing"
)

// TestTargets: every target is a required, plausibility-checked column of the indicators
// source, declared once, the default first.
func TestTargets(t *testing.T) {
	ts := Targets()
	if ts[0].Name != DefaultTarget {
		t.Fatalf("first target %q, want the default %q", ts[0].Name, DefaultTarget)
	}
	var ind Source
	for _, s := range DefaultSources() {
		if s.Name == SourceIndicators {
			ind = s
		}
	}
	for i, tg := range ts {
		if tg.Name == "" || tg.Label == "" || tg.Unit == "" || (tg.Kind != KindDailyCount && tg.Kind != KindOccupancy) {
			t.Errorf("target %d %+v: incomplete declaration", i, tg)
		}
		if !slices.Contains(ind.Required, tg.Column) {
			t.Errorf("target %s: column %q is not required by the indicators source", tg.Name, tg.Column)
		}
		if slices.ContainsFunc(ts[:i], func(o Target) bool { return o.Name == tg.Name || o.Column == tg.Column }) {
			t.Errorf("target %s declared twice", tg.Name)
		}
	}
}

func TestParseTargets(t *testing.T) {
	names := func(ts []Target) string {
		var s []string
		for _, t := range ts {
			s = append(s, t.Name)
		}
		return strings.Join(s, ",")
	}
	for _, c := range []struct {
		in   []string
		want string
	}{
		{nil, "incid_dchosp"},
		{[]string{"hosp"}, "hosp"},
		{[]string{"rea", " incid_hosp", "rea"}, "rea,incid_hosp"},
		{[]string{"all"}, "incid_dchosp,incid_hosp,incid_rea,hosp,rea"},
		{[]string{"rea", "all"}, "rea,incid_dchosp,incid_hosp,incid_rea,hosp"},
	} {
		got, err := ParseTargets(c.in)
		if err != nil || names(got) != c.want {
			t.Errorf("ParseTargets(%q) = %s, %v; want %s", c.in, names(got), err, c.want)
		}
	}
	for _, bad := range [][]string{{"deaths"}, {"hosp", "HOSP"}, {""}} {
		_, err := ParseTargets(bad)
		if ErrorCode(err) != EINVALID || !strings.Contains(err.Error(), "incid_dchosp, incid_hosp, incid_rea, hosp, rea") {
			t.Errorf("ParseTargets(%q): %v, want an invalid-input error listing the targets", bad, err)
		}
	}
}

// TestTargetFrameOptions: the target's column is forecast and is no longer a covariate; the
// options it was given are left alone.
func TestTargetFrameOptions(t *testing.T) {
	base := DefaultFrameOptions()
	before := slices.Clone(base.Covariates)
	tg, err := LookupTarget("hosp")
	if err != nil {
		t.Fatal(err)
	}
	o := tg.FrameOptions(base)
	if o.Target != "hosp" || slices.Contains(o.Covariates, "hosp") || len(o.Covariates) != len(before)-1 {
		t.Errorf("options for hosp: target %q covariates %v", o.Target, o.Covariates)
	}
	if err := o.Validate(); err != nil {
		t.Error(err)
	}
	if !slices.Equal(base.Covariates, before) {
		t.Error("FrameOptions changed the options it was given")
	}
	d, _ := LookupTarget(DefaultTarget)
	if od := d.FrameOptions(base); od.Target != base.Target || !slices.Equal(od.Covariates, base.Covariates) {
		t.Errorf("the default target changes the default options: %+v", od)
	}
}
