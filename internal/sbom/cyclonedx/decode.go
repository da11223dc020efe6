package cyclonedx

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	cdx "github.com/CycloneDX/cyclonedx-go"

	"github.com/stella-scan/stella/internal/sbom"
	"github.com/stella-scan/stella/internal/sbom/internal/property"
)

// Decode reads a CycloneDX BOM, JSON or XML (told apart by the first
// non-space byte), into a Document. The caller bounds the input size.
func Decode(r io.Reader) (*sbom.Document, error) {
	br := bufio.NewReader(r)
	first, err := firstByte(br)
	if err != nil {
		return nil, fmt.Errorf("cyclonedx: %w", err)
	}
	format := cdx.BOMFileFormatJSON
	if first == '<' {
		format = cdx.BOMFileFormatXML
	}
	return DecodeFormat(br, format == cdx.BOMFileFormatXML)
}

// DecodeFormat reads CycloneDX XML when isXML is set, JSON otherwise.
func DecodeFormat(r io.Reader, isXML bool) (doc *sbom.Document, err error) {
	kind := "JSON"
	format := cdx.BOMFileFormatJSON
	if isXML {
		kind, format = "XML", cdx.BOMFileFormatXML
	}
	// The decoder is third-party code fed untrusted input: a panic in it
	// becomes an error about the document.
	defer func() {
		if v := recover(); v != nil {
			doc, err = nil, fmt.Errorf("cyclonedx %s: malformed document (decoder failed: %v)", kind, v)
		}
	}()
	var bom cdx.BOM
	if err := cdx.NewBOMDecoder(r, format).Decode(&bom); err != nil {
		return nil, fmt.Errorf("cyclonedx %s: %w", kind, err)
	}
	if isXML {
		if bom.SpecVersion == 0 {
			return nil, fmt.Errorf("cyclonedx XML: namespace %q is not a CycloneDX BOM namespace", bom.XMLNS)
		}
	} else if bom.BOMFormat != cdx.BOMFormat {
		return nil, fmt.Errorf("cyclonedx JSON: bomFormat is %q, want %q", bom.BOMFormat, cdx.BOMFormat)
	}
	return FromBOM(&bom)
}

func firstByte(br *bufio.Reader) (byte, error) {
	for {
		b, err := br.ReadByte()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return 0, errors.New("empty document")
			}
			return 0, err
		}
		switch b {
		case ' ', '\t', '\r', '\n':
			continue
		case 0xEF: // UTF-8 byte order mark
			if rest, _ := br.Peek(2); bytes.Equal(rest, []byte{0xBB, 0xBF}) {
				_, _ = br.Discard(2)
				continue
			}
		}
		return b, br.UnreadByte()
	}
}

// FromBOM converts a decoded BOM into a Document.
func FromBOM(bom *cdx.BOM) (*sbom.Document, error) {
	doc := &sbom.Document{Source: "sbom-file", Packages: []sbom.Package{}}
	if m := bom.Metadata; m != nil {
		doc.Created = m.Timestamp
		doc.Tool = toolName(m.Tools)
		if m.Component != nil {
			readRoot(doc, m.Component)
		}
	}
	var comps []cdx.Component
	if bom.Components != nil {
		flatten(*bom.Components, &comps)
	}
	// The distro first: OS packages without one in their purl take it.
	for i := range comps {
		if comps[i].Type == cdx.ComponentTypeOS && doc.Distro == nil {
			doc.Distro = distro(&comps[i])
		}
	}
	ids := map[string]bool{}
	for i := range comps {
		c := &comps[i]
		if !isPackage(c) {
			continue
		}
		p, err := pkg(c, doc.Distro)
		if err != nil {
			return nil, err
		}
		base := p.ID
		if base == "" {
			base = "component-" + strconv.Itoa(i+1)
		}
		p.ID = base
		for n := 2; ids[p.ID]; n++ {
			p.ID = base + "#" + strconv.Itoa(n)
		}
		ids[p.ID] = true
		doc.Packages = append(doc.Packages, p)
	}
	readDependencies(doc, bom.Dependencies, ids)
	doc.Sort()
	return doc, nil
}

func toolName(t *cdx.ToolsChoice) string {
	if t == nil {
		return ""
	}
	var names []string
	if t.Components != nil {
		for _, c := range *t.Components {
			names = append(names, strings.TrimSpace(c.Name+" "+c.Version))
		}
	}
	if t.Tools != nil {
		for _, c := range *t.Tools {
			names = append(names, strings.TrimSpace(c.Name+" "+c.Version))
		}
	}
	return strings.Join(names, ", ")
}

func readRoot(doc *sbom.Document, c *cdx.Component) {
	doc.Target = c.Name
	var img sbom.Image
	isImage := c.Type == cdx.ComponentTypeContainer
	if isImage {
		img.Name = c.Name
		img.Digest = c.Version
	}
	if c.Properties != nil {
		for _, p := range *c.Properties {
			switch p.Name {
			case property.DocTarget:
				doc.Target = p.Value
			case property.ImageName:
				img.Name = p.Value
			case property.ImageDigest:
				img.Digest = p.Value
			case property.ImageConfigID:
				img.ConfigID = p.Value
			case property.ImagePlatform:
				img.Platform = p.Value
			case property.ImageTag:
				img.Tags = append(img.Tags, p.Value)
			case property.ImageLayer:
				if l, ok := property.ParseLayer(p.Value); ok {
					img.Layers = append(img.Layers, l)
				}
			}
		}
	}
	if isImage {
		doc.Image = &img
	}
}

