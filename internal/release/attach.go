package release

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/stella-scan/stella/internal/image"
)

// Media and predicate types (cosign's and the OCI's).
const (
	SimpleSigningType = "application/vnd.dev.cosign.simplesigning.v1+json"
	DSSEType          = "application/vnd.dsse.envelope.v1+json"
	InTotoType        = "application/vnd.in-toto+json"
	SignatureAnn      = "dev.cosignproject.cosign/signature"
	PredicateAnn      = "predicateType"
	CycloneDXType     = "application/vnd.cyclonedx+json"
	SPDXType          = "application/spdx+json"
	SLSAProvenance    = "https://slsa.dev/provenance/v1"
	CycloneDXBOM      = "https://cyclonedx.org/bom"
	SPDXBOM           = "https://spdx.dev/Document"
	StatementType     = "https://in-toto.io/Statement/v1"
	emptyJSON         = "application/vnd.oci.empty.v1+json"
)

// Layout is an OCI image layout being written.
type Layout struct{ p layout.Path }

// NewLayout creates an empty OCI layout at dir (replacing one there).
func NewLayout(dir string) (*Layout, error) {
	if err := os.RemoveAll(dir); err != nil {
		return nil, err
	}
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return nil, fmt.Errorf("release: layout %s: %w", dir, err)
	}
	return &Layout{p: p}, nil
}

// AddImage writes img tagged tag: its ref.name is the tag alone (so that
// oci:DIR:TAG names it), io.containerd.image.name the whole reference.
func (l *Layout) AddImage(img v1.Image, tag name.Tag) (v1.Descriptor, error) {
	ann := map[string]string{layoutTag: tag.TagStr(), containerdName: tag.String()}
	if err := l.p.AppendImage(img, layout.WithAnnotations(ann)); err != nil {
		return v1.Descriptor{}, err
	}
	d, err := img.Digest()
	if err != nil {
		return v1.Descriptor{}, err
	}
	raw, _ := img.RawManifest()
	return v1.Descriptor{MediaType: types.OCIManifestSchema1, Digest: d, Size: int64(len(raw))}, nil
}

func (l *Layout) blob(b []byte) (v1.Hash, error) {
	h, _, err := v1.SHA256(bytes.NewReader(b))
	if err != nil {
		return v1.Hash{}, err
	}
	return h, l.p.WriteBlob(h, io.NopCloser(bytes.NewReader(b)))
}

// layerSpec is one layer of an artifact manifest.
type layerSpec struct {
	mediaType   string
	data        []byte
	annotations map[string]string
}

// manifest writes an OCI image manifest of the given layers (with an
// empty config, the artifactType and subject when given) and lists it in
// the index, tagged when tag is not empty.
func (l *Layout) manifest(artifactType string, subject *v1.Descriptor, tag string, layers []layerSpec, ann map[string]string) (v1.Descriptor, error) {
	cfg := []byte("{}")
	cfgType := emptyJSON
	ch, err := l.blob(cfg)
	if err != nil {
		return v1.Descriptor{}, err
	}
	m := map[string]any{
		"schemaVersion": 2,
		"mediaType":     string(types.OCIManifestSchema1),
		"config":        map[string]any{"mediaType": cfgType, "digest": ch.String(), "size": len(cfg)},
	}
	if artifactType != "" {
		m["artifactType"] = artifactType
	}
	var ls []map[string]any
	for _, s := range layers {
		h, err := l.blob(s.data)
		if err != nil {
			return v1.Descriptor{}, err
		}
		d := map[string]any{"mediaType": s.mediaType, "digest": h.String(), "size": len(s.data)}
		if len(s.annotations) > 0 {
			d["annotations"] = s.annotations
		}
		ls = append(ls, d)
	}
	m["layers"] = ls
	if subject != nil {
		m["subject"] = map[string]any{"mediaType": string(subject.MediaType), "digest": subject.Digest.String(), "size": subject.Size}
	}
	if len(ann) > 0 {
		m["annotations"] = ann
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return v1.Descriptor{}, err
	}
	h, err := l.blob(raw)
	if err != nil {
		return v1.Descriptor{}, err
	}
	desc := v1.Descriptor{MediaType: types.OCIManifestSchema1, Digest: h, Size: int64(len(raw)), ArtifactType: artifactType}
	if tag != "" {
		desc.Annotations = map[string]string{layoutTag: tag}
	}
	return desc, l.p.AppendDescriptor(desc)
}

