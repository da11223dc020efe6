package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"text/tabwriter"

	"github.com/stella-scan/stella/internal/sbom"
)

var sbomFormats = []string{"cyclonedx-json", "cyclonedx-1.5-json", "spdx-json", "json", "table"}

func validSBOMFormat(f string) bool { return slices.Contains(sbomFormats, f) }

// encodeSBOM writes doc in one of sbomFormats.
func encodeSBOM(w io.Writer, doc *sbom.Document, format string) error {
	switch format {
	case "json":
		e := json.NewEncoder(w)
		e.SetIndent("", "  ")
		return e.Encode(doc)
	case "table":
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ECOSYSTEM\tNAME\tVERSION\tLAYER\tPATH")
		for _, p := range doc.Packages {
			path := ""
			if len(p.Paths) > 0 {
				path = p.Paths[0]
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", p.Ecosystem, p.Name, p.Version, p.LayerIndex, path)
		}
		return tw.Flush()
	}
	return fmt.Errorf("format %s not available yet", format)
}
