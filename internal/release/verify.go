package release

import (
	"bytes"
	"compress/gzip"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/stella-scan/stella/internal/image"
)

// maxBlob bounds a signature, attestation or SBOM blob read to verify.
const maxBlob = 64 << 20

// maxArtifacts bounds the signatures, attestations and referrers read.
const maxArtifacts = 64

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

// maxLayer bounds one image layer read to verify (it is streamed).
const maxLayer = 4 << 30

// VerifyLayout checks, in an OCI layout, the image tagged tag (the first
// image when tag is empty): its manifest, config and layers against
// their digests (and each layer's uncompressed content against the
// config's diff_id), the simple-signing signature with pub, the DSSE
// attestations (SLSA provenance and SBOM) and that the CycloneDX SBOM
// referrer is the attested one.
func VerifyLayout(dir, tag string, pub *ecdsa.PublicKey) (*Report, error) {
	in := func(err error) error { return &image.InputError{Input: "oci:" + dir, Err: err} }
	f, err := os.Open(filepath.Join(dir, "index.json"))
	if err != nil {
		return nil, in(err)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxBlob+1))
	f.Close()
	if err != nil {
		return nil, in(err)
	}
	if len(b) > maxBlob {
		return nil, in(fmt.Errorf("index.json larger than %d bytes", maxBlob))
	}
	var idx v1.IndexManifest
	if err := json.Unmarshal(b, &idx); err != nil {
		return nil, in(fmt.Errorf("index.json: %w", err))
	}
	var desc *v1.Descriptor
	for i, d := range idx.Manifests {
		t := d.Annotations[layoutTag]
		if d.MediaType.IsImage() && !strings.HasSuffix(t, ".sig") && !strings.HasSuffix(t, ".att") &&
			(d.ArtifactType == "" || d.ArtifactType == string(types.OCIConfigJSON)) && (tag == "" || t == tag) {
			desc = &idx.Manifests[i]
			break
		}
	}
	if desc == nil && tag != "" {
		return nil, in(fmt.Errorf("no image tagged %q", tag))
	}
	if desc == nil {
		return nil, in(errors.New("no image in index.json"))
	}
	src := &layoutSource{dir: dir, idx: &idx}
	r := &Report{Digest: desc.Digest.String()}
	if err := verifyImageBlobs(src, desc.Digest, r); err != nil {
		return nil, err
	}
	if err := verifySupplyChain(src, desc.Digest, pub, r); err != nil {
		return nil, err
	}
	return r, nil
}

// verifySupplyChain checks the simple-signing signature, the DSSE
// attestations (SLSA provenance and CycloneDX SBOM both required) and
// that the CycloneDX SBOM referrer is the attested SBOM.
func verifySupplyChain(src source, digest v1.Hash, pub *ecdsa.PublicKey, r *Report) error {
	if err := verifySignature(src, digest, pub, r); err != nil {
		return err
	}
	preds, err := verifyAttestations(src, digest, pub, r)
	if err != nil {
		return err
	}
	for _, want := range []string{SLSAProvenance, CycloneDXBOM} {
		if _, ok := preds[want]; !ok {
			return fmt.Errorf("image %s: no signed %s attestation", digest, want)
		}
	}
	return verifySBOMReferrers(src, digest, preds, r)
}

// verifyImageBlobs checks the image manifest, its config and every layer
// (streamed: the compressed bytes against the manifest's digest, the
// uncompressed ones against the config's diff_id).
func verifyImageBlobs(src *layoutSource, digest v1.Hash, r *Report) error {
	raw, err := src.blob(digest)
	if err != nil {
		return fmt.Errorf("image %s: manifest: %w", digest, err)
	}
	m, err := v1.ParseManifest(bytes.NewReader(raw))
	if err != nil {
		return fmt.Errorf("image %s: manifest: %w", digest, err)
	}
	cb, err := src.blob(m.Config.Digest)
	if err != nil {
		return fmt.Errorf("image %s: config: %w", digest, err)
	}
	cf, err := v1.ParseConfigFile(bytes.NewReader(cb))
	if err != nil {
		return fmt.Errorf("image %s: config %s: %w", digest, m.Config.Digest, err)
	}
	if len(cf.RootFS.DiffIDs) != len(m.Layers) {
		return fmt.Errorf("image %s: %d layers but %d diff_ids in the config", digest, len(m.Layers), len(cf.RootFS.DiffIDs))
	}
	for i, l := range m.Layers {
		if err := src.checkLayer(l, cf.RootFS.DiffIDs[i]); err != nil {
			return fmt.Errorf("image %s: layer %d: %w", digest, i, err)
		}
	}
	r.add("image %s: manifest, config and %d layer(s) match their digests", digest, len(m.Layers))
	return nil
}

