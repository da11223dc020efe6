package scan

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stella-scan/stella/internal/analyze/analyzetest"
	"github.com/stella-scan/stella/internal/sbom"
)

// Debian's Python packages are owned by their dpkg packages (listed in the
// .list files behind the merged-/usr symlinks): every pypi package in
// debian-app points at a python3-* deb, with an "owns" relationship. The
// npm tree, the Go binary and the jars belong to no OS package.
func TestOwnership(t *testing.T) {
	oci := filepath.Join(analyzetest.SharedDir(t), "testdata", "images", "debian-app", "oci")
	doc, _, err := SBOM(context.Background(), "oci:"+oci, Options{})
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]*sbom.Package{}
	for i := range doc.Packages {
		byID[doc.Packages[i].ID] = &doc.Packages[i]
	}
	owns := map[string]string{}
	for _, r := range doc.Relationships {
		if r.Type == sbom.RelOwns {
			owns[r.To] = r.From
		}
	}
	pypi := 0
	for _, p := range doc.Packages {
		switch p.Ecosystem {
		case sbom.PyPI:
			pypi++
			o := byID[p.OwnedBy]
			if o == nil || o.Ecosystem != sbom.Deb || !strings.HasPrefix(o.Name, "python3-") {
				t.Errorf("pypi %s %s owned by %+v, want a python3-* deb", p.Name, p.Version, o)
				continue
			}
			if owns[p.ID] != o.ID {
				t.Errorf("pypi %s: no owns relationship from %s", p.Name, o.Name)
			}
		case sbom.NPM, sbom.Golang, sbom.Maven:
			if p.OwnedBy != "" {
				t.Errorf("%s %s owned by %s, want unowned", p.Ecosystem, p.Name, p.OwnedBy)
			}
		}
	}
	if pypi != 8 {
		t.Errorf("%d pypi packages, want 8", pypi)
	}
	// The OS packages carry the distro in their purl.
	for _, p := range doc.Packages {
		if p.Ecosystem == sbom.Deb && !strings.Contains(p.PURL, "distro=debian-12") {
			t.Fatalf("deb purl without distro: %s", p.PURL)
		}
	}
}
