package main

import (
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"
)

// bounds is the valid range of a numeric setting. The flag's value checks it whatever gives the
// value (the command line, the environment or the config file), so that a value out of range is
// a usage error naming the setting and the range, never a value silently replaced.
type bounds struct {
	min, max float64 // max is +Inf when open-ended
	minOpen  bool    // min itself is excluded
}

func atLeast(min float64) bounds      { return bounds{min: min, max: math.Inf(1)} }
func moreThan(min float64) bounds     { return bounds{min: min, max: math.Inf(1), minOpen: true} }
func between(min, max float64) bounds { return bounds{min: min, max: max} }

func (b bounds) contains(v float64) bool {
	return (v > b.min || !b.minOpen && v == b.min) && v <= b.max
}

// text says the range in words, with format writing a bound.
func (b bounds) text(format func(float64) string) string {
	switch {
	case b.minOpen:
		return "greater than " + format(b.min)
	case math.IsInf(b.max, 1):
		return "at least " + format(b.min)
	}
	return "from " + format(b.min) + " to " + format(b.max)
}

// unset says whether v is the zero that stands for a setting left unset: a zero outside the
// bounds, which no one can give (see intValue).
func (b bounds) unset(v float64) bool { return v == 0 && !b.contains(0) }

// setWithin stores v, parsed with err, in p if it parsed and is within b; otherwise the error
// is want, what the setting takes, for the flag's error to name.
func setWithin[T int | float64 | time.Duration](p *T, v T, err error, b bounds, want string) error {
	if err != nil || !b.contains(float64(v)) {
		return errors.New(want)
	}
	*p = v
	return nil
}

func formatNumber(v float64) string   { return strconv.FormatFloat(v, 'f', -1, 64) }
func formatDuration(v float64) string { return time.Duration(v).String() }

// usageWithRange appends the valid range to a flag's help.
func usageWithRange(usage, rng string) string { return usage + " [" + rng + "]" }

// intValue is an int setting within bounds. A zero outside the bounds is the setting left unset
// (the library's default applies, which the help says): it prints as "" and cannot be given.
type intValue struct {
	p *int
	b bounds
}

func (v intValue) want() string { return "want an integer " + v.b.text(formatNumber) }

func (v intValue) Set(s string) error {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 0, strconv.IntSize)
	return setWithin(v.p, int(n), err, v.b, v.want())
}

func (v intValue) String() string {
	if v.p == nil || v.b.unset(float64(*v.p)) {
		return ""
	}
	return strconv.Itoa(*v.p)
}

func (v intValue) Type() string { return "int" }

// intVar defines an int flag within b; def 0 outside b leaves it unset (see intValue).
func intVar(fs *pflag.FlagSet, p *int, name string, def int, b bounds, usage string) {
	*p = def
	fs.Var(intValue{p, b}, name, usageWithRange(usage, b.text(formatNumber)))
}

// floatValue is a float64 setting within bounds.
type floatValue struct {
	p *float64
	b bounds
}

func (v floatValue) want() string { return "want a number " + v.b.text(formatNumber) }

func (v floatValue) Set(s string) error {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	return setWithin(v.p, f, err, v.b, v.want())
}

func (v floatValue) String() string {
	if v.p == nil {
		return ""
	}
	return strconv.FormatFloat(*v.p, 'g', -1, 64)
}

func (v floatValue) Type() string { return "float64" }

func floatVar(fs *pflag.FlagSet, p *float64, name string, def float64, b bounds, usage string) {
	*p = def
	fs.Var(floatValue{p, b}, name, usageWithRange(usage, b.text(formatNumber)))
}

// durationValue is a duration setting within bounds (in nanoseconds). A zero outside the bounds
// is the setting left unset, as for intValue.
type durationValue struct {
	p *time.Duration
	b bounds
}

func (v durationValue) want() string {
	return "want a duration " + v.b.text(formatDuration) + ", like 90s, 30m or 2h"
}

func (v durationValue) Set(s string) error {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	return setWithin(v.p, d, err, v.b, v.want())
}

func (v durationValue) String() string {
	if v.p == nil || v.b.unset(float64(*v.p)) {
		return ""
	}
	return v.p.String()
}

func (v durationValue) Type() string { return "duration" }

