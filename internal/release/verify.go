package release

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/stella-scan/stella/internal/image"
)

// maxBlob bounds a signature, attestation or SBOM blob read to verify.
const maxBlob = 64 << 20

// source is where verification reads manifests and blobs: an OCI layout
// or a registry. Every blob it returns has been checked against its
// digest.
type source interface {
	tagged(tag string) ([]byte, v1.Hash, error)
	blob(h v1.Hash) ([]byte, error)
	referrers(subject v1.Hash) ([][]byte, error)
}

type manifest struct {
	ArtifactType string            `json:"artifactType"`
	Layers       []v1.Descriptor   `json:"layers"`
	Subject      *v1.Descriptor    `json:"subject"`
	Annotations  map[string]string `json:"annotations"`
}

func checked(h v1.Hash, b []byte) ([]byte, error) {
	s := sha256.Sum256(b)
	if h.Algorithm != "sha256" || fmt.Sprintf("%x", s) != h.Hex {
		return nil, fmt.Errorf("blob %s: content does not match its digest", h)
	}
	return b, nil
}

// layoutSource reads an OCI layout.
type layoutSource struct {
	dir string
	idx *v1.IndexManifest
}

func (l *layoutSource) tagged(tag string) ([]byte, v1.Hash, error) {
	for _, d := range l.idx.Manifests {
		if d.Annotations[layoutTag] == tag {
			b, err := l.blob(d.Digest)
			return b, d.Digest, err
		}
	}
	return nil, v1.Hash{}, fmt.Errorf("%s: %w", tag, errNoSignature)
}

