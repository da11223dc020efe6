package release

import (
	"crypto/ecdsa"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// SignRemote signs a registry image as `cosign sign --key` does: the
// simple-signing payload of its digest, pushed as the .sig tag of its
// repository. It returns the signed digest.
func SignRemote(ref string, key *ecdsa.PrivateKey, opts ...remote.Option) (string, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return "", fmt.Errorf("sign %s: %w", ref, err)
	}
	desc, err := remote.Head(r, opts...)
	if err != nil {
		return "", fmt.Errorf("sign %s: %w", ref, err)
	}
	payload, err := SimpleSigningPayload(r.Context().Name(), desc.Digest)
	if err != nil {
		return "", err
	}
	img, err := signatureImage(payload, key)
	if err != nil {
		return "", err
	}
	if err := remote.Write(r.Context().Tag(SigTag(desc.Digest)), img, opts...); err != nil {
		return "", fmt.Errorf("push the signature of %s: %w", ref, err)
	}
	return desc.Digest.String(), nil
}
