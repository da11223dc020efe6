package report

import (
	"fmt"
	"io"
	"strings"

	spdxjson "github.com/spdx/tools-golang/json"
	"github.com/spdx/tools-golang/spdx/v2/common"
	spdx23 "github.com/spdx/tools-golang/spdx/v2/v2_3"

	"github.com/stella-scan/stella/internal/sbom"
	sbomspdx "github.com/stella-scan/stella/internal/sbom/spdx"
)

// SPDX writes the SBOM as SPDX 2.3 JSON. SPDX 2.3 has no vulnerability
// section; each finding becomes a SECURITY "advisory" external reference
// of its package (the advisory's URL, with a comment giving the state,
// severity and fixed versions), and each fixed version a "fix" reference.
func SPDX(w io.Writer, r *Result, o Options) error {
	doc := r.SBOM
	if doc == nil {
		doc = &sbom.Document{Target: r.Target}
	}
	d, err := sbomspdx.Document(doc, sbomspdx.Options{Created: o.Created, ToolVersion: r.Provenance.StellaVersion})
	if err != nil {
		return err
	}
	pkgs := spdxPackages(d)
	for i := range r.Findings {
		f := &r.Findings[i]
		p := pkgs.find(f.Package.PURL, f.Package.Path)
		if p == nil {
			continue
		}
		comment := fmt.Sprintf("%s %s: %s", f.ID, label(f), f.State)
		if len(f.Aliases) > 0 {
			comment += "; aliases " + strings.Join(f.Aliases, ", ")
		}
		if len(f.FixedVersions) > 0 {
			comment += "; fixed in " + strings.Join(f.FixedVersions, ", ")
		}
		if f.VEX != nil {
			comment += "; vex " + f.VEX.Status
			if f.VEX.Justification != "" {
				comment += " (" + f.VEX.Justification + ")"
			}
		}
		p.PackageExternalReferences = append(p.PackageExternalReferences, &spdx23.PackageExternalReference{
			Category: common.CategorySecurity, RefType: common.TypeSecurityAdvisory, Locator: advisoryURL(f.ID), ExternalRefComment: comment})
	}
	return spdxjson.Write(d, w, spdxjson.Indent("  "), spdxjson.EscapeHTML(false))
}

type spdxIndex map[string][]*spdx23.Package

func spdxPackages(d *spdx23.Document) spdxIndex {
	ix := spdxIndex{}
	for _, p := range d.Packages {
		for _, ref := range p.PackageExternalReferences {
			if ref.RefType == common.TypePackageManagerPURL {
				ix[ref.Locator] = append(ix[ref.Locator], p)
			}
		}
	}
	return ix
}

// find picks the package with that purl, preferring the one found at path
// (the SPDX codec records paths in PackageSourceInfo).
func (ix spdxIndex) find(purl, path string) *spdx23.Package {
	ps := ix[purl]
	if len(ps) == 0 {
		return nil
	}
	for _, p := range ps {
		if path != "" && strings.Contains(p.PackageSourceInfo, path) {
			return p
		}
	}
	return ps[0]
}
