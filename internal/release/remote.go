package release

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// SignRemote signs a registry image as `cosign sign --key` does: the
// simple-signing payload of its digest, pushed as the .sig tag of its
// repository. It returns the signed digest.
func SignRemote(ref string, key *ecdsa.PrivateKey, opts ...remote.Option) (string, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return "", err
	}
	desc, err := remote.Head(r, opts...)
	if err != nil {
		return "", fmt.Errorf("sign %s: %w", ref, err)
	}
	var p SimpleSigning
	p.Critical.Identity.DockerReference = r.Context().Name()
	p.Critical.Image.DockerManifestDigest = desc.Digest.String()
	p.Critical.Type = "cosign container image signature"
	payload, err := json.Marshal(p)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(payload)
	sig, err := ecdsa.SignASN1(rand.Reader, key, sum[:])
	if err != nil {
		return "", err
	}
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	img, err = mutate.Append(img, mutate.Addendum{
		Layer:       static.NewLayer(payload, SimpleSigningType),
		Annotations: map[string]string{SignatureAnn: base64.StdEncoding.EncodeToString(sig)},
	})
	if err != nil {
		return "", err
	}
	if err := remote.Write(r.Context().Tag(SigTag(desc.Digest)), img, opts...); err != nil {
		return "", fmt.Errorf("push the signature of %s: %w", ref, err)
	}
	return desc.Digest.String(), nil
}
