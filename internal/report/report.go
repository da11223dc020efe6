package report

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"time"
)

// Formats Write knows.
var Formats = []string{"table", "json", "cyclonedx-json", "spdx-json", "sarif", "html"}

// Options tune the output.
type Options struct {
	// Created stamps the documents that carry a creation time (CycloneDX,
	// SPDX); zero means Provenance.ScannedAt.
	Created time.Time
}

// Write renders r in format.
func Write(w io.Writer, r *Result, format string, o Options) error {
	if o.Created.IsZero() {
		o.Created = r.Provenance.ScannedAt
	}
	var err error
	switch format {
	case "table":
		err = Table(w, r)
	case "json":
		err = JSON(w, r)
	case "cyclonedx-json":
		err = CycloneDX(w, r, o)
	case "spdx-json":
		err = SPDX(w, r, o)
	case "sarif":
		err = SARIF(w, r)
	case "html":
		err = HTML(w, r)
	default:
		return fmt.Errorf("format %q: want one of %v", format, Formats)
	}
	if err != nil {
		return fmt.Errorf("%s report of %s: %w", format, r.Target, err)
	}
	return nil
}

// ValidFormat reports whether Write knows format.
func ValidFormat(f string) bool { return slices.Contains(Formats, f) }

// JSON writes the native Result (api/schema/result.json).
func JSON(w io.Writer, r *Result) error {
	e := json.NewEncoder(w)
	e.SetIndent("", "  ")
	e.SetEscapeHTML(false)
	return e.Encode(r)
}

// advisoryURL is a page about a vulnerability id.
func advisoryURL(id string) string {
	switch {
	case len(id) > 4 && id[:4] == "CVE-":
		return "https://nvd.nist.gov/vuln/detail/" + id
	case len(id) > 5 && id[:5] == "GHSA-":
		return "https://github.com/advisories/" + id
	case len(id) > 3 && id[:3] == "GO-":
		return "https://pkg.go.dev/vuln/" + id
	}
	return "https://osv.dev/vulnerability/" + id
}
