package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"

	"github.com/prevoir/prevoir/blobstore"
	"github.com/prevoir/prevoir/internal/testutil"
)

// The deployment files cannot be run here (no Docker engine), so this test holds them to the
// binary: every prevoir command, flag and PREVOIR_* variable they use must exist, with a value
// the flag accepts, and the image must be the static, non-root one the README promises.

// dockerfile is what the test reads from deploy/Dockerfile.
type dockerfile struct {
	stages      []string          // the FROM lines
	runs        []string          // the RUN instructions (continuations joined)
	copies      []string          // the COPY instructions
	env         map[string]string // ENV of the final stage
	user        string            // USER of the final stage
	entrypoint  []string
	cmd         []string
	healthcheck string
}

func parseDockerfile(t *testing.T, path string) *dockerfile {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	d := &dockerfile{env: map[string]string{}}
	var lines []string
	var cur strings.Builder
	for _, l := range strings.Split(string(b), "\n") {
		l = strings.TrimSpace(l)
		if strings.HasPrefix(l, "#") || (l == "" && cur.Len() == 0) {
			continue
		}
		if cont, ok := strings.CutSuffix(l, "\\"); ok {
			cur.WriteString(cont + " ")
			continue
		}
		cur.WriteString(l)
		lines = append(lines, cur.String())
		cur.Reset()
	}
	jsonArray := func(instr, s string) []string {
		var out []string
		if err := json.Unmarshal([]byte(s), &out); err != nil {
			t.Fatalf("Dockerfile: %s %s: want the JSON (exec) form: %v", instr, s, err)
		}
		return out
	}
	for _, l := range lines {
		instr, rest, _ := strings.Cut(l, " ")
		rest = strings.TrimSpace(rest)
		switch strings.ToUpper(instr) {
		case "FROM":
			d.stages = append(d.stages, rest)
			d.env, d.user = map[string]string{}, "" // only the final stage's settings count
		case "RUN":
			d.runs = append(d.runs, rest)
		case "COPY":
			d.copies = append(d.copies, rest)
		case "ENV":
			for _, kv := range strings.Fields(rest) {
				k, v, ok := strings.Cut(kv, "=")
				if !ok {
					t.Fatalf("Dockerfile: ENV %s: want KEY=VALUE pairs", rest)
				}
				d.env[k] = strings.Trim(v, `"`)
			}
		case "USER":
			d.user = rest
		case "ENTRYPOINT":
			d.entrypoint = jsonArray(instr, rest)
		case "CMD":
			d.cmd = jsonArray(instr, rest)
		case "HEALTHCHECK":
			d.healthcheck = rest
		}
	}
	return d
}

// composeService is the part of a compose service the test reads.
type composeService struct {
	Image       string `yaml:"image"`
	Build       any    `yaml:"build"`
	Entrypoint  any    `yaml:"entrypoint"`
	Command     any    `yaml:"command"`
	Environment any    `yaml:"environment"`
	Volumes     []string
	Deploy      struct {
		Replicas *int `yaml:"replicas"`
	} `yaml:"deploy"`
	Healthcheck struct {
		Test    any  `yaml:"test"`
		Disable bool `yaml:"disable"`
	} `yaml:"healthcheck"`
	DependsOn map[string]struct {
		Condition string `yaml:"condition"`
	} `yaml:"depends_on"`
}

type composeFile struct {
	Services map[string]composeService `yaml:"services"`
	Volumes  map[string]any            `yaml:"volumes"`
}

// words returns a compose command, entrypoint or test: a list, or a string split on spaces.
func words(v any) []string {
	switch v := v.(type) {
	case nil:
		return nil
	case string:
		return strings.Fields(v)
	case []any:
		out := make([]string, len(v))
		for i, w := range v {
			out[i] = fmt.Sprint(w)
		}
		return out
	}
	return []string{fmt.Sprint(v)}
}

// environment returns a compose environment, a map or a list of KEY=VALUE.
func environment(t *testing.T, v any) map[string]string {
	out := map[string]string{}
	switch v := v.(type) {
	case nil:
	case map[string]any:
		for k, val := range v {
			out[k] = fmt.Sprint(val)
		}
	case []any:
		for _, kv := range v {
			k, val, _ := strings.Cut(fmt.Sprint(kv), "=")
			out[k] = val
		}
	default:
		t.Fatalf("compose: environment of type %T", v)
	}
	return out
}

