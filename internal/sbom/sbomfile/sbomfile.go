// Package sbomfile reads an SBOM file of any supported format, recognised
// by its content: CycloneDX JSON and XML, SPDX JSON and tag-value, and
// Stella's own JSON. Input is untrusted: it is bounded in size and every
// error names the file.
package sbomfile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/stella-scan/stella/internal/sbom"
	"github.com/stella-scan/stella/internal/sbom/cyclonedx"
	"github.com/stella-scan/stella/internal/sbom/native"
	"github.com/stella-scan/stella/internal/sbom/spdx"
)

// Formats Detect recognises.
const (
	CycloneDXJSON = "cyclonedx-json"
	CycloneDXXML  = "cyclonedx-xml"
	SPDXJSON      = "spdx-json"
	SPDXTagValue  = "spdx-tag-value"
	StellaJSON    = "stella-json"
)

// DefaultMaxSize is the largest SBOM Decode reads unless told otherwise.
const DefaultMaxSize int64 = 256 << 20

// ErrTooLarge is returned (wrapped) for input over the size limit.
var ErrTooLarge = errors.New("larger than the size limit for SBOM input")

// ErrUnknownFormat is returned (wrapped) when Detect recognises nothing.
var ErrUnknownFormat = errors.New("not a recognised SBOM: expected CycloneDX JSON or XML, SPDX 2.2/2.3 JSON or tag-value, or Stella JSON")

// Detect names the format of b from its content.
func Detect(b []byte) (string, error) {
	b = bytes.TrimPrefix(b, []byte{0xEF, 0xBB, 0xBF})
	b = bytes.TrimLeft(b, " \t\r\n")
	if len(b) == 0 {
		return "", errors.New("empty file: not an SBOM")
	}
	switch b[0] {
	case '{':
		return detectJSON(b)
	case '<':
		return detectXML(b)
	}
	if tagValue(b) {
		return SPDXTagValue, nil
	}
	return "", ErrUnknownFormat
}

func detectJSON(b []byte) (string, error) {
	var probe struct {
		BOMFormat   string          `json:"bomFormat"`
		SPDXVersion string          `json:"spdxVersion"`
		Schema      string          `json:"schema"`
		Context     json.RawMessage `json:"@context"`
	}
	if err := json.Unmarshal(b, &probe); err != nil {
		return "", fmt.Errorf("invalid JSON: %w", err)
	}
	switch {
	case probe.BOMFormat == "CycloneDX":
		return CycloneDXJSON, nil
	case strings.HasPrefix(probe.SPDXVersion, "SPDX-"):
		return SPDXJSON, nil
	case strings.HasPrefix(probe.Schema, "stella-sbom/"):
		return StellaJSON, nil
	case bytes.Contains(probe.Context, []byte("spdx.org/rdf/3")):
		return "", errors.New("SPDX 3 JSON-LD is not supported: convert it to SPDX 2.3 JSON")
	}
	return "", ErrUnknownFormat
}

func detectXML(b []byte) (string, error) {
	head := b[:min(len(b), 8192)]
	switch {
	case bytes.Contains(head, []byte("http://cyclonedx.org/schema/bom/")):
		return CycloneDXXML, nil
	case bytes.Contains(head, []byte("spdx.org/rdf/terms")):
		return "", errors.New("SPDX RDF/XML is not supported: convert it to SPDX 2.3 JSON or tag-value")
	}
	return "", ErrUnknownFormat
}

// tagValue reports whether the first meaningful line is an SPDX tag-value
// header.
func tagValue(b []byte) bool {
	for n := 0; len(b) > 0 && n < 200; n++ {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		return bytes.HasPrefix(line, []byte("SPDXVersion:"))
	}
	return false
}

// Decode reads the SBOM r, up to DefaultMaxSize bytes. name is the file the
// input came from; every error starts with it.
func Decode(r io.Reader, name string) (*sbom.Document, error) {
	return DecodeLimit(r, name, DefaultMaxSize)
}

// DecodeLimit is Decode with a size limit in bytes (DefaultMaxSize when
// max <= 0).
func DecodeLimit(r io.Reader, name string, max int64) (*sbom.Document, error) {
	if max <= 0 {
		max = DefaultMaxSize
	}
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, fmt.Errorf("sbom %s: read: %w", name, err)
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("sbom %s: %w (%d MiB); raise the limit if the file is trusted", name, ErrTooLarge, max>>20)
	}
	return DecodeBytes(b, name)
}

// DecodeBytes decodes an SBOM already in memory.
func DecodeBytes(b []byte, name string) (*sbom.Document, error) {
	format, err := Detect(b)
	if err != nil {
		return nil, fmt.Errorf("sbom %s: %w", name, err)
	}
	var doc *sbom.Document
	switch format {
	case CycloneDXJSON:
		doc, err = cyclonedx.DecodeFormat(bytes.NewReader(b), false)
	case CycloneDXXML:
		doc, err = cyclonedx.DecodeFormat(bytes.NewReader(b), true)
	case SPDXJSON:
		doc, err = spdx.DecodeFormat(bytes.NewReader(b), false)
	case SPDXTagValue:
		doc, err = spdx.DecodeFormat(bytes.NewReader(b), true)
	case StellaJSON:
		doc, err = native.Decode(bytes.NewReader(b))
	}
	if err != nil {
		return nil, fmt.Errorf("sbom %s: %w", name, err)
	}
	doc.Source = "sbom-file"
	if doc.Target == "" {
		doc.Target = name
	}
	slog.Debug("sbom decoded", "file", name, "format", format, "packages", len(doc.Packages))
	return doc, nil
}
