package scan

import (
	"context"
	"io"
	"io/fs"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stella-scan/stella/internal/analyze"
	"github.com/stella-scan/stella/internal/analyze/analyzetest"
	"github.com/stella-scan/stella/internal/cache"
	"github.com/stella-scan/stella/internal/sbom"
)

// countingAnalyzer reports one package per dpkg status file it reads and
// counts its calls.
type countingAnalyzer struct {
	name    string
	version int
	calls   *atomic.Int64
}

func (c countingAnalyzer) Name() string { return c.name }
func (c countingAnalyzer) Version() int { return c.version }
func (c countingAnalyzer) Wants(p string, _ fs.FileInfo) bool {
	return p == "var/lib/dpkg/status"
}
func (c countingAnalyzer) Analyze(_ context.Context, f analyze.File) (*analyze.Result, error) {
	c.calls.Add(1)
	io.Copy(io.Discard, f.Content)
	return &analyze.Result{Packages: []sbom.Package{{Name: c.name, Version: "1", Ecosystem: "test", Paths: []string{f.Path}}}}, nil
}

// A new version of one analyzer re-runs that analyzer only: the other's
// cached entries are used, and the layers are marked partial.
func TestAnalyzerVersionInvalidation(t *testing.T) {
	oci := "oci:" + filepath.Join(analyzetest.SharedDir(t), "testdata", "images", "whiteouts", "oci")
	c, err := cache.OpenDisk(t.TempDir(), cache.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var aCalls, bCalls atomic.Int64
	a1 := countingAnalyzer{"a", 1, &aCalls}
	b1 := countingAnalyzer{"b", 1, &bCalls}
	run := func(as ...analyze.Analyzer) *Stats {
		t.Helper()
		doc, st, err := SBOM(context.Background(), oci, Options{Cache: c, Analyzers: as})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, p := range doc.Packages {
			names = append(names, p.Name)
		}
		if strings.Join(names, ",") != "a,b" {
			t.Fatalf("packages %v, want a and b", names)
		}
		return st
	}
	run(a1, b1)
	if aCalls.Load() == 0 || bCalls.Load() == 0 {
		t.Fatal("cold run did not call the analyzers")
	}
	aCalls.Store(0)
	bCalls.Store(0)
	// Same versions, but the image cache is keyed by the analyzer set, so
	// drop to the layer cache by asking for the set in another order: the
	// set ID is order-independent, so this is an image-cache hit.
	if st := run(b1, a1); !st.ImageCache {
		t.Error("same analyzer set missed the image cache")
	}
	st := run(countingAnalyzer{"a", 2, &aCalls}, b1)
	if bCalls.Load() != 0 {
		t.Errorf("b (unchanged) ran %d times", bCalls.Load())
	}
	if aCalls.Load() == 0 {
		t.Error("a (new version) did not run")
	}
	partial := 0
	for _, l := range st.Layers {
		if l.Cache == "partial" {
			partial++
		}
	}
	if partial != len(st.Layers) {
		t.Errorf("%d of %d layers partial: %+v", partial, len(st.Layers), st.Layers)
	}
}
