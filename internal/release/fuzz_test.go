package release

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// memSource serves one manifest for every tag and referrer and one blob
// for every digest: the fuzzer controls both, unhindered by digests.
type memSource struct{ manifest, data []byte }

func (m memSource) tagged(string) ([]byte, v1.Hash, error) { return m.manifest, v1.Hash{}, nil }
func (m memSource) blob(v1.Hash) ([]byte, error)           { return m.data, nil }
func (m memSource) referrers(v1.Hash) ([][]byte, error)    { return [][]byte{m.manifest}, nil }

var fuzzDigest = v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("ab", 32)}

// The verification of untrusted signature, attestation and referrer
// manifests and blobs never panics, and accepts nothing signed by no key.
func FuzzVerifySupplyChain(f *testing.F) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	payload, _ := SimpleSigningPayload("ghcr.io/stella-scan/stella", fuzzDigest)
	sigImg, _ := signatureImage(payload, key)
	sigManifest, _ := sigImg.RawManifest()
	f.Add(sigManifest, payload)
	layers, _ := envelopes("ghcr.io/stella-scan/stella", fuzzDigest, key, map[string][]byte{SLSAProvenance: []byte(`{}`), CycloneDXBOM: []byte(`{"bomFormat":"CycloneDX"}`)})
	attImg, _ := cosignImage(layers)
	attManifest, _ := attImg.RawManifest()
	f.Add(attManifest, layers[0].data)
	f.Add(attManifest, layers[1].data)
	ref, _ := json.Marshal(map[string]any{"artifactType": CycloneDXType, "subject": map[string]any{"digest": fuzzDigest.String()},
		"layers": []map[string]any{{"mediaType": CycloneDXType, "digest": fuzzDigest.String(), "size": 1}}})
	f.Add(ref, []byte(`{"bomFormat":"CycloneDX"}`))
	f.Add([]byte(`{"layers":[{"mediaType":"`+DSSEType+`","digest":"sha256:00"}]}`), []byte(`{"payload":"!!","signatures":[{"sig":"AAAA"}]}`))

	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	f.Fuzz(func(t *testing.T, manifest, blob []byte) {
		src := memSource{manifest: manifest, data: blob}
		var r Report
		// With the signing key: anything may pass or fail, nothing panics.
		verifySupplyChain(src, fuzzDigest, &key.PublicKey, &r)
		verifySBOMReferrers(src, fuzzDigest, map[string]json.RawMessage{CycloneDXBOM: blob, SPDXBOM: blob}, &r)
		// With a key that signed nothing here, nothing verifies.
		if err := verifySignature(src, fuzzDigest, &other.PublicKey, &Report{}); err == nil {
			t.Fatal("a signature verified with a key that signed nothing")
		}
		if preds, err := verifyAttestations(src, fuzzDigest, &other.PublicKey, &Report{}); err == nil && len(preds) > 0 {
			t.Fatal("an attestation verified with a key that signed nothing")
		}
	})
}
