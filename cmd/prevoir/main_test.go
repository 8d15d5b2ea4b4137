package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/blobstore"
	"github.com/prevoir/prevoir/csvsource"
	"github.com/prevoir/prevoir/internal/testutil"
	"github.com/prevoir/prevoir/sqlstore"
)

// cli runs prevoir in-process with its own home and environment.
type cli struct {
	t    *testing.T
	home string
	env  map[string]string
	ctx  context.Context // context.Background() when nil
}

func newCLI(t *testing.T) *cli {
	return &cli{t: t, home: filepath.Join(t.TempDir(), "home"), env: map[string]string{}}
}

func (c *cli) run(args ...string) (code int, stdout, stderr string) {
	c.t.Helper()
	var out, errb bytes.Buffer
	args = append([]string{"--home", c.home, "--log-level", "warn"}, args...)
	ctx := c.ctx
	if ctx == nil {
		ctx = context.Background()
	}
	code = run(ctx, args, strings.NewReader(""), &out, &errb, func(k string) string { return c.env[k] })
	return code, out.String(), errb.String()
}

func (c *cli) ok(args ...string) string {
	c.t.Helper()
	code, out, errs := c.run(args...)
	if code != 0 {
		c.t.Fatalf("prevoir %v: exit %d\n%s", args, code, errs)
	}
	return out
}

// stores opens the home's database and artifact folder, as another process would; they are
// closed when the test ends.
// okJSON runs a command that must succeed and decodes what it printed, JSON, into v.
func (c *cli) okJSON(v any, args ...string) {
	c.t.Helper()
	if err := json.Unmarshal([]byte(c.ok(args...)), v); err != nil {
		c.t.Fatalf("prevoir %s: %v", strings.Join(args, " "), err)
	}
}

func (c *cli) stores() (*sqlstore.DB, *blobstore.Store) {
	c.t.Helper()
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, "sqlite:"+filepath.Join(c.home, "prevoir.db"))
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() { db.Close() })
	blobs, err := blobstore.Open(ctx, filepath.Join(c.home, "artifacts"))
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() { blobs.Close() })
	return db, blobs
}

func (c *cli) snapshots() []prevoir.Snapshot {
	c.t.Helper()
	var list []prevoir.Snapshot
	c.okJSON(&list, "snapshots", "--json")
	return list
}

// copyData makes a source directory with the given files under the sources' names.
func copyData(t *testing.T, indicators, sidep string) string {
	t.Helper()
	dir := t.TempDir()
	for name, from := range map[string]string{"table-indicateurs-open-data-france.csv": indicators, "sp-fra-jour.csv": sidep} {
		if err := os.WriteFile(filepath.Join(dir, name), testutil.ReadData(t, from), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestIngestTwiceStoresNothingNew(t *testing.T) {
	c := newCLI(t)
	data := testutil.DataDir(t)
	out := c.ok("ingest", "--source-dir", data)
	if strings.Count(out, " new ") != 2 || !strings.Contains(out, "2022-08-23") {
		t.Fatalf("first ingest:\n%s", out)
	}
	before := c.snapshots()
	files := countFiles(t, filepath.Join(c.home, "artifacts"))
	out = c.ok("ingest", "--source-dir", data)
	if strings.Count(out, " unchanged ") != 2 {
		t.Errorf("second ingest:\n%s", out)
	}
	if after := c.snapshots(); len(after) != len(before) || len(after) != 2 {
		t.Errorf("snapshots %d -> %d", len(before), len(after))
	}
	if n := countFiles(t, filepath.Join(c.home, "artifacts")); n != files || n != 2 {
		t.Errorf("artifact files %d -> %d", files, n)
	}
}

func countFiles(t *testing.T, dir string) int {
	n := 0
	filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			n++
		}
		return nil
	})
	return n
}

