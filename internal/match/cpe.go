package match

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/stella-scan/stella/internal/sbom"
	"github.com/stella-scan/stella/internal/version"
	"github.com/stella-scan/stella/internal/vulndb"
)

// CPE matches the CPEs a package carries against NVD configurations, but
// only for packages that no distro or ecosystem source covers: an OS
// package of a distro release the DB has no advisories for, a language
// package no ecosystem advisory names, or a package with no ecosystem at
// all (a binary identified by its CPE). CPE names are guesses about
// vendor and product, so these findings have low confidence.
type CPE struct{}

// Name implements Matcher.
func (CPE) Name() string { return KindCPE }

// Match implements Matcher.
func (CPE) Match(ctx context.Context, pkgs []sbom.Package, db vulndb.Reader) ([]Finding, error) {
	var out []Finding
	for i := range pkgs {
		p := &pkgs[i]
		if len(p.CPEs) == 0 || p.OwnedBy != "" || p.Version == "" {
			continue
		}
		covered, err := Covered(ctx, p, db)
		if err != nil {
			return nil, err
		}
		if covered {
			continue
		}
		var hits []hit
		for _, c := range p.CPEs {
			pc, ok := parseCPE(c)
			if !ok {
				continue
			}
			recs, err := db.CPE(ctx, pc.vendor, pc.product)
			if err != nil {
				return nil, fmt.Errorf("package %s: %w", p.ID, err)
			}
			for j := range recs {
				if h, ok := judgeCPE(p, pc, &recs[j]); ok {
					hits = append(hits, h)
				}
			}
		}
		out = append(out, build(p, KindCPE, ConfidenceLow, hits)...)
	}
	return out, nil
}

// Covered reports whether a distro or ecosystem source speaks for p: for
// an OS package, the DB has advisories for its distro release; for a
// language package, some ecosystem record names it.
func Covered(ctx context.Context, p *sbom.Package, db vulndb.Reader) (bool, error) {
	if sbom.IsOS(p.Ecosystem) {
		dist, rel, ok := DistroRelease(p.Distro)
		if !ok {
			return false, nil
		}
		rc, ok := db.(ReleaseCoverage)
		if !ok {
			return true, nil
		}
		return rc.HasRelease(ctx, dist, rel)
	}
	if p.Ecosystem == "" {
		return false, nil
	}
	recs, err := db.Affected(ctx, p.Ecosystem, p.Name)
	if err != nil {
		return false, fmt.Errorf("package %s: %w", p.ID, err)
	}
	for i := range recs {
		if recs[i].Distro == "" {
			return true, nil
		}
	}
	return false, nil
}

type cpeName struct {
	part, vendor, product, version, update, targetSW string
	raw                                              string
}

// parseCPE splits a CPE 2.3 formatted string (backslash escapes kept).
func parseCPE(s string) (cpeName, bool) {
	var fields []string
	var cur strings.Builder
	esc := false
	for _, c := range s {
		switch {
		case esc:
			cur.WriteRune(c)
			esc = false
		case c == '\\':
			cur.WriteRune(c)
			esc = true
		case c == ':':
			fields = append(fields, cur.String())
			cur.Reset()
		default:
			cur.WriteRune(c)
		}
	}
	fields = append(fields, cur.String())
	if len(fields) != 13 || fields[0] != "cpe" || fields[1] != "2.3" {
		return cpeName{}, false
	}
	return cpeName{part: fields[2], vendor: fields[3], product: fields[4], version: fields[5], update: fields[6], targetSW: fields[10], raw: s}, true
}

func anyValue(s string) bool { return s == "*" || s == "" }

func judgeCPE(p *sbom.Package, pc cpeName, r *vulndb.CPERecord) (hit, bool) {
	if !r.Vulnerable || r.Negate {
		return hit{}, false
	}
	crit, ok := parseCPE(r.Criteria)
	if !ok {
		return hit{}, false
	}
	if !anyValue(crit.part) && !anyValue(pc.part) && crit.part != pc.part {
		return hit{}, false
	}
	if !anyValue(crit.targetSW) && !anyValue(pc.targetSW) && crit.targetSW != pc.targetSW {
		return hit{}, false
	}
	v := pc.version
	if anyValue(v) || v == "-" {
		v = p.Version
	}
	var compared string
	switch {
	case anyValue(crit.version) || crit.version == "-":
		var conds []string
		if !inCPERange(p.Ecosystem, v, r, &conds) {
			return hit{}, false
		}
		if len(conds) == 0 {
			conds = append(conds, "any version")
		}
		compared = strings.Join(conds, ", ")
	default:
		if n, ok := cpeCompare(p.Ecosystem, v, unescapeCPE(crit.version)); !ok || n != 0 {
			return hit{}, false
		}
		if !anyValue(crit.update) && crit.update != "-" && !anyValue(pc.update) && crit.update != pc.update {
			return hit{}, false
		}
		compared = "exact version " + unescapeCPE(crit.version)
	}
	h := hit{
		state:    StateFixed,
		fixed:    r.VersionEndExcluding,
		compared: "NVD " + r.Criteria + ": " + compared,
		version:  v,
		cpe:      pc.raw,
		rec: &vulndb.AffectedRecord{
			Advisory: r.Advisory, RecordID: r.Advisory, Source: "nvd", Severity: r.Severity,
		},
	}
	if h.fixed == "" {
		h.state = StateOpen
	}
	if strings.EqualFold(r.ConfigOperator, "AND") {
		h.compared += " (configuration also names a platform, not checked)"
	}
	return h, true
}

func inCPERange(eco, v string, r *vulndb.CPERecord, conds *[]string) bool {
	check := func(bound, label string, ok func(n int) bool) bool {
		if bound == "" {
			return true
		}
		*conds = append(*conds, label+" "+bound)
		n, cmpOK := cpeCompare(eco, v, bound)
		return cmpOK && ok(n)
	}
	return check(r.VersionStartIncluding, ">=", func(n int) bool { return n >= 0 }) &&
		check(r.VersionStartExcluding, ">", func(n int) bool { return n > 0 }) &&
		check(r.VersionEndIncluding, "<=", func(n int) bool { return n <= 0 }) &&
		check(r.VersionEndExcluding, "<", func(n int) bool { return n < 0 })
}

// cpeCompare orders versions with the package's ecosystem comparator when
// both parse, else by dotted numeric segments (NVD writes upstream
// versions, which is what a CPE-identified binary reports).
func cpeCompare(eco, a, b string) (int, bool) {
	if c, err := version.For(eco); err == nil {
		if n, err := c.Compare(a, b); err == nil {
			return n, true
		}
	}
	return looseCompare(strings.TrimPrefix(a, "v"), strings.TrimPrefix(b, "v")), true
}

func looseCompare(a, b string) int {
	split := func(s string) []string {
		return strings.FieldsFunc(s, func(r rune) bool { return r == '.' || r == '-' || r == '_' || r == '+' })
	}
	as, bs := split(a), split(b)
	for i := 0; i < len(as) || i < len(bs); i++ {
		if i >= len(as) {
			return -1
		}
		if i >= len(bs) {
			return 1
		}
		x, errx := strconv.ParseUint(as[i], 10, 64)
		y, erry := strconv.ParseUint(bs[i], 10, 64)
		switch {
		case errx == nil && erry == nil:
			if x != y {
				if x < y {
					return -1
				}
				return 1
			}
		default:
			if c := strings.Compare(as[i], bs[i]); c != 0 {
				return c
			}
		}
	}
	return 0
}

func unescapeCPE(s string) string { return strings.ReplaceAll(s, `\`, "") }
