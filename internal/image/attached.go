package image

import (
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Attachment is an SBOM found beside an image rather than inside it.
type Attachment struct {
	// Kind: "referrer" (OCI 1.1 referrers API or its tag-schema fallback),
	// "cosign-attestation" (in-toto statement in a DSSE envelope under the
	// sha256-<hex>.att tag), "buildkit-attestation" (attestation manifest in
	// the image index).
	Kind      string
	Digest    string // manifest of the attachment
	MediaType string // of the SBOM document
	Data      []byte // the SBOM document itself
	Verified  bool   // a signature verified against the configured key
}

// Media and predicate types that carry SBOMs.
var sbomTypes = map[string]bool{
	"application/vnd.cyclonedx+json": true,
	"application/vnd.cyclonedx+xml":  true,
	"application/vnd.cyclonedx":      true,
	"application/spdx+json":          true,
	"text/spdx":                      true,
	"https://cyclonedx.org/bom":      true,
	"https://cyclonedx.org/schema":   true,
	"https://spdx.dev/Document":      true,
}

// IsSBOMType reports whether a media or predicate type names an SBOM.
func IsSBOMType(t string) bool {
	t, _, _ = strings.Cut(t, ";")
	if sbomTypes[t] {
		return true
	}
	return strings.HasPrefix(t, "https://cyclonedx.org/bom/") || strings.HasPrefix(t, "https://spdx.dev/Document/")
}

// maxAttachment bounds one attached document.
const maxAttachment = 64 << 20

// AttachOptions control attachment discovery.
type AttachOptions struct {
	// PublicKey (PEM, ECDSA P-256) makes cosign attestations count only
	// when their DSSE signature verifies.
	PublicKey []byte
	Insecure  bool
}

// FindAttached looks for SBOMs attached to a registry image: the OCI 1.1
// referrers API (with the referrers tag schema as fallback), cosign
// attestations and BuildKit attestation manifests. Only the manifests and
// the SBOM blobs are fetched; no layer of the image.
func FindAttached(ctx context.Context, o *Opened, ao AttachOptions) ([]Attachment, error) {
	if o.Target.Kind != KindRegistry || o.Digest == "" {
		return nil, nil
	}
	var nopts []name.Option
	if ao.Insecure || isLocal(o.Target.Ref) {
		nopts = append(nopts, name.Insecure)
	}
	ref, err := name.ParseReference(o.Target.Ref, nopts...)
	if err != nil {
		return nil, err
	}
	repo := ref.Context()
	dig := repo.Digest(o.Digest)
	ropts := []remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(keychain())}
	var out []Attachment

	// 1. Referrers API, falling back to the sha256-<hex> tag.
	if idx, err := remote.Referrers(dig, ropts...); err == nil {
		if m, err := idx.IndexManifest(); err == nil {
			for _, d := range m.Manifests {
				if !IsSBOMType(d.ArtifactType) {
					continue
				}
				as, err := fetchArtifact(repo.Digest(d.Digest.String()), ropts, "referrer", nil)
				if err != nil {
					return nil, fmt.Errorf("referrer %s: %w", d.Digest, err)
				}
				out = append(out, as...)
			}
		}
	}
	// 2. Cosign attestations: tag sha256-<hex>.att.
	att := repo.Tag(strings.Replace(o.Digest, ":", "-", 1) + ".att")
	if as, err := fetchArtifact(att, ropts, "cosign-attestation", ao.PublicKey); err == nil {
		out = append(out, as...)
	} else if !isNotFound(err) {
		return nil, fmt.Errorf("cosign attestation %s: %w", att, err)
	}
	// 3. BuildKit: attestation manifests beside the image in its index.
	if d, err := remote.Get(ref, ropts...); err == nil && isIndex(d.MediaType) {
		idx, err := d.ImageIndex()
		if err == nil {
			if m, err := idx.IndexManifest(); err == nil {
				for _, md := range m.Manifests {
					if md.Annotations["vnd.docker.reference.type"] != "attestation-manifest" || md.Annotations["vnd.docker.reference.digest"] != o.Digest {
						continue
					}
					as, err := fetchArtifact(repo.Digest(md.Digest.String()), ropts, "buildkit-attestation", nil)
					if err != nil {
						return nil, fmt.Errorf("buildkit attestation %s: %w", md.Digest, err)
					}
					out = append(out, as...)
				}
			}
		}
	}
	return out, nil
}

func isNotFound(err error) bool {
	s := err.Error()
	return strings.Contains(s, "MANIFEST_UNKNOWN") || strings.Contains(s, "NAME_UNKNOWN") || strings.Contains(s, "404")
}

