package vex

import (
	"net/url"
	"strings"

	packageurl "github.com/package-url/packageurl-go"

	"github.com/stella-scan/stella/internal/match"
)

// Target describes what was scanned, for statements about an image.
type Target struct {
	// ImageDigest is the manifest digest (sha256:…) of the scanned image,
	// empty when the target was not an image.
	ImageDigest string
}

// Apply sets Finding.VEX on every finding a statement of docs applies to
// and returns how many it set. Later statements win over earlier ones
// (within a document, and across documents in the order given), as a
// later statement is the supplier's newer word.
func Apply(docs []*Document, fs []match.Finding, t Target) int {
	n := 0
	for i := range fs {
		f := &fs[i]
		for _, d := range docs {
			for si := range d.Statements {
				s := &d.Statements[si]
				if !namesVuln(s, f) || !namesProduct(s, f, t) {
					continue
				}
				if f.VEX == nil {
					n++
				}
				f.VEX = &match.VEX{
					Status: s.Status, Justification: s.Justification, Impact: s.Impact, Action: s.Action,
					Document: d.Path, Format: d.Format, Statement: s.Vulnerability,
				}
			}
		}
	}
	return n
}

func namesVuln(s *Statement, f *match.Finding) bool {
	for _, id := range append([]string{s.Vulnerability}, s.Aliases...) {
		id = vulnID(id)
		if id != "" && f.Has(id) {
			return true
		}
	}
	return false
}

// vulnID turns the URLs some documents use as ids
// (https://nvd.nist.gov/vuln/detail/CVE-…, https://www.cve.org/CVERecord?id=CVE-…)
// into the id.
func vulnID(s string) string {
	s = strings.TrimSpace(s)
	if !strings.Contains(s, "://") {
		return s
	}
	u, err := url.Parse(s)
	if err != nil {
		return ""
	}
	if id := u.Query().Get("id"); id != "" {
		return id
	}
	p := strings.TrimSuffix(u.Path, "/")
	return p[strings.LastIndexByte(p, '/')+1:]
}

func namesProduct(s *Statement, f *match.Finding, t Target) bool {
	for _, p := range s.Products {
		if p.Image != "" && !sameImage(p.Image, t.ImageDigest) {
			continue
		}
		if p.PURL == "" || samePackage(p.PURL, f) {
			return true
		}
	}
	return false
}

// sameImage: a pkg:oci purl names the scanned image when its version is
// the image's manifest digest. Without a digest to compare, it does not.
func sameImage(purl, digest string) bool {
	if digest == "" {
		return false
	}
	u, err := packageurl.FromString(fixPURL(purl))
	if err != nil {
		return false
	}
	v, _ := url.PathUnescape(u.Version)
	return strings.EqualFold(v, digest)
}

// samePackage: type, namespace and name equal (case-insensitive; PyPI
// names normalised); the version, when the statement gives one, equal to
// the package's version or, for a source package statement (Debian and
// Ubuntu VEX name source packages, arch=source), its source version.
func samePackage(purl string, f *match.Finding) bool {
	sp, err := packageurl.FromString(fixPURL(purl))
	if err != nil {
		return false
	}
	pkg := f.Package
	if pkg.PURL == "" {
		return false
	}
	pp, err := packageurl.FromString(pkg.PURL)
	if err != nil {
		return false
	}
	if !strings.EqualFold(sp.Type, pp.Type) {
		return false
	}
	if sp.Namespace != "" && !strings.EqualFold(normName(sp.Type, sp.Namespace), normName(pp.Type, pp.Namespace)) {
		return false
	}
	name, ver := pp.Name, pkg.Version
	if sp.Qualifiers.Map()["arch"] == "source" && pkg.SourceName != "" {
		name = pkg.SourceName
		if pkg.SourceVersion != "" {
			ver = pkg.SourceVersion
		}
	}
	if !strings.EqualFold(normName(sp.Type, sp.Name), normName(pp.Type, name)) {
		return false
	}
	if sp.Version == "" {
		return true
	}
	sv, _ := url.PathUnescape(sp.Version)
	return sv == ver || sv == pp.Version || strings.TrimPrefix(sv, "v") == strings.TrimPrefix(ver, "v")
}

func normName(typ, s string) string {
	s = strings.ToLower(s)
	if typ == "pypi" {
		s = strings.NewReplacer("_", "-", ".", "-").Replace(s)
	}
	return s
}

// fixPURL cuts what some CSAF producers append to a component purl
// ("pkg:maven/a/b@1.0@pkg:oci/…": the component of an image, spelled as
// one string).
func fixPURL(s string) string {
	if i := strings.Index(s[min(len(s), 4):], "@pkg:"); i >= 0 {
		return s[:i+min(len(s), 4)]
	}
	return s
}
