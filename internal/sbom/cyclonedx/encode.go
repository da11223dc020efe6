// Package cyclonedx writes a Stella SBOM as CycloneDX (1.6 JSON by default,
// 1.5 on request) and reads CycloneDX 1.2–1.7 JSON and XML back into one.
//
// Facts CycloneDX has no field for (layer, paths, source package, owning OS
// package…) travel as "stella:…" component properties; see package
// internal/sbom/internal/property for the names. An OS package that owns a
// language package's files lists it in its dependencies and the language
// package carries stella:ownedBy with the owner's bom-ref.
package cyclonedx

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"time"

	cdx "github.com/CycloneDX/cyclonedx-go"
	"github.com/google/uuid"

	"github.com/stella-scan/stella/internal/sbom"
	"github.com/stella-scan/stella/internal/sbom/internal/property"
	"github.com/stella-scan/stella/internal/sbom/license"
)

// Spec versions Encode writes.
const (
	Spec16 = "1.6"
	Spec15 = "1.5"
)

// Options tune the output.
type Options struct {
	// SpecVersion is "1.6" (the default when empty) or "1.5".
	SpecVersion string
	// ToolVersion is Stella's version, written in metadata.tools.
	ToolVersion string
	// Timestamp goes to metadata.timestamp. When zero, Document.Created is
	// used; when that is empty too the timestamp is left out, so the output
	// depends only on the document.
	Timestamp time.Time
}

// Encode writes doc as indented CycloneDX JSON of the given spec version
// ("1.6" when empty, or "1.5").
func Encode(w io.Writer, doc *sbom.Document, specVersion string) error {
	return EncodeWith(w, doc, Options{SpecVersion: specVersion})
}

// EncodeWith writes doc as indented CycloneDX JSON.
func EncodeWith(w io.Writer, doc *sbom.Document, o Options) error {
	sv, err := specVersion(o.SpecVersion)
	if err != nil {
		return err
	}
	bom, err := BOM(doc, o)
	if err != nil {
		return err
	}
	enc := cdx.NewBOMEncoder(w, cdx.BOMFileFormatJSON)
	enc.SetPretty(true)
	enc.SetEscapeHTML(false)
	if err := enc.EncodeVersion(bom, sv); err != nil {
		return fmt.Errorf("cyclonedx %s: encode %s: %w", o.SpecVersion, doc.Target, err)
	}
	return nil
}

func specVersion(s string) (cdx.SpecVersion, error) {
	switch s {
	case "", Spec16:
		return cdx.SpecVersion1_6, nil
	case Spec15:
		return cdx.SpecVersion1_5, nil
	}
	return 0, fmt.Errorf("cyclonedx: spec version %q is not supported: use 1.6 or 1.5", s)
}

