package report

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	cdx "github.com/CycloneDX/cyclonedx-go"

	"github.com/stella-scan/stella/internal/match"
	"github.com/stella-scan/stella/internal/sbom"
	sbomcdx "github.com/stella-scan/stella/internal/sbom/cyclonedx"
)

// CycloneDX writes the SBOM as CycloneDX 1.6 JSON with a vulnerabilities
// section: one entry per vulnerability and analysis, affecting the
// components (by bom-ref) it was found in, with ratings (the chosen
// severity and every CVSS vector), CWEs, advisories, the fixed versions
// as a recommendation, and the distro's or a VEX statement's analysis.
func CycloneDX(w io.Writer, r *Result, o Options) error {
	doc := r.SBOM
	if doc == nil {
		doc = &sbom.Document{Target: r.Target}
	}
	bom, err := sbomcdx.BOM(doc, sbomcdx.Options{SpecVersion: sbomcdx.Spec16, ToolVersion: r.Provenance.StellaVersion, Timestamp: o.Created})
	if err != nil {
		return err
	}
	refs := componentRefs(bom)
	var vulns []cdx.Vulnerability
	index := map[string]int{}
	for i := range r.Findings {
		f := &r.Findings[i]
		ref := refs.of(f.Package)
		if ref == "" {
			continue
		}
		an := cdxAnalysis(f)
		key := f.ID
		if an != nil {
			key += "\x00" + string(an.State) + "\x00" + string(an.Justification) + "\x00" + an.Detail
		}
		j, ok := index[key]
		if !ok {
			j = len(vulns)
			index[key] = j
			vulns = append(vulns, cdxVuln(f, an, j))
		}
		v := &vulns[j]
		status := cdx.VulnerabilityStatusAffected
		if !f.Vulnerable() {
			status = cdx.VulnerabilityStatusNotAffected
		}
		affects := append(*v.Affects, cdx.Affects{Ref: ref, Range: &[]cdx.AffectedVersions{{Version: f.InstalledVersion, Status: status}}})
		v.Affects = &affects
		if len(f.FixedVersions) > 0 {
			rec := fmt.Sprintf("Upgrade %s to %s.", f.Package.Name, strings.Join(f.FixedVersions, " or "))
			if !strings.Contains(v.Recommendation, rec) {
				v.Recommendation = strings.TrimSpace(v.Recommendation + " " + rec)
			}
		}
	}
	if len(vulns) > 0 {
		bom.Vulnerabilities = &vulns
	}
	enc := cdx.NewBOMEncoder(w, cdx.BOMFileFormatJSON)
	enc.SetPretty(true)
	enc.SetEscapeHTML(false)
	return enc.EncodeVersion(bom, cdx.SpecVersion1_6)
}

// refIndex finds a package's bom-ref: the codec uses the package ID, made
// unique; the purl is the fallback.
type refIndex struct{ byRef, byPURL map[string]string }

func componentRefs(bom *cdx.BOM) refIndex {
	ix := refIndex{byRef: map[string]string{}, byPURL: map[string]string{}}
	if bom.Components == nil {
		return ix
	}
	for _, c := range *bom.Components {
		ix.byRef[c.BOMRef] = c.BOMRef
		if c.PackageURL != "" {
			if _, ok := ix.byPURL[c.PackageURL]; !ok {
				ix.byPURL[c.PackageURL] = c.BOMRef
			}
		}
	}
	return ix
}

func (ix refIndex) of(p match.PackageRef) string {
	if r, ok := ix.byRef[p.ID]; ok {
		return r
	}
	return ix.byPURL[p.PURL]
}

