// Package match turns packages and the vulnerability DB into findings.
//
// One Matcher per advisory kind:
//
//   - Distro: OS packages (deb, apk, rpm) against their own distro's
//     advisories, looked up by source package and release (Debian by
//     codename, Ubuntu by VERSION_ID, Alpine by major.minor, RPM distros by
//     major version). Distros backport fixes, so the distro's fixed version
//     is the only truth for its packages.
//   - Ecosystem: language packages against OSV ranges (ECOSYSTEM and SEMVER
//     events, explicit version lists). GIT ranges say nothing about a
//     released package and are ignored. A language package owned by an OS
//     package (Package.OwnedBy) is skipped: its OS package's distro
//     advisories cover it, and upstream ranges would be false positives.
//   - GoStdlib: the Go standard library a binary was built with ("stdlib"
//     at "go1.21.0") against the Go vulnerability database's stdlib records.
//   - CPE: NVD CPE configurations, only for packages that no distro or
//     ecosystem source covers, with lower confidence.
//
// Every Finding carries its Evidence: the source record, what was compared
// and where the package was found.
package match

import (
	"github.com/stella-scan/stella/internal/feed"
)

// Matcher kinds, as written in Finding.Matcher and Evidence.Matcher.
const (
	KindDistro    = "distro"
	KindEcosystem = "ecosystem"
	KindGoStdlib  = "go-stdlib"
	KindCPE       = "cpe"
)

// Finding states. A finding in StateFixed is vulnerable with a fix
// available (upgrade to a FixedVersions entry); StateOpen is vulnerable
// with no fix yet; StateWillNotFix and StateNoDSA are vulnerable and the
// distro decided not to fix (or not through a security advisory);
// StateNotAffected is the distro saying its package is not affected, kept
// so that the report can show the decision.
const (
	StateFixed       = feed.StateFixed
	StateOpen        = feed.StateOpen
	StateWillNotFix  = feed.StateWillNotFix
	StateNoDSA       = feed.StateNoDSA
	StateNotAffected = feed.StateNotAffected
)

// Confidence of a finding: high for advisories keyed by the package itself,
// low for NVD CPE matches.
const (
	ConfidenceHigh = "high"
	ConfidenceLow  = "low"
)

// Severity labels, highest first. Unknown is used when no source scored
// the vulnerability.
var SeverityOrder = []string{"CRITICAL", "HIGH", "MEDIUM", "LOW", "UNKNOWN"}

// SeverityRank returns 0 for CRITICAL … 4 for UNKNOWN (and anything else).
func SeverityRank(label string) int {
	for i, s := range SeverityOrder {
		if s == label {
			return i
		}
	}
	return len(SeverityOrder) - 1
}

// Finding is one vulnerability of one package.
type Finding struct {
	// ID is the advisory id: the CVE when one is known, else the source's
	// id (GHSA-…, GO-…). Aliases lists every other id of the vulnerability.
	ID      string   `json:"id"`
	Aliases []string `json:"aliases,omitempty"`
	Summary string   `json:"summary,omitempty"`

	Package          PackageRef `json:"package"`
	InstalledVersion string     `json:"installedVersion"`
	FixedVersions    []string   `json:"fixedVersions,omitempty"`
	State            string     `json:"state"`
	Matcher          string     `json:"matcher"`
	Confidence       string     `json:"confidence"`

	Severity Severity `json:"severity"`
	CVSS     []CVSS   `json:"cvss,omitempty"`
	CWEs     []string `json:"cwes,omitempty"`
	KEV      *KEV     `json:"kev,omitempty"`
	EPSS     *EPSS    `json:"epss,omitempty"`

	// VEX is set when a VEX document made a statement about this finding.
	VEX *VEX `json:"vex,omitempty"`

	Evidence []Evidence `json:"evidence"`
}

