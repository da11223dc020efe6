package vulndb

import (
	"github.com/stella-scan/stella/internal/feed"
	"github.com/stella-scan/stella/internal/feed/cvss"
)

// Severity is a chosen severity and who gave it.
type Severity struct {
	Label  string  // LOW, MEDIUM, HIGH, CRITICAL ("" when no source scored it)
	Score  float64 // CVSS base score, 0 when unknown
	Vector string  // CVSS vector when the choice came from one
	Type   string  // CVSS_V2, CVSS_V3, CVSS_V4, or "" for a label
	Source string  // "<connector>:<scorer>", e.g. "osv:ghsa", "nvd:nvd@nist.gov", "debian:debian"
}

// Record kinds, in the order of the severity precedence.
//
// Precedence (DESIGN.md section 3): a finding on an OS package takes the
// distro's severity, since the distro judged its own build (backports,
// compile options); otherwise the ecosystem advisory (GHSA, Go, PyPA,
// RustSec: reviewed per package); otherwise NVD; otherwise any other source
// (CERTs, CSAF vendors). The advisory itself, with no package in view,
// orders ecosystem > NVD > distro > other. Within one record: the source's
// own label (GHSA's "severity", a distro's urgency mapped to LOW..CRITICAL)
// first, then CVSS v3.x, v4.0, v2 (for NVD the Primary nvd@nist.gov score
// before Secondary ones).
const (
	KindDistro    = "distro"
	KindEcosystem = "ecosystem"
	KindNVD       = "nvd"
	KindOther     = "other"
)

// advisoryOrder is the precedence without a package in view.
var advisoryOrder = []string{KindEcosystem, KindNVD, KindDistro, KindOther}

// contextOrder is the precedence for a record of the given kind: the
// record's own kind first, then the advisory order.
func contextOrder(kind string) []string {
	out := []string{kind}
	for _, k := range advisoryOrder {
		if k != kind {
			out = append(out, k)
		}
	}
	return out
}

// recordKind classifies a record for the precedence.
func recordKind(r *feed.Record) string {
	if r.Source == "nvd" {
		return KindNVD
	}
	distro, eco := false, false
	for _, a := range r.Affected {
		if a.Distro != "" {
			distro = true
		} else if a.Ecosystem != "" {
			eco = true
		}
	}
	switch {
	case distro:
		return KindDistro
	case eco:
		return KindEcosystem
	}
	return KindOther
}

var standardLabel = map[string]bool{"LOW": true, "MEDIUM": true, "HIGH": true, "CRITICAL": true}

// bestOfRecord picks one record's severity by the in-record order above.
func bestOfRecord(source, kind string, sevs []feed.Severity) (Severity, bool) {
	best, bestRank := Severity{}, 1<<30
	for _, s := range sevs {
		label := feed.NormalizeLabel(s.Label)
		score := s.Score
		if score == 0 && s.Vector != "" {
			score, _ = cvss.BaseScore(s.Vector)
		}
		if label == "" && score > 0 {
			label = cvss.Label(score, s.Type == "CVSS_V2")
		}
		if !standardLabel[label] {
			continue
		}
		rank := 0
		switch s.Type {
		case "":
			rank = 0
		case "CVSS_V3":
			rank = 1
		case "CVSS_V4":
			rank = 2
		case "CVSS_V2":
			rank = 3
		default:
			rank = 4
		}
		if kind == KindNVD {
			if s.Type == "" {
				rank = 5
			}
			if s.Source != "nvd@nist.gov" {
				rank += 10
			}
		}
		if rank < bestRank {
			who := source
			if s.Source != "" && s.Source != source {
				who = source + ":" + s.Source
			}
			best, bestRank = Severity{Label: label, Score: score, Vector: s.Vector, Type: s.Type, Source: who}, rank
		}
	}
	// A label-only choice borrows the score of the same record's best vector.
	if bestRank < 1<<30 && best.Score == 0 {
		for _, s := range sevs {
			if s.Vector != "" {
				if sc, ok := cvss.BaseScore(s.Vector); ok || s.Score > 0 {
					if s.Score > 0 {
						sc = s.Score
					}
					best.Score, best.Vector = sc, s.Vector
					break
				}
			}
		}
	}
	return best, bestRank < 1<<30
}

// choose walks the kinds in order and returns the first record severity;
// own (may be nil) is tried first.
func choose(order []string, own *Severity, byKind map[string][]Severity) Severity {
	if own != nil && own.Label != "" {
		return *own
	}
	for _, k := range order {
		for _, s := range byKind[k] {
			if s.Label != "" {
				return s
			}
		}
	}
	return Severity{}
}
