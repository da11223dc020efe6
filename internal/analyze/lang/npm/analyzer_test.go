package npm

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stella-scan/stella/internal/analyze"
	"github.com/stella-scan/stella/internal/analyze/analyzetest"
	"github.com/stella-scan/stella/internal/analyze/lang/groundtruth"
	"github.com/stella-scan/stella/internal/sbom"
)

// fileInfo is a minimal fs.FileInfo for files handed to Analyze in tests.
type fileInfo struct {
	name string
	size int64
	mode fs.FileMode
}

func (f fileInfo) Name() string       { return f.name }
func (f fileInfo) Size() int64        { return f.size }
func (f fileInfo) Mode() fs.FileMode  { return f.mode }
func (f fileInfo) ModTime() time.Time { return time.Time{} }
func (f fileInfo) IsDir() bool        { return false }
func (f fileInfo) Sys() any           { return nil }

// analyzeImage runs the analyzer over every file of the flattened fixture
// image that it wants.
func analyzeImage(t *testing.T, image string) []sbom.Package {
	t.Helper()
	a := Analyzer{}
	files := analyzetest.Files(t, filepath.Join(analyzetest.ImageDir(t, image), "oci"), func(p string) bool {
		return a.Wants(p, fileInfo{name: filepath.Base(p), mode: 0o644})
	})
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	var out []sbom.Package
	for _, p := range paths {
		b := files[p]
		res, err := a.Analyze(context.Background(), analyze.File{
			Path: p, Info: fileInfo{name: filepath.Base(p), size: int64(len(b)), mode: 0o644}, Content: bytes.NewReader(b),
		})
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if res != nil {
			out = append(out, res.Packages...)
		}
	}
	return out
}

func bySource(pkgs []sbom.Package, source string) []sbom.Package {
	var out []sbom.Package
	for _, p := range pkgs {
		if p.Metadata["source"] == source {
			out = append(out, p)
		}
	}
	return out
}

func isNPM(r groundtruth.Row) bool { return r.Ecosystem == sbom.NPM }

// TestImages compares installed packages with the ground truth (name,
// version, path) and checks that lock files in the same image name exactly
// the installed set (name, version), so deduplication loses nothing.
func TestImages(t *testing.T) {
	for _, image := range []string{"debian-app", "debian-app-v2", "whiteouts"} {
		t.Run(image, func(t *testing.T) {
			pkgs := analyzeImage(t, image)
			want := groundtruth.Load(t, image+".packages.tsv", isNPM)
			groundtruth.Compare(t, image+" installed", want, groundtruth.FromPackages(bySource(pkgs, SourceInstalled), false))

			locked := bySource(pkgs, SourceLockfile)
			if len(locked) == 0 {
				return
			}
			byLock := map[string][]groundtruth.Row{}
			for _, p := range locked {
				byLock[p.Paths[0]] = append(byLock[p.Paths[0]], groundtruth.Row{Ecosystem: p.Ecosystem, Name: p.Name, Version: p.Version})
			}
			for lock, got := range byLock {
				seen := map[groundtruth.Row]bool{}
				var wantNV []groundtruth.Row
				for _, r := range want {
					r.Path = ""
					if !seen[r] {
						seen[r] = true
						wantNV = append(wantNV, r)
					}
				}
				groundtruth.Compare(t, image+" "+lock, wantNV, got)
			}
		})
	}
}

func TestPolyglotLockfiles(t *testing.T) {
	pkgs := analyzeImage(t, "polyglot-lockfiles")
	for _, lock := range []string{"src/npm/yarn/yarn.lock", "src/npm/pnpm/pnpm-lock.yaml"} {
		want := groundtruth.Load(t, "polyglot-lockfiles.packages.tsv", func(r groundtruth.Row) bool {
			return r.Ecosystem == sbom.NPM && r.Path == lock
		})
		var got []sbom.Package
		for _, p := range pkgs {
			if p.Paths[0] == lock {
				got = append(got, p)
			}
		}
		groundtruth.Compare(t, lock, want, groundtruth.FromPackages(got, true))
	}
}

