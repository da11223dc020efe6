// Package groundtruth reads the expected/*.packages.tsv files of the
// fixture images and compares analyzer output with them. It is used by the
// language analyzers' tests only.
package groundtruth

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stella-scan/stella/internal/analyze/analyzetest"
	"github.com/stella-scan/stella/internal/sbom"
)

// Row is one ground-truth package.
type Row struct {
	Ecosystem, Name, Version, Path, Scope string
}

func (r Row) String() string {
	s := r.Ecosystem + "\t" + r.Name + "\t" + r.Version + "\t" + r.Path
	if r.Scope != "" {
		s += "\t" + r.Scope
	}
	return s
}

// Load reads expected/<file> (e.g. "debian-app.packages.tsv") and returns
// the rows for which keep is true. A scope of "-" is read as "".
func Load(t testing.TB, file string, keep func(Row) bool) []Row {
	t.Helper()
	p := filepath.Join(analyzetest.SharedDir(t), "testdata", "images", "expected", file)
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows []Row
	sc := bufio.NewScanner(f)
	first := true
	for sc.Scan() {
		if first {
			first = false
			continue
		}
		c := strings.Split(sc.Text(), "\t")
		if len(c) < 5 {
			t.Fatalf("%s: short row %q", p, sc.Text())
		}
		r := Row{Ecosystem: c[0], Name: c[1], Version: c[2], Path: c[4]}
		if len(c) > 5 && c[5] != "-" {
			r.Scope = c[5]
		}
		if keep == nil || keep(r) {
			rows = append(rows, r)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return rows
}

// FromPackages turns packages into rows (one per path); with scope false
// the Scope column is left empty.
func FromPackages(pkgs []sbom.Package, scope bool) []Row {
	var rows []Row
	for _, p := range pkgs {
		for _, path := range p.Paths {
			r := Row{Ecosystem: p.Ecosystem, Name: p.Name, Version: p.Version, Path: path}
			if scope {
				r.Scope = p.Scope
			}
			rows = append(rows, r)
		}
	}
	return rows
}

// Compare reports, as one test error, the rows missing from got and the
// rows got has in excess, with recall and precision.
func Compare(t testing.TB, what string, want, got []Row) {
	t.Helper()
	w, g := count(want), count(got)
	var missing, extra []string
	for k, n := range w {
		for i := g[k]; i < n; i++ {
			missing = append(missing, k)
		}
	}
	for k, n := range g {
		for i := w[k]; i < n; i++ {
			extra = append(extra, k)
		}
	}
	hit := len(got) - len(extra)
	t.Logf("%s: want %d, got %d, recall %.1f%%, precision %.1f%%", what, len(want), len(got),
		pct(hit, len(want)), pct(hit, len(got)))
	if len(missing) == 0 && len(extra) == 0 {
		return
	}
	sort.Strings(missing)
	sort.Strings(extra)
	var b strings.Builder
	fmt.Fprintf(&b, "%s differs from the ground truth:\n", what)
	for _, m := range missing {
		fmt.Fprintf(&b, "  missing %s\n", m)
	}
	for _, e := range extra {
		fmt.Fprintf(&b, "  extra   %s\n", e)
	}
	t.Error(b.String())
}

func count(rows []Row) map[string]int {
	m := map[string]int{}
	for _, r := range rows {
		m[r.String()]++
	}
	return m
}

func pct(a, b int) float64 {
	if b == 0 {
		return 100
	}
	return 100 * float64(a) / float64(b)
}
