package scan

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// dir:PATH scans a root filesystem as one layer; symlinks are recorded,
// never followed (a link to / does not pull the host in).
func TestDirSource(t *testing.T) {
	root := t.TempDir()
	pj := filepath.Join(root, "app", "node_modules", "ms")
	os.MkdirAll(pj, 0o755)
	os.WriteFile(filepath.Join(pj, "package.json"), []byte(`{"name":"ms","version":"2.0.0","license":"MIT"}`), 0o644)
	os.MkdirAll(filepath.Join(root, "etc"), 0o755)
	os.WriteFile(filepath.Join(root, "etc", "os-release"), []byte("ID=debian\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\n"), 0o644)
	os.Symlink("/", filepath.Join(root, "host"))
	doc, _, err := SBOM(context.Background(), "dir:"+root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(doc.Packages) != 1 || doc.Packages[0].Name != "ms" || doc.Packages[0].Paths[0] != "app/node_modules/ms/package.json" {
		t.Fatalf("packages %+v", doc.Packages)
	}
	if doc.Distro == nil || doc.Distro.ID != "debian" || doc.Distro.Codename != "bookworm" {
		t.Errorf("distro %+v", doc.Distro)
	}
	// A bare directory path is recognised as dir:.
	doc2, _, err := SBOM(context.Background(), root, Options{})
	if err != nil || len(doc2.Packages) != 1 {
		t.Fatalf("bare path: %v %d", err, len(doc2.Packages))
	}
}
