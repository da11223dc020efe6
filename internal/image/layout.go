package image

import (
	"fmt"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
)

// openLayout opens oci:DIR[:TAG]: the manifest whose ref.name annotation
// (or io.containerd.image.name) matches TAG, or the only one; an index is
// resolved for the platform.
func openLayout(t Target, opts Options) (*Opened, error) {
	idx, err := layout.ImageIndexFromPath(t.Ref)
	if err != nil {
		return nil, fmt.Errorf("open OCI layout: %w", err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("index.json: %w", err)
	}
	var chosen []v1.Descriptor
	for _, d := range im.Manifests {
		if t.Tag == "" && attachedArtifact(d) {
			continue // an SBOM, signature or attestation of an image here
		}
		if t.Tag == "" || d.Annotations["org.opencontainers.image.ref.name"] == t.Tag || d.Annotations["io.containerd.image.name"] == t.Tag {
			chosen = append(chosen, d)
		}
	}
	switch {
	case len(chosen) == 0 && t.Tag != "":
		return nil, fmt.Errorf("no manifest tagged %q in index.json", t.Tag)
	case len(chosen) == 0:
		return nil, fmt.Errorf("index.json lists no manifest")
	case len(chosen) > 1:
		// Several images: prefer one for the platform.
		if d, ok := pickPlatform(chosen, opts.Platform); ok {
			chosen = []v1.Descriptor{d}
		} else {
			return nil, fmt.Errorf("index.json lists %d manifests: name one with oci:DIR:TAG", len(chosen))
		}
	}
	d := chosen[0]
	if isIndex(d.MediaType) {
		sub, err := idx.ImageIndex(d.Digest)
		if err != nil {
			return nil, fmt.Errorf("image index %s: %w", d.Digest, err)
		}
		sm, err := sub.IndexManifest()
		if err != nil {
			return nil, fmt.Errorf("image index %s: %w", d.Digest, err)
		}
		pd, ok := pickPlatform(sm.Manifests, opts.Platform)
		if !ok {
			return nil, fmt.Errorf("image index %s has no manifest for platform %s", d.Digest, opts.Platform)
		}
		img, err := sub.Image(pd.Digest)
		if err != nil {
			return nil, fmt.Errorf("manifest %s: %w", pd.Digest, err)
		}
		return &Opened{Target: t, Image: img, Name: display(t), Digest: pd.Digest.String(), Platform: opts.Platform, Compressed: true}, nil
	}
	img, err := idx.Image(d.Digest)
	if err != nil {
		return nil, fmt.Errorf("manifest %s: %w", d.Digest, err)
	}
	return &Opened{Target: t, Image: img, Name: display(t), Digest: d.Digest.String(), Compressed: true}, nil
}

// pickPlatform returns the descriptor for os/arch[/variant].
func pickPlatform(ds []v1.Descriptor, want string) (v1.Descriptor, bool) {
	p, err := v1.ParsePlatform(want)
	if err != nil {
		return v1.Descriptor{}, false
	}
	for _, d := range ds {
		if d.Platform != nil && d.Platform.Satisfies(*p) {
			return d, true
		}
	}
	return v1.Descriptor{}, false
}

// attachedArtifact tells the manifests that ride along with an image in a
// layout (OCI referrers such as SBOMs, cosign's .sig/.att/.sbom tags) from
// the images themselves.
func attachedArtifact(d v1.Descriptor) bool {
	switch d.ArtifactType {
	case "", "application/vnd.oci.image.config.v1+json", "application/vnd.docker.container.image.v1+json":
	default:
		return true
	}
	name := d.Annotations["org.opencontainers.image.ref.name"]
	return strings.HasPrefix(name, "sha256-") && (strings.HasSuffix(name, ".sig") || strings.HasSuffix(name, ".att") || strings.HasSuffix(name, ".sbom"))
}
