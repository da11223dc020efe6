package match

import (
	"sort"
	"strings"

	"github.com/stella-scan/stella/internal/sbom"
	"github.com/stella-scan/stella/internal/version"
	"github.com/stella-scan/stella/internal/vulndb"
)

// hit is one source record that says the package is affected (or, for a
// distro, states something about it).
type hit struct {
	rec      *vulndb.AffectedRecord
	state    string
	fixed    string
	compared string
	version  string
	cpe      string
}

// statePriority orders the states one vulnerability can be given by
// several records: a record with a fix available wins (the upgrade is the
// actionable answer), any vulnerable state beats not_affected.
var statePriority = map[string]int{StateFixed: 0, StateOpen: 1, StateWillNotFix: 2, StateNoDSA: 3, StateNotAffected: 4}

// build groups hits by advisory into one finding each.
func build(p *sbom.Package, kind, confidence string, hits []hit) []Finding {
	if len(hits) == 0 {
		return nil
	}
	var (
		order []string
		by    = map[string]*Finding{}
	)
	for _, h := range hits {
		f := by[h.rec.Advisory]
		if f == nil {
			f = &Finding{
				ID:               h.rec.Advisory,
				Package:          ref(p),
				InstalledVersion: p.Version,
				State:            h.state,
				Matcher:          kind,
				Confidence:       confidence,
			}
			by[h.rec.Advisory] = f
			order = append(order, h.rec.Advisory)
		}
		if statePriority[h.state] < statePriority[f.State] {
			f.State = h.state
		}
		if h.fixed != "" {
			f.FixedVersions = appendUnique(f.FixedVersions, h.fixed)
		}
		if h.rec.RecordID != f.ID && IsVulnID(h.rec.RecordID) {
			f.Aliases = appendUnique(f.Aliases, h.rec.RecordID)
		}
		f.Evidence = append(f.Evidence, evidence(p, kind, h))
		if f.KEV == nil && h.rec.KEV != nil {
			f.KEV = &KEV{DateAdded: h.rec.KEV.DateAdded, DueDate: h.rec.KEV.DueDate, Ransomware: h.rec.KEV.Ransomware}
		}
		if f.EPSS == nil && h.rec.EPSS != nil {
			f.EPSS = &EPSS{Score: h.rec.EPSS.Score, Percentile: h.rec.EPSS.Percentile, Date: h.rec.EPSS.Date}
		}
		if f.Severity.Label == "" && h.rec.Severity.Label != "" {
			s := h.rec.Severity
			f.Severity = Severity{Label: s.Label, Score: s.Score, Vector: s.Vector, Source: s.Source}
		}
	}
	out := make([]Finding, 0, len(order))
	for _, id := range order {
		f := by[id]
		if f.State == StateNotAffected || f.State == StateOpen {
			// a record that only says not_affected or open gives no fix
			// to upgrade to; a fixed version from another record would
			// have made the state "fixed".
			f.FixedVersions = nil
		}
		sortVersions(p.Ecosystem, f.FixedVersions)
		out = append(out, *f)
	}
	return out
}

func ref(p *sbom.Package) PackageRef {
	r := PackageRef{
		ID: p.ID, Name: p.Name, Version: p.Version, Ecosystem: p.Ecosystem, PURL: p.PURL,
		SourceName: p.SourceName, SourceVersion: p.SourceVersion, Layer: p.Layer, LayerIndex: p.LayerIndex,
	}
	if len(p.Paths) > 0 {
		r.Path = p.Paths[0]
	}
	if r.ID == "" {
		r.ID = p.PURL
	}
	return r
}

func evidence(p *sbom.Package, kind string, h hit) Evidence {
	e := Evidence{
		Matcher:    kind,
		Advisory:   h.rec.Advisory,
		RecordID:   h.rec.RecordID,
		Source:     h.rec.Source,
		DocURL:     h.rec.DocURL,
		DocDigest:  h.rec.DocDigest,
		Version:    h.version,
		Compared:   h.compared,
		State:      h.state,
		CPE:        h.cpe,
		Layer:      p.Layer,
		LayerIndex: p.LayerIndex,
	}
	if len(p.Paths) > 0 {
		e.Path = p.Paths[0]
	}
	if kind == KindDistro {
		e.Distro, e.Release, e.Package = h.rec.Distro, h.rec.Release, h.rec.Package
	} else if kind != KindCPE {
		e.Ecosystem, e.Package = h.rec.Ecosystem, h.rec.Package
	}
	return e
}

// vulnIDPrefixes name identifier schemes with one id per vulnerability.
// Notices that fix several vulnerabilities at once (DSA, DLA, USN, RHSA,
// ALSA, CERT advisories…) are not aliases of any one of them; they stay in
// the evidence as the record that said so.
var vulnIDPrefixes = []string{"CVE-", "GHSA-", "GO-", "PYSEC-", "RUSTSEC-", "OSV-", "GSD-", "UBUNTU-CVE-", "DEBIAN-CVE-", "MAL-", "BIT-"}

// IsVulnID reports whether id names one vulnerability (CVE-…, GHSA-…,
// GO-…, PYSEC-…), as opposed to a notice covering several.
func IsVulnID(id string) bool {
	for _, p := range vulnIDPrefixes {
		if strings.HasPrefix(id, p) {
			return true
		}
	}
	return false
}

func appendUnique(s []string, v string) []string {
	for _, x := range s {
		if x == v {
			return s
		}
	}
	return append(s, v)
}

// sortVersions orders fixed versions lowest first with the ecosystem's
// comparator (unparsable ones last, as written).
func sortVersions(eco string, vs []string) {
	if len(vs) < 2 {
		return
	}
	c, err := version.For(eco)
	if err != nil {
		sort.Strings(vs)
		return
	}
	sort.SliceStable(vs, func(i, j int) bool {
		n, err := c.Compare(vs[i], vs[j])
		if err != nil {
			return vs[i] < vs[j]
		}
		return n < 0
	})
}
