package scan

import (
	"fmt"
	"os"

	"github.com/stella-scan/stella/internal/sbom"
	"github.com/stella-scan/stella/internal/sbom/sbomfile"
)

// decodeSBOMFile reads an input SBOM (CycloneDX 1.4–1.6 JSON or XML, SPDX
// 2.2/2.3 JSON or tag-value, Stella's JSON), bounded by max bytes.
func decodeSBOMFile(path string, max int64) (*sbom.Document, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if max <= 0 {
		max = 256 << 20
	}
	doc, err := sbomfile.DecodeLimit(f, path, max)
	if err != nil {
		return nil, err
	}
	if doc.Target == "" {
		doc.Target = "sbom:" + path
	}
	if doc.Source == "" {
		doc.Source = "sbom-file"
	}
	for i := range doc.Packages {
		p := &doc.Packages[i]
		if p.PURL == "" {
			p.PURL = sbom.PURL(p)
		}
		if p.ID == "" {
			p.ID = fmt.Sprintf("%s#%d", p.PURL, i)
		}
	}
	return doc, nil
}
