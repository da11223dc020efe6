// Package table writes an SBOM as a table for people: one package a line,
// sorted by ecosystem, name and version.
package table

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/stella-scan/stella/internal/sbom"
)

// Encode writes the table. doc is not changed.
func Encode(w io.Writer, doc *sbom.Document) error {
	c := *doc
	c.Packages = append([]sbom.Package(nil), doc.Packages...)
	c.Sort()
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ECOSYSTEM\tNAME\tVERSION\tLAYER\tPATH")
	for i := range c.Packages {
		p := &c.Packages[i]
		layer := "-"
		if p.LayerIndex > 0 {
			layer = strconv.Itoa(p.LayerIndex)
		}
		path := "-"
		if len(p.Paths) > 0 {
			path = p.Paths[0]
			if len(p.Paths) > 1 {
				path += fmt.Sprintf(" (+%d)", len(p.Paths)-1)
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", cell(p.Ecosystem), cell(p.Name), cell(p.Version), layer, cell(path))
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("table: write %s: %w", doc.Target, err)
	}
	return nil
}

// cell keeps one value on one line and one column: names from untrusted
// SBOMs may hold tabs, newlines or terminal escapes.
func cell(s string) string {
	if s == "" {
		return "-"
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || (r >= 0x7f && r <= 0x9f) {
			return ' '
		}
		return r
	}, s)
}
