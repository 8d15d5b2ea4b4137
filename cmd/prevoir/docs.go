package main

import (
	"fmt"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// configurationDoc renders docs/configuration.md from the command tree itself, so that the
// reference cannot drift from the binary (a test compares the file with this output).
func configurationDoc(root *cobra.Command) string {
	var b strings.Builder
	b.WriteString(`# Configuration reference

Generated from the command-line definitions by ` + "`make docs`" + `; a test fails when this file and the
binary differ. Every setting is read, in order of precedence, from the command line
(` + "`--name`" + `), the environment (` + "`PREVOIR_NAME`" + `, dashes as underscores) and the YAML config file
given by ` + "`--config`" + ` or ` + "`PREVOIR_CONFIG`" + ` (key ` + "`name`" + `). Settings marked "command line
only" shape one command line's output or action: set in the environment or the file they are
an error, as are an unknown key and a value outside its setting's range (shown in brackets).

## Global settings (every command)

`)
	writeFlags(&b, root.PersistentFlags())
	var cmds []*cobra.Command
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			if sub.Hidden || sub.Name() == "help" || sub.Name() == "completion" {
				continue
			}
			if sub.Runnable() {
				cmds = append(cmds, sub)
			}
			walk(sub)
		}
	}
	walk(root)
	sort.Slice(cmds, func(i, j int) bool { return cmds[i].CommandPath() < cmds[j].CommandPath() })
	for _, c := range cmds {
		fmt.Fprintf(&b, "\n## `%s`\n\n%s\n\n", c.CommandPath(), c.Short)
		if !c.LocalNonPersistentFlags().HasAvailableFlags() {
			b.WriteString("No settings of its own.\n")
			continue
		}
		writeFlags(&b, c.LocalNonPersistentFlags())
	}
	return b.String()
}

func writeFlags(b *strings.Builder, fs *pflag.FlagSet) {
	b.WriteString("| setting | environment / config key | default | meaning |\n|---|---|---|---|\n")
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Name == "help" || f.Hidden {
			return // a deprecated spelling is in its replacement's place
		}
		env := "`" + envName(f.Name) + "` / `" + f.Name + "`"
		if !configurable(f) {
			env = "command line only"
		}
		def := f.DefValue
		if def == "" || def == "[]" {
			def = "–"
		} else {
			def = "`" + def + "`"
		}
		fmt.Fprintf(b, "| `--%s` | %s | %s | %s |\n", f.Name, env, def, strings.ReplaceAll(f.Usage, "|", "\\|"))
	})
}