// PackageRef names the package a finding is about and where it was found.
type PackageRef struct {
	ID            string `json:"id"`
	Name          string `json:"name"`
	Version       string `json:"version"`
	Ecosystem     string `json:"ecosystem"`
	PURL          string `json:"purl,omitempty"`
	SourceName    string `json:"sourceName,omitempty"`
	SourceVersion string `json:"sourceVersion,omitempty"`
	Layer         string `json:"layer,omitempty"`
	LayerIndex    int    `json:"layerIndex,omitempty"`
	Path          string `json:"path,omitempty"`
}

// Severity is the chosen severity and who gave it. Precedence (see
// vulndb/severity.go): for an OS package the distro's own rating, then the
// ecosystem advisory (GHSA, Go, PyPA), then NVD, then other sources; for a
// language package the ecosystem advisory, then NVD. Within a source its
// own label first, then CVSS v3.x, v4.0, v2.
type Severity struct {
	Label  string  `json:"label"` // CRITICAL, HIGH, MEDIUM, LOW or UNKNOWN
	Score  float64 `json:"score,omitempty"`
	Vector string  `json:"vector,omitempty"`
	Source string  `json:"source,omitempty"` // "<connector>:<scorer>", e.g. osv:ghsa, nvd:nvd@nist.gov
}

// CVSS is one score a source gave.
type CVSS struct {
	Source string  `json:"source"` // connector:scorer
	Type   string  `json:"type"`   // CVSS_V2, CVSS_V3, CVSS_V4
	Vector string  `json:"vector"`
	Score  float64 `json:"score,omitempty"`
}

// KEV is the CISA Known Exploited Vulnerabilities entry.
type KEV struct {
	DateAdded  string `json:"dateAdded"`
	DueDate    string `json:"dueDate,omitempty"`
	Ransomware string `json:"ransomware,omitempty"`
}

// EPSS is the FIRST exploit prediction score.
type EPSS struct {
	Score      float64 `json:"score"`
	Percentile float64 `json:"percentile"`
	Date       string  `json:"date,omitempty"`
}

// VEX is a VEX statement applied to a finding.
type VEX struct {
	Status        string `json:"status"` // not_affected, affected, fixed, under_investigation
	Justification string `json:"justification,omitempty"`
	Impact        string `json:"impact,omitempty"`
	Action        string `json:"action,omitempty"`
	Document      string `json:"document"`            // file the statement came from
	Format        string `json:"format"`              // openvex, cyclonedx, csaf
	Statement     string `json:"statement,omitempty"` // the id the statement used
}

// Evidence explains one source record's part in a finding.
type Evidence struct {
	Matcher   string `json:"matcher"`
	Advisory  string `json:"advisory"` // advisory id the record belongs to
	RecordID  string `json:"recordID"` // the source's id: GHSA-…, DSA-…, GO-…, CVE-… (NVD)
	Source    string `json:"source"`   // connector: osv, debian, alpine, nvd…
	DocURL    string `json:"docURL,omitempty"`
	DocDigest string `json:"docDigest,omitempty"`

	// What was looked up: ecosystem and name, or distro, release and source
	// package, or a CPE.
	Ecosystem string `json:"ecosystem,omitempty"`
	Distro    string `json:"distro,omitempty"`
	Release   string `json:"release,omitempty"`
	Package   string `json:"package,omitempty"`
	CPE       string `json:"cpe,omitempty"`

	// Compared: the version that was compared (a source version for distro
	// matches), and the range, fixed version or state it was compared with.
	Version  string `json:"version"`
	Compared string `json:"compared"`
	State    string `json:"state,omitempty"`

	Layer      string `json:"layer,omitempty"`
	LayerIndex int    `json:"layerIndex,omitempty"`
	Path       string `json:"path,omitempty"`
}

// Vulnerable reports whether the finding counts as a vulnerability: the
// distro did not say not_affected, and no VEX statement said not_affected
// or fixed.
func (f *Finding) Vulnerable() bool {
	if f.State == StateNotAffected {
		return false
	}
	if f.VEX != nil && (f.VEX.Status == "not_affected" || f.VEX.Status == "fixed") {
		return false
	}
	return true
}