// fetchArtifact reads the SBOMs in one artifact manifest: plain SBOM
// blobs, or in-toto statements (bare or in DSSE envelopes) whose predicate
// is an SBOM.
func fetchArtifact(ref name.Reference, ropts []remote.Option, kind string, pub []byte) ([]Attachment, error) {
	img, err := remote.Image(ref, ropts...)
	if err != nil {
		return nil, err
	}
	dg, _ := img.Digest()
	layers, err := img.Layers()
	if err != nil {
		return nil, err
	}
	m, err := img.Manifest()
	if err != nil {
		return nil, err
	}
	var out []Attachment
	for i, l := range layers {
		mt := string(m.Layers[i].MediaType)
		if m.Layers[i].Size > maxAttachment {
			return nil, fmt.Errorf("blob %s: %d bytes, more than %d", m.Layers[i].Digest, m.Layers[i].Size, maxAttachment)
		}
		rc, err := l.Compressed() // artifact blobs are stored as is
		if err != nil {
			return nil, err
		}
		b, err := io.ReadAll(io.LimitReader(rc, maxAttachment+1))
		rc.Close()
		if err != nil {
			return nil, fmt.Errorf("blob %s: %w", m.Layers[i].Digest, err)
		}
		a := Attachment{Kind: kind, Digest: dg.String(), MediaType: mt}
		switch {
		case IsSBOMType(mt):
			a.Data = b
		case strings.HasPrefix(mt, "application/vnd.dsse.envelope"):
			pt, data, verified, err := openEnvelope(b, pub)
			if err != nil {
				return nil, fmt.Errorf("blob %s: %w", m.Layers[i].Digest, err)
			}
			if pub != nil && !verified {
				continue // unsigned or badly signed: not used
			}
			if !IsSBOMType(pt) {
				continue
			}
			a.MediaType, a.Data, a.Verified = pt, data, verified
		case strings.HasPrefix(mt, "application/vnd.in-toto+json"):
			if pub != nil {
				continue // a bare statement carries no signature
			}
			pt, data, err := statementPredicate(b)
			if err != nil {
				return nil, fmt.Errorf("blob %s: %w", m.Layers[i].Digest, err)
			}
			if !IsSBOMType(pt) {
				continue
			}
			a.MediaType, a.Data = pt, data
		default:
			continue
		}
		out = append(out, a)
	}
	return out, nil
}

type dsseEnvelope struct {
	PayloadType string `json:"payloadType"`
	Payload     string `json:"payload"`
	Signatures  []struct {
		KeyID string `json:"keyid"`
		Sig   string `json:"sig"`
	} `json:"signatures"`
}

// openEnvelope decodes a DSSE envelope holding an in-toto statement and,
// with a key, verifies a signature over its pre-authentication encoding.
func openEnvelope(b []byte, pub []byte) (predicateType string, predicate []byte, verified bool, err error) {
	var env dsseEnvelope
	if err := json.Unmarshal(b, &env); err != nil {
		return "", nil, false, fmt.Errorf("DSSE envelope: %w", err)
	}
	payload, err := base64.StdEncoding.DecodeString(env.Payload)
	if err != nil {
		return "", nil, false, fmt.Errorf("DSSE payload: %w", err)
	}
	if pub != nil {
		key, err := ParsePublicKey(pub)
		if err != nil {
			return "", nil, false, err
		}
		digest := sha256.Sum256(PAE(env.PayloadType, payload))
		for _, s := range env.Signatures {
			sig, err := base64.StdEncoding.DecodeString(s.Sig)
			if err == nil && ecdsa.VerifyASN1(key, digest[:], sig) {
				verified = true
				break
			}
		}
	}
	pt, data, err := statementPredicate(payload)
	return pt, data, verified, err
}

// PAE is DSSE's pre-authentication encoding.
func PAE(payloadType string, payload []byte) []byte {
	return []byte(fmt.Sprintf("DSSEv1 %d %s %d %s", len(payloadType), payloadType, len(payload), payload))
}

// statementPredicate returns an in-toto statement's predicate type and
// predicate JSON.
func statementPredicate(b []byte) (string, []byte, error) {
	var st struct {
		Type          string          `json:"_type"`
		PredicateType string          `json:"predicateType"`
		Predicate     json.RawMessage `json:"predicate"`
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return "", nil, fmt.Errorf("in-toto statement: %w", err)
	}
	if !strings.HasPrefix(st.Type, "https://in-toto.io/Statement/") {
		return "", nil, fmt.Errorf("in-toto statement: _type %q", st.Type)
	}
	// SPDX predicates are sometimes a JSON string holding the document.
	if len(st.Predicate) > 0 && st.Predicate[0] == '"' {
		var s string
		if err := json.Unmarshal(st.Predicate, &s); err == nil {
			return st.PredicateType, []byte(s), nil
		}
	}
	return st.PredicateType, st.Predicate, nil
}

// ParsePublicKey reads a PEM ECDSA public key (cosign.pub).
func ParsePublicKey(b []byte) (*ecdsa.PublicKey, error) {
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, errors.New("public key: no PEM block")
	}
	k, err := x509.ParsePKIXPublicKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("public key: %w", err)
	}
	ek, ok := k.(*ecdsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("public key: %T, want ECDSA", k)
	}
	return ek, nil
}
