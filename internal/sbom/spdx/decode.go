package spdx

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	spdxjson "github.com/spdx/tools-golang/json"
	"github.com/spdx/tools-golang/spdx"
	"github.com/spdx/tools-golang/spdx/v2/common"
	"github.com/spdx/tools-golang/tagvalue"

	"github.com/stella-scan/stella/internal/sbom"
	"github.com/stella-scan/stella/internal/sbom/internal/property"
)

// Decode reads an SPDX 2.2 or 2.3 document, JSON or tag-value (told apart
// by the first non-space byte), into a Document. The caller bounds the
// input size.
func Decode(r io.Reader) (*sbom.Document, error) {
	br := bufio.NewReader(r)
	for {
		b, err := br.Peek(1)
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil, errors.New("spdx: empty document")
			}
			return nil, fmt.Errorf("spdx: %w", err)
		}
		if b[0] == ' ' || b[0] == '\t' || b[0] == '\r' || b[0] == '\n' {
			_, _ = br.Discard(1)
			continue
		}
		if bom, _ := br.Peek(3); bytes.Equal(bom, []byte{0xEF, 0xBB, 0xBF}) {
			_, _ = br.Discard(3)
			continue
		}
		return DecodeFormat(br, b[0] != '{')
	}
}

// DecodeFormat reads SPDX tag-value when tagValue is set, JSON otherwise.
func DecodeFormat(r io.Reader, tagValue bool) (doc *sbom.Document, err error) {
	kind := "JSON"
	if tagValue {
		kind = "tag-value"
	}
	// The readers are third-party code fed untrusted input: a panic in one
	// becomes an error about the document.
	defer func() {
		if v := recover(); v != nil {
			doc, err = nil, fmt.Errorf("spdx %s: malformed document (reader failed: %v)", kind, v)
		}
	}()
	var d *spdx.Document
	if tagValue {
		d, err = tagvalue.Read(r)
	} else {
		d, err = spdxjson.Read(r)
	}
	if err != nil {
		return nil, fmt.Errorf("spdx %s: %w", kind, err)
	}
	if d == nil || d.SPDXVersion == "" {
		return nil, fmt.Errorf("spdx %s: no SPDXVersion: not an SPDX document", kind)
	}
	return FromDocument(d)
}

// FromDocument converts a tools-golang SPDX document into a Document.
func FromDocument(d *spdx.Document) (*sbom.Document, error) {
	doc := &sbom.Document{Target: d.DocumentName, Source: "sbom-file", Packages: []sbom.Package{}}
	if ci := d.CreationInfo; ci != nil {
		doc.Created = ci.Created
		var tools []string
		for _, c := range ci.Creators {
			if c.CreatorType == "Tool" {
				tools = append(tools, c.Creator)
			}
		}
		doc.Tool = strings.Join(tools, ", ")
	}

	// Annotations sit on the package in JSON and at document level
	// (with the SPDXID they concern) in tag-value.
	notes := map[common.ElementID][]string{}
	for _, a := range d.Annotations {
		if a != nil && a.AnnotationSPDXIdentifier.DocumentRefID == "" {
			notes[a.AnnotationSPDXIdentifier.ElementRefID] = append(notes[a.AnnotationSPDXIdentifier.ElementRefID], a.AnnotationComment)
		}
	}
	for _, p := range d.Packages {
		if p == nil {
			continue
		}
		for _, a := range p.Annotations {
			notes[p.PackageSPDXIdentifier] = append(notes[p.PackageSPDXIdentifier], a.AnnotationComment)
		}
	}

	described := map[common.ElementID]bool{}
	contains := map[common.ElementID]bool{} // holds another element
	for _, r := range d.Relationships {
		if r == nil {
			continue
		}
		switch r.Relationship {
		case common.TypeRelationshipContains:
			contains[r.RefA.ElementRefID] = true
		case common.TypeRelationshipContainedBy:
			contains[r.RefB.ElementRefID] = true
		case common.TypeRelationshipDescribe:
			if r.RefA.ElementRefID == d.SPDXIdentifier || r.RefA.ElementRefID == "DOCUMENT" {
				described[r.RefB.ElementRefID] = true
			}
		case common.TypeRelationshipDescribeBy:
			described[r.RefA.ElementRefID] = true
		}
	}

	licNames := map[string]string{}
	for _, o := range d.OtherLicenses {
		if o != nil && o.LicenseName != "" && o.LicenseName != noAssert {
			licNames[o.LicenseIdentifier] = o.LicenseName
		}
	}

	// The distro first: OS packages without one in their purl take it.
	for _, p := range d.Packages {
		if p != nil && purpose(p) == "OPERATING_SYSTEM" && doc.Distro == nil {
			doc.Distro = &sbom.Distro{ID: p.PackageName, Version: p.PackageVersion, Name: p.PackageDescription}
			for _, n := range notes[p.PackageSPDXIdentifier] {
				if k, v, ok := strings.Cut(n, "="); ok && k == property.DistroCodename {
					doc.Distro.Codename = v
				}
			}
		}
	}

	ids := map[string]bool{}
	skipped := map[common.ElementID]bool{}
	for _, p := range d.Packages {
		if p == nil {
			continue
		}
		id := p.PackageSPDXIdentifier
		pp := purpose(p)
		switch {
		case pp == "OPERATING_SYSTEM":
			skipped[id] = true
			continue
		case described[id] && (pp == "CONTAINER" || pp == "FILE" || pp == "SOURCE" || isStellaRoot(notes[id]) ||
			(pp == "" && contains[id] && purlOf(p) == "")):
			// What the document describes, rather than a package in it:
			// the image, the scanned directory or file. SPDX 2.2 has no
			// purpose; there a described package without a purl that
			// contains others is taken as that root.
			readRoot(doc, p, notes[id])
			skipped[id] = true
			continue
		}
		pkg := fromPackage(p, notes[id], licNames, doc.Distro)
		ids[pkg.ID] = true
		doc.Packages = append(doc.Packages, pkg)
	}
	readRelationships(doc, d.Relationships, ids)
	doc.Sort()
	return doc, nil
}