// commandFlags returns a command's flags that the environment may set, by variable name.
func commandFlags(cmd *cobra.Command) map[string]*pflag.Flag {
	out := map[string]*pflag.Flag{}
	add := func(f *pflag.Flag) {
		if configurable(f) {
			out[envName(f.Name)] = f
		}
	}
	cmd.LocalFlags().VisitAll(add)
	cmd.InheritedFlags().VisitAll(add)
	return out
}

// checkInvocation checks that args (after the binary) name a prevoir command with flags it has,
// and that env's PREVOIR_* variables set flags of that command, with values the flags accept.
// It returns the command's path ("prevoir serve").
func checkInvocation(t *testing.T, where string, args []string, env map[string]string) string {
	t.Helper()
	root := (&app{getenv: func(string) string { return "" }}).rootCommand()
	cmd, rest, err := root.Find(args)
	if err != nil || cmd == root {
		t.Errorf("%s: %q is not a prevoir command (%v)", where, args, err)
		return ""
	}
	var positional []string
	for i := 0; i < len(rest); i++ {
		a := rest[i]
		if !strings.HasPrefix(a, "-") {
			positional = append(positional, a)
			continue
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		f := cmd.Flags().Lookup(name)
		if f == nil {
			f = cmd.InheritedFlags().Lookup(name)
		}
		if f == nil {
			t.Errorf("%s: %s has no flag --%s", where, cmd.CommandPath(), name)
			continue
		}
		if !hasValue && f.NoOptDefVal == "" && i+1 < len(rest) {
			i++
			value = rest[i]
		}
		if value != "" {
			if err := f.Value.Set(value); err != nil {
				t.Errorf("%s: --%s %q: %v", where, name, value, err)
			}
		}
	}
	if err := cmd.ValidateArgs(positional); err != nil {
		t.Errorf("%s: %v", where, err)
	}
	flags := commandFlags(cmd)
	for k, v := range env {
		if !strings.HasPrefix(k, envPrefix) {
			continue
		}
		f, ok := flags[k]
		if !ok {
			t.Errorf("%s: %s sets no setting of %s", where, k, cmd.CommandPath())
			continue
		}
		if !strings.Contains(v, "${") {
			if err := f.Value.Set(v); err != nil {
				t.Errorf("%s: %s=%q: %v", where, k, v, err)
			}
		}
	}
	return cmd.CommandPath()
}

func TestDeployFiles(t *testing.T) {
	deploy := filepath.Join(testutil.ModuleRoot(t), "deploy")

	// The image.
	d := parseDockerfile(t, filepath.Join(deploy, "Dockerfile"))
	if len(d.stages) < 2 {
		t.Fatalf("Dockerfile: %d stages, want a build stage and a runtime stage", len(d.stages))
	}
	final := d.stages[len(d.stages)-1]
	if !strings.Contains(final, "distroless/static") && final != "scratch" {
		t.Errorf("Dockerfile: final stage FROM %s: want distroless static or scratch", final)
	}
	built := false
	for _, r := range d.runs {
		if strings.Contains(r, "CGO_ENABLED=0") && strings.Contains(r, "./cmd/prevoir") {
			built = true
		}
	}
	if !built {
		t.Errorf("Dockerfile: no RUN builds ./cmd/prevoir with CGO_ENABLED=0: %q", d.runs)
	}
	if d.user == "" || d.user == "root" || strings.HasPrefix(d.user, "0") {
		t.Errorf("Dockerfile: USER %q: want a non-root user", d.user)
	}
	if len(d.entrypoint) != 1 || filepath.Base(d.entrypoint[0]) != "prevoir" {
		t.Fatalf("Dockerfile: ENTRYPOINT %q: want the prevoir binary alone", d.entrypoint)
	}
	installed := func(bin string) bool {
		for _, c := range d.copies {
			if strings.Contains(c, "/"+filepath.Base(bin)) && strings.Contains(c, filepath.Dir(bin)) {
				return true
			}
		}
		return false
	}
	if !installed(d.entrypoint[0]) {
		t.Errorf("Dockerfile: no COPY installs %s", d.entrypoint[0])
	}
	if got := checkInvocation(t, "Dockerfile CMD", d.cmd, d.env); got != "prevoir serve" {
		t.Errorf("Dockerfile: the default command is %q, want prevoir serve", got)
	}
	var hc []string
	if _, exec, ok := strings.Cut(d.healthcheck, "CMD "); !ok || json.Unmarshal([]byte(exec), &hc) != nil || len(hc) < 2 ||
		!installed(hc[0]) || filepath.Base(hc[0]) != "prevoir" {
		t.Errorf("Dockerfile: HEALTHCHECK %q: want CMD [the prevoir binary the image installs, \"healthcheck\"]", d.healthcheck)
	} else if got := checkInvocation(t, "Dockerfile HEALTHCHECK", hc[1:], nil); got != "prevoir healthcheck" {
		t.Errorf("Dockerfile: HEALTHCHECK runs %q, want prevoir healthcheck", got)
	}

	// The compose file.
	b, err := os.ReadFile(filepath.Join(deploy, "compose.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var c composeFile
	if err := yaml.Unmarshal(b, &c); err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	t.Setenv("AWS_ACCESS_KEY_ID", "x") // the S3 driver wants credentials to open a bucket
	t.Setenv("AWS_SECRET_ACCESS_KEY", "y")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	instances := map[string]int{}
	var healthz, pgIsReady bool
	for name, s := range c.Services {
		where := "compose service " + name
		for _, v := range s.Volumes {
			src, _, _ := strings.Cut(v, ":")
			if !strings.HasPrefix(src, ".") && !strings.HasPrefix(src, "/") {
				if _, ok := c.Volumes[src]; !ok {
					t.Errorf("%s: volume %s is not declared under volumes:", where, src)
				}
			}
		}
		test := strings.Join(words(s.Healthcheck.Test), " ")
		pgIsReady = pgIsReady || strings.Contains(test, "pg_isready")
		if !strings.HasPrefix(s.Image, "prevoir") {
			continue
		}
		if s.Build == nil {
			t.Errorf("%s: no build section: compose would try to pull image %s", where, s.Image)
		}
		entry, args := words(s.Entrypoint), words(s.Command)
		if entry == nil {
			entry = d.entrypoint
		}
		if args == nil {
			args = d.cmd
		}
		if len(entry) == 0 || filepath.Base(entry[0]) != "prevoir" {
			t.Errorf("%s: entrypoint %q is not prevoir", where, entry)
			continue
		}
		env := environment(t, s.Environment)
		for k, v := range d.env { // the image's environment, unless the service overrides it
			if _, ok := env[k]; !ok {
				env[k] = v
			}
		}
		path := checkInvocation(t, where, append(entry[1:], args...), env)
		n := 1
		if s.Deploy.Replicas != nil {
			n = *s.Deploy.Replicas
		}
		instances[path] += n
		if u := env["PREVOIR_ARTIFACTS"]; u != "" {
			st, err := blobstore.Open(context.Background(), u)
			if err != nil {
				t.Errorf("%s: PREVOIR_ARTIFACTS: %v", where, err)
			} else {
				st.Close()
			}
			if strings.HasPrefix(u, "s3://") && (env["AWS_ACCESS_KEY_ID"] == "" || env["AWS_SECRET_ACCESS_KEY"] == "") {
				t.Errorf("%s: an s3:// artifact store without AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY", where)
			}
		}
		if !strings.HasPrefix(env["PREVOIR_DB"], "postgres://") {
			t.Errorf("%s: PREVOIR_DB %q: the team deployment shares one PostgreSQL database", where, env["PREVOIR_DB"])
		}
		if path == "prevoir serve" {
			hc := words(s.Healthcheck.Test)
			if len(hc) < 3 || hc[0] != "CMD" || filepath.Base(hc[1]) != "prevoir" || !strings.Contains(test, "/healthz") || s.Healthcheck.Disable {
				t.Errorf("%s: health check %q: want prevoir healthcheck of /healthz", where, test)
			} else if got := checkInvocation(t, where+" health check", hc[2:], nil); got != "prevoir healthcheck" {
				t.Errorf("%s: health check runs %q, want prevoir healthcheck", where, got)
			}
			healthz = true
			for _, dep := range []string{"postgres", "minio"} {
				if s.DependsOn[dep].Condition != "service_healthy" {
					t.Errorf("%s: does not wait for %s to be healthy", where, dep)
				}
			}
		}
	}
	if instances["prevoir serve"] != 1 || instances["prevoir worker"] < 2 {
		t.Errorf("compose: prevoir instances %v: want one server and at least two workers", instances)
	}
	if !healthz || !pgIsReady {
		t.Errorf("compose: health checks: /healthz %v, pg_isready %v", healthz, pgIsReady)
	}
}
