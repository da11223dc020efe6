package scan

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/stella-scan/stella/internal/analyze/analyzetest"
	"github.com/stella-scan/stella/internal/sbom/cyclonedx"
)

// An SBOM shipped inside the image (usr/share/sbom/…) is what
// --sbom-source embedded reports; an image without one is an error.
func TestEmbeddedSBOM(t *testing.T) {
	src := filepath.Join(analyzetest.SharedDir(t), "testdata", "images", "alpine-3.14-apk", "oci")
	doc, _, err := SBOM(context.Background(), "oci:"+src, Options{SBOMSource: SourceUnpack})
	if err != nil || len(doc.Packages) == 0 {
		t.Fatalf("unpack: %v (%d packages)", err, len(doc.Packages))
	}
	var bom bytes.Buffer
	if err := cyclonedx.Encode(&bom, doc, "1.6"); err != nil {
		t.Fatal(err)
	}
	var layerTar bytes.Buffer
	tw := tar.NewWriter(&layerTar)
	tw.WriteHeader(&tar.Header{Name: "usr/share/sbom/alpine.cdx.json", Mode: 0o644, Size: int64(bom.Len()), Typeflag: tar.TypeReg})
	tw.Write(bom.Bytes())
	tw.Close()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(layerTar.Bytes())), nil })
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, l)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AppendImage(img); err != nil {
		t.Fatal(err)
	}
	got, _, err := SBOM(context.Background(), "oci:"+dir, Options{SBOMSource: SourceEmbedded})
	if err != nil {
		t.Fatal(err)
	}
	if got.Source != SourceEmbedded || len(got.Packages) != len(doc.Packages) {
		t.Fatalf("source %q, %d packages; want embedded with %d", got.Source, len(got.Packages), len(doc.Packages))
	}
	if got.Packages[0].Paths[0] != "usr/share/sbom/alpine.cdx.json" {
		t.Errorf("path %v", got.Packages[0].Paths)
	}
	_, _, err = SBOM(context.Background(), "oci:"+src, Options{SBOMSource: SourceEmbedded})
	if err == nil || !strings.Contains(err.Error(), "no SBOM file found inside the image") {
		t.Fatalf("want an error for an image without an embedded SBOM, got %v", err)
	}
}
