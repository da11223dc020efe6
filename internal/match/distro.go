package match

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/stella-scan/stella/internal/feed"
	"github.com/stella-scan/stella/internal/sbom"
	"github.com/stella-scan/stella/internal/version"
	"github.com/stella-scan/stella/internal/vulndb"
)

// debianCodenames maps Debian's VERSION_ID major to the codename the
// security tracker keys releases by, for images whose os-release lacks
// VERSION_CODENAME.
var debianCodenames = map[string]string{
	"3": "woody", "3.1": "sarge", "4": "etch", "5": "lenny", "6": "squeeze", "7": "wheezy",
	"8": "jessie", "9": "stretch", "10": "buster", "11": "bullseye", "12": "bookworm",
	"13": "trixie", "14": "forky",
}

// DistroRelease returns the (distro, release) pair the distro sources key
// advisories by, for an OS package of the given distro: Debian by codename
// (bullseye for VERSION_ID 11), Ubuntu by version (22.04), Alpine by
// major.minor (3.10 for 3.10.0), RPM distributions by major version (9 for
// 9.3). ok is false when d says too little.
func DistroRelease(d *sbom.Distro) (distro, release string, ok bool) {
	if d == nil || d.ID == "" {
		return "", "", false
	}
	id := strings.ToLower(d.ID)
	v := strings.TrimSpace(d.Version)
	switch id {
	case "debian":
		if d.Codename != "" {
			return id, strings.ToLower(d.Codename), true
		}
		major, _, _ := strings.Cut(v, ".")
		if c, ok := debianCodenames[major]; ok {
			return id, c, true
		}
		return "", "", false
	case "ubuntu":
		if v == "" {
			return "", "", false
		}
		return id, v, true
	case "alpine", "wolfi", "chainguard":
		if strings.Contains(v, "_alpha") || v == "edge" {
			return id, "edge", true
		}
		parts := strings.Split(v, ".")
		if len(parts) < 2 {
			if id != "alpine" && v == "" {
				return id, "", true // rolling distributions
			}
			return "", "", false
		}
		return id, parts[0] + "." + parts[1], true
	}
	// RPM distributions (rhel, centos, rocky, almalinux, ol, amzn, fedora,
	// sles, opensuse-leap…) key releases by major version.
	major, _, _ := strings.Cut(v, ".")
	if major == "" {
		return "", "", false
	}
	return id, major, true
}

// comparedVersion is the version distro advisories state fixed versions
// in: the source package's version for Debian and Ubuntu (a binary may
// carry its own epoch or version), the package's own for apk and rpm.
func comparedVersion(p *sbom.Package) string {
	if p.Ecosystem == sbom.Deb && p.SourceVersion != "" {
		return p.SourceVersion
	}
	return p.Version
}

// Distro matches OS packages against their distro's own advisories.
type Distro struct{}

// Name implements Matcher.
func (Distro) Name() string { return KindDistro }

// Match implements Matcher.
func (Distro) Match(ctx context.Context, pkgs []sbom.Package, db vulndb.Reader) ([]Finding, error) {
	var out []Finding
	for i := range pkgs {
		p := &pkgs[i]
		if !sbom.IsOS(p.Ecosystem) {
			continue
		}
		fs, err := matchDistro(ctx, p, db)
		if err != nil {
			return nil, err
		}
		out = append(out, fs...)
	}
	return out, nil
}

func matchDistro(ctx context.Context, p *sbom.Package, db vulndb.Reader) ([]Finding, error) {
	dist, rel, ok := DistroRelease(p.Distro)
	if !ok {
		return nil, nil
	}
	src := p.SourceName
	if src == "" {
		src = p.Name
	}
	v := comparedVersion(p)
	hits, err := cachedHits(db, "d\x00"+p.Ecosystem+"\x00"+dist+"\x00"+rel+"\x00"+src+"\x00"+v, func() ([]hit, error) {
		return distroHits(ctx, p.Ecosystem, dist, rel, src, v, db)
	})
	if err != nil {
		return nil, fmt.Errorf("package %s: %w", p.ID, err)
	}
	return build(p, KindDistro, ConfidenceHigh, hits), nil
}

func distroHits(ctx context.Context, eco, dist, rel, src, v string, db vulndb.Reader) ([]hit, error) {
	recs, err := db.Distro(ctx, dist, rel, src)
	if err != nil || len(recs) == 0 {
		return nil, err
	}
	cmp, err := version.For(eco)
	if err != nil {
		return nil, err
	}
	var hits []hit
	for i := range recs {
		r := &recs[i]
		if r.Withdrawn {
			continue
		}
		h, ok := judgeDistro(cmp, v, r)
		if !ok {
			continue
		}
		h.rec = r
		h.version = v
		hits = append(hits, h)
	}
	return hits, nil
}

// judgeDistro decides what one distro record says about version v.
func judgeDistro(cmp version.Comparator, v string, r *vulndb.AffectedRecord) (hit, bool) {
	where := r.Distro + " " + r.Release
	switch r.State {
	case feed.StateNotAffected:
		return hit{state: StateNotAffected, compared: "state not_affected (" + where + ")"}, true
	case feed.StateOpen, feed.StateWillNotFix, feed.StateNoDSA:
		return hit{state: r.State, compared: "state " + r.State + ", no fixed version (" + where + ")"}, true
	}
	// fixed (or no state): a fixed version, else the record's OSV ranges.
	if r.FixedVersion != "" {
		n, err := cmp.Compare(v, r.FixedVersion)
		if err != nil {
			slog.Debug("distro record not comparable", "record", r.RecordID, "installed", v, "fixed", r.FixedVersion, "err", err)
			return hit{}, false
		}
		if n >= 0 {
			return hit{}, false
		}
		return hit{state: StateFixed, fixed: r.FixedVersion, compared: "fixed in " + r.FixedVersion + " (" + where + ")"}, true
	}
	if h, ok := judgeRanges(cmp, v, r); ok {
		return h, true
	}
	return hit{}, false
}