// checkLayer streams one layer blob through SHA-256, and for a gzip layer
// its uncompressed content too.
func (l *layoutSource) checkLayer(d v1.Descriptor, diffID v1.Hash) error {
	if d.Digest.Algorithm != "sha256" || diffID.Algorithm != "sha256" {
		return fmt.Errorf("blob %s: unsupported digest", d.Digest)
	}
	f, err := os.Open(filepath.Join(l.dir, "blobs", "sha256", d.Digest.Hex))
	if err != nil {
		return fmt.Errorf("blob %s: %w", d.Digest, err)
	}
	defer f.Close()
	zh, uh := sha256.New(), sha256.New()
	body := io.TeeReader(io.LimitReader(f, maxLayer+1), zh)
	var uerr error
	switch {
	case strings.HasSuffix(string(d.MediaType), "gzip"):
		zr, err := gzip.NewReader(body)
		if err == nil {
			_, err = io.Copy(uh, zr)
		}
		uerr = err
	case d.MediaType == types.OCIUncompressedLayer || d.MediaType == types.DockerUncompressedLayer:
		_, uerr = io.Copy(uh, body)
	default:
		return fmt.Errorf("blob %s: layer media type %s", d.Digest, d.MediaType)
	}
	// The whole blob is hashed, also when it did not decompress: a
	// changed blob is reported as such.
	if _, err := io.Copy(io.Discard, body); err != nil {
		return fmt.Errorf("blob %s: %w", d.Digest, err)
	}
	if hex.EncodeToString(zh.Sum(nil)) != d.Digest.Hex {
		return fmt.Errorf("blob %s: content does not match its digest", d.Digest)
	}
	if uerr != nil {
		return fmt.Errorf("blob %s: %w", d.Digest, uerr)
	}
	if hex.EncodeToString(uh.Sum(nil)) != diffID.Hex {
		return fmt.Errorf("blob %s: uncompressed content does not match diff_id %s", d.Digest, diffID)
	}
	return nil
}

// VerifyRemote checks the cosign signature of a registry image with pub
// (the admission option and `stella verify` of a registry reference):
// the image's digest must be the signed one. It returns that digest.
func VerifyRemote(ref string, pub *ecdsa.PublicKey, opts ...remote.Option) (string, error) {
	rep, err := VerifyRemoteReport(ref, pub, opts...)
	if err != nil {
		return "", err
	}
	return rep.Digest, nil
}

// VerifyRemoteReport is VerifyRemote with what was verified.
func VerifyRemoteReport(ref string, pub *ecdsa.PublicKey, opts ...remote.Option) (*Report, error) {
	src, digest, err := openRemote(ref, opts)
	if err != nil {
		return nil, err
	}
	rep := &Report{Digest: digest.String()}
	if err := verifySignature(src, digest, pub, rep); err != nil {
		return nil, err
	}
	return rep, nil
}

// VerifyRemoteAll checks a registry image as VerifyLayout checks a
// layout: its manifest and config against their digests (layers are not
// downloaded), the signature, the attestations and the SBOM referrer
// (OCI referrers API or its tag fallback).
func VerifyRemoteAll(ref string, pub *ecdsa.PublicKey, opts ...remote.Option) (*Report, error) {
	src, digest, err := openRemote(ref, opts)
	if err != nil {
		return nil, err
	}
	rep := &Report{Digest: digest.String()}
	raw, err := src.manifest(digest)
	if err != nil {
		return nil, fmt.Errorf("image %s: manifest: %w", digest, err)
	}
	m, err := v1.ParseManifest(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("image %s: manifest: %w", digest, err)
	}
	if _, err := src.blob(m.Config.Digest); err != nil {
		return nil, fmt.Errorf("image %s: config: %w", digest, err)
	}
	rep.add("image %s: manifest and config match their digests (%d layer(s) not downloaded)", digest, len(m.Layers))
	if err := verifySupplyChain(src, digest, pub, rep); err != nil {
		return nil, err
	}
	return rep, nil
}

// openRemote resolves a registry reference to its manifest digest.
func openRemote(ref string, opts []remote.Option) (*remoteSource, v1.Hash, error) {
	var nopts []name.Option
	if isLoopback(ref) {
		nopts = append(nopts, name.Insecure)
	}
	r, err := name.ParseReference(ref, nopts...)
	if err != nil {
		return nil, v1.Hash{}, &image.InputError{Input: ref, Err: err}
	}
	desc, err := remote.Head(r, opts...)
	if err != nil {
		if desc, err = remoteGet(r, opts...); err != nil {
			return nil, v1.Hash{}, &image.InputError{Input: ref, Err: err}
		}
	}
	return &remoteSource{repo: r.Context(), opts: opts}, desc.Digest, nil
}