func TestWants(t *testing.T) {
	tests := []struct {
		path string
		want bool
	}{
		{"app/node_modules/express/package.json", true},
		{"node_modules/express/package.json", true},
		{"app/node_modules/@types/node/package.json", true},
		{"app/node_modules/send/node_modules/ms/package.json", true},
		{"app/node_modules/a/node_modules/@s/b/package.json", true},
		{"app/package.json", false},
		{"package.json", false},
		{"app/node_modules/express/lib/package.json", false},
		{"app/node_modules/@types/package.json", false},
		{"app/node_modules/.bin/package.json", false},
		{"@scope/x/package.json", false},
		{"app/package-lock.json", true},
		{"package-lock.json", true},
		{"app/node_modules/.package-lock.json", true},
		{"node_modules/.package-lock.json", true},
		{"app/node_modules/x/node_modules/.package-lock.json", false},
		{"app/node_modules/x/package-lock.json", false},
		{"app/node_modules/x/yarn.lock", false},
		{"src/yarn.lock", true},
		{"src/pnpm-lock.yaml", true},
		{"app/.package-lock.json", false},
		{"usr/bin/node", false},
	}
	for _, tt := range tests {
		if got := (Analyzer{}).Wants(tt.path, nil); got != tt.want {
			t.Errorf("Wants(%q) = %v, want %v", tt.path, got, tt.want)
		}
	}
}

// TestGolden checks the formats that no fixture image carries against
// small lock files in testdata/ (*.want lists name, version, scope).
func TestGolden(t *testing.T) {
	tests := []struct {
		file  string
		parse func([]byte) ([]sbom.Package, error)
	}{
		{"package-lock-v1.json", func(b []byte) ([]sbom.Package, error) { return ParsePackageLock(bytes.NewReader(b), "app") }},
		{"package-lock-v2.json", func(b []byte) ([]sbom.Package, error) { return ParsePackageLock(bytes.NewReader(b), "") }},
		{"yarn-berry.lock", func(b []byte) ([]sbom.Package, error) { return ParseYarnLock(bytes.NewReader(b)) }},
		{"pnpm-lock-v6.yaml", func(b []byte) ([]sbom.Package, error) { return ParsePnpmLock(bytes.NewReader(b)) }},
		{"pnpm-lock-v9.yaml", func(b []byte) ([]sbom.Package, error) { return ParsePnpmLock(bytes.NewReader(b)) }},
		{"package-license-object.json", func(b []byte) ([]sbom.Package, error) {
			p, err := ParsePackageJSON(bytes.NewReader(b))
			if p == nil {
				return nil, err
			}
			return []sbom.Package{*p}, err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			pkgs, err := tt.parse(b)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range pkgs {
				fields := []string{p.Name, p.Version, p.Scope, strings.Join(p.Licenses, ","), p.Metadata["installPath"]}
				got = append(got, strings.Join(strings.Fields(strings.Join(fields, " ")), " "))
			}
			wantB, err := os.ReadFile(filepath.Join("testdata", tt.file+".want"))
			if err != nil {
				t.Fatal(err)
			}
			want := strings.Split(strings.TrimSpace(string(wantB)), "\n")
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("%s:\ngot:\n%s\nwant:\n%s", tt.file, strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

func TestGarbage(t *testing.T) {
	for name, in := range map[string]string{
		"package.json":      `{"name": 1`,
		"package-lock.json": `[`,
		"yarn.lock":         "  version \"1\"\n",
		"pnpm-lock.yaml":    "packages: [\n",
	} {
		_, err := Analyzer{}.Analyze(context.Background(), analyze.File{Path: "x/" + name, Content: strings.NewReader(in)})
		if err == nil || !strings.Contains(err.Error(), "x/"+name) {
			t.Errorf("%s: error %v, want one naming the file", name, err)
		}
	}
}