func (l *layoutSource) blob(h v1.Hash) ([]byte, error) {
	f, err := os.Open(filepath.Join(l.dir, "blobs", h.Algorithm, h.Hex))
	if err != nil {
		return nil, fmt.Errorf("blob %s: %w", h, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxBlob+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxBlob {
		return nil, fmt.Errorf("blob %s: larger than %d bytes", h, maxBlob)
	}
	return checked(h, b)
}

func (l *layoutSource) referrers(subject v1.Hash) ([][]byte, error) {
	var out [][]byte
	for _, d := range l.idx.Manifests {
		b, err := l.blob(d.Digest)
		if err != nil {
			return nil, err
		}
		var m manifest
		if json.Unmarshal(b, &m) == nil && m.Subject != nil && m.Subject.Digest == subject {
			out = append(out, b)
		}
	}
	return out, nil
}

// Report says what was verified.
type Report struct {
	Digest string   `json:"digest"`
	Lines  []string `json:"verified"`
}

func (r *Report) add(format string, args ...any) {
	r.Lines = append(r.Lines, fmt.Sprintf(format, args...))
}

// VerifyLayout checks, in an OCI layout, the image tagged tag (the first
// image when tag is empty): every blob against its digest, the
// simple-signing signature with pub, the DSSE attestations (SLSA
// provenance and SBOM) and that the SBOM referrer is the attested one.
func VerifyLayout(dir, tag string, pub *ecdsa.PublicKey) (*Report, error) {
	p, err := layout.FromPath(dir)
	if err != nil {
		return nil, fmt.Errorf("layout %s: %w", dir, err)
	}
	ii, err := p.ImageIndex()
	if err != nil {
		return nil, err
	}
	idx, err := ii.IndexManifest()
	if err != nil {
		return nil, err
	}
	var desc *v1.Descriptor
	for i, d := range idx.Manifests {
		t := d.Annotations[layoutTag]
		if d.MediaType.IsImage() && !strings.HasSuffix(t, ".sig") && !strings.HasSuffix(t, ".att") &&
			(d.ArtifactType == "" || d.ArtifactType == "application/vnd.oci.image.config.v1+json") && (tag == "" || t == tag) {
			desc = &idx.Manifests[i]
			break
		}
	}
	if desc == nil {
		return nil, fmt.Errorf("layout %s: no image tagged %q", dir, tag)
	}
	src := &layoutSource{dir: dir, idx: idx}
	img, err := ii.Image(desc.Digest)
	if err != nil {
		return nil, err
	}
	raw, err := src.blob(desc.Digest)
	if err != nil {
		return nil, fmt.Errorf("image manifest: %w", err)
	}
	_ = raw
	if err := validate.Image(img); err != nil {
		return nil, fmt.Errorf("image %s: %w", desc.Digest, err)
	}
	r := &Report{Digest: desc.Digest.String()}
	layers, _ := img.Layers()
	r.add("image %s: manifest, config and %d layer(s) match their digests", desc.Digest, len(layers))
	ref := desc.Annotations[layoutTag]
	if err := verifySignature(src, desc.Digest, pub, r); err != nil {
		return nil, err
	}
	preds, err := verifyAttestations(src, desc.Digest, pub, r)
	if err != nil {
		return nil, err
	}
	for _, want := range []string{SLSAProvenance, CycloneDXBOM} {
		if _, ok := preds[want]; !ok {
			return nil, fmt.Errorf("image %s: no signed %s attestation", desc.Digest, want)
		}
	}
	if err := verifySBOMReferrers(src, desc.Digest, preds[CycloneDXBOM], r); err != nil {
		return nil, err
	}
	_ = ref
	return r, nil
}

// VerifyRemote checks the cosign signature of a registry image with pub
// (the admission option): the image's digest must be the signed one.
func VerifyRemote(ref string, pub *ecdsa.PublicKey, opts ...remote.Option) (string, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return "", err
	}
	desc, err := remote.Head(r, opts...)
	if err != nil {
		if desc, err = remoteGet(r, opts...); err != nil {
			return "", fmt.Errorf("image %s: %w", ref, err)
		}
	}
	src := &remoteSource{repo: r.Context(), opts: opts}
	rep := &Report{Digest: desc.Digest.String()}
	if err := verifySignature(src, desc.Digest, pub, rep); err != nil {
		return "", err
	}
	return desc.Digest.String(), nil
}

func remoteGet(r name.Reference, opts ...remote.Option) (*v1.Descriptor, error) {
	d, err := remote.Get(r, opts...)
	if err != nil {
		return nil, err
	}
	return &d.Descriptor, nil
}

type remoteSource struct {
	repo name.Repository
	opts []remote.Option
}

func (s *remoteSource) tagged(tag string) ([]byte, v1.Hash, error) {
	d, err := remote.Get(s.repo.Tag(tag), s.opts...)
	if err != nil {
		return nil, v1.Hash{}, fmt.Errorf("%s: %w (%v)", tag, errNoSignature, err)
	}
	b, err := checked(d.Digest, d.Manifest)
	return b, d.Digest, err
}

func (s *remoteSource) blob(h v1.Hash) ([]byte, error) {
	l, err := remote.Layer(s.repo.Digest(h.String()), s.opts...)
	if err != nil {
		return nil, err
	}
	rc, err := l.Compressed()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, maxBlob+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxBlob {
		return nil, fmt.Errorf("blob %s: larger than %d bytes", h, maxBlob)
	}
	return checked(h, b)
}

func (s *remoteSource) referrers(v1.Hash) ([][]byte, error) { return nil, nil }

func verifySignature(src source, digest v1.Hash, pub *ecdsa.PublicKey, r *Report) error {
	raw, _, err := src.tagged(SigTag(digest))
	if err != nil {
		return fmt.Errorf("image %s: signature: %w", digest, err)
	}
	var m manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return fmt.Errorf("image %s: signature manifest: %w", digest, err)
	}
	for _, l := range m.Layers {
		if string(l.MediaType) != SimpleSigningType {
			continue
		}
		payload, err := src.blob(l.Digest)
		if err != nil {
			return fmt.Errorf("image %s: signature payload: %w", digest, err)
		}
		sig, err := base64.StdEncoding.DecodeString(l.Annotations[SignatureAnn])
		if err != nil {
			continue
		}
		sum := sha256.Sum256(payload)
		if !ecdsa.VerifyASN1(pub, sum[:], sig) {
			continue
		}
		var p SimpleSigning
		if err := json.Unmarshal(payload, &p); err != nil || p.Critical.Image.DockerManifestDigest != digest.String() {
			return fmt.Errorf("image %s: the signed payload names another image (%s)", digest, p.Critical.Image.DockerManifestDigest)
		}
		r.add("signature: simple signing of %s verified with key %s", digest, KeyID(pub))
		return nil
	}
	return fmt.Errorf("image %s: no signature verifies with key %s", digest, KeyID(pub))
}