// BOM converts doc to a cyclonedx-go BOM, for callers that add to it (the
// report package adds vulnerabilities) before encoding. doc is not changed.
func BOM(doc *sbom.Document, o Options) (*cdx.BOM, error) {
	sv, err := specVersion(o.SpecVersion)
	if err != nil {
		return nil, err
	}
	d := property.Sorted(doc)
	bom := cdx.NewBOM()
	bom.SpecVersion = sv
	bom.SerialNumber = serial(d)
	bom.Metadata = metadata(d, o)

	comps := make([]cdx.Component, 0, len(d.Packages)+1)
	reserved := []string{bom.Metadata.Component.BOMRef}
	if d.Distro != nil && d.Distro.ID != "" {
		c := distroComponent(d.Distro)
		reserved = append(reserved, c.BOMRef)
		comps = append(comps, c)
	}
	refs, byID := property.Refs(d.Packages, reserved...)
	owners := property.Owners(d, refs, byID)

	for i := range d.Packages {
		p := d.Packages[i]
		if o, ok := owners[refs[i]]; ok {
			p.OwnedBy = o
		} else {
			p.OwnedBy = ""
		}
		comps = append(comps, component(&p, refs[i]))
	}
	bom.Components = &comps

	// dependencies: depends-on edges, and each owner lists what it owns.
	deps := property.DependsOn(d, byID)
	for owned, owner := range owners {
		deps[owner] = append(deps[owner], owned)
	}
	keys := make([]string, 0, len(deps))
	for k := range deps {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var list []cdx.Dependency
	for _, k := range keys {
		on := uniqueSorted(deps[k])
		list = append(list, cdx.Dependency{Ref: k, Dependencies: &on})
	}
	if len(list) > 0 {
		bom.Dependencies = &list
	}
	return bom, nil
}

func uniqueSorted(s []string) []string {
	sort.Strings(s)
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

// serial derives the serial number from the document's content, so that
// the same document always gives the same BOM.
func serial(d *sbom.Document) string {
	b, _ := json.Marshal(d) // a Document always marshals
	h := sha256.Sum256(b)
	return uuid.NewSHA1(uuid.NameSpaceURL, h[:]).URN()
}

func metadata(d *sbom.Document, o Options) *cdx.Metadata {
	m := &cdx.Metadata{}
	switch {
	case !o.Timestamp.IsZero():
		m.Timestamp = o.Timestamp.UTC().Format(time.RFC3339)
	case d.Created != "":
		if t, err := time.Parse(time.RFC3339, d.Created); err == nil {
			m.Timestamp = t.UTC().Format(time.RFC3339)
		}
	}
	tool := cdx.Component{Type: cdx.ComponentTypeApplication, Name: "stella", Version: o.ToolVersion}
	m.Tools = &cdx.ToolsChoice{Components: &[]cdx.Component{tool}}

	root := cdx.Component{BOMRef: "root", Type: cdx.ComponentTypeApplication, Name: d.Target}
	var props []cdx.Property
	add := func(n, v string) {
		if v != "" {
			props = append(props, cdx.Property{Name: n, Value: v})
		}
	}
	add(property.DocTarget, d.Target)
	add(property.DocSource, d.Source)
	if img := d.Image; img != nil {
		root.Type = cdx.ComponentTypeContainer
		if img.Name != "" {
			root.Name = img.Name
		}
		root.Version = img.Digest
		if img.Digest != "" {
			root.BOMRef = "image:" + img.Digest
		}
		add(property.ImageName, img.Name)
		add(property.ImageDigest, img.Digest)
		add(property.ImageConfigID, img.ConfigID)
		add(property.ImagePlatform, img.Platform)
		for _, t := range img.Tags {
			add(property.ImageTag, t)
		}
		for _, l := range img.Layers {
			add(property.ImageLayer, property.Layer(l))
		}
	}
	if root.Name == "" {
		root.Name = "unknown"
	}
	if len(props) > 0 {
		root.Properties = &props
	}
	m.Component = &root
	return m
}

func distroComponent(di *sbom.Distro) cdx.Component {
	c := cdx.Component{
		BOMRef:  "os:" + di.ID + "@" + di.Version,
		Type:    cdx.ComponentTypeOS,
		Name:    di.ID,
		Version: di.Version,
	}
	var props []cdx.Property
	if di.Codename != "" {
		props = append(props, cdx.Property{Name: property.DistroCodename, Value: di.Codename})
	}
	if di.Name != "" {
		c.Description = di.Name
		props = append(props, cdx.Property{Name: property.DistroName, Value: di.Name})
	}
	if len(props) > 0 {
		c.Properties = &props
	}
	return c
}

func component(p *sbom.Package, ref string) cdx.Component {
	c := cdx.Component{
		BOMRef:  ref,
		Type:    cdx.ComponentTypeLibrary,
		Name:    p.Name,
		Version: p.Version,
	}
	if p.Name == "" {
		c.Name = "unknown"
	}
	if p.Metadata[sbom.MetaRoot] == "true" {
		c.Type = cdx.ComponentTypeApplication
	}
	c.PackageURL = p.PURL
	if c.PackageURL == "" && p.Ecosystem != "" && p.Name != "" {
		c.PackageURL = sbom.PURL(p)
	}
	if len(p.CPEs) > 0 {
		c.CPE = p.CPEs[0]
	}
	switch p.Scope {
	case "dev":
		c.Scope = cdx.ScopeExcluded
	case "optional":
		c.Scope = cdx.ScopeOptional
	}
	if l := licenses(p.Licenses); l != nil {
		c.Licenses = l
	}
	var props []cdx.Property
	for _, pr := range property.FromPackage(p, property.Options{SkipCPEs: 1, OwnedBy: true}) {
		props = append(props, cdx.Property{Name: pr.Name, Value: pr.Value})
	}
	if len(props) > 0 {
		c.Properties = &props
	}
	return c
}

// licenses maps licence strings to CycloneDX: a listed SPDX id as
// license.id, a lone compound expression as expression, anything else as
// license.name (the schema forbids mixing expressions with licences).
func licenses(ls []string) *cdx.Licenses {
	if len(ls) == 0 {
		return nil
	}
	if len(ls) == 1 && license.Compound(ls[0]) && license.Expression(ls[0]) {
		return &cdx.Licenses{{Expression: ls[0]}}
	}
	out := make(cdx.Licenses, 0, len(ls))
	for _, l := range ls {
		if id, ok := license.ID(l); ok {
			out = append(out, cdx.LicenseChoice{License: &cdx.License{ID: id}})
		} else {
			out = append(out, cdx.LicenseChoice{License: &cdx.License{Name: l}})
		}
	}
	return &out
}