func cdxVuln(f *match.Finding, an *cdx.VulnerabilityAnalysis, n int) cdx.Vulnerability {
	v := cdx.Vulnerability{
		BOMRef:      f.ID + "#" + strconv.Itoa(n),
		ID:          f.ID,
		Source:      &cdx.Source{Name: sourceName(f), URL: advisoryURL(f.ID)},
		Description: f.Summary,
		Analysis:    an,
		Affects:     &[]cdx.Affects{},
	}
	var refs []cdx.VulnerabilityReference
	for _, a := range f.Aliases {
		refs = append(refs, cdx.VulnerabilityReference{ID: a, Source: &cdx.Source{URL: advisoryURL(a)}})
	}
	if len(refs) > 0 {
		v.References = &refs
	}
	ratings := []cdx.VulnerabilityRating{{
		Source:   &cdx.Source{Name: f.Severity.Source},
		Severity: cdx.Severity(strings.ToLower(label(f))),
		Vector:   f.Severity.Vector,
		Method:   method(f.Severity.Vector),
	}}
	if f.Severity.Score > 0 {
		s := f.Severity.Score
		ratings[0].Score = &s
	}
	for _, c := range f.CVSS {
		s := c.Score
		ratings = append(ratings, cdx.VulnerabilityRating{Source: &cdx.Source{Name: c.Source}, Score: &s, Vector: c.Vector, Method: method(c.Vector)})
	}
	v.Ratings = &ratings
	var cwes []int
	for _, c := range f.CWEs {
		if n, err := strconv.Atoi(strings.TrimPrefix(c, "CWE-")); err == nil {
			cwes = append(cwes, n)
		}
	}
	if len(cwes) > 0 {
		v.CWEs = &cwes
	}
	var advs []cdx.Advisory
	seen := map[string]bool{}
	for _, e := range f.Evidence {
		if e.DocURL == "" || seen[e.DocURL] {
			continue
		}
		seen[e.DocURL] = true
		advs = append(advs, cdx.Advisory{Title: e.RecordID, URL: e.DocURL})
	}
	if len(advs) > 0 {
		v.Advisories = &advs
	}
	var props []cdx.Property
	if f.KEV != nil {
		props = append(props, cdx.Property{Name: "stella:kev:dateAdded", Value: f.KEV.DateAdded})
	}
	if f.EPSS != nil {
		props = append(props, cdx.Property{Name: "stella:epss:score", Value: strconv.FormatFloat(f.EPSS.Score, 'f', -1, 64)})
	}
	props = append(props, cdx.Property{Name: "stella:confidence", Value: f.Confidence}, cdx.Property{Name: "stella:matcher", Value: f.Matcher})
	v.Properties = &props
	return v
}

func sourceName(f *match.Finding) string {
	if len(f.Evidence) > 0 {
		return f.Evidence[0].Source
	}
	return ""
}

func method(vector string) cdx.ScoringMethod {
	switch {
	case strings.HasPrefix(vector, "CVSS:4"):
		return cdx.ScoringMethodCVSSv4
	case strings.HasPrefix(vector, "CVSS:3.1"):
		return cdx.ScoringMethodCVSSv31
	case strings.HasPrefix(vector, "CVSS:3"):
		return cdx.ScoringMethodCVSSv3
	case vector != "":
		return cdx.ScoringMethodCVSSv2
	}
	return cdx.ScoringMethodOther
}

// cdxAnalysis states a VEX statement or the distro's not_affected as a
// CycloneDX analysis.
func cdxAnalysis(f *match.Finding) *cdx.VulnerabilityAnalysis {
	if f.VEX != nil {
		an := &cdx.VulnerabilityAnalysis{Detail: strings.TrimSpace(f.VEX.Impact + " " + f.VEX.Action)}
		switch f.VEX.Status {
		case "not_affected":
			an.State = cdx.IASNotAffected
		case "fixed":
			an.State = cdx.IASResolved
		case "under_investigation":
			an.State = cdx.IASInTriage
		case "affected":
			an.State = cdx.IASExploitable
		}
		an.Justification = cdxJustification(f.VEX.Justification)
		if an.Justification == "" && f.VEX.Justification != "" {
			an.Detail = strings.TrimSpace(f.VEX.Justification + ": " + an.Detail)
		}
		return an
	}
	if f.State == match.StateNotAffected {
		return &cdx.VulnerabilityAnalysis{State: cdx.IASNotAffected, Detail: "the distribution states that its package is not affected"}
	}
	return nil
}

// cdxJustification maps OpenVEX / CSAF justifications to CycloneDX's.
func cdxJustification(j string) cdx.ImpactAnalysisJustification {
	switch j {
	case "component_not_present", "vulnerable_code_not_present", "code_not_present":
		return cdx.IAJCodeNotPresent
	case "vulnerable_code_not_in_execute_path", "code_not_reachable":
		return cdx.IAJCodeNotReachable
	case "vulnerable_code_cannot_be_controlled_by_adversary", "requires_environment":
		return cdx.IAJRequiresEnvironment
	case "inline_mitigations_already_exist", "protected_by_mitigating_control":
		return cdx.IAJProtectedByMitigatingControl
	case "requires_configuration", "requires_dependency", "protected_by_compiler", "protected_at_runtime", "protected_at_perimeter":
		return cdx.ImpactAnalysisJustification(j)
	}
	return ""
}
