// Package vex reads VEX documents (OpenVEX, CycloneDX VEX, CSAF VEX) and
// applies their statements to findings: a supplier saying that its
// product is not affected by a vulnerability, or has fixed it, or is
// investigating, together with the justification it gave.
//
// A statement applies to a finding when it names the finding's
// vulnerability (by id or any alias) and a product that is the finding's
// package (package URL: type, namespace and name, and the version when the
// statement gives one) — or the scanned image itself (a pkg:oci product
// with the image's digest), which then covers every package in it unless
// the statement lists subcomponents.
package vex

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// Statuses, as OpenVEX spells them; the other formats are mapped to these.
const (
	NotAffected        = "not_affected"
	Affected           = "affected"
	Fixed              = "fixed"
	UnderInvestigation = "under_investigation"
)

// Formats.
const (
	FormatOpenVEX   = "openvex"
	FormatCycloneDX = "cyclonedx"
	FormatCSAF      = "csaf"
)

// MaxSize bounds a VEX document.
const MaxSize = 64 << 20

// Document is one parsed VEX document.
type Document struct {
	Path       string
	Format     string
	Statements []Statement
}

// Statement says one thing about one vulnerability in some products.
type Statement struct {
	Vulnerability string
	Aliases       []string
	Products      []Product
	Status        string
	Justification string
	Impact        string
	Action        string
}

// Product is a package the statement is about, optionally as a component
// of an image (Image is then that image's purl, pkg:oci/…@sha256:…). A
// product with only Image set is the image as a whole.
type Product struct {
	PURL  string
	Image string
}

// ErrUnknownFormat is returned for a document that is none of the formats.
var ErrUnknownFormat = errors.New("not an OpenVEX, CycloneDX or CSAF VEX document")

// Load reads a VEX document from a file.
func Load(path string) (*Document, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err // names the path
	}
	defer f.Close()
	d, err := Parse(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	d.Path = path
	return d, nil
}

// Parse reads a VEX document, recognising its format by content.
func Parse(r io.Reader) (*Document, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxSize {
		return nil, fmt.Errorf("larger than %d bytes", MaxSize)
	}
	var probe struct {
		Context   json.RawMessage `json:"@context"`
		BOMFormat string          `json:"bomFormat"`
		Document  *struct {
			CSAFVersion string `json:"csaf_version"`
		} `json:"document"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnknownFormat, err)
	}
	switch {
	case bytes.Contains(probe.Context, []byte("openvex")):
		return parseOpenVEX(data)
	case probe.BOMFormat == "CycloneDX":
		return parseCycloneDX(data)
	case probe.Document != nil && probe.Document.CSAFVersion != "":
		return parseCSAF(data)
	}
	return nil, ErrUnknownFormat
}

// normalizeStatus maps the words of each format to the four statuses.
func normalizeStatus(s string) string {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "not_affected", "known_not_affected", "false_positive":
		return NotAffected
	case "fixed", "first_fixed", "resolved", "resolved_with_pedigree":
		return Fixed
	case "under_investigation", "in_triage":
		return UnderInvestigation
	case "affected", "known_affected", "first_affected", "last_affected", "exploitable":
		return Affected
	}
	return ""
}
