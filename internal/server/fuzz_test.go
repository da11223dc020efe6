package server

import (
	"testing"
)

// FuzzParseScanRequest: no input panics; an accepted request names
// exactly one of an image (a registry reference) and an SBOM.
func FuzzParseScanRequest(f *testing.F) {
	for _, s := range []string{
		`{"image":"alpine:3.19"}`, `{"sbom":{"bomFormat":"CycloneDX"}}`, `{"sbom":"SPDXVersion: SPDX-2.3"}`,
		`{"image":"oci:/x"}`, `{}`, `{"image":"a","sbom":{}}`, `{"sbom":null}`, `[]`, `{"image":"a"} x`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		env, err := ParseScanRequest(b)
		if err != nil {
			if _, ok := err.(*requestError); !ok {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		if (env.Image == "") == (len(env.SBOM) == 0) {
			t.Fatalf("accepted %q as %+v", b, env)
		}
		for _, p := range localPrefixes {
			if len(env.Image) >= len(p) && env.Image[:len(p)] == p {
				t.Fatalf("accepted a local target %q", env.Image)
			}
		}
	})
}

// FuzzDecodeTokenRequest: strict decoding never panics.
func FuzzDecodeTokenRequest(f *testing.F) {
	f.Add([]byte(`{"name":"ci","role":"viewer","expiresIn":60}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var req TokenRequest
		_ = decodeStrict(b, &req)
	})
}

// FuzzParseJWKS: a hostile JWKS document never panics, and an accepted
// one holds only public RSA (>= 2048 bits) or P-256 keys.
func FuzzParseJWKS(f *testing.F) {
	f.Add([]byte(`{"keys":[{"kty":"EC","kid":"a","crv":"P-256","x":"AQ","y":"Ag"}]}`))
	f.Add([]byte(`{"keys":[{"kty":"RSA","kid":"r","n":"AQAB","e":"AQAB"}]}`))
	f.Add([]byte(`{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		ks, err := ParseJWKS(b)
		if err != nil {
			return
		}
		if len(ks.keys) == 0 {
			t.Fatal("accepted a JWKS without keys")
		}
	})
}
