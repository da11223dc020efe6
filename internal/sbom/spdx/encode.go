// Package spdx writes a Stella SBOM as SPDX 2.3 JSON and reads SPDX 2.2
// and 2.3 documents, JSON or tag-value, back into one.
//
// The document describes one root package (the image, with purpose
// CONTAINER, or the scanned target) that CONTAINS every package and the
// distro (purpose OPERATING_SYSTEM). Ownership is an OS package CONTAINS
// the language package whose files it holds, with the comment "owns".
// Facts SPDX has no field for (layer, paths, source package…) travel as
// package annotations whose comment is "stella:name=value".
package spdx

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	spdxjson "github.com/spdx/tools-golang/json"
	"github.com/spdx/tools-golang/spdx"
	"github.com/spdx/tools-golang/spdx/v2/common"

	"github.com/stella-scan/stella/internal/sbom"
	"github.com/stella-scan/stella/internal/sbom/internal/property"
	"github.com/stella-scan/stella/internal/sbom/license"
)

// NamespaceBase prefixes every document namespace Stella writes.
const NamespaceBase = "https://github.com/stella-scan/stella/spdx/"

// Relationship comment that marks ownership.
const ownsComment = "owns"

const (
	rootID   = "SPDXRef-Root"
	distroID = "SPDXRef-OperatingSystem"
	noAssert = "NOASSERTION"
)

// Options tune the output.
type Options struct {
	// Created is the document's creation time. When zero, Document.Created
	// is used, and when that is empty too, the current time.
	Created time.Time
	// ToolVersion is Stella's version, written as the creator tool.
	ToolVersion string
}

// Encode writes doc as indented SPDX 2.3 JSON.
func Encode(w io.Writer, doc *sbom.Document, o Options) error {
	d, err := Document(doc, o)
	if err != nil {
		return err
	}
	if err := spdxjson.Write(d, w, spdxjson.Indent("  "), spdxjson.EscapeHTML(false)); err != nil {
		return fmt.Errorf("spdx: encode %s: %w", doc.Target, err)
	}
	return nil
}

