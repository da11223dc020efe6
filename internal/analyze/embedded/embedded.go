// Package embedded finds SBOM documents shipped inside an image at the
// conventional locations (Wolfi/Chainguard's var/lib/db/sbom, Bitnami's
// .spdx-*.spdx, usr/share/sbom, …) and reports their packages. It is not
// in the default analyzer set: `--sbom-source embedded` selects it alone.
package embedded

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"

	"github.com/stella-scan/stella/internal/analyze"
	"github.com/stella-scan/stella/internal/sbom/cyclonedx"
	"github.com/stella-scan/stella/internal/sbom/spdx"
)

// Analyzer reads embedded SBOM files.
type Analyzer struct{}

// Name implements analyze.Analyzer.
func (Analyzer) Name() string { return "embedded-sbom" }

// Version implements analyze.Analyzer.
func (Analyzer) Version() int { return 1 }

// maxSBOM bounds one embedded document.
const maxSBOM = 64 << 20

var sbomDirs = []string{"var/lib/db/sbom/", "usr/share/sbom/", "usr/local/share/sbom/", "sbom/", "opt/sbom/"}

// Wants implements analyze.Analyzer.
func (Analyzer) Wants(p string, fi fs.FileInfo) bool {
	if fi != nil && fi.Size() > maxSBOM {
		return false
	}
	base := path.Base(p)
	switch {
	case strings.HasSuffix(base, ".spdx.json"), strings.HasSuffix(base, ".cdx.json"),
		strings.HasSuffix(base, ".cdx.xml"), strings.HasSuffix(base, ".bom.json"):
		return true
	case strings.HasPrefix(base, ".spdx-") && strings.HasSuffix(base, ".spdx"): // Bitnami
		return true
	}
	for _, d := range sbomDirs {
		if strings.HasPrefix(p, d) && (strings.HasSuffix(base, ".json") || strings.HasSuffix(base, ".spdx") || strings.HasSuffix(base, ".xml")) {
			return true
		}
	}
	return false
}

// Analyze implements analyze.Analyzer.
func (Analyzer) Analyze(_ context.Context, f analyze.File) (*analyze.Result, error) {
	b, err := io.ReadAll(io.LimitReader(f.Content, maxSBOM))
	if err != nil {
		return nil, err
	}
	head := string(b[:min(len(b), 4096)])
	var docErr error
	var res analyze.Result
	switch {
	case strings.Contains(head, "spdxVersion") || strings.Contains(head, "SPDXVersion"):
		doc, err := spdx.Decode(bytes.NewReader(b))
		if err == nil {
			res.Packages = doc.Packages
		}
		docErr = err
	case strings.Contains(head, "bomFormat") || strings.Contains(head, "cyclonedx"):
		doc, err := cyclonedx.Decode(bytes.NewReader(b))
		if err == nil {
			res.Packages = doc.Packages
		}
		docErr = err
	default:
		return nil, nil
	}
	if docErr != nil {
		return nil, fmt.Errorf("embedded SBOM %s: %w", f.Path, docErr)
	}
	for i := range res.Packages {
		res.Packages[i].ID = ""
		res.Packages[i].Paths = []string{f.Path}
		res.Packages[i].Layer, res.Packages[i].LayerIndex = "", 0
	}
	return &res, nil
}
