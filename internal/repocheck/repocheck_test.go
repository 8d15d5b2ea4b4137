package repocheck

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/prevoir/prevoir/internal/testutil"
)

// machinePath matches an absolute path into a machine's own folders: a working tree, a home
// folder, a temporary file. Those mean nothing on another machine; commands and documents
// use paths relative to the repository root or placeholders instead. Standard system paths
// (/usr/bin/…, /etc/…) and the example deployment paths (/srv/prevoir, /var/backups/…) stay.
var machinePath = regexp.MustCompile(`(^|[^A-Za-z0-9_.~$-])/(work|home|root|tmp|Users)/[A-Za-z0-9_.$-]`)

// allowed are the paths that are not this machine's, by file.
var allowed = map[string][]string{
	// The golang image's Go build cache, inside the build container.
	"deploy/Dockerfile": {"/" + "root/.cache/go-build"},
}

func TestNoMachinePaths(t *testing.T) {
	root := testutil.ModuleRoot(t)
	files := repositoryFiles(t, root)
	if len(files) < 100 {
		t.Fatalf("only %d files found under %s", len(files), root)
	}
	for _, name := range files {
		b, err := os.ReadFile(filepath.Join(root, name))
		if errors.Is(err, fs.ErrNotExist) { // deleted, not yet committed
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if bytes.IndexByte(b[:min(len(b), 8000)], 0) >= 0 { // binary, as git decides
			continue
		}
		for i, line := range strings.Split(string(b), "\n") {
			for _, ok := range allowed[filepath.ToSlash(name)] {
				line = strings.ReplaceAll(line, ok, "")
			}
			if loc := machinePath.FindStringIndex(line); loc != nil {
				t.Errorf("%s:%d: an absolute path of this machine: %q (use a path relative to the repository root, or a placeholder)",
					name, i+1, strings.TrimSpace(line))
			}
		}
	}
}

// TestMachinePathPattern: the pattern finds the paths it is for, and leaves alone relative
// paths, system paths, example deployment paths and URLs.
func TestMachinePathPattern(t *testing.T) {
	for _, s := range []string{"cd /" + "work/wt-e", "--json /" + "tmp/bt.json", "(/" + "home/alice/prevoir)", "/" + "root/go/bin/goimports", "x=/" + "Users/bob/x"} {
		if !machinePath.MatchString(s) {
			t.Errorf("%q: not found", s)
		}
	}
	for _, s := range []string{"testdata/sp-fra-jour.csv", "../shared/data", "/usr/bin/chromium", "--home /srv/prevoir", "https://example.org/home/x", "docs/tmp/x", "~/tmp/x", "$HOME/tmp/x", "/tmp/"} {
		if machinePath.MatchString(s) {
			t.Errorf("%q: found", s)
		}
	}
}

// repositoryFiles lists the files git would commit (tracked, or new and not ignored), relative
// to root; without git (a source archive), every file outside .git and the ignored run outputs.
func repositoryFiles(t *testing.T, root string) []string {
	t.Helper()
	cmd := exec.Command("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard")
	cmd.Dir = root
	if out, err := cmd.Output(); err == nil {
		return strings.Split(strings.TrimRight(string(out), "\x00"), "\x00")
	}
	var files []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() {
			switch rel {
			case ".git", "bin", "prevoir-data", "test-artifacts":
				return filepath.SkipDir
			}
			return nil
		}
		files = append(files, rel)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}
