package scan

import (
	"context"
	"io"
	"log"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"net/http"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/stella-scan/stella/internal/analyze/analyzetest"
	"github.com/stella-scan/stella/internal/image"
)

// startRegistry runs go-containerregistry's registry on a loopback port and
// counts blob GETs.
func startRegistry(t *testing.T) (host string, blobGets *atomic.Int64) {
	t.Helper()
	blobGets = &atomic.Int64{}
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/") {
			blobGets.Add(1)
		}
		reg.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://"), blobGets
}

// push copies the first manifest (image or index) of an OCI layout to
// host/repo:tag and returns its digest.
func push(t *testing.T, ociDir, ref string) string {
	t.Helper()
	idx, err := layout.ImageIndexFromPath(ociDir)
	if err != nil {
		t.Fatal(err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	d := m.Manifests[0]
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if d.MediaType.IsIndex() {
		sub, err := idx.ImageIndex(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.WriteIndex(r, sub); err != nil {
			t.Fatalf("push index %s: %v", ref, err)
		}
	} else {
		img, err := idx.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(r, img); err != nil {
			t.Fatalf("push %s: %v", ref, err)
		}
	}
	return d.Digest.String()
}

// The fixture images pushed to a real registry on loopback and scanned by
// tag and by digest give the ground truth; an index with two platforms
// gives each platform's packages.
func TestRegistry(t *testing.T) {
	host, _ := startRegistry(t)
	images := filepath.Join(analyzetest.SharedDir(t), "testdata", "images")
	expected := filepath.Join(images, "expected")
	cases := []struct{ image, platform, truth string }{
		{"debian-app", "", "debian-app"},
		{"alpine-3.14-apk", "", "alpine-3.14-apk"},
		{"zstd", "", "zstd"},
		{"multiarch", "linux/amd64", "multiarch.linux-amd64"},
		{"multiarch", "linux/arm64", "multiarch.linux-arm64"},
	}
	for _, c := range cases {
		ref := host + "/fixtures/" + c.image + ":v1"
		digest := push(t, filepath.Join(images, c.image, "oci"), ref)
		for _, target := range []string{ref, host + "/fixtures/" + c.image + "@" + digest} {
			t.Run(c.truth+"/"+strings.TrimPrefix(target, host+"/fixtures/"), func(t *testing.T) {
				doc, _, err := SBOM(context.Background(), target, Options{Image: image.Options{Platform: c.platform}})
				if err != nil {
					t.Fatalf("sbom %s: %v", target, err)
				}
				if c.platform != "" && doc.Image.Platform != c.platform {
					t.Errorf("platform %s, want %s", doc.Image.Platform, c.platform)
				}
				compare(t, doc, readTSV(t, filepath.Join(expected, c.truth+".packages.tsv")), readTSV(t, filepath.Join(expected, c.truth+".optional.tsv")))
				checkOS(t, doc, filepath.Join(expected, c.truth+".os.tsv"))
			})
		}
	}
	t.Run("missing-tag", func(t *testing.T) {
		_, _, err := SBOM(context.Background(), host+"/fixtures/nothing:v9", Options{})
		if err == nil || !strings.Contains(err.Error(), "nothing:v9") {
			t.Fatalf("want an error naming the reference, got %v", err)
		}
	})
	t.Run("platform-absent", func(t *testing.T) {
		_, _, err := SBOM(context.Background(), host+"/fixtures/multiarch:v1", Options{Image: image.Options{Platform: "linux/s390x"}})
		if err == nil {
			t.Fatal("no error for a platform the index lacks")
		}
		t.Log(err)
	})
}