// isLoopback tells a registry on this machine (plain HTTP allowed).
func isLoopback(ref string) bool {
	host, _, _ := strings.Cut(ref, "/")
	h, _, err := net.SplitHostPort(host)
	if err != nil {
		h = host
	}
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
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

// manifest fetches a manifest by digest, checked against it.
func (s *remoteSource) manifest(h v1.Hash) ([]byte, error) {
	d, err := remote.Get(s.repo.Digest(h.String()), s.opts...)
	if err != nil {
		return nil, err
	}
	if len(d.Manifest) > maxBlob {
		return nil, fmt.Errorf("manifest %s: larger than %d bytes", h, maxBlob)
	}
	return checked(h, d.Manifest)
}

func (s *remoteSource) referrers(subject v1.Hash) ([][]byte, error) {
	idx, err := remote.Referrers(s.repo.Digest(subject.String()), s.opts...)
	if err != nil {
		return nil, fmt.Errorf("referrers of %s: %w", subject, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("referrers of %s: %w", subject, err)
	}
	if len(im.Manifests) > maxArtifacts {
		return nil, fmt.Errorf("referrers of %s: %d; at most %d are read", subject, len(im.Manifests), maxArtifacts)
	}
	var out [][]byte
	for _, d := range im.Manifests {
		b, err := s.manifest(d.Digest)
		if err != nil {
			return nil, fmt.Errorf("referrer %s: %w", d.Digest, err)
		}
		var m manifest
		if json.Unmarshal(b, &m) == nil && m.Subject != nil && m.Subject.Digest == subject {
			out = append(out, b)
		}
	}
	return out, nil
}

func verifySignature(src source, digest v1.Hash, pub *ecdsa.PublicKey, r *Report) error {
	raw, _, err := src.tagged(SigTag(digest))
	if err != nil {
		return fmt.Errorf("image %s: signature: %w", digest, err)
	}
	var m manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return fmt.Errorf("image %s: signature manifest: %w", digest, err)
	}
	if len(m.Layers) > maxArtifacts {
		return fmt.Errorf("image %s: %d signatures; at most %d are read", digest, len(m.Layers), maxArtifacts)
	}
	why := ""
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
		switch err := json.Unmarshal(payload, &p); {
		case err != nil:
			why = fmt.Sprintf(" (a signed payload does not parse: %v)", err)
		case p.Critical.Type != CosignSignatureType:
			why = fmt.Sprintf(" (a signed payload of type %q, want %q)", p.Critical.Type, CosignSignatureType)
		case p.Critical.Image.DockerManifestDigest != digest.String():
			why = fmt.Sprintf(" (a signed payload names another image, %s)", p.Critical.Image.DockerManifestDigest)
		default:
			r.add("signature: simple signing of %s (%s) verified with key %s", digest, p.Critical.Identity.DockerReference, KeyID(pub))
			return nil
		}
	}
	return fmt.Errorf("image %s: no signature verifies with key %s%s", digest, KeyID(pub), why)
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
	if len(m.Layers) > maxArtifacts {
		return nil, fmt.Errorf("image %s: %d attestations; at most %d are read", digest, len(m.Layers), maxArtifacts)
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

// sbomPredicates maps an SBOM referrer's artifactType to the predicate
// type of its attestation.
var sbomPredicates = map[string]string{CycloneDXType: CycloneDXBOM, SPDXType: SPDXBOM}

// verifySBOMReferrers checks that the image has a CycloneDX SBOM referrer
// and that every CycloneDX or SPDX referrer is identical (as JSON) to the
// signed attestation of its type.
func verifySBOMReferrers(src source, digest v1.Hash, preds map[string]json.RawMessage, r *Report) error {
	refs, err := src.referrers(digest)
	if err != nil {
		return err
	}
	if len(refs) > maxArtifacts {
		return fmt.Errorf("image %s: %d referrers; at most %d are read", digest, len(refs), maxArtifacts)
	}
	cdx := false
	for _, raw := range refs {
		var m manifest
		if err := json.Unmarshal(raw, &m); err != nil {
			continue
		}
		pt, ok := sbomPredicates[m.ArtifactType]
		if !ok {
			continue // not an SBOM
		}
		attested, ok := preds[pt]
		if !ok {
			return fmt.Errorf("image %s: the %s referrer has no signed %s attestation", digest, m.ArtifactType, pt)
		}
		var want any
		if err := json.Unmarshal(attested, &want); err != nil {
			return fmt.Errorf("image %s: attested SBOM %s: %w", digest, pt, err)
		}
		if len(m.Layers) != 1 {
			return fmt.Errorf("image %s: the %s referrer has %d layers, want 1", digest, m.ArtifactType, len(m.Layers))
		}
		b, err := src.blob(m.Layers[0].Digest)
		if err != nil {
			return fmt.Errorf("image %s: SBOM referrer %s: %w", digest, m.ArtifactType, err)
		}
		var got any
		if err := json.Unmarshal(b, &got); err != nil || !reflect.DeepEqual(got, want) {
			return fmt.Errorf("image %s: the %s SBOM referrer differs from the signed SBOM attestation", digest, m.ArtifactType)
		}
		cdx = cdx || m.ArtifactType == CycloneDXType
		r.add("SBOM referrer %s (%d bytes): identical to the signed %s attestation", m.ArtifactType, len(b), pt)
	}
	if !cdx {
		return errors.New("image " + digest.String() + ": no CycloneDX SBOM referrer")
	}
	return nil
}