func TestIngestOverHTTP(t *testing.T) {
	c := newCLI(t)
	srv := testutil.NewDataGouvServer(t, testutil.DataDir(t))
	out := c.ok("ingest", "--datagouv-url", srv.URL)
	if strings.Count(out, " new ") != 2 {
		t.Fatalf("first ingest:\n%s", out)
	}
	out = c.ok("ingest", "--datagouv-url", srv.URL, "--sources", "sidep")
	if !strings.Contains(out, "not-modified") || strings.Contains(out, "indicateurs") {
		t.Errorf("second ingest of sidep:\n%s", out)
	}
	// The source down: non-zero exit, the reason printed, the snapshots still there.
	srv.Inject(srv.Sources()[1].ResourceID, testutil.Fault404)
	code, _, errs := c.run("ingest", "--datagouv-url", srv.URL, "--sources", "sidep")
	if code != 1 || !strings.Contains(errs, "404") {
		t.Errorf("exit %d, stderr %q", code, errs)
	}
	if len(c.snapshots()) != 2 {
		t.Error("snapshots lost")
	}
}

// TestFrameOriginalGolden runs the whole path the issue names: ingest the 2022-08-26 releases,
// print "prevoir frame --original", and compare it with the original project's covid_df.csv.
func TestFrameOriginalGolden(t *testing.T) {
	c := newCLI(t)
	c.ok("ingest", "--source-dir", copyData(t, "vintages/table-indicateurs-open-data-france-2022-08-26-19h01.csv", "sp-fra-jour.csv"))
	out := c.ok("frame", "--original")

	csvSrc := prevoir.Source{Name: "frame", Dialect: prevoir.Dialect{Comma: ','}, Schema: prevoir.Schema{DateColumn: "date"}}
	got, err := csvsource.Parse("frame output", []byte(out), csvSrc)
	if err != nil {
		t.Fatal(err)
	}
	want, err := csvsource.Parse("golden", testutil.ReadData(t, "vintages/original-preprocessed-frame-2022-08-26.csv"), csvSrc)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Columns, want.Columns) || !slices.Equal(got.Dates, want.Dates) {
		t.Fatalf("shape: got %d rows %v, want %d rows %v", got.Len(), got.Columns, want.Len(), want.Columns)
	}
	for i := range want.Columns {
		if !slices.Equal(got.Values[i], want.Values[i]) {
			t.Errorf("column %s differs", want.Columns[i])
		}
	}

	// JSON carries the lineage and the decisions.
	var fj struct {
		Mode    string                `json:"mode"`
		Sources []prevoir.FrameSource `json:"sources"`
		Dates   []prevoir.Date        `json:"dates"`
	}
	c.okJSON(&fj, "frame", "--original", "--format", "json")
	if fj.Mode != "original" || len(fj.Sources) != 2 || len(fj.Sources[0].SHA256) != 64 || len(fj.Dates) != 833 {
		t.Errorf("json: %+v", fj)
	}
}

func TestFrameDefaultAndSummary(t *testing.T) {
	c := newCLI(t)
	c.ok("ingest", "--source-dir", testutil.DataDir(t))
	out := c.ok("frame")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 1019 || !strings.HasPrefix(lines[0], "date,hosp,") || !strings.HasSuffix(lines[0], ",incid_dchosp") || strings.Contains(lines[0], ",Td,") {
		t.Errorf("default frame: %d lines, header %s", len(lines), lines[0])
	}
	out = c.ok("frame", "--stale-covariates", "flag", "--format", "summary")
	if !strings.Contains(out, "flagged") || !strings.Contains(out, "Td_available") {
		t.Errorf("summary:\n%s", out)
	}
}