func purpose(p *spdx.Package) string {
	return strings.ReplaceAll(strings.ToUpper(strings.TrimSpace(p.PrimaryPackagePurpose)), "-", "_")
}

func purlOf(p *spdx.Package) string {
	for _, ref := range p.PackageExternalReferences {
		if ref != nil && ref.RefType == common.TypePackageManagerPURL {
			return ref.Locator
		}
	}
	return ""
}

func isStellaRoot(notes []string) bool {
	for _, n := range notes {
		if strings.HasPrefix(n, property.DocTarget+"=") {
			return true
		}
	}
	return false
}

func readRoot(doc *sbom.Document, p *spdx.Package, notes []string) {
	doc.Target = p.PackageName
	var img *sbom.Image
	if purpose(p) == "CONTAINER" {
		img = &sbom.Image{Name: p.PackageName, Digest: p.PackageVersion}
	}
	for _, n := range notes {
		k, v, ok := strings.Cut(n, "=")
		if !ok {
			continue
		}
		if k == property.DocTarget {
			doc.Target = v
			continue
		}
		if img != nil {
			imageProperty(img, k, v)
		}
	}
	doc.Image = img
}

func imageProperty(img *sbom.Image, k, v string) {
	switch k {
	case property.ImageName:
		img.Name = v
	case property.ImageDigest:
		img.Digest = v
	case property.ImageConfigID:
		img.ConfigID = v
	case property.ImagePlatform:
		img.Platform = v
	case property.ImageTag:
		img.Tags = append(img.Tags, v)
	case property.ImageLayer:
		if l, ok := property.ParseLayer(v); ok {
			img.Layers = append(img.Layers, l)
		}
	}
}

