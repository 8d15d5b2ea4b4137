package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/backup"
	"github.com/prevoir/prevoir/blobstore"
	"github.com/prevoir/prevoir/logdedup"
	"github.com/prevoir/prevoir/sqlstore"
	"github.com/prevoir/prevoir/tracking"
)

// app holds what the commands share: the streams, the effective configuration, and the stores,
// opened on first use.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string

	// Global settings.
	home, dbURL, artifactsURL string
	configPath                string
	logLevel, logFormat       string
	createBucket              bool
	// abandonAfter: see tracking.Tracker.AbandonAfter.
	abandonAfter time.Duration

	// origins records where each setting's value came from, for "prevoir config".
	origins map[string]string
	// fileValues are the config file's settings, by flag name.
	fileValues map[string]fileSetting
	logger     *slog.Logger

	// readOnly: the command only reads the home (see markReadOnly).
	readOnly bool

	db    *sqlstore.DB
	blobs *blobstore.Store
}

const envPrefix = "PREVOIR_"

// perInvocation marks flags that shape one command's output (--json, --format, --limit):
// they are taken from the command line only, never from the environment or the config file,
// where they would silently change every other command's output.
const perInvocation = "prevoir/per-invocation"

func markPerInvocation(cmd *cobra.Command, names ...string) {
	for _, n := range names {
		cmd.Flags().SetAnnotation(n, perInvocation, []string{"true"})
	}
}

// readOnlyCommand marks commands that only read the home: they open the database read-only,
// so that they never create, migrate or change it (nor reap abandoned runs), and they work on
// a home they cannot write to. A command without the mark may write.
const readOnlyCommand = "prevoir/read-only"

func markReadOnly(cmds ...*cobra.Command) {
	for _, cmd := range cmds {
		if cmd.Annotations == nil {
			cmd.Annotations = map[string]string{}
		}
		cmd.Annotations[readOnlyCommand] = "true"
	}
}

// secret marks flags whose value is a secret (the admin token). shownValue, the one way a
// setting's value leaves the process, shows it as "(set)".
const secret = "prevoir/secret"

func markSecret(cmd *cobra.Command, names ...string) {
	for _, n := range names {
		cmd.Flags().SetAnnotation(n, secret, []string{"true"})
	}
}

// shownValue is how a setting's value may be printed (prevoir config) or recorded (the
// configuration of every run): a secret as "(set)" or "", any other value without the
// credentials of a URL (database and object store URLs, a mirror's URL).
func shownValue(f *pflag.Flag, v string) string {
	if _, ok := f.Annotations[secret]; ok {
		return prevoir.RedactSecret(v)
	}
	return prevoir.RedactURL(v)
}

// configurable reports whether a flag may come from the environment or the config file.
func configurable(f *pflag.Flag) bool {
	_, no := f.Annotations[perInvocation]
	return f.Name != "help" && !no
}