func durationVar(fs *pflag.FlagSet, p *time.Duration, name string, def time.Duration, b bounds, usage string) {
	*p = def
	fs.Var(durationValue{p, b}, name, usageWithRange(usage, b.text(formatDuration)))
}

// fileSetting is a setting read from the config file, with its line for error messages.
type fileSetting struct {
	value string
	line  int
}

// readConfigFile reads a YAML config file: a mapping of setting names to a value or a list of
// values (joined with commas, as a flag takes them). known says whether a key names a setting
// the file may set, and if not why (an error message); the first bad key is an error naming
// the file, its line and the key.
func readConfigFile(path string, known func(key string) error) (map[string]fileSetting, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, usageError{fmt.Errorf("config file: %w", err)}
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, usageError{fmt.Errorf("config file %s: %w", path, err)}
	}
	out := map[string]fileSetting{}
	if len(doc.Content) == 0 {
		return out, nil // an empty file
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, usageError{fmt.Errorf("config file %s:%d: want a mapping of setting names to values, like \"horizon: 14\"", path, root.Line)}
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		where := fmt.Sprintf("config file %s:%d", path, k.Line)
		if prev, ok := out[k.Value]; ok {
			return nil, usageError{fmt.Errorf("%s: key %q is repeated (first on line %d)", where, k.Value, prev.line)}
		}
		if err := known(k.Value); errors.Is(err, errUnknownSetting) {
			return nil, usageError{fmt.Errorf("%s: unknown key %q: %w", where, k.Value, err)}
		} else if err != nil {
			return nil, usageError{fmt.Errorf("%s: key %q: %w", where, k.Value, err)}
		}
		s := fileSetting{line: k.Line}
		switch {
		case v.Kind == yaml.ScalarNode && v.Tag == "!!null":
			// "key:" with no value leaves the setting unset.
		case v.Kind == yaml.ScalarNode:
			s.value = v.Value
		case v.Kind == yaml.SequenceNode:
			parts := make([]string, len(v.Content))
			for j, p := range v.Content {
				if p.Kind != yaml.ScalarNode {
					return nil, usageError{fmt.Errorf("config file %s:%d: key %q: want a list of values", path, p.Line, k.Value)}
				}
				parts[j] = p.Value
			}
			s.value = strings.Join(parts, ",")
		default:
			return nil, usageError{fmt.Errorf("%s: key %q: want a value or a list of values", where, k.Value)}
		}
		out[k.Value] = s
	}
	return out, nil
}

// removedSettings are the settings no longer read, with what replaced them: set in the
// environment or the config file they are an error, never silently ignored.
func removedSettings() map[string]string {
	return map[string]string{
		"workers": "it set both the fits a backtest runs at once and the jobs a serve or worker runs at once; " +
			"set fit-workers (" + envName("fit-workers") + ") for backtest and job-workers (" + envName("job-workers") + ") for serve and worker",
	}
}

// renamedTo marks a flag kept as a deprecated spelling of another (see renamedFlag).
const renamedTo = "prevoir/renamed-to"

// renamedFlag keeps old as a hidden, deprecated command-line spelling of the flag now called
// name (the same value): scripts keep working, with a warning (see warnRenamed). It is never
// read from the environment or the config file (see removedSettings).
func renamedFlag(cmd *cobra.Command, old, name string) {
	f := cmd.Flags().Lookup(name)
	cmd.Flags().Var(f.Value, old, f.Usage)
	cmd.Flags().SetAnnotation(old, renamedTo, []string{name})
	cmd.Flags().Lookup(old).Hidden = true
	markPerInvocation(cmd, old)
}

// warnRenamed logs a warning for each deprecated spelling given on the command line.
func (a *app) warnRenamed(cmd *cobra.Command) {
	cmd.Flags().Visit(func(f *pflag.Flag) {
		if to, ok := f.Annotations[renamedTo]; ok {
			a.logger.Warn("--" + f.Name + " is deprecated: use --" + to[0])
		}
	})
}

// oneOf checks a flag's value against the valid ones (an empty value is no choice made): a
// typo is a usage error naming it and the valid values, never an empty answer.
func oneOf(flag, value string, valid []string) error {
	if value == "" || slices.Contains(valid, value) {
		return nil
	}
	return usageError{fmt.Errorf("--%s %q: want one of %s", flag, value, strings.Join(valid, ", "))}
}
