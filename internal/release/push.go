package release

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Push copies a release layout to a registry repository: the image under
// its version tag, cosign's sha256-<digest>.sig and .att tags, and the
// SBOM referrers by digest (the registry's referrers API, or ggcr's
// referrers tag fallback). Afterwards `cosign verify --key` and
// `cosign verify-attestation --key` (with --insecure-ignore-tlog: nothing
// is uploaded to a transparency log) and `stella verify` read the image
// there. It returns the image digest.
func Push(ctx context.Context, dir, repo string, opts ...remote.Option) (string, error) {
	var nopts []name.Option
	if isLoopback(repo) {
		nopts = append(nopts, name.Insecure)
	}
	r, err := name.NewRepository(repo, nopts...)
	if err != nil {
		return "", fmt.Errorf("push: repository %q: %w", repo, err)
	}
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return "", fmt.Errorf("push: layout %s: %w", dir, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return "", fmt.Errorf("push: layout %s: %w", dir, err)
	}
	opts = append(opts, remote.WithContext(ctx))
	digest := ""
	// The image first, then what refers to it.
	order := make([]v1.Descriptor, 0, len(im.Manifests))
	var rest []v1.Descriptor
	for _, d := range im.Manifests {
		if isReleaseImage(d) {
			order = append(order, d)
		} else {
			rest = append(rest, d)
		}
	}
	if len(order) != 1 {
		return "", fmt.Errorf("push: layout %s holds %d images, want 1", dir, len(order))
	}
	order = append(order, rest...)
	for _, d := range order {
		if !d.MediaType.IsImage() {
			return "", fmt.Errorf("push: layout %s: %s is a %s, not an image manifest", dir, d.Digest, d.MediaType)
		}
		img, err := idx.Image(d.Digest)
		if err != nil {
			return "", fmt.Errorf("push: %s: %w", d.Digest, err)
		}
		var to name.Reference = r.Digest(d.Digest.String())
		if n := d.Annotations[layoutTag]; n != "" {
			if isReleaseImage(d) {
				digest = d.Digest.String()
			}
			to = r.Tag(n)
		}
		if err := remote.Write(to, img, opts...); err != nil {
			return "", fmt.Errorf("push %s to %s: %w", d.Digest, to, err)
		}
	}
	return digest, nil
}

// isReleaseImage tells the image of a release layout from its signature,
// attestations and referrers.
func isReleaseImage(d v1.Descriptor) bool {
	n := d.Annotations[layoutTag]
	return n != "" && !strings.HasSuffix(n, ".sig") && !strings.HasSuffix(n, ".att") && d.ArtifactType != CycloneDXType && d.ArtifactType != SPDXType
}