// AttachSBOM adds an SBOM as an OCI referrer of subject.
func (l *Layout) AttachSBOM(subject v1.Descriptor, mediaType string, doc []byte, created time.Time) (v1.Descriptor, error) {
	return l.manifest(mediaType, &subject, "", []layerSpec{{mediaType: mediaType, data: doc}},
		map[string]string{"org.opencontainers.image.created": created.UTC().Format(time.RFC3339)})
}

// SigTag and AttTag are cosign's tags for an image digest's signature
// and attestations.
func SigTag(d v1.Hash) string { return d.Algorithm + "-" + d.Hex + ".sig" }
func AttTag(d v1.Hash) string { return d.Algorithm + "-" + d.Hex + ".att" }

// SimpleSigning is cosign's signed payload for an image.
type SimpleSigning struct {
	Critical struct {
		Identity struct {
			DockerReference string `json:"docker-reference"`
		} `json:"identity"`
		Image struct {
			DockerManifestDigest string `json:"docker-manifest-digest"`
		} `json:"image"`
		Type string `json:"type"`
	} `json:"critical"`
	Optional map[string]any `json:"optional"`
}

// SimpleSigningPayload is what cosign signs for an image: its
// repository (without tag, as cosign writes it) and manifest digest.
func SimpleSigningPayload(repo string, d v1.Hash) ([]byte, error) {
	var p SimpleSigning
	p.Critical.Identity.DockerReference = repo
	p.Critical.Image.DockerManifestDigest = d.String()
	p.Critical.Type = CosignSignatureType
	return json.Marshal(p)
}

// CosignSignatureType is critical.type of a simple-signing payload.
const CosignSignatureType = "cosign container image signature"

// signatureImage is cosign's .sig image: an OCI manifest (config
// application/vnd.oci.image.config.v1+json) whose layer is the payload,
// annotated with the base64 ASN.1 ECDSA signature of its SHA-256.
func signatureImage(payload []byte, key *ecdsa.PrivateKey) (v1.Image, error) {
	sum := sha256.Sum256(payload)
	sig, err := ecdsa.SignASN1(rand.Reader, key, sum[:])
	if err != nil {
		return nil, err
	}
	return cosignImage([]layerSpec{{data: payload, mediaType: SimpleSigningType,
		annotations: map[string]string{SignatureAnn: base64.StdEncoding.EncodeToString(sig)}}})
}

// cosignImage builds an image of the given layers the way cosign does
// (empty base, OCI media types, static layers with annotations).
func cosignImage(layers []layerSpec) (v1.Image, error) {
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	for _, l := range layers {
		var err error
		img, err = mutate.Append(img, mutate.Addendum{Layer: static.NewLayer(l.data, types.MediaType(l.mediaType)), Annotations: l.annotations})
		if err != nil {
			return nil, err
		}
	}
	return img, nil
}

// Sign writes the simple-signing signature of the image (cosign's .sig
// tag) signed with key; repo is the image's repository, without tag.
func (l *Layout) Sign(subject v1.Descriptor, repo string, key *ecdsa.PrivateKey) error {
	payload, err := SimpleSigningPayload(repo, subject.Digest)
	if err != nil {
		return err
	}
	img, err := signatureImage(payload, key)
	if err != nil {
		return err
	}
	return l.p.AppendImage(img, layout.WithAnnotations(map[string]string{layoutTag: SigTag(subject.Digest)}))
}

// Statement is an in-toto Statement v1.
type Statement struct {
	Type          string          `json:"_type"`
	Subject       []Subject       `json:"subject"`
	PredicateType string          `json:"predicateType"`
	Predicate     json.RawMessage `json:"predicate"`
}

// Subject names what a statement is about.
type Subject struct {
	Name   string            `json:"name"`
	Digest map[string]string `json:"digest"`
}

// Envelope is a DSSE envelope.
type Envelope struct {
	PayloadType string      `json:"payloadType"`
	Payload     string      `json:"payload"`
	Signatures  []Signature `json:"signatures"`
}

// Signature is one DSSE signature.
type Signature struct {
	KeyID string `json:"keyid"`
	Sig   string `json:"sig"`
}

