package scan

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/stella-scan/stella/internal/analyze/analyzetest"
	"github.com/stella-scan/stella/internal/image"
	"github.com/stella-scan/stella/internal/sbom/cyclonedx"
)

// attachRegistry is a loopback registry (referrers API on or off) that
// records which blobs it served.
func attachRegistry(t *testing.T, referrers bool) (string, *blobLog) {
	bl := &blobLog{}
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)), registry.WithReferrersSupport(referrers))
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			if i := strings.Index(r.URL.Path, "/blobs/"); i >= 0 {
				mu.Lock()
				bl.got = append(bl.got, r.URL.Path[i+len("/blobs/"):])
				mu.Unlock()
			}
		}
		reg.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://"), bl
}

// cdxOf encodes the unpacked SBOM of a fixture as CycloneDX: the document
// a build pipeline would attach.
func cdxOf(t *testing.T, target string) ([]byte, int) {
	doc, _, err := SBOM(context.Background(), target, Options{SBOMSource: SourceUnpack})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := cyclonedx.Encode(&b, doc, "1.6"); err != nil {
		t.Fatal(err)
	}
	return b.Bytes(), len(doc.Packages)
}

func subjectOf(t *testing.T, ref string) (name.Digest, v1.Descriptor) {
	r, _ := name.ParseReference(ref, name.Insecure)
	d, err := remote.Head(r)
	if err != nil {
		t.Fatal(err)
	}
	return r.Context().Digest(d.Digest.String()), *d
}

// An SBOM pushed as an OCI 1.1 referrer is used instead of the layers: no
// layer blob is downloaded and the packages are the SBOM's. The same
// through the referrers tag schema when the registry lacks the API.
func TestAttachedReferrer(t *testing.T) {
	oci := filepath.Join(analyzetest.SharedDir(t), "testdata", "images", "debian-app", "oci")
	bom, n := cdxOf(t, "oci:"+oci)
	if n < 50 {
		t.Fatalf("unpacked SBOM has only %d packages", n)
	}
	for _, api := range []bool{true, false} {
		t.Run(map[bool]string{true: "referrers-api", false: "tag-fallback"}[api], func(t *testing.T) {
			host, bl := attachRegistry(t, api)
			push(t, oci, host+"/app:v1")
			subj, desc := subjectOf(t, host+"/app:v1")
			art := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
			art = mutate.ConfigMediaType(art, "application/vnd.cyclonedx+json")
			art, err := mutate.Append(art, mutate.Addendum{Layer: static.NewLayer(bom, "application/vnd.cyclonedx+json")})
			if err != nil {
				t.Fatal(err)
			}
			art = mutate.Subject(art, desc).(v1.Image)
			ad, _ := art.Digest()
			if err := remote.Write(subj.Context().Digest(ad.String()), art); err != nil {
				t.Fatal(err)
			}
			bl.take()
			doc, _, err := SBOM(context.Background(), host+"/app:v1", Options{})
			if err != nil {
				t.Fatal(err)
			}
			if doc.Source != "attached:referrer" {
				t.Fatalf("source %q, want attached:referrer", doc.Source)
			}
			if len(doc.Packages) != n {
				t.Errorf("%d packages from the attached SBOM, want %d", len(doc.Packages), n)
			}
			layers := map[string]bool{}
			for _, l := range doc.Image.Layers {
				layers[l.Digest] = true
			}
			if got := layerBlobs(bl.take(), layers); len(got) != 0 {
				t.Errorf("downloaded %d layer blobs: %v", len(got), got)
			}
			// --sbom-source unpack ignores it.
			doc, _, err = SBOM(context.Background(), host+"/app:v1", Options{SBOMSource: SourceUnpack})
			if err != nil || doc.Source != SourceUnpack {
				t.Fatalf("unpack: source %q err %v", doc.Source, err)
			}
		})
	}
}

// A cosign-style attestation (DSSE envelope, in-toto statement with a
// CycloneDX predicate) under the sha256-<hex>.att tag: used when its
// signature verifies against the configured key, ignored otherwise.
func TestAttachedCosignAttestation(t *testing.T) {
	oci := filepath.Join(analyzetest.SharedDir(t), "testdata", "images", "alpine-3.14-apk", "oci")
	bom, n := cdxOf(t, "oci:"+oci)
	if n == 0 {
		t.Fatal("unpacked SBOM is empty")
	}
	host, _ := attachRegistry(t, false)
	push(t, oci, host+"/alp:v1")
	subj, desc := subjectOf(t, host+"/alp:v1")

	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	stmt, _ := json.Marshal(map[string]any{
		"_type":         "https://in-toto.io/Statement/v0.1",
		"predicateType": "https://cyclonedx.org/bom",
		"subject":       []map[string]any{{"name": subj.Context().Name(), "digest": map[string]string{"sha256": desc.Digest.Hex}}},
		"predicate":     json.RawMessage(bom),
	})
	const pt = "application/vnd.in-toto+json"
	h := sha256.Sum256(image.PAE(pt, stmt))
	sig, _ := ecdsa.SignASN1(rand.Reader, key, h[:])
	env, _ := json.Marshal(map[string]any{
		"payloadType": pt,
		"payload":     base64.StdEncoding.EncodeToString(stmt),
		"signatures":  []map[string]string{{"sig": base64.StdEncoding.EncodeToString(sig)}},
	})
	att, err := mutate.Append(empty.Image, mutate.Addendum{Layer: static.NewLayer(env, "application/vnd.dsse.envelope.v1+json")})
	if err != nil {
		t.Fatal(err)
	}
	tag := subj.Context().Tag(strings.Replace(desc.Digest.String(), ":", "-", 1) + ".att")
	if err := remote.Write(tag, att); err != nil {
		t.Fatal(err)
	}
	pemOf := func(k *ecdsa.PrivateKey) []byte {
		der, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
		return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	}

	doc, _, err := SBOM(context.Background(), host+"/alp:v1", Options{AttestationKey: pemOf(key), SBOMSource: SourceAttached})
	if err != nil {
		t.Fatal(err)
	}
	if doc.Source != "attached:cosign-attestation" || len(doc.Packages) != n {
		t.Fatalf("source %q with %d packages, want the attestation's %d", doc.Source, len(doc.Packages), n)
	}
	_, _, err = SBOM(context.Background(), host+"/alp:v1", Options{AttestationKey: pemOf(other), SBOMSource: SourceAttached})
	if err == nil || !strings.Contains(err.Error(), "no SBOM attached") {
		t.Fatalf("an attestation signed by another key was used: %v", err)
	}
	doc, _, err = SBOM(context.Background(), host+"/alp:v1", Options{AttestationKey: pemOf(other)})
	if err != nil || doc.Source != SourceUnpack {
		t.Fatalf("auto with a wrong key should unpack: %q %v", doc.Source, err)
	}
}
