// Package analyzetest helps analyzer tests read real files out of the
// fixture images in ../shared/testdata/images, and find the shared folder.
package analyzetest

import (
	"archive/tar"
	"io"
	"os"
	"path"
	"path/filepath"
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