// envName is the environment variable that sets a flag: --stale-after is PREVOIR_STALE_AFTER.
func envName(flag string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "prevoir",
		Short: "Forecast daily COVID-19 deaths in French hospitals from Santé publique France's open data",
		Long: `prevoir forecasts the daily number of COVID-19 deaths in French hospitals (incid_dchosp)
for the next 14 days from Santé publique France's open data on data.gouv.fr.

It forecasts the other indicators hospital planners use too, each a target of its own with
its own registered model (the target's name), champion, forecasts and scores: incid_hosp (new
admissions), incid_rea (new intensive care admissions), hosp and rea (patients in hospital and
in intensive care). --target names them (default incid_dchosp; "all" for every one).

It keeps every release of its sources as a content-addressed snapshot and builds the daily
frame that models learn from.

Every flag can also be set with an environment variable (--stale-after is PREVOIR_STALE_AFTER)
or in a YAML config file (--config, key "stale-after"); a flag wins over the environment, which
wins over the file. "prevoir config" prints the effective settings and where each comes from.
A value outside its setting's range, an unknown key, or a command-line only setting (--json,
--from, ...) in the environment or the file is a usage error naming it.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			a.readOnly = cmd.Annotations[readOnlyCommand] == "true"
			return a.configure(cmd)
		},
	}
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	pf := root.PersistentFlags()
	pf.StringVar(&a.home, "home", "./prevoir-data", "directory holding the SQLite database and the local artifact folder")
	pf.StringVar(&a.dbURL, "db", "", "database URL: sqlite:PATH or postgres://... (default sqlite:<home>/prevoir.db)")
	pf.StringVar(&a.artifactsURL, "artifacts", "", "artifact store URL: file:///dir, s3://bucket, gs://bucket or a directory (default <home>/artifacts)")
	pf.BoolVar(&a.createBucket, "create-bucket", false, "create the --artifacts bucket (s3://) when it does not exist, instead of failing")
	pf.StringVar(&a.configPath, "config", "", "YAML file of settings (keys are flag names)")
	pf.StringVar(&a.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	pf.StringVar(&a.logFormat, "log-format", "auto", "log format: text, json, or auto (text on a terminal, json otherwise)")
	durationVar(pf, &a.abandonAfter, "abandon-after", tracking.DefaultAbandonAfter, moreThan(0), "a running run of another host (or of a pid now taken) silent for longer is marked failed by the next command that writes; keep it far longer than a database outage")

	root.AddCommand(a.ingestCommand(), a.frameCommand(), a.snapshotsCommand(), a.configCommand(), a.versionCommand(), a.benchCommand())
	root.AddCommand(a.runsCommand(), a.modelsCommand(), a.artifactsCommand())
	root.AddCommand(a.runCommand(), a.workerCommand(), a.jobsCommand(), a.backtestCommand(), a.forecastCommand(), a.serveCommand())
	root.AddCommand(a.backupCommand(), a.restoreCommand(), a.healthcheckCommand())
	root.CompletionOptions.HiddenDefaultCmd = true
	return root
}

// configure fills every flag not given on the command line from the environment, then from the
// config file, records where each value came from, and sets up logging. A setting the
// environment or the file gives but no command reads from there (a removed one, a command-line
// only one) is a usage error, as is a value out of its setting's range.
func (a *app) configure(cmd *cobra.Command) error {
	flags := cmd.Flags()
	if !flags.Changed("config") {
		if v := a.getenv(envName("config")); v != "" {
			a.configPath = v
		}
	}
	defs := settingDefs(cmd.Root())
	names := sortedKeys(defs)
	for name := range removedSettings() {
		if defs[name] == nil {
			names = append(names, name)
		}
	}
	for _, name := range names {
		if a.getenv(envName(name)) == "" {
			continue
		}
		if err := settingError(defs, name); err != nil {
			return usageError{fmt.Errorf("env %s: %w", envName(name), err)}
		}
	}
	a.fileValues = map[string]fileSetting{}
	if a.configPath != "" {
		file, err := readConfigFile(a.configPath, func(key string) error {
			if key == "config" {
				return fmt.Errorf("a config file cannot name another: give --config or %s", envName("config"))
			}
			return settingError(defs, key)
		})
		if err != nil {
			return err
		}
		a.fileValues = file
	}
	a.origins = map[string]string{}
	var ferr error
	flags.VisitAll(func(f *pflag.Flag) {
		if !configurable(f) {
			return
		}
		if f.Changed {
			a.origins[f.Name] = "flag --" + f.Name
			return
		}
		v, origin := a.lookup(f.Name)
		if origin != "default" {
			if err := f.Value.Set(v); err != nil && ferr == nil {
				ferr = usageError{fmt.Errorf("%s: %s %q: %w", origin, f.Name, shownValue(f, v), err)}
			}
		}
		a.origins[f.Name] = origin
	})
	if ferr != nil {
		return ferr
	}
	if a.dbURL == "" {
		a.dbURL = "sqlite:" + filepath.Join(a.home, "prevoir.db")
		a.origins["db"] = "default (from --home)"
	}
	if a.artifactsURL == "" {
		a.artifactsURL = filepath.Join(a.home, "artifacts")
		a.origins["artifacts"] = "default (from --home)"
	}
	if err := a.setupLogging(); err != nil {
		return err
	}
	a.warnRenamed(cmd)
	a.warnDeprecated(cmd)
	return nil
}

// lookup returns a setting's value from the environment or the config file, and where it came
// from ("default" when neither sets it).
func (a *app) lookup(name string) (value, origin string) {
	if v := a.getenv(envName(name)); v != "" {
		return v, "env " + envName(name)
	}
	if s, ok := a.fileValues[name]; ok && s.value != "" {
		return s.value, fmt.Sprintf("config %s:%d", a.configPath, s.line)
	}
	return "", "default"
}

// settingDefs returns every command's flags by name (the global ones once), so that one
// environment and one config file can serve every command.
func settingDefs(root *cobra.Command) map[string][]*pflag.Flag {
	defs := map[string][]*pflag.Flag{}
	add := func(f *pflag.Flag) {
		if f.Name != "help" {
			defs[f.Name] = append(defs[f.Name], f)
		}
	}
	root.PersistentFlags().VisitAll(add)
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			sub.LocalNonPersistentFlags().VisitAll(add)
			walk(sub)
		}
	}
	walk(root)
	return defs
}

var errUnknownSetting = errors.New("no command has this setting (prevoir config lists them)")

// settingError says why the environment or the config file may not set name: no command has
// it, it was removed, or every command takes it from the command line only. nil when some
// command reads it.
func settingError(defs map[string][]*pflag.Flag, name string) error {
	if msg, ok := removedSettings()[name]; ok {
		return fmt.Errorf("no longer read: %s", msg)
	}
	fs := defs[name]
	if len(fs) == 0 {
		return errUnknownSetting
	}
	for _, f := range fs {
		if configurable(f) {
			return nil
		}
	}
	return fmt.Errorf("--%s is command-line only: it applies to one command line, never to every run; give it there", name)
}

func (a *app) setupLogging() error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(a.logLevel)); err != nil {
		return usageError{fmt.Errorf("--log-level %q: want debug, info, warn or error", a.logLevel)}
	}
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler
	switch a.logFormat {
	case "text":
		h = slog.NewTextHandler(a.stderr, opts)
	case "json":
		h = slog.NewJSONHandler(a.stderr, opts)
	case "auto":
		if isTerminal(a.stderr) {
			h = slog.NewTextHandler(a.stderr, opts)
		} else {
			h = slog.NewJSONHandler(a.stderr, opts)
		}
	default:
		return usageError{fmt.Errorf("--log-format %q: want text, json or auto", a.logFormat)}
	}
	// During an outage every loop reports the same error several times a second: repeats
	// are held back and counted.
	a.logger = slog.New(logdedup.New(h, logdedup.DefaultWindow))
	return nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// stores opens the database and the artifact store on first use: read-only for a command
// marked so, otherwise migrated, with the runs of dead processes reaped.
func (a *app) stores(ctx context.Context) (*sqlstore.DB, *blobstore.Store, error) {
	if a.db == nil {
		if err := a.checkHome(); err != nil {
			return nil, nil, err
		}
		open := sqlstore.Open
		if a.readOnly {
			open = sqlstore.OpenReadOnly
		}
		db, err := open(ctx, a.dbURL)
		if err != nil {
			return nil, nil, err
		}
		a.db = db
		a.logger.Debug("database open", "url", db.String(), "schema_version", sqlstore.SchemaVersion(), "read_only", a.readOnly)
		if !a.readOnly {
			// A run left "running" by a process that died is marked failed by the next command
			// that writes; one whose process is alive is left alone (see tracking.Reap).
			tr := &tracking.Tracker{Runs: sqlstore.NewRunStore(db), Logger: a.logger, AbandonAfter: a.abandonAfter}
			if _, err := tr.Reap(ctx); err != nil {
				a.logger.Warn("could not reap abandoned runs", "err", err)
			}
		}
	}
	if a.blobs == nil {
		b, err := blobstore.Open(ctx, a.artifactsURL)
		if err != nil {
			return nil, nil, err
		}
		a.blobs = b
		if !a.readOnly {
			if err := a.checkBucket(ctx); err != nil {
				return nil, nil, err
			}
		}
	}
	return a.db, a.blobs, nil
}

// bucketCheckTimeout bounds the start-up check of the artifact store: an unreachable store
// must not hold a process's start for the SDK's whole retry schedule.
const bucketCheckTimeout = 15 * time.Second

// checkBucket makes sure, for a command that writes, that the artifact store's bucket exists
// (creating it with --create-bucket), so that a missing bucket stops the start with advice
// rather than failing jobs later. A store that cannot be reached is an outage: the process
// starts anyway and its jobs retry.
func (a *app) checkBucket(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, bucketCheckTimeout)
	defer cancel()
	created, err := a.blobs.CheckBucket(ctx, a.createBucket)
	switch {
	case err == nil:
		if created {
			a.logger.Info("artifact bucket created", "artifacts", a.blobs.String())
		}
		return nil
	case prevoir.ErrorCode(err) == prevoir.ENOTFOUND && strings.HasPrefix(a.artifactsURL, "s3://"):
		return fmt.Errorf("%w, or let prevoir create it: --create-bucket (%s=true)", err, envName("create-bucket"))
	case prevoir.ErrorCode(err) == prevoir.ENOTFOUND:
		return err // prevoir creates S3 buckets only
	default:
		a.logger.Warn("artifact store not reachable; starting anyway, work that needs it will retry", "artifacts", a.blobs.String(), "err", err)
		return nil
	}
}

// checkHome, on a one-machine home (a SQLite file and a local artifact folder), finishes an
// interrupted restore (a command that writes) and refuses a home that is not safe to open (see
// backup.CheckHome).
func (a *app) checkHome() error {
	home, err := backup.ParseHome(a.dbURL, a.artifactsURL)
	if err != nil {
		return nil // PostgreSQL or a remote artifact store: not a one-machine home
	}
	if !a.readOnly {
		did, err := backup.Recover(home)
		if err != nil {
			return err
		}
		if did != "" {
			a.logger.Warn("restore journal found: "+did, "db", home.DB, "artifacts", home.Artifacts)
		}
	}
	return backup.CheckHome(home)
}

// close closes the stores the command opened. The command's work is done by then: a failure
// is logged, not the command's.
func (a *app) close() {
	if a.db != nil {
		if err := a.db.Close(); err != nil && a.logger != nil {
			a.logger.Warn("close the database", "err", err)
		}
	}
	if a.blobs != nil {
		if err := a.blobs.Close(); err != nil && a.logger != nil {
			a.logger.Warn("close the artifact store", "err", err)
		}
	}
}

// version returns the module version, the VCS revision and the Go version of the binary.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	return bi.Main.Version + " " + tracking.CodeVersion() + " " + bi.GoVersion
}

func (a *app) versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version and the commit the binary was built from",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			fmt.Fprintln(a.stdout, "prevoir", version())
			return nil
		},
	}
}

func (a *app) configCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "config",
		Short: "Print the effective configuration and where each setting comes from",
		Long: `Print every setting of every command: its effective value (from a flag of this command
line, the environment, the config file, or the default), its environment variable, and where
the value comes from. Secrets are shown as (set): the admin token, and the passwords and keys
of URLs.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			type setting struct{ name, value, origin, commands string }
			// A setting's row is its name and value: a setting whose default differs between
			// commands (--models) has a row per default.
			var rows []*setting
			byKey := map[[2]string]*setting{}
			add := func(name, value, origin, command string) {
				k := [2]string{name, value}
				if s, ok := byKey[k]; ok {
					s.commands += "," + command
					return
				}
				s := &setting{name, value, origin, command}
				byKey[k] = s
				rows = append(rows, s)
			}
			// Global settings, already resolved for this command line.
			cmd.Flags().VisitAll(func(f *pflag.Flag) {
				if configurable(f) {
					add(f.Name, shownValue(f, f.Value.String()), a.origins[f.Name], "all")
				}
			})
			// Every other command's own flags: resolved, and checked, as that command would.
			var visit func(c *cobra.Command) error
			visit = func(c *cobra.Command) error {
				var err error
				c.LocalNonPersistentFlags().VisitAll(func(f *pflag.Flag) {
					if !configurable(f) || err != nil {
						return
					}
					v, origin := a.lookup(f.Name)
					if origin == "default" {
						v = f.Value.String()
					} else if serr := f.Value.Set(v); serr != nil {
						err = usageError{fmt.Errorf("%s: %s %q: %w", origin, f.Name, shownValue(f, v), serr)}
						return
					}
					add(f.Name, shownValue(f, v), origin, c.Name())
				})
				if err != nil {
					return err
				}
				for _, sub := range c.Commands() {
					if err := visit(sub); err != nil {
						return err
					}
				}
				return nil
			}
			for _, c := range cmd.Root().Commands() {
				if c.Name() != "completion" {
					if err := visit(c); err != nil {
						return err
					}
				}
			}
			sort.SliceStable(rows, func(i, j int) bool { return rows[i].name < rows[j].name })
			tw := newTable(a.stdout)
			tw.row("SETTING", "VALUE", "ENV", "FROM", "COMMANDS")
			for _, s := range rows {
				tw.row(s.name, s.value, envName(s.name), s.origin, s.commands)
			}
			return tw.flush()
		},
	}
}

