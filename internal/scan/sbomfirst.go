package scan

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/stella-scan/stella/internal/image"
	"github.com/stella-scan/stella/internal/sbom"
	"github.com/stella-scan/stella/internal/sbom/cyclonedx"
	"github.com/stella-scan/stella/internal/sbom/spdx"
)

// Where packages come from (--sbom-source).
const (
	SourceAuto     = "auto"     // an attached SBOM if there is one, else unpack
	SourceAttached = "attached" // only an attached SBOM; none is an error
	SourceEmbedded = "embedded" // only SBOM files shipped inside the image
	SourceUnpack   = "unpack"   // analyse the layers
)

// decodeSBOMBytes decodes an SBOM document whose format is told by its
// media or predicate type, or by its content.
func decodeSBOMBytes(data []byte, mediaType string) (*sbom.Document, error) {
	isSPDX := strings.Contains(mediaType, "spdx")
	isCDX := strings.Contains(mediaType, "cyclonedx")
	if !isSPDX && !isCDX {
		head := string(data[:min(len(data), 4096)])
		isSPDX = strings.Contains(head, "spdxVersion") || strings.Contains(head, "SPDXVersion")
	}
	if isSPDX {
		return spdx.Decode(bytes.NewReader(data))
	}
	return cyclonedx.Decode(bytes.NewReader(data))
}

// attachedSBOM returns the packages of an SBOM attached to the image, or
// nil when there is none. CycloneDX is preferred over SPDX, a verified
// attestation over an unverified one.
func attachedSBOM(ctx context.Context, o *image.Opened, opts Options) (*sbom.Document, error) {
	as, err := image.FindAttached(ctx, o, image.AttachOptions{PublicKey: opts.AttestationKey, Insecure: opts.Image.Insecure})
	if err != nil {
		return nil, err
	}
	if len(as) == 0 {
		return nil, nil
	}
	best := as[0]
	for _, a := range as[1:] {
		if a.Verified && !best.Verified || (a.Verified == best.Verified && strings.Contains(a.MediaType, "cyclonedx") && !strings.Contains(best.MediaType, "cyclonedx")) {
			best = a
		}
	}
	doc, err := decodeSBOMBytes(best.Data, best.MediaType)
	if err != nil {
		return nil, fmt.Errorf("attached SBOM %s (%s): %w", best.Digest, best.Kind, err)
	}
	doc.Source = "attached:" + best.Kind
	slog.Debug("using attached SBOM", "kind", best.Kind, "digest", best.Digest, "packages", len(doc.Packages))
	return doc, nil
}

// errNoAttached is returned for --sbom-source attached when the image has
// no SBOM beside it.
var errNoAttached = errors.New("no SBOM attached to the image (referrers, cosign attestation or BuildKit attestation); use --sbom-source auto or unpack")

// fillAttached completes an attached SBOM with what the image itself
// says: its name, digest, layers and platform, and IDs and purls where the
// document lacked them.
func fillAttached(doc *sbom.Document, o *image.Opened, info *sbom.Image) {
	doc.Target = o.Name
	doc.Image = info
	for i := range doc.Packages {
		p := &doc.Packages[i]
		if sbom.IsOS(p.Ecosystem) && p.Distro == nil && doc.Distro != nil {
			d := *doc.Distro
			p.Distro = &d
		}
		if p.PURL == "" {
			p.PURL = sbom.PURL(p)
		}
		if p.ID == "" {
			p.ID = fmt.Sprintf("%s#%d", p.PURL, i)
		}
	}
	doc.Sort()
}
