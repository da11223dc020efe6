package policy

import (
	"strings"
	"time"

	"github.com/stella-scan/stella/internal/report"
)

// FromResult builds the policy input from a scan result (scan.Result is
// an alias of report.Result). It imports report, not scan, so that scan
// may import policy.
func FromResult(r *report.Result) Input {
	prov := Provenance{
		StellaVersion: r.Provenance.StellaVersion,
		DBAgeHours:    r.Provenance.DB.AgeHours,
		SBOMSource:    r.Provenance.SBOMSource,
	}
	if db := r.Provenance.DB; db.SchemaVersion != 0 || !db.BuiltAt.IsZero() {
		prov.DBVersion = db.BuiltAt.UTC().Format("20060102T150405Z")
		if !db.BuiltAt.IsZero() {
			prov.DBUpdated = db.BuiltAt.UTC().Format(time.RFC3339)
		}
	}
	for _, a := range r.Provenance.Analyzers {
		if prov.Analyzers == nil {
			prov.Analyzers = map[string]int{}
		}
		prov.Analyzers[a.Name] = a.Version
	}
	for _, p := range r.Provenance.Plugins {
		if prov.Plugins == nil {
			prov.Plugins = map[string]string{}
		}
		prov.Plugins[p.Name] = p.SHA256
	}
	fs := make([]FindingInput, 0, len(r.Findings))
	for i := range r.Findings {
		f := &r.Findings[i]
		fi := FindingInput{
			ID:        f.ID,
			Aliases:   f.Aliases,
			Installed: f.InstalledVersion,
			Fixed:     f.FixedVersions,
			State:     f.State,
			Severity:  f.Severity.Label,
			CVSS:      CVSS{Score: f.Severity.Score, Vector: f.Severity.Vector, Version: cvssVersion(f.Severity.Vector)},
			KEV:       f.KEV != nil,
		}
		fi.Package.Name, fi.Package.Version, fi.Package.Ecosystem, fi.Package.PURL = f.Package.Name, f.Package.Version, f.Package.Ecosystem, f.Package.PURL
		if f.EPSS != nil {
			fi.EPSS = f.EPSS.Score
		}
		if f.VEX != nil {
			fi.VEX = VEX{Status: f.VEX.Status, Justification: f.VEX.Justification}
		}
		fs = append(fs, fi)
	}
	in := InputFrom(r.SBOM, fs, prov)
	if in.Image.Name == "" {
		in.Image.Name = r.Target
	}
	if im := r.Image; im != nil {
		if im.Name != "" {
			in.Image.Name = im.Name
		}
		in.Image.Digest, in.Image.Platform = im.Digest, im.Platform
		in.Image.Layers = make([]Layer, 0, len(im.Layers))
		for _, l := range im.Layers {
			in.Image.Layers = append(in.Image.Layers, Layer{Index: l.Index, DiffID: l.DiffID, Digest: l.Digest, Size: l.Size, CreatedBy: l.CreatedBy})
		}
	}
	return in
}

// cvssVersion reads the version from a vector: CVSS:3.1/… is 3.1, a v2
// vector has no prefix.
func cvssVersion(vector string) string {
	if vector == "" {
		return ""
	}
	if rest, ok := strings.CutPrefix(vector, "CVSS:"); ok {
		v, _, _ := strings.Cut(rest, "/")
		return v
	}
	return "2.0"
}
