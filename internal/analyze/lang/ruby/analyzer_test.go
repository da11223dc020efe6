package ruby

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

// polyglot-lockfiles: devise's Gemfile.lock (GEM, GIT and PATH sections) and
// two Debian rubygems-integration gemspecs give the gem rows of the ground
// truth, plus devise itself (PATH, scope workspace) from the optional rows.
func TestPolyglot(t *testing.T) {
	files := polyglotFiles(t)
	if len(files) != 3 {
		t.Fatalf("wanted %d files, want 3: %v", len(files), files)
	}
	var got []string
	for p, b := range files {
		res, err := Analyzer{}.Analyze(context.Background(), analyze.File{Path: p, Content: bytes.NewReader(b)})
		if err != nil {
			t.Fatal(err)
		}
		for _, pkg := range res.Packages {
			got = append(got, strings.Join([]string{pkg.Ecosystem, pkg.Name, pkg.Version, pkg.Paths[0]}, "\t"))
			wantScope := ""
			if pkg.Name == "devise" {
				wantScope = "workspace"
			}
			if pkg.Scope != wantScope {
				t.Errorf("%s: scope %q, want %q", pkg.Name, pkg.Scope, wantScope)
			}
			if !strings.HasPrefix(pkg.PURL, "pkg:gem/"+pkg.Name+"@") {
				t.Errorf("%s: purl %s", pkg.Name, pkg.PURL)
			}
		}
	}
	want := append(analyzetest.ExpectedRows(t, "polyglot-lockfiles", sbom.Gem), analyzetest.OptionalRows(t, "polyglot-lockfiles", sbom.Gem)...)
	analyzetest.DiffRows(t, got, want)
}

func TestWants(t *testing.T) {
	for p, want := range map[string]bool{
		"src/gem/bundler/Gemfile.lock": true,
		"app/gems.locked":              true,
		"Gemfile.lock":                 true,
		"usr/share/rubygems-integration/all/specifications/rack-2.2.22.gemspec":                       true,
		"usr/lib/x86_64-linux-gnu/rubygems-integration/3.1.0/specifications/nokogiri-1.13.10.gemspec": true,
		"usr/local/bundle/specifications/puma-6.4.0.gemspec":                                          true,
		"usr/local/lib/ruby/gems/3.2.0/specifications/default/json-2.6.3.gemspec":                     true,
		"usr/local/bundle/gems/puma-6.4.0/puma.gemspec":                                               false,
		"src/app/app.gemspec":  false,
		"Gemfile":              false,
		"src/Gemfile.lock.bak": false,
	} {
		if got := (Analyzer{}).Wants(p, nil); got != want {
			t.Errorf("Wants(%q) = %v, want %v", p, got, want)
		}
	}
}

type pkgSummary struct{ Name, Version, Scope, Platform string }

func TestParseGemfileLockPlatforms(t *testing.T) {
	b, err := os.ReadFile("testdata/platforms.Gemfile.lock")
	if err != nil {
		t.Fatal(err)
	}
	pkgs, err := ParseGemfileLock(b)
	if err != nil {
		t.Fatal(err)
	}
	var got []pkgSummary
	for _, p := range pkgs {
		got = append(got, pkgSummary{p.Name, p.Version, p.Scope, p.Metadata["platform"]})
	}
	// The plug-in is not an application gem; the two nokogiri platforms are
	// one package version.
	want := []pkgSummary{
		{"billing", "0.0.1", "workspace", ""},
		{"nokogiri", "1.15.4", "", "x86_64-linux"},
		{"racc", "1.7.1", "", ""},
		{"rails", "7.0.8", "", ""},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	if _, err := ParseGemfileLock([]byte("    rails (7.0.0)\n")); err == nil {
		t.Error("no error for a file without sections")
	}
}

func TestParseGemspec(t *testing.T) {
	tests := []struct {
		file, name, version string
		licenses            []string
	}{
		{"testdata/old-style.gemspec", "json_pure", "1.4.6", []string{"Ruby"}},
	}
	for _, tc := range tests {
		b, err := os.ReadFile(tc.file)
		if err != nil {
			t.Fatal(err)
		}
		p, err := ParseGemspec(b)
		if err != nil {
			t.Fatalf("%s: %v", tc.file, err)
		}
		if p.Name != tc.name || p.Version != tc.version || !reflect.DeepEqual(p.Licenses, tc.licenses) {
			t.Errorf("%s: got %s %s %v, want %s %s %v", tc.file, p.Name, p.Version, p.Licenses, tc.name, tc.version, tc.licenses)
		}
	}
	for _, bad := range []string{"", "puts 1\n", "Gem::Specification.new do |s|\n  s.name = NAME\nend\n"} {
		if _, err := ParseGemspec([]byte(bad)); err == nil {
			t.Errorf("no error for %q", bad)
		}
	}
	// Licences of the Debian gemspecs.
	for p, b := range polyglotFiles(t) {
		if strings.HasSuffix(p, ".gemspec") {
			pkg, err := ParseGemspec(b)
			if err != nil || !reflect.DeepEqual(pkg.Licenses, []string{"MIT"}) {
				t.Errorf("%s: %+v %v", p, pkg, err)
			}
		}
	}
}

func FuzzParseGemfileLock(f *testing.F) {
	for p, b := range polyglotFiles(f) {
		if isLockfile(p) {
			f.Add(b)
		}
	}
	b, _ := os.ReadFile("testdata/platforms.Gemfile.lock")
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		pkgs, err := ParseGemfileLock(b)
		if err == nil {
			for _, p := range pkgs {
				if p.Name == "" || p.Version == "" {
					t.Fatalf("empty: %+v", p)
				}
			}
		}
	})
}

func FuzzParseGemspec(f *testing.F) {
	for p, b := range polyglotFiles(f) {
		if !isLockfile(p) {
			f.Add(b)
		}
	}
	b, _ := os.ReadFile("testdata/old-style.gemspec")
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParseGemspec(b)
		if err == nil && (p.Name == "" || p.Version == "") {
			t.Fatalf("empty: %+v", p)
		}
	})
}
