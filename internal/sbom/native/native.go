// Package native writes and reads Stella's own JSON form of an SBOM: the
// Document model as it is, under a schema version.
package native

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/stella-scan/stella/internal/sbom"
)

// Schema names the format and its version; a decoder accepts any
// "stella-sbom/1…" and refuses other major versions.
const Schema = "stella-sbom/1"

type file struct {
	Schema string `json:"schema"`
	*sbom.Document
}

// Encode writes doc as indented JSON, packages sorted (doc is not changed).
func Encode(w io.Writer, doc *sbom.Document) error {
	c := *doc
	c.Packages = append([]sbom.Package{}, doc.Packages...)
	c.Relationships = append([]sbom.Relationship(nil), doc.Relationships...)
	c.Sort()
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(file{Schema: Schema, Document: &c}); err != nil {
		return fmt.Errorf("stella json: encode %s: %w", doc.Target, err)
	}
	return nil
}

// Decode reads a document that Encode wrote. The caller bounds the input.
func Decode(r io.Reader) (*sbom.Document, error) {
	f := file{Document: &sbom.Document{}}
	dec := json.NewDecoder(r)
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("stella json: %w", err)
	}
	if f.Schema == "" {
		return nil, fmt.Errorf("stella json: no \"schema\" field: not a Stella SBOM")
	}
	if f.Schema != Schema && !strings.HasPrefix(f.Schema, Schema+".") {
		return nil, fmt.Errorf("stella json: schema %q is not supported (want %s)", f.Schema, Schema)
	}
	if f.Packages == nil {
		f.Packages = []sbom.Package{}
	}
	return f.Document, nil
}
