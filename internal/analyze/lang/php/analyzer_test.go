package php

import (
	"bufio"
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

// expectedScopes maps "name version" to the scope column of the ground truth.
func expectedScopes(t *testing.T) map[string]string {
	t.Helper()
	f, err := os.Open(filepath.Join(analyzetest.SharedDir(t), "testdata", "images", "expected", "polyglot-lockfiles.packages.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		c := strings.Split(sc.Text(), "\t")
		if len(c) >= 6 && c[0] == sbom.Composer {
			out[c[1]+" "+c[2]] = c[5]
		}
	}
	return out
}

// composer 1.6.0's composer.lock: 14 prod and 18 dev packages, versions as
// written.
func TestPolyglotComposerLock(t *testing.T) {
	files := polyglotFiles(t)
	if len(files) != 1 {
		t.Fatalf("%d files, want 1 (composer.json is a manifest)", len(files))
	}
	scopes := expectedScopes(t)
	var got []string
	for p, b := range files {
		res, err := Analyzer{}.Analyze(context.Background(), analyze.File{Path: p, Content: bytes.NewReader(b)})
		if err != nil {
			t.Fatal(err)
		}
		for _, pkg := range res.Packages {
			got = append(got, strings.Join([]string{pkg.Ecosystem, pkg.Name, pkg.Version, pkg.Paths[0]}, "\t"))
			if want := scopes[pkg.Name+" "+pkg.Version]; pkg.Scope != want {
				t.Errorf("%s %s: scope %q, want %q", pkg.Name, pkg.Version, pkg.Scope, want)
			}
		}
	}
	analyzetest.DiffRows(t, got, analyzetest.ExpectedRows(t, "polyglot-lockfiles", sbom.Composer))
}

type summary struct {
	Name, Version, Scope, PURL string
	Licenses                   []string
}

func TestParseInstalledJSON(t *testing.T) {
	tests := []struct {
		file string
		want []summary
	}{
		{"testdata/installed-v1.json", []summary{
			{"monolog/monolog", "1.23.0", "", "pkg:composer/monolog/monolog@1.23.0", []string{"MIT"}},
			{"psr/log", "1.0.2", "", "pkg:composer/psr/log@1.0.2", []string{"MIT"}},
		}},
		{"testdata/installed-v2.json", []summary{
			{"guzzlehttp/guzzle", "7.4.5", "prod", "pkg:composer/guzzlehttp/guzzle@7.4.5", []string{"MIT"}},
			{"phpunit/phpunit", "9.5.21", "dev", "pkg:composer/phpunit/phpunit@9.5.21", []string{"BSD-3-Clause"}},
			{"symfony/polyfill-mbstring", "v1.26.0", "prod", "pkg:composer/symfony/polyfill-mbstring@v1.26.0", []string{"MIT"}},
		}},
	}
	for _, tc := range tests {
		b, err := os.ReadFile(tc.file)
		if err != nil {
			t.Fatal(err)
		}
		res, err := Analyzer{}.Analyze(context.Background(), analyze.File{Path: "app/vendor/composer/installed.json", Content: bytes.NewReader(b)})
		if err != nil {
			t.Fatalf("%s: %v", tc.file, err)
		}
		var got []summary
		for _, p := range res.Packages {
			got = append(got, summary{p.Name, p.Version, p.Scope, p.PURL, p.Licenses})
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s:\ngot  %+v\nwant %+v", tc.file, got, tc.want)
		}
	}
	for _, bad := range []string{"", "{}", "[1,2]", "{\"packages\": 3}", "not json"} {
		if _, err := ParseInstalledJSON([]byte(bad)); err == nil {
			t.Errorf("installed.json %q: no error", bad)
		}
		if _, err := ParseComposerLock([]byte(bad)); err == nil {
			t.Errorf("composer.lock %q: no error", bad)
		}
	}
}

func TestWants(t *testing.T) {
	for p, want := range map[string]bool{
		"src/composer/composer.lock":             true,
		"composer.lock":                          true,
		"var/www/vendor/composer/installed.json": true,
		"vendor/composer/installed.json":         true,
		"src/composer/composer.json":             false,
		"var/www/installed.json":                 false,
	} {
		if got := (Analyzer{}).Wants(p, nil); got != want {
			t.Errorf("Wants(%q) = %v, want %v", p, got, want)
		}
	}
}

func FuzzParseComposerLock(f *testing.F) {
	for _, b := range polyglotFiles(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) { _, _ = ParseComposerLock(b) })
}

func FuzzParseInstalledJSON(f *testing.F) {
	for _, n := range []string{"testdata/installed-v1.json", "testdata/installed-v2.json"} {
		b, _ := os.ReadFile(n)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) { _, _ = ParseInstalledJSON(b) })
}