// Document converts doc to a tools-golang SPDX 2.3 document, for callers
// that add to it before writing. doc is not changed.
func Document(doc *sbom.Document, o Options) (*spdx.Document, error) {
	d := property.Sorted(doc)
	created, err := createdTime(d, o)
	if err != nil {
		return nil, err
	}
	tool := "stella"
	if o.ToolVersion != "" {
		tool += "-" + o.ToolVersion
	}
	out := &spdx.Document{
		SPDXVersion:       spdx.Version,
		DataLicense:       spdx.DataLicense,
		SPDXIdentifier:    "DOCUMENT",
		DocumentName:      docName(d),
		DocumentNamespace: namespace(d),
		CreationInfo: &spdx.CreationInfo{
			Creators: []common.Creator{{CreatorType: "Organization", Creator: "Stella"}, {CreatorType: "Tool", Creator: tool}},
			Created:  created,
		},
	}
	refs, byID := property.Refs(d.Packages)
	owners := property.Owners(d, refs, byID)
	ids := spdxIDs(refs)
	annotate := func(comment string) spdx.Annotation {
		return spdx.Annotation{
			Annotator:         common.Annotator{AnnotatorType: "Tool", Annotator: tool},
			AnnotationDate:    created,
			AnnotationType:    "OTHER",
			AnnotationComment: comment,
		}
	}

	out.Packages = append(out.Packages, rootPackage(d, annotate))
	rel := func(a, typ, b, comment string) {
		out.Relationships = append(out.Relationships, &spdx.Relationship{
			RefA: common.MakeDocElementID("", a), RefB: common.MakeDocElementID("", b),
			Relationship: typ, RelationshipComment: comment,
		})
	}
	rel("DOCUMENT", common.TypeRelationshipDescribe, "Root", "")
	if di := d.Distro; di != nil && di.ID != "" {
		p := &spdx.Package{
			PackageName:             di.ID,
			PackageSPDXIdentifier:   common.ElementID(strings.TrimPrefix(distroID, "SPDXRef-")),
			PackageVersion:          di.Version,
			PackageDownloadLocation: noAssert,
			PrimaryPackagePurpose:   "OPERATING_SYSTEM",
			PackageDescription:      di.Name,
		}
		if di.Codename != "" {
			p.Annotations = append(p.Annotations, annotate(property.DistroCodename+"="+di.Codename))
		}
		out.Packages = append(out.Packages, p)
		rel("Root", common.TypeRelationshipContains, strings.TrimPrefix(distroID, "SPDXRef-"), "")
	}

	lic := licenseRefs{byText: map[string]string{}, taken: map[string]bool{}}
	for i := range d.Packages {
		p := &d.Packages[i]
		sp := &spdx.Package{
			PackageName:             p.Name,
			PackageSPDXIdentifier:   common.ElementID(ids[i]),
			PackageVersion:          p.Version,
			PackageDownloadLocation: noAssert,
			FilesAnalyzed:           false,
			PackageLicenseConcluded: noAssert,
			PackageLicenseDeclared:  lic.declared(p.Licenses),
			PackageCopyrightText:    noAssert,
			PrimaryPackagePurpose:   "LIBRARY",
		}
		if sp.PackageName == "" {
			sp.PackageName = "unknown"
		}
		if p.Metadata[sbom.MetaRoot] == "true" {
			sp.PrimaryPackagePurpose = "APPLICATION"
		}
		if len(p.Paths) > 0 {
			sp.PackageSourceInfo = "found in " + strings.Join(p.Paths, ", ")
		}
		purl := p.PURL
		if purl == "" && p.Ecosystem != "" && p.Name != "" {
			purl = sbom.PURL(p)
		}
		if purl != "" {
			sp.PackageExternalReferences = append(sp.PackageExternalReferences, &spdx.PackageExternalReference{
				Category: common.CategoryPackageManager, RefType: common.TypePackageManagerPURL, Locator: purl})
		}
		for _, c := range p.CPEs {
			t := common.TypeSecurityCPE23Type
			if strings.HasPrefix(c, "cpe:/") {
				t = common.TypeSecurityCPE22Type
			}
			sp.PackageExternalReferences = append(sp.PackageExternalReferences, &spdx.PackageExternalReference{
				Category: common.CategorySecurity, RefType: t, Locator: c})
		}
		for _, pr := range property.FromPackage(p, property.Options{SkipCPEs: -1}) {
			sp.Annotations = append(sp.Annotations, annotate(pr.Name+"="+pr.Value))
		}
		out.Packages = append(out.Packages, sp)
		rel("Root", common.TypeRelationshipContains, ids[i], "")
	}
	out.OtherLicenses = lic.others()

	idOfRef := map[string]string{}
	for i, r := range refs {
		idOfRef[r] = ids[i]
	}
	var owned []string
	for o := range owners {
		owned = append(owned, o)
	}
	sort.Strings(owned)
	for _, to := range owned {
		rel(idOfRef[owners[to]], common.TypeRelationshipContains, idOfRef[to], ownsComment)
	}
	deps := property.DependsOn(d, byID)
	var froms []string
	for f := range deps {
		froms = append(froms, f)
	}
	sort.Strings(froms)
	for _, f := range froms {
		for _, to := range deps[f] {
			if owners[to] == f {
				continue
			}
			rel(idOfRef[f], common.TypeRelationshipDependsOn, idOfRef[to], "")
		}
	}
	return out, nil
}

func createdTime(d *sbom.Document, o Options) (string, error) {
	switch {
	case !o.Created.IsZero():
		return o.Created.UTC().Format(time.RFC3339), nil
	case d.Created != "":
		t, err := time.Parse(time.RFC3339, d.Created)
		if err != nil {
			return "", fmt.Errorf("spdx: document created time %q is not RFC 3339: %w", d.Created, err)
		}
		return t.UTC().Format(time.RFC3339), nil
	}
	return time.Now().UTC().Format(time.RFC3339), nil
}

