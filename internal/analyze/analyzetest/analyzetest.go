// Package analyzetest helps analyzer tests read real files out of the
// fixture images in ../shared/testdata/images, and find the shared folder.
package analyzetest

import (
	"archive/tar"
	"bufio"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

// SharedDir returns the absolute path of the shared folder (../shared from
// the repository root, the folder that holds go.mod).
func SharedDir(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			shared := filepath.Join(dir, "..", "shared")
			if _, err := os.Stat(filepath.Join(shared, "testdata")); err != nil {
				t.Fatalf("shared test data not found at %s: tests need ../shared beside the repository", shared)
			}
			return shared
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test directory")
		}
		dir = parent
	}
}

// ImageDir returns ../shared/testdata/images/<name>.
func ImageDir(t testing.TB, name string) string {
	return filepath.Join(SharedDir(t), "testdata", "images", name)
}

// Files returns the content of every regular file of the flattened image
// (the first manifest of its OCI layout) for which keep(path) is true.
// Paths are relative, without a leading slash.
func Files(t testing.TB, ociDir string, keep func(p string) bool) map[string][]byte {
	t.Helper()
	idx, err := layout.ImageIndexFromPath(ociDir)
	if err != nil {
		t.Fatalf("open %s: %v", ociDir, err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	img, err := idx.Image(m.Manifests[0].Digest)
	if err != nil {
		// An index of indexes (multiarch): take its first image.
		sub, err2 := idx.ImageIndex(m.Manifests[0].Digest)
		if err2 != nil {
			t.Fatalf("image %s: %v", ociDir, err)
		}
		sm, _ := sub.IndexManifest()
		img, err = sub.Image(sm.Manifests[0].Digest)
		if err != nil {
			t.Fatal(err)
		}
	}
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	out := map[string][]byte{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("read %s: %v", ociDir, err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		p := strings.TrimPrefix(path.Clean("/"+h.Name), "/")
		if !keep(p) {
			continue
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out[p] = b
	}
	return out
}

// ExpectedRows returns, sorted, "ecosystem\tname\tversion\tpath" for every row of
// expected/<image>.packages.tsv whose ecosystem is eco.
func ExpectedRows(t testing.TB, image, eco string) []string {
	t.Helper()
	return tsvRows(t, image+".packages.tsv", eco)
}

// OptionalRows is ExpectedRows for expected/<image>.optional.tsv.
func OptionalRows(t testing.TB, image, eco string) []string {
	t.Helper()
	return tsvRows(t, image+".optional.tsv", eco)
}

func tsvRows(t testing.TB, name, eco string) []string {
	t.Helper()
	file := filepath.Join(SharedDir(t), "testdata", "images", "expected", name)
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		c := strings.Split(sc.Text(), "\t")
		if len(c) < 5 || c[0] != eco {
			continue
		}
		rows = append(rows, strings.Join([]string{c[0], c[1], c[2], c[4]}, "\t"))
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	sort.Strings(rows)
	return rows
}

// DiffRows fails the test with the rows missing from got and the extra ones.
func DiffRows(t testing.TB, got, want []string) {
	t.Helper()
	g, w := map[string]bool{}, map[string]bool{}
	for _, r := range got {
		g[r] = true
	}
	for _, r := range want {
		w[r] = true
	}
	var missing, extra []string
	for r := range w {
		if !g[r] {
			missing = append(missing, r)
		}
	}
	for r := range g {
		if !w[r] {
			extra = append(extra, r)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	t.Logf("recall %d/%d, precision %d/%d", len(w)-len(missing), len(w), len(g)-len(extra), len(g))
	if len(missing) > 0 {
		t.Errorf("missing %d rows:\n  %s", len(missing), strings.Join(missing, "\n  "))
	}
	if len(extra) > 0 {
		t.Errorf("%d rows not in the ground truth:\n  %s", len(extra), strings.Join(extra, "\n  "))
	}
	if len(got) != len(g) {
		t.Errorf("%d rows reported more than once", len(got)-len(g))
	}
}
