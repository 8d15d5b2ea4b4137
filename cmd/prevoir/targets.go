package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/prevoir/prevoir"
)

// targetFlags are --target and its deprecated spelling --registered-model. A target is a
// forecasting task of its own, and its registered model is the target's name, so naming a
// target names the registered model too.
type targetFlags struct {
	names []string
	// registeredModel is the deprecated --registered-model: the target of that name. It is
	// still read from the environment and config files written before targets.
	registeredModel string
}

// targetsUsage is --target's help on commands that take several targets.
func targetsUsage(what string) string {
	return fmt.Sprintf("target %s: %s, or %s for every one; repeat the flag or separate with commas (default %s)",
		what, strings.Join(prevoir.TargetNames(), ", "), prevoir.AllTargets, prevoir.DefaultTarget)
}

// oneTargetUsage is --target's help on commands that read one target's registered model.
func oneTargetUsage(what string) string {
	return fmt.Sprintf("target %s: one of %s (default %s)", what, strings.Join(prevoir.TargetNames(), ", "), prevoir.DefaultTarget)
}

// register adds --target (with usage) and the deprecated --registered-model.
func (tf *targetFlags) register(cmd *cobra.Command, usage string) {
	tf.registerTarget(cmd, usage)
	tf.registerAlias(cmd)
}

// registerTarget adds --target alone (pipelineFlags.register adds the deprecated alias).
func (tf *targetFlags) registerTarget(cmd *cobra.Command, usage string) {
	cmd.Flags().StringSliceVar(&tf.names, "target", nil, usage)
}

// deprecatedSetting marks a setting kept so that old command lines, environments and config
// files keep working, with what replaces it (see warnDeprecated).
const deprecatedSetting = "prevoir/deprecated"

// registerAlias adds only the deprecated --registered-model, hidden: the commands that had it
// and read no --target of their own (backtest, worker, serve) keep honouring it.
func (tf *targetFlags) registerAlias(cmd *cobra.Command) {
	cmd.Flags().StringVar(&tf.registeredModel, "registered-model", "", "deprecated: use --target (the target of this name)")
	cmd.Flags().Lookup("registered-model").Hidden = true
	cmd.Flags().SetAnnotation("registered-model", deprecatedSetting, []string{"use --target (" + envName("target") + ", key \"target\")"})
}

// warnDeprecated logs a warning for each deprecated setting given, saying where it came from.
func (a *app) warnDeprecated(cmd *cobra.Command) {
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if use, ok := f.Annotations[deprecatedSetting]; ok && f.Value.String() != "" {
			a.logger.Warn(fmt.Sprintf("setting %s is deprecated: %s", f.Name, use[0]), "from", a.origins[f.Name])
		}
	})
}

// targets returns the targets named by --target, else the target the deprecated
// --registered-model names, else the default target. An unknown name is a usage error listing
// the valid ones.
func (tf *targetFlags) targets() ([]prevoir.Target, error) {
	if len(tf.names) > 0 {
		ts, err := prevoir.ParseTargets(tf.names)
		if err != nil {
			return nil, usageError{fmt.Errorf("--target: %w", err)}
		}
		return ts, nil
	}
	if tf.registeredModel != "" {
		t, err := prevoir.LookupTarget(tf.registeredModel)
		if err != nil {
			return nil, usageError{fmt.Errorf("--registered-model (deprecated: use --target) names no target: %w", err)}
		}
		return []prevoir.Target{t}, nil
	}
	return prevoir.ParseTargets(nil)
}

// target returns the one target a command reads (see targets); arg, a positional MODEL
// argument kept from before targets, names it too, and must agree with --target.
func (tf *targetFlags) target(arg string) (prevoir.Target, error) {
	if arg != "" {
		t, err := prevoir.LookupTarget(arg)
		if err != nil {
			return t, usageError{fmt.Errorf("model %q: the registered models are the targets: %w", arg, err)}
		}
		if len(tf.names) > 0 && (len(tf.names) != 1 || strings.TrimSpace(tf.names[0]) != arg) {
			return t, usageError{fmt.Errorf("the model %q and --target %s disagree: give one of them", arg, strings.Join(tf.names, ","))}
		}
		return t, nil
	}
	ts, err := tf.targets()
	if err != nil {
		return prevoir.Target{}, err
	}
	if len(ts) != 1 {
		return prevoir.Target{}, usageError{fmt.Errorf("--target: this command reads one target, got %d", len(ts))}
	}
	return ts[0], nil
}

// heading introduces a target's part of a command's output when it covers several targets.
func heading(t prevoir.Target) string {
	return fmt.Sprintf("== %s: %s (%s)", t.Name, t.Label, t.Unit)
}
