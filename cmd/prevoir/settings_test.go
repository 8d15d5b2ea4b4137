package main

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestBounds(t *testing.T) {
	for _, c := range []struct {
		b        bounds
		in, out  []float64
		text     string
		duration bool
	}{
		{b: atLeast(1), in: []float64{1, 2, 1e9}, out: []float64{0.999, 0, -1, math.NaN()}, text: "at least 1"},
		{b: between(0, 1), in: []float64{0, 0.5, 1}, out: []float64{-1e-9, 1.000001, math.NaN(), math.Inf(1)}, text: "from 0 to 1"},
		{b: moreThan(0), in: []float64{1e-12, 3}, out: []float64{0, -1, math.NaN()}, text: "greater than 0"},
		{b: atLeast(float64(time.Second)), in: []float64{float64(time.Second)}, out: []float64{float64(time.Second - 1)}, text: "at least 1s", duration: true},
	} {
		format := formatNumber
		if c.duration {
			format = formatDuration
		}
		if got := c.b.text(format); got != c.text {
			t.Errorf("%+v: text %q, want %q", c.b, got, c.text)
		}
		for _, v := range c.in {
			if !c.b.contains(v) {
				t.Errorf("%s: %v refused", c.text, v)
			}
		}
		for _, v := range c.out {
			if c.b.contains(v) {
				t.Errorf("%s: %v accepted", c.text, v)
			}
		}
	}
}

// TestNumericValues checks that a value out of range is refused and leaves the setting as it
// was, and that a zero outside the range is an unset setting, printed as "".
func TestNumericValues(t *testing.T) {
	n := 7
	iv := intValue{&n, atLeast(1)}
	for _, s := range []string{"0", "-1", "1.5", "x", ""} {
		if err := iv.Set(s); err == nil || n != 7 || !strings.Contains(err.Error(), "want an integer at least 1") {
			t.Errorf("int %q: %v, value %d", s, err, n)
		}
	}
	if err := iv.Set("1"); err != nil || n != 1 || iv.String() != "1" {
		t.Errorf("int 1: %v, value %d %q", err, n, iv.String())
	}
	n = 0
	if iv.String() != "" {
		t.Errorf("unset int prints %q", iv.String())
	}
	if w := (intValue{&n, atLeast(0)}); w.String() != "0" {
		t.Errorf("a valid 0 prints %q", w.String())
	}

	f := 0.02
	fv := floatValue{&f, between(0, 1)}
	for _, s := range []string{"-0.01", "1.01", "NaN", "Inf", "two"} {
		if err := fv.Set(s); err == nil || f != 0.02 || !strings.Contains(err.Error(), "want a number from 0 to 1") {
			t.Errorf("float %q: %v, value %v", s, err, f)
		}
	}
	if err := fv.Set("0"); err != nil || f != 0 || fv.String() != "0" {
		t.Errorf("float 0: %v, value %v %q", err, f, fv.String())
	}

	var d time.Duration
	dv := durationValue{&d, moreThan(0)}
	if dv.String() != "" {
		t.Errorf("unset duration prints %q", dv.String())
	}
	for _, s := range []string{"0s", "-1m", "10"} {
		if err := dv.Set(s); err == nil || d != 0 || !strings.Contains(err.Error(), "want a duration greater than 0s") {
			t.Errorf("duration %q: %v, value %v", s, err, d)
		}
	}
	if err := dv.Set("90s"); err != nil || d != 90*time.Second || dv.String() != "1m30s" {
		t.Errorf("duration 90s: %v, value %v", err, d)
	}
}

func TestReadConfigFile(t *testing.T) {
	write := func(body string) string {
		p := filepath.Join(t.TempDir(), "prevoir.yaml")
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	errBad := errors.New("not here")
	known := func(k string) error {
		switch k {
		case "bad":
			return errBad
		case "nope":
			return errUnknownSetting
		}
		return nil
	}
	p := write("# settings\nhorizon: 28\ncovariates: [hosp, rea]\nepochs:\nchampion-margin: 0\n")
	got, err := readConfigFile(p, known)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]fileSetting{"horizon": {"28", 2}, "covariates": {"hosp,rea", 3}, "epochs": {"", 4}, "champion-margin": {"0", 5}}
	if len(got) != len(want) {
		t.Errorf("got %v, want %v", got, want)
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: %+v, want %+v", k, got[k], w)
		}
	}
	if got, err := readConfigFile(write(""), known); err != nil || len(got) != 0 {
		t.Errorf("empty file: %v %v", got, err)
	}
	for body, msg := range map[string]string{
		"horizon: 1\nbad: 2\n":          `:2: key "bad": not here`,
		"horizon: 1\n\nnope: 2\n":       `:3: unknown key "nope"`,
		"horizon: 1\nhorizon: 2\n":      `:2: key "horizon" is repeated (first on line 1)`,
		"frame:\n  stale-after: 3\n":    `:1: key "frame": want a value or a list of values`,
		"covariates:\n  - [hosp]\n":     `:2: key "covariates": want a list of values`,
		"- horizon\n":                   `:1: want a mapping of setting names to values`,
		"horizon: [1\n":                 "config file ", // YAML syntax errors, named by the file
		"horizon: 1\nhorizon 2\nx: 3\n": "config file ",
	} {
		p := write(body)
		_, err := readConfigFile(p, known)
		var ue usageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), msg) {
			t.Errorf("%q: %v; want a usage error naming %s and saying %q", body, err, p, msg)
		}
	}
}