// flatten lists components depth-first, nested ones after their parent.
func flatten(in []cdx.Component, out *[]cdx.Component) {
	for _, c := range in {
		*out = append(*out, c)
		if c.Components != nil {
			flatten(*c.Components, out)
		}
	}
}

// isPackage keeps software packages and drops what describes the image
// itself, files, data and hardware.
func isPackage(c *cdx.Component) bool {
	switch c.Type {
	case cdx.ComponentTypeLibrary, cdx.ComponentTypeApplication, cdx.ComponentTypeFramework, "":
		return true
	case cdx.ComponentTypeOS, cdx.ComponentTypeContainer, cdx.ComponentTypeFile:
		return false
	}
	return c.PackageURL != ""
}

func distro(c *cdx.Component) *sbom.Distro {
	d := &sbom.Distro{ID: c.Name, Version: c.Version}
	if c.Properties != nil {
		for _, p := range *c.Properties {
			switch p.Name {
			case property.DistroCodename:
				d.Codename = p.Value
			case property.DistroName:
				d.Name = p.Value
			}
		}
	}
	if d.Name == "" {
		d.Name = c.Description
	}
	return d
}

func pkg(c *cdx.Component, docDistro *sbom.Distro) (sbom.Package, error) {
	p := sbom.Package{Name: c.Name, Version: c.Version}
	if c.Group != "" {
		sep := "/"
		if strings.HasPrefix(c.PackageURL, "pkg:maven/") {
			sep = ":"
		}
		p.Name = c.Group + sep + c.Name
	}
	if c.PackageURL != "" {
		// A purl that does not parse is kept as written; the package keeps
		// its name and version and has no ecosystem.
		p.PURL = c.PackageURL
		if fp, err := sbom.FromPURL(c.PackageURL); err == nil {
			// The purl names the package completely; the name as written
			// keeps its case when it is the same package.
			switch {
			case sbom.SameName(fp.Ecosystem, c.Name, fp.Name):
				p.Name = c.Name
			case sbom.SameName(fp.Ecosystem, p.Name, fp.Name):
			default:
				p.Name = fp.Name
			}
			if p.Version == "" {
				p.Version = fp.Version
			}
			p.Ecosystem, p.Arch, p.SourceName, p.Distro = fp.Ecosystem, fp.Arch, fp.SourceName, fp.Distro
		}
	}
	p.ID = c.BOMRef
	if c.CPE != "" {
		p.CPEs = []string{c.CPE}
	}
	if c.Licenses != nil {
		for _, l := range *c.Licenses {
			switch {
			case l.Expression != "":
				p.Licenses = append(p.Licenses, l.Expression)
			case l.License != nil && l.License.ID != "":
				p.Licenses = append(p.Licenses, l.License.ID)
			case l.License != nil && l.License.Name != "":
				p.Licenses = append(p.Licenses, l.License.Name)
			}
		}
	}
	switch c.Scope {
	case cdx.ScopeExcluded:
		p.Scope = "dev"
	case cdx.ScopeOptional:
		p.Scope = "optional"
	}
	if c.Properties != nil {
		for _, pr := range *c.Properties {
			property.Apply(&p, pr.Name, pr.Value)
		}
	}
	if sbom.IsOS(p.Ecosystem) && docDistro != nil &&
		(p.Distro == nil || (p.Distro.ID == docDistro.ID && (p.Distro.Version == "" || p.Distro.Version == docDistro.Version))) {
		p.Distro = docDistro
	}
	return p, nil
}

// readDependencies turns dependencies into relationships: an edge to a
// package that names the source of the edge in stella:ownedBy is an "owns"
// relation, every other edge "depends-on".
func readDependencies(doc *sbom.Document, deps *[]cdx.Dependency, ids map[string]bool) {
	owner := map[string]string{}
	for i := range doc.Packages {
		if o := doc.Packages[i].OwnedBy; o != "" {
			if !ids[o] {
				doc.Packages[i].OwnedBy = ""
				continue
			}
			owner[doc.Packages[i].ID] = o
			doc.Relationships = append(doc.Relationships,
				sbom.Relationship{From: o, To: doc.Packages[i].ID, Type: sbom.RelOwns})
		}
	}
	if deps == nil {
		return
	}
	seen := map[[2]string]bool{}
	for _, d := range *deps {
		if !ids[d.Ref] || d.Dependencies == nil {
			continue
		}
		for _, to := range *d.Dependencies {
			if !ids[to] || owner[to] == d.Ref || seen[[2]string{d.Ref, to}] {
				continue
			}
			seen[[2]string{d.Ref, to}] = true
			doc.Relationships = append(doc.Relationships,
				sbom.Relationship{From: d.Ref, To: to, Type: sbom.RelDependsOn})
		}
	}
}
