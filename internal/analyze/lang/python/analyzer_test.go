package python

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

type fileInfo struct {
	name string
	size int64
}

func (f fileInfo) Name() string       { return f.name }
func (f fileInfo) Size() int64        { return f.size }
func (f fileInfo) Mode() fs.FileMode  { return 0o644 }
func (f fileInfo) ModTime() time.Time { return time.Time{} }
func (f fileInfo) IsDir() bool        { return false }
func (f fileInfo) Sys() any           { return nil }

func analyzeImage(t *testing.T, image string) []sbom.Package {
	t.Helper()
	a := Analyzer{}
	files := analyzetest.Files(t, filepath.Join(analyzetest.ImageDir(t, image), "oci"), func(p string) bool {
		return a.Wants(p, fileInfo{name: filepath.Base(p)})
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
			Path: p, Info: fileInfo{name: filepath.Base(p), size: int64(len(b))}, Content: bytes.NewReader(b),
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

func TestImages(t *testing.T) {
	for _, tt := range []struct {
		image string
		scope bool
	}{
		{"debian-app", false},
		{"debian-app-v2", false},
		{"polyglot-lockfiles", true},
	} {
		t.Run(tt.image, func(t *testing.T) {
			want := groundtruth.Load(t, tt.image+".packages.tsv", func(r groundtruth.Row) bool { return r.Ecosystem == sbom.PyPI })
			got := groundtruth.FromPackages(analyzeImage(t, tt.image), tt.scope)
			groundtruth.Compare(t, tt.image, want, got)
		})
	}
}

// TestLicenses checks the licences read from Debian's dist-info and
// egg-info files in debian-app.
func TestLicenses(t *testing.T) {
	got := map[string]string{}
	for _, p := range analyzeImage(t, "debian-app") {
		got[p.Name] = strings.Join(p.Licenses, ",")
	}
	want := map[string]string{
		"pyyaml":             "MIT",
		"chardet":            "LGPL-2.0-or-later", // "License: LGPL" has no version; the classifier does
		"charset-normalizer": "MIT",
		"certifi":            "MPL-2.0",
		"idna":               "BSD-3-Clause",
		"requests":           "Apache-2.0",
		"six":                "MIT",
		"urllib3":            "MIT",
	}
	for n, w := range want {
		if got[n] != w {
			t.Errorf("%s: licences %q, want %q", n, got[n], w)
		}
	}
}

func TestWants(t *testing.T) {
	tests := []struct {
		path string
		want bool
	}{
		{"usr/lib/python3/dist-packages/PyYAML-6.0.dist-info/METADATA", true},
		{"usr/lib/python3/dist-packages/six-1.16.0.egg-info/PKG-INFO", true},
		{"usr/lib/python3.11/site-packages/foo-1.0-py3.11.egg-info", true},
		{"usr/lib/python3.11/site-packages/bar-1.0-py3.11.egg/EGG-INFO/PKG-INFO", true},
		{"usr/lib/python3/dist-packages/PyYAML-6.0.dist-info/RECORD", false},
		{"src/poetry.lock", true},
		{"Pipfile.lock", true},
		{"app/requirements.txt", true},
		{"app/requirements-dev.txt", true},
		{"app/requirements.in", false},
		{"usr/lib/python3/site-packages/foo/requirements.txt", false},
		{"app/Pipfile", false},
		{"app/pyproject.toml", false},
	}
	for _, tt := range tests {
		if got := (Analyzer{}).Wants(tt.path, nil); got != tt.want {
			t.Errorf("Wants(%q) = %v, want %v", tt.path, got, tt.want)
		}
	}
}

func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{
		"PyYAML":                        "pyyaml",
		"charset_normalizer":            "charset-normalizer",
		"backports.functools_lru_cache": "backports-functools-lru-cache",
		"zope.interface":                "zope-interface",
		"Foo__-.Bar":                    "foo-bar",
		"  Django ":                     "django",
	} {
		if got := Normalize(in); got != want {
			t.Errorf("Normalize(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestGolden checks formats and cases that no fixture covers against files
// in testdata/ (*.want lists name, version, scope, licences).
func TestGolden(t *testing.T) {
	single := func(p *sbom.Package, err error) ([]sbom.Package, error) {
		if p == nil {
			return nil, err
		}
		return []sbom.Package{*p}, err
	}
	tests := []struct {
		file  string
		parse func([]byte) ([]sbom.Package, error)
	}{
		{"METADATA-expression", func(b []byte) ([]sbom.Package, error) { return single(ParseMetadata(bytes.NewReader(b))) }},
		{"METADATA-classifiers", func(b []byte) ([]sbom.Package, error) { return single(ParseMetadata(bytes.NewReader(b))) }},
		{"PKG-INFO-unknown", func(b []byte) ([]sbom.Package, error) { return single(ParseMetadata(bytes.NewReader(b))) }},
		{"requirements-tricky.txt", func(b []byte) ([]sbom.Package, error) { return ParseRequirements(bytes.NewReader(b)) }},
		{"poetry-groups.lock", func(b []byte) ([]sbom.Package, error) { return ParsePoetryLock(bytes.NewReader(b)) }},
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
				fields := []string{p.Name, p.Version, p.Scope, strings.Join(p.Licenses, ",")}
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
		"x.dist-info/METADATA": "\x00\x01garbage",
		"x.egg-info/PKG-INFO":  "Metadata-Version: 2.1\nSummary: no name\n",
		"poetry.lock":          "[[package]\nname=",
		"Pipfile.lock":         "{",
		"requirements.txt":     "a==1\x00\n",
	} {
		_, err := Analyzer{}.Analyze(context.Background(), analyze.File{Path: "x/" + name, Content: strings.NewReader(in)})
		if err == nil || !strings.Contains(err.Error(), "x/"+name) {
			t.Errorf("%s: error %v, want one naming the file", name, err)
		}
	}
}