// verifyAttestations returns the verified predicates by type.
func verifyAttestations(src source, digest v1.Hash, pub *ecdsa.PublicKey, r *Report) (map[string]json.RawMessage, error) {
	raw, _, err := src.tagged(AttTag(digest))
	if err != nil {
		return nil, fmt.Errorf("image %s: attestations: %w", digest, err)
	}
	var m manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("image %s: attestation manifest: %w", digest, err)
	}
	preds := map[string]json.RawMessage{}
	for _, l := range m.Layers {
		if string(l.MediaType) != DSSEType {
			continue
		}
		b, err := src.blob(l.Digest)
		if err != nil {
			return nil, fmt.Errorf("image %s: attestation: %w", digest, err)
		}
		var env Envelope
		if err := json.Unmarshal(b, &env); err != nil {
			return nil, fmt.Errorf("image %s: attestation %s: %w", digest, l.Digest, err)
		}
		payload, err := base64.StdEncoding.DecodeString(env.Payload)
		if err != nil {
			return nil, fmt.Errorf("image %s: attestation %s: payload: %w", digest, l.Digest, err)
		}
		sum := sha256.Sum256(image.PAE(env.PayloadType, payload))
		ok := false
		for _, s := range env.Signatures {
			if sig, err := base64.StdEncoding.DecodeString(s.Sig); err == nil && ecdsa.VerifyASN1(pub, sum[:], sig) {
				ok = true
			}
		}
		if !ok {
			return nil, fmt.Errorf("image %s: attestation %s: no signature verifies with key %s", digest, l.Digest, KeyID(pub))
		}
		var st Statement
		if err := json.Unmarshal(payload, &st); err != nil || st.Type != StatementType {
			return nil, fmt.Errorf("image %s: attestation %s: not an in-toto statement", digest, l.Digest)
		}
		about := false
		for _, s := range st.Subject {
			if s.Digest["sha256"] == digest.Hex {
				about = true
			}
		}
		if !about {
			return nil, fmt.Errorf("image %s: attestation %s (%s) is about another subject", digest, l.Digest, st.PredicateType)
		}
		preds[st.PredicateType] = st.Predicate
		r.add("attestation %s: DSSE signature verified, subject %s", st.PredicateType, digest)
	}
	return preds, nil
}

// verifySBOMReferrers checks that the image has a CycloneDX SBOM referrer
// equal to the signed SBOM attestation, and notes the SPDX one.
func verifySBOMReferrers(src source, digest v1.Hash, attested json.RawMessage, r *Report) error {
	refs, err := src.referrers(digest)
	if err != nil {
		return err
	}
	var want any
	if err := json.Unmarshal(attested, &want); err != nil {
		return fmt.Errorf("image %s: attested SBOM: %w", digest, err)
	}
	matched := false
	for _, raw := range refs {
		var m manifest
		if err := json.Unmarshal(raw, &m); err != nil {
			continue
		}
		for _, l := range m.Layers {
			b, err := src.blob(l.Digest)
			if err != nil {
				return fmt.Errorf("image %s: SBOM referrer %s: %w", digest, m.ArtifactType, err)
			}
			switch m.ArtifactType {
			case CycloneDXType:
				var got any
				if err := json.Unmarshal(b, &got); err != nil || !reflect.DeepEqual(got, want) {
					return fmt.Errorf("image %s: the CycloneDX SBOM referrer differs from the signed SBOM attestation", digest)
				}
				matched = true
				r.add("SBOM referrer %s (%d bytes): identical to the signed attestation", m.ArtifactType, len(b))
			case SPDXType:
				if !bytes.Contains(b, []byte(`"spdxVersion"`)) {
					return fmt.Errorf("image %s: the SPDX referrer is not an SPDX document", digest)
				}
				r.add("SBOM referrer %s (%d bytes): digest verified", m.ArtifactType, len(b))
			}
		}
	}
	if !matched {
		return errors.New("image " + digest.String() + ": no CycloneDX SBOM referrer")
	}
	return nil
}