func fromPackage(sp *spdx.Package, notes []string, licNames map[string]string, docDistro *sbom.Distro) sbom.Package {
	p := sbom.Package{
		ID:      strings.TrimPrefix(string(sp.PackageSPDXIdentifier), "SPDXRef-"),
		Name:    sp.PackageName,
		Version: sp.PackageVersion,
	}
	for _, ref := range sp.PackageExternalReferences {
		if ref == nil {
			continue
		}
		cat := strings.ReplaceAll(strings.ToUpper(ref.Category), "_", "-")
		switch {
		case cat == common.CategoryPackageManager && ref.RefType == common.TypePackageManagerPURL && p.PURL == "":
			p.PURL = ref.Locator
		case cat == common.CategorySecurity && (ref.RefType == common.TypeSecurityCPE23Type || ref.RefType == common.TypeSecurityCPE22Type):
			p.CPEs = append(p.CPEs, ref.Locator)
		}
	}
	if p.PURL != "" {
		if fp, err := sbom.FromPURL(p.PURL); err == nil {
			if !sbom.SameName(fp.Ecosystem, p.Name, fp.Name) {
				p.Name = fp.Name
			}
			if p.Version == "" {
				p.Version = fp.Version
			}
			p.Ecosystem, p.Arch, p.SourceName, p.Distro = fp.Ecosystem, fp.Arch, fp.SourceName, fp.Distro
		}
	}
	p.Licenses = splitLicenses(sp.PackageLicenseDeclared, licNames)
	for _, n := range notes {
		if k, v, ok := strings.Cut(n, "="); ok {
			property.Apply(&p, k, v)
		}
	}
	if sbom.IsOS(p.Ecosystem) && docDistro != nil &&
		(p.Distro == nil || (p.Distro.ID == docDistro.ID && (p.Distro.Version == "" || p.Distro.Version == docDistro.Version))) {
		p.Distro = docDistro
	}
	return p
}

// splitLicenses splits a declared expression at its top-level ANDs, so that
// the licences Encode joined come back one by one, and maps LicenseRef-
// identifiers back to the licence text they stand for.
func splitLicenses(expr string, names map[string]string) []string {
	expr = strings.TrimSpace(expr)
	if expr == "" || expr == noAssert || expr == "NONE" {
		return nil
	}
	var out []string
	depth, start := 0, 0
	emit := func(s string) {
		s = strings.TrimSpace(s)
		if strings.HasPrefix(s, "(") && strings.HasSuffix(s, ")") && balanced(s[1:len(s)-1]) {
			s = strings.TrimSpace(s[1 : len(s)-1])
		}
		if n, ok := names[s]; ok {
			s = n
		}
		if s != "" {
			out = append(out, s)
		}
	}
	for i := 0; i < len(expr); i++ {
		switch expr[i] {
		case '(':
			depth++
		case ')':
			depth--
		case ' ':
			if depth == 0 && strings.HasPrefix(expr[i:], " AND ") {
				emit(expr[start:i])
				start = i + len(" AND ")
				i = start - 1
			}
		}
	}
	emit(expr[start:])
	return out
}

func balanced(s string) bool {
	depth := 0
	for _, c := range s {
		switch c {
		case '(':
			depth++
		case ')':
			depth--
			if depth < 0 {
				return false
			}
		}
	}
	return depth == 0
}

// readRelationships keeps package-to-package relationships: CONTAINS with
// the comment "owns" (or any CONTAINS between two packages) is ownership,
// DEPENDS_ON and DEPENDENCY_OF are dependencies.
func readRelationships(doc *sbom.Document, rels []*spdx.Relationship, ids map[string]bool) {
	id := func(e common.DocElementID) (string, bool) {
		if e.DocumentRefID != "" || e.SpecialID != "" {
			return "", false
		}
		s := string(e.ElementRefID)
		return s, ids[s]
	}
	byID := map[string]int{}
	for i := range doc.Packages {
		byID[doc.Packages[i].ID] = i
	}
	seen := map[sbom.Relationship]bool{}
	add := func(r sbom.Relationship) {
		if !seen[r] {
			seen[r] = true
			doc.Relationships = append(doc.Relationships, r)
		}
	}
	for _, r := range rels {
		if r == nil {
			continue
		}
		a, okA := id(r.RefA)
		b, okB := id(r.RefB)
		if !okA || !okB || a == b {
			continue
		}
		switch r.Relationship {
		case common.TypeRelationshipContains, common.TypeRelationshipContainedBy:
			if r.Relationship == common.TypeRelationshipContainedBy {
				a, b = b, a
			}
			owner := &doc.Packages[byID[a]]
			if !sbom.IsOS(owner.Ecosystem) && r.RelationshipComment != ownsComment {
				continue
			}
			if doc.Packages[byID[b]].OwnedBy == "" {
				doc.Packages[byID[b]].OwnedBy = a
			}
			add(sbom.Relationship{From: a, To: b, Type: sbom.RelOwns})
		case common.TypeRelationshipDependsOn:
			add(sbom.Relationship{From: a, To: b, Type: sbom.RelDependsOn})
		case common.TypeRelationshipDependencyOf:
			add(sbom.Relationship{From: b, To: a, Type: sbom.RelDependsOn})
		}
	}
}
