package match_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stella-scan/stella/internal/analyze/analyzetest"

	"github.com/stella-scan/stella/internal/match"
	"github.com/stella-scan/stella/internal/match/matchtest"
	"github.com/stella-scan/stella/internal/sbom"
)

// benchPackages returns n packages that name every package the DB knows
// (each distro source package as a binary of its release, each ecosystem
// package), cycling, with versions that make some of them match.
func benchPackages(b *testing.B, n int) []sbom.Package {
	db := matchtest.Open(b)
	eco, dist, err := db.PackageNames(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	var base []sbom.Package
	for _, d := range dist {
		var p sbom.Package
		switch d[0] {
		case "debian":
			p = sbom.Package{Ecosystem: sbom.Deb, Name: d[2], Version: "1.0-1", SourceName: d[2], SourceVersion: "1.0-1",
				Distro: &sbom.Distro{ID: "debian", Codename: d[1]}}
		case "alpine":
			p = sbom.Package{Ecosystem: sbom.APK, Name: d[2], Version: "1.0-r0", Distro: &sbom.Distro{ID: "alpine", Version: d[1] + ".0"}}
		default:
			continue
		}
		base = append(base, p)
	}
	for _, e := range eco {
		v := "1.0.0"
		if e[0] == "golang" {
			v = "v1.0.0"
		}
		base = append(base, sbom.Package{Ecosystem: e[0], Name: e[1], Version: v})
	}
	out := make([]sbom.Package, n)
	for i := range out {
		out[i] = base[i%len(base)]
		out[i].ID = fmt.Sprintf("p%d", i)
		out[i].Paths = []string{fmt.Sprintf("f/%d", i)}
		out[i].LayerIndex = 1
	}
	b.Logf("%d distinct package names from the DB", len(base))
	return out
}

// BenchmarkMatch measures matching throughput against the test DB: a
// fresh engine (empty lookup cache) per iteration over 100,000 packages
// that together name every package the DB holds.
//
//	go test ./internal/match -run '^$' -bench Match -benchtime 5x
var benchN = 100_000

func BenchmarkMatch(b *testing.B) {
	n := benchN
	pkgs := benchPackages(b, n)
	db := matchtest.Open(b)
	var findings int
	t0 := time.Now()
	for b.Loop() {
		fs, _, err := match.New(db, nil).Match(context.Background(), pkgs)
		if err != nil {
			b.Fatal(err)
		}
		findings = len(fs)
	}
	el := time.Since(t0)
	b.ReportMetric(float64(n*b.N)/el.Seconds(), "packages/s")
	b.ReportMetric(float64(findings), "findings")
}

// fixturePackages reads the ground-truth package lists of the fixture
// images (real names, versions and distros; source packages where the
// list has them).
func fixturePackages(b *testing.B) []sbom.Package {
	dir := filepath.Join(analyzetest.SharedDir(b), "testdata", "images", "expected")
	distros := map[string]*sbom.Distro{
		"debian-app":                 {ID: "debian", Version: "12", Codename: "bookworm"},
		"debian-bullseye-old":        {ID: "debian", Version: "11", Codename: "bullseye"},
		"alpine-3.10-old":            {ID: "alpine", Version: "3.10.0"},
		"alpine-3.14-apk":            {ID: "alpine", Version: "3.14.0"},
		"polyglot-lockfiles":         nil,
		"rhel-8.4-ubi-micro-rpm-bdb": {ID: "rhel", Version: "8.4"},
	}
	var out []sbom.Package
	for img, d := range distros {
		data, err := os.ReadFile(filepath.Join(dir, img+".packages.tsv"))
		if err != nil {
			b.Fatal(err)
		}
		for i, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
			f := strings.Split(line, "\t")
			if i == 0 || len(f) < 5 {
				continue
			}
			p := sbom.Package{Ecosystem: f[0], Name: f[1], Version: f[2], LayerIndex: 1, Paths: []string{f[4]}}
			if sbom.IsOS(p.Ecosystem) {
				p.Distro = d
				if len(f) > 5 {
					p.SourceName = f[5]
				}
				if len(f) > 6 {
					p.SourceVersion = f[6]
				}
			}
			out = append(out, p)
		}
	}
	return out
}

// BenchmarkMatchFixtures measures throughput on real packages: the
// fixture images' ground truth (Debian 11 and 12, Alpine 3.10 and 3.14,
// RHEL 8, npm, Go, PyPI, Maven, gems, crates, NuGet, Composer) repeated to
// 100,000 packages, a fresh engine (empty caches) per iteration.
//
//	go test ./internal/match -run '^$' -bench MatchFixtures -benchtime 5x
func BenchmarkMatchFixtures(b *testing.B) {
	base := fixturePackages(b)
	pkgs := make([]sbom.Package, benchN)
	for i := range pkgs {
		pkgs[i] = base[i%len(base)]
		pkgs[i].ID = fmt.Sprintf("p%d", i)
	}
	b.Logf("%d fixture packages, repeated to %d", len(base), len(pkgs))
	db := matchtest.Open(b)
	var findings int
	t0 := time.Now()
	for b.Loop() {
		fs, _, err := match.New(db, nil).Match(context.Background(), pkgs)
		if err != nil {
			b.Fatal(err)
		}
		findings = len(fs)
	}
	b.ReportMetric(float64(len(pkgs)*b.N)/time.Since(t0).Seconds(), "packages/s")
	b.ReportMetric(float64(findings), "findings")
}
