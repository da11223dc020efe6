package dotnet

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/stella-scan/stella/internal/analyze"
	"github.com/stella-scan/stella/internal/analyze/analyzetest"
	"github.com/stella-scan/stella/internal/sbom"
)

func polyglotFiles(t testing.TB) map[string][]byte {
	return analyzetest.Files(t, filepath.Join(analyzetest.ImageDir(t, "polyglot-lockfiles"), "oci"), func(p string) bool {
		return Analyzer{}.Wants(p, nil)
	})
}

// bitwarden's packages.lock.json (308 Direct/Transitive entries, 5 Project
// entries left out) and trivy's hello2.deps.json (7 packages, the root
// project left out) give the nuget rows of the ground truth.
func TestPolyglot(t *testing.T) {
	files := polyglotFiles(t)
	if len(files) != 2 {
		t.Fatalf("%d files, want 2", len(files))
	}
	var got []string
	for p, b := range files {
		res, err := Analyzer{}.Analyze(context.Background(), analyze.File{Path: p, Content: bytes.NewReader(b)})
		if err != nil {
			t.Fatal(err)
		}
		for _, pkg := range res.Packages {
			got = append(got, strings.Join([]string{pkg.Ecosystem, pkg.Name, pkg.Version, pkg.Paths[0]}, "\t"))
			if pkg.PURL != "pkg:nuget/"+pkg.Name+"@"+pkg.Version {
				t.Errorf("purl %s", pkg.PURL)
			}
		}
	}
	analyzetest.DiffRows(t, got, analyzetest.ExpectedRows(t, "polyglot-lockfiles", sbom.NuGet))
}

type summary struct{ Name, Version, Type string }

func TestParseGolden(t *testing.T) {
	tests := []struct {
		file  string
		parse func([]byte) ([]sbom.Package, error)
		want  []summary
	}{
		// One entry per name and version across frameworks; Project out.
		{"testdata/multi.packages.lock.json", ParsePackagesLock, []summary{
			{"Newtonsoft.Json", "13.0.1", "Direct"},
			{"System.Buffers", "4.5.1", "Transitive"},
			{"System.Text.Encodings.Web", "4.7.2", "CentralTransitive"},
		}},
		// Self-contained app: the runtime pack and the projects are not
		// NuGet packages.
		{"testdata/selfcontained.deps.json", ParseDepsJSON, []summary{
			{"Serilog", "2.10.0", ""},
		}},
	}
	for _, tc := range tests {
		b, err := os.ReadFile(tc.file)
		if err != nil {
			t.Fatal(err)
		}
		pkgs, err := tc.parse(b)
		if err != nil {
			t.Fatalf("%s: %v", tc.file, err)
		}
		var got []summary
		for _, p := range pkgs {
			got = append(got, summary{p.Name, p.Version, p.Metadata["dependencyType"]})
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s:\ngot  %+v\nwant %+v", tc.file, got, tc.want)
		}
	}
	for _, bad := range []string{"", "{}", "[]", "{\"libraries\": 1, \"dependencies\": 2}"} {
		if _, err := ParseDepsJSON([]byte(bad)); err == nil {
			t.Errorf("deps.json %q: no error", bad)
		}
		if _, err := ParsePackagesLock([]byte(bad)); err == nil {
			t.Errorf("packages.lock.json %q: no error", bad)
		}
	}
}

func TestWants(t *testing.T) {
	for p, want := range map[string]bool{
		"app/hello2.deps.json":              true,
		"src/nuget/lock/packages.lock.json": true,
		"packages.lock.json":                true,
		"app/.deps.json":                    false,
		"app/hello2.runtimeconfig.json":     false,
		"app/package-lock.json":             false,
	} {
		if got := (Analyzer{}).Wants(p, nil); got != want {
			t.Errorf("Wants(%q) = %v, want %v", p, got, want)
		}
	}
}

func FuzzParseDepsJSON(f *testing.F) {
	for p, b := range polyglotFiles(f) {
		if isDeps(p) {
			f.Add(b)
		}
	}
	b, _ := os.ReadFile("testdata/selfcontained.deps.json")
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) { _, _ = ParseDepsJSON(b) })
}

func FuzzParsePackagesLock(f *testing.F) {
	for p, b := range polyglotFiles(f) {
		if isLock(p) {
			f.Add(b)
		}
	}
	b, _ := os.ReadFile("testdata/multi.packages.lock.json")
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) { _, _ = ParsePackagesLock(b) })
}