// envelopes signs one in-toto statement per predicate, about the image
// repo@digest, as DSSE envelopes (PAE over the payload, ECDSA P-256),
// in a fixed order: SLSA provenance, then the SBOMs.
func envelopes(repo string, d v1.Hash, key *ecdsa.PrivateKey, predicates map[string][]byte) ([]layerSpec, error) {
	var layers []layerSpec
	for _, pt := range []string{SLSAProvenance, CycloneDXBOM, SPDXBOM} {
		pred, ok := predicates[pt]
		if !ok {
			continue
		}
		st := Statement{Type: StatementType, PredicateType: pt, Predicate: pred,
			Subject: []Subject{{Name: repo, Digest: map[string]string{"sha256": d.Hex}}}}
		payload, err := json.Marshal(st)
		if err != nil {
			return nil, fmt.Errorf("release: statement %s: %w", pt, err)
		}
		sum := sha256.Sum256(image.PAE(InTotoType, payload))
		sig, err := ecdsa.SignASN1(rand.Reader, key, sum[:])
		if err != nil {
			return nil, err
		}
		env, err := json.Marshal(Envelope{PayloadType: InTotoType, Payload: base64.StdEncoding.EncodeToString(payload),
			Signatures: []Signature{{Sig: base64.StdEncoding.EncodeToString(sig)}}})
		if err != nil {
			return nil, err
		}
		layers = append(layers, layerSpec{mediaType: DSSEType, data: env, annotations: map[string]string{PredicateAnn: pt}})
	}
	return layers, nil
}

// Attest writes the statements as DSSE envelopes signed with key, as the
// layers of cosign's .att image of subject.
func (l *Layout) Attest(subject v1.Descriptor, repo string, key *ecdsa.PrivateKey, predicates map[string][]byte) error {
	layers, err := envelopes(repo, subject.Digest, key, predicates)
	if err != nil {
		return err
	}
	img, err := cosignImage(layers)
	if err != nil {
		return err
	}
	return l.p.AppendImage(img, layout.WithAnnotations(map[string]string{layoutTag: AttTag(subject.Digest)}))
}

// Provenance is the SLSA provenance v1 predicate of a release build.
func Provenance(commit, version, goVersion, ldflags string, started, finished time.Time) ([]byte, error) {
	p := map[string]any{
		"buildDefinition": map[string]any{
			"buildType": "https://github.com/stella-scan/stella/release/v1",
			"externalParameters": map[string]any{
				"source":  map[string]any{"uri": "git+https://github.com/stella-scan/stella", "digest": map[string]string{"gitCommit": commit}},
				"version": version,
				"target":  "make release",
			},
			"internalParameters": map[string]any{"goVersion": goVersion, "ldflags": ldflags, "cgo": false, "trimpath": true},
			"resolvedDependencies": []map[string]any{
				{"uri": "git+https://github.com/stella-scan/stella@" + commit, "digest": map[string]string{"gitCommit": commit}},
			},
		},
		"runDetails": map[string]any{
			"builder":  map[string]any{"id": "https://github.com/stella-scan/stella/make-release"},
			"metadata": map[string]any{"invocationId": commit + "/" + version, "startedOn": started.UTC().Format(time.RFC3339), "finishedOn": finished.UTC().Format(time.RFC3339)},
		},
	}
	return json.Marshal(p)
}

// GenerateKey writes a new ECDSA P-256 key pair: the private key (PKCS#8
// PEM, mode 0600) and the public key (PKIX PEM, which `cosign verify
// --key` reads).
func GenerateKey(privPath, pubPath string) error {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return err
	}
	pub, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		return err
	}
	if err := os.WriteFile(privPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return err
	}
	return os.WriteFile(pubPath, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}), 0o644)
}

// LoadPrivateKey reads an ECDSA P-256 private key (PKCS#8 or SEC 1 PEM).
func LoadPrivateKey(path string) (*ecdsa.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, fmt.Errorf("signing key %s: no PEM block", path)
	}
	if strings.Contains(blk.Type, "ENCRYPTED") {
		return nil, fmt.Errorf("signing key %s: encrypted keys are not supported; give an unencrypted PKCS#8 key from a secret mount", path)
	}
	if k, err := x509.ParseECPrivateKey(blk.Bytes); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", path, err)
	}
	ek, ok := k.(*ecdsa.PrivateKey)
	if !ok || ek.Curve != elliptic.P256() {
		return nil, fmt.Errorf("signing key %s: want ECDSA P-256", path)
	}
	return ek, nil
}

// KeyID is the SHA-256 of a public key's DER, for messages.
func KeyID(pub *ecdsa.PublicKey) string {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "?"
	}
	s := sha256.Sum256(der)
	return "sha256:" + hex.EncodeToString(s[:])
}

var errNoSignature = errors.New("no signature")