func TestCorruptSourceRejected(t *testing.T) {
	good := string(testutil.ReadData(t, "sp-fra-jour.csv"))
	lines := strings.Split(good, "\n")
	edit := func(n int, s string) string {
		c := slices.Clone(lines)
		c[n-1] = s
		return strings.Join(c, "\n")
	}
	tests := []struct{ name, data, want string }{
		{"missing column", strings.Replace(good, ";Tp;", ";", 1), "parse sp-fra-jour.csv line 1: missing required column(s) Tp"},
		{"bad date", edit(700, "FR;2022-04-31;67863600,00;1,00;2,00;1,00;1,00;1,00;0"), `parse sp-fra-jour.csv line 700 column jour (field 2): date "2022-04-31": no such day`},
		{"text in number", edit(701, "FR;2022-04-12;67863600,00;1,00;2,00;n/d;1,00;1,00;0"), `parse sp-fra-jour.csv line 701 column Ti (field 6): value "n/d" is not a number`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCLI(t)
			dir := copyData(t, "table-indicateurs-open-data-france.csv", "vintages/sp-fra-jour-2022-08-05-19h01.csv")
			c.ok("ingest", "--source-dir", dir)
			before := c.snapshots()
			frameBefore := c.ok("frame")
			if err := os.WriteFile(filepath.Join(dir, "sp-fra-jour.csv"), []byte(tt.data), 0o644); err != nil {
				t.Fatal(err)
			}
			code, out, errs := c.run("ingest", "--source-dir", dir)
			if code != 1 || !strings.Contains(errs, tt.want) || !strings.Contains(out, "failed") {
				t.Fatalf("exit %d\nstdout %s\nstderr %s\nwant %q", code, out, errs, tt.want)
			}
			after := c.snapshots()
			if len(after) != len(before) {
				t.Errorf("snapshots %d -> %d", len(before), len(after))
			}
			if c.ok("frame") != frameBefore {
				t.Error("the frame changed after a rejected release")
			}
		})
	}
}

func TestUsageAndFailures(t *testing.T) {
	c := newCLI(t)
	for _, args := range [][]string{
		{"nope"},
		{"frame", "--format", "xml"},
		{"frame", "--stale-after", "x"},
		{"frame", "--stale-covariates", "keep"},
		{"ingest", "--sources", "weather"},
		{"--log-level", "loud", "snapshots"},
		{"snapshots", "extra"},
	} {
		if code, _, errs := c.run(args...); code != 2 || !strings.Contains(errs, "--help") {
			t.Errorf("prevoir %v: exit %d, stderr %q; want usage error 2", args, code, errs)
		}
	}
	code, _, errs := c.run("frame")
	if code != 1 || !strings.Contains(errs, "run prevoir ingest") {
		t.Errorf("frame on an empty home: exit %d, %q", code, errs)
	}
	code, _, errs = c.run("--db", "mysql://x", "snapshots")
	if code != 1 || !strings.Contains(errs, "want sqlite:PATH or postgres://") {
		t.Errorf("bad db URL: exit %d, %q", code, errs)
	}
}

func TestConfigPrecedence(t *testing.T) {
	c := newCLI(t)
	c.ok("ingest", "--source-dir", testutil.DataDir(t))
	cfg := filepath.Join(t.TempDir(), "prevoir.yaml")
	if err := os.WriteFile(cfg, []byte("stale-after: 30\nstale-covariates: flag\ncovariates: [hosp, rea]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c.env["PREVOIR_CONFIG"] = cfg
	c.env["PREVOIR_STALE_COVARIATES"] = "drop"
	options := func(args ...string) prevoir.FrameOptions {
		var fj struct{ Options prevoir.FrameOptions }
		c.okJSON(&fj, append([]string{"frame", "--format", "json"}, args...)...)
		return fj.Options
	}
	// The file sets stale-after and the covariates; the environment beats the file's policy.
	o := options()
	if o.StaleAfter != 30 || o.Stale != prevoir.StaleDrop || !slices.Equal(o.Covariates, []string{"hosp", "rea"}) {
		t.Errorf("file + env: %+v", o)
	}
	// A flag beats both.
	if o := options("--stale-after", "3", "--stale-covariates", "flag"); o.StaleAfter != 3 || o.Stale != prevoir.StaleFlag {
		t.Errorf("flags: %+v", o)
	}
	out := c.ok("config")
	for _, want := range []string{"env PREVOIR_STALE_COVARIATES", "config " + cfg, "flag --home"} {
		if !strings.Contains(out, want) {
			t.Errorf("config output lacks %q:\n%s", want, out)
		}
	}
	// An unknown key in the file is a usage error naming it.
	if err := os.WriteFile(cfg, []byte("stale_after: 3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, errs := c.run("config"); code != 2 || !strings.Contains(errs, `unknown key "stale_after"`) {
		t.Errorf("unknown key: exit %d %q", code, errs)
	}
}
