package scan

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/stella-scan/stella/internal/analyze/analyzetest"
	"github.com/stella-scan/stella/internal/sbom/spdx"
)

// A BuildKit-style index: the image plus an attestation manifest whose
// layer is an in-toto statement with an SPDX predicate. Stella takes the
// SBOM from it and reads no layer of the image.
func TestAttachedBuildKit(t *testing.T) {
	oci := filepath.Join(analyzetest.SharedDir(t), "testdata", "images", "whiteouts", "oci")
	doc, _, err := SBOM(context.Background(), "oci:"+oci, Options{SBOMSource: SourceUnpack})
	if err != nil {
		t.Fatal(err)
	}
	if len(doc.Packages) == 0 {
		t.Fatal("unpacked SBOM is empty")
	}
	var spdxDoc bytes.Buffer
	if err := spdx.Encode(&spdxDoc, doc, spdx.Options{}); err != nil {
		t.Fatal(err)
	}
	stmt, _ := json.Marshal(map[string]any{
		"_type":         "https://in-toto.io/Statement/v0.1",
		"predicateType": "https://spdx.dev/Document",
		"predicate":     json.RawMessage(spdxDoc.Bytes()),
	})
	idx, _ := layout.ImageIndexFromPath(oci)
	im, _ := idx.IndexManifest()
	img, err := idx.Image(im.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	imgDigest, _ := img.Digest()
	att, err := mutate.Append(mutate.MediaType(empty.Image, types.OCIManifestSchema1), mutate.Addendum{
		Layer:       static.NewLayer(stmt, "application/vnd.in-toto+json"),
		Annotations: map[string]string{"in-toto.io/predicate-type": "https://spdx.dev/Document"},
	})
	if err != nil {
		t.Fatal(err)
	}
	bk := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex),
		mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
		mutate.IndexAddendum{Add: att, Descriptor: v1.Descriptor{
			Platform: &v1.Platform{OS: "unknown", Architecture: "unknown"},
			Annotations: map[string]string{
				"vnd.docker.reference.type":   "attestation-manifest",
				"vnd.docker.reference.digest": imgDigest.String(),
			},
		}},
	)
	host, bl := attachRegistry(t, false)
	ref, _ := name.ParseReference(host+"/bk:v1", name.Insecure)
	if err := remote.WriteIndex(ref, bk); err != nil {
		t.Fatal(err)
	}
	bl.take()
	got, _, err := SBOM(context.Background(), host+"/bk:v1", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Source != "attached:buildkit-attestation" {
		t.Fatalf("source %q", got.Source)
	}
	if len(got.Packages) != len(doc.Packages) {
		t.Errorf("%d packages, want %d", len(got.Packages), len(doc.Packages))
	}
	layers := map[string]bool{}
	for _, l := range got.Image.Layers {
		layers[l.Digest] = true
	}
	if n := layerBlobs(bl.take(), layers); len(n) != 0 {
		t.Errorf("downloaded layer blobs %v", n)
	}
}
