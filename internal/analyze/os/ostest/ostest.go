// Package ostest runs the OS analyzers over the fixture images and
// compares what they find with the ground truth in
// ../shared/testdata/images/expected. Tests only.
package ostest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stella-scan/stella/internal/analyze"
	"github.com/stella-scan/stella/internal/analyze/analyzetest"
	"github.com/stella-scan/stella/internal/sbom"
)

// Expected reads expected/<file> and returns, for each row, the listed
// columns joined by tabs (columns named by the file's header line).
func Expected(t testing.TB, file string, cols ...string) []string {
	t.Helper()
	p := filepath.Join(analyzetest.SharedDir(t), "testdata", "images", "expected", file)
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	var idx []int
	var out []string
	for sc.Scan() {
		c := strings.Split(sc.Text(), "\t")
		if idx == nil {
			for _, want := range cols {
				i := indexOf(c, want)
				if i < 0 {
					t.Fatalf("%s: no column %q in header %q", p, want, sc.Text())
				}
				idx = append(idx, i)
			}
			continue
		}
		var row []string
		for _, i := range idx {
			if i >= len(c) {
				t.Fatalf("%s: short row %q", p, sc.Text())
			}
			row = append(row, c[i])
		}
		out = append(out, strings.Join(row, "\t"))
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func indexOf(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

// Results flattens image (a directory under testdata/images) and runs a
// over every regular file it wants, returning the results by path.
func Results(t testing.TB, a analyze.Analyzer, image string) map[string]*analyze.Result {
	t.Helper()
	files := analyzetest.Files(t, filepath.Join(analyzetest.ImageDir(t, image), "oci"), func(p string) bool {
		return a.Wants(p, nil)
	})
	out := map[string]*analyze.Result{}
	for p, b := range files {
		r, err := a.Analyze(context.Background(), analyze.File{Path: p, Info: fileInfo{p, int64(len(b))}, Content: bytes.NewReader(b)})
		if err != nil {
			t.Fatalf("%s: %s: %v", image, p, err)
		}
		out[p] = r
	}
	return out
}

// Packages is every package of the results, sorted by path.
func Packages(results map[string]*analyze.Result) []sbom.Package {
	paths := make([]string, 0, len(results))
	for p := range results {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	var pkgs []sbom.Package
	for _, p := range paths {
		if results[p] != nil {
			pkgs = append(pkgs, results[p].Packages...)
		}
	}
	return pkgs
}

// Rows turns packages into tab-joined rows with row(p) giving the columns.
func Rows(pkgs []sbom.Package, row func(p *sbom.Package) []string) []string {
	var out []string
	for i := range pkgs {
		out = append(out, strings.Join(row(&pkgs[i]), "\t"))
	}
	return out
}

// Compare reports, as one test error, the rows missing from got and the
// rows got has in excess, and logs recall and precision.
func Compare(t testing.TB, what string, want, got []string) {
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

func count(rows []string) map[string]int {
	m := map[string]int{}
	for _, r := range rows {
		m[r]++
	}
	return m
}

func pct(a, b int) float64 {
	if b == 0 {
		return 100
	}
	return 100 * float64(a) / float64(b)
}

type fileInfo struct {
	path string
	size int64
}

func (f fileInfo) Name() string       { return filepath.Base(f.path) }
func (f fileInfo) Size() int64        { return f.size }
func (f fileInfo) Mode() fs.FileMode  { return 0o644 }
func (f fileInfo) ModTime() time.Time { return time.Time{} }
func (f fileInfo) IsDir() bool        { return false }
func (f fileInfo) Sys() any           { return nil }