func docName(d *sbom.Document) string {
	if d.Image != nil && d.Image.Name != "" {
		return d.Image.Name
	}
	if d.Target != "" {
		return d.Target
	}
	return "unknown"
}

var unsafeID = regexp.MustCompile(`[^A-Za-z0-9.-]+`)

// namespace is derived from the target and a hash of the content, so the
// same document always gets the same namespace and different ones differ.
func namespace(d *sbom.Document) string {
	b, _ := json.Marshal(d) // a Document always marshals
	h := sha256.Sum256(b)
	name := strings.Trim(unsafeID.ReplaceAllString(docName(d), "-"), "-")
	if len(name) > 100 {
		name = name[:100]
	}
	if name == "" {
		name = "unknown"
	}
	return NamespaceBase + name + "-" + hex.EncodeToString(h[:8])
}

// spdxIDs turns package refs into unique SPDX ids (without the SPDXRef-
// prefix) made of letters, digits, "." and "-".
func spdxIDs(refs []string) []string {
	out := make([]string, len(refs))
	taken := map[string]bool{"Root": true, "OperatingSystem": true, "DOCUMENT": true}
	for i, r := range refs {
		base := "Package-" + strings.Trim(unsafeID.ReplaceAllString(r, "-"), "-")
		id := base
		for n := 2; taken[id]; n++ {
			id = base + "-" + strconv.Itoa(n)
		}
		taken[id] = true
		out[i] = id
	}
	return out
}

func rootPackage(d *sbom.Document, annotate func(string) spdx.Annotation) *spdx.Package {
	p := &spdx.Package{
		PackageName:             docName(d),
		PackageSPDXIdentifier:   "Root",
		PackageDownloadLocation: noAssert,
		FilesAnalyzed:           false,
	}
	add := func(n, v string) {
		if v != "" {
			p.Annotations = append(p.Annotations, annotate(n+"="+v))
		}
	}
	add(property.DocTarget, d.Target)
	add(property.DocSource, d.Source)
	if img := d.Image; img != nil {
		p.PrimaryPackagePurpose = "CONTAINER"
		p.PackageVersion = img.Digest
		if alg, hexd, ok := strings.Cut(img.Digest, ":"); ok && alg == "sha256" && len(hexd) == 64 {
			p.PackageChecksums = []common.Checksum{{Algorithm: common.SHA256, Value: hexd}}
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
	return p
}

// licenseRefs writes licences as an SPDX expression, turning free text
// into LicenseRef- identifiers declared in hasExtractedLicensingInfos.
type licenseRefs struct {
	byText map[string]string
	taken  map[string]bool
}

func (l *licenseRefs) declared(ls []string) string {
	if len(ls) == 0 {
		return noAssert
	}
	parts := make([]string, 0, len(ls))
	for _, s := range ls {
		s = strings.TrimSpace(s)
		switch {
		case s == "":
			continue
		case license.Expression(s):
			if license.Compound(s) && len(ls) > 1 {
				s = "(" + s + ")"
			}
			parts = append(parts, s)
		default:
			parts = append(parts, l.ref(s))
		}
	}
	if len(parts) == 0 {
		return noAssert
	}
	return strings.Join(parts, " AND ")
}

func (l *licenseRefs) ref(text string) string {
	if r, ok := l.byText[text]; ok {
		return r
	}
	base := license.Ref(text)
	r := base
	for n := 2; l.taken[r]; n++ {
		r = base + "-" + strconv.Itoa(n)
	}
	l.taken[r] = true
	l.byText[text] = r
	return r
}

func (l *licenseRefs) others() []*spdx.OtherLicense {
	var out []*spdx.OtherLicense
	for text, r := range l.byText {
		out = append(out, &spdx.OtherLicense{LicenseIdentifier: r, LicenseName: text, ExtractedText: text})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].LicenseIdentifier < out[j].LicenseIdentifier })
	return out
}
