package release

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/stella-scan/stella/internal/sbom/cyclonedx"
	"github.com/stella-scan/stella/internal/sbom/spdx"
	"github.com/stella-scan/stella/internal/scan"
)

// PublishOptions of a release.
type PublishOptions struct {
	Options
	Out     string // directory: stella-image (OCI layout), stella-image.tar
	Repo    string // image name, e.g. ghcr.io/stella-scan/stella
	Key     string // ECDSA P-256 private key file; empty: unsigned
	LDFlags string // recorded in the provenance
}

// Result of a release.
type Result struct {
	Digest  string
	Layout  string
	Archive string
}

// Publish builds the image, writes it as an OCI layout and a
// docker-archive, scans it (its SBOMs become referrers), and, with a
// key, signs it and attests its SLSA provenance and SBOM.
func Publish(ctx context.Context, o PublishOptions) (*Result, error) {
	started := time.Now()
	img, err := Build(o.Options)
	if err != nil {
		return nil, err
	}
	tag, err := name.NewTag(o.Repo + ":" + o.Version)
	if err != nil {
		return nil, fmt.Errorf("release: image name %q and version %q: %w", o.Repo, o.Version, err)
	}
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return nil, err
	}
	res := &Result{Layout: filepath.Join(o.Out, "stella-image"), Archive: filepath.Join(o.Out, "stella-image.tar")}
	if err := WriteDockerArchive(res.Archive, tag, img); err != nil {
		return nil, err
	}
	// The layout is written beside its place and renamed into it when
	// complete, so that a failed release leaves no half-signed layout.
	tmp, err := os.MkdirTemp(o.Out, ".stella-image-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	l, err := NewLayout(tmp)
	if err != nil {
		return nil, err
	}
	desc, err := l.AddImage(img, tag)
	if err != nil {
		return nil, err
	}
	res.Digest = desc.Digest.String()

	// Stella scans itself (its layers, not an attached SBOM: there is none yet).
	doc, _, err := scan.SBOM(ctx, "oci:"+tmp, scan.Options{SBOMSource: scan.SourceUnpack})
	if err != nil {
		return nil, fmt.Errorf("release: SBOM of the image: %w", err)
	}
	// Named as published, not by the temporary directory it was read from.
	doc.Target = tag.Context().Name() + "@" + res.Digest
	if doc.Image != nil {
		doc.Image.Name = tag.String()
	}
	var cdx, spx bytes.Buffer
	if err := cyclonedx.EncodeWith(&cdx, doc, cyclonedx.Options{ToolVersion: o.Version, Timestamp: o.Created}); err != nil {
		return nil, err
	}
	if err := spdx.Encode(&spx, doc, spdx.Options{ToolVersion: o.Version, Created: o.Created}); err != nil {
		return nil, err
	}
	if _, err := l.AttachSBOM(desc, CycloneDXType, cdx.Bytes(), o.Created); err != nil {
		return nil, err
	}
	if _, err := l.AttachSBOM(desc, SPDXType, spx.Bytes(), o.Created); err != nil {
		return nil, err
	}
	if o.Key != "" {
		key, err := LoadPrivateKey(o.Key)
		if err != nil {
			return nil, err
		}
		repo := tag.Context().Name()
		if err := l.Sign(desc, repo, key); err != nil {
			return nil, err
		}
		prov, err := Provenance(o.Commit, o.Version, runtime.Version(), o.LDFlags, started, time.Now())
		if err != nil {
			return nil, err
		}
		if err := l.Attest(desc, repo, key, map[string][]byte{SLSAProvenance: prov, CycloneDXBOM: cdx.Bytes(), SPDXBOM: spx.Bytes()}); err != nil {
			return nil, err
		}
	}
	if err := os.RemoveAll(res.Layout); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, res.Layout); err != nil {
		return nil, fmt.Errorf("release: %w", err)
	}
	return res, nil
}
