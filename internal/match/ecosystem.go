package match

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/stella-scan/stella/internal/feed"
	"github.com/stella-scan/stella/internal/sbom"
	"github.com/stella-scan/stella/internal/version"
	"github.com/stella-scan/stella/internal/vulndb"
)

// GoStdlibName is the package name Go analyzers give the standard library
// a binary was built with, and the Go vulnerability database's name for it.
const GoStdlibName = "stdlib"

// Ecosystem matches language packages against OSV ranges. Packages owned
// by an OS package are left to the Distro matcher; the Go standard library
// is left to GoStdlib.
type Ecosystem struct{}

// Name implements Matcher.
func (Ecosystem) Name() string { return KindEcosystem }

// Match implements Matcher.
func (Ecosystem) Match(ctx context.Context, pkgs []sbom.Package, db vulndb.Reader) ([]Finding, error) {
	var out []Finding
	for i := range pkgs {
		p := &pkgs[i]
		if !ecosystemCandidate(p) || isGoStdlib(p) {
			continue
		}
		fs, err := matchEcosystem(ctx, p, KindEcosystem, db)
		if err != nil {
			return nil, err
		}
		out = append(out, fs...)
	}
	return out, nil
}

// GoStdlib matches the Go standard library version recorded in a Go
// binary ("go1.21.0") against the Go vulnerability database's stdlib
// records (SemVer ranges such as introduced 1.21.0-0, fixed 1.21.1).
type GoStdlib struct{}

// Name implements Matcher.
func (GoStdlib) Name() string { return KindGoStdlib }

// Match implements Matcher.
func (GoStdlib) Match(ctx context.Context, pkgs []sbom.Package, db vulndb.Reader) ([]Finding, error) {
	var out []Finding
	for i := range pkgs {
		p := &pkgs[i]
		if !ecosystemCandidate(p) || !isGoStdlib(p) {
			continue
		}
		fs, err := matchEcosystem(ctx, p, KindGoStdlib, db)
		if err != nil {
			return nil, err
		}
		out = append(out, fs...)
	}
	return out, nil
}

func isGoStdlib(p *sbom.Package) bool { return p.Ecosystem == sbom.Golang && p.Name == GoStdlibName }

// ecosystemCandidate: a language package with a version, not inside an OS
// package (distros backport fixes without changing the upstream version,
// so upstream ranges would report fixed code as vulnerable).
func ecosystemCandidate(p *sbom.Package) bool {
	if p.Ecosystem == "" || sbom.IsOS(p.Ecosystem) || p.OwnedBy != "" {
		return false
	}
	return p.Version != "" && p.Version != "(devel)"
}

func matchEcosystem(ctx context.Context, p *sbom.Package, kind string, db vulndb.Reader) ([]Finding, error) {
	hits, err := cachedHits(db, "e\x00"+p.Ecosystem+"\x00"+p.Name+"\x00"+p.Version, func() ([]hit, error) {
		return ecosystemHits(ctx, p, db)
	})
	if err != nil {
		return nil, fmt.Errorf("package %s: %w", p.ID, err)
	}
	return build(p, kind, ConfidenceHigh, hits), nil
}

func ecosystemHits(ctx context.Context, p *sbom.Package, db vulndb.Reader) ([]hit, error) {
	recs, err := db.Affected(ctx, p.Ecosystem, p.Name)
	if err != nil || len(recs) == 0 {
		return nil, err
	}
	cmp, err := version.For(p.Ecosystem)
	if err != nil {
		slog.Debug("no version comparator; package not matched", "package", p.ID, "err", err)
		return nil, nil
	}
	var hits []hit
	for i := range recs {
		r := &recs[i]
		if r.Withdrawn || r.Distro != "" {
			continue
		}
		h, ok := judgeRanges(cmp, p.Version, r)
		if !ok {
			h, ok = judgeVersions(cmp, p.Version, r)
		}
		if !ok {
			continue
		}
		h.rec = r
		h.version = p.Version
		hits = append(hits, h)
	}
	return hits, nil
}

// judgeRanges evaluates a record's ECOSYSTEM and SEMVER ranges (GIT ranges
// name commits, not releases, and are skipped). SEMVER ranges use the
// package's own comparator where it orders SemVer correctly (Go, npm,
// Cargo), plain SemVer otherwise.
func judgeRanges(cmp version.Comparator, v string, r *vulndb.AffectedRecord) (hit, bool) {
	var (
		affected bool
		h        hit
	)
	for _, rg := range r.Ranges {
		c := cmp
		switch rg.Type {
		case "ECOSYSTEM":
		case "SEMVER":
			switch version.Ecosystem(r.Ecosystem) {
			case "golang", "npm", "cargo":
			default:
				c, _ = version.For("semver")
			}
		default:
			continue
		}
		evs := make([]version.Event, len(rg.Events))
		for i, e := range rg.Events {
			evs[i] = version.Event{Introduced: e.Introduced, Fixed: e.Fixed, LastAffected: e.LastAffected, Limit: e.Limit}
		}
		a, fixed, err := version.InRange(c, v, evs)
		if err != nil {
			slog.Debug("range not comparable", "record", r.RecordID, "package", r.Package, "version", v, "err", err)
			continue
		}
		if !a {
			continue
		}
		if !affected || (h.fixed == "" && fixed != "") {
			h = hit{fixed: fixed, compared: describeRange(rg)}
		}
		affected = true
	}
	if !affected {
		return hit{}, false
	}
	h.state = StateFixed
	if h.fixed == "" {
		h.state = StateOpen
	}
	return h, true
}

// judgeVersions checks the record's explicit list of affected versions.
func judgeVersions(cmp version.Comparator, v string, r *vulndb.AffectedRecord) (hit, bool) {
	if len(r.Versions) == 0 {
		return hit{}, false
	}
	found := slices.Contains(r.Versions, v)
	if !found {
		for _, lv := range r.Versions {
			if n, err := cmp.Compare(v, lv); err == nil && n == 0 {
				found = true
				break
			}
		}
	}
	if !found {
		return hit{}, false
	}
	return hit{state: StateOpen, compared: "listed in the record's affected versions"}, true
}

// describeRange writes a range as the record states it:
// "ECOSYSTEM introduced 0, fixed 4.17.21".
func describeRange(rg feed.Range) string {
	var b strings.Builder
	b.WriteString(rg.Type)
	for i, e := range rg.Events {
		if i == 0 {
			b.WriteByte(' ')
		} else {
			b.WriteString(", ")
		}
		switch {
		case e.Introduced != "":
			b.WriteString("introduced " + e.Introduced)
		case e.Fixed != "":
			b.WriteString("fixed " + e.Fixed)
		case e.LastAffected != "":
			b.WriteString("last_affected " + e.LastAffected)
		case e.Limit != "":
			b.WriteString("limit " + e.Limit)
		}
	}
	return b.String()
}
