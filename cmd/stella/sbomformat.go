package main

import (
	"fmt"
	"io"
	"slices"

	"github.com/stella-scan/stella/internal/sbom"
	"github.com/stella-scan/stella/internal/sbom/cyclonedx"
	"github.com/stella-scan/stella/internal/sbom/native"
	"github.com/stella-scan/stella/internal/sbom/spdx"
	"github.com/stella-scan/stella/internal/sbom/table"
)

var sbomFormats = []string{"cyclonedx-json", "cyclonedx-1.5-json", "spdx-json", "json", "table"}

func validSBOMFormat(f string) bool { return slices.Contains(sbomFormats, f) }

// encodeSBOM writes doc in one of sbomFormats.
func encodeSBOM(w io.Writer, doc *sbom.Document, format string) error {
	switch format {
	case "cyclonedx-json":
		return cyclonedx.EncodeWith(w, doc, cyclonedx.Options{SpecVersion: "1.6", ToolVersion: version})
	case "cyclonedx-1.5-json":
		return cyclonedx.EncodeWith(w, doc, cyclonedx.Options{SpecVersion: "1.5", ToolVersion: version})
	case "spdx-json":
		return spdx.Encode(w, doc, spdx.Options{ToolVersion: version})
	case "json":
		return native.Encode(w, doc)
	case "table":
		return table.Encode(w, doc)
	}
	return fmt.Errorf("unknown format %q", format)
}