// noArgs rejects positional arguments as a usage error.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usageError{fmt.Errorf("%s takes no arguments, got %q", cmd.CommandPath(), args)}
	}
	return nil
}

// tracker returns the run tracker on the opened stores.
func (a *app) tracker(cmd *cobra.Command) (*tracking.Tracker, *sqlstore.Registry, error) {
	db, blobs, err := a.stores(cmd.Context())
	if err != nil {
		return nil, nil, err
	}
	return &tracking.Tracker{Runs: sqlstore.NewRunStore(db), Blobs: blobs, Logger: a.logger}, sqlstore.NewRegistry(db), nil
}

// maxArgs is cobra.MaximumNArgs as a usage error.
func maxArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) > n {
			return usageError{fmt.Errorf("%s takes at most %d argument(s), got %d", cmd.CommandPath(), n, len(args))}
		}
		return nil
	}
}

// rangeArgs is cobra.RangeArgs as a usage error.
func rangeArgs(min, max int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < min || len(args) > max {
			return usageError{fmt.Errorf("%s takes %d to %d arguments, got %d", cmd.CommandPath(), min, max, len(args))}
		}
		return nil
	}
}

// argOr returns args[i], or "" when there is no such argument.
func argOr(args []string, i int) string {
	if i < len(args) {
		return args[i]
	}
	return ""
}

// exactArgs is cobra.ExactArgs as a usage error.
func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usageError{fmt.Errorf("%s takes %d argument(s), got %d", cmd.CommandPath(), n, len(args))}
		}
		return nil
	}
}
